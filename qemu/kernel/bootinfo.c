/*
 * PVH start_info and the kernel command line. The layout of struct
 * hvm_start_info and its memory map is Xen's public header
 * xen/include/public/arch-x86/hvm/start_info.h; version 1 adds the map.
 */
#include <string.h>

#include "kernel.h"

#define HVM_START_MAGIC 0x336ec578u
#define HVM_MEMMAP_TYPE_RAM 1u
/* Without a memory map the kernel assumes this much RAM (run-vm.sh
 * starts QEMU with more). */
#define DEFAULT_RAM_END (64ull << 20)

struct hvm_start_info {
	uint32_t magic;
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr;
	uint64_t rsdp_paddr;
	uint64_t memmap_paddr;   /* version >= 1 */
	uint32_t memmap_entries; /* version >= 1 */
	uint32_t reserved;
};

struct hvm_memmap_table_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
	uint32_t reserved;
};

extern char __kernel_start[], __kernel_end[];

void bootinfo_parse(uint32_t start_info_paddr, struct boot_info *info)
{
	const struct hvm_start_info *si =
		(const struct hvm_start_info *)(uintptr_t)start_info_paddr;
	uint64_t kernel_start = (uintptr_t)__kernel_start;
	uint64_t kernel_end = (uintptr_t)__kernel_end;
	uint32_t i;

	info->cmdline = "";
	info->ram_end = DEFAULT_RAM_END;
	info->start_info_version = 0;

	if (si == NULL || si->magic != HVM_START_MAGIC) {
		kprintf("boot: no PVH start_info at 0x%x, using defaults\n",
			start_info_paddr);
		return;
	}
	info->start_info_version = si->version;
	if (si->cmdline_paddr != 0)
		info->cmdline = (const char *)(uintptr_t)si->cmdline_paddr;

	if (si->version < 1 || si->memmap_paddr == 0)
		return;
	for (i = 0; i < si->memmap_entries; i++) {
		const struct hvm_memmap_table_entry *e =
			(const struct hvm_memmap_table_entry *)(uintptr_t)
				si->memmap_paddr + i;

		if (e->type == HVM_MEMMAP_TYPE_RAM && e->addr <= kernel_start &&
		    e->addr + e->size >= kernel_end) {
			info->ram_end = e->addr + e->size;
			break;
		}
	}
}

/* Returns the start of the value of key in a space-separated list of
 * key=value words, or NULL. */
static const char *find_value(const char *cmdline, const char *key)
{
	size_t key_len = strlen(key);
	const char *p = cmdline;

	while (*p != '\0') {
		while (*p == ' ')
			p++;
		if (strncmp(p, key, key_len) == 0 && p[key_len] == '=')
			return p + key_len + 1;
		while (*p != '\0' && *p != ' ')
			p++;
	}
	return NULL;
}

int cmdline_get(const char *cmdline, const char *key, char *buf, size_t cap)
{
	const char *v = find_value(cmdline, key);
	size_t n = 0;

	if (v == NULL)
		return -1;
	while (v[n] != '\0' && v[n] != ' ')
		n++;
	if (n + 1 > cap)
		return -1;
	memcpy(buf, v, n);
	buf[n] = '\0';
	return (int)n;
}

/* Accepts decimal or 0x-prefixed hexadecimal; returns -1 when the key is
 * absent or its value is not a number. */
int cmdline_get_u64(const char *cmdline, const char *key, uint64_t *value)
{
	char text[24];
	uint64_t v = 0;
	unsigned base = 10;
	const char *p = text;

	if (cmdline_get(cmdline, key, text, sizeof(text)) <= 0)
		return -1;
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		base = 16;
		p += 2;
		if (*p == '\0')
			return -1;
	}
	for (; *p != '\0'; p++) {
		unsigned digit;

		if (*p >= '0' && *p <= '9')
			digit = (unsigned)(*p - '0');
		else if (base == 16 && *p >= 'a' && *p <= 'f')
			digit = (unsigned)(*p - 'a' + 10);
		else if (base == 16 && *p >= 'A' && *p <= 'F')
			digit = (unsigned)(*p - 'A' + 10);
		else
			return -1;
		if (v > (UINT64_MAX - digit) / base)
			return -1;
		v = v * base + digit;
	}
	*value = v;
	return 0;
}

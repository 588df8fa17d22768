/*
 * QEMU fw_cfg over I/O ports (docs/specs/fw_cfg.txt in QEMU): write a
 * 16-bit selector to port 0x510, then read bytes from port 0x511. The file
 * directory (selector 0x19) lists files added with -fw_cfg; its integers
 * are big-endian.
 */
#include <string.h>

#include "kernel.h"

#define FW_CFG_PORT_SEL 0x510
#define FW_CFG_PORT_DATA 0x511
#define FW_CFG_SIGNATURE 0x0000
#define FW_CFG_FILE_DIR 0x0019
#define FW_CFG_NAME_SIZE 56

static void fwcfg_select(uint16_t key)
{
	outw(FW_CFG_PORT_SEL, key);
}

static void fwcfg_read(void *buf, size_t len)
{
	uint8_t *p = buf;
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = inb(FW_CFG_PORT_DATA);
}

static uint32_t be32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
	       ((uint32_t)p[2] << 8) | p[3];
}

/*
 * Reads the fw_cfg file name into buf. Returns 0 and the size in *len;
 * -1 when fw_cfg or the file is missing, -2 when cap is too small.
 */
int fwcfg_read_file(const char *name, uint8_t *buf, size_t cap, size_t *len)
{
	uint8_t signature[4];
	uint8_t count_be[4];
	uint32_t count, i;

	fwcfg_select(FW_CFG_SIGNATURE);
	fwcfg_read(signature, sizeof(signature));
	if (memcmp(signature, "QEMU", 4) != 0)
		return -1;

	fwcfg_select(FW_CFG_FILE_DIR);
	fwcfg_read(count_be, sizeof(count_be));
	count = be32(count_be);
	for (i = 0; i < count; i++) {
		uint8_t entry[8 + FW_CFG_NAME_SIZE];
		uint32_t size;
		uint16_t select;

		fwcfg_read(entry, sizeof(entry));
		entry[sizeof(entry) - 1] = '\0';
		if (strcmp((const char *)entry + 8, name) != 0)
			continue;

		size = be32(entry);
		select = (uint16_t)((entry[4] << 8) | entry[5]);
		*len = size;
		if (size > cap)
			return -2;
		fwcfg_select(select);
		fwcfg_read(buf, size);
		return 0;
	}
	return -1;
}

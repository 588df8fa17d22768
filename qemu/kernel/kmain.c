/*
 * Harness kernel entry: brings up console, exceptions, timer, heap,
 * entropy and the block device, then runs the self-test or the module's
 * boot flow and exits QEMU through isa-debug-exit with the result.
 *
 * Command line (-append): mode=selftest|run, plus the options that
 * run.c and selftest.c read; run-vm.sh documents them.
 */
#include <string.h>

#include "kernel.h"

#define ISA_DEBUG_EXIT_PORT 0xf4
#define STACK_FILL_BYTE 0x5a
#define CMDLINE_MAX 1024

extern char __kernel_end[];
extern uint8_t boot_stack_bottom[], boot_stack_top[];

void kmain(uint32_t start_info_paddr);

static char cmdline_copy[CMDLINE_MAX];

void kernel_exit(enum kernel_exit_code code)
{
	outb(ISA_DEBUG_EXIT_PORT, (uint8_t)code);
	/* Reached only without -device isa-debug-exit: run-vm.sh's timeout
	 * ends QEMU. */
	kprintf("kernel: isa-debug-exit did not stop QEMU; halting\n");
	for (;;)
		__asm__ volatile("cli; hlt");
}

void kernel_panic(const char *fmt, ...)
{
	char line[256];
	va_list ap;

	va_start(ap, fmt);
	kvsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	kprintf("PANIC: %s", line);
	kernel_exit(KERNEL_EXIT_PANIC);
}

size_t kernel_stack_peak(void)
{
	const uint8_t *p = boot_stack_bottom;

	while (p < boot_stack_top && *p == STACK_FILL_BYTE)
		p++;
	return (size_t)(boot_stack_top - p);
}

size_t kernel_stack_refill(void)
{
	uint8_t *sp;
	uint8_t *p;

	__asm__ volatile("mov %%rsp, %0" : "=r"(sp));
	/* Leave room below the current frame for this loop's own use. */
	for (p = boot_stack_bottom; p < sp - 256; p++)
		*(volatile uint8_t *)p = STACK_FILL_BYTE;
	return (size_t)(boot_stack_top - sp);
}

/* Copies the command line out of loader memory before the heap, which
 * may cover it, is set up. */
static void keep_cmdline(struct boot_info *info)
{
	size_t n = 0;

	while (n < CMDLINE_MAX && info->cmdline[n] != '\0')
		n++;

	if (n == CMDLINE_MAX) {
		kprintf("boot: command line longer than %u bytes, ignored\n",
			CMDLINE_MAX - 1);
		n = 0;
	}
	memcpy(cmdline_copy, info->cmdline, n);
	cmdline_copy[n] = '\0';
	info->cmdline = cmdline_copy;
}

static void print_cpu(void)
{
	uint32_t regs[4];
	uint32_t leaf1_ecx, leaf7_ebx = 0, leaf7_ecx = 0;
	uint64_t xcr0 = 0;

	cpuid(1, 0, regs);
	leaf1_ecx = regs[2];
	cpuid(0, 0, regs);
	if (regs[0] >= 7) {
		cpuid(7, 0, regs);
		leaf7_ebx = regs[1];
		leaf7_ecx = regs[2];
	}
	if (leaf1_ecx & (1u << 27)) { /* OSXSAVE */
		uint32_t lo, hi;

		__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
		xcr0 = ((uint64_t)hi << 32) | lo;
	}
	kprintf("cpu: aesni=%u pclmulqdq=%u avx=%u avx2=%u vaes=%u "
		"vpclmulqdq=%u xsave=%u xcr0=0x%llx\n",
		(leaf1_ecx >> 25) & 1, (leaf1_ecx >> 1) & 1,
		(leaf1_ecx >> 28) & 1, (leaf7_ebx >> 5) & 1,
		(leaf7_ecx >> 9) & 1, (leaf7_ecx >> 10) & 1,
		(leaf1_ecx >> 26) & 1, (unsigned long long)xcr0);
}

void kmain(uint32_t start_info_paddr)
{
	struct boot_info info;
	struct virtio_blk *blk;
	char mode[16];
	uintptr_t heap_start;
	uint64_t boot_ms;
	int result;

	uart_init(UART_COM1);
	kprintf("\ntpmboot harness kernel\n");
	trap_init();
	timer_init();
	bootinfo_parse(start_info_paddr, &info);
	keep_cmdline(&info);
	kprintf("boot: start_info version %u, cmdline \"%s\", RAM end 0x%llx, "
		"TSC %llu kHz\n", info.start_info_version, info.cmdline,
		(unsigned long long)info.ram_end,
		(unsigned long long)(timer_tsc_hz() / 1000));
	print_cpu();

	heap_start = (uintptr_t)__kernel_end;
	if (info.ram_end <= heap_start + (1u << 20))
		kernel_panic("boot: RAM ends at 0x%llx, too close to the kernel end %p\n",
			     (unsigned long long)info.ram_end, (void *)heap_start);
	heap_init(heap_start, (uintptr_t)info.ram_end);
	kprintf("boot: heap %zu KiB at %p\n", heap_size() / 1024,
		(void *)heap_start);

	if (random_init() != 0)
		kprintf("boot: neither RDSEED nor RDRAND works; random_bytes "
			"will fail\n");
	else
		kprintf("boot: entropy from %s\n", random_source_name());

	blk = virtio_blk_probe();
	if (blk == NULL)
		kprintf("boot: no virtio-blk device found\n");
	else
		kprintf("boot: virtio-blk with %llu sectors%s\n",
			(unsigned long long)virtio_blk_sectors(blk),
			virtio_blk_read_only(blk) ? " (read-only)" : "");

	boot_ms = timer_now_ms();
	kprintf("boot: ready after %llu ms\n", (unsigned long long)boot_ms);

#ifdef TPMBOOT_KERNEL_WITH_MODULE
	strcpy(mode, "run");
#else
	strcpy(mode, "selftest");
#endif
	cmdline_get(info.cmdline, "mode", mode, sizeof(mode));

	if (strcmp(mode, "selftest") == 0) {
		result = selftest_run(&info, blk);
	} else if (strcmp(mode, "crash") == 0) {
		/* Checks the exception path: run-vm.sh must report a panic. */
		kprintf("kernel: executing ud2 on purpose\n");
		__asm__ volatile("ud2");
		result = -1;
#ifdef TPMBOOT_KERNEL_WITH_MODULE
	} else if (strcmp(mode, "simtest") == 0) {
		result = tpmboot_mode_simtest(&info);
#endif
	} else if (strcmp(mode, "run") == 0) {
#ifdef TPMBOOT_KERNEL_WITH_MODULE
		result = tpmboot_mode_run(&info, blk);
#else
		kprintf("kernel: mode=run needs the module; this kernel was "
			"built without libtpmboot.a\n");
		result = -1;
#endif
	} else {
		kprintf("kernel: unknown mode \"%s\" (expected selftest, simtest, run or crash)\n",
			mode);
		result = -1;
	}

	kprintf("kernel: stack peak %zu bytes, heap peak %zu bytes, "
		"heap in use %zu bytes, total %llu ms\n", kernel_stack_peak(),
		heap_peak(), heap_in_use(),
		(unsigned long long)timer_now_ms());
	kprintf("kernel: result %s\n", result == 0 ? "PASS" : "FAIL");
	kernel_exit(result == 0 ? KERNEL_EXIT_PASS : KERNEL_EXIT_FAIL);
}

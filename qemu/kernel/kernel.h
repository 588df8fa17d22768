/*
 * Harness kernel: shared declarations of the boot code, the drivers and
 * the platform callbacks. The kernel is single-threaded, runs with
 * interrupts disabled and polls every device.
 */
#ifndef QEMU_KERNEL_H
#define QEMU_KERNEL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Values written to isa-debug-exit (I/O port 0xf4); QEMU then exits with
 * status (value << 1) | 1, which run-vm.sh maps back to its own codes.
 */
enum kernel_exit_code {
	KERNEL_EXIT_PASS = 0x10,  /* QEMU status 33 */
	KERNEL_EXIT_FAIL = 0x11,  /* QEMU status 35: boot flow or self-test failed */
	KERNEL_EXIT_PANIC = 0x12, /* QEMU status 37: CPU exception or harness error */
};

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define KERNEL_STACK_SIZE (64 * 1024)
#define KERNEL_PAGE_SIZE 4096u

/* Port I/O and MMIO. */
static inline void outb(uint16_t port, uint8_t value)
{
	__asm__ volatile("outb %0, %1" : : "a"(value), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t value;

	__asm__ volatile("inb %1, %0" : "=a"(value) : "Nd"(port));
	return value;
}

static inline void outw(uint16_t port, uint16_t value)
{
	__asm__ volatile("outw %0, %1" : : "a"(value), "Nd"(port));
}

static inline void outl(uint16_t port, uint32_t value)
{
	__asm__ volatile("outl %0, %1" : : "a"(value), "Nd"(port));
}

static inline uint32_t mmio_read32(uintptr_t addr)
{
	return *(volatile uint32_t *)addr;
}

static inline void mmio_write32(uintptr_t addr, uint32_t value)
{
	*(volatile uint32_t *)addr = value;
}

/* Orders memory accesses against the device (and the compiler). */
static inline void memory_barrier(void)
{
	__asm__ volatile("mfence" : : : "memory");
}

static inline void cpu_relax(void)
{
	__asm__ volatile("pause" : : : "memory");
}

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

static inline void cpuid(uint32_t leaf, uint32_t subleaf, uint32_t regs[4])
{
	__asm__ volatile("cpuid"
			 : "=a"(regs[0]), "=b"(regs[1]), "=c"(regs[2]),
			   "=d"(regs[3])
			 : "a"(leaf), "c"(subleaf));
}

/* kmain.c */
void kernel_exit(enum kernel_exit_code code) __attribute__((noreturn));
void kernel_panic(const char *fmt, ...)
	__attribute__((noreturn, format(printf, 1, 2)));

/* Deepest stack use in bytes since boot or the last refill, found from
 * the fill pattern that boot.S writes. kernel_stack_refill() rewrites the
 * pattern below the caller's frame and returns the stack depth there. */
size_t kernel_stack_peak(void);
size_t kernel_stack_refill(void);

/* trap.c */
void trap_init(void);

/* kprintf.c: formatted output to the COM1 console. Integer subset of
 * printf: %s %c %d %i %u %x %X %p %% with l, ll, z, width, '0' and '-'. */
int kvsnprintf(char *buf, size_t cap, const char *fmt, va_list ap);
int ksnprintf(char *buf, size_t cap, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void kputs_raw(const char *s, size_t len);
void kprint_hex(const char *label, const uint8_t *data, size_t len);

/* uart.c: 16550 UARTs on the ISA I/O ports, polled. */
#define UART_COM1 0x3f8
#define UART_COM2 0x2f8
#define UART_COM3 0x3e8

int uart_init(uint16_t base);
void uart_putc(uint16_t base, uint8_t c);
int uart_getc_nowait(uint16_t base);
void uart_drain_input(uint16_t base);
int uart_write_all(uint16_t base, const uint8_t *buf, size_t len,
		   uint32_t timeout_ms);
long uart_read_some(uint16_t base, uint8_t *buf, size_t cap,
		    uint32_t timeout_ms);
int uart_read_exact(uint16_t base, uint8_t *buf, size_t len,
		    uint32_t timeout_ms);

/* timer.c: TSC calibrated against the 8254 PIT. */
void timer_init(void);
uint64_t timer_tsc_hz(void);
uint64_t timer_now_us(void);
uint64_t timer_now_ms(void);
void timer_delay_ms(uint32_t ms);

/* random.c: RDSEED, else RDRAND. Returns 0, or -1 when neither works. */
int random_init(void);
int random_fill(uint8_t *buf, size_t len);
const char *random_source_name(void);

/* heap.c: first-fit allocator with coalescing free. */
void heap_init(uintptr_t start, uintptr_t end);
void *heap_alloc(size_t size, size_t align);
void heap_free(void *ptr);
size_t heap_in_use(void);
size_t heap_peak(void);
size_t heap_size(void);
void heap_reset_peak(void);

/* bootinfo.c: PVH start_info, kernel command line and RAM map. */
struct boot_info {
	const char *cmdline;
	uint64_t ram_end;       /* end of the RAM region holding the kernel */
	uint32_t start_info_version;
};

void bootinfo_parse(uint32_t start_info_paddr, struct boot_info *info);
/* Copies the value of key=value from the command line into buf; returns
 * its length, or -1 when the key is absent or the value does not fit. */
int cmdline_get(const char *cmdline, const char *key, char *buf, size_t cap);
int cmdline_get_u64(const char *cmdline, const char *key, uint64_t *value);

/* fwcfg.c: QEMU fw_cfg files (-fw_cfg name=opt/...,file=...). */
int fwcfg_read_file(const char *name, uint8_t *buf, size_t cap,
		    size_t *len);

/* sha256.c: FIPS 180-4 SHA-256, general registers only. */
struct sha256_ctx {
	uint32_t state[8];
	uint64_t length;
	uint8_t block[64];
	size_t used;
};

void sha256_init(struct sha256_ctx *ctx);
void sha256_update(struct sha256_ctx *ctx, const void *data, size_t len);
void sha256_final(struct sha256_ctx *ctx, uint8_t digest[32]);
void sha256(const void *data, size_t len, uint8_t digest[32]);

/* sha384.c: FIPS 180-4 SHA-384. */
void sha384(const void *data, size_t len, uint8_t digest[48]);

/* virtio_mmio.c + virtio_blk.c */
struct virtio_blk;

struct virtio_blk *virtio_blk_probe(void);
uint64_t virtio_blk_sectors(const struct virtio_blk *blk);
int virtio_blk_read_only(const struct virtio_blk *blk);
int virtio_blk_read(struct virtio_blk *blk, uint64_t sector, uint32_t count,
		    void *buf);
int virtio_blk_write(struct virtio_blk *blk, uint64_t sector, uint32_t count,
		     const void *buf);
int virtio_blk_flush(struct virtio_blk *blk);

/* selftest.c: the mode that needs no module. Returns 0 when all passed. */
int selftest_run(const struct boot_info *info, struct virtio_blk *blk);

/* run.c: the tpmboot_run() mode; only built when the module is linked. */
int tpmboot_mode_run(const struct boot_info *info, struct virtio_blk *blk);
/* mode=simtest: the simulator link without the boot flow (simtest.c). */
int tpmboot_mode_simtest(const struct boot_info *info);

#endif /* QEMU_KERNEL_H */

/*
 * Polled 16550A UART driver. COM1 carries the console. The byte streams to
 * the host proxy and to the AMD-SP simulator use further ISA UARTs, which
 * QEMU connects to Unix socket chardevs. Register offsets and bits follow
 * the National Semiconductor PC16550D data sheet.
 */
#include "kernel.h"

#define UART_RBR 0 /* receive buffer (read, DLAB=0) */
#define UART_THR 0 /* transmit holding (write, DLAB=0) */
#define UART_DLL 0 /* divisor latch low (DLAB=1) */
#define UART_IER 1
#define UART_DLM 1 /* divisor latch high (DLAB=1) */
#define UART_FCR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_SCR 7

#define LCR_DLAB 0x80
#define LCR_8N1 0x03
/* FIFO on, both FIFOs cleared, receive trigger level 14 bytes. QEMU
 * offers the chardev up to the trigger level at a time, so a high level
 * moves data in larger chunks. */
#define FCR_FIFO_14 0xc7
#define MCR_DTR_RTS 0x03
#define LSR_DATA_READY 0x01
#define LSR_THR_EMPTY 0x20

/*
 * Pause between two polls of an idle line. Under TCG every port access
 * takes QEMU's global lock, and a vCPU that polls without pause keeps the
 * I/O thread from ever moving socket data into the FIFO.
 */
#define IDLE_POLL_US 20

static void idle_pause(void)
{
	uint64_t until = timer_now_us() + IDLE_POLL_US;

	while (timer_now_us() < until)
		cpu_relax();
}

/* Sets 115200 8N1 with FIFOs and no interrupts. Returns -1 when there is
 * no UART at base (the scratch register does not keep a value). */
int uart_init(uint16_t base)
{
	outb((uint16_t)(base + UART_SCR), 0x5a);
	if (inb((uint16_t)(base + UART_SCR)) != 0x5a)
		return -1;
	outb((uint16_t)(base + UART_SCR), 0xa5);
	if (inb((uint16_t)(base + UART_SCR)) != 0xa5)
		return -1;

	outb((uint16_t)(base + UART_IER), 0);
	outb((uint16_t)(base + UART_LCR), LCR_DLAB);
	outb((uint16_t)(base + UART_DLL), 1);
	outb((uint16_t)(base + UART_DLM), 0);
	outb((uint16_t)(base + UART_LCR), LCR_8N1);
	outb((uint16_t)(base + UART_FCR), FCR_FIFO_14);
	outb((uint16_t)(base + UART_MCR), MCR_DTR_RTS);
	return 0;
}

void uart_putc(uint16_t base, uint8_t c)
{
	while ((inb((uint16_t)(base + UART_LSR)) & LSR_THR_EMPTY) == 0)
		cpu_relax();
	outb((uint16_t)(base + UART_THR), c);
}

/* Returns the next received byte, or -1 when none is waiting. */
int uart_getc_nowait(uint16_t base)
{
	if ((inb((uint16_t)(base + UART_LSR)) & LSR_DATA_READY) == 0)
		return -1;
	return inb((uint16_t)(base + UART_RBR));
}

/* Discards received bytes until the line has been idle for 20 ms. */
void uart_drain_input(uint16_t base)
{
	uint64_t idle_since = timer_now_ms();

	while (timer_now_ms() - idle_since < 20) {
		if (uart_getc_nowait(base) >= 0)
			idle_since = timer_now_ms();
		else
			idle_pause();
	}
}

/* Sends len bytes. Returns 0, or -1 when the transmitter stayed busy for
 * timeout_ms (QEMU keeps THR busy while the chardev cannot take data). */
int uart_write_all(uint16_t base, const uint8_t *buf, size_t len,
		   uint32_t timeout_ms)
{
	uint64_t deadline = timer_now_ms() + timeout_ms;
	size_t i;

	for (i = 0; i < len; i++) {
		while ((inb((uint16_t)(base + UART_LSR)) & LSR_THR_EMPTY) == 0) {
			if (timer_now_ms() > deadline)
				return -1;
			idle_pause();
		}
		outb((uint16_t)(base + UART_THR), buf[i]);
	}
	return 0;
}

/*
 * Waits up to timeout_ms for the first byte, then takes every byte that
 * is already waiting, up to cap. Returns the count (at least 1), or -1 on
 * timeout. A UART has no end-of-stream signal, so 0 is never returned.
 */
long uart_read_some(uint16_t base, uint8_t *buf, size_t cap,
		    uint32_t timeout_ms)
{
	uint64_t deadline = timer_now_ms() + timeout_ms;
	size_t n = 0;
	int c;

	if (cap == 0)
		return -1;

	while ((c = uart_getc_nowait(base)) < 0) {
		if (timer_now_ms() > deadline)
			return -1;
		idle_pause();
	}
	buf[n++] = (uint8_t)c;

	/* QEMU refills the FIFO from the socket between two reads, so poll
	 * a little longer before returning a short chunk. */
	while (n < cap) {
		uint64_t wait_until = timer_now_us() + 200;

		while ((c = uart_getc_nowait(base)) < 0 &&
		       timer_now_us() < wait_until)
			idle_pause();
		if (c < 0)
			break;
		buf[n++] = (uint8_t)c;
	}
	return (long)n;
}

/* Reads exactly len bytes; returns 0, or -1 when any wait for the next
 * chunk took longer than timeout_ms. */
int uart_read_exact(uint16_t base, uint8_t *buf, size_t len,
		    uint32_t timeout_ms)
{
	size_t got = 0;

	while (got < len) {
		long n = uart_read_some(base, buf + got, len - got,
					timeout_ms);

		if (n < 0)
			return -1;
		got += (size_t)n;
	}
	return 0;
}

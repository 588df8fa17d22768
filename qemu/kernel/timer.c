/*
 * Time base: the TSC, calibrated once against channel 0 of the 8254 PIT
 * (1.193182 MHz input clock). Under TCG, QEMU's TSC and PIT both follow
 * the host clock, so the result is wall-clock time. Uses ports 0x40/0x43
 * only, because QEMU's microvm machine has no port 0x61 gate for
 * channel 2.
 */
#include "kernel.h"

#define PIT_HZ 1193182u
#define PIT_CHANNEL0 0x40
#define PIT_COMMAND 0x43
/* Channel 0, low then high byte, mode 2 (rate generator), binary. */
#define PIT_CMD_CH0_MODE2 0x34
#define PIT_CMD_CH0_LATCH 0x00
/* About 50 ms of PIT ticks: long enough for a 0.1 % error bound. */
#define CALIBRATION_TICKS 59659u
/* Used only if calibration fails: better a wrong clock than none. */
#define FALLBACK_TSC_HZ 1000000000ull

static uint64_t tsc_hz;
static uint64_t tsc_at_boot;

static uint16_t pit_read_counter(void)
{
	uint8_t lo, hi;

	outb(PIT_COMMAND, PIT_CMD_CH0_LATCH);
	lo = inb(PIT_CHANNEL0);
	hi = inb(PIT_CHANNEL0);
	return (uint16_t)(lo | (hi << 8));
}

static uint64_t calibrate_against_pit(void)
{
	uint64_t elapsed_ticks = 0;
	uint64_t tsc_start, tsc_end;
	uint32_t polls = 0;
	uint16_t prev, now;

	outb(PIT_COMMAND, PIT_CMD_CH0_MODE2);
	outb(PIT_CHANNEL0, 0xff);
	outb(PIT_CHANNEL0, 0xff);

	prev = pit_read_counter();
	tsc_start = rdtsc();
	while (elapsed_ticks < CALIBRATION_TICKS) {
		now = pit_read_counter();
		/* The counter runs down and reloads; each poll is far
		 * shorter than one 55 ms period, so the difference is
		 * exact modulo 2^16. */
		elapsed_ticks += (uint16_t)(prev - now);
		prev = now;
		if (++polls > 50000000u)
			return 0; /* the PIT is not counting */
	}
	tsc_end = rdtsc();

	return (tsc_end - tsc_start) * PIT_HZ / elapsed_ticks;
}

void timer_init(void)
{
	tsc_at_boot = rdtsc();
	tsc_hz = calibrate_against_pit();
	if (tsc_hz == 0) {
		tsc_hz = FALLBACK_TSC_HZ;
		kprintf("timer: PIT not counting, assuming a 1 GHz TSC\n");
	}
}

uint64_t timer_tsc_hz(void)
{
	return tsc_hz;
}

static uint64_t ticks_to_units(uint64_t ticks, uint64_t units_per_second)
{
	uint64_t hz = tsc_hz != 0 ? tsc_hz : FALLBACK_TSC_HZ;

	/* Split so that ticks * units cannot overflow 64 bits. */
	return (ticks / hz) * units_per_second +
	       (ticks % hz) * units_per_second / hz;
}

uint64_t timer_now_us(void)
{
	return ticks_to_units(rdtsc() - tsc_at_boot, 1000000u);
}

uint64_t timer_now_ms(void)
{
	return ticks_to_units(rdtsc() - tsc_at_boot, 1000u);
}

void timer_delay_ms(uint32_t ms)
{
	uint64_t end = timer_now_us() + (uint64_t)ms * 1000u;

	while (timer_now_us() < end)
		cpu_relax();
}

/*
 * Entropy for the module's random_bytes callback: RDSEED when CPUID
 * reports it (leaf 7, EBX bit 18), else RDRAND (leaf 1, ECX bit 30).
 * Both can fail transiently (CF=0); Intel's DRNG guide recommends a
 * bounded retry loop, after which the callback reports failure.
 */
#include <string.h>

#include "kernel.h"

#define RETRIES 1024

enum random_source {
	RANDOM_NONE,
	RANDOM_RDSEED,
	RANDOM_RDRAND,
};

static enum random_source source;

static int rdseed64(uint64_t *value)
{
	unsigned char ok;

	__asm__ volatile("rdseed %0; setc %1" : "=r"(*value), "=qm"(ok));
	return ok;
}

static int rdrand64(uint64_t *value)
{
	unsigned char ok;

	__asm__ volatile("rdrand %0; setc %1" : "=r"(*value), "=qm"(ok));
	return ok;
}

static int next_word(uint64_t *value)
{
	int i;

	for (i = 0; i < RETRIES; i++) {
		if (source == RANDOM_RDSEED && rdseed64(value))
			return 0;
		if (source == RANDOM_RDRAND && rdrand64(value))
			return 0;
		cpu_relax();
	}
	return -1;
}

int random_init(void)
{
	uint32_t regs[4];
	uint64_t probe;

	cpuid(0, 0, regs);
	if (regs[0] >= 7) {
		cpuid(7, 0, regs);
		if (regs[1] & (1u << 18)) {
			source = RANDOM_RDSEED;
			if (next_word(&probe) == 0)
				return 0;
		}
	}
	cpuid(1, 0, regs);
	if (regs[2] & (1u << 30)) {
		source = RANDOM_RDRAND;
		if (next_word(&probe) == 0)
			return 0;
	}
	source = RANDOM_NONE;
	return -1;
}

const char *random_source_name(void)
{
	switch (source) {
	case RANDOM_RDSEED:
		return "rdseed";
	case RANDOM_RDRAND:
		return "rdrand";
	default:
		return "none";
	}
}

int random_fill(uint8_t *buf, size_t len)
{
	uint64_t word;

	if (source == RANDOM_NONE)
		return -1;
	while (len > 0) {
		size_t n = len < sizeof(word) ? len : sizeof(word);

		if (next_word(&word) != 0)
			return -1;
		memcpy(buf, &word, n);
		buf += n;
		len -= n;
	}
	word = 0;
	__asm__ volatile("" : : "r"(&word) : "memory");
	return 0;
}

/*
 * Helpers shared by the portable crypto tests: hex decoding into fixed
 * buffers, a seeded pseudo-random generator for reproducible inputs and
 * SHA-256 of a whole message over tb_portable_sha256_blocks.
 */
#ifndef PORTABLE_TEST_UTIL_H
#define PORTABLE_TEST_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/portable/tb_portable.h"

static inline int hex_digit_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes hex into out (capacity cap) and returns the byte count. Invalid
 * hex or overflow is a bug in a vector table, so it aborts the program. */
static inline size_t hex_to_bytes(const char *hex, uint8_t *out, size_t cap)
{
	size_t len = strlen(hex), i;

	if (len % 2 != 0 || len / 2 > cap) {
		fprintf(stderr, "invalid test vector hex (length %zu): %s\n",
			len, hex);
		abort();
	}
	for (i = 0; i < len / 2; i++) {
		int hi = hex_digit_value(hex[2 * i]);
		int lo = hex_digit_value(hex[2 * i + 1]);

		if (hi < 0 || lo < 0) {
			fprintf(stderr, "invalid test vector hex: %s\n", hex);
			abort();
		}
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return len / 2;
}

/* splitmix64: a small generator with a fixed seed, so failures repeat. */
static inline uint64_t test_rng_next(uint64_t *state)
{
	uint64_t z = (*state += 0x9E3779B97F4A7C15ull);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static inline void test_rng_fill(uint64_t *state, uint8_t *buf, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = (uint8_t)test_rng_next(state);
}

static const uint32_t sha256_initial_hash[8] = {
	0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
	0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
};

/* Hashes len bytes with tb_portable_sha256_blocks and the padding of
 * FIPS 180-4, 5.1.1, done here. */
static inline void sha256_message(const uint8_t *msg, size_t len, uint8_t digest[32])
{
	uint32_t hash[8];
	uint8_t tail[128];
	size_t full = len / 64, rest = len % 64, tail_len, i;

	memcpy(hash, sha256_initial_hash, sizeof(hash));
	tb_portable_sha256_blocks(hash, msg, full);

	memset(tail, 0, sizeof(tail));
	memcpy(tail, msg + 64 * full, rest);
	tail[rest] = 0x80;
	tail_len = rest + 1 + 8 <= 64 ? 64 : 128;
	for (i = 0; i < 8; i++)
		tail[tail_len - 1 - i] = (uint8_t)(((uint64_t)len * 8) >> (8 * i));
	tb_portable_sha256_blocks(hash, tail, tail_len / 64);

	for (i = 0; i < 8; i++) {
		digest[4 * i] = (uint8_t)(hash[i] >> 24);
		digest[4 * i + 1] = (uint8_t)(hash[i] >> 16);
		digest[4 * i + 2] = (uint8_t)(hash[i] >> 8);
		digest[4 * i + 3] = (uint8_t)hash[i];
	}
}

#endif /* PORTABLE_TEST_UTIL_H */

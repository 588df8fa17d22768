/*
 * Helpers shared by the crypto fast-path tests: the list of tiers this CPU
 * supports, JSON field access and hex decoding for the Wycheproof files.
 */
#ifndef FAST_TEST_UTIL_H
#define FAST_TEST_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "crypto/tb_fast.h"
#include "tb_test_platform.h"

static const enum tb_tier fast_test_tiers[] = {
	TB_TIER_PORTABLE,
	TB_TIER_AESNI,
	TB_TIER_VAES_AVX2,
};

/*
 * Allocates a GCM key on a 64-byte boundary. C11 aligned_alloc() needs a
 * size that is a multiple of the alignment, and sizeof(struct tb_gcm_key)
 * is not one, so the size is rounded up. AddressSanitizer rejects the
 * unrounded call.
 */
static inline struct tb_gcm_key *fast_test_gcm_key_alloc(void)
{
	return aligned_alloc(64, (sizeof(struct tb_gcm_key) + 63) &
				 ~(size_t)63);
}

static inline const char *fast_test_tier_name(enum tb_tier tier)
{
	switch (tier) {
	case TB_TIER_PORTABLE:
		return "portable";
	case TB_TIER_AESNI:
		return "aesni";
	case TB_TIER_VAES_AVX2:
		return "vaes-avx2";
	}
	return "unknown";
}

/* Selects tier when the CPU supports it; returns 0 (and prints a skip
 * line) when it does not. */
static inline int fast_test_select_tier(enum tb_tier tier)
{
	if (tier > tb_fast_tier_supported()) {
		printf("tier %s: not supported by this CPU, skipped\n",
		       fast_test_tier_name(tier));
		return 0;
	}
	tb_fast_init(tier);
	return tb_fast_tier() == tier;
}

/* Returns the string member name of obj, or "" when it is missing. */
static inline const char *fast_test_json_str(const json_t *obj,
					     const char *name)
{
	const char *s = json_string_value(json_object_get(obj, name));

	return s != NULL ? s : "";
}

/* Returns the integer member name of obj, or -1 when it is missing. */
static inline long fast_test_json_int(const json_t *obj, const char *name)
{
	const json_t *v = json_object_get(obj, name);

	return json_is_integer(v) ? (long)json_integer_value(v) : -1;
}

/* Decodes the hex string member name of obj into a malloc'ed buffer;
 * exits on invalid hex (a broken input file, not a test failure). */
static inline uint8_t *fast_test_json_hex(const json_t *obj, const char *name,
					  size_t *len)
{
	uint8_t *buf = NULL;

	*len = tb_test_hex_decode(fast_test_json_str(obj, name), &buf);
	if (*len == (size_t)-1) {
		fprintf(stderr, "invalid hex in member %s\n", name);
		exit(2);
	}
	return buf;
}

/* Loads a Wycheproof file from the Wycheproof directory; exits when it is
 * missing or malformed. */
static inline json_t *fast_test_load_wycheproof(const char *name)
{
	const char *path = tb_test_wycheproof_path(name);
	json_error_t err;
	json_t *root = json_load_file(path, 0, &err);

	if (root == NULL) {
		fprintf(stderr, "cannot load %s: %s (line %d)\n", path,
			err.text, err.line);
		exit(2);
	}
	return root;
}

#endif /* FAST_TEST_UTIL_H */

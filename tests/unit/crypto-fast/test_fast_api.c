/*
 * Tier selection, argument checks, SHA-256 known answers (FIPS 180-4
 * examples) and register clearing of the fast crypto paths.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "fast_test_util.h"
#include "tpmboot.h"

static struct tb_test_platform platform;

static int setup(void **state)
{
	tb_test_platform_init(&platform);
	platform.log_echo = 0;
	return 0;
}

static int teardown(void **state)
{
	tb_fast_init(TB_TIER_VAES_AVX2);
	assert_int_equal(tb_test_platform_fini(&platform), 0);
	return 0;
}

/* Tier expected from the compiler's own CPU detection, which reads CPUID
 * and XCR0 independently of arch/x86_64/cpu_features.c. */
static enum tb_tier expected_tier(void)
{
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("vaes") &&
	    __builtin_cpu_supports("vpclmulqdq") &&
	    __builtin_cpu_supports("aes") && __builtin_cpu_supports("pclmul"))
		return TB_TIER_VAES_AVX2;
	if (__builtin_cpu_supports("aes") && __builtin_cpu_supports("pclmul") &&
	    __builtin_cpu_supports("ssse3"))
		return TB_TIER_AESNI;
	return TB_TIER_PORTABLE;
}

static void test_tier_detection(void **state)
{
	printf("supported tier: %s\n",
	       fast_test_tier_name(tb_fast_tier_supported()));
	assert_int_equal(tb_fast_tier_supported(), expected_tier());
}

static void test_tier_cap(void **state)
{
	const enum tb_tier best = tb_fast_tier_supported();

	tb_fast_init(TB_TIER_PORTABLE);
	assert_int_equal(tb_fast_tier(), TB_TIER_PORTABLE);

	tb_fast_init(TB_TIER_AESNI);
	assert_int_equal(tb_fast_tier(),
			 best < TB_TIER_AESNI ? best : TB_TIER_AESNI);

	/* Raising the cap again goes back to the best supported tier. */
	tb_fast_init(TB_TIER_VAES_AVX2);
	assert_int_equal(tb_fast_tier(), best);
	assert_int_equal(tb_fast_tier_supported(), best);
}

static void test_key_length_rejected(void **state)
{
	static const size_t bad_lens[] = { 0, 8, 15, 17, 20, 31, 33, 64 };
	uint8_t raw[64] = { 0 };
	struct tb_aes_key ak;
	struct tb_gcm_key *gk = fast_test_gcm_key_alloc();
	size_t i;

	assert_non_null(gk);
	for (i = 0; i < sizeof(bad_lens) / sizeof(bad_lens[0]); i++) {
		tb_test_log_clear(&platform);
		assert_int_equal(tb_aes_setkey(&ak, raw, bad_lens[i]),
				 TPMBOOT_E_CRYPTO_KEY_LENGTH);
		assert_true(tb_test_log_contains(&platform,
						 "invalid AES key length"));
		assert_int_equal(tb_gcm_setkey(gk, raw, bad_lens[i]),
				 TPMBOOT_E_CRYPTO_KEY_LENGTH);
	}
	free(gk);
}

static void test_gcm_length_limit(void **state)
{
	/* 2^36 - 31 bytes is one byte over the SP 800-38D limit; the check
	 * comes before any memory is read. */
	const size_t too_long = ((size_t)1 << 36) - 31;
	uint8_t raw[32] = { 0 }, iv[12] = { 0 }, tag[16] = { 0 };
	uint8_t byte = 0;
	struct tb_gcm_key *gk = fast_test_gcm_key_alloc();

	assert_non_null(gk);
	assert_int_equal(tb_gcm_setkey(gk, raw, sizeof(raw)), 0);
	tb_test_log_clear(&platform);
	assert_int_equal(tb_gcm_decrypt(gk, iv, NULL, 0, &byte, &byte,
					too_long, tag),
			 TPMBOOT_E_CRYPTO_LENGTH);
	assert_true(tb_test_log_contains(&platform, "exceeds the GCM limit"));
	tb_gcm_key_wipe(gk);
	free(gk);
}

/* A key keeps working when the cap changes after tb_gcm_setkey(). */
static void test_key_survives_cap_change(void **state)
{
	uint8_t raw[32], iv[12], msg[300], ct[300], ct2[300];
	uint8_t tag[16], tag2[16];
	struct tb_gcm_key *gk = fast_test_gcm_key_alloc();
	size_t t, i;

	assert_non_null(gk);
	for (i = 0; i < sizeof(raw); i++)
		raw[i] = (uint8_t)(i * 7 + 1);
	for (i = 0; i < sizeof(iv); i++)
		iv[i] = (uint8_t)(i * 3);
	for (i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)i;

	for (t = 0; t < sizeof(fast_test_tiers) / sizeof(fast_test_tiers[0]);
	     t++) {
		size_t u;

		if (!fast_test_select_tier(fast_test_tiers[t]))
			continue;
		assert_int_equal(tb_gcm_setkey(gk, raw, sizeof(raw)), 0);
		tb_gcm_encrypt(gk, iv, NULL, 0, msg, ct, sizeof(msg), tag);
		for (u = 0; u < sizeof(fast_test_tiers) /
					sizeof(fast_test_tiers[0]);
		     u++) {
			tb_fast_init(fast_test_tiers[u]);
			tb_gcm_encrypt(gk, iv, NULL, 0, msg, ct2, sizeof(msg),
				       tag2);
			assert_memory_equal(ct, ct2, sizeof(msg));
			assert_memory_equal(tag, tag2, sizeof(tag));
		}
	}
	tb_gcm_key_wipe(gk);
	free(gk);
}

struct sha_example {
	const char *message;
	size_t repeat;
	const char *digest_hex;
};

/* FIPS 180-4 examples (NIST "SHA256.pdf" example values) and the empty
 * message. */
static const struct sha_example sha_examples[] = {
	{ "abc", 1,
	  "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
	{ "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 1,
	  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
	{ "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno"
	  "ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu", 1,
	  "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1" },
	{ "a", 1000000,
	  "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0" },
	{ "", 1,
	  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
};

static void test_sha256_examples(void **state)
{
	size_t t, e, r;

	for (t = 0; t < sizeof(fast_test_tiers) / sizeof(fast_test_tiers[0]);
	     t++) {
		if (!fast_test_select_tier(fast_test_tiers[t]))
			continue;
		for (e = 0; e < sizeof(sha_examples) / sizeof(sha_examples[0]);
		     e++) {
			const struct sha_example *ex = &sha_examples[e];
			struct tb_sha256_ctx ctx;
			uint8_t digest[32], *expected = NULL;

			assert_int_equal(tb_test_hex_decode(ex->digest_hex,
							    &expected), 32);
			tb_sha256_init(&ctx);
			for (r = 0; r < ex->repeat; r++)
				tb_sha256_update(&ctx, ex->message,
						 strlen(ex->message));
			tb_sha256_final(&ctx, digest);
			assert_memory_equal(digest, expected, 32);

			if (ex->repeat == 1) {
				tb_sha256(ex->message, strlen(ex->message),
					  digest);
				assert_memory_equal(digest, expected, 32);
			}
			free(expected);
		}
		printf("sha-256 tier %s: %zu FIPS 180-4 examples\n",
		       fast_test_tier_name(fast_test_tiers[t]),
		       sizeof(sha_examples) / sizeof(sha_examples[0]));
	}
}

/* Fills ymm0-ymm15 with a nonzero pattern, so that a later all-zero read
 * shows that the callee cleared them. */
static void fill_vector_registers(void)
{
	static const uint8_t pattern[32] = { 0x5a, 0xa5, 0x5a, 0xa5, 1, 2, 3,
					     4, 5, 6, 7, 8, 9, 10, 11, 12, 13,
					     14, 15, 16, 17, 18, 19, 20, 21,
					     22, 23, 24, 25, 26, 27, 28 };

	__asm__ volatile("vmovdqu (%0), %%ymm0\n\t"
			 "vmovdqa %%ymm0, %%ymm1\n\tvmovdqa %%ymm0, %%ymm2\n\t"
			 "vmovdqa %%ymm0, %%ymm3\n\tvmovdqa %%ymm0, %%ymm4\n\t"
			 "vmovdqa %%ymm0, %%ymm5\n\tvmovdqa %%ymm0, %%ymm6\n\t"
			 "vmovdqa %%ymm0, %%ymm7\n\tvmovdqa %%ymm0, %%ymm8\n\t"
			 "vmovdqa %%ymm0, %%ymm9\n\tvmovdqa %%ymm0, %%ymm10\n\t"
			 "vmovdqa %%ymm0, %%ymm11\n\tvmovdqa %%ymm0, %%ymm12\n\t"
			 "vmovdqa %%ymm0, %%ymm13\n\tvmovdqa %%ymm0, %%ymm14\n\t"
			 "vmovdqa %%ymm0, %%ymm15\n\tvzeroupper"
			 :
			 : "r"(pattern)
			 : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5",
			   "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11",
			   "xmm12", "xmm13", "xmm14", "xmm15", "memory");
}

/* Stores xmm0-xmm15 (low 128 bits) to out[16][16]. */
static void read_xmm_registers(uint8_t out[16][16])
{
	__asm__ volatile("movdqu %%xmm0, 0(%0)\n\tmovdqu %%xmm1, 16(%0)\n\t"
			 "movdqu %%xmm2, 32(%0)\n\tmovdqu %%xmm3, 48(%0)\n\t"
			 "movdqu %%xmm4, 64(%0)\n\tmovdqu %%xmm5, 80(%0)\n\t"
			 "movdqu %%xmm6, 96(%0)\n\tmovdqu %%xmm7, 112(%0)\n\t"
			 "movdqu %%xmm8, 128(%0)\n\tmovdqu %%xmm9, 144(%0)\n\t"
			 "movdqu %%xmm10, 160(%0)\n\tmovdqu %%xmm11, 176(%0)\n\t"
			 "movdqu %%xmm12, 192(%0)\n\tmovdqu %%xmm13, 208(%0)\n\t"
			 "movdqu %%xmm14, 224(%0)\n\tmovdqu %%xmm15, 240(%0)"
			 :
			 : "r"(out)
			 : "memory");
}

static void test_registers_cleared(void **state)
{
	uint8_t raw[32] = { 1, 2, 3 }, iv[12] = { 4 }, msg[200] = { 5 };
	uint8_t ct[200], tag[16], digest[32], regs[16][16], zero[16][16];
	struct tb_gcm_key *gk = fast_test_gcm_key_alloc();
	size_t t;

	assert_non_null(gk);
	memset(zero, 0, sizeof(zero));
	for (t = 1; t < sizeof(fast_test_tiers) / sizeof(fast_test_tiers[0]);
	     t++) {
		if (!fast_test_select_tier(fast_test_tiers[t]))
			continue;
		assert_int_equal(tb_gcm_setkey(gk, raw, sizeof(raw)), 0);

		if (__builtin_cpu_supports("avx"))
			fill_vector_registers();
		tb_gcm_encrypt(gk, iv, NULL, 0, msg, ct, sizeof(msg), tag);
		read_xmm_registers(regs);
		assert_memory_equal(regs, zero, sizeof(regs));

		if (__builtin_cpu_supports("avx"))
			fill_vector_registers();
		tb_sha256(msg, sizeof(msg), digest);
		read_xmm_registers(regs);
		assert_memory_equal(regs, zero, sizeof(regs));
		printf("tier %s: xmm0-xmm15 are zero after GCM and SHA-256\n",
		       fast_test_tier_name(fast_test_tiers[t]));
	}
	tb_gcm_key_wipe(gk);
	free(gk);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tier_detection),
		cmocka_unit_test(test_tier_cap),
		cmocka_unit_test(test_key_length_rejected),
		cmocka_unit_test(test_gcm_length_limit),
		cmocka_unit_test(test_key_survives_cap_change),
		cmocka_unit_test(test_sha256_examples),
		cmocka_unit_test(test_registers_cleared),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

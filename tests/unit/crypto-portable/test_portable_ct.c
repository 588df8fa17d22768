/*
 * Constant-time check of the portable crypto tier under Valgrind's
 * memcheck. Keys, plaintexts and hash inputs are marked undefined, so
 * memcheck reports every branch and every memory address that depends on
 * them ("Conditional jump or move depends on uninitialised value", "Use of
 * uninitialised value"). The meson test runs this program under
 * valgrind --error-exitcode=1, so one such report fails it. Outside
 * Valgrind the marks do nothing and only the functional checks run.
 *
 * NOTE: tb_portable_gcm_decrypt() is not run here, because it branches on
 * the tag comparison by design. Its keystream and GHASH code is the one
 * that tb_portable_gcm_encrypt() runs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <valgrind/memcheck.h>

#include "crypto/portable/tb_portable.h"
#include "portable_test_util.h"
#include "tb_test_platform.h"
#include "tpmboot.h"

#define MESSAGE_LEN 200

static struct tb_test_platform test_platform;

static int setup_platform(void **state)
{
	tb_test_platform_init(&test_platform);
	test_platform.log_echo = 0;
	if (!RUNNING_ON_VALGRIND)
		print_message("not running under Valgrind: the checks for "
			      "secret-dependent branches are off\n");
	return 0;
}

static int teardown_platform(void **state)
{
	return tb_test_platform_fini(&test_platform) == 0 ? 0 : -1;
}

static void mark_secret(const void *ptr, size_t len)
{
	(void)VALGRIND_MAKE_MEM_UNDEFINED(ptr, len);
}

/* Declassifies an output so that the test's own comparisons on it are not
 * reported. */
static void mark_public(const void *ptr, size_t len)
{
	(void)VALGRIND_MAKE_MEM_DEFINED(ptr, len);
}

static void aes_ct_key_and_data(void **state)
{
	static const size_t key_lengths[] = { 16, 24, 32 };
	uint8_t raw[32], iv[16], chain[16], plain[64], cipher[64], back[64];
	uint64_t seed = 0xC7u;
	size_t k;

	for (k = 0; k < 3; k++) {
		struct tb_aes_key key;

		test_rng_fill(&seed, raw, sizeof(raw));
		test_rng_fill(&seed, iv, sizeof(iv));
		test_rng_fill(&seed, plain, sizeof(plain));
		mark_secret(raw, sizeof(raw));
		mark_secret(plain, sizeof(plain));

		assert_int_equal(tb_portable_aes_setkey(&key, raw,
							key_lengths[k]),
				 0);

		tb_portable_aes_encrypt_block(&key, plain, cipher);
		tb_portable_aes_decrypt_block(&key, cipher, back);
		mark_public(back, 16);
		mark_public(plain, sizeof(plain));
		assert_memory_equal(back, plain, 16);
		mark_secret(plain, sizeof(plain));

		memcpy(chain, iv, 16);
		tb_portable_aes_cbc_encrypt(&key, chain, plain, cipher,
					    sizeof(plain));
		memcpy(chain, iv, 16);
		tb_portable_aes_cbc_decrypt(&key, chain, cipher, back,
					    sizeof(cipher));
		mark_public(back, sizeof(back));
		mark_public(plain, sizeof(plain));
		assert_memory_equal(back, plain, sizeof(plain));
	}
}

static void gcm_ct_key_and_data(void **state)
{
	uint8_t raw[32], iv[12], aad[40], plain[MESSAGE_LEN];
	uint8_t cipher[MESSAGE_LEN], back[MESSAGE_LEN], tag[16];
	struct tb_gcm_key key;
	uint64_t seed = 0x6C7u;
	size_t len;

	test_rng_fill(&seed, raw, sizeof(raw));
	test_rng_fill(&seed, iv, sizeof(iv));
	test_rng_fill(&seed, aad, sizeof(aad));
	test_rng_fill(&seed, plain, sizeof(plain));
	mark_secret(raw, sizeof(raw));
	mark_secret(plain, sizeof(plain));
	mark_secret(aad, sizeof(aad));

	assert_int_equal(tb_portable_gcm_setkey(&key, raw, 32), 0);

	/* Lengths 0 to 200 in steps of 25: partial and whole 16-byte blocks
	 * and 64-byte keystream batches. */
	for (len = 0; len <= MESSAGE_LEN; len += 25) {
		tb_portable_gcm_encrypt(&key, iv, aad, sizeof(aad), plain,
					cipher, len, tag);

		/* CTR is its own inverse: encrypting the ciphertext with the
		 * same IV gives the plaintext back. */
		tb_portable_gcm_encrypt(&key, iv, aad, sizeof(aad), cipher,
					back, len, tag);
		mark_public(back, len);
		mark_public(plain, len);
		assert_memory_equal(back, plain, len);
		mark_secret(plain, sizeof(plain));
	}
}

static void sha256_ct_data(void **state)
{
	uint8_t message[MESSAGE_LEN], digest[32], expected[32];
	uint64_t seed = 0x5C7u;

	test_rng_fill(&seed, message, sizeof(message));
	sha256_message(message, sizeof(message), expected);

	mark_secret(message, sizeof(message));
	sha256_message(message, sizeof(message), digest);
	mark_public(digest, sizeof(digest));
	assert_memory_equal(digest, expected, sizeof(digest));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(aes_ct_key_and_data),
		cmocka_unit_test(gcm_ct_key_and_data),
		cmocka_unit_test(sha256_ct_data),
	};

	return cmocka_run_group_tests_name("crypto-portable-constant-time",
					   tests, setup_platform,
					   teardown_platform);
}

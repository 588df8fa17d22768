/*
 * TPM 2.0 KDFa: the CocoonFs root-key known answer, and agreement with
 * OpenSSL's SP 800-108 counter-mode KBKDF (HMAC, 32-bit counter first,
 * label, 0x00 separator, context, 32-bit output length in bits) for every
 * hash and several output lengths.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/core_names.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include "core/tb_core.h"
#include "crypto/tb_crypto.h"
#include "tb_test_platform.h"

static struct tb_test_platform tp;

static int setup(void **state)
{
	(void)state;
	tb_test_platform_init(&tp);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	assert_int_equal(tb_test_platform_fini(&tp), 0);
	return 0;
}

/* Image A of the CocoonFs format notes: raw key aabbcc, salt ddeeff,
 * SHA-256 in every hash role, AES-128-CBC. */
static void test_kdfa_cocoonfs_root_key(void **state)
{
	static const uint8_t raw_key[] = { 0xaa, 0xbb, 0xcc };
	static const uint8_t label[] = { 0x01 };
	static const uint8_t context[] = {
		'C', 'O', 'C', 'O', 'O', 'N', 'F', 'S', 0x01,
		0x00, 0x0b, 0x00, 0x0b, 0x00, 0x0b, 0x00, 0x0b, 0x00, 0x0b,
		0x00, 0x42, 0x00, 0x06, 0x00, 0x80,
		0x03, 0xdd, 0xee, 0xff,
	};
	static const uint8_t expected[32] = {
		0x0f, 0xc2, 0x1b, 0xbb, 0x0c, 0x88, 0xc9, 0x8b,
		0x3d, 0x5a, 0x77, 0xa0, 0x66, 0xa8, 0xcd, 0xad,
		0x74, 0x35, 0x76, 0x12, 0xe6, 0x02, 0xd2, 0xec,
		0x6e, 0xac, 0x36, 0x2d, 0x91, 0x9c, 0x10, 0x64,
	};
	uint8_t out[32];

	(void)state;
	assert_int_equal(tb_kdfa(TB_HASH_SHA512, raw_key, sizeof(raw_key),
				 label, sizeof(label), context, sizeof(context),
				 256, out, sizeof(out)),
			 TPMBOOT_OK);
	assert_memory_equal(out, expected, sizeof(expected));
}

static void openssl_kbkdf(const char *digest, const uint8_t *key,
			  size_t key_len, const uint8_t *label,
			  size_t label_len, const uint8_t *context,
			  size_t context_len, uint8_t *out, size_t out_len)
{
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "KBKDF", NULL);
	EVP_KDF_CTX *ctx = EVP_KDF_CTX_new(kdf);
	OSSL_PARAM params[7];
	int p = 0;

	params[p++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_MODE,
						       "counter", 0);
	params[p++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_MAC,
						       "HMAC", 0);
	params[p++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
						       (char *)digest, 0);
	params[p++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
							(void *)key, key_len);
	params[p++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
							(void *)label, label_len);
	params[p++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
							(void *)context,
							context_len);
	params[p] = OSSL_PARAM_construct_end();
	assert_int_equal(EVP_KDF_derive(ctx, out, out_len, params), 1);
	EVP_KDF_CTX_free(ctx);
	EVP_KDF_free(kdf);
}

static void test_kdfa_matches_openssl_kbkdf(void **state)
{
	static const struct {
		enum tb_hash_alg alg;
		const char *name;
	} hashes[] = {
		{ TB_HASH_SHA256, "SHA256" },
		{ TB_HASH_SHA384, "SHA384" },
		{ TB_HASH_SHA512, "SHA512" },
	};
	static const size_t lengths[] = { 16, 24, 32, 48, 64, 65, 100, 128 };
	static const uint8_t label[] = { 0x05 };
	uint8_t key[40], context[12], ours[128], theirs[128];
	size_t h, l;

	(void)state;
	for (size_t i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)(i * 7 + 1);
	for (size_t i = 0; i < sizeof(context); i++)
		context[i] = (uint8_t)(0xf0 - i);

	for (h = 0; h < 3; h++) {
		for (l = 0; l < sizeof(lengths) / sizeof(lengths[0]); l++) {
			size_t n = lengths[l];

			assert_int_equal(tb_kdfa(hashes[h].alg, key,
						 sizeof(key), label,
						 sizeof(label), context,
						 sizeof(context),
						 (uint32_t)(8 * n), ours, n),
					 TPMBOOT_OK);
			openssl_kbkdf(hashes[h].name, key, sizeof(key), label,
				      sizeof(label), context, sizeof(context),
				      theirs, n);
			assert_memory_equal(ours, theirs, n);
		}
	}
}

static void test_kdfa_rejects_bad_lengths(void **state)
{
	static const uint8_t key[16];
	static const uint8_t label[] = { 0x01 };
	uint8_t out[32];

	(void)state;
	assert_int_equal(tb_kdfa(TB_HASH_SHA256, key, sizeof(key), label, 1,
				 NULL, 0, 255, out, 32),
			 TPMBOOT_E_INVALID_ARGUMENT);
	assert_int_equal(tb_kdfa(TB_HASH_SHA256, key, sizeof(key), label, 1,
				 NULL, 0, 256, out, 31),
			 TPMBOOT_E_INVALID_ARGUMENT);
	assert_int_equal(tb_kdfa((enum tb_hash_alg)7, key, sizeof(key), label,
				 1, NULL, 0, 256, out, 32),
			 TPMBOOT_E_CRYPTO_UNSUPPORTED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kdfa_cocoonfs_root_key),
		cmocka_unit_test(test_kdfa_matches_openssl_kbkdf),
		cmocka_unit_test(test_kdfa_rejects_bad_lengths),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

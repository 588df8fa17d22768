/*
 * Randomized differential tests of the portable crypto tier against
 * OpenSSL's EVP interface, for 128-, 192- and 256-bit keys, in place and
 * out of place at odd buffer offsets. AES-GCM runs over every length
 * 0..2048 with AAD of 0..300 bytes, AES-CBC over every block count up to
 * 2048 bytes, and single-block AES over random keys. SHA-256 runs over
 * every length 0..2048. The generator seed is fixed, so a failure repeats.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include "core/tb_core.h"
#include "crypto/portable/tb_portable.h"
#include "portable_test_util.h"
#include "tb_test_platform.h"
#include "tpmboot.h"

#define MAX_LEN 2048
#define MAX_AAD 300
#define MAX_OFFSET 15

static struct tb_test_platform test_platform;

static int setup_platform(void **state)
{
	tb_test_platform_init(&test_platform);
	test_platform.log_echo = 0;
	return 0;
}

static int teardown_platform(void **state)
{
	return tb_test_platform_fini(&test_platform) == 0 ? 0 : -1;
}

static const size_t key_lengths[] = { 16, 24, 32 };

static const EVP_CIPHER *openssl_gcm(size_t key_len)
{
	return key_len == 16 ? EVP_aes_128_gcm() :
	       key_len == 24 ? EVP_aes_192_gcm() : EVP_aes_256_gcm();
}

static const EVP_CIPHER *openssl_cbc(size_t key_len)
{
	return key_len == 16 ? EVP_aes_128_cbc() :
	       key_len == 24 ? EVP_aes_192_cbc() : EVP_aes_256_cbc();
}

static const EVP_CIPHER *openssl_ecb(size_t key_len)
{
	return key_len == 16 ? EVP_aes_128_ecb() :
	       key_len == 24 ? EVP_aes_192_ecb() : EVP_aes_256_ecb();
}

/* Encrypts with AES-GCM through OpenSSL, the reference. */
static void openssl_gcm_encrypt(const uint8_t *key, size_t key_len,
				const uint8_t iv[12], const uint8_t *aad,
				size_t aad_len, const uint8_t *in, uint8_t *out,
				size_t len, uint8_t tag[16])
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int out_len;

	assert_non_null(ctx);
	assert_int_equal(EVP_EncryptInit_ex(ctx, openssl_gcm(key_len), NULL,
					    NULL, NULL), 1);
	assert_int_equal(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, 12,
					     NULL), 1);
	assert_int_equal(EVP_EncryptInit_ex(ctx, NULL, NULL, key, iv), 1);
	if (aad_len > 0)
		assert_int_equal(EVP_EncryptUpdate(ctx, NULL, &out_len, aad,
						   (int)aad_len), 1);
	if (len > 0) {
		assert_int_equal(EVP_EncryptUpdate(ctx, out, &out_len, in,
						   (int)len), 1);
		assert_int_equal(out_len, (int)len);
	}
	assert_int_equal(EVP_EncryptFinal_ex(ctx, out + len, &out_len), 1);
	assert_int_equal(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16,
					     tag), 1);
	EVP_CIPHER_CTX_free(ctx);
}

/* Runs AES-ECB or AES-CBC without padding through OpenSSL. */
static void openssl_block_mode(const EVP_CIPHER *cipher, int encrypt,
			       const uint8_t *key, const uint8_t *iv,
			       const uint8_t *in, uint8_t *out, size_t len)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int out_len = 0, final_len = 0;

	assert_non_null(ctx);
	assert_int_equal(EVP_CipherInit_ex(ctx, cipher, NULL, key, iv, encrypt),
			 1);
	assert_int_equal(EVP_CIPHER_CTX_set_padding(ctx, 0), 1);
	if (len > 0)
		assert_int_equal(EVP_CipherUpdate(ctx, out, &out_len, in,
						  (int)len), 1);
	assert_int_equal(EVP_CipherFinal_ex(ctx, out + out_len, &final_len), 1);
	assert_int_equal(out_len + final_len, (int)len);
	EVP_CIPHER_CTX_free(ctx);
}

struct gcm_buffers {
	uint8_t in[MAX_LEN + MAX_OFFSET];
	uint8_t out[MAX_LEN + MAX_OFFSET + 16];
	uint8_t expected[MAX_LEN + 16];
	uint8_t plain[MAX_LEN];
	uint8_t zero[MAX_LEN];
	uint8_t aad[MAX_AAD];
};

/*
 * Encrypts one random message with both implementations, compares, and
 * decrypts it back. Returns 1 so that callers can count cases.
 */
static int gcm_compare_one(uint64_t *seed, struct gcm_buffers *buf,
			   size_t key_len, size_t len, size_t aad_len,
			   int in_place)
{
	uint8_t raw[32], iv[12], tag[16], expected_tag[16];
	size_t in_offset = test_rng_next(seed) % (MAX_OFFSET + 1);
	size_t out_offset = test_rng_next(seed) % (MAX_OFFSET + 1);
	uint8_t *in = buf->in + in_offset;
	uint8_t *out = in_place ? in : buf->out + out_offset;
	struct tb_gcm_key key;

	test_rng_fill(seed, raw, key_len);
	test_rng_fill(seed, iv, sizeof(iv));
	test_rng_fill(seed, buf->aad, aad_len);
	test_rng_fill(seed, buf->plain, len);
	memcpy(in, buf->plain, len);

	openssl_gcm_encrypt(raw, key_len, iv, buf->aad, aad_len, in,
			    buf->expected, len, expected_tag);

	assert_int_equal(tb_portable_gcm_setkey(&key, raw, key_len), 0);
	tb_portable_gcm_encrypt(&key, iv, buf->aad, aad_len, in, out, len, tag);
	assert_memory_equal(out, buf->expected, len);
	assert_memory_equal(tag, expected_tag, 16);

	/* Decrypt into the input buffer (in place when encrypting was), then
	 * check that a wrong tag is rejected. */
	if (!in_place)
		memset(in, 0xEE, len);
	assert_int_equal(tb_portable_gcm_decrypt(&key, iv, buf->aad, aad_len,
						 out, in, len, tag),
			 0);
	assert_memory_equal(in, buf->plain, len);

	tb_portable_gcm_encrypt(&key, iv, buf->aad, aad_len, in, out, len, tag);
	tag[test_rng_next(seed) % 16] ^= (uint8_t)(1u << (test_rng_next(seed) % 8));
	assert_int_equal(tb_portable_gcm_decrypt(&key, iv, buf->aad, aad_len,
						 out, in, len, tag),
			 TPMBOOT_E_CRYPTO_AUTH);
	assert_memory_equal(in, buf->zero, len);
	return 1;
}

static void gcm_matches_openssl(void **state)
{
	struct gcm_buffers *buf = calloc(1, sizeof(*buf));
	uint64_t seed = 0x6763D1FFu;
	size_t k, len, cases = 0;

	assert_non_null(buf);
	for (k = 0; k < TB_ARRAY_SIZE(key_lengths); k++) {
		for (len = 0; len <= MAX_LEN; len++) {
			size_t aad_len = (len * 37 + k * 11) % (MAX_AAD + 1);

			cases += gcm_compare_one(&seed, buf, key_lengths[k],
						 len, aad_len, (int)(len & 1));
		}
	}
	print_message("AES-GCM: %zu cases matched OpenSSL\n", cases);
	free(buf);
}

/* Every AAD length 0..300 with an empty message (GMAC), all key sizes. */
static void gcm_aad_only_matches_openssl(void **state)
{
	struct gcm_buffers *buf = calloc(1, sizeof(*buf));
	uint64_t seed = 0xAAD0u;
	size_t k, aad_len, cases = 0;

	assert_non_null(buf);
	for (k = 0; k < TB_ARRAY_SIZE(key_lengths); k++) {
		for (aad_len = 0; aad_len <= MAX_AAD; aad_len++)
			cases += gcm_compare_one(&seed, buf, key_lengths[k], 0,
						 aad_len, 0);
	}
	print_message("AES-GCM AAD only: %zu cases matched OpenSSL\n", cases);
	free(buf);
}

struct cbc_buffers {
	uint8_t in[MAX_LEN + MAX_OFFSET];
	uint8_t out[MAX_LEN + MAX_OFFSET];
	uint8_t expected[MAX_LEN];
	uint8_t plain[MAX_LEN];
};

/*
 * Encrypts one random message with both implementations, compares the
 * ciphertexts and the chained IVs, and decrypts the ciphertext back.
 * Returns 1 so that callers can count cases.
 */
static int cbc_compare_one(uint64_t *seed, struct cbc_buffers *buf,
			   size_t key_len, size_t len, int in_place)
{
	size_t in_offset = test_rng_next(seed) % (MAX_OFFSET + 1);
	size_t out_offset = test_rng_next(seed) % (MAX_OFFSET + 1);
	uint8_t *in = buf->in + in_offset;
	uint8_t *out = in_place ? in : buf->out + out_offset;
	uint8_t raw[32], iv0[16], iv[16];
	const uint8_t *last_block;
	struct tb_aes_key key;

	test_rng_fill(seed, raw, key_len);
	test_rng_fill(seed, iv0, sizeof(iv0));
	test_rng_fill(seed, buf->plain, len);
	memcpy(in, buf->plain, len);
	assert_int_equal(tb_portable_aes_setkey(&key, raw, key_len), 0);

	openssl_block_mode(openssl_cbc(key_len), 1, raw, iv0, buf->plain,
			   buf->expected, len);
	last_block = len > 0 ? buf->expected + len - 16 : iv0;

	memcpy(iv, iv0, 16);
	tb_portable_aes_cbc_encrypt(&key, iv, in, out, len);
	assert_memory_equal(out, buf->expected, len);
	assert_memory_equal(iv, last_block, 16);

	memcpy(iv, iv0, 16);
	memcpy(in, buf->expected, len);
	tb_portable_aes_cbc_decrypt(&key, iv, in, out, len);
	assert_memory_equal(out, buf->plain, len);
	assert_memory_equal(iv, last_block, 16);
	return 1;
}

static void cbc_matches_openssl(void **state)
{
	struct cbc_buffers *buf = calloc(1, sizeof(*buf));
	uint64_t seed = 0xCBCu;
	size_t k, len, cases = 0;

	assert_non_null(buf);
	for (k = 0; k < TB_ARRAY_SIZE(key_lengths); k++) {
		for (len = 0; len <= MAX_LEN; len += 16) {
			cases += cbc_compare_one(&seed, buf, key_lengths[k],
						 len, 0);
			cases += cbc_compare_one(&seed, buf, key_lengths[k],
						 len, 1);
		}
	}
	print_message("AES-CBC: %zu cases matched OpenSSL\n", cases);
	free(buf);
}

static void block_matches_openssl(void **state)
{
	uint64_t seed = 0xECBu;
	size_t k, i, cases = 0;

	for (k = 0; k < TB_ARRAY_SIZE(key_lengths); k++) {
		size_t key_len = key_lengths[k];

		for (i = 0; i < 300; i++) {
			uint8_t raw[32], pt[16], ct[16], expected[16], back[16];
			struct tb_aes_key key;

			test_rng_fill(&seed, raw, key_len);
			test_rng_fill(&seed, pt, sizeof(pt));
			assert_int_equal(tb_portable_aes_setkey(&key, raw,
								key_len),
					 0);
			openssl_block_mode(openssl_ecb(key_len), 1, raw, NULL, pt,
					   expected, 16);
			tb_portable_aes_encrypt_block(&key, pt, ct);
			assert_memory_equal(ct, expected, 16);
			tb_portable_aes_decrypt_block(&key, ct, back);
			assert_memory_equal(back, pt, 16);
			cases++;
		}
	}
	print_message("AES block: %zu keys matched OpenSSL\n", cases);
}

static void sha256_matches_openssl(void **state)
{
	static uint8_t msg[MAX_LEN];
	uint8_t digest[32], expected[32];
	uint64_t seed = 0x5A256u;
	size_t len;

	test_rng_fill(&seed, msg, sizeof(msg));
	for (len = 0; len <= MAX_LEN; len++) {
		SHA256(msg, len, expected);
		sha256_message(msg, len, digest);
		assert_memory_equal(digest, expected, 32);
	}
	print_message("SHA-256: %d lengths matched OpenSSL\n", MAX_LEN + 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(gcm_matches_openssl),
		cmocka_unit_test(gcm_aad_only_matches_openssl),
		cmocka_unit_test(cbc_matches_openssl),
		cmocka_unit_test(block_matches_openssl),
		cmocka_unit_test(sha256_matches_openssl),
	};

	return cmocka_run_group_tests_name("crypto-portable-diff", tests,
					   setup_platform, teardown_platform);
}

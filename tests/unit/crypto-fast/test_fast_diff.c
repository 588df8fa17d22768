/*
 * Randomized differential tests of every supported tier against OpenSSL's
 * EVP implementations: AES-GCM over every length 0..8192 with AAD 0..512,
 * AES-CBC over 0..512 blocks, single-block AES, SHA-256 and HMAC-SHA-256
 * over every length 0..8192. Buffers start at odd offsets; half of the runs
 * work in place. The generator seed is fixed, so failures reproduce.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "fast_test_util.h"
#include "tpmboot.h"

#define MAX_LEN 8192
#define MAX_AAD 512
#define SEED 0x7462666173742d31ull

static struct tb_test_platform platform;
static uint64_t rng_state;

/* xorshift64* (Vigna), good enough for test data. */
static uint64_t rng_next(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

static void rng_fill(uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(rng_next() >> 56);
}

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

static const EVP_CIPHER *evp_gcm(size_t key_len)
{
	return key_len == 16 ? EVP_aes_128_gcm() :
	       key_len == 24 ? EVP_aes_192_gcm() : EVP_aes_256_gcm();
}

static const EVP_CIPHER *evp_cbc(size_t key_len)
{
	return key_len == 16 ? EVP_aes_128_cbc() :
	       key_len == 24 ? EVP_aes_192_cbc() : EVP_aes_256_cbc();
}

static const EVP_CIPHER *evp_ecb(size_t key_len)
{
	return key_len == 16 ? EVP_aes_128_ecb() :
	       key_len == 24 ? EVP_aes_192_ecb() : EVP_aes_256_ecb();
}

static void openssl_gcm_encrypt(const uint8_t *key, size_t key_len,
				const uint8_t *iv, const uint8_t *aad,
				size_t aad_len, const uint8_t *in,
				uint8_t *out, size_t len, uint8_t tag[16])
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int n;

	assert_non_null(ctx);
	assert_int_equal(EVP_EncryptInit_ex(ctx, evp_gcm(key_len), NULL, key,
					    iv), 1);
	if (aad_len > 0)
		assert_int_equal(EVP_EncryptUpdate(ctx, NULL, &n, aad,
						   (int)aad_len), 1);
	if (len > 0)
		assert_int_equal(EVP_EncryptUpdate(ctx, out, &n, in, (int)len),
				 1);
	assert_int_equal(EVP_EncryptFinal_ex(ctx, out, &n), 1);
	assert_int_equal(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16,
					     tag), 1);
	EVP_CIPHER_CTX_free(ctx);
}

static void openssl_cbc(int encrypt, const uint8_t *key, size_t key_len,
			const uint8_t *iv, const uint8_t *in, uint8_t *out,
			size_t len)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int n;

	assert_non_null(ctx);
	assert_int_equal(EVP_CipherInit_ex(ctx, evp_cbc(key_len), NULL, key,
					   iv, encrypt), 1);
	EVP_CIPHER_CTX_set_padding(ctx, 0);
	if (len > 0)
		assert_int_equal(EVP_CipherUpdate(ctx, out, &n, in, (int)len),
				 1);
	EVP_CIPHER_CTX_free(ctx);
}

static int is_zero(const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] != 0)
			return 0;
	return 1;
}

/* Buffers with room for an odd start offset. */
struct buffers {
	uint8_t plain[MAX_LEN + 64];
	uint8_t ref[MAX_LEN + 64];
	uint8_t work[MAX_LEN + 64];
	uint8_t other[MAX_LEN + 64];
	uint8_t aad[MAX_AAD + 64];
};

/* One GCM case; *in_place counts the cases encrypted in place (their
 * decryption is out of place, and the other way round). */
static void gcm_one(enum tb_tier tier, struct buffers *b, size_t len,
		    unsigned *in_place, unsigned *tampered)
{
	static const size_t key_lens[3] = { 16, 24, 32 };
	const size_t key_len = key_lens[len % 3];
	const size_t aad_len = (size_t)(rng_next() % (MAX_AAD + 1));
	const size_t in_off = (size_t)(rng_next() % 16);
	const size_t out_off = (size_t)(rng_next() % 16);
	const int inplace = (int)(rng_next() >> 63);
	uint8_t key[32], iv[12], tag[16], ref_tag[16];
	uint8_t *in = b->plain + in_off;
	uint8_t *aad = b->aad + 1;
	uint8_t *out = inplace ? in : b->work + out_off;
	struct tb_gcm_key *gk = fast_test_gcm_key_alloc();
	int rc;

	assert_non_null(gk);
	rng_fill(key, sizeof(key));
	rng_fill(iv, sizeof(iv));
	/* Some counters start near the 32-bit wrap (inc32 of SP 800-38D). */
	if (len % 5 == 0)
		memset(iv + 8, 0xff, 4);
	rng_fill(in, len);
	rng_fill(aad, aad_len);
	memcpy(b->other, in, len);

	openssl_gcm_encrypt(key, key_len, iv, aad, aad_len, in, b->ref, len,
			    ref_tag);
	assert_int_equal(tb_gcm_setkey(gk, key, key_len), 0);

	/* Encrypt (in place or not) and compare with OpenSSL. */
	tb_gcm_encrypt(gk, iv, aad, aad_len, in, out, len, tag);
	if (memcmp(out, b->ref, len) != 0 || memcmp(tag, ref_tag, 16) != 0)
		fail_msg("tier %s: GCM encrypt differs (len %zu, aad %zu, "
			 "key %zu, in-place %d)", fast_test_tier_name(tier),
			 len, aad_len, key_len, inplace);

	/* Decrypt the other way round (in place when encryption was not). */
	out = b->work + out_off;
	memcpy(out, b->ref, len);
	if (!inplace) {
		rc = tb_gcm_decrypt(gk, iv, aad, aad_len, out, out, len,
				    ref_tag);
	} else {
		rc = tb_gcm_decrypt(gk, iv, aad, aad_len, b->ref,
				    b->plain + in_off, len, ref_tag);
		out = b->plain + in_off;
	}
	if (rc != 0 || memcmp(out, b->other, len) != 0)
		fail_msg("tier %s: GCM decrypt differs (len %zu, aad %zu, rc "
			 "%d)", fast_test_tier_name(tier), len, aad_len, rc);
	if (inplace)
		(*in_place)++;

	/* Every 8th case: flip one bit of the tag, the ciphertext or the
	 * AAD; decryption must fail and wipe the output. */
	if (len % 8 == 0) {
		size_t target = (size_t)(rng_next() % 3);
		uint8_t bad_tag[16];

		memcpy(bad_tag, ref_tag, 16);
		if (target == 0 || (target == 1 && len == 0) ||
		    (target == 2 && aad_len == 0))
			bad_tag[rng_next() % 16] ^= 0x01;
		else if (target == 1)
			b->ref[rng_next() % len] ^= 0x80;
		else
			aad[rng_next() % aad_len] ^= 0x10;
		out = b->work + out_off;
		memset(out, 0x5a, len);
		rc = tb_gcm_decrypt(gk, iv, aad, aad_len, b->ref, out, len,
				    bad_tag);
		if (rc != TPMBOOT_E_CRYPTO_AUTH || !is_zero(out, len))
			fail_msg("tier %s: tampered GCM input accepted (len "
				 "%zu, target %zu, rc %d)",
				 fast_test_tier_name(tier), len, target, rc);
		(*tampered)++;
	}
	tb_gcm_key_wipe(gk);
	free(gk);
}

static void test_gcm_differential(void **state)
{
	struct buffers *b = malloc(sizeof(*b));
	size_t t, len;

	assert_non_null(b);
	for (t = 0; t < sizeof(fast_test_tiers) / sizeof(fast_test_tiers[0]);
	     t++) {
		unsigned in_place = 0, tampered = 0;

		if (!fast_test_select_tier(fast_test_tiers[t]))
			continue;
		rng_state = SEED;
		for (len = 0; len <= MAX_LEN; len++)
			gcm_one(fast_test_tiers[t], b, len, &in_place,
				&tampered);
		printf("aes-gcm tier %s: %u lengths (0..%u) encrypted and "
		       "decrypted, %u encryptions in place and the "
		       "decryptions of the others in place, %u tampered "
		       "inputs rejected\n",
		       fast_test_tier_name(fast_test_tiers[t]), MAX_LEN + 1,
		       MAX_LEN, in_place, tampered);
		assert_true(in_place > MAX_LEN / 4 &&
			    in_place < 3 * MAX_LEN / 4);
	}
	free(b);
}

static void cbc_one(enum tb_tier tier, struct buffers *b, size_t nblocks)
{
	static const size_t key_lens[3] = { 16, 24, 32 };
	const size_t key_len = key_lens[nblocks % 3];
	const size_t len = 16 * nblocks;
	const size_t in_off = (size_t)(rng_next() % 16);
	const size_t split = nblocks > 0 ? 16 * (rng_next() % nblocks) : 0;
	const int inplace = (int)(rng_next() >> 63);
	uint8_t key[32], iv[16], chain[16];
	uint8_t *in = b->plain + in_off;
	uint8_t *out = inplace ? in : b->work + 3;
	struct tb_aes_key ak;

	rng_fill(key, sizeof(key));
	rng_fill(iv, sizeof(iv));
	rng_fill(in, len);
	memcpy(b->other, in, len);
	assert_int_equal(tb_aes_setkey(&ak, key, key_len), 0);

	/* Encrypt in two chained calls; compare with one OpenSSL call. */
	openssl_cbc(1, key, key_len, iv, in, b->ref, len);
	memcpy(chain, iv, 16);
	tb_aes_cbc_encrypt(&ak, chain, in, out, split);
	tb_aes_cbc_encrypt(&ak, chain, in + split, out + split, len - split);
	if (memcmp(out, b->ref, len) != 0)
		fail_msg("tier %s: CBC encrypt differs (%zu blocks, key %zu)",
			 fast_test_tier_name(tier), nblocks, key_len);
	if (len > 0)
		assert_memory_equal(chain, b->ref + len - 16, 16);

	/* Decrypt in two chained calls, in place or not. */
	out = inplace ? b->work + 5 : b->ref;
	memcpy(chain, iv, 16);
	tb_aes_cbc_decrypt(&ak, chain, b->ref, out, split);
	tb_aes_cbc_decrypt(&ak, chain, b->ref + split, out + split,
			   len - split);
	if (memcmp(out, b->other, len) != 0)
		fail_msg("tier %s: CBC decrypt differs (%zu blocks, key %zu, "
			 "in-place %d)", fast_test_tier_name(tier), nblocks,
			 key_len, !inplace);
	tb_aes_key_wipe(&ak);
}

static void test_cbc_differential(void **state)
{
	struct buffers *b = malloc(sizeof(*b));
	size_t t, nblocks;

	assert_non_null(b);
	for (t = 0; t < sizeof(fast_test_tiers) / sizeof(fast_test_tiers[0]);
	     t++) {
		if (!fast_test_select_tier(fast_test_tiers[t]))
			continue;
		rng_state = SEED + 1;
		for (nblocks = 0; nblocks <= MAX_LEN / 16; nblocks++)
			cbc_one(fast_test_tiers[t], b, nblocks);
		printf("aes-cbc tier %s: %u block counts (0..%u) encrypted and "
		       "decrypted in two chained calls\n",
		       fast_test_tier_name(fast_test_tiers[t]), MAX_LEN / 16 + 1,
		       MAX_LEN / 16);
	}
	free(b);
}

static void test_block_differential(void **state)
{
	static const size_t key_lens[3] = { 16, 24, 32 };
	size_t t;
	unsigned i;

	for (t = 0; t < sizeof(fast_test_tiers) / sizeof(fast_test_tiers[0]);
	     t++) {
		if (!fast_test_select_tier(fast_test_tiers[t]))
			continue;
		rng_state = SEED + 2;
		for (i = 0; i < 3000; i++) {
			const size_t key_len = key_lens[i % 3];
			uint8_t key[32], in[16], out[16], ref[16], back[16];
			struct tb_aes_key ak;
			EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
			int n;

			rng_fill(key, sizeof(key));
			rng_fill(in, sizeof(in));
			assert_non_null(ctx);
			assert_int_equal(EVP_EncryptInit_ex(ctx,
							    evp_ecb(key_len),
							    NULL, key, NULL),
					 1);
			EVP_CIPHER_CTX_set_padding(ctx, 0);
			assert_int_equal(EVP_EncryptUpdate(ctx, ref, &n, in,
							   16), 1);
			EVP_CIPHER_CTX_free(ctx);

			assert_int_equal(tb_aes_setkey(&ak, key, key_len), 0);
			tb_aes_encrypt_block(&ak, in, out);
			assert_memory_equal(out, ref, 16);
			tb_aes_decrypt_block(&ak, out, back);
			assert_memory_equal(back, in, 16);
			tb_aes_key_wipe(&ak);
		}
		printf("aes block tier %s: 3000 random keys and blocks\n",
		       fast_test_tier_name(fast_test_tiers[t]));
	}
}

static void test_sha256_hmac_differential(void **state)
{
	uint8_t *data = malloc(MAX_LEN + 16);
	size_t t, len;

	assert_non_null(data);
	for (t = 0; t < sizeof(fast_test_tiers) / sizeof(fast_test_tiers[0]);
	     t++) {
		if (!fast_test_select_tier(fast_test_tiers[t]))
			continue;
		rng_state = SEED + 3;
		for (len = 0; len <= MAX_LEN; len++) {
			const size_t off = (size_t)(rng_next() % 16);
			const size_t split = (size_t)(rng_next() % (len + 1));
			const size_t key_len = (size_t)(rng_next() % 200);
			uint8_t key[200], ref[32], out[32];
			struct tb_sha256_ctx ctx;
			struct tb_hmac_sha256_ctx hctx;
			unsigned ref_len = 0;

			rng_fill(data + off, len);
			rng_fill(key, key_len);

			assert_int_equal(EVP_Digest(data + off, len, ref, NULL,
						    EVP_sha256(), NULL), 1);
			tb_sha256_init(&ctx);
			tb_sha256_update(&ctx, data + off, split);
			tb_sha256_update(&ctx, data + off + split, len - split);
			tb_sha256_final(&ctx, out);
			if (memcmp(out, ref, 32) != 0)
				fail_msg("tier %s: SHA-256 differs (len %zu, "
					 "split %zu)",
					 fast_test_tier_name(fast_test_tiers[t]),
					 len, split);

			assert_non_null(HMAC(EVP_sha256(), key, (int)key_len,
					     data + off, len, ref, &ref_len));
			tb_hmac_sha256_init(&hctx, key, key_len);
			tb_hmac_sha256_update(&hctx, data + off, split);
			tb_hmac_sha256_update(&hctx, data + off + split,
					      len - split);
			tb_hmac_sha256_final(&hctx, out);
			if (memcmp(out, ref, 32) != 0)
				fail_msg("tier %s: HMAC-SHA-256 differs (len "
					 "%zu, key %zu)",
					 fast_test_tier_name(fast_test_tiers[t]),
					 len, key_len);
		}
		printf("sha-256 and hmac-sha-256 tier %s: %u lengths (0..%u), "
		       "split updates, keys of 0..199 bytes\n",
		       fast_test_tier_name(fast_test_tiers[t]), MAX_LEN + 1,
		       MAX_LEN);
	}
	free(data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gcm_differential),
		cmocka_unit_test(test_cbc_differential),
		cmocka_unit_test(test_block_differential),
		cmocka_unit_test(test_sha256_hmac_differential),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

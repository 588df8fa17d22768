/*
 * Tier selection and dispatch for the fast AES, AES-GCM, AES-CBC and
 * SHA-256 paths (tb_fast.h), plus the generic SHA-256 and HMAC-SHA-256
 * (FIPS 180-4, RFC 2104) code on top of a per-tier compression function.
 *
 * General-purpose registers only: the SIMD code is in arch/x86_64/ and is
 * called only after CPUID and XCR0 have shown that the CPU and the OS
 * support it.
 *
 * Global state: the detected features and the selected tier (fast_state
 * below), written by tb_fast_init() and read by every call. The module is
 * single-threaded, so tb_fast_init() must run before any concurrent use.
 */
#include <string.h>

#include "core/tb_core.h"
#include "crypto/portable/tb_portable.h"
#include "crypto/tb_fast.h"
#include "x86_64/aes_x86.h"
#include "x86_64/cpu_features.h"

/* SP 800-38D section 5.2.1.1: at most 2^39 - 256 bits of plaintext. */
#define GCM_MAX_LEN ((1ull << 36) - 32)

#define SHA256_BLOCK_LEN 64
#define SHA256_DIGEST_LEN 32

static struct {
	int detected;
	uint32_t features;      /* TB_X86_FEAT_* */
	enum tb_tier supported; /* best tier the CPU and XCR0 allow */
	enum tb_tier selected;  /* supported, capped by tb_fast_init() */
} fast_state;

static enum tb_tier tier_from_features(uint32_t features)
{
	if ((features & TB_X86_NEED_VAES) == TB_X86_NEED_VAES)
		return TB_TIER_VAES_AVX2;
	if ((features & TB_X86_NEED_AESNI) == TB_X86_NEED_AESNI)
		return TB_TIER_AESNI;
	return TB_TIER_PORTABLE;
}

static void detect_once(void)
{
	if (fast_state.detected)
		return;
	fast_state.features = tb_x86_detect_features();
	fast_state.supported = tier_from_features(fast_state.features);
	fast_state.selected = fast_state.supported;
	fast_state.detected = 1;
}

void tb_fast_init(enum tb_tier max_tier)
{
	detect_once();
	fast_state.selected = max_tier < fast_state.supported ?
				      max_tier :
				      fast_state.supported;
}

enum tb_tier tb_fast_tier(void)
{
	detect_once();
	return fast_state.selected;
}

enum tb_tier tb_fast_tier_supported(void)
{
	detect_once();
	return fast_state.supported;
}

/*
 * Returns the tier that runs an operation on a key expanded by key_tier.
 * Both SIMD tiers share one schedule layout, so a VAES key runs on the
 * AES-NI code when the cap was lowered after the key was set. A key from a
 * SIMD tier keeps using AES-NI even under a portable cap, because only its
 * SIMD schedule exists. Keys set after the cap change use the portable
 * tier.
 */
static enum tb_tier key_run_tier(uint32_t key_tier)
{
	enum tb_tier selected = tb_fast_tier();

	if (key_tier == TB_TIER_PORTABLE)
		return TB_TIER_PORTABLE;
	if (key_tier == TB_TIER_VAES_AVX2 && selected == TB_TIER_VAES_AVX2)
		return TB_TIER_VAES_AVX2;
	return TB_TIER_AESNI;
}

static int check_key_len(const char *operation, size_t key_len)
{
	if (key_len == 16 || key_len == 24 || key_len == 32)
		return 0;
	tb_err("%s: invalid AES key length %zu bytes (expected 16, 24 or 32)",
	       operation, key_len);
	return TPMBOOT_E_CRYPTO_KEY_LENGTH;
}

int tb_aes_setkey(struct tb_aes_key *key, const uint8_t *raw, size_t key_len)
{
	enum tb_tier tier = tb_fast_tier();
	int rc;

	rc = check_key_len("aes setkey", key_len);
	if (rc != 0)
		return rc;

	tb_memzero(key, sizeof(*key));
	if (tier == TB_TIER_PORTABLE) {
		rc = tb_portable_aes_setkey(key, raw, key_len);
		if (rc != 0)
			return rc;
	} else {
		tb_aesni_expand_key(key, raw, key_len);
	}
	key->tier = (uint32_t)tier;
	return 0;
}

void tb_aes_key_wipe(struct tb_aes_key *key)
{
	tb_memzero(key, sizeof(*key));
}

void tb_aes_cbc_encrypt(const struct tb_aes_key *key, uint8_t iv[16],
			const uint8_t *in, uint8_t *out, size_t len)
{
	/* CBC encryption is serial, so the VAES tier has nothing to add. */
	if (key_run_tier(key->tier) == TB_TIER_PORTABLE)
		tb_portable_aes_cbc_encrypt(key, iv, in, out, len);
	else
		tb_aesni_cbc_encrypt(key, iv, in, out, len);
}

void tb_aes_cbc_decrypt(const struct tb_aes_key *key, uint8_t iv[16],
			const uint8_t *in, uint8_t *out, size_t len)
{
	switch (key_run_tier(key->tier)) {
	case TB_TIER_VAES_AVX2:
		tb_vaes_cbc_decrypt(key, iv, in, out, len);
		break;
	case TB_TIER_AESNI:
		tb_aesni_cbc_decrypt(key, iv, in, out, len);
		break;
	case TB_TIER_PORTABLE:
		tb_portable_aes_cbc_decrypt(key, iv, in, out, len);
		break;
	}
}

void tb_aes_encrypt_block(const struct tb_aes_key *key, const uint8_t in[16],
			  uint8_t out[16])
{
	if (key_run_tier(key->tier) == TB_TIER_PORTABLE)
		tb_portable_aes_encrypt_block(key, in, out);
	else
		tb_aesni_encrypt_block(key, in, out);
}

void tb_aes_decrypt_block(const struct tb_aes_key *key, const uint8_t in[16],
			  uint8_t out[16])
{
	if (key_run_tier(key->tier) == TB_TIER_PORTABLE)
		tb_portable_aes_decrypt_block(key, in, out);
	else
		tb_aesni_decrypt_block(key, in, out);
}

int tb_gcm_setkey(struct tb_gcm_key *key, const uint8_t *raw, size_t key_len)
{
	enum tb_tier tier = tb_fast_tier();
	int rc;

	rc = check_key_len("gcm setkey", key_len);
	if (rc != 0)
		return rc;

	tb_memzero(key, sizeof(*key));
	if (tier == TB_TIER_PORTABLE) {
		rc = tb_portable_gcm_setkey(key, raw, key_len);
		if (rc != 0)
			return rc;
	} else {
		tb_aesni_expand_key(&key->aes, raw, key_len);
		tb_aesni_gcm_init_table(key);
	}
	key->aes.tier = (uint32_t)tier;
	key->tier = (uint32_t)tier;
	return 0;
}

void tb_gcm_key_wipe(struct tb_gcm_key *key)
{
	tb_memzero(key, sizeof(*key));
}

/* Runs the SIMD GCM code of the key's tier; the tag goes to tag. */
static void gcm_crypt_simd(const struct tb_gcm_key *key, int decrypt,
			   const uint8_t iv[12], const uint8_t *aad,
			   size_t aad_len, const uint8_t *in, uint8_t *out,
			   size_t len, uint8_t tag[16])
{
	if (key_run_tier(key->tier) == TB_TIER_VAES_AVX2)
		tb_vaes_gcm_crypt(key, decrypt, iv, aad, aad_len, in, out, len,
				  tag);
	else
		tb_aesni_gcm_crypt(key, decrypt, iv, aad, aad_len, in, out,
				   len, tag);
}

void tb_gcm_encrypt(const struct tb_gcm_key *key, const uint8_t iv[12],
		    const uint8_t *aad, size_t aad_len, const uint8_t *in,
		    uint8_t *out, size_t len, uint8_t tag[16])
{
	/* The function cannot return an error, so an over-long message
	 * gives a zero output and a zero tag, which no decryption accepts
	 * (the GCM tag of a real message is zero with probability 2^-128). */
	if ((uint64_t)len > GCM_MAX_LEN) {
		tb_err("gcm encrypt: plaintext of %zu bytes exceeds the GCM "
		       "limit of %llu bytes", len,
		       (unsigned long long)GCM_MAX_LEN);
		memset(out, 0, len);
		memset(tag, 0, 16);
		return;
	}

	if (key_run_tier(key->tier) == TB_TIER_PORTABLE)
		tb_portable_gcm_encrypt(key, iv, aad, aad_len, in, out, len,
					tag);
	else
		gcm_crypt_simd(key, 0, iv, aad, aad_len, in, out, len, tag);
}

int tb_gcm_decrypt(const struct tb_gcm_key *key, const uint8_t iv[12],
		   const uint8_t *aad, size_t aad_len, const uint8_t *in,
		   uint8_t *out, size_t len, const uint8_t tag[16])
{
	uint8_t computed[16];
	int rc = 0;

	if ((uint64_t)len > GCM_MAX_LEN) {
		tb_err("gcm decrypt: ciphertext of %zu bytes exceeds the GCM "
		       "limit of %llu bytes", len,
		       (unsigned long long)GCM_MAX_LEN);
		return TPMBOOT_E_CRYPTO_LENGTH;
	}

	if (key_run_tier(key->tier) == TB_TIER_PORTABLE) {
		rc = tb_portable_gcm_decrypt(key, iv, aad, aad_len, in, out,
					     len, tag);
	} else {
		/* The SIMD code writes the plaintext while hashing, so a
		 * failed check wipes it afterwards. */
		gcm_crypt_simd(key, 1, iv, aad, aad_len, in, out, len,
			       computed);
		if (!tb_ct_memeq(computed, tag, sizeof(computed))) {
			tb_memzero(out, len);
			rc = TPMBOOT_E_CRYPTO_AUTH;
		}
		tb_memzero(computed, sizeof(computed));
	}

	if (rc == TPMBOOT_E_CRYPTO_AUTH)
		tb_err("gcm decrypt: tag mismatch (%zu bytes of ciphertext, "
		       "%zu bytes of AAD); output wiped", len, aad_len);
	return rc;
}

/* SHA-256 compression of nblocks blocks with the best available code. */
static void sha256_blocks(uint32_t state[8], const uint8_t *blocks,
			  size_t nblocks)
{
	if (tb_fast_tier() != TB_TIER_PORTABLE &&
	    (fast_state.features & TB_X86_NEED_SHA_NI) == TB_X86_NEED_SHA_NI)
		tb_sha256_ni_blocks(state, blocks, nblocks);
	else
		tb_portable_sha256_blocks(state, blocks, nblocks);
}

void tb_sha256_init(struct tb_sha256_ctx *ctx)
{
	/* FIPS 180-4 section 5.3.3. */
	static const uint32_t initial[8] = {
		0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
		0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
	};

	memcpy(ctx->state, initial, sizeof(initial));
	ctx->total_len = 0;
	ctx->buf_len = 0;
}

void tb_sha256_update(struct tb_sha256_ctx *ctx, const void *data, size_t len)
{
	const uint8_t *p = data;
	size_t take, whole;

	ctx->total_len += len;

	if (ctx->buf_len > 0) {
		take = SHA256_BLOCK_LEN - ctx->buf_len;
		if (take > len)
			take = len;
		memcpy(ctx->buf + ctx->buf_len, p, take);
		ctx->buf_len += (uint32_t)take;
		p += take;
		len -= take;
		if (ctx->buf_len < SHA256_BLOCK_LEN)
			return;
		sha256_blocks(ctx->state, ctx->buf, 1);
		ctx->buf_len = 0;
	}

	whole = len / SHA256_BLOCK_LEN;
	if (whole > 0) {
		sha256_blocks(ctx->state, p, whole);
		p += whole * SHA256_BLOCK_LEN;
		len -= whole * SHA256_BLOCK_LEN;
	}

	memcpy(ctx->buf, p, len);
	ctx->buf_len = (uint32_t)len;
}

/* Pads (FIPS 180-4 section 5.1.1), writes the digest and wipes ctx. */
void tb_sha256_final(struct tb_sha256_ctx *ctx, uint8_t out[32])
{
	uint64_t bits = ctx->total_len * 8;
	unsigned i;

	ctx->buf[ctx->buf_len++] = 0x80;
	if (ctx->buf_len > SHA256_BLOCK_LEN - 8) {
		memset(ctx->buf + ctx->buf_len, 0,
		       SHA256_BLOCK_LEN - ctx->buf_len);
		sha256_blocks(ctx->state, ctx->buf, 1);
		ctx->buf_len = 0;
	}
	memset(ctx->buf + ctx->buf_len, 0, SHA256_BLOCK_LEN - 8 - ctx->buf_len);
	tb_store_be64(ctx->buf + SHA256_BLOCK_LEN - 8, bits);
	sha256_blocks(ctx->state, ctx->buf, 1);

	for (i = 0; i < 8; i++)
		tb_store_be32(out + 4 * i, ctx->state[i]);
	tb_memzero(ctx, sizeof(*ctx));
}

void tb_sha256(const void *data, size_t len, uint8_t out[32])
{
	struct tb_sha256_ctx ctx;

	tb_sha256_init(&ctx);
	tb_sha256_update(&ctx, data, len);
	tb_sha256_final(&ctx, out);
}

/* HMAC (RFC 2104, FIPS 198-1): the inner and outer contexts absorb
 * K0 ^ ipad and K0 ^ opad, where K0 is the key, hashed first if it is
 * longer than a block, padded with zeros to the block length. */
void tb_hmac_sha256_init(struct tb_hmac_sha256_ctx *ctx, const uint8_t *key,
			 size_t key_len)
{
	uint8_t k0[SHA256_BLOCK_LEN];
	uint8_t pad[SHA256_BLOCK_LEN];
	unsigned i;

	memset(k0, 0, sizeof(k0));
	if (key_len > SHA256_BLOCK_LEN)
		tb_sha256(key, key_len, k0);
	else if (key_len > 0)
		memcpy(k0, key, key_len);

	for (i = 0; i < SHA256_BLOCK_LEN; i++)
		pad[i] = k0[i] ^ 0x36;
	tb_sha256_init(&ctx->inner);
	tb_sha256_update(&ctx->inner, pad, sizeof(pad));

	for (i = 0; i < SHA256_BLOCK_LEN; i++)
		pad[i] = k0[i] ^ 0x5c;
	tb_sha256_init(&ctx->outer);
	tb_sha256_update(&ctx->outer, pad, sizeof(pad));

	tb_memzero(k0, sizeof(k0));
	tb_memzero(pad, sizeof(pad));
}

void tb_hmac_sha256_update(struct tb_hmac_sha256_ctx *ctx, const void *data,
			   size_t len)
{
	tb_sha256_update(&ctx->inner, data, len);
}

/* Writes the MAC and wipes ctx. */
void tb_hmac_sha256_final(struct tb_hmac_sha256_ctx *ctx, uint8_t out[32])
{
	uint8_t inner_digest[SHA256_DIGEST_LEN];

	tb_sha256_final(&ctx->inner, inner_digest);
	tb_sha256_update(&ctx->outer, inner_digest, sizeof(inner_digest));
	tb_sha256_final(&ctx->outer, out);
	tb_memzero(inner_digest, sizeof(inner_digest));
	tb_memzero(ctx, sizeof(*ctx));
}

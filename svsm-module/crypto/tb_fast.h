/*
 * Tiered AES-GCM, AES-CBC and SHA-256 primitives (the "fast paths").
 *
 * The tier is chosen once by tb_fast_init() from CPUID and XCR0 (capped by
 * the platform's configuration) and cached; every call then dispatches on
 * it. The SIMD tiers live in arch/x86_64/, the portable constant-time tier
 * in svsm-module/crypto/portable/. Key schedules are kept in caller-owned
 * structures that the caller wipes with the *_wipe() functions.
 */
#ifndef TB_FAST_H
#define TB_FAST_H

#include <stddef.h>
#include <stdint.h>

enum tb_tier {
	TB_TIER_PORTABLE = 0,  /* constant-time C, general-purpose registers */
	TB_TIER_AESNI = 1,     /* AES-NI + PCLMULQDQ (+ SHA-NI), legacy SSE */
	TB_TIER_VAES_AVX2 = 2, /* VAES + VPCLMULQDQ, 256-bit, AVX2 */
};

/*
 * Detects CPU features once and selects the best tier not above max_tier.
 * Later calls only lower or raise the cap within what the CPU supports.
 */
void tb_fast_init(enum tb_tier max_tier);

/* Returns the selected tier. */
enum tb_tier tb_fast_tier(void);

/* Returns the best tier this CPU and its XCR0 support, ignoring the cap. */
enum tb_tier tb_fast_tier_supported(void);

/* AES key schedule usable by every tier. */
struct tb_aes_key {
	uint8_t round_keys[15 * 16] __attribute__((aligned(32)));
	uint8_t dec_round_keys[15 * 16] __attribute__((aligned(32)));
	uint32_t rounds; /* 10, 12 or 14 */
	uint32_t tier;   /* tier that expanded the key (schedule layout) */
	/* Portable tier: bitsliced schedule. */
	uint64_t ct_round_keys[15 * 8];
};

/* key_len is 16, 24 or 32. Returns 0 or TPMBOOT_E_CRYPTO_KEY_LENGTH. */
int tb_aes_setkey(struct tb_aes_key *key, const uint8_t *raw, size_t key_len);
void tb_aes_key_wipe(struct tb_aes_key *key);

/* CBC over len bytes (a multiple of 16); in and out may be equal. iv is
 * updated to the last ciphertext block so calls can be chained. */
void tb_aes_cbc_encrypt(const struct tb_aes_key *key, uint8_t iv[16],
			const uint8_t *in, uint8_t *out, size_t len);
void tb_aes_cbc_decrypt(const struct tb_aes_key *key, uint8_t iv[16],
			const uint8_t *in, uint8_t *out, size_t len);

/* Single-block ECB encryption (for KW/KWP and CTR helpers). */
void tb_aes_encrypt_block(const struct tb_aes_key *key, const uint8_t in[16],
			  uint8_t out[16]);
void tb_aes_decrypt_block(const struct tb_aes_key *key, const uint8_t in[16],
			  uint8_t out[16]);

/* AES-GCM key: AES schedule plus H^1..H^16 in the tier's layout. */
struct tb_gcm_key {
	struct tb_aes_key aes;
	uint8_t h_powers[16 * 16 * 2] __attribute__((aligned(32)));
	uint32_t tier;
};

int tb_gcm_setkey(struct tb_gcm_key *key, const uint8_t *raw, size_t key_len);
void tb_gcm_key_wipe(struct tb_gcm_key *key);

/* 12-byte IV only. in and out may be equal (in place) or disjoint. */
void tb_gcm_encrypt(const struct tb_gcm_key *key, const uint8_t iv[12],
		    const uint8_t *aad, size_t aad_len, const uint8_t *in,
		    uint8_t *out, size_t len, uint8_t tag[16]);

/* Returns 0, or TPMBOOT_E_CRYPTO_AUTH (tag compared in constant time) in
 * which case out is zeroed. */
int tb_gcm_decrypt(const struct tb_gcm_key *key, const uint8_t iv[12],
		   const uint8_t *aad, size_t aad_len, const uint8_t *in,
		   uint8_t *out, size_t len, const uint8_t tag[16]);

/* SHA-256 with SHA-NI where present. */
struct tb_sha256_ctx {
	uint32_t state[8];
	uint64_t total_len;
	uint8_t buf[64];
	uint32_t buf_len;
};

void tb_sha256_init(struct tb_sha256_ctx *ctx);
void tb_sha256_update(struct tb_sha256_ctx *ctx, const void *data, size_t len);
void tb_sha256_final(struct tb_sha256_ctx *ctx, uint8_t out[32]);
void tb_sha256(const void *data, size_t len, uint8_t out[32]);

/* HMAC-SHA-256 built on tb_sha256_*; any key length. */
struct tb_hmac_sha256_ctx {
	struct tb_sha256_ctx inner;
	struct tb_sha256_ctx outer;
};

void tb_hmac_sha256_init(struct tb_hmac_sha256_ctx *ctx, const uint8_t *key,
			 size_t key_len);
void tb_hmac_sha256_update(struct tb_hmac_sha256_ctx *ctx, const void *data,
			   size_t len);
void tb_hmac_sha256_final(struct tb_hmac_sha256_ctx *ctx, uint8_t out[32]);

#endif /* TB_FAST_H */

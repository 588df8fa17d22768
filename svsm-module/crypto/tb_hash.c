/*
 * SHA-2 hashes and HMAC for the three digest sizes CocoonFs and the KBS
 * protocols use. SHA-256 runs on the tiered fast path (tb_fast.h), SHA-384
 * and SHA-512 on mbedTLS.
 */
#include <string.h>

#include "core/tb_core.h"
#include "crypto/tb_crypto.h"
#include "mbedtls/sha512.h"

_Static_assert(sizeof(mbedtls_sha512_context) <= sizeof(((struct tb_hash_ctx *)0)->u),
	       "tb_hash_ctx too small for mbedTLS SHA-512 state");

static mbedtls_sha512_context *sha512_state(struct tb_hash_ctx *ctx)
{
	return (mbedtls_sha512_context *)(void *)ctx->u.raw;
}

size_t tb_hash_digest_len(enum tb_hash_alg alg)
{
	switch (alg) {
	case TB_HASH_SHA256:
		return 32;
	case TB_HASH_SHA384:
		return 48;
	case TB_HASH_SHA512:
		return 64;
	}
	return 0;
}

size_t tb_hash_block_len(enum tb_hash_alg alg)
{
	switch (alg) {
	case TB_HASH_SHA256:
		return 64;
	case TB_HASH_SHA384:
	case TB_HASH_SHA512:
		return 128;
	}
	return 0;
}

int tb_hash_from_tpm_alg(uint16_t tpm_alg, enum tb_hash_alg *alg)
{
	switch (tpm_alg) {
	case TB_TPM_ALG_SHA256:
		*alg = TB_HASH_SHA256;
		return TPMBOOT_OK;
	case TB_TPM_ALG_SHA384:
		*alg = TB_HASH_SHA384;
		return TPMBOOT_OK;
	case TB_TPM_ALG_SHA512:
		*alg = TB_HASH_SHA512;
		return TPMBOOT_OK;
	}
	return TPMBOOT_E_CRYPTO_UNSUPPORTED;
}

int tb_hash_init(struct tb_hash_ctx *ctx, enum tb_hash_alg alg)
{
	if (tb_hash_digest_len(alg) == 0)
		return TPMBOOT_E_CRYPTO_UNSUPPORTED;

	ctx->alg = alg;
	ctx->buf_len = 0;
	if (alg == TB_HASH_SHA256) {
		tb_sha256_init(&ctx->u.sha256);
		return TPMBOOT_OK;
	}
	mbedtls_sha512_init(sha512_state(ctx));
	if (mbedtls_sha512_starts(sha512_state(ctx), alg == TB_HASH_SHA384) != 0)
		return TPMBOOT_E_CRYPTO_BACKEND;
	return TPMBOOT_OK;
}

void tb_hash_update(struct tb_hash_ctx *ctx, const void *data, size_t len)
{
	if (ctx->alg == TB_HASH_SHA256)
		tb_sha256_update(&ctx->u.sha256, data, len);
	else
		mbedtls_sha512_update(sha512_state(ctx), data, len);
}

void tb_hash_final(struct tb_hash_ctx *ctx, uint8_t *out)
{
	uint8_t full[64];

	if (ctx->alg == TB_HASH_SHA256) {
		tb_sha256_final(&ctx->u.sha256, out);
	} else {
		/* mbedTLS writes 64 bytes even for SHA-384. */
		mbedtls_sha512_finish(sha512_state(ctx), full);
		memcpy(out, full, tb_hash_digest_len(ctx->alg));
		mbedtls_sha512_free(sha512_state(ctx));
		tb_memzero(full, sizeof(full));
	}
	tb_memzero(ctx, sizeof(*ctx));
}

int tb_hash(enum tb_hash_alg alg, const void *data, size_t len, uint8_t *out)
{
	struct tb_hash_ctx ctx;
	int rc;

	rc = tb_hash_init(&ctx, alg);
	if (rc != TPMBOOT_OK)
		return rc;
	tb_hash_update(&ctx, data, len);
	tb_hash_final(&ctx, out);
	return TPMBOOT_OK;
}

/* HMAC (RFC 2104): H((K ^ opad) || H((K ^ ipad) || m)), with K hashed
 * first when it is longer than the block. */
int tb_hmac_init(struct tb_hmac_ctx *ctx, enum tb_hash_alg alg,
		 const uint8_t *key, size_t key_len)
{
	uint8_t pad[TB_HASH_MAX_BLOCK];
	size_t block = tb_hash_block_len(alg);
	size_t i;
	int rc;

	if (block == 0)
		return TPMBOOT_E_CRYPTO_UNSUPPORTED;

	memset(pad, 0, sizeof(pad));
	if (key_len > block) {
		rc = tb_hash(alg, key, key_len, pad);
		if (rc != TPMBOOT_OK)
			return rc;
	} else if (key_len > 0) {
		memcpy(pad, key, key_len);
	}

	ctx->alg = alg;
	for (i = 0; i < block; i++)
		pad[i] ^= 0x36;
	rc = tb_hash_init(&ctx->inner, alg);
	if (rc == TPMBOOT_OK) {
		tb_hash_update(&ctx->inner, pad, block);
		for (i = 0; i < block; i++)
			pad[i] ^= 0x36 ^ 0x5c;
		rc = tb_hash_init(&ctx->outer, alg);
	}
	if (rc == TPMBOOT_OK)
		tb_hash_update(&ctx->outer, pad, block);

	tb_memzero(pad, sizeof(pad));
	return rc;
}

void tb_hmac_update(struct tb_hmac_ctx *ctx, const void *data, size_t len)
{
	tb_hash_update(&ctx->inner, data, len);
}

void tb_hmac_final(struct tb_hmac_ctx *ctx, uint8_t *out)
{
	uint8_t inner[TB_HASH_MAX_DIGEST];
	size_t len = tb_hash_digest_len(ctx->alg);

	tb_hash_final(&ctx->inner, inner);
	tb_hash_update(&ctx->outer, inner, len);
	tb_hash_final(&ctx->outer, out);
	tb_memzero(inner, sizeof(inner));
	tb_memzero(ctx, sizeof(*ctx));
}

int tb_hmac(enum tb_hash_alg alg, const uint8_t *key, size_t key_len,
	    const void *data, size_t len, uint8_t *out)
{
	struct tb_hmac_ctx ctx;
	int rc;

	rc = tb_hmac_init(&ctx, alg, key, key_len);
	if (rc != TPMBOOT_OK)
		return rc;
	tb_hmac_update(&ctx, data, len);
	tb_hmac_final(&ctx, out);
	return TPMBOOT_OK;
}

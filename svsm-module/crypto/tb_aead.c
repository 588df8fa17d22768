/*
 * One-shot AES-GCM for callers that do not keep a key schedule. The schedule
 * with its H powers is over 1 KiB, so it lives on the heap, not the stack.
 * IV and tag shapes other than 96/128 bits go to mbedTLS.
 */
#include "core/tb_core.h"
#include "crypto/tb_crypto.h"
#include "mbedtls/gcm.h"

static struct tb_gcm_key *gcm_key_new(const uint8_t *key, size_t key_len,
				      int *rc)
{
	struct tb_gcm_key *gk = tb_alloc_aligned(sizeof(*gk), 64);

	if (gk == NULL) {
		*rc = TPMBOOT_E_NO_MEMORY;
		return NULL;
	}
	*rc = tb_gcm_setkey(gk, key, key_len);
	if (*rc != TPMBOOT_OK) {
		tb_free_secret(gk, sizeof(*gk));
		return NULL;
	}
	return gk;
}

static void gcm_key_free(struct tb_gcm_key *gk)
{
	tb_gcm_key_wipe(gk);
	tb_free_secret(gk, sizeof(*gk));
}

int tb_aes_gcm_encrypt(const uint8_t *key, size_t key_len,
		       const uint8_t iv[12], const uint8_t *aad,
		       size_t aad_len, const uint8_t *in, uint8_t *out,
		       size_t len, uint8_t tag[16])
{
	struct tb_gcm_key *gk;
	int rc;

	gk = gcm_key_new(key, key_len, &rc);
	if (gk == NULL)
		return rc;
	tb_gcm_encrypt(gk, iv, aad, aad_len, in, out, len, tag);
	gcm_key_free(gk);
	return TPMBOOT_OK;
}

int tb_aes_gcm_decrypt(const uint8_t *key, size_t key_len,
		       const uint8_t iv[12], const uint8_t *aad,
		       size_t aad_len, const uint8_t *in, uint8_t *out,
		       size_t len, const uint8_t tag[16])
{
	struct tb_gcm_key *gk;
	int rc;

	gk = gcm_key_new(key, key_len, &rc);
	if (gk == NULL)
		return rc;
	rc = tb_gcm_decrypt(gk, iv, aad, aad_len, in, out, len, tag);
	gcm_key_free(gk);
	return rc;
}

static int gcm_shape_ok(size_t key_len, size_t iv_len, size_t tag_len)
{
	if (key_len != 16 && key_len != 24 && key_len != 32)
		return TPMBOOT_E_CRYPTO_KEY_LENGTH;
	/* SP 800-38D section 5.2.1.2: 128, 120, 112, 104, 96, 64, 32 bits. */
	if (iv_len == 0 || (tag_len < 12 && tag_len != 8 && tag_len != 4) ||
	    tag_len > 16)
		return TPMBOOT_E_CRYPTO_LENGTH;
	return TPMBOOT_OK;
}

/* NOTE: mbedTLS's AES uses lookup tables, so this fallback is not
 * constant-time. The module's own protocols (SNP guest messages, JWE
 * A256GCM, the kbs-unwrap envelope) use only 96-bit IVs and 128-bit tags,
 * which never reach it. */
static int mbedtls_gcm_run(int mode, const uint8_t *key, size_t key_len,
			   const uint8_t *iv, size_t iv_len,
			   const uint8_t *aad, size_t aad_len,
			   const uint8_t *in, uint8_t *out, size_t len,
			   uint8_t *tag, size_t tag_len)
{
	mbedtls_gcm_context ctx;
	int ret;

	mbedtls_gcm_init(&ctx);
	ret = mbedtls_gcm_setkey(&ctx, MBEDTLS_CIPHER_ID_AES, key,
				 (unsigned)(key_len * 8));
	if (ret == 0 && mode == MBEDTLS_GCM_ENCRYPT)
		ret = mbedtls_gcm_crypt_and_tag(&ctx, mode, len, iv, iv_len,
						aad, aad_len, in, out, tag_len,
						tag);
	else if (ret == 0)
		ret = mbedtls_gcm_auth_decrypt(&ctx, len, iv, iv_len, aad,
					       aad_len, tag, tag_len, in, out);
	mbedtls_gcm_free(&ctx);

	if (ret == MBEDTLS_ERR_GCM_AUTH_FAILED) {
		tb_memzero(out, len);
		return TPMBOOT_E_CRYPTO_AUTH;
	}
	if (ret != 0) {
		tb_memzero(out, len);
		return TPMBOOT_E_CRYPTO_BACKEND;
	}
	return TPMBOOT_OK;
}

int tb_aes_gcm_encrypt_ext(const uint8_t *key, size_t key_len,
			   const uint8_t *iv, size_t iv_len,
			   const uint8_t *aad, size_t aad_len,
			   const uint8_t *in, uint8_t *out, size_t len,
			   uint8_t *tag, size_t tag_len)
{
	int rc = gcm_shape_ok(key_len, iv_len, tag_len);

	if (rc != TPMBOOT_OK)
		return rc;
	if (iv_len == 12 && tag_len == 16)
		return tb_aes_gcm_encrypt(key, key_len, iv, aad, aad_len, in,
					  out, len, tag);
	return mbedtls_gcm_run(MBEDTLS_GCM_ENCRYPT, key, key_len, iv, iv_len,
			       aad, aad_len, in, out, len, tag, tag_len);
}

int tb_aes_gcm_decrypt_ext(const uint8_t *key, size_t key_len,
			   const uint8_t *iv, size_t iv_len,
			   const uint8_t *aad, size_t aad_len,
			   const uint8_t *in, uint8_t *out, size_t len,
			   const uint8_t *tag, size_t tag_len)
{
	int rc = gcm_shape_ok(key_len, iv_len, tag_len);

	if (rc != TPMBOOT_OK)
		return rc;
	if (iv_len == 12 && tag_len == 16)
		return tb_aes_gcm_decrypt(key, key_len, iv, aad, aad_len, in,
					  out, len, tag);
	return mbedtls_gcm_run(MBEDTLS_GCM_DECRYPT, key, key_len, iv, iv_len,
			       aad, aad_len, in, out, len, (uint8_t *)tag,
			       tag_len);
}

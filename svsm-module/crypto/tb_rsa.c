/*
 * RSA for the RSA-OAEP-256 TEE key type (RFC 8017 RSAES-OAEP with SHA-256
 * and MGF1-SHA-256, empty label) on mbedTLS.
 */
#include "core/tb_core.h"
#include "crypto/tb_crypto.h"
#include "mbedtls/rsa.h"

struct tb_rsa_key {
	mbedtls_rsa_context ctx;
};

static struct tb_rsa_key *rsa_new(void)
{
	struct tb_rsa_key *key = tb_calloc(1, sizeof(*key));

	if (key == NULL)
		return NULL;
	mbedtls_rsa_init(&key->ctx);
	if (mbedtls_rsa_set_padding(&key->ctx, MBEDTLS_RSA_PKCS_V21,
				    MBEDTLS_MD_SHA256) != 0) {
		tb_rsa_free(key);
		return NULL;
	}
	return key;
}

int tb_rsa_generate(struct tb_rsa_key **out, unsigned bits)
{
	struct tb_rsa_key *key;

	*out = NULL;
	if (bits != 2048 && bits != 3072)
		return TPMBOOT_E_CRYPTO_KEY_LENGTH;
	key = rsa_new();
	if (key == NULL)
		return TPMBOOT_E_NO_MEMORY;
	if (mbedtls_rsa_gen_key(&key->ctx, tb_rng_mbedtls, NULL, bits, 65537) != 0) {
		tb_err("crypto: RSA-%u key generation failed", bits);
		tb_rsa_free(key);
		return TPMBOOT_E_CRYPTO_BACKEND;
	}
	*out = key;
	return TPMBOOT_OK;
}

int tb_rsa_import(struct tb_rsa_key **out, const uint8_t *n, size_t n_len,
		  const uint8_t *e, size_t e_len, const uint8_t *d,
		  size_t d_len, const uint8_t *p, size_t p_len,
		  const uint8_t *q, size_t q_len)
{
	struct tb_rsa_key *key;

	*out = NULL;
	key = rsa_new();
	if (key == NULL)
		return TPMBOOT_E_NO_MEMORY;
	if (mbedtls_rsa_import_raw(&key->ctx, n, n_len, p, p_len, q, q_len,
				   d, d_len, e, e_len) != 0 ||
	    mbedtls_rsa_complete(&key->ctx) != 0 ||
	    mbedtls_rsa_check_privkey(&key->ctx) != 0) {
		tb_rsa_free(key);
		return TPMBOOT_E_CRYPTO_INVALID_KEY;
	}
	*out = key;
	return TPMBOOT_OK;
}

void tb_rsa_free(struct tb_rsa_key *key)
{
	if (key == NULL)
		return;
	mbedtls_rsa_free(&key->ctx);
	tb_free_secret(key, sizeof(*key));
}

int tb_rsa_public(const struct tb_rsa_key *key, uint8_t *n, size_t n_cap,
		  size_t *n_len, uint8_t *e, size_t e_cap, size_t *e_len)
{
	size_t len = mbedtls_rsa_get_len(&key->ctx);

	if (n_cap < len || e_cap < 3)
		return TPMBOOT_E_BUFFER_TOO_SMALL;
	/* e = 65537 fits in three bytes; mbedTLS pads to the buffer size. */
	if (mbedtls_rsa_export_raw(&key->ctx, n, len, NULL, 0, NULL, 0, NULL,
				   0, e, 3) != 0)
		return TPMBOOT_E_CRYPTO_BACKEND;
	*n_len = len;
	*e_len = 3;
	return TPMBOOT_OK;
}

int tb_rsa_oaep_sha256_decrypt_label(struct tb_rsa_key *key,
				     const uint8_t *label, size_t label_len,
				     const uint8_t *in, size_t in_len,
				     uint8_t *out, size_t out_cap,
				     size_t *out_len)
{
	int ret;

	*out_len = 0;
	if (in_len != mbedtls_rsa_get_len(&key->ctx))
		return TPMBOOT_E_CRYPTO_LENGTH;
	ret = mbedtls_rsa_rsaes_oaep_decrypt(&key->ctx, tb_rng_mbedtls, NULL,
					     label, label_len, out_len, in,
					     out, out_cap);
	if (ret == 0)
		return TPMBOOT_OK;
	*out_len = 0;
	tb_memzero(out, out_cap);
	if (ret == MBEDTLS_ERR_RSA_OUTPUT_TOO_LARGE)
		return TPMBOOT_E_BUFFER_TOO_SMALL;
	/* Padding and decryption failures are reported alike (no oracle). */
	return TPMBOOT_E_CRYPTO_AUTH;
}

int tb_rsa_oaep_sha256_decrypt(struct tb_rsa_key *key, const uint8_t *in,
			       size_t in_len, uint8_t *out, size_t out_cap,
			       size_t *out_len)
{
	return tb_rsa_oaep_sha256_decrypt_label(key, NULL, 0, in, in_len, out,
						out_cap, out_len);
}

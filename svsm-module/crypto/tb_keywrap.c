/*
 * AES key wrap (RFC 3394, NIST SP 800-38F KW) and key wrap with padding
 * (RFC 5649, KWP) on mbedTLS's nist_kw.
 */
#include "core/tb_core.h"
#include "crypto/tb_crypto.h"
#include "mbedtls/nist_kw.h"

static int kw_run(mbedtls_nist_kw_mode_t mode, int wrap, const uint8_t *kek,
		  size_t kek_len, const uint8_t *in, size_t in_len,
		  uint8_t *out, size_t out_cap, size_t *out_len)
{
	mbedtls_nist_kw_context ctx;
	int ret;

	*out_len = 0;
	if (kek_len != 16 && kek_len != 24 && kek_len != 32)
		return TPMBOOT_E_CRYPTO_KEY_LENGTH;

	mbedtls_nist_kw_init(&ctx);
	ret = mbedtls_nist_kw_setkey(&ctx, MBEDTLS_CIPHER_ID_AES, kek,
				     (unsigned)(kek_len * 8), wrap);
	if (ret == 0 && wrap)
		ret = mbedtls_nist_kw_wrap(&ctx, mode, in, in_len, out,
					   out_len, out_cap);
	else if (ret == 0)
		ret = mbedtls_nist_kw_unwrap(&ctx, mode, in, in_len, out,
					     out_len, out_cap);
	mbedtls_nist_kw_free(&ctx);

	if (ret == 0)
		return TPMBOOT_OK;
	*out_len = 0;
	tb_memzero(out, out_cap);
	if (ret == MBEDTLS_ERR_CIPHER_AUTH_FAILED)
		return TPMBOOT_E_CRYPTO_AUTH;
	if (ret == MBEDTLS_ERR_CIPHER_BAD_INPUT_DATA)
		return TPMBOOT_E_CRYPTO_LENGTH;
	return TPMBOOT_E_CRYPTO_BACKEND;
}

int tb_aes_kw_wrap(const uint8_t *kek, size_t kek_len, const uint8_t *in,
		   size_t in_len, uint8_t *out, size_t out_cap,
		   size_t *out_len)
{
	return kw_run(MBEDTLS_KW_MODE_KW, 1, kek, kek_len, in, in_len, out,
		      out_cap, out_len);
}

int tb_aes_kw_unwrap(const uint8_t *kek, size_t kek_len, const uint8_t *in,
		     size_t in_len, uint8_t *out, size_t out_cap,
		     size_t *out_len)
{
	return kw_run(MBEDTLS_KW_MODE_KW, 0, kek, kek_len, in, in_len, out,
		      out_cap, out_len);
}

int tb_aes_kwp_wrap(const uint8_t *kek, size_t kek_len, const uint8_t *in,
		    size_t in_len, uint8_t *out, size_t out_cap,
		    size_t *out_len)
{
	return kw_run(MBEDTLS_KW_MODE_KWP, 1, kek, kek_len, in, in_len, out,
		      out_cap, out_len);
}

int tb_aes_kwp_unwrap(const uint8_t *kek, size_t kek_len, const uint8_t *in,
		      size_t in_len, uint8_t *out, size_t out_cap,
		      size_t *out_len)
{
	return kw_run(MBEDTLS_KW_MODE_KWP, 0, kek, kek_len, in, in_len, out,
		      out_cap, out_len);
}

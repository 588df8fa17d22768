/*
 * Wrapper around an unmodified mbedTLS 3.6.6 (its default
 * mbedtls_config.h, so MBEDTLS_AESNI_C and MBEDTLS_HAVE_ASM are on), built
 * as a shared library that exports only these functions. The benchmark
 * links it next to the project's own mbedTLS build, whose configuration
 * has no AES-NI; the version script keeps the two sets of mbedtls_*
 * symbols apart.
 */
#include <stdlib.h>

#include "mbedtls/aes.h"
#include "mbedtls/gcm.h"

#include "stock_mbedtls.h"

void *stock_gcm_new(const unsigned char *key, unsigned key_bits)
{
	mbedtls_gcm_context *ctx = malloc(sizeof(*ctx));

	if (ctx == NULL)
		return NULL;
	mbedtls_gcm_init(ctx);
	if (mbedtls_gcm_setkey(ctx, MBEDTLS_CIPHER_ID_AES, key, key_bits) != 0) {
		mbedtls_gcm_free(ctx);
		free(ctx);
		return NULL;
	}
	return ctx;
}

int stock_gcm_encrypt(void *ctx, const unsigned char iv[12],
		      const unsigned char *in, unsigned char *out, size_t len,
		      unsigned char tag[16])
{
	return mbedtls_gcm_crypt_and_tag(ctx, MBEDTLS_GCM_ENCRYPT, len, iv, 12,
					 NULL, 0, in, out, 16, tag);
}

int stock_gcm_decrypt(void *ctx, const unsigned char iv[12],
		      const unsigned char *in, unsigned char *out, size_t len,
		      const unsigned char tag[16])
{
	return mbedtls_gcm_auth_decrypt(ctx, len, iv, 12, NULL, 0, tag, 16, in,
					out);
}

void stock_gcm_free(void *ctx)
{
	mbedtls_gcm_free(ctx);
	free(ctx);
}

void *stock_aes_dec_new(const unsigned char *key, unsigned key_bits)
{
	mbedtls_aes_context *ctx = malloc(sizeof(*ctx));

	if (ctx == NULL)
		return NULL;
	mbedtls_aes_init(ctx);
	if (mbedtls_aes_setkey_dec(ctx, key, key_bits) != 0) {
		mbedtls_aes_free(ctx);
		free(ctx);
		return NULL;
	}
	return ctx;
}

int stock_aes_cbc_decrypt(void *ctx, unsigned char iv[16],
			  const unsigned char *in, unsigned char *out,
			  size_t len)
{
	return mbedtls_aes_crypt_cbc(ctx, MBEDTLS_AES_DECRYPT, len, iv, in, out);
}

void stock_aes_free(void *ctx)
{
	mbedtls_aes_free(ctx);
	free(ctx);
}

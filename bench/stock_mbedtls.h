/*
 * Functions of the unmodified mbedTLS 3.6.6 build (stock_mbedtls.c).
 * Contexts are opaque because their layout depends on that build's
 * configuration. The int results are mbedTLS error codes (0 on success).
 */
#ifndef TB_BENCH_STOCK_MBEDTLS_H
#define TB_BENCH_STOCK_MBEDTLS_H

#include <stddef.h>

void *stock_gcm_new(const unsigned char *key, unsigned key_bits);
int stock_gcm_encrypt(void *ctx, const unsigned char iv[12],
		      const unsigned char *in, unsigned char *out, size_t len,
		      unsigned char tag[16]);
int stock_gcm_decrypt(void *ctx, const unsigned char iv[12],
		      const unsigned char *in, unsigned char *out, size_t len,
		      const unsigned char tag[16]);
void stock_gcm_free(void *ctx);

void *stock_aes_dec_new(const unsigned char *key, unsigned key_bits);
int stock_aes_cbc_decrypt(void *ctx, unsigned char iv[16],
			  const unsigned char *in, unsigned char *out,
			  size_t len);
void stock_aes_free(void *ctx);

#endif /* TB_BENCH_STOCK_MBEDTLS_H */

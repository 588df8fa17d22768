/*
 * AES key wrap (RFC 3394, NIST SP 800-38F KW) and key wrap with padding
 * (RFC 5649, KWP), on the tiered AES of tb_fast.h so that unwrapping a
 * JWE content key runs on constant-time code (mbedTLS's AES uses tables).
 */
#include <string.h>

#include "core/tb_core.h"
#include "crypto/tb_crypto.h"

/* RFC 3394 section 2.2.3.1 and RFC 5649 section 3. */
static const uint8_t kw_iv[8] = { 0xa6, 0xa6, 0xa6, 0xa6,
				  0xa6, 0xa6, 0xa6, 0xa6 };
static const uint8_t kwp_iv_prefix[4] = { 0xa6, 0x59, 0x59, 0xa6 };

/* Largest input the module wraps or unwraps: JWE content keys and disk
 * keys are at most 64 bytes, so 4 KiB leaves room without allowing a
 * hostile length to run for long. */
#define KW_MAX_LEN 4096u

static struct tb_aes_key *kek_new(const uint8_t *kek, size_t kek_len, int *rc)
{
	struct tb_aes_key *key = tb_alloc_aligned(sizeof(*key), 64);

	if (key == NULL) {
		*rc = TPMBOOT_E_NO_MEMORY;
		return NULL;
	}
	*rc = tb_aes_setkey(key, kek, kek_len);
	if (*rc != TPMBOOT_OK) {
		tb_free_secret(key, sizeof(*key));
		return NULL;
	}
	return key;
}

static void kek_free(struct tb_aes_key *key)
{
	tb_aes_key_wipe(key);
	tb_free_secret(key, sizeof(*key));
}

/* W (RFC 3394 2.2.1): a holds the 8-byte integrity value, r the n blocks
 * of 8 bytes, wrapped in place. */
static void wrap_rounds(const struct tb_aes_key *key, uint8_t a[8],
			uint8_t *r, size_t n)
{
	uint8_t b[16];
	uint64_t t;
	size_t i, j;

	for (j = 0; j < 6; j++) {
		for (i = 0; i < n; i++) {
			memcpy(b, a, 8);
			memcpy(b + 8, r + 8 * i, 8);
			tb_aes_encrypt_block(key, b, b);
			t = (uint64_t)n * j + i + 1;
			tb_store_be64(a, tb_load_be64(b) ^ t);
			memcpy(r + 8 * i, b + 8, 8);
		}
	}
	tb_memzero(b, sizeof(b));
}

/* W^-1 (RFC 3394 2.2.2), in place. */
static void unwrap_rounds(const struct tb_aes_key *key, uint8_t a[8],
			  uint8_t *r, size_t n)
{
	uint8_t b[16];
	uint64_t t;
	size_t i, j;

	for (j = 6; j-- > 0;) {
		for (i = n; i-- > 0;) {
			t = (uint64_t)n * j + i + 1;
			tb_store_be64(b, tb_load_be64(a) ^ t);
			memcpy(b + 8, r + 8 * i, 8);
			tb_aes_decrypt_block(key, b, b);
			memcpy(a, b, 8);
			memcpy(r + 8 * i, b + 8, 8);
		}
	}
	tb_memzero(b, sizeof(b));
}

int tb_aes_kw_wrap(const uint8_t *kek, size_t kek_len, const uint8_t *in,
		   size_t in_len, uint8_t *out, size_t out_cap,
		   size_t *out_len)
{
	struct tb_aes_key *key;
	uint8_t a[8];
	int rc;

	*out_len = 0;
	if (in_len < 16 || in_len % 8 != 0 || in_len > KW_MAX_LEN)
		return TPMBOOT_E_CRYPTO_LENGTH;
	if (out_cap < in_len + 8)
		return TPMBOOT_E_BUFFER_TOO_SMALL;
	key = kek_new(kek, kek_len, &rc);
	if (key == NULL)
		return rc;

	memcpy(a, kw_iv, 8);
	memmove(out + 8, in, in_len);
	wrap_rounds(key, a, out + 8, in_len / 8);
	memcpy(out, a, 8);
	*out_len = in_len + 8;
	kek_free(key);
	return TPMBOOT_OK;
}

int tb_aes_kw_unwrap(const uint8_t *kek, size_t kek_len, const uint8_t *in,
		     size_t in_len, uint8_t *out, size_t out_cap,
		     size_t *out_len)
{
	struct tb_aes_key *key;
	uint8_t a[8];
	int rc;

	*out_len = 0;
	if (in_len < 24 || in_len % 8 != 0 || in_len > KW_MAX_LEN + 8)
		return TPMBOOT_E_CRYPTO_LENGTH;
	if (out_cap < in_len - 8)
		return TPMBOOT_E_BUFFER_TOO_SMALL;
	key = kek_new(kek, kek_len, &rc);
	if (key == NULL)
		return rc;

	memcpy(a, in, 8);
	memmove(out, in + 8, in_len - 8);
	unwrap_rounds(key, a, out, (in_len - 8) / 8);
	kek_free(key);

	if (!tb_ct_memeq(a, kw_iv, 8)) {
		tb_memzero(out, in_len - 8);
		return TPMBOOT_E_CRYPTO_AUTH;
	}
	*out_len = in_len - 8;
	return TPMBOOT_OK;
}

int tb_aes_kwp_wrap(const uint8_t *kek, size_t kek_len, const uint8_t *in,
		    size_t in_len, uint8_t *out, size_t out_cap,
		    size_t *out_len)
{
	size_t padded = (in_len + 7) / 8 * 8;
	struct tb_aes_key *key;
	uint8_t a[8];
	int rc;

	*out_len = 0;
	if (in_len == 0 || in_len > KW_MAX_LEN)
		return TPMBOOT_E_CRYPTO_LENGTH;
	if (out_cap < padded + 8)
		return TPMBOOT_E_BUFFER_TOO_SMALL;
	key = kek_new(kek, kek_len, &rc);
	if (key == NULL)
		return rc;

	/* Alternative IV: prefix || 32-bit big-endian message length. */
	memcpy(a, kwp_iv_prefix, 4);
	tb_store_be32(a + 4, (uint32_t)in_len);
	memmove(out + 8, in, in_len);
	memset(out + 8 + in_len, 0, padded - in_len);
	if (padded == 8) {
		/* One block: a single AES encryption of AIV || P. */
		memcpy(out, a, 8);
		tb_aes_encrypt_block(key, out, out);
	} else {
		wrap_rounds(key, a, out + 8, padded / 8);
		memcpy(out, a, 8);
	}
	*out_len = padded + 8;
	kek_free(key);
	return TPMBOOT_OK;
}

int tb_aes_kwp_unwrap(const uint8_t *kek, size_t kek_len, const uint8_t *in,
		      size_t in_len, uint8_t *out, size_t out_cap,
		      size_t *out_len)
{
	size_t n = in_len / 8 - 1, mli, pad, i;
	struct tb_aes_key *key;
	uint8_t block[16], a[8];
	uint32_t bad;
	int rc;

	*out_len = 0;
	if (in_len < 16 || in_len % 8 != 0 || in_len > KW_MAX_LEN + 8)
		return TPMBOOT_E_CRYPTO_LENGTH;
	if (out_cap < in_len - 8)
		return TPMBOOT_E_BUFFER_TOO_SMALL;
	key = kek_new(kek, kek_len, &rc);
	if (key == NULL)
		return rc;

	if (n == 1) {
		tb_aes_decrypt_block(key, in, block);
		memcpy(a, block, 8);
		memcpy(out, block + 8, 8);
		tb_memzero(block, sizeof(block));
	} else {
		memcpy(a, in, 8);
		memmove(out, in + 8, in_len - 8);
		unwrap_rounds(key, a, out, n);
	}
	kek_free(key);

	/* RFC 5649 section 3: prefix, 8(n-1) < MLI <= 8n, zero padding.
	 * The checks accumulate into one flag so none returns early. */
	mli = tb_load_be32(a + 4);
	bad = !tb_ct_memeq(a, kwp_iv_prefix, 4);
	bad |= mli <= 8 * (n - 1) || mli > 8 * n;
	pad = bad ? 0 : 8 * n - mli;
	for (i = 0; i < 8; i++)
		bad |= i < pad && out[8 * n - 1 - i] != 0;
	if (bad) {
		tb_memzero(out, 8 * n);
		return TPMBOOT_E_CRYPTO_AUTH;
	}
	tb_memzero(out + mli, 8 * n - mli);
	*out_len = mli;
	return TPMBOOT_OK;
}

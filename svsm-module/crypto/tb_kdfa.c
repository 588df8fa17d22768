/*
 * TPM 2.0 KDFa: TPM 2.0 Library, Part 1, section 11.4.10.2 (SP 800-108
 * counter mode with HMAC as the PRF).
 */
#include <string.h>

#include "core/tb_core.h"
#include "crypto/tb_crypto.h"

int tb_kdfa(enum tb_hash_alg alg, const uint8_t *key, size_t key_len,
	    const uint8_t *label, size_t label_len, const uint8_t *context,
	    size_t context_len, uint32_t bits, uint8_t *out, size_t out_len)
{
	static const uint8_t label_terminator = 0x00;
	size_t digest_len = tb_hash_digest_len(alg);
	uint8_t block[TB_HASH_MAX_DIGEST];
	uint8_t counter_be[4];
	uint8_t bits_be[4];
	struct tb_hmac_ctx hmac;
	uint32_t counter;
	size_t done = 0;
	int rc;

	if (digest_len == 0)
		return TPMBOOT_E_CRYPTO_UNSUPPORTED;
	if (bits == 0 || bits % 8 != 0 || out_len != bits / 8)
		return TPMBOOT_E_INVALID_ARGUMENT;

	tb_store_be32(bits_be, bits);
	for (counter = 1; done < out_len; counter++) {
		size_t take = out_len - done;

		rc = tb_hmac_init(&hmac, alg, key, key_len);
		if (rc != TPMBOOT_OK) {
			tb_memzero(out, out_len);
			return rc;
		}
		tb_store_be32(counter_be, counter);
		tb_hmac_update(&hmac, counter_be, sizeof(counter_be));
		tb_hmac_update(&hmac, label, label_len);
		/* The specification's label is a NUL-terminated string. */
		tb_hmac_update(&hmac, &label_terminator, 1);
		tb_hmac_update(&hmac, context, context_len);
		tb_hmac_update(&hmac, bits_be, sizeof(bits_be));
		tb_hmac_final(&hmac, block);

		if (take > digest_len)
			take = digest_len;
		memcpy(out + done, block, take);
		done += take;
	}

	tb_memzero(block, sizeof(block));
	return TPMBOOT_OK;
}

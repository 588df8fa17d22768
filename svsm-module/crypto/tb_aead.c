/*
 * One-shot AES-GCM for callers that do not keep a key schedule. The schedule
 * with its H powers is over 1 KiB, so it lives on the heap, not the stack.
 */
#include "core/tb_core.h"
#include "crypto/tb_crypto.h"

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

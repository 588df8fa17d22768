/*
 * CocoonFs key derivation (upstream keys.rs; TCG TPM2 KDFa).
 *
 * Root key = KDFa(SHA-512, raw key, label [DERIVATION], context, bits) with
 * context = "COCOONFS" || 0x01 || BE16 kdf || BE16 root HMAC || BE16 node
 * hash || BE16 data HMAC || BE16 pre-auth HMAC || BE16 TPM_ALG_CBC ||
 * BE16 cipher || BE16 key bits || u8 salt length || salt, and bits = 8 *
 * digest length of kdf_hash_alg. The specification omits TPM_ALG_CBC and
 * specifies 512 bits, but the upstream code, which writes the images, does
 * the above.
 *
 * Subkey(domain, subdomain, purpose) = KDFa(kdf_hash_alg, root key, label
 * [purpose], LE64 domain || LE32 subdomain, bits for the purpose).
 */
#include <string.h>

#include "cocoonfs/ccfs_internal.h"

#define CCFS_ROOT_CONTEXT_MAX (8 + 1 + 2 * 8 + 1 + 255)

int ccfs_root_key(const struct tb_cocoonfs_meta *meta, const uint8_t *raw,
		  size_t raw_len, uint8_t *root, size_t root_len)
{
	const struct ccfs_layout *l = &meta->layout;
	uint8_t context[CCFS_ROOT_CONTEXT_MAX];
	uint8_t label = CCFS_KEY_DERIVATION;
	size_t pos = 0;
	int rc;

	memcpy(context, "COCOONFS", 8);
	pos = 8;
	context[pos++] = 1; /* format version */
	tb_store_be16(context + pos, l->kdf_hash_id);
	tb_store_be16(context + pos + 2, l->root_hmac_id);
	tb_store_be16(context + pos + 4, l->node_hash_id);
	tb_store_be16(context + pos + 6, l->data_hmac_id);
	tb_store_be16(context + pos + 8, l->preauth_hmac_id);
	tb_store_be16(context + pos + 10, TB_TPM_ALG_CBC);
	tb_store_be16(context + pos + 12, l->cipher_id);
	tb_store_be16(context + pos + 14, l->cipher_bits);
	pos += 16;
	context[pos++] = (uint8_t)meta->salt_len;
	memcpy(context + pos, meta->salt, meta->salt_len);
	pos += meta->salt_len;

	rc = tb_kdfa(TB_HASH_SHA512, raw, raw_len, &label, 1, context, pos,
		     (uint32_t)(root_len * 8), root, root_len);
	if (rc != 0)
		tb_err("cocoonfs: root key derivation (KDFa SHA-512) failed (%d)",
		       rc);
	return rc;
}

int ccfs_subkey(const struct ccfs_layout *layout, const uint8_t *root,
		uint64_t domain, uint32_t subdomain, uint8_t purpose,
		uint8_t *out, size_t out_len)
{
	uint8_t context[12];
	int rc;

	tb_store_le64(context, domain);
	tb_store_le32(context + 8, subdomain);
	rc = tb_kdfa(layout->kdf_hash, root, layout->kdf_digest_len, &purpose,
		     1, context, sizeof(context), (uint32_t)(out_len * 8), out,
		     out_len);
	if (rc != 0)
		tb_err("cocoonfs: subkey derivation (domain %llu, subdomain %u, "
		       "purpose %u) failed (%d)", (unsigned long long)domain,
		       subdomain, purpose, rc);
	return rc;
}

/* Derives the encryption subkey (domain, subdomain) and expands it. */
int ccfs_aes_subkey(const struct ccfs_layout *layout, const uint8_t *root,
		    uint64_t domain, uint32_t subdomain, struct tb_aes_key *key)
{
	uint8_t raw[32];
	int rc;

	rc = ccfs_subkey(layout, root, domain, subdomain, CCFS_KEY_ENCRYPTION,
			 raw, layout->key_len);
	if (rc == 0)
		rc = tb_aes_setkey(key, raw, layout->key_len);
	tb_memzero(raw, sizeof(raw));
	return rc;
}

/* Derives the root key and the subkeys used on every read. */
int ccfs_keys_derive(struct tpmboot_fs *fs, const struct tb_cocoonfs_meta *meta,
		     const uint8_t *raw, size_t raw_len)
{
	const struct ccfs_layout *l = &fs->layout;
	struct ccfs_keys *k = &fs->keys;
	int rc;

	rc = ccfs_root_key(meta, raw, raw_len, k->root, l->kdf_digest_len);
	if (rc == 0)
		rc = ccfs_subkey(l, k->root, CCFS_INODE_AUTH_TREE, 0,
				 CCFS_KEY_AUTH_DATA, k->tree_data,
				 l->data_digest_len);
	if (rc == 0)
		rc = tb_hmac_init(&k->tree_data_hmac, l->data_hmac, k->tree_data,
				  l->data_digest_len);
	if (rc == 0)
		rc = ccfs_subkey(l, k->root, CCFS_INODE_AUTH_TREE, 0,
				 CCFS_KEY_AUTH_ROOT, k->tree_root,
				 l->root_digest_len);
	if (rc == 0)
		rc = ccfs_subkey(l, k->root, CCFS_INODE_INDEX_ROOT,
				 CCFS_SUBDOMAIN_DATA, CCFS_KEY_PREAUTH_CCA,
				 k->index_preauth, l->preauth_digest_len);
	if (rc == 0)
		rc = ccfs_aes_subkey(l, k->root, CCFS_INODE_INDEX_ROOT,
				     CCFS_SUBDOMAIN_DATA, &k->index_enc);
	if (rc == 0)
		rc = ccfs_aes_subkey(l, k->root, CCFS_INODE_ALLOC_BITMAP,
				     CCFS_SUBDOMAIN_DATA, &k->bitmap_enc);
	return rc;
}

void ccfs_keys_wipe(struct ccfs_keys *keys)
{
	tb_aes_key_wipe(&keys->index_enc);
	tb_aes_key_wipe(&keys->bitmap_enc);
	tb_memzero(keys, sizeof(*keys));
}

/*
 * CocoonFs encryption entities, write side (upstream
 * encryption_entities.rs). All of them use AES-CBC with a random IV.
 *
 *   encrypted block (index nodes, bitmap blocks): IV || CBC(payload) ||
 *     random tail; the payload is (block - IV) rounded down to 16 bytes.
 *   encrypted extents (file data): IV || CBC(data || PKCS#7 padding ||
 *     zero blocks) over the whole extent.
 *   encrypted chained extents (extents lists): [inline tag] || IV ||
 *     padding to 16 || CBC(LE64 next extent pointer || list || PKCS#7 ||
 *     zero blocks). The inline tag is used for the lists of inodes 1 and 2.
 */
#include <string.h>

#include "mk_crypt.h"

size_t mk_block_payload_len(size_t block_len)
{
	return (block_len - CCFS_AES_BLOCK) & ~(size_t)(CCFS_AES_BLOCK - 1);
}

int mk_encrypt_block(const struct tb_aes_key *key, uint8_t *out,
		     size_t block_len, const uint8_t *payload)
{
	size_t b = mk_block_payload_len(block_len);
	uint8_t iv[CCFS_AES_BLOCK];
	int rc;

	rc = mk_random(out, CCFS_AES_BLOCK);
	if (rc == MK_OK && block_len > CCFS_AES_BLOCK + b)
		rc = mk_random(out + CCFS_AES_BLOCK + b,
			       block_len - CCFS_AES_BLOCK - b);
	if (rc != MK_OK)
		return rc;
	memcpy(iv, out, CCFS_AES_BLOCK);
	memcpy(out + CCFS_AES_BLOCK, payload, b);
	tb_aes_cbc_encrypt(key, iv, out + CCFS_AES_BLOCK, out + CCFS_AES_BLOCK, b);
	return MK_OK;
}

/* Bytes of plaintext after padding: data plus 1..16 PKCS#7 bytes. */
size_t mk_padded_len(size_t len)
{
	return (len + CCFS_AES_BLOCK) & ~(size_t)(CCFS_AES_BLOCK - 1);
}

/* Fills the plaintext area of len bytes: data, PKCS#7 padding, zeros. */
static void pad_plaintext(uint8_t *area, size_t area_len, const uint8_t *data,
			  size_t len)
{
	size_t padded = mk_padded_len(len);
	uint8_t pad = (uint8_t)(padded - len);

	if (len)
		memcpy(area, data, len);
	memset(area + len, pad, pad);
	memset(area + padded, 0, area_len - padded);
}

int mk_encrypt_extents(const struct tb_aes_key *key, uint8_t *out,
		       size_t out_len, const uint8_t *data, size_t len)
{
	uint8_t iv[CCFS_AES_BLOCK];
	size_t ct_len = out_len - CCFS_AES_BLOCK;
	int rc;

	if (out_len < CCFS_AES_BLOCK + mk_padded_len(len) ||
	    (ct_len % CCFS_AES_BLOCK) != 0)
		return mk_fail(MK_E_NOSPACE, "internal: extent of %zu bytes "
			       "cannot hold %zu data bytes", out_len, len);
	rc = mk_random(out, CCFS_AES_BLOCK);
	if (rc != MK_OK)
		return rc;
	memcpy(iv, out, CCFS_AES_BLOCK);
	pad_plaintext(out + CCFS_AES_BLOCK, ct_len, data, len);
	tb_aes_cbc_encrypt(key, iv, out + CCFS_AES_BLOCK, out + CCFS_AES_BLOCK,
			   ct_len);
	return MK_OK;
}

/* Extent bytes needed for a single-extent chained list of list_len
 * bytes with a tag of tag_len bytes. */
size_t mk_chained_len(size_t list_len, size_t tag_len)
{
	return ccfs_roundup(tag_len + CCFS_AES_BLOCK, 4) +
	       mk_padded_len(8 + list_len);
}

/*
 * Writes a single-extent encrypted chained-extents list of inode into
 * out (out_len bytes). With inline_auth the first tag_len bytes get
 * HMAC_preauth(key (inode, EXTENTS_LIST, PREAUTH), extent with the tag
 * zeroed || LE64 inode || 0x00 || 0x02 || LE64 10 || BE16 cipher ||
 * BE16 key bits || 0x00 (first extent) || 0x00 || 0x05), the layout the
 * reader checks in chain_check_tag().
 */
int mk_write_chained(const struct ccfs_layout *l, const uint8_t *root,
		     uint64_t inode, int inline_auth, uint8_t *out,
		     size_t out_len, const uint8_t *list, size_t list_len)
{
	size_t tag_len = inline_auth ? l->preauth_digest_len : 0;
	size_t ct_off = ccfs_roundup(tag_len + CCFS_AES_BLOCK, 4);
	size_t ct_len = out_len - ct_off;
	uint8_t iv[CCFS_AES_BLOCK];
	uint8_t mac_key[TB_HASH_MAX_DIGEST];
	uint8_t *plain;
	struct tb_aes_key key;
	int rc;

	if (out_len < mk_chained_len(list_len, tag_len) ||
	    (ct_len % CCFS_AES_BLOCK) != 0)
		return mk_fail(MK_E_NOSPACE, "internal: list extent of %zu "
			       "bytes cannot hold %zu list bytes", out_len,
			       list_len);
	plain = malloc(8 + list_len);
	if (plain == NULL)
		return mk_fail(MK_E_NO_MEMORY, "out of memory");
	tb_store_le64(plain, CCFS_NIL);
	memcpy(plain + 8, list, list_len);

	memset(out, 0, ct_off);
	rc = mk_random(out + tag_len, CCFS_AES_BLOCK);
	if (rc == MK_OK && ccfs_aes_subkey(l, root, inode,
					   CCFS_SUBDOMAIN_EXTENTS_LIST, &key) != 0)
		rc = mk_fail(MK_E_CRYPTO, "key derivation for the extents list "
			     "of inode %llu failed", (unsigned long long)inode);
	if (rc == MK_OK) {
		memcpy(iv, out + tag_len, CCFS_AES_BLOCK);
		pad_plaintext(out + ct_off, ct_len, plain, 8 + list_len);
		tb_aes_cbc_encrypt(&key, iv, out + ct_off, out + ct_off, ct_len);
		tb_aes_key_wipe(&key);
	}
	free(plain);
	if (rc != MK_OK || !inline_auth)
		return rc;

	if (ccfs_subkey(l, root, inode, CCFS_SUBDOMAIN_EXTENTS_LIST,
			CCFS_KEY_PREAUTH_CCA, mac_key,
			l->preauth_digest_len) == 0) {
		struct tb_hmac_ctx h;
		uint8_t tail[25];

		tb_hmac_init(&h, l->preauth_hmac, mac_key, l->preauth_digest_len);
		tb_hmac_update(&h, out, out_len); /* tag field still zero */
		tb_store_le64(tail, inode);
		tail[8] = 0;
		tail[9] = 2;
		tb_store_le64(tail + 10, 10);
		tb_store_be16(tail + 18, l->cipher_id);
		tb_store_be16(tail + 20, l->cipher_bits);
		tail[22] = 0;
		tail[23] = 0;
		tail[24] = CCFS_AUTH_CHAINED_EXTENTS;
		tb_hmac_update(&h, tail, sizeof(tail));
		tb_hmac_final(&h, out);
	} else {
		rc = mk_fail(MK_E_CRYPTO, "inline HMAC key derivation for inode "
			     "%llu failed", (unsigned long long)inode);
	}
	tb_memzero(mac_key, sizeof(mac_key));
	return rc;
}

/* Canonical extents list encoding (LEB128 pairs, two zero bytes);
 * returns the length. out must hold 20 * count + 2 bytes. */
size_t mk_extents_encode(const struct ccfs_extent *ext, size_t count,
			 uint8_t *out)
{
	uint64_t prev_end = 0;
	size_t n = 0, i;

	for (i = 0; i < count; i++)
		n += ccfs_extent_encode_one(&ext[i], &prev_end, out + n);
	out[n++] = 0;
	out[n++] = 0;
	return n;
}

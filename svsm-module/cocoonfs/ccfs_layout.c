/*
 * CocoonFs image layout: the 21 encoded bytes at offsets 9..29 of the
 * static header (upstream layout.rs, ImageLayout::new()).
 */
#include <string.h>

#include "cocoonfs/ccfs_internal.h"

uint64_t ccfs_roundup(uint64_t v, uint32_t log2)
{
	uint64_t mask = ((uint64_t)1 << log2) - 1;

	return (v + mask) & ~mask;
}

/* Length of an extent's integrity data: commit ID, mask, n save slots. */
size_t ccfs_integrity_len(const struct ccfs_layout *layout)
{
	return CCFS_CHECKSUM_LEN + 1 + CCFS_CHECKSUM_LEN * (size_t)layout->n;
}

static int decode_hash(uint16_t id, const char *role, enum tb_hash_alg *alg,
		       size_t *digest_len)
{
	if (tb_hash_from_tpm_alg(id, alg) != 0) {
		tb_err("cocoonfs: unsupported algorithm 0x%04x for the %s "
		       "(SHA-256, SHA-384 and SHA-512 are supported)", id, role);
		return TPMBOOT_E_COCOONFS_ALGORITHM;
	}
	*digest_len = tb_hash_digest_len(*alg);
	return 0;
}

static int check_log2(const char *name, uint32_t value, uint32_t max)
{
	if (value > max) {
		tb_err("cocoonfs: layout field %s = %u exceeds %u", name, value,
		       max);
		return TPMBOOT_E_COCOONFS_LAYOUT;
	}
	return 0;
}

static int decode_sizes(struct ccfs_layout *l, const uint8_t *e)
{
	int rc;

	if ((rc = check_log2("allocation_block_size_128b_log2", e[0],
			     CCFS_MAX_AB_LOG2 - 7)) != 0 ||
	    (rc = check_log2("io_block_allocation_blocks_log2", e[1], 6)) != 0 ||
	    (rc = check_log2("auth_tree_data_block_allocation_blocks_log2",
			     e[3], 6)) != 0 ||
	    (rc = check_log2("index_tree_leaf_node_allocation_blocks_log2",
			     e[5], 6)) != 0 ||
	    (rc = check_log2("index_tree_internal_node_allocation_blocks_log2",
			     e[6], 6)) != 0)
		return rc;

	l->ab_log2 = 7u + e[0];
	l->iob_ab_log2 = e[1];
	l->iob_log2 = l->ab_log2 + e[1];
	l->n = (uint32_t)e[0] + e[1];
	l->atdb_ab_log2 = e[3];
	l->leaf_log2 = l->ab_log2 + e[5];
	l->internal_log2 = l->ab_log2 + e[6];

	/* NOTE: the tree node, bitmap block, ATDB and index node limits are
	 * this reader's (CCFS_MAX_UNIT_LOG2), not the format's. */
	if (e[2] > CCFS_MAX_UNIT_LOG2 || e[4] > CCFS_MAX_UNIT_LOG2) {
		tb_err("cocoonfs: auth tree node (%u) or bitmap block (%u) "
		       "log2 field too large", e[2], e[4]);
		return TPMBOOT_E_COCOONFS_LIMIT;
	}
	l->node_log2 = l->iob_log2 + e[2];
	l->bitmap_block_log2 = l->ab_log2 + e[4];
	if (l->node_log2 > CCFS_MAX_UNIT_LOG2 ||
	    l->bitmap_block_log2 > CCFS_MAX_UNIT_LOG2 ||
	    l->ab_log2 + l->atdb_ab_log2 > CCFS_MAX_UNIT_LOG2 ||
	    l->leaf_log2 > CCFS_MAX_UNIT_LOG2 ||
	    l->internal_log2 > CCFS_MAX_UNIT_LOG2) {
		tb_err("cocoonfs: layout unit sizes exceed %u bytes (node 2^%u, "
		       "bitmap block 2^%u, data block 2^%u, index 2^%u/2^%u)",
		       1u << CCFS_MAX_UNIT_LOG2, l->node_log2,
		       l->bitmap_block_log2, l->ab_log2 + l->atdb_ab_log2,
		       l->leaf_log2, l->internal_log2);
		return TPMBOOT_E_COCOONFS_LIMIT;
	}
	return 0;
}

static int decode_algorithms(struct ccfs_layout *l, const uint8_t *e)
{
	int rc;

	l->node_hash_id = tb_load_be16(e + 7);
	l->data_hmac_id = tb_load_be16(e + 9);
	l->root_hmac_id = tb_load_be16(e + 11);
	l->preauth_hmac_id = tb_load_be16(e + 13);
	l->kdf_hash_id = tb_load_be16(e + 15);
	l->cipher_id = tb_load_be16(e + 17);
	l->cipher_bits = tb_load_be16(e + 19);

	if ((rc = decode_hash(l->node_hash_id, "auth tree node hash",
			      &l->node_hash, &l->node_digest_len)) != 0 ||
	    (rc = decode_hash(l->data_hmac_id, "auth tree data HMAC",
			      &l->data_hmac, &l->data_digest_len)) != 0 ||
	    (rc = decode_hash(l->root_hmac_id, "auth tree root HMAC",
			      &l->root_hmac, &l->root_digest_len)) != 0 ||
	    (rc = decode_hash(l->preauth_hmac_id, "pre-auth CCA HMAC",
			      &l->preauth_hmac, &l->preauth_digest_len)) != 0 ||
	    (rc = decode_hash(l->kdf_hash_id, "KDF hash", &l->kdf_hash,
			      &l->kdf_digest_len)) != 0)
		return rc;

	if (l->cipher_id != TB_TPM_ALG_AES ||
	    (l->cipher_bits != 128 && l->cipher_bits != 192 &&
	     l->cipher_bits != 256)) {
		tb_err("cocoonfs: unsupported algorithm 0x%04x with %u key bits "
		       "for the block cipher (AES-128/192/256 are supported)",
		       l->cipher_id, l->cipher_bits);
		return TPMBOOT_E_COCOONFS_ALGORITHM;
	}
	l->key_len = l->cipher_bits / 8u;
	return 0;
}

/*
 * Decodes and checks the encoded layout. The index node payload must hold
 * at least 5 leaf entries (minimum fill 3, so inodes 1..3 sit in the entry
 * leaf) and 2 internal separator keys.
 */
int ccfs_layout_decode(struct ccfs_layout *layout,
		       const uint8_t encoded[CCFS_LAYOUT_LEN])
{
	size_t leaf_payload, internal_payload;
	int rc;

	memset(layout, 0, sizeof(*layout));
	memcpy(layout->encoded, encoded, CCFS_LAYOUT_LEN);
	rc = decode_sizes(layout, encoded);
	if (rc == 0)
		rc = decode_algorithms(layout, encoded);
	if (rc != 0)
		return rc;

	leaf_payload = (((size_t)1 << layout->leaf_log2) - CCFS_AES_BLOCK) &
		       ~(size_t)(CCFS_AES_BLOCK - 1);
	internal_payload = (((size_t)1 << layout->internal_log2) -
			    CCFS_AES_BLOCK) & ~(size_t)(CCFS_AES_BLOCK - 1);
	if ((leaf_payload - 12) / 20 < 5 || (internal_payload - 12) / 16 < 2) {
		tb_err("cocoonfs: index nodes too small (leaf 2^%u, internal "
		       "2^%u bytes)", layout->leaf_log2, layout->internal_log2);
		return TPMBOOT_E_COCOONFS_LAYOUT;
	}
	return 0;
}

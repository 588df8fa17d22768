/*
 * Inode index B+-tree, write side (upstream inode_index.rs; the reader's
 * ccfs_inode_index.c parses the same node layout).
 *
 * The tree is bulk-loaded bottom up: the sorted entries are spread evenly
 * over the fewest leaves that hold them, and each internal level spreads
 * its children evenly over the fewest nodes, so every node except a lone
 * root is at least half full, as the B+-tree invariants require. The
 * leftmost leaf is the entry leaf; it holds inodes 1, 2 and 3.
 */
#include <stdlib.h>
#include <string.h>

#include "mk_index.h"

static size_t leaf_capacity(const struct ccfs_layout *l)
{
	return (mk_block_payload_len((size_t)1 << l->leaf_log2) - 12) / 20;
}

static size_t internal_capacity(const struct ccfs_layout *l)
{
	return (mk_block_payload_len((size_t)1 << l->internal_log2) - 12) / 16;
}

/* Items of node j when total items are spread over k nodes. */
static size_t share(size_t total, size_t k, size_t j)
{
	return total / k + (j < total % k ? 1 : 0);
}

static size_t share_begin(size_t total, size_t k, size_t j)
{
	size_t base = total / k, extra = total % k;

	return j * base + (j < extra ? j : extra);
}

int mk_index_plan(const struct ccfs_layout *l, size_t entries,
		  struct mk_index_plan *plan)
{
	size_t m_leaf = leaf_capacity(l), fan = internal_capacity(l) + 1;
	size_t k = (entries + m_leaf - 1) / m_leaf;

	memset(plan, 0, sizeof(*plan));
	plan->entries = entries;
	plan->nodes[0] = k ? k : 1;
	plan->levels = 1;
	while (plan->nodes[plan->levels - 1] > 1) {
		if (plan->levels == MK_INDEX_MAX_LEVELS)
			return mk_fail(MK_E_USAGE, "too many inodes for the "
				       "index node sizes");
		k = plan->nodes[plan->levels - 1];
		plan->nodes[plan->levels] = (k + fan - 1) / fan;
		plan->levels++;
	}
	plan->total_nodes = 0;
	for (k = 0; k < plan->levels; k++)
		plan->total_nodes += plan->nodes[k];
	return MK_OK;
}

static uint64_t block_ptr(uint64_t ab)
{
	return ab << 7;
}

/* Encodes leaf j of the plan. */
static void leaf_payload(const struct ccfs_layout *l,
			 const struct mk_index_plan *plan,
			 const struct mk_index_entry *e, const uint64_t *node_ab,
			 size_t j, uint8_t *p, size_t b)
{
	size_t m = leaf_capacity(l), i;
	size_t k = plan->nodes[0];
	size_t first = share_begin(plan->entries, k, j);
	size_t used = share(plan->entries, k, j);

	memset(p, 0, b);
	tb_store_le64(p, j + 1 < k ? block_ptr(node_ab[j + 1]) : CCFS_NIL);
	for (i = 0; i < m; i++) {
		int occupied = i < used;

		tb_store_le64(p + 8 + 8 * i, occupied ? e[first + i].ptr : CCFS_NIL);
		tb_store_le64(p + 8 + 8 * m + 8 * i,
			      occupied ? e[first + i].inode : 0);
		tb_store_le32(p + 8 + 16 * m + 4 * i,
			      occupied ? e[first + i].flags : 0);
	}
	tb_store_le32(p + 8 + 20 * m, 1);
}

/*
 * Encodes internal node j of level (1 = lowest internal level): child
 * block pointers, then separator keys, where key i is the smallest inode
 * below child i + 1.
 */
static void internal_payload(const struct ccfs_layout *l,
			     const struct mk_index_plan *plan,
			     const uint64_t *const *node_ab,
			     const uint64_t *const *min_key, size_t level,
			     size_t j, uint8_t *p, size_t b)
{
	size_t m = internal_capacity(l), i;
	size_t below = plan->nodes[level - 1];
	size_t first = share_begin(below, plan->nodes[level], j);
	size_t used = share(below, plan->nodes[level], j);

	memset(p, 0, b);
	for (i = 0; i <= m; i++)
		tb_store_le64(p + 8 * i, i < used
			      ? block_ptr(node_ab[level - 1][first + i]) : CCFS_NIL);
	for (i = 0; i < m; i++)
		tb_store_le64(p + 8 * (m + 1) + 8 * i, i + 1 < used
			      ? min_key[level - 1][first + i + 1] : 0);
	tb_store_le32(p + 8 + 16 * m, (uint32_t)(level + 1));
}

/*
 * Writes every node of the plan, encrypted with key (3, DATA, ENCRYPTION),
 * at node_ab[level][j], and the entry leaf's pre-auth HMAC (key (3, DATA,
 * PREAUTH) over the encrypted leaf || BE16 cipher || BE16 key bits ||
 * 0x00 || 0x06) to preauth.
 */
int mk_index_write(const struct ccfs_layout *l, const uint8_t *root,
		   const struct mk_index_plan *plan,
		   const struct mk_index_entry *entries, uint64_t *const *node_ab,
		   uint8_t *image, uint8_t *preauth)
{
	size_t leaf_len = (size_t)1 << l->leaf_log2;
	size_t int_len = (size_t)1 << l->internal_log2;
	size_t bmax = mk_block_payload_len(leaf_len > int_len ? leaf_len : int_len);
	uint64_t *min_key[MK_INDEX_MAX_LEVELS];
	uint8_t mac_key[TB_HASH_MAX_DIGEST];
	struct tb_aes_key key;
	uint8_t *payload = malloc(bmax);
	size_t level, j;
	int rc = MK_OK;

	memset(min_key, 0, sizeof(min_key));
	if (payload == NULL)
		return mk_fail(MK_E_NO_MEMORY, "out of memory");
	if (ccfs_aes_subkey(l, root, CCFS_INODE_INDEX_ROOT, CCFS_SUBDOMAIN_DATA,
			    &key) != 0) {
		free(payload);
		return mk_fail(MK_E_CRYPTO, "inode index key derivation failed");
	}

	for (level = 0; level < plan->levels && rc == MK_OK; level++) {
		size_t len = level == 0 ? leaf_len : int_len;
		size_t b = mk_block_payload_len(len);

		min_key[level] = calloc(plan->nodes[level], sizeof(uint64_t));
		if (min_key[level] == NULL) {
			rc = mk_fail(MK_E_NO_MEMORY, "out of memory");
			break;
		}
		for (j = 0; j < plan->nodes[level] && rc == MK_OK; j++) {
			if (level == 0) {
				size_t first = share_begin(plan->entries,
							   plan->nodes[0], j);

				min_key[0][j] = entries[first].inode;
				leaf_payload(l, plan, entries, node_ab[0], j,
					     payload, b);
			} else {
				size_t first = share_begin(plan->nodes[level - 1],
							   plan->nodes[level], j);

				min_key[level][j] = min_key[level - 1][first];
				internal_payload(l, plan,
						 (const uint64_t *const *)node_ab,
						 (const uint64_t *const *)min_key,
						 level, j, payload, b);
			}
			rc = mk_encrypt_block(&key, image + (node_ab[level][j]
							     << l->ab_log2),
					      len, payload);
		}
	}
	tb_aes_key_wipe(&key);

	if (rc == MK_OK && ccfs_subkey(l, root, CCFS_INODE_INDEX_ROOT,
				       CCFS_SUBDOMAIN_DATA, CCFS_KEY_PREAUTH_CCA,
				       mac_key, l->preauth_digest_len) == 0) {
		struct tb_hmac_ctx h;
		uint8_t tail[6];

		tb_hmac_init(&h, l->preauth_hmac, mac_key, l->preauth_digest_len);
		tb_hmac_update(&h, image + (node_ab[0][0] << l->ab_log2), leaf_len);
		tb_store_be16(tail, l->cipher_id);
		tb_store_be16(tail + 2, l->cipher_bits);
		tail[4] = 0;
		tail[5] = CCFS_AUTH_INODE_INDEX_NODE;
		tb_hmac_update(&h, tail, sizeof(tail));
		tb_hmac_final(&h, preauth);
	} else if (rc == MK_OK) {
		rc = mk_fail(MK_E_CRYPTO, "inode index pre-auth key derivation "
			     "failed");
	}
	tb_memzero(mac_key, sizeof(mac_key));
	for (level = 0; level < MK_INDEX_MAX_LEVELS; level++)
		free(min_key[level]);
	free(payload);
	return rc;
}

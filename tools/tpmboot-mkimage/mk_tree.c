/*
 * Authentication tree (inode 1), write side (upstream auth_tree.rs; the
 * reader's ccfs_auth_tree.c and ccfs_read_path.c check the same values).
 *
 * Leaf entry of data block i = HMAC_data(key (1, 0, AUTH_DATA), the ABs of
 * the block that are allocated and not header, journal head or aux
 * metadata || LE64 bitmap of those ABs || LE64 i || 0x00 || 0x04). A data
 * block wholly past the image end has an all-zero entry.
 * Internal entry of a child = Hash_node(child entries ||
 * LE64 last_entry_begin(child) || 0x00 || 0x03); a child starting past
 * the image end is all-zero and is not stored.
 * Nodes are stored back to back in DFS pre-order; the root HMAC binds the
 * root node to the mutable header.
 */
#include <stdlib.h>
#include <string.h>

#include "mk_tree.h"

struct tree_ctx {
	const struct mk_tree_input *in;
	const struct ccfs_layout *l;
	uint32_t c, d, a;
	uint64_t data_blocks;
	uint64_t tree_ab;
	size_t node_len;
	uint64_t next_pos;
	uint64_t max_nodes;
};

static uint32_t log2_ceil(uint64_t v)
{
	uint32_t r = 0;

	while (r < 64 && ((uint64_t)1 << r) < v)
		r++;
	return r;
}

static uint64_t last_entry_begin(const struct tree_ctx *t, uint32_t level,
				 uint64_t first)
{
	uint32_t shift = level * t->c + t->d - t->c;

	if (level == 0)
		return first | (((uint64_t)1 << t->d) - 1);
	if (shift >= 64)
		return first;
	return first | ((((uint64_t)1 << t->c) - 1) << shift);
}

/* Physical AB of the first AB of data block b. */
static uint64_t block_phys(const struct tree_ctx *t, uint64_t b)
{
	uint64_t x = b << t->a;

	return x < t->in->tree.begin ? x : x + t->tree_ab;
}

static void data_digest(struct tree_ctx *t, uint64_t b, uint8_t *out)
{
	const struct ccfs_layout *l = t->l;
	uint64_t ab = block_phys(t, b), j, word = 0;
	uint64_t count = (uint64_t)1 << t->a;
	size_t ab_len = (size_t)1 << l->ab_log2;
	struct tb_hmac_ctx h;
	uint8_t tail[18];

	tb_hmac_init(&h, l->data_hmac, t->in->data_key, l->data_digest_len);
	for (j = 0; j < count; j++) {
		if (t->in->included(t->in->ctx, ab + j)) {
			word |= (uint64_t)1 << j;
			tb_hmac_update(&h, t->in->image + ((ab + j) << l->ab_log2),
				       ab_len);
		}
	}
	tb_store_le64(tail, word);
	tb_store_le64(tail + 8, b);
	tail[16] = 0;
	tail[17] = CCFS_AUTH_TREE_DATA_BLOCK;
	tb_hmac_update(&h, tail, sizeof(tail));
	tb_hmac_final(&h, out);
}

/* Writes node bytes at DFS position pos of the tree extent. */
static void store_node(struct tree_ctx *t, uint64_t pos, const uint8_t *entries,
		       size_t len)
{
	uint8_t *dst = t->in->image + (t->in->tree.begin << t->l->ab_log2) +
		       pos * t->node_len;

	memset(dst, 0, t->node_len);
	memcpy(dst, entries, len);
}

/*
 * Builds the node at level covering blocks from first: stores it at the
 * next DFS position and writes its entries to entries_out (for the root)
 * and its digest for the parent to digest_out.
 */
static int build_node(struct tree_ctx *t, uint32_t level, uint64_t first,
		      uint8_t *digest_out, uint8_t *entries_out)
{
	const struct ccfs_layout *l = t->l;
	size_t dlen = level == 0 ? l->data_digest_len : l->node_digest_len;
	uint32_t fan_log2 = level == 0 ? t->d : t->c;
	size_t count = (size_t)1 << fan_log2, i;
	size_t len = count * dlen;
	uint64_t pos = t->next_pos++;
	uint8_t *entries = calloc(1, len);
	int rc = MK_OK;

	if (entries == NULL)
		return mk_fail(MK_E_NO_MEMORY, "out of memory");
	if (pos >= t->max_nodes) {
		free(entries);
		return mk_fail(MK_E_NOSPACE, "internal: the auth tree needs "
			       "more than %llu nodes",
			       (unsigned long long)t->max_nodes);
	}
	for (i = 0; i < count && rc == MK_OK; i++) {
		if (level == 0) {
			if (first + i < t->data_blocks)
				data_digest(t, first + i, entries + i * dlen);
		} else {
			uint32_t shift = t->d + (level - 1) * t->c;
			uint64_t child = shift >= 64 ? (i ? UINT64_MAX : first)
						     : first + ((uint64_t)i << shift);

			if (child < t->data_blocks && (i == 0 || child > first))
				rc = build_node(t, level - 1, child,
						entries + i * dlen, NULL);
		}
	}
	if (rc == MK_OK) {
		store_node(t, pos, entries, len);
		if (entries_out != NULL)
			memcpy(entries_out, entries, len);
		if (digest_out != NULL) {
			struct tb_hash_ctx h;
			uint8_t tail[10];

			tb_hash_init(&h, l->node_hash);
			tb_hash_update(&h, entries, len);
			tb_store_le64(tail, last_entry_begin(t, level, first));
			tail[8] = 0;
			tail[9] = CCFS_AUTH_TREE_DESCENDANT_NODE;
			tb_hash_update(&h, tail, sizeof(tail));
			tb_hash_final(&h, digest_out);
		}
	}
	free(entries);
	return rc;
}

static void hmac_extents(struct tb_hmac_ctx *h, const struct ccfs_extent *e)
{
	uint8_t buf[22];
	size_t n = mk_extents_encode(e, 1, buf);

	tb_hmac_update(h, buf, n);
}

/* Image context = HMAC_root("COCOONFS" || 0x01 || layout || entry leaf
 * block pointer || LE64 image size || tree extents list || bitmap extents
 * list || 0x00 || 0x01). */
static void image_context(const struct mk_tree_input *in, uint8_t *out)
{
	const struct ccfs_layout *l = in->layout;
	struct tb_hmac_ctx h;
	uint8_t buf[9];

	tb_hmac_init(&h, l->root_hmac, in->root_key, l->root_digest_len);
	memcpy(buf, "COCOONFS", 8);
	buf[8] = 1;
	tb_hmac_update(&h, buf, 9);
	tb_hmac_update(&h, l->encoded, CCFS_LAYOUT_LEN);
	tb_store_le64(buf, in->entry_leaf_ab << 7);
	tb_hmac_update(&h, buf, 8);
	tb_store_le64(buf, in->image_ab);
	tb_hmac_update(&h, buf, 8);
	hmac_extents(&h, &in->tree);
	hmac_extents(&h, &in->bitmap);
	buf[0] = 0;
	buf[1] = CCFS_AUTH_IMAGE_CONTEXT;
	tb_hmac_update(&h, buf, 2);
	tb_hmac_final(&h, out);
}

/* Levels of a tree of node_count nodes (upstream
 * auth_tree_node_count_to_auth_tree_levels(), as the reader computes it). */
static uint32_t tree_levels(const struct tree_ctx *t, uint64_t node_count)
{
	uint64_t leaves = node_count - ((node_count - 1) >> t->c);

	return (log2_ceil(leaves) + t->c - 1) / t->c + 1;
}

int mk_tree_build(const struct mk_tree_input *in, uint8_t *root_hmac)
{
	const struct ccfs_layout *l = in->layout;
	struct tree_ctx t;
	uint8_t context[TB_HASH_MAX_DIGEST];
	uint8_t *root_entries;
	uint32_t levels;
	size_t root_len;
	int rc;

	memset(&t, 0, sizeof(t));
	t.in = in;
	t.l = l;
	t.c = l->node_log2 - log2_ceil(l->node_digest_len);
	t.d = l->node_log2 - log2_ceil(l->data_digest_len);
	t.a = l->atdb_ab_log2;
	t.tree_ab = in->tree.len;
	t.node_len = (size_t)1 << l->node_log2;
	t.max_nodes = (in->tree.len << l->ab_log2) / t.node_len;
	t.data_blocks = (in->image_ab - t.tree_ab + ((uint64_t)1 << t.a) - 1) >>
			t.a;
	levels = tree_levels(&t, t.max_nodes);

	root_len = ((size_t)1 << (levels == 1 ? t.d : t.c)) *
		   (levels == 1 ? l->data_digest_len : l->node_digest_len);
	root_entries = calloc(1, root_len);
	if (root_entries == NULL)
		return mk_fail(MK_E_NO_MEMORY, "out of memory");
	rc = build_node(&t, levels - 1, 0, NULL, root_entries);
	if (rc == MK_OK) {
		struct tb_hmac_ctx h;
		uint8_t buf[8];

		image_context(in, context);
		tb_hmac_init(&h, l->root_hmac, in->root_key, l->root_digest_len);
		tb_hmac_update(&h, root_entries, root_len);
		tb_store_le64(buf, last_entry_begin(&t, levels - 1, 0));
		tb_hmac_update(&h, buf, 8);
		tb_hmac_update(&h, in->update_counter, CCFS_AES_BLOCK);
		tb_hmac_update(&h, context, l->root_digest_len);
		buf[0] = 0;
		buf[1] = CCFS_AUTH_TREE_ROOT_NODE;
		tb_hmac_update(&h, buf, 2);
		tb_hmac_final(&h, root_hmac);
	}
	free(root_entries);
	return rc;
}

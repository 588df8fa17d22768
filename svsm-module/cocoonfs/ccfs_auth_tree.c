/*
 * CocoonFs authentication tree (inode 1; upstream auth_tree.rs).
 *
 * Leaf nodes hold 2^d data-block HMACs, internal nodes 2^c node hashes
 * (entries per node = node size / next power of two of the digest length).
 * Nodes are stored back to back in DFS pre-order in the tree's extents.
 * Only nodes covering data past the image end are missing. They form a
 * suffix of that order, so a node's position equals its position in the
 * full tree.
 *
 * Verification is per read path: the root node is checked against the
 * root HMAC at open, and every other node is checked against its parent's
 * entry when it is loaded into a small LRU cache of authenticated nodes.
 * docs/cocoonfs.md explains the choice.
 */
#include <string.h>

#include "cocoonfs/ccfs_internal.h"

static uint32_t log2_ceil(uint64_t v)
{
	uint32_t r = 0;

	while (r < 64 && ((uint64_t)1 << r) < v)
		r++;
	return r;
}

/* log2 of the entries per node for a digest length and node size. */
static uint32_t entries_log2(uint32_t node_log2, size_t digest_len)
{
	return node_log2 - log2_ceil(digest_len);
}

static uint64_t shl64(uint64_t v, uint32_t shift)
{
	return shift >= 64 ? 0 : v << shift;
}

/* Index (domain) of the beginning of the data region of the node's last
 * entry, for the node at level (0 = leaf) covering blocks from first. */
static uint64_t last_entry_begin(const struct ccfs_tree *t, uint32_t level,
				 uint64_t first)
{
	if (level == 0)
		return first | (((uint64_t)1 << t->d) - 1);
	return first | shl64(((uint64_t)1 << t->c) - 1,
			     level * t->c + t->d - t->c);
}

/* Blocks covered by one node at level, saturated at 2^64 - 1. */
static uint64_t node_coverage(const struct ccfs_tree *t, uint32_t level)
{
	uint32_t shift = t->d + level * t->c;

	return shift >= 64 ? UINT64_MAX : (uint64_t)1 << shift;
}

static size_t entries_len(const struct tpmboot_fs *fs, uint32_t level)
{
	return level == 0 ? fs->tree.leaf_entries_len
			  : fs->tree.internal_entries_len;
}

/* Maps a physical AB outside the tree extents into the data block index
 * domain: subtract the tree ABs before it, then divide by the ATDB. */
int ccfs_data_block_index(const struct tpmboot_fs *fs, uint64_t phys_ab,
			  uint64_t *block)
{
	uint64_t before = 0;
	size_t i;

	for (i = 0; i < fs->tree_extents.count; i++) {
		const struct ccfs_extent *e = &fs->tree_extents.v[i];

		if (phys_ab >= e->begin + e->len) {
			before += e->len;
		} else if (phys_ab >= e->begin) {
			tb_err("cocoonfs: AB %llu lies inside the "
			       "authentication tree extents",
			       (unsigned long long)phys_ab);
			return TPMBOOT_E_COCOONFS_EXTENTS;
		}
	}
	*block = (phys_ab - before) >> fs->layout.atdb_ab_log2;
	return 0;
}

/* Reads bytes of the tree file (logical offset) straight from the device;
 * the caller authenticates them. */
static int tree_read_raw(struct tpmboot_fs *fs, uint64_t offset, uint8_t *out,
			 size_t len)
{
	uint32_t ab_log2 = fs->layout.ab_log2;
	size_t i;

	for (i = 0; i < fs->tree_extents.count && len > 0; i++) {
		const struct ccfs_extent *e = &fs->tree_extents.v[i];
		uint64_t ext_bytes = e->len << ab_log2;
		size_t n;
		int rc;

		if (offset >= ext_bytes) {
			offset -= ext_bytes;
			continue;
		}
		n = len;
		if (n > ext_bytes - offset)
			n = (size_t)(ext_bytes - offset);
		rc = ccfs_dev_read(&fs->dev, (e->begin << ab_log2) + offset,
				   out, n);
		if (rc != 0)
			return rc;
		out += n;
		len -= n;
		offset = 0;
	}
	if (len > 0) {
		tb_err("cocoonfs: auth tree node beyond the tree extents");
		return TPMBOOT_E_COCOONFS_AUTH_TREE;
	}
	return 0;
}

static int compute_geometry(struct tpmboot_fs *fs)
{
	struct ccfs_tree *t = &fs->tree;
	const struct ccfs_layout *l = &fs->layout;
	uint64_t n, leaves, data_ab, coverage;
	int64_t cap_bits;
	uint32_t cap, lvl;
	size_t i;

	t->c = entries_log2(l->node_log2, l->node_digest_len);
	t->d = entries_log2(l->node_log2, l->data_digest_len);
	t->a = l->atdb_ab_log2;
	t->tree_ab = 0;
	for (i = 0; i < fs->tree_extents.count; i++) {
		t->tree_ab += fs->tree_extents.v[i].len;
		if (t->tree_ab < fs->tree_extents.v[i].len)
			return TPMBOOT_E_COCOONFS_AUTH_TREE;
	}
	n = t->tree_ab >> (l->node_log2 - l->ab_log2);
	if (t->c == 0 || t->d == 0 || n == 0 || t->tree_ab >= fs->image_ab) {
		tb_err("cocoonfs: invalid auth tree: %llu AB, %llu nodes, c %u, "
		       "d %u", (unsigned long long)t->tree_ab,
		       (unsigned long long)n, t->c, t->d);
		return TPMBOOT_E_COCOONFS_AUTH_TREE;
	}

	/* Height from the node count (upstream
	 * auth_tree_node_count_to_auth_tree_levels), capped so that node
	 * counts and covered ranges fit in 64 bits. */
	leaves = n - ((n - 1) >> t->c);
	t->levels = (log2_ceil(leaves) + t->c - 1) / t->c + 1;
	cap_bits = 64 - (int64_t)t->d - t->a + t->c;
	if (cap_bits > 64)
		cap_bits = 64;
	cap = cap_bits <= 0 ? 1 : (uint32_t)((cap_bits + t->c - 1) / t->c);
	if (t->levels > cap)
		t->levels = cap;
	if (t->levels > CCFS_MAX_TREE_LEVELS) {
		tb_err("cocoonfs: auth tree with %u levels exceeds %u",
		       t->levels, CCFS_MAX_TREE_LEVELS);
		return TPMBOOT_E_COCOONFS_LIMIT;
	}
	t->node_count = n;

	data_ab = fs->image_ab - t->tree_ab;
	t->data_blocks = (data_ab + ((uint64_t)1 << t->a) - 1) >> t->a;
	coverage = node_coverage(t, t->levels - 1);
	if (coverage != UINT64_MAX && t->data_blocks > coverage) {
		tb_err("cocoonfs: auth tree of %u levels covers %llu data "
		       "blocks, image has %llu", t->levels,
		       (unsigned long long)coverage,
		       (unsigned long long)t->data_blocks);
		return TPMBOOT_E_COCOONFS_AUTH_TREE;
	}

	t->subtree_nodes[0] = 1;
	for (lvl = 1; lvl < t->levels; lvl++) {
		uint64_t below = t->subtree_nodes[lvl - 1];
		uint64_t fan = (uint64_t)1 << t->c;

		t->subtree_nodes[lvl] = below > (UINT64_MAX - 1) / fan
					? UINT64_MAX : 1 + fan * below;
	}
	t->leaf_entries_len = ((size_t)1 << t->d) * l->data_digest_len;
	t->internal_entries_len = ((size_t)1 << t->c) * l->node_digest_len;
	return 0;
}

/* Computes the geometry and allocates the root and the node cache. */
int ccfs_tree_init(struct tpmboot_fs *fs)
{
	struct ccfs_tree *t = &fs->tree;
	size_t max_len;
	uint32_t i;
	int rc;

	rc = compute_geometry(fs);
	if (rc != 0)
		return rc;
	max_len = t->leaf_entries_len > t->internal_entries_len
		  ? t->leaf_entries_len : t->internal_entries_len;
	t->root = tb_alloc(max_len);
	t->scratch = tb_alloc(max_len);
	if (t->root == NULL || t->scratch == NULL)
		return TPMBOOT_E_NO_MEMORY;

	/* Two slots per level below the root: one path plus its neighbour. */
	t->slot_count = t->levels > 1 ? 2 * (t->levels - 1) : 0;
	for (i = 0; i < t->slot_count; i++) {
		t->slots[i].entries = tb_alloc(max_len);
		if (t->slots[i].entries == NULL)
			return TPMBOOT_E_NO_MEMORY;
	}
	return 0;
}

void ccfs_tree_fini(struct ccfs_tree *t)
{
	uint32_t i;

	tb_free(t->root);
	tb_free(t->scratch);
	for (i = 0; i < t->slot_count; i++)
		tb_free(t->slots[i].entries);
	memset(t, 0, sizeof(*t));
}

/*
 * Image context = HMAC_root("COCOONFS" || 0x01 || layout || entry leaf
 * block pointer || LE64 image size || tree extents list || bitmap extents
 * list || 0x00 || 0x01), both lists in canonical encoding.
 */
static void hmac_extents(struct tb_hmac_ctx *h, const struct ccfs_extents *ext)
{
	static const uint8_t terminator[2];
	uint8_t buf[20];
	uint64_t prev_end = 0;
	size_t i;

	for (i = 0; i < ext->count; i++) {
		size_t n = ccfs_extent_encode_one(&ext->v[i], &prev_end, buf);

		tb_hmac_update(h, buf, n);
	}
	tb_hmac_update(h, terminator, sizeof(terminator));
}

static int image_context(struct tpmboot_fs *fs, uint8_t *out)
{
	const struct ccfs_layout *l = &fs->layout;
	struct tb_hmac_ctx h;
	uint8_t buf[9];

	if (tb_hmac_init(&h, l->root_hmac, fs->keys.tree_root,
			 l->root_digest_len) != 0)
		return TPMBOOT_E_INTERNAL;
	memcpy(buf, "COCOONFS", 8);
	buf[8] = 1;
	tb_hmac_update(&h, buf, 9);
	tb_hmac_update(&h, l->encoded, CCFS_LAYOUT_LEN);
	tb_hmac_update(&h, fs->entry_leaf_ptr_raw, 8);
	tb_store_le64(buf, fs->image_ab);
	tb_hmac_update(&h, buf, 8);
	hmac_extents(&h, &fs->tree_extents);
	hmac_extents(&h, &fs->bitmap_extents);
	buf[0] = 0;
	buf[1] = CCFS_AUTH_IMAGE_CONTEXT;
	tb_hmac_update(&h, buf, 2);
	tb_hmac_final(&h, out);
	return 0;
}

/*
 * Reads the root node and checks root HMAC = HMAC_root(root entries ||
 * LE64 last_entry_begin(root) || encrypted update counter || image context
 * || 0x00 || 0x02) against the mutable header. This is the trust anchor.
 */
int ccfs_tree_verify_root(struct tpmboot_fs *fs)
{
	const struct ccfs_layout *l = &fs->layout;
	struct ccfs_tree *t = &fs->tree;
	size_t len = entries_len(fs, t->levels - 1);
	uint8_t context[TB_HASH_MAX_DIGEST], digest[TB_HASH_MAX_DIGEST];
	uint8_t buf[8];
	struct tb_hmac_ctx h;
	int rc;

	rc = tree_read_raw(fs, 0, t->root, len);
	if (rc == 0)
		rc = image_context(fs, context);
	if (rc == 0 && tb_hmac_init(&h, l->root_hmac, fs->keys.tree_root,
				    l->root_digest_len) != 0)
		rc = TPMBOOT_E_INTERNAL;
	if (rc != 0)
		return rc;

	tb_hmac_update(&h, t->root, len);
	tb_store_le64(buf, last_entry_begin(t, t->levels - 1, 0));
	tb_hmac_update(&h, buf, 8);
	tb_hmac_update(&h, fs->update_counter, CCFS_AES_BLOCK);
	tb_hmac_update(&h, context, l->root_digest_len);
	buf[0] = 0;
	buf[1] = CCFS_AUTH_TREE_ROOT_NODE;
	tb_hmac_update(&h, buf, 2);
	tb_hmac_final(&h, digest);

	if (!tb_ct_memeq(digest, fs->root_hmac, l->root_digest_len)) {
		tb_err("cocoonfs: authentication tree root HMAC mismatch (wrong "
		       "key or modified tree root, image context or mutable "
		       "header)");
		return TPMBOOT_E_COCOONFS_AUTH;
	}
	return 0;
}

static struct ccfs_node_slot *find_slot(struct ccfs_tree *t, uint32_t level,
					uint64_t first)
{
	uint32_t i;

	for (i = 0; i < t->slot_count; i++) {
		if (t->slots[i].valid && t->slots[i].level == level &&
		    t->slots[i].first == first)
			return &t->slots[i];
	}
	return NULL;
}

static struct ccfs_node_slot *victim_slot(struct ccfs_tree *t)
{
	struct ccfs_node_slot *best = &t->slots[0];
	uint32_t i;

	for (i = 0; i < t->slot_count; i++) {
		if (!t->slots[i].valid)
			return &t->slots[i];
		if (t->slots[i].last_use < best->last_use)
			best = &t->slots[i];
	}
	return best;
}

/* Position of the node (level, first) in DFS pre-order of the full tree. */
static uint64_t dfs_index(const struct ccfs_tree *t, uint32_t level,
			  uint64_t first)
{
	uint64_t index = 0, mask = ((uint64_t)1 << t->c) - 1;
	uint32_t l;

	for (l = t->levels - 1; l > level; l--) {
		uint32_t shift = t->d + (l - 1) * t->c;
		uint64_t child = shift >= 64 ? 0 : (first >> shift) & mask;
		uint64_t below = t->subtree_nodes[l - 1];

		if (child != 0 && below > (UINT64_MAX - index - 1) / child)
			return UINT64_MAX;
		index += 1 + child * below;
	}
	return index;
}

/* First block covered by the node at level that covers block. */
static uint64_t node_first(const struct ccfs_tree *t, uint32_t level,
			   uint64_t block)
{
	uint64_t cover = node_coverage(t, level);

	return cover == UINT64_MAX ? 0 : block & ~(cover - 1);
}

/*
 * Loads the child (level, first) of the authenticated node parent_entries,
 * checks child digest = Hash_node(entries || LE64 last_entry_begin ||
 * 0x00 || 0x03) against the parent's entry and caches it.
 */
static int load_child(struct tpmboot_fs *fs, const uint8_t *parent_entries,
		      uint32_t level, uint64_t first, const uint8_t **entries)
{
	const struct ccfs_layout *l = &fs->layout;
	struct ccfs_tree *t = &fs->tree;
	uint8_t expected[TB_HASH_MAX_DIGEST], digest[TB_HASH_MAX_DIGEST];
	uint8_t tail[10];
	struct ccfs_node_slot *slot;
	struct tb_hash_ctx h;
	size_t len = entries_len(fs, level);
	uint64_t index, child;
	int rc;

	/* Copy the expected digest: filling a slot may evict the parent. */
	child = (first >> (t->d + level * t->c)) & (((uint64_t)1 << t->c) - 1);
	memcpy(expected, parent_entries + child * l->node_digest_len,
	       l->node_digest_len);

	index = dfs_index(t, level, first);
	if (index >= t->node_count) {
		tb_err("cocoonfs: auth tree node (level %u, block %llu) at DFS "
		       "index %llu is not stored (%llu nodes)", level,
		       (unsigned long long)first, (unsigned long long)index,
		       (unsigned long long)t->node_count);
		return TPMBOOT_E_COCOONFS_AUTH_TREE;
	}
	rc = tree_read_raw(fs, index << l->node_log2, t->scratch, len);
	if (rc == 0 && tb_hash_init(&h, l->node_hash) != 0)
		rc = TPMBOOT_E_INTERNAL;
	if (rc != 0)
		return rc;
	tb_hash_update(&h, t->scratch, len);
	tb_store_le64(tail, last_entry_begin(t, level, first));
	tail[8] = 0;
	tail[9] = CCFS_AUTH_TREE_DESCENDANT_NODE;
	tb_hash_update(&h, tail, sizeof(tail));
	tb_hash_final(&h, digest);
	if (!tb_ct_memeq(digest, expected, l->node_digest_len)) {
		tb_err("cocoonfs: auth tree node (level %u, first block %llu, "
		       "DFS index %llu): hash does not match its parent entry",
		       level, (unsigned long long)first,
		       (unsigned long long)index);
		return TPMBOOT_E_COCOONFS_AUTH;
	}

	slot = victim_slot(t);
	memcpy(slot->entries, t->scratch, len);
	slot->level = level;
	slot->first = first;
	slot->valid = 1;
	slot->last_use = ++t->use_clock;
	*entries = slot->entries;
	return 0;
}

/*
 * Returns the authenticated entries of the node at level that covers
 * block: starts at the lowest cached ancestor (or the root) and loads the
 * nodes below it one level at a time.
 */
static int get_node(struct tpmboot_fs *fs, uint32_t level, uint64_t block,
		    const uint8_t **entries)
{
	struct ccfs_tree *t = &fs->tree;
	struct ccfs_node_slot *slot = NULL;
	uint32_t at = level;
	int rc;

	while (at < t->levels - 1 &&
	       (slot = find_slot(t, at, node_first(t, at, block))) == NULL)
		at++;
	if (at == t->levels - 1) {
		*entries = t->root;
	} else {
		slot->last_use = ++t->use_clock;
		*entries = slot->entries;
	}
	while (at > level) {
		at--;
		rc = load_child(fs, *entries, at, node_first(t, at, block),
				entries);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* Returns the authenticated leaf entry (data HMAC) of a data block. */
int ccfs_tree_leaf_entry(struct tpmboot_fs *fs, uint64_t block,
			 const uint8_t **entry)
{
	struct ccfs_tree *t = &fs->tree;
	uint64_t mask = ((uint64_t)1 << t->d) - 1;
	const uint8_t *leaf;
	int rc;

	if (block >= t->data_blocks) {
		tb_err("cocoonfs: data block %llu beyond the image end (%llu "
		       "blocks)", (unsigned long long)block,
		       (unsigned long long)t->data_blocks);
		return TPMBOOT_E_COCOONFS_EXTENTS;
	}
	rc = get_node(fs, 0, block, &leaf);
	if (rc != 0)
		return rc;
	*entry = leaf + (block & mask) * fs->layout.data_digest_len;
	return 0;
}

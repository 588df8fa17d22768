/*
 * CocoonFs inode index, an encrypted B+-tree (upstream inode_index.rs).
 *
 * Nodes are encrypted blocks, IV || CBC(payload), key (3, DATA,
 * ENCRYPTION); B = (node size - IV) rounded down to the cipher block.
 * Leaf (M = (B - 12) / 20 entries):
 *   [0, 8) next leaf block pointer, [8, 8+8M) extent pointers,
 *   [8+8M, 8+16M) LE64 inodes, [8+16M, 8+20M) LE32 flags, then LE32 level 1.
 * Internal (M = (B - 12) / 16 separator keys, where the specification
 * has /12):
 *   [0, 8(M+1)) child block pointers, [8(M+1), 8+16M) LE64 keys, then
 *   LE32 level >= 2. Child i contains the inodes below key[i], and an
 *   equal key goes right.
 * The leftmost leaf (entry leaf) contains inodes 1..3. An HMAC in the
 * mutable header pre-authenticates it, so it can be read before the tree.
 */
#include <string.h>

#include "cocoonfs/ccfs_internal.h"

#define CCFS_MAX_INDEX_DEPTH 64u

struct index_node {
	const uint8_t *p; /* decrypted payload */
	size_t m;         /* capacity in entries (leaf) or keys (internal) */
	size_t used;      /* occupied entries or keys */
	uint32_t level;
};

static size_t payload_len(uint32_t node_log2)
{
	return (((size_t)1 << node_log2) - CCFS_AES_BLOCK) &
	       ~(size_t)(CCFS_AES_BLOCK - 1);
}

static void decrypt_node(struct tpmboot_fs *fs, uint8_t *raw, uint32_t node_log2)
{
	uint8_t iv[CCFS_AES_BLOCK];

	memcpy(iv, raw, CCFS_AES_BLOCK);
	tb_aes_cbc_decrypt(&fs->keys.index_enc, iv, raw + CCFS_AES_BLOCK,
			   raw + CCFS_AES_BLOCK, payload_len(node_log2));
}

static int invalid_node(uint64_t ab, const char *why)
{
	tb_err("cocoonfs: inode index node at AB %llu: %s",
	       (unsigned long long)ab, why);
	return TPMBOOT_E_COCOONFS_INDEX;
}

/* Checks a decrypted leaf: sorted non-zero inodes with pointers first,
 * then empty slots (inode 0, NIL pointer, flags 0). */
static int parse_leaf(const uint8_t *p, size_t b, uint64_t ab,
		      struct index_node *n)
{
	size_t m = (b - 12) / 20, i;
	uint64_t prev = 0;

	n->p = p;
	n->m = m;
	n->level = tb_load_le32(p + 8 + 20 * m);
	if (n->level != 1)
		return invalid_node(ab, "leaf level is not 1");
	for (i = 0; i < m; i++) {
		uint64_t ptr = tb_load_le64(p + 8 + 8 * i);
		uint64_t inode = tb_load_le64(p + 8 + 8 * m + 8 * i);
		uint32_t flags = tb_load_le32(p + 8 + 16 * m + 4 * i);

		if (inode == 0)
			break;
		if (inode <= prev || ptr == CCFS_NIL || (flags >> 8) != 0)
			return invalid_node(ab, "leaf entry unsorted, without "
					    "pointer or with reserved flags");
		prev = inode;
	}
	n->used = i;
	for (; i < m; i++) {
		if (tb_load_le64(p + 8 + 8 * m + 8 * i) != 0 ||
		    tb_load_le64(p + 8 + 8 * i) != CCFS_NIL ||
		    tb_load_le32(p + 8 + 16 * m + 4 * i) != 0)
			return invalid_node(ab, "leaf has a used slot after an "
					    "empty one");
	}
	return 0;
}

static int parse_internal(const uint8_t *p, size_t b, uint64_t ab,
			  struct index_node *n)
{
	size_t m = (b - 12) / 16, i;
	uint64_t prev = 0;

	n->p = p;
	n->m = m;
	n->level = tb_load_le32(p + 8 + 16 * m);
	if (n->level < 2 || n->level > CCFS_MAX_INDEX_DEPTH)
		return invalid_node(ab, "internal node level out of range");
	for (i = 0; i < m; i++) {
		uint64_t key = tb_load_le64(p + 8 * (m + 1) + 8 * i);

		if (key == 0)
			break;
		if (key <= prev || tb_load_le64(p + 8 * (i + 1)) == CCFS_NIL)
			return invalid_node(ab, "separator keys unsorted or "
					    "child missing");
		prev = key;
	}
	n->used = i;
	if (n->used == 0 || tb_load_le64(p) == CCFS_NIL)
		return invalid_node(ab, "internal node without two children");
	for (; i < m; i++) {
		if (tb_load_le64(p + 8 * (m + 1) + 8 * i) != 0 ||
		    tb_load_le64(p + 8 * (i + 1)) != CCFS_NIL)
			return invalid_node(ab, "internal node has a used slot "
					    "after an empty one");
	}
	return 0;
}

/* Checks a decrypted node payload of b bytes (for the fuzz targets). */
int ccfs_index_parse_node(const uint8_t *payload, size_t b, int leaf)
{
	struct index_node n;

	if (b < 12 + (leaf ? 20 : 16))
		return TPMBOOT_E_COCOONFS_INDEX;
	return leaf ? parse_leaf(payload, b, 0, &n)
		    : parse_internal(payload, b, 0, &n);
}

/* Reads the node at ab through the authentication tree, decrypts it and
 * parses it as a leaf or internal node. */
static int load_node(struct tpmboot_fs *fs, uint64_t ab, int leaf,
		     struct index_node *n)
{
	uint32_t node_log2 = leaf ? fs->layout.leaf_log2
				  : fs->layout.internal_log2;
	uint8_t *raw = fs->node_buf;
	int rc;

	rc = ccfs_auth_read(fs, ab << fs->layout.ab_log2, raw,
			    (size_t)1 << node_log2);
	if (rc != 0)
		return rc;
	decrypt_node(fs, raw, node_log2);
	if (leaf)
		return parse_leaf(raw + CCFS_AES_BLOCK, payload_len(node_log2),
				  ab, n);
	return parse_internal(raw + CCFS_AES_BLOCK, payload_len(node_log2), ab,
			      n);
}

static int leaf_find(const struct index_node *n, uint64_t inode, uint64_t *ptr,
		     uint32_t *flags)
{
	size_t i;

	for (i = 0; i < n->used; i++) {
		if (tb_load_le64(n->p + 8 + 8 * n->m + 8 * i) == inode) {
			*ptr = tb_load_le64(n->p + 8 + 8 * i);
			*flags = tb_load_le32(n->p + 8 + 16 * n->m + 4 * i);
			return 0;
		}
	}
	return TPMBOOT_E_COCOONFS_NO_INODE;
}

/*
 * Pre-authenticates the raw entry leaf (HMAC_preauth(key (3, DATA,
 * PREAUTH), encrypted node || BE16 cipher || BE16 key bits || 0x00 ||
 * 0x06)), decrypts it and reads the extents of inodes 1 and 2 and the
 * root pointer (inode 3). raw_leaf is decrypted in place.
 */
int ccfs_index_bootstrap(struct tpmboot_fs *fs, uint8_t *raw_leaf)
{
	const struct ccfs_layout *l = &fs->layout;
	uint8_t digest[TB_HASH_MAX_DIGEST], tail[6];
	uint64_t ptr[3];
	uint32_t flags;
	struct index_node n;
	struct tb_hmac_ctx h;
	uint64_t i;
	int rc;

	if (tb_hmac_init(&h, l->preauth_hmac, fs->keys.index_preauth,
			 l->preauth_digest_len) != 0)
		return TPMBOOT_E_INTERNAL;
	tb_hmac_update(&h, raw_leaf, (size_t)1 << l->leaf_log2);
	tb_store_be16(tail, l->cipher_id);
	tb_store_be16(tail + 2, l->cipher_bits);
	tail[4] = 0;
	tail[5] = CCFS_AUTH_INODE_INDEX_NODE;
	tb_hmac_update(&h, tail, sizeof(tail));
	tb_hmac_final(&h, digest);
	if (!tb_ct_memeq(digest, fs->entry_leaf_preauth, l->preauth_digest_len)) {
		tb_err("cocoonfs: inode index entry leaf (AB %llu): pre-auth "
		       "HMAC mismatch (wrong key or modified entry leaf or "
		       "mutable header)", (unsigned long long)fs->entry_leaf_ab);
		return TPMBOOT_E_COCOONFS_AUTH;
	}

	decrypt_node(fs, raw_leaf, l->leaf_log2);
	rc = parse_leaf(raw_leaf + CCFS_AES_BLOCK, payload_len(l->leaf_log2),
			fs->entry_leaf_ab, &n);
	for (i = 0; rc == 0 && i < 3; i++) {
		rc = leaf_find(&n, i + 1, &ptr[i], &flags);
		if (rc != 0)
			tb_err("cocoonfs: entry leaf lacks special inode %llu",
			       (unsigned long long)(i + 1));
	}
	if (rc != 0)
		return rc == TPMBOOT_E_COCOONFS_NO_INODE ? TPMBOOT_E_COCOONFS_INDEX
							 : rc;
	fs->index_root_ptr = ptr[2];
	if (ptr[2] & 1u) {
		tb_err("cocoonfs: index root pointer 0x%llx is indirect",
		       (unsigned long long)ptr[2]);
		return TPMBOOT_E_COCOONFS_INDEX;
	}
	rc = ccfs_inode_extents(fs, CCFS_INODE_AUTH_TREE, ptr[0],
				&fs->tree_extents);
	if (rc == 0)
		rc = ccfs_inode_extents(fs, CCFS_INODE_ALLOC_BITMAP, ptr[1],
					&fs->bitmap_extents);
	return rc;
}

/* Re-reads the entry leaf through the authentication tree and checks that
 * it equals the pre-authenticated copy (the root HMAC binds its place). */
int ccfs_index_recheck_entry_leaf(struct tpmboot_fs *fs, const uint8_t *raw_leaf)
{
	size_t len = (size_t)1 << fs->layout.leaf_log2;
	int rc;

	rc = ccfs_auth_read(fs, fs->entry_leaf_ab << fs->layout.ab_log2,
			    fs->node_buf, len);
	if (rc == 0 && memcmp(fs->node_buf, raw_leaf, len) != 0) {
		tb_err("cocoonfs: entry leaf read through the tree differs from "
		       "the pre-authenticated copy");
		rc = TPMBOOT_E_COCOONFS_AUTH;
	}
	return rc;
}

/* Finds the root node; it is a leaf exactly when it is the entry leaf. */
static int root_node(struct tpmboot_fs *fs, uint64_t *ab, int *leaf)
{
	struct ccfs_extent e;
	int indirect, rc;

	rc = ccfs_extent_ptr_decode(fs->index_root_ptr, &e, &indirect);
	if (rc != 0)
		return rc;
	*leaf = e.begin == fs->entry_leaf_ab;
	if (e.len == 0 || indirect ||
	    e.len << fs->layout.ab_log2 !=
	    (uint64_t)1 << (*leaf ? fs->layout.leaf_log2
				  : fs->layout.internal_log2)) {
		tb_err("cocoonfs: index root pointer 0x%llx does not match the "
		       "node size", (unsigned long long)fs->index_root_ptr);
		return TPMBOOT_E_COCOONFS_INDEX;
	}
	*ab = e.begin;
	return 0;
}

/* Looks up an inode from the root; returns TPMBOOT_E_COCOONFS_NO_INODE
 * when it does not exist. */
int ccfs_index_lookup(struct tpmboot_fs *fs, uint64_t inode, uint64_t *ptr,
		      uint32_t *flags)
{
	struct index_node n;
	uint32_t depth, expected = 0;
	uint64_t ab;
	int leaf, rc;

	rc = root_node(fs, &ab, &leaf);
	for (depth = 0; rc == 0 && depth < CCFS_MAX_INDEX_DEPTH; depth++) {
		size_t child = 0;

		rc = load_node(fs, ab, leaf, &n);
		if (rc == 0 && expected != 0 && n.level != expected)
			rc = invalid_node(ab, "unexpected node level");
		if (rc != 0)
			return rc;
		if (leaf)
			return leaf_find(&n, inode, ptr, flags);

		while (child < n.used &&
		       tb_load_le64(n.p + 8 * (n.m + 1) + 8 * child) <= inode)
			child++;
		rc = ccfs_block_ptr_decode(tb_load_le64(n.p + 8 * child), &ab);
		if (rc == 0 && (ab == CCFS_NIL || ab >= fs->image_ab))
			rc = invalid_node(ab, "child pointer outside the image");
		expected = n.level - 1;
		leaf = expected == 1;
	}
	return rc != 0 ? rc : invalid_node(ab, "index deeper than supported");
}

/*
 * Visits every inode along the leaf chain from the entry leaf. Each leaf is
 * copied first, so visit may call other reader functions.
 */
int ccfs_index_walk(struct tpmboot_fs *fs, tb_cocoonfs_visit_fn visit,
		    void *ctx)
{
	size_t len = payload_len(fs->layout.leaf_log2), i;
	uint64_t ab = fs->entry_leaf_ab, prev = 0, hops;
	struct index_node n;
	uint8_t *copy;
	int rc = 0;

	copy = tb_alloc(len);
	if (copy == NULL)
		return TPMBOOT_E_NO_MEMORY;
	for (hops = 0; rc == 0 && ab != CCFS_NIL; hops++) {
		if (hops == fs->image_ab || ab >= fs->image_ab) {
			rc = invalid_node(ab, "leaf chain loops or leaves the "
					  "image");
			break;
		}
		rc = load_node(fs, ab, 1, &n);
		if (rc != 0)
			break;
		memcpy(copy, n.p, len);
		n.p = copy;
		rc = ccfs_block_ptr_decode(tb_load_le64(n.p), &ab);
		for (i = 0; rc == 0 && i < n.used; i++) {
			uint64_t inode = tb_load_le64(n.p + 8 + 8 * n.m + 8 * i);
			uint32_t flags = tb_load_le32(n.p + 8 + 16 * n.m + 4 * i);

			if (inode <= prev) {
				rc = invalid_node(ab, "leaf chain not sorted");
				break;
			}
			prev = inode;
			rc = visit(ctx, inode, flags);
		}
	}
	tb_free_secret(copy, len);
	return rc;
}

/*
 * mkfs: formats a whole CocoonFs image in memory in one pass, with its
 * initial files and aux metadata entries.
 *
 * Placement (AB indices): the static and mutable headers, the journal log
 * head at the first journal block boundary, the auth tree and then the
 * allocation bitmap file right after it, the inode index entry leaf in
 * the gap before the journal head when it fits (else after the bitmap),
 * and the extents lists of the tree and bitmap if they need more than one
 * extent pointer's 64 ABs. This is what upstream's MkFsLayout::new()
 * (mkfs.rs) chooses. After that, in order: the aux metadata update groups,
 * the other inode index nodes, and each file's data followed by its
 * extents list. Upstream writes files and aux metadata in later
 * transactions whose allocator places them elsewhere; readers find
 * everything through pointers, so the placement is not part of the format.
 */
#include <stdlib.h>
#include <string.h>

#include "mk_index.h"
#include "mk_tree.h"

struct mkfs {
	const struct mk_params *p;
	struct mk_geometry g;
	uint8_t *image;
	uint64_t image_ab;
	uint64_t *bitmap;
	uint64_t next_ab;
	struct ccfs_extent tree, bitmap_ext, tree_list, bitmap_list;
	uint64_t entry_leaf_ab;
	struct mk_aux aux;
	struct mk_aux_chain chain;
	int has_aux, has_group1;
	struct mk_index_plan plan;
	uint64_t *node_ab[MK_INDEX_MAX_LEVELS];
	uint8_t root[TB_HASH_MAX_DIGEST];
};

/* Files sorted by inode, with where their data and list went. */
struct placed_file {
	const struct mk_file *f;
	struct ccfs_extent data;
	struct ccfs_extent list;   /* len 0: direct pointer */
};

static void mark(struct mkfs *m, uint64_t begin, uint64_t len)
{
	uint64_t ab;

	for (ab = begin; ab < begin + len; ab++)
		m->bitmap[ab >> 6] |= (uint64_t)1 << (ab & 63);
}

/* Allocates len ABs aligned to 2^align_log2 ABs from the bump pointer. */
static int alloc_ab(struct mkfs *m, uint64_t len, uint32_t align_log2,
		    const char *what, struct ccfs_extent *out)
{
	uint64_t begin = ccfs_roundup(m->next_ab, align_log2);

	if (begin > m->image_ab || len > m->image_ab - begin)
		return mk_fail(MK_E_NOSPACE, "image of %llu bytes is too small: "
			       "no room for %s (%llu ABs at AB %llu); give a "
			       "larger --size", (unsigned long long)
			       (m->image_ab << m->g.layout.ab_log2), what,
			       (unsigned long long)len,
			       (unsigned long long)begin);
	out->begin = begin;
	out->len = len;
	m->next_ab = begin + len;
	mark(m, begin, len);
	return MK_OK;
}

/*
 * Sizes the image as upstream's MkFsLayout::new() does: the tree takes
 * the smallest node count spanning the image, ABs the tree cannot cover
 * are cut off, and the size is aligned down to the IO block.
 */
static int size_image(struct mkfs *m)
{
	const struct ccfs_layout *l = &m->g.layout;
	uint64_t image_ab = m->p->image_size >> l->ab_log2;
	uint64_t remainder, nodes, tree_ab, aligned_tree_ab, journal_end;
	uint64_t words, per_block, blocks, bitmap_ab;

	journal_end = m->g.journal_ab + m->g.journal_len_ab;
	if (image_ab <= journal_end)
		goto too_small;
	nodes = mk_tree_node_count(l, image_ab, &remainder);
	tree_ab = nodes << (l->node_log2 - l->ab_log2);
	aligned_tree_ab = ccfs_roundup(tree_ab, m->g.align_log2);
	if (remainder > aligned_tree_ab - tree_ab)
		image_ab -= remainder - (aligned_tree_ab - tree_ab);
	image_ab &= ~(((uint64_t)1 << l->iob_ab_log2) - 1);
	if (nodes == 0 || image_ab < aligned_tree_ab ||
	    image_ab - aligned_tree_ab < journal_end)
		goto too_small;
	m->image_ab = image_ab;
	m->tree.begin = journal_end;
	m->tree.len = aligned_tree_ab;

	words = (image_ab + 63) / 64;
	per_block = mk_block_payload_len((size_t)1 << l->bitmap_block_log2) / 8;
	blocks = (words + per_block - 1) / per_block;
	bitmap_ab = ccfs_roundup(blocks << (l->bitmap_block_log2 - l->ab_log2),
				 l->atdb_ab_log2);
	m->bitmap_ext.begin = m->tree.begin + m->tree.len;
	m->bitmap_ext.len = bitmap_ab;
	if (m->bitmap_ext.begin + bitmap_ab > image_ab)
		goto too_small;
	return MK_OK;
too_small:
	return mk_fail(MK_E_NOSPACE, "image size of %llu bytes is too small "
		       "for the headers, auth tree and bitmap with this layout",
		       (unsigned long long)m->p->image_size);
}

/* Places the fixed structures and marks them allocated. */
static int place_fixed(struct mkfs *m)
{
	const struct ccfs_layout *l = &m->g.layout;
	uint64_t leaf_ab = (uint64_t)1 << (l->leaf_log2 - l->ab_log2);
	size_t list_bytes;
	int rc = MK_OK;

	mark(m, 0, m->g.header_end_ab);
	mark(m, m->g.journal_ab, m->g.journal_len_ab);
	mark(m, m->tree.begin, m->tree.len);
	mark(m, m->bitmap_ext.begin, m->bitmap_ext.len);
	m->next_ab = m->bitmap_ext.begin + m->bitmap_ext.len;

	if (m->g.journal_ab - m->g.header_end_ab >= leaf_ab) {
		m->entry_leaf_ab = m->g.header_end_ab;
		mark(m, m->entry_leaf_ab, leaf_ab);
	} else {
		struct ccfs_extent e;

		rc = alloc_ab(m, leaf_ab, 0, "the inode index entry leaf", &e);
		m->entry_leaf_ab = e.begin;
	}

	/* One list entry: at most 20 bytes plus the terminator. */
	list_bytes = mk_chained_len(22, l->preauth_digest_len);
	if (rc == MK_OK && m->tree.len > 64)
		rc = alloc_ab(m, ccfs_roundup(list_bytes, l->ab_log2) >> l->ab_log2,
			      0, "the auth tree extents list", &m->tree_list);
	if (rc == MK_OK && m->bitmap_ext.len > 64)
		rc = alloc_ab(m, ccfs_roundup(list_bytes, l->ab_log2) >> l->ab_log2,
			      0, "the bitmap extents list", &m->bitmap_list);
	return rc;
}

static int place_aux(struct mkfs *m, const struct mk_aux_entry *aux,
		     size_t count)
{
	uint64_t first;
	int rc;

	rc = mk_aux_build(&m->aux, aux, count, m->p->aux_reserve);
	if (rc != MK_OK || mk_aux_is_trivial(&m->aux))
		return rc;
	m->has_aux = 1;
	/* Without a reserve there are no offline updates, so no group 1. */
	m->has_group1 = m->p->aux_reserve != MK_RESERVE_DISABLED;
	first = ccfs_roundup(m->next_ab, m->g.align_log2);
	rc = mk_aux_chain_plan(&m->g, mk_aux_storage_len(&m->aux), &first,
			       &m->chain, m->has_group1);
	if (rc == MK_OK && first > m->image_ab)
		rc = mk_fail(MK_E_NOSPACE, "image too small for the aux "
			     "metadata (%llu bytes per update group); give a "
			     "larger --size or a smaller reserve",
			     (unsigned long long)mk_aux_storage_len(&m->aux));
	if (rc == MK_OK) {
		size_t i;

		for (i = 0; i < m->chain.count; i++)
			mark(m, m->chain.ext[i].begin, m->chain.ext[i].len);
		m->next_ab = first;
	}
	return rc;
}

static int place_index(struct mkfs *m, size_t entries)
{
	const struct ccfs_layout *l = &m->g.layout;
	size_t level, j;
	int rc = mk_index_plan(l, entries, &m->plan);

	for (level = 0; rc == MK_OK && level < m->plan.levels; level++) {
		uint32_t log2 = (level == 0 ? l->leaf_log2 : l->internal_log2) -
				l->ab_log2;

		m->node_ab[level] = calloc(m->plan.nodes[level], sizeof(uint64_t));
		if (m->node_ab[level] == NULL)
			return mk_fail(MK_E_NO_MEMORY, "out of memory");
		for (j = 0; rc == MK_OK && j < m->plan.nodes[level]; j++) {
			struct ccfs_extent e;

			if (level == 0 && j == 0) {
				m->node_ab[0][0] = m->entry_leaf_ab;
				continue;
			}
			rc = alloc_ab(m, (uint64_t)1 << log2, log2,
				      "an inode index node", &e);
			m->node_ab[level][j] = e.begin;
		}
	}
	return rc;
}

static int place_files(struct mkfs *m, struct placed_file *pf, size_t count)
{
	uint32_t ab_log2 = m->g.layout.ab_log2;
	size_t i;
	int rc = MK_OK;

	for (i = 0; rc == MK_OK && i < count; i++) {
		uint64_t bytes = CCFS_AES_BLOCK + mk_padded_len(pf[i].f->len);

		rc = alloc_ab(m, ccfs_roundup(bytes, ab_log2) >> ab_log2, 0,
			      "file data", &pf[i].data);
		pf[i].list.len = 0;
		if (rc == MK_OK && pf[i].data.len > 64)
			rc = alloc_ab(m, ccfs_roundup(mk_chained_len(22, 0),
						      ab_log2) >> ab_log2,
				      0, "a file's extents list", &pf[i].list);
	}
	return rc;
}

static int cmp_file(const void *a, const void *b)
{
	const struct placed_file *x = a, *y = b;

	return x->f->inode < y->f->inode ? -1 : x->f->inode > y->f->inode;
}

static int check_files(struct placed_file *pf, size_t count)
{
	size_t i;

	qsort(pf, count, sizeof(*pf), cmp_file);
	for (i = 0; i < count; i++) {
		if (pf[i].f->inode < 16)
			return mk_fail(MK_E_USAGE, "inode %llu is reserved: user "
				       "inodes are 16 or higher",
				       (unsigned long long)pf[i].f->inode);
		if (i > 0 && pf[i].f->inode == pf[i - 1].f->inode)
			return mk_fail(MK_E_USAGE, "inode %llu is given twice",
				       (unsigned long long)pf[i].f->inode);
		if (pf[i].f->flags > 255)
			return mk_fail(MK_E_USAGE, "flags %u of inode %llu exceed "
				       "255", pf[i].f->flags,
				       (unsigned long long)pf[i].f->inode);
	}
	return MK_OK;
}

static uint64_t extent_ptr(const struct ccfs_extent *e, int indirect)
{
	return e->begin << 7 | (e->len - 1) << 1 | (indirect ? 1u : 0u);
}

/* Writes an extents list of one extent for inode at list. */
static int write_list(struct mkfs *m, uint64_t inode, int inline_auth,
		      const struct ccfs_extent *list,
		      const struct ccfs_extent *target)
{
	uint8_t enc[22];
	size_t n = mk_extents_encode(target, 1, enc);
	uint32_t ab_log2 = m->g.layout.ab_log2;

	return mk_write_chained(&m->g.layout, m->root, inode, inline_auth,
				m->image + (list->begin << ab_log2),
				(size_t)list->len << ab_log2, enc, n);
}

static int write_files(struct mkfs *m, struct placed_file *pf, size_t count)
{
	uint32_t ab_log2 = m->g.layout.ab_log2;
	size_t i;
	int rc = MK_OK;

	for (i = 0; rc == MK_OK && i < count; i++) {
		struct tb_aes_key key;

		if (ccfs_aes_subkey(&m->g.layout, m->root, pf[i].f->inode,
				    CCFS_SUBDOMAIN_DATA, &key) != 0)
			return mk_fail(MK_E_CRYPTO, "key derivation for inode "
				       "%llu failed",
				       (unsigned long long)pf[i].f->inode);
		rc = mk_encrypt_extents(&key, m->image +
					(pf[i].data.begin << ab_log2),
					(size_t)pf[i].data.len << ab_log2,
					pf[i].f->data, pf[i].f->len);
		tb_aes_key_wipe(&key);
		if (rc == MK_OK && pf[i].list.len)
			rc = write_list(m, pf[i].f->inode, 0, &pf[i].list,
					&pf[i].data);
	}
	return rc;
}

static int write_index(struct mkfs *m, struct placed_file *pf, size_t count,
		       uint8_t *preauth)
{
	const struct ccfs_layout *l = &m->g.layout;
	struct mk_index_entry *e = calloc(count + 3, sizeof(*e));
	struct ccfs_extent root;
	size_t i;
	int rc;

	if (e == NULL)
		return mk_fail(MK_E_NO_MEMORY, "out of memory");
	root.begin = m->node_ab[m->plan.levels - 1][0];
	root.len = (uint64_t)1 << ((m->plan.levels == 1 ? l->leaf_log2
				    : l->internal_log2) - l->ab_log2);
	e[0].inode = CCFS_INODE_AUTH_TREE;
	e[0].ptr = m->tree_list.len ? extent_ptr(&m->tree_list, 1)
				    : extent_ptr(&m->tree, 0);
	e[1].inode = CCFS_INODE_ALLOC_BITMAP;
	e[1].ptr = m->bitmap_list.len ? extent_ptr(&m->bitmap_list, 1)
				      : extent_ptr(&m->bitmap_ext, 0);
	e[2].inode = CCFS_INODE_INDEX_ROOT;
	e[2].ptr = extent_ptr(&root, 0);
	for (i = 0; i < count; i++) {
		e[3 + i].inode = pf[i].f->inode;
		e[3 + i].flags = pf[i].f->flags;
		e[3 + i].ptr = pf[i].list.len ? extent_ptr(&pf[i].list, 1)
					      : extent_ptr(&pf[i].data, 0);
	}
	rc = mk_index_write(l, m->root, &m->plan, e,
			    (uint64_t *const *)m->node_ab, m->image, preauth);
	free(e);
	return rc;
}

/* Encrypts the allocation bitmap into its file blocks, key (2, DATA,
 * ENCRYPTION); the ATDB alignment tail of the extent gets random bytes. */
static int write_bitmap(struct mkfs *m)
{
	const struct ccfs_layout *l = &m->g.layout;
	size_t block_len = (size_t)1 << l->bitmap_block_log2;
	size_t b = mk_block_payload_len(block_len), per_block = b / 8;
	uint64_t words = (m->image_ab + 63) / 64, w = 0;
	uint8_t *dst = m->image + (m->bitmap_ext.begin << l->ab_log2);
	uint8_t *end = dst + (m->bitmap_ext.len << l->ab_log2);
	uint8_t *payload = calloc(1, b);
	struct tb_aes_key key;
	int rc = MK_OK;

	if (payload == NULL)
		return mk_fail(MK_E_NO_MEMORY, "out of memory");
	if (ccfs_aes_subkey(l, m->root, CCFS_INODE_ALLOC_BITMAP,
			    CCFS_SUBDOMAIN_DATA, &key) != 0) {
		free(payload);
		return mk_fail(MK_E_CRYPTO, "bitmap key derivation failed");
	}
	while (rc == MK_OK && w < words) {
		size_t i;

		memset(payload, 0, b);
		for (i = 0; i < per_block && w < words; i++, w++)
			tb_store_le64(payload + 8 * i, m->bitmap[w]);
		rc = mk_encrypt_block(&key, dst, block_len, payload);
		dst += block_len;
	}
	tb_aes_key_wipe(&key);
	free(payload);
	if (rc == MK_OK && dst < end)
		rc = mk_random(dst, (size_t)(end - dst));
	return rc;
}

static int included(void *ctx, uint64_t ab)
{
	const struct mkfs *m = ctx;
	size_t i;

	if (ab >= m->image_ab || ab < m->g.header_end_ab ||
	    !(m->bitmap[ab >> 6] & ((uint64_t)1 << (ab & 63))))
		return 0;
	if (ab >= m->g.journal_ab && ab < m->g.journal_ab + m->g.journal_len_ab)
		return 0;
	for (i = 0; m->has_aux && i < m->chain.count; i++)
		if (ab >= m->chain.ext[i].begin &&
		    ab < m->chain.ext[i].begin + m->chain.ext[i].len)
			return 0;
	return 1;
}

/* Writes the tree, the mutable header and the static header. */
static int write_headers(struct mkfs *m, const uint8_t *preauth)
{
	const struct ccfs_layout *l = &m->g.layout;
	uint8_t data_key[TB_HASH_MAX_DIGEST], root_key[TB_HASH_MAX_DIGEST];
	uint8_t counter[CCFS_AES_BLOCK] = { 0 }, iv[CCFS_AES_BLOCK] = { 0 };
	uint8_t root_hmac[TB_HASH_MAX_DIGEST];
	struct mk_tree_input in;
	struct tb_aes_key key;
	uint8_t *mh = m->image + m->g.static_len;
	int rc = MK_OK;

	/* The filesystem update counter starts at 0; the root HMAC covers
	 * its encryption under key (6, DATA, ENCRYPTION) with a zero IV. */
	if (ccfs_aes_subkey(l, m->root, 6, CCFS_SUBDOMAIN_DATA, &key) != 0 ||
	    ccfs_subkey(l, m->root, CCFS_INODE_AUTH_TREE, 0, CCFS_KEY_AUTH_DATA,
			data_key, l->data_digest_len) != 0 ||
	    ccfs_subkey(l, m->root, CCFS_INODE_AUTH_TREE, 0, CCFS_KEY_AUTH_ROOT,
			root_key, l->root_digest_len) != 0)
		return mk_fail(MK_E_CRYPTO, "auth tree key derivation failed");
	tb_aes_cbc_encrypt(&key, iv, counter, counter, sizeof(counter));
	tb_aes_key_wipe(&key);

	memset(m->image + (m->tree.begin << l->ab_log2), 0,
	       (size_t)m->tree.len << l->ab_log2);
	memset(&in, 0, sizeof(in));
	in.layout = l;
	in.image = m->image;
	in.image_ab = m->image_ab;
	in.tree = m->tree;
	in.bitmap = m->bitmap_ext;
	in.entry_leaf_ab = m->entry_leaf_ab;
	in.update_counter = counter;
	in.data_key = data_key;
	in.root_key = root_key;
	in.included = included;
	in.ctx = m;
	rc = mk_tree_build(&in, root_hmac);
	tb_memzero(data_key, sizeof(data_key));
	tb_memzero(root_key, sizeof(root_key));
	if (rc != MK_OK)
		return rc;

	memset(mh, 0, (size_t)((m->g.header_end_ab << l->ab_log2) -
			       m->g.static_len));
	tb_store_le64(mh, m->has_aux ? extent_ptr(&m->chain.ext[0], 0) : CCFS_NIL);
	tb_store_le64(mh + 8, m->has_group1
			      ? extent_ptr(&m->chain.ext[m->chain.group1_begin], 0)
			      : CCFS_NIL);
	mh += 16;
	memcpy(mh, root_hmac, l->root_digest_len);
	mh += l->root_digest_len;
	memcpy(mh, counter, CCFS_AES_BLOCK);
	mh += CCFS_AES_BLOCK;
	memcpy(mh, preauth, l->preauth_digest_len);
	mh += l->preauth_digest_len;
	tb_store_le64(mh, m->entry_leaf_ab << 7);
	tb_store_le64(mh + 8, m->image_ab);
	return mk_static_header(&m->g, m->image);
}

static int derive_root(struct mkfs *m, const uint8_t *key, size_t key_len)
{
	struct tb_cocoonfs_meta *meta = calloc(1, sizeof(*meta));
	int rc = MK_OK;

	if (meta == NULL)
		return mk_fail(MK_E_NO_MEMORY, "out of memory");
	meta->layout = m->g.layout;
	memcpy(meta->salt, m->g.salt, m->g.salt_len);
	meta->salt_len = (uint32_t)m->g.salt_len;
	if (ccfs_root_key(meta, key, key_len, m->root,
			  m->g.layout.kdf_digest_len) != 0)
		rc = mk_fail(MK_E_CRYPTO, "root key derivation failed");
	free(meta);
	return rc;
}

static int build(struct mkfs *m, const uint8_t *key, size_t key_len,
		 struct placed_file *pf, size_t file_count,
		 const struct mk_aux_entry *aux, size_t aux_count)
{
	const struct ccfs_layout *l = &m->g.layout;
	uint8_t preauth[TB_HASH_MAX_DIGEST];
	size_t image_len;
	int rc;

	if ((rc = check_files(pf, file_count)) != MK_OK ||
	    (rc = size_image(m)) != MK_OK)
		return rc;
	image_len = (size_t)(m->image_ab << l->ab_log2);
	m->image = malloc(image_len);
	m->bitmap = calloc((size_t)((m->image_ab + 63) / 64), sizeof(uint64_t));
	if (m->image == NULL || m->bitmap == NULL)
		return mk_fail(MK_E_NO_MEMORY, "out of memory for an image of "
			       "%zu bytes", image_len);
	if (m->p->randomize)
		rc = mk_random(m->image, image_len);
	else
		memset(m->image, 0, image_len);

	if (rc == MK_OK)
		rc = place_fixed(m);
	if (rc == MK_OK)
		rc = place_aux(m, aux, aux_count);
	if (rc == MK_OK)
		rc = place_index(m, file_count + 3);
	if (rc == MK_OK)
		rc = place_files(m, pf, file_count);
	if (rc == MK_OK)
		rc = derive_root(m, key, key_len);
	if (rc == MK_OK)
		rc = write_files(m, pf, file_count);
	if (rc == MK_OK && m->tree_list.len)
		rc = write_list(m, CCFS_INODE_AUTH_TREE, 1, &m->tree_list, &m->tree);
	if (rc == MK_OK && m->bitmap_list.len)
		rc = write_list(m, CCFS_INODE_ALLOC_BITMAP, 1, &m->bitmap_list,
				&m->bitmap_ext);
	if (rc == MK_OK)
		rc = write_index(m, pf, file_count, preauth);
	if (rc == MK_OK)
		rc = write_bitmap(m);
	if (rc == MK_OK && m->has_aux) {
		mk_aux_group_write(&m->g, m->image, &m->chain, 0, 1, &m->aux);
		if (m->has_group1)
			mk_aux_group_write(&m->g, m->image, &m->chain, 1, 0, NULL);
	}
	if (rc == MK_OK)
		memset(m->image + (m->g.journal_ab << l->ab_log2), 0,
		       (size_t)m->g.journal_len_ab << l->ab_log2);
	if (rc == MK_OK)
		rc = write_headers(m, preauth);
	return rc;
}

int mk_mkfs(const struct mk_params *p, const uint8_t *key, size_t key_len,
	    const struct mk_file *files, size_t file_count,
	    const struct mk_aux_entry *aux, size_t aux_count,
	    uint8_t **image_out, size_t *image_len)
{
	uint8_t layout[CCFS_LAYOUT_LEN];
	struct placed_file *pf;
	struct mkfs m;
	size_t i;
	int rc;

	memset(&m, 0, sizeof(m));
	m.p = p;
	if (key_len == 0)
		return mk_fail(MK_E_USAGE, "the filesystem key is empty");
	if ((rc = mk_platform_attach()) != MK_OK ||
	    (rc = mk_layout_encode(p, layout)) != MK_OK ||
	    (rc = mk_geometry_init(&m.g, layout, p->salt, p->salt_len)) != MK_OK)
		return rc;
	pf = calloc(file_count + 1, sizeof(*pf));
	if (pf == NULL)
		return mk_fail(MK_E_NO_MEMORY, "out of memory");
	for (i = 0; i < file_count; i++)
		pf[i].f = &files[i];

	rc = build(&m, key, key_len, pf, file_count, aux, aux_count);
	if (rc == MK_OK) {
		*image_out = m.image;
		*image_len = (size_t)(m.image_ab << m.g.layout.ab_log2);
		m.image = NULL;
	}
	free(m.image);
	free(m.bitmap);
	free(pf);
	mk_aux_free(&m.aux);
	for (i = 0; i < MK_INDEX_MAX_LEVELS; i++)
		free(m.node_ab[i]);
	tb_memzero(m.root, sizeof(m.root));
	return rc;
}

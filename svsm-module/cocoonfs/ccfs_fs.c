/*
 * CocoonFs reader handles: probe without the key, open with the key, read
 * files, list inodes and close (public API in tb_cocoonfs.h).
 *
 * Opening follows the format's bootstrap order (specification, "Opening
 * the filesystem"):
 *   1. derive the keys,
 *   2. pre-authenticate and decrypt the inode index entry leaf,
 *   3. read the auth tree and allocation bitmap extents lists (inline HMACs),
 *   4. check the tree root against the root HMAC,
 *   5. load the bitmap through the tree,
 *   6. re-authenticate the entry leaf through the tree.
 * An active journal or a mkfsinfo-only volume is rejected.
 */
#include <string.h>

#include "cocoonfs/ccfs_internal.h"

void tb_cocoonfs_meta_free(struct tb_cocoonfs_meta *meta)
{
	if (meta == NULL)
		return;
	ccfs_dev_fini(&meta->dev);
	ccfs_extents_free(&meta->aux_extents);
	tb_free(meta->aux_payload);
	tb_free(meta->aux);
	tb_memzero(meta, sizeof(*meta));
	tb_free(meta);
}

int tb_cocoonfs_probe(struct tb_cocoonfs_meta **meta_out)
{
	struct tb_cocoonfs_meta *meta;
	uint8_t pair[16];
	int rc;

	if (meta_out == NULL)
		return TPMBOOT_E_INVALID_ARGUMENT;
	*meta_out = NULL;
	meta = tb_calloc(1, sizeof(*meta));
	if (meta == NULL)
		return TPMBOOT_E_NO_MEMORY;

	rc = ccfs_dev_init(&meta->dev);
	if (rc == 0)
		rc = ccfs_static_header_read(meta);
	if (rc == 0 && meta->state == TB_COCOONFS_FORMATTED) {
		rc = ccfs_mutable_header_aux_pair(meta, pair);
		if (rc == 0)
			rc = ccfs_journal_check(meta, pair);
		if (rc == 0)
			rc = ccfs_aux_read(meta, pair);
	}
	if (rc != 0) {
		tb_cocoonfs_meta_free(meta);
		return rc;
	}
	*meta_out = meta;
	return 0;
}

enum tb_cocoonfs_state tb_cocoonfs_meta_state(const struct tb_cocoonfs_meta *meta)
{
	return meta->state;
}

size_t tb_cocoonfs_aux_count(const struct tb_cocoonfs_meta *meta)
{
	return meta == NULL ? 0 : meta->aux_count;
}

int tb_cocoonfs_aux_get(const struct tb_cocoonfs_meta *meta, size_t index,
			struct tb_cocoonfs_aux_entry *entry)
{
	const struct ccfs_aux_record *r;

	if (meta == NULL || entry == NULL)
		return TPMBOOT_E_INVALID_ARGUMENT;
	if (index >= meta->aux_count) {
		tb_err("cocoonfs: aux entry index %u out of range (%u entries)",
		       (unsigned)index, (unsigned)meta->aux_count);
		return TPMBOOT_E_COCOONFS_NO_AUX_ENTRY;
	}
	r = &meta->aux[index];
	memcpy(entry->uuid, r->uuid, TB_COCOONFS_UUID_LEN);
	entry->data = meta->aux_payload + r->offset;
	entry->len = r->len;
	return 0;
}

int tb_cocoonfs_aux_find(const struct tb_cocoonfs_meta *meta,
			 const uint8_t uuid[TB_COCOONFS_UUID_LEN], size_t nth,
			 struct tb_cocoonfs_aux_entry *entry)
{
	size_t i, seen = 0;

	if (meta == NULL || uuid == NULL || entry == NULL)
		return TPMBOOT_E_INVALID_ARGUMENT;
	for (i = 0; i < meta->aux_count; i++) {
		if (memcmp(meta->aux[i].uuid, uuid, TB_COCOONFS_UUID_LEN) != 0)
			continue;
		if (seen++ == nth)
			return tb_cocoonfs_aux_get(meta, i, entry);
	}
	/* Debug level: callers also look up absent entries on purpose, for
	 * example to check that a UUID occurs only once. */
	tb_debug("cocoonfs: no aux entry %u with UUID %02x%02x%02x%02x-...",
		 (unsigned)nth, uuid[0], uuid[1], uuid[2], uuid[3]);
	return TPMBOOT_E_COCOONFS_NO_AUX_ENTRY;
}

void tb_cocoonfs_close(struct tpmboot_fs *fs)
{
	size_t node_len;

	if (fs == NULL)
		return;
	node_len = (size_t)1 << (fs->layout.leaf_log2 > fs->layout.internal_log2
				 ? fs->layout.leaf_log2
				 : fs->layout.internal_log2);
	ccfs_keys_wipe(&fs->keys);
	tb_aes_key_wipe(&fs->file_key);
	ccfs_tree_fini(&fs->tree);
	ccfs_dev_fini(&fs->dev);
	ccfs_extents_free(&fs->aux_extents);
	ccfs_extents_free(&fs->tree_extents);
	ccfs_extents_free(&fs->bitmap_extents);
	tb_free(fs->bitmap);
	if (fs->work != NULL)
		tb_free_secret(fs->work, fs->work_len);
	if (fs->block_cache != NULL)
		tb_free_secret(fs->block_cache,
			       (size_t)1 << (fs->layout.ab_log2 +
					     fs->layout.atdb_ab_log2));
	if (fs->node_buf != NULL)
		tb_free_secret(fs->node_buf, node_len);
	tb_free(fs->entry_leaf_raw);
	tb_memzero(fs, sizeof(*fs));
	tb_free(fs);
}

static int alloc_buffers(struct tpmboot_fs *fs)
{
	const struct ccfs_layout *l = &fs->layout;
	size_t atdb = (size_t)1 << (l->ab_log2 + l->atdb_ab_log2);
	size_t node = (size_t)1 << (l->leaf_log2 > l->internal_log2
				    ? l->leaf_log2 : l->internal_log2);

	fs->work_len = atdb > CCFS_WORK_BYTES ? atdb : CCFS_WORK_BYTES;
	fs->work = tb_alloc(fs->work_len);
	fs->block_cache = tb_alloc(atdb);
	fs->node_buf = tb_alloc(node);
	fs->entry_leaf_raw = tb_alloc((size_t)1 << l->leaf_log2);
	if (fs->work == NULL || fs->block_cache == NULL ||
	    fs->node_buf == NULL || fs->entry_leaf_raw == NULL)
		return TPMBOOT_E_NO_MEMORY;
	return 0;
}

/* The tree's extents must be aligned to the larger of IOB and ATDB. */
static int check_tree_extents(const struct tpmboot_fs *fs)
{
	const struct ccfs_layout *l = &fs->layout;
	uint32_t align = l->iob_ab_log2 > l->atdb_ab_log2 ? l->iob_ab_log2
							  : l->atdb_ab_log2;
	uint64_t mask = ((uint64_t)1 << align) - 1;
	size_t i;

	for (i = 0; i < fs->tree_extents.count; i++) {
		const struct ccfs_extent *e = &fs->tree_extents.v[i];

		if ((e->begin & mask) != 0 || (e->len & mask) != 0 ||
		    e->begin < fs->journal_ab + fs->journal_len_ab) {
			tb_err("cocoonfs: auth tree extent [%llu, +%llu) is "
			       "misaligned or overlaps the headers",
			       (unsigned long long)e->begin,
			       (unsigned long long)e->len);
			return TPMBOOT_E_COCOONFS_AUTH_TREE;
		}
	}
	return 0;
}

static int open_steps(struct tpmboot_fs *fs, const struct tb_cocoonfs_meta *meta,
		      const uint8_t *key, size_t key_len)
{
	size_t leaf_len = (size_t)1 << fs->layout.leaf_log2;
	int rc;

	rc = ccfs_dev_init(&fs->dev);
	if (rc == 0)
		rc = ccfs_mutable_header_read(fs, meta);
	if (rc == 0)
		rc = alloc_buffers(fs);
	if (rc == 0)
		rc = ccfs_keys_derive(fs, meta, key, key_len);
	if (rc == 0 && fs->entry_leaf_ab + (leaf_len >> fs->layout.ab_log2) >
	    fs->image_ab) {
		tb_err("cocoonfs: entry leaf at AB %llu (%u bytes) ends past the "
		       "image end at AB %llu",
		       (unsigned long long)fs->entry_leaf_ab, (unsigned)leaf_len,
		       (unsigned long long)fs->image_ab);
		rc = TPMBOOT_E_COCOONFS_MUTABLE_HEADER;
	}
	if (rc == 0)
		rc = ccfs_dev_read(&fs->dev,
				   fs->entry_leaf_ab << fs->layout.ab_log2,
				   fs->entry_leaf_raw, leaf_len);
	if (rc == 0) {
		memcpy(fs->node_buf, fs->entry_leaf_raw, leaf_len);
		rc = ccfs_index_bootstrap(fs, fs->node_buf);
	}
	if (rc == 0)
		rc = check_tree_extents(fs);
	if (rc == 0)
		rc = ccfs_tree_init(fs);
	if (rc == 0)
		rc = ccfs_tree_verify_root(fs);
	if (rc == 0)
		rc = ccfs_bitmap_load(fs);
	if (rc == 0)
		rc = ccfs_index_recheck_entry_leaf(fs, fs->entry_leaf_raw);
	return rc;
}

int tb_cocoonfs_open(const struct tb_cocoonfs_meta *meta, const uint8_t *key,
		     size_t key_len, struct tpmboot_fs **fs_out)
{
	struct tpmboot_fs *fs;
	int rc;

	if (meta == NULL || fs_out == NULL || (key == NULL && key_len != 0))
		return TPMBOOT_E_INVALID_ARGUMENT;
	*fs_out = NULL;
	if (meta->state == TB_COCOONFS_UNFORMATTED) {
		tb_err("cocoonfs: cannot open: the volume holds only a "
		       "filesystem creation info header");
		return TPMBOOT_E_COCOONFS_UNFORMATTED;
	}
	if (meta->state == TB_COCOONFS_JOURNAL_ACTIVE) {
		tb_err("cocoonfs: cannot open: journal at AB %llu is active and "
		       "this reader does not replay it",
		       (unsigned long long)meta->journal_ab);
		return TPMBOOT_E_COCOONFS_JOURNAL_ACTIVE;
	}

	fs = tb_calloc(1, sizeof(*fs));
	if (fs == NULL)
		return TPMBOOT_E_NO_MEMORY;
	fs->meta_borrowed = meta;
	fs->layout = meta->layout;
	fs->header_end_ab = meta->header_end_ab;
	fs->journal_ab = meta->journal_ab;
	fs->journal_len_ab = meta->journal_len_ab;
	fs->block_cache_ab = CCFS_NIL;
	rc = ccfs_extents_copy(&fs->aux_extents, &meta->aux_extents);
	if (rc == 0)
		rc = open_steps(fs, meta, key, key_len);
	if (rc != 0) {
		tb_cocoonfs_close(fs);
		return rc;
	}
	*fs_out = fs;
	return 0;
}

/* Reads len authenticated bytes at logical offset of a file's extents. */
static int read_logical(struct tpmboot_fs *fs, const struct ccfs_extents *ext,
			uint64_t offset, uint8_t *out, size_t len)
{
	uint32_t ab_log2 = fs->layout.ab_log2;
	size_t i;
	int rc;

	for (i = 0; i < ext->count && len > 0; i++) {
		uint64_t bytes = ext->v[i].len << ab_log2;
		size_t n;

		if (offset >= bytes) {
			offset -= bytes;
			continue;
		}
		n = len;
		if (n > bytes - offset)
			n = (size_t)(bytes - offset);
		rc = ccfs_auth_read(fs, (ext->v[i].begin << ab_log2) + offset,
				    out, n);
		if (rc != 0)
			return rc;
		out += n;
		len -= n;
		offset = 0;
	}
	return len == 0 ? 0 : TPMBOOT_E_COCOONFS_EXTENTS;
}

/*
 * Finds the file size from the end of its ciphertext: the plaintext is
 * data || PKCS#7 padding || zero blocks, so decrypt blocks backwards until
 * one is non-zero and strip its padding.
 */
static int file_size(struct tpmboot_fs *fs, uint64_t inode,
		     const struct ccfs_extents *ext, size_t *size)
{
	uint8_t buf[2 * CCFS_AES_BLOCK], plain[CCFS_AES_BLOCK];
	uint64_t total = 0, k;
	size_t i, data_len;
	int rc;

	for (i = 0; i < ext->count; i++)
		total += ext->v[i].len << fs->layout.ab_log2;
	if (total < 2 * CCFS_AES_BLOCK)
		return TPMBOOT_E_COCOONFS_PADDING;

	for (k = (total - CCFS_AES_BLOCK) / CCFS_AES_BLOCK; k-- > 0;) {
		rc = read_logical(fs, ext, k * CCFS_AES_BLOCK, buf, sizeof(buf));
		if (rc != 0)
			return rc;
		tb_aes_cbc_decrypt(&fs->file_key, buf, buf + CCFS_AES_BLOCK,
				   plain, CCFS_AES_BLOCK);
		if (ccfs_cbc_unpad(plain, CCFS_AES_BLOCK, &data_len) == 0) {
			*size = (size_t)(k * CCFS_AES_BLOCK) + data_len;
			tb_memzero(plain, sizeof(plain));
			return 0;
		}
		for (i = 0; i < CCFS_AES_BLOCK && plain[i] == 0; i++)
			;
		if (i < CCFS_AES_BLOCK)
			break;
	}
	tb_memzero(plain, sizeof(plain));
	tb_err("cocoonfs: inode %llu: invalid CBC padding at the end of the "
	       "file", (unsigned long long)inode);
	return TPMBOOT_E_COCOONFS_PADDING;
}

/* Looks up the inode, resolves its extents and derives its data key. */
static int file_prepare(struct tpmboot_fs *fs, uint64_t inode,
			struct ccfs_extents *ext, size_t *size)
{
	uint64_t ptr;
	uint32_t flags;
	int rc;

	if (inode <= CCFS_INODE_INDEX_ROOT) {
		tb_err("cocoonfs: inode %llu is a special inode, not a file",
		       (unsigned long long)inode);
		return TPMBOOT_E_INVALID_ARGUMENT;
	}
	rc = ccfs_index_lookup(fs, inode, &ptr, &flags);
	if (rc == TPMBOOT_E_COCOONFS_NO_INODE)
		tb_err("cocoonfs: inode 0x%llx not found",
		       (unsigned long long)inode);
	if (rc == 0)
		rc = ccfs_inode_extents(fs, inode, ptr, ext);
	if (rc == 0)
		rc = ccfs_aes_subkey(&fs->layout, fs->keys.root, inode,
				     CCFS_SUBDOMAIN_DATA, &fs->file_key);
	if (rc == 0)
		rc = file_size(fs, inode, ext, size);
	return rc;
}

int tb_cocoonfs_file_size(struct tpmboot_fs *fs, uint64_t inode, size_t *size)
{
	struct ccfs_extents ext = { NULL, 0 };
	int rc;

	if (fs == NULL || size == NULL)
		return TPMBOOT_E_INVALID_ARGUMENT;
	rc = file_prepare(fs, inode, &ext, size);
	tb_aes_key_wipe(&fs->file_key);
	ccfs_extents_free(&ext);
	return rc;
}

/* Decrypts the file's ciphertext stream (one CBC chain across extents,
 * IV in the first 16 bytes) into the caller's buffer, up to size. */
struct file_sink {
	struct tpmboot_fs *fs;
	uint8_t *out;
	size_t size;
	size_t plain_pos;
	uint8_t iv[CCFS_AES_BLOCK];
	size_t iv_fill;
	uint8_t carry[CCFS_AES_BLOCK];
	size_t carry_fill;
};

static void decrypt_blocks(struct file_sink *s, const uint8_t *in, size_t blocks)
{
	uint8_t tmp[CCFS_AES_BLOCK];
	size_t direct = 0;

	if (s->plain_pos < s->size)
		direct = (s->size - s->plain_pos) / CCFS_AES_BLOCK;
	if (direct > blocks)
		direct = blocks;
	if (direct > 0) {
		tb_aes_cbc_decrypt(&s->fs->file_key, s->iv, in,
				   s->out + s->plain_pos,
				   direct * CCFS_AES_BLOCK);
		s->plain_pos += direct * CCFS_AES_BLOCK;
		in += direct * CCFS_AES_BLOCK;
		blocks -= direct;
	}
	/* The block holding the end of the data and any padding after it. */
	for (; blocks > 0; blocks--, in += CCFS_AES_BLOCK) {
		tb_aes_cbc_decrypt(&s->fs->file_key, s->iv, in, tmp,
				   CCFS_AES_BLOCK);
		if (s->plain_pos < s->size)
			memcpy(s->out + s->plain_pos, tmp,
			       s->size - s->plain_pos);
		s->plain_pos += CCFS_AES_BLOCK;
	}
	tb_memzero(tmp, sizeof(tmp));
}

static int file_sink_fn(void *ctx, const uint8_t *data, size_t len)
{
	struct file_sink *s = ctx;
	size_t n;

	while (s->iv_fill < CCFS_AES_BLOCK && len > 0) {
		s->iv[s->iv_fill++] = *data++;
		len--;
	}
	if (s->carry_fill > 0) {
		n = CCFS_AES_BLOCK - s->carry_fill;
		if (n > len)
			n = len;
		memcpy(s->carry + s->carry_fill, data, n);
		s->carry_fill += n;
		data += n;
		len -= n;
		if (s->carry_fill < CCFS_AES_BLOCK)
			return 0;
		decrypt_blocks(s, s->carry, 1);
		s->carry_fill = 0;
	}
	n = len / CCFS_AES_BLOCK;
	if (n > 0)
		decrypt_blocks(s, data, n);
	memcpy(s->carry, data + n * CCFS_AES_BLOCK, len - n * CCFS_AES_BLOCK);
	s->carry_fill = len - n * CCFS_AES_BLOCK;
	return 0;
}

int tb_cocoonfs_read_file(struct tpmboot_fs *fs, uint64_t inode, uint8_t *buf,
			  size_t cap, size_t *len)
{
	struct ccfs_extents ext = { NULL, 0 };
	struct file_sink s;
	size_t size = 0, i;
	int rc;

	if (fs == NULL || len == NULL || (buf == NULL && cap != 0))
		return TPMBOOT_E_INVALID_ARGUMENT;
	rc = file_prepare(fs, inode, &ext, &size);
	if (rc == 0) {
		*len = size;
		if (cap < size) {
			tb_err("cocoonfs: inode 0x%llx has %u bytes, the buffer "
			       "holds %u", (unsigned long long)inode,
			       (unsigned)size, (unsigned)cap);
			rc = TPMBOOT_E_BUFFER_TOO_SMALL;
			goto out;
		}
	}

	memset(&s, 0, sizeof(s));
	s.fs = fs;
	s.out = buf;
	s.size = size;
	for (i = 0; rc == 0 && i < ext.count; i++)
		rc = ccfs_auth_stream(fs, ext.v[i].begin, ext.v[i].len,
				      file_sink_fn, &s);
	if (rc == 0 && s.plain_pos < size + 1) {
		tb_err("cocoonfs: inode 0x%llx: ciphertext shorter than the "
		       "file", (unsigned long long)inode);
		rc = TPMBOOT_E_COCOONFS_PADDING;
	}
	if (rc != 0 && buf != NULL)
		tb_memzero(buf, cap);
	tb_memzero(&s, sizeof(s));
out:
	tb_aes_key_wipe(&fs->file_key);
	ccfs_extents_free(&ext);
	return rc;
}

int tb_cocoonfs_list_inodes(struct tpmboot_fs *fs, tb_cocoonfs_visit_fn visit,
			    void *ctx)
{
	if (fs == NULL || visit == NULL)
		return TPMBOOT_E_INVALID_ARGUMENT;
	return ccfs_index_walk(fs, visit, ctx);
}

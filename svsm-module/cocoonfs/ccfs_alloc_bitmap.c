/*
 * CocoonFs allocation bitmap (inode 2; upstream alloc_bitmap/file.rs).
 *
 * Bit j of LE64 word w covers AB 64w + j (1 = allocated). The file is a
 * sequence of encrypted blocks, IV || CBC(words), each holding as many
 * whole words as fit; key (2, DATA, ENCRYPTION). Its extents are aligned to
 * the ATDB, so their data blocks are wholly allocated and can be
 * authenticated before the bitmap is known.
 */
#include <string.h>

#include "cocoonfs/ccfs_internal.h"

/*
 * Returns 1 when the AB's contents enter its data block digest: allocated
 * in the bitmap and not part of the image headers, the journal log head or
 * the aux metadata. While the bitmap itself is loaded (fs->bitmap NULL)
 * every AB counts as allocated.
 */
int ccfs_ab_included(const struct tpmboot_fs *fs, uint64_t ab)
{
	size_t i;

	if (ab >= fs->image_ab || ab < fs->header_end_ab)
		return 0;
	if (ab >= fs->journal_ab && ab - fs->journal_ab < fs->journal_len_ab)
		return 0;
	for (i = 0; i < fs->aux_extents.count; i++) {
		const struct ccfs_extent *e = &fs->aux_extents.v[i];

		if (ab >= e->begin && ab - e->begin < e->len)
			return 0;
	}
	if (fs->bitmap == NULL)
		return 1;
	if ((ab >> 6) >= fs->bitmap_words)
		return 0;
	return (int)((fs->bitmap[ab >> 6] >> (ab & 63)) & 1u);
}

struct bitmap_sink {
	struct tpmboot_fs *fs;
	uint64_t *words;
	uint64_t words_needed, words_filled;
	uint8_t *block;
	size_t block_len, block_fill;
};

static void bitmap_block_done(struct bitmap_sink *s)
{
	size_t payload = (s->block_len - CCFS_AES_BLOCK) &
			 ~(size_t)(CCFS_AES_BLOCK - 1);
	uint8_t iv[CCFS_AES_BLOCK];
	size_t i;

	memcpy(iv, s->block, CCFS_AES_BLOCK);
	tb_aes_cbc_decrypt(&s->fs->keys.bitmap_enc, iv, s->block + CCFS_AES_BLOCK,
			   s->block + CCFS_AES_BLOCK, payload);
	for (i = 0; i + 8 <= payload && s->words_filled < s->words_needed; i += 8)
		s->words[s->words_filled++] =
			tb_load_le64(s->block + CCFS_AES_BLOCK + i);
	s->block_fill = 0;
}

static int bitmap_sink_fn(void *ctx, const uint8_t *data, size_t len)
{
	struct bitmap_sink *s = ctx;

	while (len > 0) {
		size_t n = s->block_len - s->block_fill;

		if (n > len)
			n = len;
		memcpy(s->block + s->block_fill, data, n);
		s->block_fill += n;
		data += n;
		len -= n;
		if (s->block_fill == s->block_len)
			bitmap_block_done(s);
	}
	return 0;
}

static int check_bitmap_extents(struct tpmboot_fs *fs)
{
	const struct ccfs_layout *l = &fs->layout;
	uint64_t atdb_mask = ((uint64_t)1 << l->atdb_ab_log2) - 1;
	uint64_t block_ab = (uint64_t)1 << (l->bitmap_block_log2 - l->ab_log2);
	size_t i;

	if (l->bitmap_block_log2 < l->ab_log2)
		return TPMBOOT_E_COCOONFS_LAYOUT;
	for (i = 0; i < fs->bitmap_extents.count; i++) {
		const struct ccfs_extent *e = &fs->bitmap_extents.v[i];

		if ((e->begin & atdb_mask) != 0 || (e->len & atdb_mask) != 0 ||
		    e->len % block_ab != 0) {
			tb_err("cocoonfs: allocation bitmap extent [%llu, +%llu) "
			       "not aligned to the data block (%llu AB) and "
			       "bitmap block (%llu AB)",
			       (unsigned long long)e->begin,
			       (unsigned long long)e->len,
			       (unsigned long long)(atdb_mask + 1),
			       (unsigned long long)block_ab);
			return TPMBOOT_E_COCOONFS_BITMAP;
		}
	}
	return 0;
}

/* Authenticates and decrypts the whole allocation bitmap into fs->bitmap. */
int ccfs_bitmap_load(struct tpmboot_fs *fs)
{
	struct bitmap_sink s;
	size_t i;
	int rc;

	memset(&s, 0, sizeof(s));
	s.fs = fs;
	s.words_needed = (fs->image_ab + 63) / 64;
	s.block_len = (size_t)1 << fs->layout.bitmap_block_log2;
	rc = check_bitmap_extents(fs);
	if (rc != 0)
		return rc;
	s.words = tb_calloc((size_t)s.words_needed, sizeof(uint64_t));
	s.block = tb_alloc(s.block_len);
	if (s.words == NULL || s.block == NULL) {
		rc = TPMBOOT_E_NO_MEMORY;
		goto out;
	}

	fs->bitmap = NULL;
	for (i = 0; rc == 0 && i < fs->bitmap_extents.count; i++)
		rc = ccfs_auth_stream(fs, fs->bitmap_extents.v[i].begin,
				      fs->bitmap_extents.v[i].len,
				      bitmap_sink_fn, &s);
	if (rc == 0 && s.words_filled < s.words_needed) {
		tb_err("cocoonfs: allocation bitmap holds %llu words, the image "
		       "needs %llu", (unsigned long long)s.words_filled,
		       (unsigned long long)s.words_needed);
		rc = TPMBOOT_E_COCOONFS_BITMAP;
	}
	if (rc == 0) {
		fs->bitmap = s.words;
		fs->bitmap_words = s.words_needed;
		s.words = NULL;
	}
	/* Digests of cached blocks were computed with everything allocated. */
	fs->block_cache_ab = CCFS_NIL;
out:
	tb_free(s.words);
	tb_free_secret(s.block, s.block_len);
	return rc;
}

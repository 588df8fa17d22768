/*
 * CocoonFs mutable image header and journal log head (upstream
 * image_header.rs MutableImageHeader, journal/log.rs).
 *
 * The mutable header sits at the end of the static header (an IO block
 * boundary):
 *   0                16 B  aux metadata update group 0 and 1 head pointers
 *   16               D_root  auth tree root HMAC
 *   16+D_root        16 B  encrypted filesystem update counter
 *   ...              D_preauth  pre-auth HMAC of the inode index entry leaf
 *   ...              8 B   block pointer to the entry leaf
 *   ...              8 B   image size in ABs
 * It has no integrity protection of its own: the root HMAC binds it.
 */
#include <string.h>

#include "cocoonfs/ccfs_internal.h"

static const uint8_t journal_magic[CCFS_MAGIC_LEN] = "CCFSJRNL";

size_t ccfs_mutable_header_len(const struct ccfs_layout *layout)
{
	return 16 + layout->root_digest_len + CCFS_AES_BLOCK +
	       layout->preauth_digest_len + 8 + 8;
}

int ccfs_mutable_header_aux_pair(struct tb_cocoonfs_meta *meta,
				 uint8_t aux_pair[16])
{
	return ccfs_dev_read(&meta->dev, meta->static_len, aux_pair, 16);
}

/*
 * Checks the journal log head. It is active when it starts with
 * "CCFSJRNL" and its integrity protections verify (head skip 8, integrity
 * data at byte 8, then the aux pointer pair). A magic with a failing check
 * is a torn head write and counts as absent. When active, the head's aux
 * pointer pair replaces the mutable header's.
 */
int ccfs_journal_check(struct tb_cocoonfs_meta *meta, uint8_t aux_pair[16])
{
	const struct ccfs_layout *l = &meta->layout;
	size_t len = (size_t)(meta->journal_len_ab << l->ab_log2);
	size_t pair_off = CCFS_MAGIC_LEN + ccfs_integrity_len(l);
	uint8_t *buf;
	int rc;

	buf = tb_alloc(len);
	if (buf == NULL)
		return TPMBOOT_E_NO_MEMORY;
	rc = ccfs_dev_read(&meta->dev, meta->journal_ab << l->ab_log2, buf, len);
	if (rc != 0 || memcmp(buf, journal_magic, CCFS_MAGIC_LEN) != 0)
		goto out;

	if (ccfs_integrity_verify(buf, len, CCFS_MAGIC_LEN, 0, l->n,
				  TPMBOOT_LOG_WARN, "journal log head",
				  meta->journal_ab) != 0) {
		tb_warn("cocoonfs: journal log head at AB %llu is torn; "
			"treating the journal as empty",
			(unsigned long long)meta->journal_ab);
		goto out;
	}
	meta->state = TB_COCOONFS_JOURNAL_ACTIVE;
	memcpy(aux_pair, buf + pair_off, 16);
	tb_warn("cocoonfs: journal log head at AB %llu is active",
		(unsigned long long)meta->journal_ab);
out:
	tb_free(buf);
	return rc;
}

/* Reads the mutable header into fs and checks the image size. */
int ccfs_mutable_header_read(struct tpmboot_fs *fs,
			     const struct tb_cocoonfs_meta *meta)
{
	const struct ccfs_layout *l = &fs->layout;
	size_t len = ccfs_mutable_header_len(l);
	uint64_t iob_ab_mask = ((uint64_t)1 << l->iob_ab_log2) - 1;
	uint64_t dev_ab;
	uint8_t buf[16 + 2 * TB_HASH_MAX_DIGEST + CCFS_AES_BLOCK + 16];
	size_t pos = 16;
	int rc;

	rc = ccfs_dev_read(&fs->dev, meta->static_len, buf, len);
	if (rc != 0)
		return rc;
	memcpy(fs->root_hmac, buf + pos, l->root_digest_len);
	pos += l->root_digest_len;
	memcpy(fs->update_counter, buf + pos, CCFS_AES_BLOCK);
	pos += CCFS_AES_BLOCK;
	memcpy(fs->entry_leaf_preauth, buf + pos, l->preauth_digest_len);
	pos += l->preauth_digest_len;
	memcpy(fs->entry_leaf_ptr_raw, buf + pos, 8);
	rc = ccfs_block_ptr_decode(tb_load_le64(buf + pos), &fs->entry_leaf_ab);
	pos += 8;
	fs->image_ab = tb_load_le64(buf + pos);

	dev_ab = (fs->dev.block_count << fs->dev.block_log2) >> l->ab_log2;
	if (rc != 0 || fs->entry_leaf_ab == CCFS_NIL ||
	    (fs->image_ab & iob_ab_mask) != 0 ||
	    fs->image_ab <= fs->journal_ab + fs->journal_len_ab) {
		tb_err("cocoonfs: invalid mutable header (image size %llu AB, "
		       "entry leaf pointer 0x%llx)",
		       (unsigned long long)fs->image_ab,
		       (unsigned long long)tb_load_le64(fs->entry_leaf_ptr_raw));
		return TPMBOOT_E_COCOONFS_MUTABLE_HEADER;
	}
	if (fs->image_ab > dev_ab) {
		tb_err("cocoonfs: image of %llu AB exceeds the device (%llu AB)",
		       (unsigned long long)fs->image_ab,
		       (unsigned long long)dev_ab);
		return TPMBOOT_E_COCOONFS_DEVICE;
	}
	if (fs->entry_leaf_ab >= fs->image_ab) {
		tb_err("cocoonfs: entry leaf at AB %llu beyond the image end",
		       (unsigned long long)fs->entry_leaf_ab);
		return TPMBOOT_E_COCOONFS_MUTABLE_HEADER;
	}
	return 0;
}

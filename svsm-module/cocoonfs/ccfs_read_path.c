/*
 * CocoonFs read path: device access through the platform's block_read
 * callback, and authenticated reads of physical Allocation Block ranges.
 *
 * Every byte returned by ccfs_auth_read() or ccfs_auth_stream() comes from
 * a buffer whose whole Authentication Tree Data Block was read once,
 * digested and compared with the leaf entry of the authenticated tree. The
 * same buffer is then handed out, so the device cannot change the data
 * between the check and its use. Bytes in Allocation Blocks that the data
 * block digest does not cover (free, header, journal head, aux metadata)
 * are rejected.
 */
#include <string.h>

#include "cocoonfs/ccfs_internal.h"

#define CCFS_MAX_DEVICE_BLOCK_LOG2 16u

int ccfs_dev_init(struct ccfs_dev *dev)
{
	const struct tpmboot_platform *p = tb_platform();

	memset(dev, 0, sizeof(*dev));
	if (p == NULL || p->block_read == NULL) {
		tb_err("cocoonfs: platform has no block_read callback");
		return TPMBOOT_E_MISSING_CALLBACK;
	}
	if (p->block_size_log2 > CCFS_MAX_DEVICE_BLOCK_LOG2) {
		tb_err("cocoonfs: device block size 2^%u exceeds 2^%u bytes",
		       p->block_size_log2, CCFS_MAX_DEVICE_BLOCK_LOG2);
		return TPMBOOT_E_COCOONFS_DEVICE;
	}
	dev->block_log2 = p->block_size_log2;
	dev->block_count = p->block_count;
	dev->bounce = tb_alloc((size_t)1 << dev->block_log2);
	if (dev->bounce == NULL)
		return TPMBOOT_E_NO_MEMORY;
	return 0;
}

void ccfs_dev_fini(struct ccfs_dev *dev)
{
	if (dev->bounce != NULL)
		tb_free_secret(dev->bounce, (size_t)1 << dev->block_log2);
	dev->bounce = NULL;
}

static int dev_blocks(struct ccfs_dev *dev, uint64_t first, uint32_t count,
		      void *buf)
{
	const struct tpmboot_platform *p = tb_platform();
	int rc = p->block_read(p->ctx, first, count, buf);

	if (rc != 0) {
		tb_err("cocoonfs: block_read of %u blocks at block %llu failed "
		       "(%d)", count, (unsigned long long)first, rc);
		return TPMBOOT_E_BLOCK_IO;
	}
	return 0;
}

/* Reads len bytes at byte offset of the device into buf. */
int ccfs_dev_read(struct ccfs_dev *dev, uint64_t offset, void *buf, size_t len)
{
	uint64_t bs = (uint64_t)1 << dev->block_log2;
	uint64_t dev_bytes = dev->block_count << dev->block_log2;
	uint8_t *out = buf;
	int rc;

	if ((dev->block_count >> (64 - dev->block_log2 - 1)) != 0)
		dev_bytes = UINT64_MAX;
	if (offset > dev_bytes || len > dev_bytes - offset) {
		tb_err("cocoonfs: read of %u bytes at offset %llu beyond the "
		       "device end (%llu bytes)", (unsigned)len,
		       (unsigned long long)offset, (unsigned long long)dev_bytes);
		return TPMBOOT_E_COCOONFS_DEVICE;
	}

	while (len > 0) {
		uint64_t block = offset >> dev->block_log2;
		size_t in = (size_t)(offset & (bs - 1));

		if (in == 0 && len >= bs) {
			uint64_t count = len >> dev->block_log2;

			if (count > 0x10000u)
				count = 0x10000u;
			rc = dev_blocks(dev, block, (uint32_t)count, out);
			if (rc != 0)
				return rc;
			out += count << dev->block_log2;
			offset += count << dev->block_log2;
			len -= (size_t)(count << dev->block_log2);
		} else {
			size_t n = (size_t)bs - in;

			if (n > len)
				n = len;
			rc = dev_blocks(dev, block, 1, dev->bounce);
			if (rc != 0)
				return rc;
			memcpy(out, dev->bounce + in, n);
			out += n;
			offset += n;
			len -= n;
		}
	}
	return 0;
}

/* Reads the data block starting at phys_ab into buf (one ATDB); ABs past
 * the image end read as zeros. */
static int read_data_blocks(struct tpmboot_fs *fs, uint64_t phys_ab,
			    uint64_t count_ab, uint8_t *buf)
{
	uint32_t ab_log2 = fs->layout.ab_log2;
	uint64_t in_image = count_ab;

	if (phys_ab + count_ab > fs->image_ab)
		in_image = fs->image_ab - phys_ab;
	if (in_image < count_ab)
		memset(buf + (in_image << ab_log2), 0,
		       (size_t)((count_ab - in_image) << ab_log2));
	return ccfs_dev_read(&fs->dev, phys_ab << ab_log2, buf,
			     (size_t)(in_image << ab_log2));
}

/*
 * Digests the data block `block` (index domain) whose ABs start at phys_ab
 * and compares with its authenticated leaf entry. Digest = HMAC_data(
 * included ABs' contents || LE64 inclusion bitmap || LE64 block || 0x00 ||
 * 0x04), where included means allocated and not header, journal head or
 * aux metadata.
 */
static int auth_data_block(struct tpmboot_fs *fs, uint64_t block,
			   uint64_t phys_ab, const uint8_t *data)
{
	const struct ccfs_layout *l = &fs->layout;
	uint64_t count = (uint64_t)1 << l->atdb_ab_log2;
	size_t ab_len = (size_t)1 << l->ab_log2;
	uint8_t digest[TB_HASH_MAX_DIGEST];
	uint8_t tail[18];
	const uint8_t *expected;
	struct tb_hmac_ctx h;
	uint64_t word = 0, j;
	int rc;

	rc = ccfs_tree_leaf_entry(fs, block, &expected);
	if (rc != 0)
		return rc;
	h = fs->keys.tree_data_hmac;
	for (j = 0; j < count; j++) {
		if (ccfs_ab_included(fs, phys_ab + j)) {
			word |= (uint64_t)1 << j;
			tb_hmac_update(&h, data + j * ab_len, ab_len);
		}
	}
	tb_store_le64(tail, word);
	tb_store_le64(tail + 8, block);
	tail[16] = 0;
	tail[17] = CCFS_AUTH_TREE_DATA_BLOCK;
	tb_hmac_update(&h, tail, sizeof(tail));
	tb_hmac_final(&h, digest);

	if (!tb_ct_memeq(digest, expected, l->data_digest_len)) {
		tb_err("cocoonfs: data block %llu (AB %llu): digest does not "
		       "match the authentication tree leaf entry",
		       (unsigned long long)block, (unsigned long long)phys_ab);
		return TPMBOOT_E_COCOONFS_AUTH;
	}
	return 0;
}

/* Rejects ranges whose ABs the digests do not cover. */
static int check_included(struct tpmboot_fs *fs, uint64_t begin_ab,
			  uint64_t end_ab)
{
	uint64_t ab;

	for (ab = begin_ab; ab < end_ab; ab++) {
		if (!ccfs_ab_included(fs, ab)) {
			tb_err("cocoonfs: AB %llu is free or not covered by the "
			       "authentication tree", (unsigned long long)ab);
			return TPMBOOT_E_COCOONFS_UNALLOCATED;
		}
	}
	return 0;
}

static int check_range(const struct tpmboot_fs *fs, uint64_t begin_ab,
		       uint64_t len_ab)
{
	if (len_ab == 0 || begin_ab >= fs->image_ab ||
	    len_ab > fs->image_ab - begin_ab) {
		tb_err("cocoonfs: range [%llu, +%llu) AB outside the image of "
		       "%llu AB", (unsigned long long)begin_ab,
		       (unsigned long long)len_ab,
		       (unsigned long long)fs->image_ab);
		return TPMBOOT_E_COCOONFS_EXTENTS;
	}
	return 0;
}

/*
 * Streams the authenticated contents of [begin_ab, begin_ab + len_ab) to
 * sink, in order, reading up to CCFS_WORK_BYTES of data blocks at a time.
 */
int ccfs_auth_stream(struct tpmboot_fs *fs, uint64_t begin_ab, uint64_t len_ab,
		     ccfs_sink_fn sink, void *ctx)
{
	uint32_t ab_log2 = fs->layout.ab_log2;
	uint32_t a = fs->layout.atdb_ab_log2;
	uint64_t atdb_ab = (uint64_t)1 << a;
	uint64_t max_blocks = (fs->work_len >> ab_log2) >> a;
	uint64_t pos = begin_ab, end = begin_ab + len_ab;
	int rc = check_range(fs, begin_ab, len_ab);

	while (rc == 0 && pos < end) {
		uint64_t first_block, block, start = pos & ~(atdb_ab - 1);
		uint64_t n = 0, k, from, to;

		rc = ccfs_data_block_index(fs, start, &first_block);
		/* Batch consecutive data blocks that are contiguous on disk. */
		while (rc == 0 && n < max_blocks && start + n * atdb_ab < end) {
			if (n > 0 && (ccfs_data_block_index(fs, start + n * atdb_ab,
							    &block) != 0 ||
				      block != first_block + n))
				break;
			n++;
		}
		if (rc == 0)
			rc = read_data_blocks(fs, start, n * atdb_ab, fs->work);
		for (k = 0; rc == 0 && k < n; k++)
			rc = auth_data_block(fs, first_block + k,
					     start + k * atdb_ab,
					     fs->work + ((k * atdb_ab) << ab_log2));
		if (rc != 0)
			break;

		from = pos;
		to = start + n * atdb_ab;
		if (to > end)
			to = end;
		rc = check_included(fs, from, to);
		if (rc == 0)
			rc = sink(ctx, fs->work + ((from - start) << ab_log2),
				  (size_t)((to - from) << ab_log2));
		pos = to;
	}
	return rc;
}

/*
 * Copies len authenticated bytes at byte_offset into out, one data block
 * at a time through the single-block cache (for small reads).
 */
int ccfs_auth_read(struct tpmboot_fs *fs, uint64_t byte_offset, uint8_t *out,
		   size_t len)
{
	uint32_t ab_log2 = fs->layout.ab_log2;
	uint32_t a = fs->layout.atdb_ab_log2;
	uint64_t atdb_ab = (uint64_t)1 << a;
	uint64_t first_ab = byte_offset >> ab_log2;
	uint64_t end_ab = (byte_offset + len + ((uint64_t)1 << ab_log2) - 1) >>
			  ab_log2;
	int rc;

	if (len == 0)
		return 0;
	rc = check_range(fs, first_ab, end_ab - first_ab);
	if (rc == 0)
		rc = check_included(fs, first_ab, end_ab);

	while (rc == 0 && len > 0) {
		uint64_t ab = byte_offset >> ab_log2;
		uint64_t start = ab & ~(atdb_ab - 1);
		uint64_t in_block = byte_offset - (start << ab_log2);
		size_t n = (size_t)((atdb_ab << ab_log2) - in_block);
		uint64_t block;

		if (fs->block_cache_ab != start) {
			fs->block_cache_ab = CCFS_NIL;
			rc = ccfs_data_block_index(fs, start, &block);
			if (rc == 0)
				rc = read_data_blocks(fs, start, atdb_ab,
						      fs->block_cache);
			if (rc == 0)
				rc = auth_data_block(fs, block, start,
						     fs->block_cache);
			if (rc != 0)
				break;
			fs->block_cache_ab = start;
		}
		if (n > len)
			n = len;
		memcpy(out, fs->block_cache + in_block, n);
		out += n;
		byte_offset += n;
		len -= n;
	}
	return rc;
}

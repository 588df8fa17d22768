/*
 * CocoonFs static image header and filesystem-creation ("mkfsinfo")
 * header (upstream image_header.rs; format version 1).
 *
 * Static header: "COCOONFS" || version 1 || layout (21 B) || salt length ||
 * integrity data at byte 31 (head skip 8) || salt, padded to the IO block.
 * Mkfsinfo header: "CCFSMKFS" || version 1 || layout || LE64 aux metadata
 * length || LE64 image size in AB || salt length || integrity data at byte
 * 47 || salt, followed by the aux metadata blob.
 */
#include <string.h>

#include "cocoonfs/ccfs_internal.h"

static const uint8_t static_magic[CCFS_MAGIC_LEN] = "COCOONFS";
static const uint8_t mkfsinfo_magic[CCFS_MAGIC_LEN] = "CCFSMKFS";

#define CCFS_STATIC_SALT_LEN_OFFSET 30u
#define CCFS_STATIC_INTEGRITY_OFFSET 31u
#define CCFS_MKFS_AUX_LEN_OFFSET 30u
#define CCFS_MKFS_SALT_LEN_OFFSET 46u
#define CCFS_MKFS_INTEGRITY_OFFSET 47u

/*
 * Takes the two size fields of the layout and the salt length from the
 * masked first 128 bytes: enough to know how much to read. Everything else
 * is decoded only after the integrity check.
 */
static int peek_sizes(const uint8_t *head, size_t integrity_off,
		      size_t salt_len_off, struct ccfs_layout *layout,
		      uint32_t *salt_len)
{
	uint8_t mask = head[integrity_off + CCFS_CHECKSUM_LEN];
	uint8_t ab128_log2 = head[CCFS_LAYOUT_OFFSET] ^ mask;
	uint8_t iob_ab_log2 = head[CCFS_LAYOUT_OFFSET + 1] ^ mask;

	if (ab128_log2 > CCFS_MAX_AB_LOG2 - 7 || iob_ab_log2 > 6) {
		tb_err("cocoonfs: header layout sizes out of range (AB 2^%u x "
		       "128 B, IO block 2^%u AB)", ab128_log2, iob_ab_log2);
		return TPMBOOT_E_COCOONFS_LAYOUT;
	}
	memset(layout, 0, sizeof(*layout));
	layout->ab_log2 = 7u + ab128_log2;
	layout->iob_log2 = layout->ab_log2 + iob_ab_log2;
	layout->n = (uint32_t)ab128_log2 + iob_ab_log2;
	*salt_len = head[salt_len_off] ^ mask;
	return 0;
}

/*
 * Reads the header of header_len bytes at byte offset base and verifies it
 * in place. The magic must still be the one the first read showed, since
 * it selected this header's parser.
 */
static int read_verified(struct tb_cocoonfs_meta *meta, uint64_t base,
			 size_t header_len, size_t integrity_off,
			 const uint8_t magic[CCFS_MAGIC_LEN], const char *what,
			 uint8_t **out)
{
	uint8_t *buf = tb_alloc(header_len);
	int rc;

	if (buf == NULL)
		return TPMBOOT_E_NO_MEMORY;
	rc = ccfs_dev_read(&meta->dev, base, buf, header_len);
	if (rc == 0 && memcmp(buf, magic, CCFS_MAGIC_LEN) != 0) {
		tb_err("cocoonfs: %s magic changed between two reads", what);
		rc = TPMBOOT_E_COCOONFS_TORN;
	}
	if (rc == 0)
		rc = ccfs_integrity_verify(buf, header_len, CCFS_MAGIC_LEN,
					   integrity_off - CCFS_MAGIC_LEN,
					   meta->layout.n, TPMBOOT_LOG_ERROR,
					   what, base >> 7);
	if (rc == 0 && buf[CCFS_MAGIC_LEN] != 1) {
		tb_err("cocoonfs: %s has format version %u, expected 1", what,
		       buf[CCFS_MAGIC_LEN]);
		rc = TPMBOOT_E_COCOONFS_VERSION;
	}
	if (rc != 0) {
		tb_free(buf);
		return rc;
	}
	*out = buf;
	return 0;
}

/*
 * Checks that the verified header has the sizes taken from the first read.
 * The buffer was sized from that read, and the host may return other
 * bytes the second time.
 */
static int check_same_sizes(const struct ccfs_layout *peeked,
			    uint32_t peeked_salt_len,
			    const struct ccfs_layout *verified,
			    uint32_t salt_len, const char *what)
{
	if (verified->ab_log2 == peeked->ab_log2 &&
	    verified->iob_log2 == peeked->iob_log2 &&
	    salt_len == peeked_salt_len)
		return 0;
	tb_err("cocoonfs: %s changed between two reads (AB 2^%u then 2^%u, "
	       "IO block 2^%u then 2^%u, salt %u then %u bytes)", what,
	       peeked->ab_log2, verified->ab_log2, peeked->iob_log2,
	       verified->iob_log2, peeked_salt_len, salt_len);
	return TPMBOOT_E_COCOONFS_TORN;
}

static int check_device(const struct tb_cocoonfs_meta *meta)
{
	if (meta->layout.iob_log2 < meta->dev.block_log2) {
		tb_err("cocoonfs: device block size 2^%u exceeds the image IO "
		       "block size 2^%u", meta->dev.block_log2,
		       meta->layout.iob_log2);
		return TPMBOOT_E_COCOONFS_DEVICE;
	}
	return 0;
}

/* Locates the mutable header and the journal log head (format spec,
 * "Journal"): the head extent starts at the first IOB and ATDB boundary
 * after the mutable header and is long enough for the minimal
 * chained-extents head. */
static void locate_regions(struct tb_cocoonfs_meta *meta)
{
	const struct ccfs_layout *l = &meta->layout;
	uint32_t align_log2 = l->iob_ab_log2 > l->atdb_ab_log2
			      ? l->iob_ab_log2 : l->atdb_ab_log2;
	uint64_t mutable_end = meta->static_len + ccfs_mutable_header_len(l);
	uint64_t min_head;

	meta->header_end_ab = ccfs_roundup(mutable_end, l->ab_log2) >>
			      l->ab_log2;
	meta->journal_ab = ccfs_roundup(meta->header_end_ab, align_log2);

	/* NOTE: the minimal head length (magic, integrity data, aux pointer
	 * pair, inline tag, IV, one cipher block) is derived from the format
	 * description, not from upstream code. Every corpus image needs a
	 * single journal block. */
	min_head = ccfs_roundup(CCFS_MAGIC_LEN + ccfs_integrity_len(l) + 16 +
				l->preauth_digest_len + CCFS_AES_BLOCK, 4) +
		   CCFS_AES_BLOCK;
	meta->journal_len_ab = ccfs_roundup(ccfs_roundup(min_head, l->ab_log2) >>
					    l->ab_log2, align_log2);
}

static int read_static(struct tb_cocoonfs_meta *meta, const uint8_t *head)
{
	const struct ccfs_layout *l = &meta->layout;
	struct ccfs_layout peeked;
	size_t integrity_len, salt_off;
	uint8_t *buf;
	int rc;

	rc = peek_sizes(head, CCFS_STATIC_INTEGRITY_OFFSET,
			 CCFS_STATIC_SALT_LEN_OFFSET, &meta->layout,
			 &meta->salt_len);
	if (rc != 0)
		return rc;
	integrity_len = ccfs_integrity_len(l);
	meta->static_len = ccfs_roundup(CCFS_STATIC_INTEGRITY_OFFSET +
					integrity_len + meta->salt_len,
					l->iob_log2);
	rc = check_device(meta);
	if (rc == 0)
		rc = read_verified(meta, 0, (size_t)meta->static_len,
				   CCFS_STATIC_INTEGRITY_OFFSET, static_magic,
				   "static image header", &buf);
	if (rc != 0)
		return rc;

	/* Decode again from the verified bytes. */
	peeked = meta->layout;
	rc = ccfs_layout_decode(&meta->layout, buf + CCFS_LAYOUT_OFFSET);
	if (rc == 0)
		rc = check_same_sizes(&peeked, meta->salt_len, &meta->layout,
				      buf[CCFS_STATIC_SALT_LEN_OFFSET],
				      "static image header");
	if (rc == 0) {
		salt_off = CCFS_STATIC_INTEGRITY_OFFSET + integrity_len;
		memcpy(meta->salt, buf + salt_off, meta->salt_len);
		locate_regions(meta);
	}
	tb_free(buf);
	return rc;
}

/*
 * Reads a mkfsinfo header at byte offset base: at the start of the volume
 * its aux blob follows it, for the backup copy the blob precedes it.
 */
static int read_mkfsinfo(struct tb_cocoonfs_meta *meta, const uint8_t *head,
			 uint64_t base)
{
	uint64_t blob_len, blob_offset;
	const struct ccfs_layout *l = &meta->layout;
	struct ccfs_layout peeked;
	uint64_t header_len, aux_len;
	size_t integrity_len;
	uint8_t *buf;
	int rc;

	rc = peek_sizes(head, CCFS_MKFS_INTEGRITY_OFFSET,
			 CCFS_MKFS_SALT_LEN_OFFSET, &meta->layout,
			 &meta->salt_len);
	if (rc != 0)
		return rc;
	integrity_len = ccfs_integrity_len(l);
	header_len = ccfs_roundup(CCFS_MKFS_INTEGRITY_OFFSET + integrity_len +
				  meta->salt_len, l->iob_log2);
	rc = check_device(meta);
	if (rc == 0)
		rc = read_verified(meta, base, (size_t)header_len,
				   CCFS_MKFS_INTEGRITY_OFFSET, mkfsinfo_magic,
				   "filesystem creation info header", &buf);
	if (rc != 0)
		return rc;

	peeked = meta->layout;
	rc = ccfs_layout_decode(&meta->layout, buf + CCFS_LAYOUT_OFFSET);
	if (rc == 0)
		rc = check_same_sizes(&peeked, meta->salt_len, &meta->layout,
				      buf[CCFS_MKFS_SALT_LEN_OFFSET],
				      "filesystem creation info header");
	if (rc != 0) {
		tb_free(buf);
		return rc;
	}
	aux_len = tb_load_le64(buf + CCFS_MKFS_AUX_LEN_OFFSET);
	memcpy(meta->salt, buf + CCFS_MKFS_INTEGRITY_OFFSET + integrity_len,
	       meta->salt_len);
	tb_free(buf);
	meta->state = TB_COCOONFS_UNFORMATTED;
	tb_info("cocoonfs: volume contains only a filesystem creation info "
		"header at byte %llu (unformatted)", (unsigned long long)base);
	if (aux_len == 0)
		return 0;
	if (aux_len > CCFS_MAX_AUX_BYTES) {
		tb_err("cocoonfs: mkfsinfo aux metadata of %llu bytes exceeds "
		       "%u", (unsigned long long)aux_len, CCFS_MAX_AUX_BYTES);
		return TPMBOOT_E_COCOONFS_LIMIT;
	}
	blob_len = ccfs_roundup(CCFS_CHECKSUM_LEN + aux_len, l->iob_log2);
	if (base == 0) {
		blob_offset = header_len;
	} else if (blob_len <= base) {
		blob_offset = base - blob_len;
	} else {
		tb_err("cocoonfs: mkfsinfo aux metadata does not fit before the "
		       "backup header");
		return TPMBOOT_E_COCOONFS_AUX_FORMAT;
	}
	return ccfs_aux_read_mkfsinfo(meta, blob_offset, blob_len, aux_len);
}

/*
 * Looks for the mkfsinfo backup header (format specification,
 * "Filesystem creation info header"): at the start of the last unit of the
 * largest power of two >= 512 bytes that fits at least 16 times into the
 * volume.
 * An interrupted online mkfs leaves it behind.
 */
static int read_backup(struct tb_cocoonfs_meta *meta, int primary_rc)
{
	uint64_t size = meta->dev.block_count << meta->dev.block_log2;
	uint64_t unit = 512, base;
	uint8_t head[128];
	size_t i;

	if (size < 16 * unit)
		return primary_rc;
	while (unit <= size / 32)
		unit *= 2;
	base = (size / unit - 1) * unit;
	if (ccfs_dev_read(&meta->dev, base, head, sizeof(head)) != 0 ||
	    memcmp(head, mkfsinfo_magic, CCFS_MAGIC_LEN) != 0)
		return primary_rc;
	for (i = CCFS_MAGIC_LEN; i < sizeof(head); i++) {
		if (head[i] == 0)
			return primary_rc;
	}
	tb_warn("cocoonfs: no valid header at the start of the volume; using "
		"the mkfsinfo backup header at byte %llu",
		(unsigned long long)base);
	return read_mkfsinfo(meta, head, base);
}

/*
 * Reads the header at the start of the device. For a regular header it
 * fills the layout, salt and region locations. For a mkfsinfo header it
 * also reads the aux metadata blob and sets the state to unformatted.
 */
int ccfs_static_header_read(struct tb_cocoonfs_meta *meta)
{
	uint8_t head[128];
	size_t i;
	int rc;

	rc = ccfs_dev_read(&meta->dev, 0, head, sizeof(head));
	if (rc != 0)
		return rc;
	if (memcmp(head, static_magic, CCFS_MAGIC_LEN) != 0 &&
	    memcmp(head, mkfsinfo_magic, CCFS_MAGIC_LEN) != 0) {
		tb_err("cocoonfs: no COCOONFS or CCFSMKFS magic at the start "
		       "of the device");
		return read_backup(meta, TPMBOOT_E_COCOONFS_BAD_MAGIC);
	}
	for (i = CCFS_MAGIC_LEN; i < sizeof(head); i++) {
		if (head[i] == 0) {
			tb_err("cocoonfs: image header torn (tier 0 byte %u is "
			       "zero)", (unsigned)i);
			return read_backup(meta, TPMBOOT_E_COCOONFS_TORN);
		}
	}
	if (memcmp(head, static_magic, CCFS_MAGIC_LEN) == 0)
		return read_static(meta, head);
	rc = read_mkfsinfo(meta, head, 0);
	if (rc == TPMBOOT_E_COCOONFS_TORN || rc == TPMBOOT_E_COCOONFS_CHECKSUM)
		rc = read_backup(meta, rc);
	return rc;
}

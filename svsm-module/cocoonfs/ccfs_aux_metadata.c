/*
 * CocoonFs auxiliary filesystem metadata (upstream aux_fs_metadata.rs),
 * readable without the key and not authenticated: its extents are outside
 * the Merkle tree so that it can be updated offline. Only torn writes are
 * detected (integrity protections with CRC-32 pair).
 *
 * On a formatted image the metadata lives in a circular chain of extents
 * split into update groups 0 and 1, whose heads the mutable header (or an
 * active journal head) points to. Each extent starts with LE64 next and
 * LE64 next-but-one extent pointers. Group heads add a state byte (0
 * inactive, 1 active, 2 active + reallocation wanted). The integrity data
 * follows (at byte 17 in heads, 16 otherwise), then the payload. Group 0
 * wins if intact and active, else group 1. The next-but-one pointer lets a
 * reader step over one torn extent, so all extents are still found: the
 * data block digests exclude them.
 *
 * Payload encoding: records UUID[16] || LE32 length || data, sorted by
 * UUID, ended by an all-zero UUID with length 0 or 8 (LE64 extra reserve
 * capacity); the remainder is zero.
 */
#include <string.h>

#include "cocoonfs/ccfs_internal.h"

struct aux_extent {
	struct ccfs_extent e;
	int valid;
	int group;
	int is_head;
	uint8_t state;
	uint8_t *buf; /* verified contents, NULL when torn */
};

struct aux_walk {
	struct aux_extent v[CCFS_MAX_AUX_EXTENTS];
	size_t count;
	uint64_t heads[2];
};

static const uint8_t zero_uuid[TB_COCOONFS_UUID_LEN];

int ccfs_aux_decode(struct tb_cocoonfs_meta *meta, uint8_t *payload, size_t len)
{
	const uint8_t *last = zero_uuid;
	size_t pos = 0, count = 0, i;

	/* First pass counts the records and checks the encoding. */
	for (;;) {
		uint32_t data_len;

		if (len - pos < TB_COCOONFS_UUID_LEN + 4)
			goto invalid;
		data_len = tb_load_le32(payload + pos + TB_COCOONFS_UUID_LEN);
		if (data_len > len - pos - TB_COCOONFS_UUID_LEN - 4)
			goto invalid;
		if (memcmp(payload + pos, zero_uuid, TB_COCOONFS_UUID_LEN) == 0) {
			if (data_len != 0 && data_len != 8)
				goto invalid;
			pos += TB_COCOONFS_UUID_LEN + 4 + data_len;
			break;
		}
		if (memcmp(last, payload + pos, TB_COCOONFS_UUID_LEN) > 0) {
			tb_err("cocoonfs: aux metadata entries not sorted by UUID "
			       "at byte %u", (unsigned)pos);
			return TPMBOOT_E_COCOONFS_AUX_FORMAT;
		}
		last = payload + pos;
		pos += TB_COCOONFS_UUID_LEN + 4 + data_len;
		count++;
	}
	for (i = pos; i < len; i++) {
		if (payload[i] != 0)
			goto invalid;
	}

	meta->aux = tb_calloc(count ? count : 1, sizeof(*meta->aux));
	if (meta->aux == NULL)
		return TPMBOOT_E_NO_MEMORY;
	for (pos = 0, i = 0; i < count; i++) {
		struct ccfs_aux_record *r = &meta->aux[i];

		memcpy(r->uuid, payload + pos, TB_COCOONFS_UUID_LEN);
		r->len = tb_load_le32(payload + pos + TB_COCOONFS_UUID_LEN);
		r->offset = pos + TB_COCOONFS_UUID_LEN + 4;
		pos = r->offset + r->len;
	}
	meta->aux_count = count;
	meta->aux_payload = payload;
	meta->aux_payload_len = len;
	return 0;

invalid:
	tb_err("cocoonfs: invalid aux metadata encoding near byte %u of %u",
	       (unsigned)pos, (unsigned)len);
	return TPMBOOT_E_COCOONFS_AUX_FORMAT;
}

/* Reads one chain extent and verifies its integrity data. */
static int read_aux_extent(struct tb_cocoonfs_meta *meta, struct aux_extent *x)
{
	const struct ccfs_layout *l = &meta->layout;
	size_t len = (size_t)(x->e.len << l->ab_log2);
	uint8_t *buf = tb_alloc(len);
	int rc;

	if (buf == NULL)
		return TPMBOOT_E_NO_MEMORY;
	rc = ccfs_dev_read(&meta->dev, x->e.begin << l->ab_log2, buf, len);
	if (rc != 0) {
		tb_free(buf);
		return rc;
	}
	if (ccfs_integrity_verify(buf, len, 0, x->is_head ? 17 : 16, l->n,
				  TPMBOOT_LOG_WARN, "aux metadata extent",
				  x->e.begin) != 0) {
		tb_free(buf);
		x->valid = 0;
		return 0;
	}
	x->buf = buf;
	x->valid = 1;
	x->state = x->is_head ? buf[16] : 0;
	return 0;
}

static int decode_aux_ptr(struct tb_cocoonfs_meta *meta, uint64_t ptr,
			  struct ccfs_extent *e)
{
	uint64_t dev_ab = (meta->dev.block_count << meta->dev.block_log2) >>
			  meta->layout.ab_log2;
	int indirect;

	if (ccfs_extent_ptr_decode(ptr, e, &indirect) != 0 || e->len == 0 ||
	    indirect || e->begin < meta->header_end_ab || e->begin > dev_ab ||
	    e->len > dev_ab - e->begin) {
		tb_err("cocoonfs: invalid aux metadata extent pointer 0x%llx",
		       (unsigned long long)ptr);
		return TPMBOOT_E_COCOONFS_AUX_FORMAT;
	}
	return 0;
}

/*
 * Walks the circular chain from start, stepping over a single torn extent
 * with the previous extent's next-but-one pointer.
 */
static int walk_chain(struct tb_cocoonfs_meta *meta, struct aux_walk *w,
		      uint64_t start)
{
	uint64_t cur = start, skip_to = CCFS_NIL;
	int group = start == w->heads[0] ? 0 : 1;
	int prev_valid = 1;
	size_t i;
	int rc;

	for (w->count = 0;; w->count++) {
		struct aux_extent *x = &w->v[w->count];

		if (w->count > 0 && cur == start)
			return 0;
		if (w->count == CCFS_MAX_AUX_EXTENTS) {
			tb_err("cocoonfs: aux metadata chain longer than %u "
			       "extents", CCFS_MAX_AUX_EXTENTS);
			return TPMBOOT_E_COCOONFS_AUX_FORMAT;
		}
		for (i = 0; i < w->count; i++) {
			if (w->v[i].e.begin == (cur >> 7)) {
				tb_err("cocoonfs: aux metadata chain loops at "
				       "AB %llu", (unsigned long long)(cur >> 7));
				return TPMBOOT_E_COCOONFS_AUX_FORMAT;
			}
		}
		if (cur == w->heads[0])
			group = 0;
		else if (cur == w->heads[1])
			group = 1;
		memset(x, 0, sizeof(*x));
		x->group = group;
		x->is_head = cur == w->heads[0] || cur == w->heads[1];
		rc = decode_aux_ptr(meta, cur, &x->e);
		if (rc == 0)
			rc = read_aux_extent(meta, x);
		if (rc != 0)
			return rc;

		if (!x->valid && w->count == 0) {
			w->count = 1;
			return 0;
		}
		if (x->valid) {
			cur = tb_load_le64(x->buf);
			skip_to = tb_load_le64(x->buf + 8);
		} else if (prev_valid && skip_to != CCFS_NIL) {
			cur = skip_to;
			skip_to = CCFS_NIL;
		} else {
			tb_err("cocoonfs: two consecutive torn aux metadata "
			       "extents; cannot follow the chain");
			w->count++;
			return TPMBOOT_E_COCOONFS_AUX_TORN;
		}
		prev_valid = x->valid;
	}
}

/* Returns the group to use: intact in all its extents and active. */
static int choose_group(const struct aux_walk *w)
{
	int ok[2] = { 0, 0 };
	int g;
	size_t i;

	for (g = 0; g < 2; g++) {
		if (w->heads[g] == CCFS_NIL)
			continue;
		ok[g] = 1;
		for (i = 0; i < w->count; i++) {
			const struct aux_extent *x = &w->v[i];

			if (x->group != g)
				continue;
			if (!x->valid || (x->is_head &&
					  (x->state < 1 || x->state > 2)))
				ok[g] = 0;
		}
	}
	if (ok[0])
		return 0;
	if (ok[1])
		return 1;
	return -1;
}

static int collect(struct tb_cocoonfs_meta *meta, struct aux_walk *w)
{
	size_t integrity_len = ccfs_integrity_len(&meta->layout);
	size_t total = 0, pos = 0, i;
	uint8_t *payload;
	int group = choose_group(w);
	int rc;

	if (group < 0) {
		tb_err("cocoonfs: neither aux metadata update group is intact "
		       "and active");
		return TPMBOOT_E_COCOONFS_AUX_TORN;
	}
	for (i = 0; i < w->count; i++) {
		size_t skip = (w->v[i].is_head ? 17 : 16) + integrity_len;

		if (w->v[i].group == group)
			total += (size_t)(w->v[i].e.len << meta->layout.ab_log2) -
				 skip;
	}
	if (total > CCFS_MAX_AUX_BYTES) {
		tb_err("cocoonfs: aux metadata payload of %u bytes in update "
		       "group %d exceeds %u", (unsigned)total, group,
		       CCFS_MAX_AUX_BYTES);
		return TPMBOOT_E_COCOONFS_LIMIT;
	}
	payload = tb_alloc(total ? total : 1);
	if (payload == NULL)
		return TPMBOOT_E_NO_MEMORY;
	for (i = 0; i < w->count; i++) {
		size_t skip = (w->v[i].is_head ? 17 : 16) + integrity_len;
		size_t len = (size_t)(w->v[i].e.len << meta->layout.ab_log2);

		if (w->v[i].group != group)
			continue;
		memcpy(payload + pos, w->v[i].buf + skip, len - skip);
		pos += len - skip;
	}
	rc = ccfs_aux_decode(meta, payload, total);
	if (rc != 0)
		tb_free(payload);
	return rc;
}

static int record_extents(struct tb_cocoonfs_meta *meta,
			  const struct aux_walk *w)
{
	size_t i;

	meta->aux_extents.v = tb_alloc(w->count * sizeof(struct ccfs_extent));
	if (meta->aux_extents.v == NULL)
		return TPMBOOT_E_NO_MEMORY;
	for (i = 0; i < w->count; i++)
		meta->aux_extents.v[i] = w->v[i].e;
	meta->aux_extents.count = w->count;
	return 0;
}

/* Reads the aux metadata of a formatted image from the given head pair. */
int ccfs_aux_read(struct tb_cocoonfs_meta *meta, const uint8_t aux_pair[16])
{
	struct aux_walk *w;
	size_t i;
	int rc;

	meta->aux_heads[0] = tb_load_le64(aux_pair);
	meta->aux_heads[1] = tb_load_le64(aux_pair + 8);
	if (meta->aux_heads[0] == CCFS_NIL && meta->aux_heads[1] == CCFS_NIL)
		return 0;

	w = tb_calloc(1, sizeof(*w));
	if (w == NULL)
		return TPMBOOT_E_NO_MEMORY;
	w->heads[0] = meta->aux_heads[0];
	w->heads[1] = meta->aux_heads[1];

	/* Start at an intact head so that the walk can step over torn ones. */
	rc = walk_chain(meta, w, w->heads[0] != CCFS_NIL ? w->heads[0]
							  : w->heads[1]);
	if (rc == 0 && !w->v[0].valid && w->heads[0] != CCFS_NIL &&
	    w->heads[1] != CCFS_NIL) {
		for (i = 0; i < w->count; i++)
			tb_free(w->v[i].buf);
		rc = walk_chain(meta, w, w->heads[1]);
	}
	if (rc == 0 && !w->v[0].valid) {
		tb_err("cocoonfs: every aux metadata update group head is torn");
		rc = TPMBOOT_E_COCOONFS_AUX_TORN;
	}
	if (rc == 0)
		rc = record_extents(meta, w);
	if (rc == 0)
		rc = collect(meta, w);

	for (i = 0; i < w->count && i < CCFS_MAX_AUX_EXTENTS; i++)
		tb_free(w->v[i].buf);
	tb_free(w);
	return rc;
}

/*
 * Reads the aux metadata blob of a mkfsinfo header at blob_offset:
 * checksum (8 B) || encoding (aux_len bytes) || zeros up to blob_len, an
 * IO block multiple. The checksum covers everything after itself.
 */
int ccfs_aux_read_mkfsinfo(struct tb_cocoonfs_meta *meta, uint64_t blob_offset,
			   uint64_t blob_len, uint64_t aux_len)
{
	uint8_t sum[CCFS_CHECKSUM_LEN];
	uint8_t *buf;
	int rc;

	buf = tb_alloc((size_t)blob_len);
	if (buf == NULL)
		return TPMBOOT_E_NO_MEMORY;
	rc = ccfs_dev_read(&meta->dev, blob_offset, buf, (size_t)blob_len);
	if (rc == 0) {
		ccfs_checksum(buf + CCFS_CHECKSUM_LEN,
			      (size_t)blob_len - CCFS_CHECKSUM_LEN, sum);
		if (memcmp(sum, buf, CCFS_CHECKSUM_LEN) != 0) {
			tb_err("cocoonfs: mkfsinfo aux metadata blob at byte "
			       "%llu: checksum mismatch",
			       (unsigned long long)blob_offset);
			rc = TPMBOOT_E_COCOONFS_CHECKSUM;
		}
	}
	if (rc == 0) {
		memmove(buf, buf + CCFS_CHECKSUM_LEN, (size_t)aux_len);
		rc = ccfs_aux_decode(meta, buf, (size_t)aux_len);
	}
	if (rc != 0)
		tb_free(buf);
	return rc;
}

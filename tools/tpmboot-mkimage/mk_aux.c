/*
 * Auxiliary filesystem metadata: the encoding and its extents on a
 * formatted image (upstream aux_fs_metadata.rs).
 *
 * Encoding: records UUID (16) || LE32 length || data, sorted by UUID
 * (records with equal UUIDs keep their insertion order), ended by a
 * record with the all-zero UUID whose data is empty, or LE64 "extra
 * reserve capacity" when offline updates are enabled.
 *
 * Extents: a circular chain, every extent aligned to max(IO block, ATDB):
 *   LE64 next extent pointer, LE64 next-but-one extent pointer,
 *   [update group heads only: state byte, 0 inactive, 1 active,
 *    2 active and reallocation wanted],
 *   integrity data (commit ID, mask, n save slots), payload.
 * The chain is split into update group 0 and update group 1; the mutable
 * header points to both heads.
 */
#include <stdlib.h>
#include <string.h>

#include "mk.h"

#define AUX_RECORD_HEADER 20u

static const uint8_t zero_uuid[MK_UUID_LEN];

void mk_aux_free(struct mk_aux *aux)
{
	free(aux->enc);
	aux->enc = NULL;
	aux->len = 0;
}

/* Offset of the terminator record. */
static size_t terminator_offset(const struct mk_aux *aux)
{
	size_t pos = 0;

	while (memcmp(aux->enc + pos, zero_uuid, MK_UUID_LEN) != 0)
		pos += AUX_RECORD_HEADER + tb_load_le32(aux->enc + pos + 16);
	return pos;
}

uint64_t mk_aux_reserve(const struct mk_aux *aux)
{
	size_t t = terminator_offset(aux);

	if (tb_load_le32(aux->enc + t + 16) == 0)
		return MK_RESERVE_DISABLED;
	return tb_load_le64(aux->enc + t + AUX_RECORD_HEADER);
}

/* Trivial: no entries and no reserve (or a zero reserve), as upstream's
 * AuxFsMetadata::is_trivial(). Such metadata gets no extents. */
int mk_aux_is_trivial(const struct mk_aux *aux)
{
	uint64_t r = mk_aux_reserve(aux);

	return terminator_offset(aux) == 0 &&
	       (r == MK_RESERVE_DISABLED || r == 0);
}

/* Payload bytes one update group must hold: the encoding plus the extra
 * reserve (upstream storage_allocation_payload_length()). */
uint64_t mk_aux_storage_len(const struct mk_aux *aux)
{
	uint64_t r = mk_aux_reserve(aux);

	return aux->len + (r == MK_RESERVE_DISABLED ? 0 : r);
}

size_t mk_aux_count(const struct mk_aux *aux)
{
	size_t pos = 0, n = 0;

	while (memcmp(aux->enc + pos, zero_uuid, MK_UUID_LEN) != 0) {
		pos += AUX_RECORD_HEADER + tb_load_le32(aux->enc + pos + 16);
		n++;
	}
	return n;
}

int mk_aux_get(const struct mk_aux *aux, size_t index, struct mk_aux_entry *e)
{
	size_t pos = 0, n = 0;

	while (memcmp(aux->enc + pos, zero_uuid, MK_UUID_LEN) != 0) {
		uint32_t len = tb_load_le32(aux->enc + pos + 16);

		if (n == index) {
			memcpy(e->uuid, aux->enc + pos, MK_UUID_LEN);
			e->data = aux->enc + pos + AUX_RECORD_HEADER;
			e->len = len;
			return MK_OK;
		}
		pos += AUX_RECORD_HEADER + len;
		n++;
	}
	return MK_E_NOT_FOUND;
}

/* An empty encoding: just the terminator record with the reserve. */
static int aux_init(struct mk_aux *aux, uint64_t reserve)
{
	size_t len = AUX_RECORD_HEADER +
		     (reserve == MK_RESERVE_DISABLED ? 0 : 8);

	aux->enc = calloc(1, len);
	if (aux->enc == NULL)
		return mk_fail(MK_E_NO_MEMORY, "out of memory");
	aux->len = len;
	if (reserve != MK_RESERVE_DISABLED) {
		tb_store_le32(aux->enc + 16, 8);
		tb_store_le64(aux->enc + AUX_RECORD_HEADER, reserve);
	}
	return MK_OK;
}

/*
 * Inserts a record after every record whose UUID is lower or equal, so
 * the encoding stays sorted and equal UUIDs keep their insertion order.
 * NOTE: upstream's AuxFsMetadata::add_entry() puts a record that sorts
 * before others in front of the last greater record instead of the first
 * one, which gives an unsorted encoding that upstream then rejects; this
 * tool inserts at the sorted position.
 */
int mk_aux_add(struct mk_aux *aux, const uint8_t uuid[MK_UUID_LEN],
	       const uint8_t *data, size_t len)
{
	size_t pos = 0, rec = AUX_RECORD_HEADER + len;
	uint8_t *enc;

	if (memcmp(uuid, zero_uuid, MK_UUID_LEN) == 0)
		return mk_fail(MK_E_USAGE, "the all-zero UUID is reserved for "
			       "the terminator record");
	if (len > UINT32_MAX || aux->len + rec < aux->len)
		return mk_fail(MK_E_USAGE, "aux entry of %zu bytes is too long",
			       len);
	while (memcmp(aux->enc + pos, zero_uuid, MK_UUID_LEN) != 0 &&
	       memcmp(aux->enc + pos, uuid, MK_UUID_LEN) <= 0)
		pos += AUX_RECORD_HEADER + tb_load_le32(aux->enc + pos + 16);

	enc = malloc(aux->len + rec);
	if (enc == NULL)
		return mk_fail(MK_E_NO_MEMORY, "out of memory");
	memcpy(enc, aux->enc, pos);
	memcpy(enc + pos, uuid, MK_UUID_LEN);
	tb_store_le32(enc + pos + 16, (uint32_t)len);
	if (len)
		memcpy(enc + pos + AUX_RECORD_HEADER, data, len);
	memcpy(enc + pos + rec, aux->enc + pos, aux->len - pos);
	free(aux->enc);
	aux->enc = enc;
	aux->len += rec;
	return MK_OK;
}

/* Removes the index-th record (0-based) among those with this UUID. */
int mk_aux_remove(struct mk_aux *aux, const uint8_t uuid[MK_UUID_LEN],
		  size_t index)
{
	size_t pos = 0;

	while (memcmp(aux->enc + pos, zero_uuid, MK_UUID_LEN) != 0) {
		size_t rec = AUX_RECORD_HEADER + tb_load_le32(aux->enc + pos + 16);

		if (memcmp(aux->enc + pos, uuid, MK_UUID_LEN) == 0 &&
		    index-- == 0) {
			memmove(aux->enc + pos, aux->enc + pos + rec,
				aux->len - pos - rec);
			aux->len -= rec;
			return MK_OK;
		}
		pos += rec;
	}
	return MK_E_NOT_FOUND;
}

int mk_aux_build(struct mk_aux *aux, const struct mk_aux_entry *entries,
		 size_t count, uint64_t reserve)
{
	size_t i;
	int rc = aux_init(aux, reserve);

	for (i = 0; rc == MK_OK && i < count; i++)
		rc = mk_aux_add(aux, entries[i].uuid, entries[i].data,
				entries[i].len);
	if (rc != MK_OK)
		mk_aux_free(aux);
	return rc;
}

/*
 * Decodes an encoding (upstream AuxFsMetadata::decode()): records sorted
 * by UUID, a terminator with 0 or 8 data bytes, only zeros after it. An
 * empty buffer is metadata without a reserve.
 */
int mk_aux_decode(struct mk_aux *aux, const uint8_t *buf, size_t len)
{
	size_t pos = 0, i;
	const uint8_t *last = zero_uuid;

	aux->enc = NULL;
	aux->len = 0;
	if (len == 0)
		return aux_init(aux, MK_RESERVE_DISABLED);
	for (;;) {
		uint32_t rec_len;

		if (len - pos < AUX_RECORD_HEADER)
			goto invalid;
		rec_len = tb_load_le32(buf + pos + 16);
		if (rec_len > len - pos - AUX_RECORD_HEADER)
			goto invalid;
		if (memcmp(buf + pos, zero_uuid, MK_UUID_LEN) == 0) {
			if (rec_len != 0 && rec_len != 8)
				goto invalid;
			pos += AUX_RECORD_HEADER + rec_len;
			break;
		}
		if (memcmp(last, buf + pos, MK_UUID_LEN) > 0)
			goto invalid;
		last = buf + pos;
		pos += AUX_RECORD_HEADER + rec_len;
	}
	for (i = pos; i < len; i++)
		if (buf[i] != 0)
			goto invalid;
	aux->enc = malloc(pos);
	if (aux->enc == NULL)
		return mk_fail(MK_E_NO_MEMORY, "out of memory");
	memcpy(aux->enc, buf, pos);
	aux->len = pos;
	return MK_OK;
invalid:
	return mk_fail(MK_E_FORMAT, "the aux metadata encoding is invalid "
		       "near byte %zu of %zu", pos, len);
}

static size_t aux_extent_header(const struct mk_geometry *g, int is_head)
{
	return 16 + (is_head ? 1 : 0) + ccfs_integrity_len(&g->layout);
}

/* Payload bytes an aux extent holds. */
size_t mk_aux_extent_payload(const struct mk_geometry *g,
			     const struct ccfs_extent *e, int is_head)
{
	size_t bytes = (size_t)e->len << g->layout.ab_log2;

	return bytes - aux_extent_header(g, is_head);
}

/*
 * Plans the extents of one or two update groups, each able to hold
 * payload_len bytes, from *first_free_ab on: aligned extents of at most
 * 64 ABs (the extent pointer limit), the last one just long enough.
 */
int mk_aux_chain_plan(const struct mk_geometry *g, uint64_t payload_len,
		      uint64_t *first_free_ab, struct mk_aux_chain *chain,
		      int two_groups)
{
	uint32_t ab_log2 = g->layout.ab_log2;
	uint64_t max_ab = 64;
	int group;

	chain->count = 0;
	for (group = 0; group < (two_groups ? 2 : 1); group++) {
		uint64_t remaining = payload_len;
		int first = 1;

		if (group == 1)
			chain->group1_begin = chain->count;
		do {
			uint64_t hdr = aux_extent_header(g, first);
			uint64_t need_ab = ccfs_roundup(
				ccfs_roundup(hdr + remaining, ab_log2) >> ab_log2,
				g->align_log2);
			struct ccfs_extent *e;

			if (chain->count == MK_AUX_MAX_EXTENTS)
				return mk_fail(MK_E_USAGE, "aux metadata of %llu "
					       "bytes needs more than %u extents",
					       (unsigned long long)payload_len,
					       MK_AUX_MAX_EXTENTS);
			if (need_ab > max_ab)
				need_ab = max_ab;
			e = &chain->ext[chain->count++];
			e->begin = *first_free_ab;
			e->len = need_ab;
			*first_free_ab += need_ab;
			remaining -= remaining < (need_ab << ab_log2) - hdr
				     ? remaining : (need_ab << ab_log2) - hdr;
			first = 0;
		} while (remaining > 0);
	}
	if (!two_groups)
		chain->group1_begin = chain->count;
	return MK_OK;
}

static uint64_t extent_ptr(const struct ccfs_extent *e)
{
	return e->begin << 7 | (e->len - 1) << 1;
}

/*
 * Writes one aux extent into the image: chain pointers to the next and
 * next-but-one extents of the circular chain, the state byte for group
 * heads, the payload and the integrity protections; the rest is zero.
 */
void mk_aux_extent_write(const struct mk_geometry *g, uint8_t *image,
			 const struct mk_aux_chain *chain, size_t index,
			 int is_head, uint8_t state, const uint8_t *payload,
			 size_t payload_len)
{
	const struct ccfs_extent *e = &chain->ext[index];
	size_t len = (size_t)e->len << g->layout.ab_log2;
	uint8_t *buf = image + (e->begin << g->layout.ab_log2);
	size_t next = (index + 1) % chain->count;
	size_t next2 = (index + 2) % chain->count;
	size_t off = 16;

	memset(buf, 0, len);
	tb_store_le64(buf, extent_ptr(&chain->ext[next]));
	tb_store_le64(buf + 8, extent_ptr(&chain->ext[next2]));
	if (is_head)
		buf[off++] = state;
	if (payload_len)
		memcpy(buf + off + ccfs_integrity_len(&g->layout), payload,
		       payload_len);
	mk_integrity_apply(buf, len, 0, off, g->layout.n);
}

/*
 * Writes update group `group` with the encoding of aux (NULL: empty
 * payload) and the given head state, as upstream's
 * WriteAuxFsMetadataUpdateGroupExtentsFuture leaves it on disk.
 */
void mk_aux_group_write(const struct mk_geometry *g, uint8_t *image,
			const struct mk_aux_chain *chain, int group,
			uint8_t state, const struct mk_aux *aux)
{
	size_t begin = group == 0 ? 0 : chain->group1_begin;
	size_t end = group == 0 ? chain->group1_begin : chain->count;
	size_t pos = 0, i;

	for (i = begin; i < end; i++) {
		int head = i == begin;
		size_t cap = mk_aux_extent_payload(g, &chain->ext[i], head);
		size_t n = 0;

		if (aux != NULL) {
			n = aux->len - pos < cap ? aux->len - pos : cap;
			mk_aux_extent_write(g, image, chain, i, head,
					    head ? state : 0, aux->enc + pos, n);
		} else {
			mk_aux_extent_write(g, image, chain, i, head,
					    head ? state : 0, NULL, 0);
		}
		pos += n;
	}
}

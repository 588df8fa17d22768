/*
 * Keyless ("offline") update of the auxiliary metadata of a formatted
 * image, as upstream's WriteAuxFsMetadataOfflineFuture and
 * UpdateAuxFsMetadataExtentsFuture (aux_fs_metadata.rs) do it:
 *
 *   1. Walk the circular extent chain from the mutable header's group
 *      heads and check every extent's integrity protections. At most one
 *      extent may be torn, and the walk steps over it with the
 *      next-but-one pointer. Group 0 is active if its head is intact and
 *      its state is 1 or 2, else group 1.
 *   2. The updated encoding must fit the payload of both groups (NoSpace
 *      otherwise: offline updates cannot allocate). The new group 0 state
 *      is 2 ("reallocation wanted") when a group cannot hold the encoding
 *      plus the extra reserve, or has at least a journal block more.
 *   3. Rewrite a torn extent as an empty one, unless it is the head of the
 *      group written next anyway.
 *   4. If group 0 was active, copy the old metadata to group 1 (keeping
 *      its state), then write the new metadata to group 0.
 * The mutable header and everything authenticated stay untouched, so the
 * image still opens with its key.
 */
#include <stdlib.h>
#include <string.h>

#include "mk.h"
#include "wrapkey/tb_wrapkey.h"

struct chain_state {
	struct mk_aux_chain chain;
	int valid[MK_AUX_MAX_EXTENTS];
	uint8_t state[MK_AUX_MAX_EXTENTS];
	int active;            /* 0 or 1 */
	size_t invalid;        /* index of the torn extent, or count */
};

/* Reads the static header's layout and salt and the region locations. */
static int read_geometry(const uint8_t *image, size_t image_len,
			 struct mk_geometry *g, int *unformatted)
{
	uint8_t layout[CCFS_LAYOUT_LEN], head[128];
	uint8_t *copy;
	size_t static_len, salt_len;
	uint32_t n;
	uint8_t mask;
	int rc;

	*unformatted = 0;
	if (image_len < 128)
		return mk_fail(MK_E_FORMAT, "image of %zu bytes is too short",
			       image_len);
	if (memcmp(image, "CCFSMKFS", 8) == 0) {
		*unformatted = 1;
		return MK_OK;
	}
	if (memcmp(image, "COCOONFS", 8) != 0)
		return mk_fail(MK_E_FORMAT, "no COCOONFS magic at the start of "
			       "the image");
	memcpy(head, image, sizeof(head));
	mask = head[39];
	n = (uint32_t)(head[9] ^ mask) + (uint32_t)(head[10] ^ mask);
	salt_len = head[30] ^ mask;
	if (n > 12 || (head[9] ^ mask) > CCFS_MAX_AB_LOG2 - 7)
		return mk_fail(MK_E_FORMAT, "static header layout out of range");
	static_len = (size_t)ccfs_roundup(31 + 9 + 8 * (uint64_t)n + salt_len,
					  n + 7);
	if (static_len > image_len)
		return mk_fail(MK_E_FORMAT, "static header beyond the image end");
	copy = malloc(static_len);
	if (copy == NULL)
		return mk_fail(MK_E_NO_MEMORY, "out of memory");
	memcpy(copy, image, static_len);
	rc = ccfs_integrity_verify(copy, static_len, 8, 23, n, TPMBOOT_LOG_ERROR,
				   "static image header", 0);
	if (rc == 0) {
		memcpy(layout, copy + CCFS_LAYOUT_OFFSET, CCFS_LAYOUT_LEN);
		rc = mk_geometry_init(g, layout, copy + 31 + 9 + 8 * n,
				      copy[30]);
	} else {
		rc = mk_fail(MK_E_FORMAT, "the static image header is damaged");
	}
	free(copy);
	if (rc == MK_OK && g->journal_ab + g->journal_len_ab >
	    (image_len >> g->layout.ab_log2))
		rc = mk_fail(MK_E_FORMAT, "image too short for its headers");
	return rc;
}

/* Fails when the journal log head is valid: the committed transaction
 * must be replayed (by opening the image with the key) first. */
static int check_journal(const uint8_t *image, const struct mk_geometry *g)
{
	size_t len = (size_t)g->journal_len_ab << g->layout.ab_log2;
	uint8_t *copy;
	int active = 0;

	if (memcmp(image + (g->journal_ab << g->layout.ab_log2), "CCFSJRNL", 8))
		return MK_OK;
	copy = malloc(len);
	if (copy == NULL)
		return mk_fail(MK_E_NO_MEMORY, "out of memory");
	memcpy(copy, image + (g->journal_ab << g->layout.ab_log2), len);
	active = ccfs_integrity_verify(copy, len, 8, 0, g->layout.n,
				       TPMBOOT_LOG_DEBUG, "journal", 0) == 0;
	free(copy);
	if (active)
		return mk_fail(MK_E_FORMAT, "the image has an active journal (an "
			       "interrupted transaction); open it once with "
			       "its key so that the journal is replayed, then "
			       "retry");
	return MK_OK;
}

static int decode_ptr(const struct mk_geometry *g, uint64_t ptr,
		      uint64_t image_ab, struct ccfs_extent *e)
{
	uint64_t mask = ((uint64_t)1 << g->align_log2) - 1;

	e->begin = ptr >> 7;
	e->len = ((ptr >> 1) & 0x3Fu) + 1;
	if ((ptr & 1u) || ((e->begin | e->len) & mask) ||
	    e->begin < g->journal_ab || e->begin + e->len > image_ab)
		return mk_fail(MK_E_FORMAT, "invalid aux metadata extent "
			       "pointer 0x%llx", (unsigned long long)ptr);
	return MK_OK;
}

/* Checks one extent's integrity on a copy; returns 1 if intact. */
static int extent_intact(const struct mk_geometry *g, const uint8_t *image,
			 const struct ccfs_extent *e, int head,
			 uint64_t ptrs[2], uint8_t *state)
{
	size_t len = (size_t)e->len << g->layout.ab_log2;
	uint8_t *copy = malloc(len);
	int ok;

	if (copy == NULL)
		return 0;
	memcpy(copy, image + (e->begin << g->layout.ab_log2), len);
	ok = ccfs_integrity_verify(copy, len, 0, head ? 17 : 16, g->layout.n,
				   TPMBOOT_LOG_DEBUG, "aux extent", e->begin) == 0;
	if (ok) {
		ptrs[0] = tb_load_le64(copy);
		ptrs[1] = tb_load_le64(copy + 8);
		*state = head ? copy[16] : 0;
	}
	free(copy);
	return ok;
}

/* Walks the chain from the first intact head, then rotates it so that
 * it starts at the head of group 0. */
static int walk_chain(const struct mk_geometry *g, const uint8_t *image,
		      uint64_t image_ab, const uint64_t heads[2],
		      struct chain_state *cs)
{
	struct mk_aux_chain *c = &cs->chain;
	struct ccfs_extent cur, start;
	uint64_t skip = CCFS_NIL, ptrs[2];
	size_t i, h0 = 0, h1 = SIZE_MAX;
	int rc, begin_at;

	memset(cs, 0, sizeof(*cs));
	for (begin_at = 0; begin_at < 2; begin_at++) {
		uint8_t st;

		if (heads[begin_at] == CCFS_NIL)
			continue;
		if ((rc = decode_ptr(g, heads[begin_at], image_ab, &start)) != MK_OK)
			return rc;
		if (extent_intact(g, image, &start, 1, ptrs, &st))
			break;
	}
	if (begin_at == 2)
		return mk_fail(MK_E_FORMAT, "no intact aux metadata update "
			       "group head");
	cur = start;
	for (;;) {
		int head = (cur.begin << 7 | (cur.len - 1) << 1) == heads[0] ||
			   (cur.begin << 7 | (cur.len - 1) << 1) == heads[1];
		size_t k = c->count;
		uint64_t next;

		if (k == MK_AUX_MAX_EXTENTS)
			return mk_fail(MK_E_FORMAT, "aux metadata chain longer "
				       "than %u extents", MK_AUX_MAX_EXTENTS);
		for (i = 0; i < k; i++)
			if (c->ext[i].begin == cur.begin)
				return mk_fail(MK_E_FORMAT, "aux metadata chain "
					       "loops");
		c->ext[k] = cur;
		c->count++;
		cs->valid[k] = extent_intact(g, image, &cur, head, ptrs,
					     &cs->state[k]);
		if (cs->valid[k]) {
			next = ptrs[0];
			skip = ptrs[1];
		} else {
			if (skip == CCFS_NIL)
				return mk_fail(MK_E_FORMAT, "two torn aux metadata "
					       "extents in a row");
			next = skip;
			skip = CCFS_NIL;
		}
		if (next == (start.begin << 7 | (start.len - 1) << 1))
			break;
		if ((rc = decode_ptr(g, next, image_ab, &cur)) != MK_OK)
			return rc;
	}

	/* Rotate: group 0's head first, then find group 1's head. */
	for (i = 0; i < c->count; i++) {
		uint64_t p = c->ext[i].begin << 7 | (c->ext[i].len - 1) << 1;

		if (p == heads[0])
			h0 = i;
	}
	if (h0 != 0) {
		struct chain_state tmp = *cs;

		for (i = 0; i < c->count; i++) {
			size_t from = (i + h0) % c->count;

			c->ext[i] = tmp.chain.ext[from];
			cs->valid[i] = tmp.valid[from];
			cs->state[i] = tmp.state[from];
		}
	}
	c->group1_begin = c->count;
	for (i = 0; i < c->count; i++) {
		uint64_t p = c->ext[i].begin << 7 | (c->ext[i].len - 1) << 1;

		if (p == heads[1])
			h1 = i;
	}
	cs->invalid = c->count;
	for (i = 0; i < c->count; i++) {
		if (!cs->valid[i]) {
			if (cs->invalid != c->count)
				return mk_fail(MK_E_FORMAT, "more than one torn "
					       "aux metadata extent");
			cs->invalid = i;
		}
	}
	if (h1 != SIZE_MAX)
		c->group1_begin = h1;
	if (cs->valid[0] && (cs->state[0] == 1 || cs->state[0] == 2))
		cs->active = 0;
	else if (h1 != SIZE_MAX && cs->valid[h1] &&
		 (cs->state[h1] == 1 || cs->state[h1] == 2))
		cs->active = 1;
	else
		return mk_fail(MK_E_FORMAT, "no active aux metadata update group");
	return MK_OK;
}

static uint64_t group_capacity(const struct mk_geometry *g,
			       const struct mk_aux_chain *c, int group)
{
	size_t begin = group == 0 ? 0 : c->group1_begin;
	size_t end = group == 0 ? c->group1_begin : c->count, i;
	uint64_t cap = 0;

	for (i = begin; i < end; i++)
		cap += mk_aux_extent_payload(g, &c->ext[i], i == begin);
	return cap;
}

/* Decodes a group's payload from integrity-checked copies of its
 * extents (the check also undoes the mask and the tier 1 markers). */
static int read_group(const struct mk_geometry *g, const uint8_t *image,
		      const struct mk_aux_chain *c, int group,
		      struct mk_aux *aux)
{
	size_t begin = group == 0 ? 0 : c->group1_begin;
	size_t end = group == 0 ? c->group1_begin : c->count, i, pos = 0;
	size_t integ = ccfs_integrity_len(&g->layout);
	uint8_t *buf = malloc((size_t)group_capacity(g, c, group) + 1);
	int rc = MK_OK;

	if (buf == NULL)
		return mk_fail(MK_E_NO_MEMORY, "out of memory");
	for (i = begin; i < end && rc == MK_OK; i++) {
		size_t len = (size_t)c->ext[i].len << g->layout.ab_log2;
		size_t off = (i == begin ? 17 : 16);
		uint8_t *copy = malloc(len);

		if (copy == NULL) {
			rc = mk_fail(MK_E_NO_MEMORY, "out of memory");
			break;
		}
		memcpy(copy, image + (c->ext[i].begin << g->layout.ab_log2), len);
		if (ccfs_integrity_verify(copy, len, 0, off, g->layout.n,
					  TPMBOOT_LOG_DEBUG, "aux extent",
					  c->ext[i].begin) != 0)
			rc = mk_fail(MK_E_FORMAT, "aux metadata extent at AB "
				     "%llu of the active group is torn",
				     (unsigned long long)c->ext[i].begin);
		else
			memcpy(buf + pos, copy + off + integ, len - off - integ);
		pos += len - off - integ;
		free(copy);
	}
	if (rc == MK_OK)
		rc = mk_aux_decode(aux, buf, pos);
	free(buf);
	return rc;
}

static int load(const uint8_t *image, size_t image_len, struct mk_geometry *g,
		struct chain_state *cs, int *unformatted, int *no_aux)
{
	uint64_t heads[2];
	int rc;

	*no_aux = 0;
	rc = read_geometry(image, image_len, g, unformatted);
	if (rc != MK_OK || *unformatted)
		return rc;
	if ((rc = check_journal(image, g)) != MK_OK)
		return rc;
	heads[0] = tb_load_le64(image + g->static_len);
	heads[1] = tb_load_le64(image + g->static_len + 8);
	if (heads[0] == CCFS_NIL && heads[1] == CCFS_NIL) {
		*no_aux = 1;
		return MK_OK;
	}
	return walk_chain(g, image, image_len >> g->layout.ab_log2, heads, cs);
}

int mk_aux_read_image(const uint8_t *image, size_t image_len,
		      struct mk_aux *aux, int *unformatted)
{
	struct mk_geometry g;
	struct chain_state *cs = calloc(1, sizeof(*cs));
	int rc, no_aux;

	if (cs == NULL)
		return mk_fail(MK_E_NO_MEMORY, "out of memory");
	rc = load(image, image_len, &g, cs, unformatted, &no_aux);
	if (rc == MK_OK && !*unformatted) {
		if (no_aux)
			rc = mk_aux_decode(aux, NULL, 0);
		else
			rc = read_group(&g, image, &cs->chain, cs->active, aux);
	}
	free(cs);
	return rc;
}

/* Whether a group's payload capacity calls for the "reallocation
 * wanted" state for the new encoding (upstream: capacity below the
 * encoding plus reserve, or at least one max(IOB, ATDB) block above it). */
static int realloc_wanted(const struct mk_geometry *g, uint64_t cap,
			  const struct mk_aux *aux)
{
	uint64_t want = mk_aux_is_trivial(aux) ? 0 : mk_aux_storage_len(aux);
	uint32_t shift = g->align_log2 + g->layout.ab_log2;

	return want > cap || ((cap - want) >> shift) != 0;
}

static int apply_op(struct mk_aux *aux, enum mk_aux_op op,
		    const uint8_t uuid[MK_UUID_LEN], const uint8_t *data,
		    size_t data_len, size_t index)
{
	char text[37];

	if (op == MK_AUX_ADD)
		return mk_aux_add(aux, uuid, data, data_len);
	if (mk_aux_remove(aux, uuid, index) == MK_OK)
		return MK_OK;
	mk_format_uuid(uuid, text);
	return mk_fail(MK_E_NOT_FOUND, "no aux entry %s with index %zu", text,
		       index);
}

int mk_aux_offline_update(uint8_t *image, size_t image_len, enum mk_aux_op op,
			  const uint8_t uuid[MK_UUID_LEN], const uint8_t *data,
			  size_t data_len, size_t index)
{
	struct mk_geometry g;
	struct chain_state *cs = calloc(1, sizeof(*cs));
	struct mk_aux old = { 0 }, upd = { 0 };
	uint64_t cap[2];
	int rc, unformatted, no_aux, old_realloc, new_realloc;

	if (cs == NULL)
		return mk_fail(MK_E_NO_MEMORY, "out of memory");
	rc = mk_platform_attach();
	if (rc == MK_OK)
		rc = load(image, image_len, &g, cs, &unformatted, &no_aux);
	if (rc == MK_OK && unformatted)
		rc = mk_fail(MK_E_FORMAT, "the image holds only a filesystem "
			     "creation (mkfsinfo) header; write a new one with "
			     "write-mkfs-info and the wanted --aux entries");
	if (rc == MK_OK && (no_aux || cs->chain.group1_begin == cs->chain.count))
		rc = mk_fail(MK_E_NOSPACE, "the image has no reserve for keyless "
			     "aux updates (it was made with the reserve "
			     "disabled); change the aux metadata with the key "
			     "instead");
	if (rc == MK_OK)
		rc = read_group(&g, image, &cs->chain, cs->active, &old);
	if (rc == MK_OK)
		rc = mk_aux_decode(&upd, old.enc, old.len);
	if (rc == MK_OK)
		rc = apply_op(&upd, op, uuid, data, data_len, index);
	if (rc != MK_OK)
		goto out;

	cap[0] = group_capacity(&g, &cs->chain, 0);
	cap[1] = group_capacity(&g, &cs->chain, 1);
	if (upd.len > cap[0] || upd.len > cap[1] ||
	    (cs->active == 0 && old.len > cap[1])) {
		rc = mk_fail(MK_E_NOSPACE, "the aux metadata would need %zu "
			     "bytes, but the update groups hold %llu and %llu "
			     "bytes (the reserve made at mkfs); nothing was "
			     "written. Remove entries or change the aux "
			     "metadata with the key", upd.len,
			     (unsigned long long)cap[0],
			     (unsigned long long)cap[1]);
		goto out;
	}
	new_realloc = realloc_wanted(&g, cap[0], &upd) ||
		      realloc_wanted(&g, cap[1], &upd);
	old_realloc = cs->state[cs->active == 0 ? 0 : cs->chain.group1_begin] == 2;

	if (cs->invalid != cs->chain.count &&
	    !(cs->invalid == 0 && cs->active == 1) &&
	    !(cs->invalid == cs->chain.group1_begin && cs->active == 0)) {
		int head = cs->invalid == 0 ||
			   cs->invalid == cs->chain.group1_begin;

		mk_aux_extent_write(&g, image, &cs->chain, cs->invalid, head, 0,
				    NULL, 0);
	}
	if (cs->active == 0)
		mk_aux_group_write(&g, image, &cs->chain, 1, old_realloc ? 2 : 1,
				   &old);
	mk_aux_group_write(&g, image, &cs->chain, 0, new_realloc ? 2 : 1, &upd);
out:
	mk_aux_free(&old);
	mk_aux_free(&upd);
	free(cs);
	return rc;
}

int mk_image_identity(const uint8_t *image, size_t image_len,
		      struct tb_wrapkey_image_id *id, uint8_t *salt_buf)
{
	struct mk_geometry g;
	int rc, unformatted;

	rc = read_geometry(image, image_len, &g, &unformatted);
	if (rc == MK_OK && unformatted)
		rc = mk_fail(MK_E_FORMAT, "the image holds only a filesystem "
			     "creation (mkfsinfo) header, which has no final "
			     "layout to bind a wrapped key to yet");
	if (rc != MK_OK)
		return rc;
	memcpy(salt_buf, g.salt, g.salt_len);
	id->salt = salt_buf;
	id->salt_len = g.salt_len;
	memcpy(id->layout, g.layout.encoded, CCFS_LAYOUT_LEN);
	return MK_OK;
}

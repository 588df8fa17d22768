/*
 * Image layout, sizing and the integrity-protected static header.
 *
 * Sources (cocoon-tpm, storage/src/fs/cocoonfs/): layout.rs
 * (ImageLayout), mkfs.rs (MkFsLayout), auth_tree.rs (tree dimensions from
 * the image size), integrity.rs (extent integrity protections),
 * image_header.rs (static header), and cocoonfs-cli/src/main.rs for the
 * defaults and the security-strength to algorithm mapping.
 */
#include <string.h>

#include "mk.h"

void mk_params_init(struct mk_params *p)
{
	memset(p, 0, sizeof(*p));
	p->strength = 128;
	p->ab_log2 = 7;
	p->iob_log2 = 9;
	p->node_log2 = 10;
	p->bitmap_log2 = 9;
	p->leaf_log2 = 7;
	p->internal_log2 = 7;
	p->aux_reserve = MK_AUX_DEFAULT_RESERVE;
	p->randomize = 1;
}

static int check_log2(const char *what, uint32_t value, uint32_t base,
		      uint32_t max_rel)
{
	if (value < base || value - base > max_rel)
		return mk_fail(MK_E_USAGE, "%s of %llu bytes is not between "
			       "%llu and %llu bytes", what,
			       1ull << value, 1ull << base,
			       1ull << (base + max_rel));
	return MK_OK;
}

/*
 * Encodes the 21 layout bytes (static header offsets 9..29). Strength 128
 * selects SHA-256 for all five hash roles and AES-128; 192 and 256 switch
 * the tree node hash and the data HMAC to SHA-384 or SHA-512 and AES to
 * 192 or 256 bits, while the root HMAC, pre-auth HMAC and KDF stay
 * SHA-256 (cocoonfs-cli main.rs, cli_mkfs_to_image_layout).
 */
int mk_layout_encode(const struct mk_params *p, uint8_t out[CCFS_LAYOUT_LEN])
{
	uint32_t atdb = p->atdb_log2 ? p->atdb_log2 : p->iob_log2;
	uint16_t big_hash, bits;
	int rc;

	if ((rc = check_log2("allocation block", p->ab_log2, 7,
			     CCFS_MAX_AB_LOG2 - 7)) ||
	    (rc = check_log2("IO block", p->iob_log2, p->ab_log2, 6)) ||
	    (rc = check_log2("auth tree data block", atdb, p->ab_log2, 6)) ||
	    (rc = check_log2("auth tree node", p->node_log2, p->iob_log2,
			     CCFS_MAX_UNIT_LOG2 - p->iob_log2)) ||
	    (rc = check_log2("allocation bitmap file block", p->bitmap_log2,
			     p->ab_log2, CCFS_MAX_UNIT_LOG2 - p->ab_log2)) ||
	    (rc = check_log2("index leaf node", p->leaf_log2, p->ab_log2, 6)) ||
	    (rc = check_log2("index internal node", p->internal_log2,
			     p->ab_log2, 6)))
		return rc;

	switch (p->strength) {
	case 128:
		big_hash = TB_TPM_ALG_SHA256;
		bits = 128;
		break;
	case 192:
		big_hash = TB_TPM_ALG_SHA384;
		bits = 192;
		break;
	case 256:
		big_hash = TB_TPM_ALG_SHA512;
		bits = 256;
		break;
	default:
		return mk_fail(MK_E_USAGE, "security strength %u is not 128, "
			       "192 or 256", p->strength);
	}

	out[0] = (uint8_t)(p->ab_log2 - 7);
	out[1] = (uint8_t)(p->iob_log2 - p->ab_log2);
	out[2] = (uint8_t)(p->node_log2 - p->iob_log2);
	out[3] = (uint8_t)(atdb - p->ab_log2);
	out[4] = (uint8_t)(p->bitmap_log2 - p->ab_log2);
	out[5] = (uint8_t)(p->leaf_log2 - p->ab_log2);
	out[6] = (uint8_t)(p->internal_log2 - p->ab_log2);
	tb_store_be16(out + 7, big_hash);          /* tree node hash */
	tb_store_be16(out + 9, big_hash);          /* tree data HMAC */
	tb_store_be16(out + 11, TB_TPM_ALG_SHA256); /* root HMAC */
	tb_store_be16(out + 13, TB_TPM_ALG_SHA256); /* pre-auth HMAC */
	tb_store_be16(out + 15, TB_TPM_ALG_SHA256); /* KDF */
	tb_store_be16(out + 17, TB_TPM_ALG_AES);
	tb_store_be16(out + 19, bits);
	return MK_OK;
}

size_t mk_mutable_header_len(const struct ccfs_layout *l)
{
	return 16 + l->root_digest_len + CCFS_AES_BLOCK +
	       l->preauth_digest_len + 8 + 8;
}

/*
 * Decodes the layout with the reader's decoder and places the static
 * header, mutable header and journal log head as the reader expects them.
 */
int mk_geometry_init(struct mk_geometry *g, const uint8_t layout[CCFS_LAYOUT_LEN],
		     const uint8_t *salt, size_t salt_len)
{
	const struct ccfs_layout *l = &g->layout;
	uint64_t mutable_end, min_head;

	memset(g, 0, sizeof(*g));
	if (ccfs_layout_decode(&g->layout, layout) != 0)
		return mk_fail(MK_E_USAGE, "the image layout is not supported "
			       "by the reader (see the message above)");
	if (salt_len > sizeof(g->salt))
		return mk_fail(MK_E_USAGE, "salt of %zu bytes exceeds 255",
			       salt_len);
	memcpy(g->salt, salt, salt_len);
	g->salt_len = salt_len;
	g->static_len = ccfs_roundup(31 + ccfs_integrity_len(l) + salt_len,
				     l->iob_log2);
	g->align_log2 = l->iob_ab_log2 > l->atdb_ab_log2 ? l->iob_ab_log2
							 : l->atdb_ab_log2;
	mutable_end = g->static_len + mk_mutable_header_len(l);
	g->header_end_ab = ccfs_roundup(mutable_end, l->ab_log2) >> l->ab_log2;
	g->journal_ab = ccfs_roundup(g->header_end_ab, g->align_log2);
	/* The smallest journal head: magic, integrity data, aux pointer
	 * pair, inline tag, IV and one cipher block, in whole journal blocks
	 * (the same rule as the reader's locate_regions()). */
	min_head = ccfs_roundup(CCFS_MAGIC_LEN + ccfs_integrity_len(l) + 16 +
				l->preauth_digest_len + CCFS_AES_BLOCK, 4) +
		   CCFS_AES_BLOCK;
	g->journal_len_ab = ccfs_roundup(ccfs_roundup(min_head, l->ab_log2) >>
					 l->ab_log2, g->align_log2);
	return MK_OK;
}

static uint32_t log2_ceil(uint64_t v)
{
	uint32_t r = 0;

	while (r < 64 && ((uint64_t)1 << r) < v)
		r++;
	return r;
}

static uint64_t sat_add(uint64_t a, uint64_t b)
{
	return a + b < a ? UINT64_MAX : a + b;
}

static uint64_t sat_shl(uint64_t v, uint32_t s)
{
	if (v == 0)
		return 0;
	if (s >= 64 || v > (UINT64_MAX >> s))
		return UINT64_MAX;
	return v << s;
}

/* Tree shape: c and d are log2 of the entries per internal and leaf
 * node, a the ATDB and n the node size, both in ABs. */
struct tree_shape {
	uint32_t c, d, a, n;
};

/* Nodes of a full subtree whose root is at level (0 = leaf). */
static uint64_t subtree_nodes(const struct tree_shape *s, uint32_t level)
{
	uint64_t count = 1;
	uint32_t i;

	for (i = 0; i < level; i++)
		count = sat_add(1, sat_shl(count, s->c));
	return count;
}

/* Data ABs covered by one node at level. */
static uint64_t subtree_data(const struct tree_shape *s, uint32_t level)
{
	return sat_shl(1, s->d + level * s->c + s->a);
}

/* Nodes plus covered data, in ABs, of a full subtree at level. */
static uint64_t subtree_total(const struct tree_shape *s, uint32_t level)
{
	return sat_add(sat_shl(subtree_nodes(s, level), s->n),
		       subtree_data(s, level));
}

/*
 * Returns the number of auth tree nodes for an image of image_ab ABs, the
 * smallest tree that together with the data it covers spans the image
 * (upstream AuthTreeConfig::image_allocation_blocks_to_auth_tree_node_count).
 * The tree is a full tree of some height truncated from the right: at each
 * level from the root down, count the full subtrees that fit and descend
 * into the partial one while a whole path to the bottom still fits.
 * *remainder_ab receives the ABs the tree cannot cover.
 */
uint64_t mk_tree_node_count(const struct ccfs_layout *l, uint64_t image_ab,
			    uint64_t *remainder_ab)
{
	struct tree_shape s;
	uint64_t node_ab, remaining = image_ab, count = 0;
	uint32_t levels = 1, level;

	s.c = l->node_log2 - log2_ceil(l->node_digest_len);
	s.d = l->node_log2 - log2_ceil(l->data_digest_len);
	s.a = l->atdb_ab_log2;
	s.n = l->node_log2 - l->ab_log2;
	node_ab = (uint64_t)1 << s.n;

	/* Height: the lowest full tree spanning the image. Drop a level if
	 * the truncated tree would leave the root with one child. */
	while (subtree_total(&s, levels - 1) < image_ab && levels < 64)
		levels++;
	if (levels > 1) {
		uint64_t child = subtree_total(&s, levels - 2);

		if (child < image_ab &&
		    image_ab - child < (uint64_t)levels * node_ab)
			levels--;
	}

	for (level = levels; level > 0;) {
		uint64_t entry_total, entry_nodes, full;

		level--;
		entry_nodes = level > 0 ? subtree_nodes(&s, level - 1) : 0;
		entry_total = level > 0 ? subtree_total(&s, level - 1)
					: ((uint64_t)1 << s.a);
		if (remaining < node_ab)
			break;
		remaining -= node_ab;
		count++;
		full = remaining / entry_total;
		remaining -= full * entry_total;
		count += full * entry_nodes;
		if (remaining < (uint64_t)level * node_ab)
			break;
	}
	*remainder_ab = remaining;
	return count;
}

/* Returns a nonzero byte value that differs from every byte in the sets
 * (upstream integrity.rs, find_distinct_u8_value()). */
static uint8_t distinct_byte(const uint8_t *const sets[], const size_t lens[],
			     size_t nsets)
{
	uint8_t count[16] = { 0 };
	uint8_t high = 0, low = 0;
	size_t i, j;

	for (i = 0; i < nsets; i++)
		for (j = 0; j < lens[i]; j++)
			count[sets[i][j] >> 4]++;
	while (high < 16 && count[high] >= 16)
		high++;

	memset(count, 0, sizeof(count));
	if (high == 0)
		count[0] = 1;
	for (i = 0; i < nsets; i++)
		for (j = 0; j < lens[i]; j++)
			if ((sets[i][j] >> 4) == high)
				count[sets[i][j] & 0xFu] = 1;
	while (low < 16 && count[low] != 0)
		low++;
	return (uint8_t)(high << 4 | low);
}

/*
 * Applies the integrity protections to an extent in place, for an extent
 * whose first device block is known to be clean (all zero), as after
 * mkfs (upstream extent_integrity_protections_apply() with
 * ExtentIntegrityState::new_clean()):
 *   1. zero the integrity data at head_skip + offset (commit ID, mask, n
 *      save slots) and take the CRC-32 pair checksum of the whole extent;
 *   2. save the 8 bytes before each boundary 2^(i+7), i = 1..n, in slot i;
 *   3. choose a mask byte so that every byte in [head_skip, 128) XOR the
 *      mask and every checksum byte XOR the mask is nonzero, XOR it in,
 *      store the commit ID (checksum XOR mask) and the mask;
 *   4. write the commit ID before each boundary.
 */
void mk_integrity_apply(uint8_t *extent, size_t len, size_t head_skip,
			size_t offset, uint32_t n)
{
	size_t pos = head_skip + offset, i;
	uint8_t sum[CCFS_CHECKSUM_LEN], commit[CCFS_CHECKSUM_LEN], tails[4];
	const uint8_t *sets[4];
	size_t lens[4];
	uint8_t mask;
	uint32_t slot;

	memset(extent + pos, 0, 9 + 8 * (size_t)n);
	ccfs_checksum(extent, len, sum);
	for (slot = n; slot >= 1; slot--)
		memcpy(extent + pos + 9 + 8 * (size_t)(slot - 1),
		       extent + ((size_t)1 << (slot + 7)) - CCFS_CHECKSUM_LEN,
		       CCFS_CHECKSUM_LEN);

	/* The last commit ID tails of a clean extent are zero; the commit
	 * ID must differ from them in its first and last byte. */
	tails[0] = sum[0];
	tails[1] = sum[CCFS_CHECKSUM_LEN - 1];
	tails[2] = sum[0];
	tails[3] = sum[CCFS_CHECKSUM_LEN - 1];
	sets[0] = extent + head_skip;
	lens[0] = offset;
	sets[1] = extent + pos + 9;
	lens[1] = 128 - (pos + 9);
	sets[2] = sum;
	lens[2] = sizeof(sum);
	sets[3] = tails;
	lens[3] = sizeof(tails);
	mask = distinct_byte(sets, lens, 4);

	for (i = head_skip; i < 128; i++)
		if (i < pos || i >= pos + 9)
			extent[i] ^= mask;
	for (i = 0; i < CCFS_CHECKSUM_LEN; i++)
		commit[i] = sum[i] ^ mask;
	memcpy(extent + pos, commit, CCFS_CHECKSUM_LEN);
	extent[pos + CCFS_CHECKSUM_LEN] = mask;
	for (slot = 1; slot <= n; slot++)
		memcpy(extent + ((size_t)1 << (slot + 7)) - CCFS_CHECKSUM_LEN,
		       commit, CCFS_CHECKSUM_LEN);
}

/*
 * Writes the static image header (static_len bytes): "COCOONFS", format
 * version 1, layout, salt length, integrity data at byte 31, salt, zero
 * padding to the IO block.
 */
int mk_static_header(const struct mk_geometry *g, uint8_t *out)
{
	const struct ccfs_layout *l = &g->layout;

	memset(out, 0, (size_t)g->static_len);
	memcpy(out, "COCOONFS", 8);
	out[8] = 1;
	memcpy(out + CCFS_LAYOUT_OFFSET, l->encoded, CCFS_LAYOUT_LEN);
	out[30] = (uint8_t)g->salt_len;
	memcpy(out + 31 + ccfs_integrity_len(l), g->salt, g->salt_len);
	mk_integrity_apply(out, (size_t)g->static_len, CCFS_MAGIC_LEN, 23, l->n);
	return MK_OK;
}

/*
 * CocoonFs extent pointers, extents lists and encrypted chained extents
 * (upstream extent_ptr.rs, leb128.rs, inode_extents_list.rs,
 * encryption_entities.rs).
 *
 * Encoded extent pointer (LE64): begin << 7 | (len - 1) << 1 | indirect,
 * len 1..64 AB. Encoded block pointer: begin << 7, low 7 bits zero. NIL is
 * all-ones in the code. The specification states all-zeros, but the code
 * writes the images.
 *
 * Extents list: pairs of SLEB128(begin - previous end, mod 2^64) and
 * ULEB128(len != 0), ended by two zero bytes.
 */
#include <string.h>

#include "cocoonfs/ccfs_internal.h"

#define CCFS_MAX_CHAIN_HOPS 4096u

int ccfs_extent_ptr_decode(uint64_t encoded, struct ccfs_extent *ext,
			   int *indirect)
{
	if (encoded == CCFS_NIL) {
		ext->begin = 0;
		ext->len = 0;
		*indirect = 0;
		return 0;
	}
	ext->begin = encoded >> 7;
	ext->len = ((encoded >> 1) & 0x3Fu) + 1;
	*indirect = (int)(encoded & 1u);
	if (ext->begin == 0) {
		tb_err("cocoonfs: extent pointer 0x%llx starts at AB 0",
		       (unsigned long long)encoded);
		return TPMBOOT_E_COCOONFS_EXTENTS;
	}
	return 0;
}

int ccfs_block_ptr_decode(uint64_t encoded, uint64_t *begin_ab)
{
	if (encoded == CCFS_NIL) {
		*begin_ab = CCFS_NIL;
		return 0;
	}
	if ((encoded & 0x7Fu) != 0 || (encoded >> 7) == 0) {
		tb_err("cocoonfs: invalid block pointer 0x%llx",
		       (unsigned long long)encoded);
		return TPMBOOT_E_COCOONFS_EXTENTS;
	}
	*begin_ab = encoded >> 7;
	return 0;
}

static int leb128_read(const uint8_t *buf, size_t len, size_t *pos,
		       uint64_t *value, int is_signed)
{
	uint64_t v = 0;
	uint32_t shift = 0;
	uint8_t byte;

	do {
		if (*pos >= len || shift >= 64)
			return TPMBOOT_E_COCOONFS_EXTENTS;
		byte = buf[(*pos)++];
		if (shift == 63 && (byte & 0x7Eu) != 0 &&
		    (!is_signed || (byte & 0x7Fu) != 0x7Fu))
			return TPMBOOT_E_COCOONFS_EXTENTS;
		v |= (uint64_t)(byte & 0x7Fu) << shift;
		shift += 7;
	} while (byte & 0x80u);

	if (is_signed && shift < 64 && (byte & 0x40u))
		v |= ~(uint64_t)0 << shift;
	*value = v;
	return 0;
}

static size_t leb128_write(uint8_t *out, uint64_t v, int is_signed)
{
	size_t n = 0;

	for (;;) {
		uint8_t byte = (uint8_t)(v & 0x7Fu);
		int done;

		if (is_signed) {
			int64_t sv = (int64_t)v;

			/* Arithmetic shift written out, so that no
			 * implementation-defined signed shift is needed. */
			v = (v >> 7) | (sv < 0 ? ~(~(uint64_t)0 >> 7) : 0);
			done = (v == 0 && !(byte & 0x40u)) ||
			       (v == ~(uint64_t)0 && (byte & 0x40u));
		} else {
			v >>= 7;
			done = v == 0;
		}
		if (!done)
			byte |= 0x80u;
		out[n++] = byte;
		if (done)
			return n;
	}
}

/* Decodes an extents list; rejects bytes after the terminator. */
int ccfs_extents_decode(const uint8_t *buf, size_t len, struct ccfs_extents *out)
{
	size_t pos = 0, count = 0, cap = 0;
	uint64_t prev_end = 0;
	struct ccfs_extent *v = NULL;

	out->v = NULL;
	out->count = 0;
	for (;;) {
		uint64_t delta, ext_len;

		if (leb128_read(buf, len, &pos, &delta, 1) != 0 ||
		    leb128_read(buf, len, &pos, &ext_len, 0) != 0)
			goto invalid;
		if (ext_len == 0) {
			if (delta != 0 || pos != len)
				goto invalid;
			break;
		}
		if (count == cap) {
			size_t new_cap = cap ? cap * 2 : 8;
			struct ccfs_extent *nv;

			if (new_cap > CCFS_MAX_EXTENTS) {
				tb_err("cocoonfs: extents list has more than %u "
				       "entries", CCFS_MAX_EXTENTS);
				tb_free(v);
				return TPMBOOT_E_COCOONFS_LIMIT;
			}
			nv = tb_alloc(new_cap * sizeof(*nv));
			if (nv == NULL) {
				tb_free(v);
				return TPMBOOT_E_NO_MEMORY;
			}
			if (count)
				memcpy(nv, v, count * sizeof(*nv));
			tb_free(v);
			v = nv;
			cap = new_cap;
		}
		v[count].begin = prev_end + delta;
		v[count].len = ext_len;
		if (v[count].begin + ext_len < v[count].begin)
			goto invalid;
		prev_end = v[count].begin + ext_len;
		count++;
	}
	if (count == 0)
		goto invalid;
	out->v = v;
	out->count = count;
	return 0;

invalid:
	tb_err("cocoonfs: invalid extents list encoding at byte %u of %u",
	       (unsigned)pos, (unsigned)len);
	tb_free(v);
	return TPMBOOT_E_COCOONFS_EXTENTS;
}

/*
 * Writes the canonical encoding of one list entry (at most 20 bytes) and
 * returns its length. *prev_end tracks the previous extent's end.
 */
size_t ccfs_extent_encode_one(const struct ccfs_extent *ext, uint64_t *prev_end,
			      uint8_t out[20])
{
	size_t n = leb128_write(out, ext->begin - *prev_end, 1);

	n += leb128_write(out + n, ext->len, 0);
	*prev_end = ext->begin + ext->len;
	return n;
}

/* Checks that every extent lies inside the image, after its headers. */
int ccfs_extents_check(const struct ccfs_extents *ext, uint64_t image_ab,
		       uint64_t inode)
{
	size_t i;

	for (i = 0; i < ext->count; i++) {
		const struct ccfs_extent *e = &ext->v[i];

		if (e->begin == 0 || e->len == 0 || e->begin > image_ab ||
		    e->len > image_ab - e->begin) {
			tb_err("cocoonfs: inode %llu extent %u [%llu, +%llu) "
			       "outside the image of %llu AB",
			       (unsigned long long)inode, (unsigned)i,
			       (unsigned long long)e->begin,
			       (unsigned long long)e->len,
			       (unsigned long long)image_ab);
			return TPMBOOT_E_COCOONFS_EXTENTS;
		}
	}
	return 0;
}

void ccfs_extents_free(struct ccfs_extents *ext)
{
	tb_free(ext->v);
	ext->v = NULL;
	ext->count = 0;
}

int ccfs_extents_copy(struct ccfs_extents *dst, const struct ccfs_extents *src)
{
	dst->v = NULL;
	dst->count = 0;
	if (src->count == 0)
		return 0;
	dst->v = tb_alloc(src->count * sizeof(*src->v));
	if (dst->v == NULL)
		return TPMBOOT_E_NO_MEMORY;
	memcpy(dst->v, src->v, src->count * sizeof(*src->v));
	dst->count = src->count;
	return 0;
}

/*
 * Strips the zero blocks and then the PKCS#7 padding from CBC plaintext
 * (len a multiple of 16); *data_len receives the payload length.
 */
int ccfs_cbc_unpad(const uint8_t *plain, size_t len, size_t *data_len)
{
	static const uint8_t zero[CCFS_AES_BLOCK];
	uint8_t pad;
	size_t i;

	while (len >= CCFS_AES_BLOCK &&
	       memcmp(plain + len - CCFS_AES_BLOCK, zero, CCFS_AES_BLOCK) == 0)
		len -= CCFS_AES_BLOCK;
	if (len == 0)
		return TPMBOOT_E_COCOONFS_PADDING;
	pad = plain[len - 1];
	if (pad == 0 || pad > CCFS_AES_BLOCK)
		return TPMBOOT_E_COCOONFS_PADDING;
	for (i = 1; i <= pad; i++) {
		if (plain[len - i] != pad)
			return TPMBOOT_E_COCOONFS_PADDING;
	}
	*data_len = len - pad;
	return 0;
}

/* State of one encrypted chained-extents read. */
struct chain_state {
	uint64_t inode;
	int inline_auth;
	size_t tag_len;
	struct tb_aes_key enc;
	uint8_t mac_key[TB_HASH_MAX_DIGEST];
	uint8_t iv[CCFS_AES_BLOCK];
	uint8_t prev_tag[TB_HASH_MAX_DIGEST];
	uint8_t *payload;
	size_t payload_len, payload_cap;
};

static int chain_append(struct chain_state *st, const uint8_t *data, size_t len)
{
	if (len > CCFS_MAX_CHAIN_BYTES - st->payload_len) {
		tb_err("cocoonfs: inode %llu extents list exceeds %u bytes",
		       (unsigned long long)st->inode, CCFS_MAX_CHAIN_BYTES);
		return TPMBOOT_E_COCOONFS_LIMIT;
	}
	if (st->payload_len + len > st->payload_cap) {
		size_t cap = (st->payload_len + len) * 2;
		uint8_t *p = tb_alloc(cap);

		if (p == NULL)
			return TPMBOOT_E_NO_MEMORY;
		if (st->payload_len)
			memcpy(p, st->payload, st->payload_len);
		tb_free(st->payload);
		st->payload = p;
		st->payload_cap = cap;
	}
	memcpy(st->payload + st->payload_len, data, len);
	st->payload_len += len;
	return 0;
}

/*
 * Checks the inline tag of one extent (upstream encryption_entities.rs):
 * HMAC_preauth(extent with the tag field replaced by zeros (first extent)
 * or the previous tag || [IV for this extent, later extents only] ||
 * AAD || LE64 len(AAD) || BE16 cipher || BE16 key bits || first/later ||
 * 0x00 || 0x05), AAD = LE64 inode || 0x00 || 0x02. The LE64 AAD length and
 * the cipher fields are missing from the specification.
 */
static int chain_check_tag(struct tpmboot_fs *fs, struct chain_state *st,
			   const uint8_t *ext, size_t ext_len, int first,
			   uint64_t where_ab)
{
	const struct ccfs_layout *l = &fs->layout;
	struct tb_hmac_ctx h;
	uint8_t tail[10 + 8 + 4 + 3];
	uint8_t tag[TB_HASH_MAX_DIGEST];
	int ok;

	if (tb_hmac_init(&h, l->preauth_hmac, st->mac_key,
			 l->preauth_digest_len) != 0)
		return TPMBOOT_E_INTERNAL;
	if (first)
		memset(tag, 0, st->tag_len);
	else
		memcpy(tag, st->prev_tag, st->tag_len);
	tb_hmac_update(&h, tag, st->tag_len);
	tb_hmac_update(&h, ext + st->tag_len, ext_len - st->tag_len);
	if (!first)
		tb_hmac_update(&h, st->iv, CCFS_AES_BLOCK);
	tb_store_le64(tail, st->inode);
	tail[8] = 0;
	tail[9] = 2;
	tb_store_le64(tail + 10, 10);
	tb_store_be16(tail + 18, l->cipher_id);
	tb_store_be16(tail + 20, l->cipher_bits);
	tail[22] = first ? 0 : 1;
	tail[23] = 0;
	tail[24] = CCFS_AUTH_CHAINED_EXTENTS;
	tb_hmac_update(&h, tail, sizeof(tail));
	tb_hmac_final(&h, tag);

	ok = tb_ct_memeq(tag, ext, st->tag_len);
	memcpy(st->prev_tag, ext, st->tag_len);
	if (!ok) {
		tb_err("cocoonfs: inode %llu extents list: inline HMAC mismatch "
		       "in the extent at AB %llu", (unsigned long long)st->inode,
		       (unsigned long long)where_ab);
		return TPMBOOT_E_COCOONFS_AUTH;
	}
	return 0;
}

/* Reads, authenticates and decrypts one extent of the chain; *next gets
 * the next extent pointer (CCFS_NIL at the end). */
static int chain_extent(struct tpmboot_fs *fs, struct chain_state *st,
			const struct ccfs_extent *e, int first, uint64_t *next)
{
	size_t ext_len = (size_t)e->len << fs->layout.ab_log2;
	size_t ct_off, ct_len, data_len;
	uint8_t *buf;
	int rc;

	buf = tb_alloc(ext_len);
	if (buf == NULL)
		return TPMBOOT_E_NO_MEMORY;

	/* The tree and bitmap lists are read before the tree can
	 * authenticate anything, so their inline tags protect them. */
	if (st->inline_auth)
		rc = ccfs_dev_read(&fs->dev, e->begin << fs->layout.ab_log2,
				   buf, ext_len);
	else
		rc = ccfs_auth_read(fs, e->begin << fs->layout.ab_log2, buf,
				    ext_len);
	if (rc == 0 && st->inline_auth)
		rc = chain_check_tag(fs, st, buf, ext_len, first, e->begin);
	if (rc != 0)
		goto out;

	if (first) {
		memcpy(st->iv, buf + st->tag_len, CCFS_AES_BLOCK);
		ct_off = ccfs_roundup(st->tag_len + CCFS_AES_BLOCK, 4);
	} else {
		ct_off = ccfs_roundup(st->tag_len, 4);
	}
	if (ext_len < ct_off + CCFS_AES_BLOCK) {
		rc = TPMBOOT_E_COCOONFS_EXTENTS;
		tb_err("cocoonfs: inode %llu extents list extent at AB %llu too "
		       "short", (unsigned long long)st->inode,
		       (unsigned long long)e->begin);
		goto out;
	}
	ct_len = ext_len - ct_off;
	tb_aes_cbc_decrypt(&st->enc, st->iv, buf + ct_off, buf + ct_off, ct_len);

	*next = tb_load_le64(buf + ct_off);
	if (*next == CCFS_NIL) {
		rc = ccfs_cbc_unpad(buf + ct_off, ct_len, &data_len);
		if (rc != 0 || data_len < 8) {
			rc = TPMBOOT_E_COCOONFS_PADDING;
			tb_err("cocoonfs: inode %llu extents list: invalid "
			       "padding in the last extent at AB %llu",
			       (unsigned long long)st->inode,
			       (unsigned long long)e->begin);
			goto out;
		}
	} else {
		data_len = ct_len;
		if (*next & 1u) {
			rc = TPMBOOT_E_COCOONFS_EXTENTS;
			tb_err("cocoonfs: inode %llu extents list: continuation "
			       "pointer has the indirect bit set",
			       (unsigned long long)st->inode);
			goto out;
		}
	}
	rc = chain_append(st, buf + ct_off + 8, data_len - 8);
out:
	tb_free_secret(buf, ext_len);
	return rc;
}

/*
 * Reads the encrypted chained extents holding an inode's extents list,
 * starting at the indirect pointer head_ptr, and decodes the list. The
 * lists of inodes 1 and 2 carry inline HMACs; all others are read through
 * the authentication tree.
 */
int ccfs_chained_read(struct tpmboot_fs *fs, uint64_t inode, uint64_t head_ptr,
		      struct ccfs_extents *out)
{
	const struct ccfs_layout *l = &fs->layout;
	struct chain_state *st;
	uint64_t ptr = head_ptr;
	uint32_t hop;
	int rc;

	/* On the heap: the AES key schedule alone is about 1.5 KiB. */
	st = tb_calloc(1, sizeof(*st));
	if (st == NULL)
		return TPMBOOT_E_NO_MEMORY;
	st->inode = inode;
	st->inline_auth = inode == CCFS_INODE_AUTH_TREE ||
			 inode == CCFS_INODE_ALLOC_BITMAP;
	st->tag_len = st->inline_auth ? l->preauth_digest_len : 0;
	rc = ccfs_aes_subkey(l, fs->keys.root, inode,
			     CCFS_SUBDOMAIN_EXTENTS_LIST, &st->enc);
	if (rc == 0 && st->inline_auth)
		rc = ccfs_subkey(l, fs->keys.root, inode,
				 CCFS_SUBDOMAIN_EXTENTS_LIST,
				 CCFS_KEY_PREAUTH_CCA, st->mac_key,
				 l->preauth_digest_len);

	for (hop = 0; rc == 0; hop++) {
		struct ccfs_extent e;
		int indirect;

		if (hop == CCFS_MAX_CHAIN_HOPS) {
			tb_err("cocoonfs: inode %llu extents list has more than "
			       "%u extents", (unsigned long long)inode,
			       CCFS_MAX_CHAIN_HOPS);
			rc = TPMBOOT_E_COCOONFS_LIMIT;
			break;
		}
		rc = ccfs_extent_ptr_decode(ptr, &e, &indirect);
		if (rc == 0 && (e.len == 0 || e.begin > fs->image_ab ||
				e.len > fs->image_ab - e.begin)) {
			tb_err("cocoonfs: inode %llu extents list pointer 0x%llx "
			       "outside the image", (unsigned long long)inode,
			       (unsigned long long)ptr);
			rc = TPMBOOT_E_COCOONFS_EXTENTS;
		}
		if (rc == 0)
			rc = chain_extent(fs, st, &e, hop == 0, &ptr);
		if (rc != 0 || ptr == CCFS_NIL)
			break;
	}
	if (rc == 0) {
		rc = ccfs_extents_decode(st->payload, st->payload_len, out);
		if (rc != 0)
			tb_err("cocoonfs: inode %llu: invalid extents list",
			       (unsigned long long)inode);
	}

	tb_aes_key_wipe(&st->enc);
	tb_memzero(st->mac_key, sizeof(st->mac_key));
	tb_free_secret(st->payload, st->payload_cap);
	tb_free_secret(st, sizeof(*st));
	return rc;
}

/* Resolves an inode's extent pointer into its data extents. */
int ccfs_inode_extents(struct tpmboot_fs *fs, uint64_t inode, uint64_t ptr,
		       struct ccfs_extents *out)
{
	struct ccfs_extent e;
	int indirect, rc;

	rc = ccfs_extent_ptr_decode(ptr, &e, &indirect);
	if (rc == 0 && e.len == 0) {
		tb_err("cocoonfs: inode %llu has a NIL extent pointer",
		       (unsigned long long)inode);
		rc = TPMBOOT_E_COCOONFS_EXTENTS;
	}
	if (rc != 0)
		return rc;

	if (indirect) {
		rc = ccfs_chained_read(fs, inode, ptr, out);
	} else {
		out->v = tb_alloc(sizeof(*out->v));
		if (out->v == NULL)
			return TPMBOOT_E_NO_MEMORY;
		out->v[0] = e;
		out->count = 1;
	}
	if (rc == 0)
		rc = ccfs_extents_check(out, fs->image_ab, inode);
	if (rc != 0)
		ccfs_extents_free(out);
	return rc;
}

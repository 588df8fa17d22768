/*
 * Internal types and functions of the CocoonFs reader. Names follow the
 * CocoonFs format specification (cocoon-tpm, storage/src/fs/cocoonfs/
 * cocoonfs-format.md) where the implementation and the specification
 * agree. Where they disagree, the upstream code (which writes the images)
 * is followed, and a comment at that spot names the difference.
 *
 * Units: "AB" is an Allocation Block, "IOB" an IO Block, "ATDB" an
 * Authentication Tree Data Block. Locations on the image are AB indices.
 */
#ifndef CCFS_INTERNAL_H
#define CCFS_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "cocoonfs/tb_cocoonfs.h"
#include "core/tb_core.h"
#include "crypto/tb_crypto.h"

#define CCFS_NIL UINT64_C(0xFFFFFFFFFFFFFFFF)

/* Static image header field offsets (format version 1). */
#define CCFS_MAGIC_LEN 8u
#define CCFS_LAYOUT_OFFSET 9u
#define CCFS_LAYOUT_LEN 21u
#define CCFS_CHECKSUM_LEN 8u

/* Authentication subject identifiers closing every digested context. */
#define CCFS_AUTH_IMAGE_CONTEXT 1u
#define CCFS_AUTH_TREE_ROOT_NODE 2u
#define CCFS_AUTH_TREE_DESCENDANT_NODE 3u
#define CCFS_AUTH_TREE_DATA_BLOCK 4u
#define CCFS_AUTH_CHAINED_EXTENTS 5u
#define CCFS_AUTH_INODE_INDEX_NODE 6u

/* Key purposes (KDFa label) and inode key subdomains. Upstream's code has
 * EXTENTS_LIST = 1 and DATA = 2; the specification swaps them. */
#define CCFS_KEY_DERIVATION 1u
#define CCFS_KEY_AUTH_ROOT 2u
#define CCFS_KEY_AUTH_DATA 3u
#define CCFS_KEY_PREAUTH_CCA 4u
#define CCFS_KEY_ENCRYPTION 5u
#define CCFS_SUBDOMAIN_EXTENTS_LIST 1u
#define CCFS_SUBDOMAIN_DATA 2u

/* Special inodes. */
#define CCFS_INODE_AUTH_TREE 1u
#define CCFS_INODE_ALLOC_BITMAP 2u
#define CCFS_INODE_INDEX_ROOT 3u

#define CCFS_AES_BLOCK 16u

/*
 * Limits of this reader, chosen so that every buffer stays small on the
 * SVSM heap. Images made with the upstream CLI defaults are far below them.
 */
#define CCFS_MAX_AB_LOG2 12u          /* Allocation Block <= 4 KiB */
#define CCFS_MAX_UNIT_LOG2 16u        /* tree node, ATDB, bitmap block, index node <= 64 KiB */
#define CCFS_MAX_EXTENTS 65536u       /* entries in one extents list */
#define CCFS_MAX_CHAIN_BYTES (1u << 20) /* decoded chained-extents payload */
#define CCFS_MAX_AUX_EXTENTS 256u
#define CCFS_MAX_AUX_BYTES (1u << 20)
#define CCFS_MAX_TREE_LEVELS 16u

/* Decoded static image layout and algorithms. */
struct ccfs_layout {
	uint8_t encoded[CCFS_LAYOUT_LEN]; /* verbatim bytes 9..29 */
	uint32_t ab_log2;        /* log2 of the AB size in bytes */
	uint32_t iob_log2;       /* log2 of the IOB size in bytes */
	uint32_t iob_ab_log2;    /* io_block_allocation_blocks_log2 */
	uint32_t node_log2;      /* log2 of the auth tree node size in bytes */
	uint32_t atdb_ab_log2;   /* auth_tree_data_block_allocation_blocks_log2 */
	uint32_t bitmap_block_log2; /* log2 of the bitmap file block in bytes */
	uint32_t leaf_log2;      /* log2 of the index leaf node size in bytes */
	uint32_t internal_log2;  /* log2 of the index internal node size */
	uint32_t n;              /* log2 of the IOB size in units of 128 B */
	uint16_t node_hash_id, data_hmac_id, root_hmac_id, preauth_hmac_id,
		kdf_hash_id, cipher_id, cipher_bits;
	enum tb_hash_alg node_hash, data_hmac, root_hmac, preauth_hmac,
		kdf_hash;
	size_t node_digest_len, data_digest_len, root_digest_len,
		preauth_digest_len, kdf_digest_len;
	size_t key_len;          /* block cipher key length in bytes */
};

/* An extent: begin and length in ABs. */
struct ccfs_extent {
	uint64_t begin;
	uint64_t len;
};

struct ccfs_extents {
	struct ccfs_extent *v;
	size_t count;
};

/* Device access through tb_platform()->block_read, any byte range. */
struct ccfs_dev {
	uint32_t block_log2;
	uint64_t block_count;
	uint8_t *bounce; /* one device block */
};

struct ccfs_aux_record {
	uint8_t uuid[TB_COCOONFS_UUID_LEN];
	size_t offset; /* of the data in tb_cocoonfs_meta.aux_payload */
	size_t len;
};

struct tb_cocoonfs_meta {
	struct ccfs_dev dev;
	enum tb_cocoonfs_state state;
	struct ccfs_layout layout;
	uint8_t salt[255];
	uint32_t salt_len;
	uint64_t static_len;      /* bytes, IOB multiple */
	uint64_t header_end_ab;   /* first AB after the mutable header */
	uint64_t journal_ab;      /* journal log head extent */
	uint64_t journal_len_ab;
	uint64_t aux_heads[2];    /* encoded extent pointers actually used */
	struct ccfs_extents aux_extents; /* every aux extent of both groups */
	uint8_t *aux_payload;     /* active group's payload, decoded */
	size_t aux_payload_len;
	struct ccfs_aux_record *aux;
	size_t aux_count;
};

/* One cached, authenticated auth tree node: its digest entries only. */
struct ccfs_node_slot {
	uint32_t level;     /* 0 = leaf */
	uint64_t first;     /* first covered data block */
	uint64_t last_use;
	int valid;
	uint8_t *entries;
};

struct ccfs_tree {
	uint32_t c, d, a;          /* log2 entries per internal/leaf node, ATDB in AB */
	uint32_t levels;
	uint64_t node_count;       /* nodes stored */
	uint64_t tree_ab;          /* total ABs of the tree extents */
	uint64_t data_blocks;      /* data blocks covered (image end) */
	size_t leaf_entries_len, internal_entries_len;
	uint8_t *root;             /* authenticated root entries */
	struct ccfs_node_slot slots[2 * CCFS_MAX_TREE_LEVELS];
	uint32_t slot_count;
	uint64_t use_clock;
	uint8_t *scratch;          /* node read buffer */
	uint64_t subtree_nodes[CCFS_MAX_TREE_LEVELS]; /* full subtree sizes */
};

/* Subkeys that every read needs, derived once at open. */
struct ccfs_keys {
	uint8_t root[TB_HASH_MAX_DIGEST];
	uint8_t tree_data[TB_HASH_MAX_DIGEST];  /* (1, 0, AUTH_DATA) */
	uint8_t tree_root[TB_HASH_MAX_DIGEST];  /* (1, 0, AUTH_ROOT) */
	uint8_t index_preauth[TB_HASH_MAX_DIGEST]; /* (3, 2, PREAUTH) */
	struct tb_aes_key index_enc;            /* (3, 2, ENCRYPTION) */
	struct tb_aes_key bitmap_enc;           /* (2, 2, ENCRYPTION) */
	/* HMAC state after absorbing tree_data, copied for every data block
	 * so that the key is not hashed again each time. */
	struct tb_hmac_ctx tree_data_hmac;
};

/* Work area for authenticated reads. */
#define CCFS_WORK_BYTES (32u * 1024u)

struct tpmboot_fs {
	const struct tb_cocoonfs_meta *meta_borrowed;
	struct ccfs_dev dev;
	struct ccfs_layout layout;
	uint64_t header_end_ab, journal_ab, journal_len_ab;
	struct ccfs_extents aux_extents; /* copy of the meta's list */

	/* Mutable image header. */
	uint8_t root_hmac[TB_HASH_MAX_DIGEST];
	uint8_t update_counter[CCFS_AES_BLOCK];
	uint8_t entry_leaf_preauth[TB_HASH_MAX_DIGEST];
	uint8_t entry_leaf_ptr_raw[8];
	uint64_t entry_leaf_ab;
	uint64_t image_ab;

	struct ccfs_keys keys;
	struct ccfs_extents tree_extents;   /* inode 1 */
	struct ccfs_extents bitmap_extents; /* inode 2 */
	uint64_t index_root_ptr;            /* inode 3, direct extent pointer */
	struct ccfs_tree tree;

	uint64_t *bitmap;       /* NULL while the bitmap itself is loaded */
	uint64_t bitmap_words;

	uint8_t *work;          /* CCFS_WORK_BYTES, data-block aligned reads */
	size_t work_len;
	uint8_t *block_cache;   /* last authenticated data block */
	uint64_t block_cache_ab; /* its first physical AB, CCFS_NIL if none */
	uint8_t *node_buf;      /* one inode index node */
	uint8_t *entry_leaf_raw; /* entry leaf as pre-authenticated at open */
	struct tb_aes_key file_key; /* data key of the file being read */
};

/* ccfs_checksum.c: CRC-32 pair and the extent integrity protections. */
void ccfs_checksum(const uint8_t *data, size_t len, uint8_t out[CCFS_CHECKSUM_LEN]);
void ccfs_checksum_update(uint32_t crc[2], const uint8_t *data, size_t len);
int ccfs_integrity_verify(uint8_t *extent, size_t len, size_t head_skip,
			  size_t offset, uint32_t n,
			  enum tpmboot_log_level level, const char *what,
			  uint64_t where_ab);

/* ccfs_layout.c */
int ccfs_layout_decode(struct ccfs_layout *layout, const uint8_t encoded[CCFS_LAYOUT_LEN]);
size_t ccfs_integrity_len(const struct ccfs_layout *layout);
uint64_t ccfs_roundup(uint64_t v, uint32_t log2);

/* ccfs_read_path.c: device access and authenticated reads. */
int ccfs_dev_init(struct ccfs_dev *dev);
void ccfs_dev_fini(struct ccfs_dev *dev);
int ccfs_dev_read(struct ccfs_dev *dev, uint64_t offset, void *buf, size_t len);
typedef int (*ccfs_sink_fn)(void *ctx, const uint8_t *data, size_t len);
int ccfs_auth_stream(struct tpmboot_fs *fs, uint64_t begin_ab, uint64_t len_ab,
		     ccfs_sink_fn sink, void *ctx);
int ccfs_auth_read(struct tpmboot_fs *fs, uint64_t byte_offset, uint8_t *out,
		   size_t len);

/* ccfs_static_header.c */
int ccfs_static_header_read(struct tb_cocoonfs_meta *meta);

/* ccfs_mutable_header.c */
int ccfs_journal_check(struct tb_cocoonfs_meta *meta, uint8_t aux_pair[16]);
int ccfs_mutable_header_aux_pair(struct tb_cocoonfs_meta *meta, uint8_t aux_pair[16]);
int ccfs_mutable_header_read(struct tpmboot_fs *fs, const struct tb_cocoonfs_meta *meta);
size_t ccfs_mutable_header_len(const struct ccfs_layout *layout);

/* ccfs_aux_metadata.c */
int ccfs_aux_read(struct tb_cocoonfs_meta *meta, const uint8_t aux_pair[16]);
int ccfs_aux_read_mkfsinfo(struct tb_cocoonfs_meta *meta, uint64_t blob_offset,
			   uint64_t blob_len, uint64_t aux_len);
int ccfs_aux_decode(struct tb_cocoonfs_meta *meta, uint8_t *payload, size_t len);

/* ccfs_keys.c */
int ccfs_root_key(const struct tb_cocoonfs_meta *meta, const uint8_t *raw,
		  size_t raw_len, uint8_t *root, size_t root_len);
int ccfs_subkey(const struct ccfs_layout *layout, const uint8_t *root,
		uint64_t domain, uint32_t subdomain, uint8_t purpose,
		uint8_t *out, size_t out_len);
int ccfs_aes_subkey(const struct ccfs_layout *layout, const uint8_t *root,
		    uint64_t domain, uint32_t subdomain, struct tb_aes_key *key);
int ccfs_keys_derive(struct tpmboot_fs *fs, const struct tb_cocoonfs_meta *meta,
		     const uint8_t *raw, size_t raw_len);
void ccfs_keys_wipe(struct ccfs_keys *keys);

/* ccfs_extents.c */
int ccfs_extent_ptr_decode(uint64_t encoded, struct ccfs_extent *ext, int *indirect);
int ccfs_block_ptr_decode(uint64_t encoded, uint64_t *begin_ab);
int ccfs_extents_decode(const uint8_t *buf, size_t len, struct ccfs_extents *out);
size_t ccfs_extent_encode_one(const struct ccfs_extent *ext, uint64_t *prev_end,
			      uint8_t out[20]);
int ccfs_extents_check(const struct ccfs_extents *ext, uint64_t image_ab,
		       uint64_t inode);
void ccfs_extents_free(struct ccfs_extents *ext);
int ccfs_extents_copy(struct ccfs_extents *dst, const struct ccfs_extents *src);
int ccfs_cbc_unpad(const uint8_t *plain, size_t len, size_t *data_len);
int ccfs_chained_read(struct tpmboot_fs *fs, uint64_t inode, uint64_t head_ptr,
		      struct ccfs_extents *out);
int ccfs_inode_extents(struct tpmboot_fs *fs, uint64_t inode, uint64_t ptr,
		       struct ccfs_extents *out);

/* ccfs_auth_tree.c */
int ccfs_tree_init(struct tpmboot_fs *fs);
void ccfs_tree_fini(struct ccfs_tree *tree);
int ccfs_tree_verify_root(struct tpmboot_fs *fs);
int ccfs_tree_leaf_entry(struct tpmboot_fs *fs, uint64_t block, const uint8_t **entry);
int ccfs_data_block_index(const struct tpmboot_fs *fs, uint64_t phys_ab,
			  uint64_t *block);

/* ccfs_alloc_bitmap.c */
int ccfs_bitmap_load(struct tpmboot_fs *fs);
int ccfs_ab_included(const struct tpmboot_fs *fs, uint64_t ab);

/* ccfs_inode_index.c */
int ccfs_index_bootstrap(struct tpmboot_fs *fs, uint8_t *raw_leaf);
int ccfs_index_recheck_entry_leaf(struct tpmboot_fs *fs, const uint8_t *raw_leaf);
int ccfs_index_lookup(struct tpmboot_fs *fs, uint64_t inode, uint64_t *ptr,
		      uint32_t *flags);
int ccfs_index_walk(struct tpmboot_fs *fs, tb_cocoonfs_visit_fn visit, void *ctx);
int ccfs_index_parse_node(const uint8_t *payload, size_t b, int leaf);

#endif /* CCFS_INTERNAL_H */

/*
 * tpmboot-mkimage internals: a host-side CocoonFs (format version 1)
 * writer. It formats images in memory in one pass, changes the auxiliary
 * metadata of existing images without the key, writes filesystem-creation
 * ("mkfsinfo") headers and provisions vTPM images with a wrapped key.
 *
 * The on-disk format follows the upstream cocoon-tpm code
 * (storage/src/fs/cocoonfs/), which is what the module's reader in
 * svsm-module/cocoonfs/ reads; docs/tpmboot-mkimage.md lists where this
 * tool's choices differ from upstream's.
 *
 * Every function returns MK_OK or a negative MK_E_* code and prints one
 * "tpmboot-mkimage: ..." line to stderr naming what failed.
 */
#ifndef MK_H
#define MK_H

#include <stddef.h>
#include <stdint.h>

#include "cocoonfs/ccfs_internal.h"

enum mk_error {
	MK_OK = 0,
	MK_E_USAGE = -1,      /* invalid option or value */
	MK_E_IO = -2,         /* file read, write or rename failed */
	MK_E_NOSPACE = -3,    /* image or aux metadata reserve too small */
	MK_E_FORMAT = -4,     /* existing image is malformed or unsupported */
	MK_E_CRYPTO = -5,     /* a crypto primitive failed */
	MK_E_NOT_FOUND = -6,  /* no such aux entry */
	MK_E_WRAP = -7,       /* key wrapping (KBS, KEK or RSA) failed */
	MK_E_NO_MEMORY = -8,
};

#define MK_UUID_LEN 16u
#define MK_AUX_DEFAULT_RESERVE 1024u
#define MK_RESERVE_DISABLED UINT64_MAX

/* One file to put into a new image. */
struct mk_file {
	uint64_t inode;
	uint32_t flags; /* 8 application bits */
	const uint8_t *data;
	size_t len;
};

/* One auxiliary metadata entry. */
struct mk_aux_entry {
	uint8_t uuid[MK_UUID_LEN];
	const uint8_t *data;
	size_t len;
};

/* Format parameters, as the upstream CLI names them. Sizes are log2 of
 * bytes; zero fields take the upstream CLI defaults in mk_params_init(). */
struct mk_params {
	uint64_t image_size;        /* bytes */
	unsigned strength;          /* 128, 192 or 256 */
	uint32_t ab_log2;           /* allocation block, default 128 B */
	uint32_t iob_log2;          /* IO block, default 512 B */
	uint32_t atdb_log2;         /* auth tree data block, default = IO block */
	uint32_t node_log2;         /* auth tree node, default 1 KiB */
	uint32_t bitmap_log2;       /* allocation bitmap file block, 512 B */
	uint32_t leaf_log2;         /* inode index leaf node, 128 B */
	uint32_t internal_log2;     /* inode index internal node, 128 B */
	uint8_t salt[255];
	size_t salt_len;
	uint64_t aux_reserve;       /* bytes, or MK_RESERVE_DISABLED */
	int randomize;              /* fill unallocated space with random bytes */
};

/* Derived geometry of an image (all locations in ABs). */
struct mk_geometry {
	struct ccfs_layout layout;  /* decoded by the reader's own code */
	uint8_t salt[255];
	size_t salt_len;
	uint64_t static_len;        /* bytes */
	uint64_t header_end_ab;
	uint64_t journal_ab, journal_len_ab;
	uint32_t align_log2;        /* max(IO block, ATDB) in ABs */
	uint64_t image_ab;
};

/* mk_util.c */
int mk_fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int mk_platform_attach(void);
int mk_random(uint8_t *buf, size_t len);
int mk_read_file(const char *path, uint8_t **data, size_t *len);
/*
 * Writes data to a temporary file next to path, syncs it and renames it
 * over path, so that a failure never leaves a half-written file. With
 * private_mode the file is created 0600 (for key material); otherwise an
 * existing file keeps its mode and a new one gets 0644. An existing path
 * must be a regular file, and a symbolic link is followed.
 */
int mk_write_file_atomic(const char *path, const uint8_t *data, size_t len,
			 int private_mode);

/* A file written and synced next to its path but not yet renamed over
 * it, so that a command can write several files all or none. */
struct mk_staged_file {
	char *target;   /* resolved final path */
	char *tmp;      /* temporary file next to it */
};
/* The first half of mk_write_file_atomic(): on error nothing is left. */
int mk_stage_file(const char *path, const uint8_t *data, size_t len,
		  int private_mode, struct mk_staged_file *sf);
/* Renames the staged file over its path and frees sf. After a failed
 * rename the temporary file stays and the error names it. */
int mk_commit_file(struct mk_staged_file *sf);
/* Removes the temporary file and frees sf. */
void mk_discard_file(struct mk_staged_file *sf);
int mk_parse_hex(const char *hex, uint8_t *out, size_t cap, size_t *len);
int mk_parse_uuid(const char *text, uint8_t uuid[MK_UUID_LEN]);
void mk_format_uuid(const uint8_t uuid[MK_UUID_LEN], char out[37]);
int mk_parse_size(const char *text, uint64_t *bytes);
int mk_parse_u64(const char *text, uint64_t *value);
void mk_wipe(void *p, size_t len);

/* mk_geometry.c */
void mk_params_init(struct mk_params *p);
int mk_layout_encode(const struct mk_params *p, uint8_t out[CCFS_LAYOUT_LEN]);
int mk_geometry_init(struct mk_geometry *g, const uint8_t layout[CCFS_LAYOUT_LEN],
		     const uint8_t *salt, size_t salt_len);
uint64_t mk_tree_node_count(const struct ccfs_layout *l, uint64_t image_ab,
			    uint64_t *remainder_ab);
void mk_integrity_apply(uint8_t *extent, size_t len, size_t head_skip,
			size_t offset, uint32_t n);
int mk_static_header(const struct mk_geometry *g, uint8_t *out);
size_t mk_mutable_header_len(const struct ccfs_layout *l);

/* mk_aux.c */
struct mk_aux {
	uint8_t *enc;     /* entries || terminator record */
	size_t len;
};
int mk_aux_build(struct mk_aux *aux, const struct mk_aux_entry *entries,
		 size_t count, uint64_t reserve);
int mk_aux_decode(struct mk_aux *aux, const uint8_t *buf, size_t len);
int mk_aux_add(struct mk_aux *aux, const uint8_t uuid[MK_UUID_LEN],
	       const uint8_t *data, size_t len);
int mk_aux_remove(struct mk_aux *aux, const uint8_t uuid[MK_UUID_LEN],
		  size_t index);
int mk_aux_is_trivial(const struct mk_aux *aux);
uint64_t mk_aux_reserve(const struct mk_aux *aux);
uint64_t mk_aux_storage_len(const struct mk_aux *aux);
size_t mk_aux_count(const struct mk_aux *aux);
int mk_aux_get(const struct mk_aux *aux, size_t index, struct mk_aux_entry *e);
void mk_aux_free(struct mk_aux *aux);

/* Aux metadata extents of a formatted image, in chain order from the
 * head of update group 0. */
#define MK_AUX_MAX_EXTENTS 256u
struct mk_aux_chain {
	struct ccfs_extent ext[MK_AUX_MAX_EXTENTS];
	size_t count;
	size_t group1_begin;      /* count when there is no group 1 */
};
size_t mk_aux_extent_payload(const struct mk_geometry *g,
			     const struct ccfs_extent *e, int is_head);
int mk_aux_chain_plan(const struct mk_geometry *g, uint64_t payload_len,
		      uint64_t *first_free_ab, struct mk_aux_chain *chain,
		      int two_groups);
void mk_aux_extent_write(const struct mk_geometry *g, uint8_t *image,
			 const struct mk_aux_chain *chain, size_t index,
			 int is_head, uint8_t state, const uint8_t *payload,
			 size_t payload_len);
void mk_aux_group_write(const struct mk_geometry *g, uint8_t *image,
			const struct mk_aux_chain *chain, int group,
			uint8_t state, const struct mk_aux *aux);

/* mk_aux_offline.c: keyless aux update of a formatted image. */
enum mk_aux_op { MK_AUX_ADD, MK_AUX_REMOVE };
int mk_aux_offline_update(uint8_t *image, size_t image_len, enum mk_aux_op op,
			  const uint8_t uuid[MK_UUID_LEN], const uint8_t *data,
			  size_t data_len, size_t index);
int mk_aux_read_image(const uint8_t *image, size_t image_len,
		      struct mk_aux *aux, int *unformatted);

/* mk_mkfs.c */
int mk_mkfs(const struct mk_params *p, const uint8_t *key, size_t key_len,
	    const struct mk_file *files, size_t file_count,
	    const struct mk_aux_entry *aux, size_t aux_count,
	    uint8_t **image_out, size_t *image_len);

/* mk_mkfsinfo.c */
int mk_mkfsinfo(const struct mk_params *p, const struct mk_aux_entry *aux,
		size_t aux_count, uint8_t **image_out, size_t *image_len);

/* mk_index.c: the inode index B+-tree. */
struct mk_index_entry {
	uint64_t inode;
	uint64_t ptr;     /* encoded extent pointer */
	uint32_t flags;
};

/* mk_http.c */
int mk_http_post(const char *url, const char *path, const char *bearer,
		 const char *body, char **response, size_t *response_len);

/* mk_provision.c */
struct mk_provision {
	struct mk_params params;
	const char *image_path;
	const char *nvchip_path;        /* NULL: fresh random 16 KiB */
	const uint8_t *key1;            /* NULL: fresh random 32 bytes */
	size_t key1_len;
	const char *wrap_mode;          /* kbs-unwrap, resource, trustee-pkcs11 */
	const char *kbs_url;
	const char *kbs_token_file;
	const char *key_id;
	const char *kek_file;
	const char *resource;
	const char *rsa_pub_file;
	const char *key1_out;
	int print_key1;
};
int mk_provision_run(const struct mk_provision *pv);

/*
 * Builds a wrapped-key entry for Key1 bound to the image identity id, in
 * the wrap mode and with the wrap options of pv (docs/wrapped-key-entry.md).
 * entry holds TB_WRAPKEY_MAX_LEN bytes.
 */
struct tb_wrapkey_image_id;
int mk_build_wrapped_entry(const struct mk_provision *pv,
			   const struct tb_wrapkey_image_id *id,
			   const uint8_t *key1, size_t key1_len, uint8_t *entry,
			   size_t *entry_len);

/* Reads the salt and encoded layout of a formatted image's static header
 * (no key needed). */
int mk_image_identity(const uint8_t *image, size_t image_len,
		      struct tb_wrapkey_image_id *id, uint8_t *salt_buf);

/*
 * Adds a wrapped-key entry for pv->key1 to the existing image at
 * pv->image_path without the image's key: the keyless aux update path.
 */
int mk_add_wrapped_key_run(const struct mk_provision *pv);

#endif /* MK_H */

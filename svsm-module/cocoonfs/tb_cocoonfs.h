/*
 * Read-only CocoonFs (format version 1) reader.
 *
 * Two stages, matching the boot flow:
 *   1. tb_cocoonfs_probe() reads the static image header and the plaintext
 *      auxiliary filesystem metadata without the key. The caller finds the
 *      wrapped disk key among the aux entries by UUID.
 *   2. tb_cocoonfs_open() derives the keys from the raw filesystem key and
 *      authenticates the image against the root HMAC in the mutable header.
 *      Every byte read afterwards is authenticated through the Merkle tree
 *      before it is decrypted or parsed.
 *
 * The block device is the platform's block_read callback (tb_platform()).
 * The reader never writes to the device. Every function returns 0 or a
 * TPMBOOT_E_* code and logs one tb_err line on failure.
 */
#ifndef TB_COCOONFS_H
#define TB_COCOONFS_H

#include <stddef.h>
#include <stdint.h>

#include "tpmboot.h"

#define TB_COCOONFS_UUID_LEN 16u
/* Length of the encoded image layout (static header bytes 9 to 29). */
#define TB_COCOONFS_LAYOUT_LEN 21u

/* Result of tb_cocoonfs_probe(): the headers and aux metadata read
 * without the key. Opaque. */
struct tb_cocoonfs_meta;

enum tb_cocoonfs_state {
	/* Regular "COCOONFS" header; the image can be opened. */
	TB_COCOONFS_FORMATTED = 0,
	/* Only a "CCFSMKFS" filesystem-creation header: opening returns
	 * TPMBOOT_E_COCOONFS_UNFORMATTED. The aux metadata is readable. */
	TB_COCOONFS_UNFORMATTED = 1,
	/* A valid journal head is present: opening returns
	 * TPMBOOT_E_COCOONFS_JOURNAL_ACTIVE. The aux metadata is read
	 * through the journal head's pointers, as upstream does. */
	TB_COCOONFS_JOURNAL_ACTIVE = 2,
};

/* One auxiliary metadata record; data points into the meta object and
 * stays valid until tb_cocoonfs_meta_free(). */
struct tb_cocoonfs_aux_entry {
	uint8_t uuid[TB_COCOONFS_UUID_LEN]; /* bytes in textual order */
	const uint8_t *data;
	size_t len;
};

/*
 * Reads and checks the image headers and the aux metadata from the
 * platform's block device. On success *meta_out is a new object that the
 * caller frees with tb_cocoonfs_meta_free(). Unformatted images and images
 * with an active journal succeed here; see tb_cocoonfs_meta_state().
 */
int tb_cocoonfs_probe(struct tb_cocoonfs_meta **meta_out);
void tb_cocoonfs_meta_free(struct tb_cocoonfs_meta *meta);

enum tb_cocoonfs_state tb_cocoonfs_meta_state(const struct tb_cocoonfs_meta *meta);

/* Points *salt at the image's salt (0 to 255 bytes, owned by meta) and
 * copies the encoded image layout: the identity a wrapped key binds to. */
void tb_cocoonfs_image_id(const struct tb_cocoonfs_meta *meta,
			  const uint8_t **salt, size_t *salt_len,
			  uint8_t layout[TB_COCOONFS_LAYOUT_LEN]);

/* Number of aux entries, in on-disk order (sorted by UUID). */
size_t tb_cocoonfs_aux_count(const struct tb_cocoonfs_meta *meta);

/* Fills *entry with the aux entry at index (0-based). */
int tb_cocoonfs_aux_get(const struct tb_cocoonfs_meta *meta, size_t index,
			struct tb_cocoonfs_aux_entry *entry);

/*
 * Finds the nth entry (0 for the first) whose UUID equals uuid; UUIDs may
 * repeat. Returns TPMBOOT_E_COCOONFS_NO_AUX_ENTRY when there is none.
 */
int tb_cocoonfs_aux_find(const struct tb_cocoonfs_meta *meta,
			 const uint8_t uuid[TB_COCOONFS_UUID_LEN], size_t nth,
			 struct tb_cocoonfs_aux_entry *entry);

/*
 * Opens the image described by meta with the raw filesystem key (any
 * length). meta is only borrowed: its headers and aux extents are reused,
 * so what was attested is what gets opened. On success *fs_out is
 * a handle for tb_cocoonfs_close(). A wrong key gives
 * TPMBOOT_E_COCOONFS_AUTH.
 */
int tb_cocoonfs_open(const struct tb_cocoonfs_meta *meta, const uint8_t *key,
		     size_t key_len, struct tpmboot_fs **fs_out);

/* Authenticates and decrypts the end of the file at inode and stores its
 * size in *size. */
int tb_cocoonfs_file_size(struct tpmboot_fs *fs, uint64_t inode,
			  size_t *size);

/*
 * Reads the whole file at inode into buf. *len receives the file size. If
 * cap is smaller, returns TPMBOOT_E_BUFFER_TOO_SMALL and writes nothing to
 * buf. On any other error buf is zeroed.
 */
int tb_cocoonfs_read_file(struct tpmboot_fs *fs, uint64_t inode, uint8_t *buf,
			  size_t cap, size_t *len);

/*
 * Calls visit once per inode in ascending order, including the special
 * inodes 1 to 3; flags are the inode's 8 application flag bits. A nonzero
 * return from visit stops the walk and is returned.
 */
typedef int (*tb_cocoonfs_visit_fn)(void *ctx, uint64_t inode, uint32_t flags);
int tb_cocoonfs_list_inodes(struct tpmboot_fs *fs, tb_cocoonfs_visit_fn visit,
			    void *ctx);

/* Wipes every key and frees the handle. fs may be NULL. */
void tb_cocoonfs_close(struct tpmboot_fs *fs);

#endif /* TB_COCOONFS_H */

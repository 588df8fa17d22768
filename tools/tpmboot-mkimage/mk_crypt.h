/* CocoonFs encryption entities and extents lists, write side. */
#ifndef MK_CRYPT_H
#define MK_CRYPT_H

#include <stdlib.h>

#include "mk.h"

size_t mk_block_payload_len(size_t block_len);
size_t mk_padded_len(size_t len);
size_t mk_chained_len(size_t list_len, size_t tag_len);

/* Encrypts payload (mk_block_payload_len(block_len) bytes) into a block. */
int mk_encrypt_block(const struct tb_aes_key *key, uint8_t *out,
		     size_t block_len, const uint8_t *payload);

/* Encrypts len data bytes into an extent area of out_len bytes. */
int mk_encrypt_extents(const struct tb_aes_key *key, uint8_t *out,
		       size_t out_len, const uint8_t *data, size_t len);

int mk_write_chained(const struct ccfs_layout *l, const uint8_t *root,
		     uint64_t inode, int inline_auth, uint8_t *out,
		     size_t out_len, const uint8_t *list, size_t list_len);

size_t mk_extents_encode(const struct ccfs_extent *ext, size_t count,
			 uint8_t *out);

#endif /* MK_CRYPT_H */

/* Authentication tree, write side. */
#ifndef MK_TREE_H
#define MK_TREE_H

#include "mk.h"
#include "mk_crypt.h"

struct mk_tree_input {
	const struct ccfs_layout *layout;
	uint8_t *image;             /* whole image; nodes are written here */
	uint64_t image_ab;
	struct ccfs_extent tree;    /* the tree's single extent */
	struct ccfs_extent bitmap;  /* the bitmap file's single extent */
	uint64_t entry_leaf_ab;
	const uint8_t *update_counter; /* encrypted, 16 bytes */
	const uint8_t *data_key;    /* (1, 0, AUTH_DATA) */
	const uint8_t *root_key;    /* (1, 0, AUTH_ROOT) */
	/* Returns 1 when the AB enters its data block digest. */
	int (*included)(void *ctx, uint64_t ab);
	void *ctx;
};

/* Writes every tree node into the image and the root HMAC to root_hmac. */
int mk_tree_build(const struct mk_tree_input *in, uint8_t *root_hmac);

#endif /* MK_TREE_H */

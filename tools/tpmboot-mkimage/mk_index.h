/* Inode index B+-tree, write side. */
#ifndef MK_INDEX_H
#define MK_INDEX_H

#include "mk.h"
#include "mk_crypt.h"

#define MK_INDEX_MAX_LEVELS 32u

/* Node counts per level (0 = leaves) for a given number of entries. */
struct mk_index_plan {
	size_t entries;
	size_t levels;
	size_t nodes[MK_INDEX_MAX_LEVELS];
	size_t total_nodes;
};

int mk_index_plan(const struct ccfs_layout *l, size_t entries,
		  struct mk_index_plan *plan);

/* entries are sorted by inode; node_ab[level][j] is the AB of node j of
 * level, node_ab[0][0] the entry leaf. */
int mk_index_write(const struct ccfs_layout *l, const uint8_t *root,
		   const struct mk_index_plan *plan,
		   const struct mk_index_entry *entries, uint64_t *const *node_ab,
		   uint8_t *image, uint8_t *preauth);

#endif /* MK_INDEX_H */

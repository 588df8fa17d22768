/*
 * The image identity that the wrapped-key entry binds to: the salt and the
 * encoded layout of the static header, as read by tb_cocoonfs_probe().
 */
#include <string.h>

#include "cocoonfs/ccfs_internal.h"
#include "cocoonfs/tb_cocoonfs.h"

void tb_cocoonfs_image_id(const struct tb_cocoonfs_meta *meta,
			  const uint8_t **salt, size_t *salt_len,
			  uint8_t layout[TB_COCOONFS_LAYOUT_LEN])
{
	*salt = meta->salt;
	*salt_len = meta->salt_len;
	memcpy(layout, meta->layout.encoded, CCFS_LAYOUT_LEN);
}

/*
 * The CocoonFs identity (salt and encoded layout) that the wrapped-key
 * entry's tag and envelope bind to.
 */
#include <string.h>

#include "boot/tb_boot.h"
#include "cocoonfs/ccfs_internal.h"

/* NOTE: reads the probe result's fields directly; belongs in the CocoonFs
 * reader's public API once that settles. */
void tb_cocoonfs_image_id(const struct tb_cocoonfs_meta *meta,
			  const uint8_t **salt, size_t *salt_len,
			  uint8_t layout[21])
{
	*salt = meta->salt;
	*salt_len = meta->salt_len;
	memcpy(layout, meta->layout.encoded, CCFS_LAYOUT_LEN);
}

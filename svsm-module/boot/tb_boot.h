/*
 * Internal helpers of the boot flow.
 */
#ifndef TB_BOOT_H
#define TB_BOOT_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/tb_fast.h"
#include "tpmboot.h"

struct tb_cocoonfs_meta;

/* Points *salt at the image's salt and copies its 21-byte encoded layout
 * (static header bytes 9..29) from a probe result. */
void tb_cocoonfs_image_id(const struct tb_cocoonfs_meta *meta,
			  const uint8_t **salt, size_t *salt_len,
			  uint8_t layout[21]);

/* Maps the configuration's SIMD cap to the highest crypto tier allowed. */
enum tb_tier tb_boot_tier_cap(enum tpmboot_simd_cap cap);

#endif /* TB_BOOT_H */

/*
 * Internal helpers of the boot flow.
 */
#ifndef TB_BOOT_H
#define TB_BOOT_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/tb_fast.h"
#include "tpmboot.h"

/* Maps the configuration's SIMD cap to the highest crypto tier allowed. */
enum tb_tier tb_boot_tier_cap(enum tpmboot_simd_cap cap);

#endif /* TB_BOOT_H */

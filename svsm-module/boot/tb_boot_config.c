/*
 * Configuration mapping for the boot flow.
 */
#include "boot/tb_boot.h"

enum tb_tier tb_boot_tier_cap(enum tpmboot_simd_cap cap)
{
	switch (cap) {
	case TPMBOOT_SIMD_NONE:
		return TB_TIER_PORTABLE;
	case TPMBOOT_SIMD_SSE:
		return TB_TIER_AESNI;
	case TPMBOOT_SIMD_AUTO:
	case TPMBOOT_SIMD_AVX2_VAES:
		break;
	}
	return TB_TIER_VAES_AVX2;
}

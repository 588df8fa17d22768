/*
 * CPU feature detection for the crypto fast paths: CPUID and XGETBV through
 * inline assembly on general-purpose registers only, so this file builds
 * with -mgeneral-regs-only.
 */
#ifndef TB_X86_CPU_FEATURES_H
#define TB_X86_CPU_FEATURES_H

#include <stdint.h>

/* Feature bits reported by tb_x86_detect_features(). */
#define TB_X86_FEAT_SSE		(1u << 0) /* FXSR + SSE2 */
#define TB_X86_FEAT_SSSE3	(1u << 1)
#define TB_X86_FEAT_AES		(1u << 2)
#define TB_X86_FEAT_PCLMULQDQ	(1u << 3)
#define TB_X86_FEAT_SHA		(1u << 4)
#define TB_X86_FEAT_YMM_OS	(1u << 5) /* OSXSAVE and XCR0 SSE+YMM */
#define TB_X86_FEAT_AVX		(1u << 6)
#define TB_X86_FEAT_AVX2	(1u << 7)
#define TB_X86_FEAT_VAES	(1u << 8)
#define TB_X86_FEAT_VPCLMULQDQ	(1u << 9)

/* Feature sets that each SIMD tier requires. */
#define TB_X86_NEED_AESNI \
	(TB_X86_FEAT_SSE | TB_X86_FEAT_SSSE3 | TB_X86_FEAT_AES | \
	 TB_X86_FEAT_PCLMULQDQ)
#define TB_X86_NEED_VAES \
	(TB_X86_NEED_AESNI | TB_X86_FEAT_YMM_OS | TB_X86_FEAT_AVX | \
	 TB_X86_FEAT_AVX2 | TB_X86_FEAT_VAES | TB_X86_FEAT_VPCLMULQDQ)
#define TB_X86_NEED_SHA_NI \
	(TB_X86_FEAT_SSE | TB_X86_FEAT_SSSE3 | TB_X86_FEAT_SHA)

/* Executes CPUID for leaf/subleaf; regs receives EAX, EBX, ECX, EDX. */
void tb_x86_cpuid(uint32_t leaf, uint32_t subleaf, uint32_t regs[4]);

/* Reads extended control register xcr (XGETBV). The caller must have
 * checked CPUID.1:ECX.OSXSAVE first, because XGETBV raises #UD without it. */
uint64_t tb_x86_xgetbv(uint32_t xcr);

/*
 * Returns the TB_X86_FEAT_* bits that CPUID and XCR0 report. Each bit
 * includes its prerequisites (for example AVX2 is only set when the OS
 * enabled the YMM state), so a tier may be used when all of its
 * TB_X86_NEED_* bits are set.
 */
uint32_t tb_x86_detect_features(void);

#endif /* TB_X86_CPU_FEATURES_H */

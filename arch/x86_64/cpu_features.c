/*
 * CPUID / XGETBV feature detection (Intel SDM vol. 1 section 14.3 and
 * vol. 2 CPUID; AMD APM vol. 3 appendix E). General-purpose registers only.
 */
#include "x86_64/cpu_features.h"

/* CPUID.1:ECX bits. */
#define CPUID1_ECX_PCLMULQDQ	(1u << 1)
#define CPUID1_ECX_SSSE3	(1u << 9)
#define CPUID1_ECX_AES		(1u << 25)
#define CPUID1_ECX_OSXSAVE	(1u << 27)
#define CPUID1_ECX_AVX		(1u << 28)

/* CPUID.1:EDX bits. */
#define CPUID1_EDX_FXSR		(1u << 24)
#define CPUID1_EDX_SSE2		(1u << 26)

/* CPUID.(7,0):EBX and ECX bits. */
#define CPUID7_EBX_AVX2		(1u << 5)
#define CPUID7_EBX_SHA		(1u << 29)
#define CPUID7_ECX_VAES		(1u << 9)
#define CPUID7_ECX_VPCLMULQDQ	(1u << 10)

/* XCR0 bits 1 (SSE state) and 2 (upper halves of the YMM registers). */
#define XCR0_SSE_YMM		0x6u

void tb_x86_cpuid(uint32_t leaf, uint32_t subleaf, uint32_t regs[4])
{
	uint32_t eax, ebx, ecx, edx;

	__asm__ volatile("cpuid"
			 : "=a"(eax), "=b"(ebx), "=c"(ecx), "=d"(edx)
			 : "a"(leaf), "c"(subleaf));
	regs[0] = eax;
	regs[1] = ebx;
	regs[2] = ecx;
	regs[3] = edx;
}

uint64_t tb_x86_xgetbv(uint32_t xcr)
{
	uint32_t lo, hi;

	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(xcr));
	return ((uint64_t)hi << 32) | lo;
}

/* Features from leaf 1, which every x86_64 CPU has. */
static uint32_t detect_leaf1(uint32_t ecx, uint32_t edx)
{
	uint32_t feat = 0;

	if (!(edx & CPUID1_EDX_FXSR) || !(edx & CPUID1_EDX_SSE2))
		return 0;
	feat |= TB_X86_FEAT_SSE;

	if (ecx & CPUID1_ECX_SSSE3)
		feat |= TB_X86_FEAT_SSSE3;
	if (ecx & CPUID1_ECX_AES)
		feat |= TB_X86_FEAT_AES;
	if (ecx & CPUID1_ECX_PCLMULQDQ)
		feat |= TB_X86_FEAT_PCLMULQDQ;

	/* VEX-encoded instructions of any width need the OS to have enabled
	 * XSAVE (OSXSAVE) and both the SSE and the YMM state in XCR0. */
	if ((ecx & CPUID1_ECX_OSXSAVE) &&
	    (tb_x86_xgetbv(0) & XCR0_SSE_YMM) == XCR0_SSE_YMM) {
		feat |= TB_X86_FEAT_YMM_OS;
		if (ecx & CPUID1_ECX_AVX)
			feat |= TB_X86_FEAT_AVX;
	}
	return feat;
}

uint32_t tb_x86_detect_features(void)
{
	uint32_t regs[4];
	uint32_t max_leaf, feat;

	tb_x86_cpuid(0, 0, regs);
	max_leaf = regs[0];
	if (max_leaf < 1)
		return 0;

	tb_x86_cpuid(1, 0, regs);
	feat = detect_leaf1(regs[2], regs[3]);
	if (max_leaf < 7 || !(feat & TB_X86_FEAT_SSE))
		return feat;

	tb_x86_cpuid(7, 0, regs);
	if (regs[1] & CPUID7_EBX_SHA)
		feat |= TB_X86_FEAT_SHA;
	if (!(feat & TB_X86_FEAT_AVX) || !(regs[1] & CPUID7_EBX_AVX2))
		return feat;
	feat |= TB_X86_FEAT_AVX2;
	if (regs[2] & CPUID7_ECX_VAES)
		feat |= TB_X86_FEAT_VAES;
	if (regs[2] & CPUID7_ECX_VPCLMULQDQ)
		feat |= TB_X86_FEAT_VPCLMULQDQ;
	return feat;
}

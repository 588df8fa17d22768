/*
 * Clearing of the vector registers before a SIMD entry point returns, so
 * that round keys, H powers, keystream and data do not stay in registers
 * that other code in the SVSM may later save or read.
 */
#ifndef TB_X86_SIMD_CLEAR_H
#define TB_X86_SIMD_CLEAR_H

/* Zeroes xmm0-xmm15 with legacy-SSE PXOR (for code built without AVX). */
static inline void tb_sse_clear_registers(void)
{
	__asm__ volatile("pxor %%xmm0, %%xmm0\n\t"
			 "pxor %%xmm1, %%xmm1\n\t"
			 "pxor %%xmm2, %%xmm2\n\t"
			 "pxor %%xmm3, %%xmm3\n\t"
			 "pxor %%xmm4, %%xmm4\n\t"
			 "pxor %%xmm5, %%xmm5\n\t"
			 "pxor %%xmm6, %%xmm6\n\t"
			 "pxor %%xmm7, %%xmm7\n\t"
			 "pxor %%xmm8, %%xmm8\n\t"
			 "pxor %%xmm9, %%xmm9\n\t"
			 "pxor %%xmm10, %%xmm10\n\t"
			 "pxor %%xmm11, %%xmm11\n\t"
			 "pxor %%xmm12, %%xmm12\n\t"
			 "pxor %%xmm13, %%xmm13\n\t"
			 "pxor %%xmm14, %%xmm14\n\t"
			 "pxor %%xmm15, %%xmm15"
			 :
			 :
			 : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5",
			   "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11",
			   "xmm12", "xmm13", "xmm14", "xmm15");
}

#ifdef __AVX__
/* Zeroes all of ymm0-ymm15 (VZEROALL), which also ends the AVX section. */
static inline void tb_avx_clear_registers(void)
{
	__asm__ volatile("vzeroall"
			 :
			 :
			 : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5",
			   "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11",
			   "xmm12", "xmm13", "xmm14", "xmm15");
}
#endif

/*
 * Bytes of stack below the caller's stack pointer that
 * tb_simd_wipe_stack_below() clears. Every SIMD worker called before it
 * must have a frame smaller than this; the build checks it with
 * -fstack-usage (meson test crypto-fast-objects).
 */
#define TB_SIMD_STACK_WIPE_BYTES 1024

/*
 * Zeroes the TB_SIMD_STACK_WIPE_BYTES below the stack pointer: the dead
 * frame of the worker function that the caller has just returned from,
 * where the compiler may have spilled round keys, powers of H or data.
 * Requires -mno-red-zone (the caller keeps nothing below its stack
 * pointer).
 */
static inline void tb_simd_wipe_stack_below(void)
{
	unsigned long dst, count;

	__asm__ volatile("lea -%c[n](%%rsp), %[dst]\n\t"
			 "mov %[n], %[count]\n\t"
			 "rep stosb"
			 : [dst] "=&D"(dst), [count] "=&c"(count)
			 : [n] "i"(TB_SIMD_STACK_WIPE_BYTES), "a"(0)
			 : "memory");
}

/* Zeroes n bytes of a stack buffer through a volatile pointer, so the
 * compiler keeps the stores. */
static inline void tb_simd_wipe(void *p, unsigned long n)
{
	volatile unsigned char *b = (volatile unsigned char *)p;

	while (n--)
		*b++ = 0;
}

#endif /* TB_X86_SIMD_CLEAR_H */

/*
 * GHASH arithmetic on xmm registers, shared by the AES-NI and the VAES
 * translation units (each compiles it with its own -m flags).
 *
 * Representation: a 16-byte GHASH block is loaded and byte-reversed, so bit
 * 127 - i of the 128-bit integer is the coefficient of x^i (GCM numbers the
 * bits of a block from the most significant bit of byte 0). The carry-less
 * product of two such values is the 256-bit reversed product shifted right
 * by one bit, i.e. the reversed form of a * b * x. Storing H premultiplied
 * by x^-1 cancels that factor, so products need no shift.
 *
 * Reduction modulo g = x^128 + x^7 + x^2 + x + 1 works on the reversed
 * 256-bit product P = LO + MID * 2^64 + HI * 2^128. In the reversed order
 * the terms of degree >= 128 are the low bits, so the reduction is a
 * Montgomery-style division by 2^128 with the reversed polynomial
 * g' = 1 + y^121 + y^126 + y^127 + y^128: folding a 64-bit word w at bit
 * offset s adds w * (y^57 + y^62 + y^63) at offset s + 64 (one PCLMULQDQ by
 * 0xc200000000000000) and w itself at offset s + 128, and removes w. Two
 * folds clear the low 128 bits and HI is the reduced result.
 */
#ifndef TB_X86_GHASH_X86_H
#define TB_X86_GHASH_X86_H

#include <immintrin.h>
#include <stdint.h>

/* y^57 + y^62 + y^63 as a 64-bit word (see above). */
#define TB_GHASH_FOLD_CONSTANT 0xc200000000000000ull

static inline __attribute__((always_inline)) __m128i tb_ghash_bswap_mask(void)
{
	return _mm_set_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
			    15);
}

static inline __attribute__((always_inline)) __m128i tb_ghash_fold_constant(void)
{
	return _mm_set_epi64x(0, (long long)TB_GHASH_FOLD_CONSTANT);
}

/* Swaps the two 64-bit halves. */
static inline __attribute__((always_inline)) __m128i tb_ghash_swap64(__m128i v)
{
	return _mm_shuffle_epi32(v, 0x4e);
}

/* Reduces LO + MID * 2^64 + HI * 2^128 to 128 bits. */
static inline __attribute__((always_inline)) __m128i tb_ghash_reduce(__m128i lo, __m128i mid, __m128i hi)
{
	const __m128i k = tb_ghash_fold_constant();
	__m128i t;

	t = _mm_clmulepi64_si128(lo, k, 0x00);
	mid = _mm_xor_si128(mid, _mm_xor_si128(tb_ghash_swap64(lo), t));
	t = _mm_clmulepi64_si128(mid, k, 0x00);
	return _mm_xor_si128(hi, _mm_xor_si128(tb_ghash_swap64(mid), t));
}

/* Returns a * b where b is premultiplied by x^-1 (schoolbook, 4 products). */
static inline __attribute__((always_inline)) __m128i tb_ghash_mul(__m128i a, __m128i b)
{
	__m128i lo, mid, hi;

	lo = _mm_clmulepi64_si128(a, b, 0x00);
	hi = _mm_clmulepi64_si128(a, b, 0x11);
	mid = _mm_xor_si128(_mm_clmulepi64_si128(a, b, 0x01),
			    _mm_clmulepi64_si128(a, b, 0x10));
	return tb_ghash_reduce(lo, mid, hi);
}

/*
 * Multiplies by x^-1 modulo g in the reversed representation: a left shift
 * by one bit, and if bit 127 (the x^0 coefficient) was set, an XOR with the
 * reversed form of x^-1 = x^127 + x^6 + x + 1 (0xc2000000000000000...01).
 * Branch-free.
 */
static inline __attribute__((always_inline)) __m128i tb_ghash_mul_x_inverse(__m128i v)
{
	const __m128i poly = _mm_set_epi64x((long long)TB_GHASH_FOLD_CONSTANT,
					    1);
	__m128i carry, shifted, mask;

	/* 64-bit lanes shifted left, with bit 63 carried into bit 64. */
	carry = _mm_srli_epi64(v, 63);
	shifted = _mm_or_si128(_mm_slli_epi64(v, 1),
			       _mm_slli_si128(carry, 8));

	/* All ones when bit 127 of v was set. */
	mask = _mm_shuffle_epi32(_mm_srai_epi32(v, 31), 0xff);
	return _mm_xor_si128(shifted, _mm_and_si128(mask, poly));
}

/* Karatsuba term of a 128-bit value: low half ^ high half, in both halves. */
static inline __attribute__((always_inline)) __m128i tb_ghash_kara_term(__m128i v)
{
	__m128i t = _mm_xor_si128(v, tb_ghash_swap64(v));

	return _mm_unpacklo_epi64(t, t);
}

#endif /* TB_X86_GHASH_X86_H */

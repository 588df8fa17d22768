/*
 * AES-GCM pieces on xmm registers shared by the AES-NI and the VAES
 * translation units: table access, aggregated GHASH over a byte string,
 * counter blocks, partial blocks and the final tag (NIST SP 800-38D
 * sections 6.4 and 7.1). Each unit compiles these with its own -m flags.
 */
#ifndef TB_X86_GCM_X86_H
#define TB_X86_GCM_X86_H

#include "x86_64/aes_x86.h"
#include "x86_64/simd/ghash_x86.h"
#include "x86_64/simd/simd_clear.h"

/* H^k (1 <= k <= 16) in the table layout of aes_x86.h. */
static inline __attribute__((always_inline)) __m128i tb_gcm_hpow(const uint8_t *table, unsigned k)
{
	return _mm_loadu_si128((const __m128i *)(table + TB_GCM_HPOW_OFFSET +
						16 * (TB_GCM_MAX_POWER - k)));
}

/* Byte offset of the Karatsuba term of H^k in the table. */
static inline __attribute__((always_inline)) unsigned tb_gcm_kara_offset(unsigned k)
{
	unsigned i = TB_GCM_MAX_POWER - k;
	unsigned j = i / 2;

	return TB_GCM_HKARA_OFFSET + 32 * (j / 2) + 16 * (i % 2) + 8 * (j % 2);
}

/* Karatsuba term of H^k in the low 64 bits. */
static inline __attribute__((always_inline)) __m128i tb_gcm_kara(const uint8_t *table, unsigned k)
{
	return _mm_loadl_epi64((const __m128i *)(table +
						 tb_gcm_kara_offset(k)));
}

/*
 * Returns p unchanged, but hides its value from the optimizer. Loops call
 * this on the key tables so that the compiler loads round keys and powers
 * of H inside the loop instead of hoisting them into registers, which
 * would spill key material to the stack.
 */
static inline __attribute__((always_inline)) const uint8_t *tb_gcm_opaque(const uint8_t *p)
{
	__asm__("" : "+r"(p));
	return p;
}

/* Accumulates x * H^k into the unreduced sums with Karatsuba (the middle
 * sum still contains lo and hi; tb_gcm_finish_sum removes them). */
static inline __attribute__((always_inline)) void tb_gcm_mul_acc(const uint8_t *table, __m128i x,
				  unsigned k, __m128i *lo, __m128i *mid,
				  __m128i *hi)
{
	__m128i h = tb_gcm_hpow(table, k);
	__m128i xk = _mm_xor_si128(x, tb_ghash_swap64(x));

	*lo = _mm_xor_si128(*lo, _mm_clmulepi64_si128(x, h, 0x00));
	*hi = _mm_xor_si128(*hi, _mm_clmulepi64_si128(x, h, 0x11));
	*mid = _mm_xor_si128(*mid, _mm_clmulepi64_si128(xk,
							 tb_gcm_kara(table, k),
							 0x00));
}

/* Reduces Karatsuba sums to the new accumulator. */
static inline __attribute__((always_inline)) __m128i tb_gcm_finish_sum(__m128i lo, __m128i mid, __m128i hi)
{
	mid = _mm_xor_si128(mid, _mm_xor_si128(lo, hi));
	return tb_ghash_reduce(lo, mid, hi);
}

/* Returns the GHASH accumulator after n full blocks at p (n <= 16):
 * ((acc ^ B0) * H^n) ^ (B1 * H^(n-1)) ^ ... ^ (B(n-1) * H), one reduction. */
static inline __attribute__((always_inline)) __m128i tb_gcm_ghash_blocks(const uint8_t *table, __m128i acc,
					  const uint8_t *p, unsigned n)
{
	const __m128i bswap = tb_ghash_bswap_mask();
	__m128i lo = _mm_setzero_si128();
	__m128i mid = _mm_setzero_si128();
	__m128i hi = _mm_setzero_si128();
	unsigned i;

	for (i = 0; i < n; i++) {
		__m128i x = _mm_loadu_si128((const __m128i *)(p + 16 * i));

		x = _mm_shuffle_epi8(x, bswap);
		if (i == 0)
			x = _mm_xor_si128(x, acc);
		tb_gcm_mul_acc(table, x, n - i, &lo, &mid, &hi);
	}
	return tb_gcm_finish_sum(lo, mid, hi);
}

/* Copies n < 16 bytes into a zero-padded 16-byte value. A byte loop, so
 * nothing past src + n is read. */
static inline __attribute__((always_inline)) __m128i tb_gcm_load_partial(const uint8_t *src, size_t n)
{
	uint8_t buf[16] __attribute__((aligned(16))) = { 0 };
	__m128i x;
	size_t i;

	for (i = 0; i < n; i++)
		buf[i] = src[i];
	x = _mm_load_si128((const __m128i *)buf);
	tb_simd_wipe(buf, sizeof(buf));
	return x;
}

/* Stores the first n < 16 bytes of x. */
static inline __attribute__((always_inline)) void tb_gcm_store_partial(uint8_t *dst, __m128i x, size_t n)
{
	uint8_t buf[16] __attribute__((aligned(16)));
	size_t i;

	_mm_store_si128((__m128i *)buf, x);
	for (i = 0; i < n; i++)
		dst[i] = buf[i];
	tb_simd_wipe(buf, sizeof(buf));
}

/* Returns the GHASH accumulator after len bytes at p, the last block
 * zero-padded. */
static inline __attribute__((always_inline)) __m128i tb_gcm_ghash(const uint8_t *table, __m128i acc,
				   const uint8_t *p, size_t len)
{
	size_t rem;

	table = tb_gcm_opaque(table);
	while (len >= 16 * TB_GCM_MAX_POWER) {
		acc = tb_gcm_ghash_blocks(tb_gcm_opaque(table), acc, p,
					  TB_GCM_MAX_POWER);
		p += 16 * TB_GCM_MAX_POWER;
		len -= 16 * TB_GCM_MAX_POWER;
	}
	if (len >= 16) {
		acc = tb_gcm_ghash_blocks(table, acc, p, (unsigned)(len / 16));
		p += len & ~(size_t)15;
		len &= 15;
	}
	if (len == 0)
		return acc;

	rem = len;
	acc = _mm_xor_si128(acc, _mm_shuffle_epi8(tb_gcm_load_partial(p, rem),
						  tb_ghash_bswap_mask()));
	return tb_ghash_mul(acc, tb_gcm_hpow(table, 1));
}

/* Counter block J0 = IV || 0^31 || 1 for a 96-bit IV, byte-reversed so
 * that the 32-bit counter is the low dword and can be incremented with
 * PADDD (inc32 of SP 800-38D section 6.2 wraps modulo 2^32 the same way). */
static inline __attribute__((always_inline)) __m128i tb_gcm_j0_reversed(const uint8_t iv[12])
{
	uint8_t block[16] __attribute__((aligned(16)));
	__m128i j0;
	unsigned i;

	for (i = 0; i < 12; i++)
		block[i] = iv[i];
	block[12] = 0;
	block[13] = 0;
	block[14] = 0;
	block[15] = 1;
	j0 = _mm_load_si128((const __m128i *)block);
	return _mm_shuffle_epi8(j0, tb_ghash_bswap_mask());
}

/* Final GHASH step over the length block len(A) || len(C) in bits, then
 * tag = E(J0) ^ S (section 7.1 steps 5-6). */
static inline __attribute__((always_inline)) void tb_gcm_final_tag(const uint8_t *table, __m128i acc,
				    size_t aad_len, size_t len, __m128i ek_j0,
				    uint8_t tag[16])
{
	/* Reversed, the length block has len(C) in the low and len(A) in the
	 * high 64 bits. */
	__m128i lengths = _mm_set_epi64x((long long)((uint64_t)aad_len * 8),
					 (long long)((uint64_t)len * 8));

	acc = tb_ghash_mul(_mm_xor_si128(acc, lengths), tb_gcm_hpow(table, 1));
	acc = _mm_shuffle_epi8(acc, tb_ghash_bswap_mask());
	_mm_storeu_si128((__m128i *)tag, _mm_xor_si128(acc, ek_j0));
}

#endif /* TB_X86_GCM_X86_H */

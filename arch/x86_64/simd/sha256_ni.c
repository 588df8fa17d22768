/*
 * SHA-256 compression with the SHA extensions (SHA256RNDS2, SHA256MSG1,
 * SHA256MSG2; Intel SDM vol. 2), legacy SSE encoding. The message schedule
 * and the round constants are those of FIPS 180-4 sections 4.2.2 and 6.2.2.
 *
 * SHA256RNDS2 keeps the working variables in two registers, ABEF = {A, B,
 * E, F} and CDGH = {C, D, G, H} (A and C in the top dword), and runs two
 * rounds per instruction with W[t] + K[t] taken from the low 64 bits of
 * xmm0.
 */
#include "x86_64/aes_x86.h"
#include "x86_64/simd/simd_clear.h"

#include <immintrin.h>

static const uint32_t sha256_k[64] __attribute__((aligned(16))) = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1,
	0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
	0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
	0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
	0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
	0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
	0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
	0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
	0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

/* Four rounds with message words w = W[4g..4g+3]. */
static inline void rounds4(__m128i *abef, __m128i *cdgh, __m128i w,
			   unsigned g)
{
	__m128i wk = _mm_add_epi32(
		w, _mm_load_si128((const __m128i *)(sha256_k + 4 * g)));

	*cdgh = _mm_sha256rnds2_epu32(*cdgh, *abef, wk);
	wk = _mm_shuffle_epi32(wk, 0x0e);
	*abef = _mm_sha256rnds2_epu32(*abef, *cdgh, wk);
}

/* W[t..t+3] from the four previous groups (FIPS 180-4 section 6.2.2
 * step 1): SHA256MSG1 adds sigma0, the PALIGNR term is W[t-7..t-4] and
 * SHA256MSG2 adds sigma1. */
static inline __m128i schedule4(__m128i w16, __m128i w12, __m128i w8,
				__m128i w4)
{
	__m128i t = _mm_sha256msg1_epu32(w16, w12);

	t = _mm_add_epi32(t, _mm_alignr_epi8(w4, w8, 4));
	return _mm_sha256msg2_epu32(t, w4);
}

static void compress_block(__m128i *abef, __m128i *cdgh, const uint8_t *block)
{
	const __m128i bswap32 = _mm_set_epi8(12, 13, 14, 15, 8, 9, 10, 11, 4,
					     5, 6, 7, 0, 1, 2, 3);
	const __m128i *src = (const __m128i *)block;
	__m128i abef_in = *abef, cdgh_in = *cdgh;
	__m128i w0, w1, w2, w3;
	unsigned g;

	w0 = _mm_shuffle_epi8(_mm_loadu_si128(src + 0), bswap32);
	w1 = _mm_shuffle_epi8(_mm_loadu_si128(src + 1), bswap32);
	w2 = _mm_shuffle_epi8(_mm_loadu_si128(src + 2), bswap32);
	w3 = _mm_shuffle_epi8(_mm_loadu_si128(src + 3), bswap32);
	rounds4(abef, cdgh, w0, 0);
	rounds4(abef, cdgh, w1, 1);
	rounds4(abef, cdgh, w2, 2);
	rounds4(abef, cdgh, w3, 3);

	for (g = 4; g < 16; g += 4) {
		w0 = schedule4(w0, w1, w2, w3);
		rounds4(abef, cdgh, w0, g);
		w1 = schedule4(w1, w2, w3, w0);
		rounds4(abef, cdgh, w1, g + 1);
		w2 = schedule4(w2, w3, w0, w1);
		rounds4(abef, cdgh, w2, g + 2);
		w3 = schedule4(w3, w0, w1, w2);
		rounds4(abef, cdgh, w3, g + 3);
	}

	*abef = _mm_add_epi32(*abef, abef_in);
	*cdgh = _mm_add_epi32(*cdgh, cdgh_in);
}

void tb_sha256_ni_blocks(uint32_t state[8], const uint8_t *blocks,
			 size_t nblocks)
{
	__m128i s0 = _mm_loadu_si128((const __m128i *)state);       /* a b c d */
	__m128i s1 = _mm_loadu_si128((const __m128i *)(state + 4)); /* e f g h */
	__m128i t0 = _mm_shuffle_epi32(s0, 0xb1);                   /* b a d c */
	__m128i t1 = _mm_shuffle_epi32(s1, 0xb1);                   /* f e h g */
	__m128i abef = _mm_unpacklo_epi64(t1, t0);                  /* f e b a */
	__m128i cdgh = _mm_unpackhi_epi64(t1, t0);                  /* h g d c */
	size_t i;

	for (i = 0; i < nblocks; i++)
		compress_block(&abef, &cdgh, blocks + 64 * i);

	t0 = _mm_unpackhi_epi64(abef, cdgh); /* b a d c */
	t1 = _mm_unpacklo_epi64(abef, cdgh); /* f e h g */
	_mm_storeu_si128((__m128i *)state, _mm_shuffle_epi32(t0, 0xb1));
	_mm_storeu_si128((__m128i *)(state + 4), _mm_shuffle_epi32(t1, 0xb1));
	tb_sse_clear_registers();
}

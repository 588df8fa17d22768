/*
 * AES-CBC decryption with VAES on 256-bit registers: two blocks per ymm
 * register, 16 blocks in flight per iteration (NIST SP 800-38A section
 * 6.2: P_i = AES^-1(C_i) ^ C_(i-1), so all blocks decrypt in parallel).
 */
#include "x86_64/aes_x86.h"
#include "x86_64/simd/simd_clear.h"

#include <immintrin.h>

#define VECTORS 8

static inline __attribute__((always_inline)) __m256i
round_key2(const uint8_t *schedule, uint32_t round)
{
	return _mm256_broadcastsi128_si256(
		_mm_loadu_si128((const __m128i *)(schedule + 16 * round)));
}

/* Decrypts n ymm registers (2n blocks) from in to out; *prev is the
 * ciphertext block before them and receives their last one. Every load of
 * in happens before the first store, so in == out works. */
static inline __attribute__((always_inline)) void
decrypt_vectors(const uint8_t *dk, uint32_t rounds, __m128i *prev,
		const uint8_t *in, uint8_t *out, unsigned n)
{
	__m256i s[VECTORS];
	__m256i k, chain;
	__m128i last;
	uint32_t r;
	unsigned v;

	k = round_key2(dk, 0);
#pragma GCC unroll 16
	for (v = 0; v < n; v++)
		s[v] = _mm256_xor_si256(
			_mm256_loadu_si256((const __m256i *)(in + 32 * v)), k);
	for (r = 1; r < rounds; r++) {
		k = round_key2(dk, r);
#pragma GCC unroll 16
		for (v = 0; v < n; v++)
			s[v] = _mm256_aesdec_epi128(s[v], k);
	}

	/* The barrier makes the compiler load the ciphertext again here
	 * instead of keeping it in registers across the rounds. */
	__asm__ volatile("" ::: "memory");
	k = round_key2(dk, rounds);
	chain = _mm256_set_m128i(_mm_loadu_si128((const __m128i *)in), *prev);
#pragma GCC unroll 16
	for (v = 0; v < n; v++) {
		if (v > 0)
			chain = _mm256_loadu_si256(
				(const __m256i *)(in + 32 * v - 16));
		s[v] = _mm256_xor_si256(_mm256_aesdeclast_epi128(s[v], k),
					chain);
	}
	last = _mm_loadu_si128((const __m128i *)(in + 32 * n - 16));

#pragma GCC unroll 16
	for (v = 0; v < n; v++)
		_mm256_storeu_si256((__m256i *)(out + 32 * v), s[v]);
	*prev = last;
}

static __m128i decrypt_block(const uint8_t *dk, uint32_t rounds, __m128i x)
{
	uint32_t r;

	x = _mm_xor_si128(x, _mm_loadu_si128((const __m128i *)dk));
	for (r = 1; r < rounds; r++)
		x = _mm_aesdec_si128(x, _mm_loadu_si128((const __m128i *)(dk +
									16 * r)));
	return _mm_aesdeclast_si128(x, _mm_loadu_si128((const __m128i *)(dk +
								       16 * rounds)));
}

/* The worker behind tb_vaes_cbc_decrypt; its frame is wiped afterwards. */
static __attribute__((noinline)) void
cbc_decrypt(const struct tb_aes_key *key, uint8_t iv[16], const uint8_t *in,
	    uint8_t *out, size_t len)
{
	const uint8_t *dk = key->dec_round_keys;
	__m128i prev = _mm_loadu_si128((const __m128i *)iv);
	size_t off = 0;

	for (; off + 32 * VECTORS <= len; off += 32 * VECTORS)
		decrypt_vectors(dk, key->rounds, &prev, in + off, out + off,
				VECTORS);
	if (off + 32 * (VECTORS / 2) <= len) {
		decrypt_vectors(dk, key->rounds, &prev, in + off, out + off,
				VECTORS / 2);
		off += 32 * (VECTORS / 2);
	}
	for (; off + 32 <= len; off += 32)
		decrypt_vectors(dk, key->rounds, &prev, in + off, out + off, 1);
	if (off < len) {
		__m128i c = _mm_loadu_si128((const __m128i *)(in + off));
		__m128i p = decrypt_block(dk, key->rounds, c);

		_mm_storeu_si128((__m128i *)(out + off),
				 _mm_xor_si128(p, prev));
		prev = c;
	}
	_mm_storeu_si128((__m128i *)iv, prev);
}

void tb_vaes_cbc_decrypt(const struct tb_aes_key *key, uint8_t iv[16],
			 const uint8_t *in, uint8_t *out, size_t len)
{
	cbc_decrypt(key, iv, in, out, len);
	tb_simd_wipe_stack_below();
	tb_avx_clear_registers();
}

/*
 * AES with AES-NI in legacy SSE encoding: key expansion, single blocks and
 * CBC (FIPS 197; NIST SP 800-38A section 6.2). CBC decryption runs 8 blocks
 * in parallel to hide the AESDEC latency.
 */
#include <string.h>

#include "x86_64/aes_x86.h"
#include "x86_64/simd/simd_clear.h"

#include <immintrin.h>

#define CBC_PARALLEL_BLOCKS 8

static inline __m128i load_rk(const uint8_t *schedule, uint32_t round)
{
	return _mm_loadu_si128((const __m128i *)(schedule + 16 * round));
}

/* SubWord(w) when rotate is 0, SubWord(RotWord(w)) otherwise (FIPS 197
 * section 5.2), through AESKEYGENASSIST: it returns SubWord(X1) in dword 0
 * and RotWord(SubWord(X1)) in dword 1, where X1 is dword 1 of its input. */
static uint32_t sub_word(uint32_t w, int rotate)
{
	__m128i x = _mm_shuffle_epi32(_mm_cvtsi32_si128((int)w), 0x00);
	__m128i r = _mm_aeskeygenassist_si128(x, 0);

	if (rotate)
		r = _mm_shuffle_epi32(r, 0x55);
	return (uint32_t)_mm_cvtsi128_si32(r);
}

/* Writes the decryption schedule of the equivalent inverse cipher
 * (FIPS 197 section 5.3.5): the encryption round keys in reverse order,
 * with InvMixColumns applied to all but the first and the last. */
static void expand_decryption_key(struct tb_aes_key *key, uint32_t rounds)
{
	uint32_t r;

	_mm_storeu_si128((__m128i *)key->dec_round_keys,
			load_rk(key->round_keys, rounds));
	for (r = 1; r < rounds; r++)
		_mm_storeu_si128((__m128i *)(key->dec_round_keys + 16 * r),
				_mm_aesimc_si128(load_rk(key->round_keys,
							 rounds - r)));
	_mm_storeu_si128((__m128i *)(key->dec_round_keys + 16 * rounds),
			load_rk(key->round_keys, 0));
}

static inline uint32_t load_word(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
	       ((uint32_t)p[3] << 24);
}

static inline void store_word(uint8_t *p, uint32_t w)
{
	p[0] = (uint8_t)w;
	p[1] = (uint8_t)(w >> 8);
	p[2] = (uint8_t)(w >> 16);
	p[3] = (uint8_t)(w >> 24);
}

uint32_t tb_aesni_expand_key(struct tb_aes_key *key, const uint8_t *raw,
			     size_t key_len)
{
	uint32_t nk = (uint32_t)(key_len / 4);
	uint32_t rounds = nk + 6;
	uint32_t total = 4 * (rounds + 1);
	uint32_t rcon = 1;
	uint32_t i, w;

	/* Words are kept little-endian, so RotWord is a right rotation by 8
	 * and Rcon[i] is the value rcon. */
	memcpy(key->round_keys, raw, key_len);
	w = load_word(raw + key_len - 4);
	for (i = nk; i < total; i++) {
		if (i % nk == 0) {
			w = sub_word(w, 1) ^ rcon;
			rcon = (rcon << 1) ^ (0x11b & -(rcon >> 7));
		} else if (nk > 6 && i % nk == 4) {
			w = sub_word(w, 0);
		}
		w ^= load_word(key->round_keys + 4 * (i - nk));
		store_word(key->round_keys + 4 * i, w);
	}

	expand_decryption_key(key, rounds);
	key->rounds = rounds;
	tb_sse_clear_registers();
	return rounds;
}

static inline __m128i encrypt_block(const uint8_t *rk, uint32_t rounds,
				    __m128i x)
{
	uint32_t r;

	x = _mm_xor_si128(x, load_rk(rk, 0));
	for (r = 1; r < rounds; r++)
		x = _mm_aesenc_si128(x, load_rk(rk, r));
	return _mm_aesenclast_si128(x, load_rk(rk, rounds));
}

static inline __m128i decrypt_block(const uint8_t *dk, uint32_t rounds,
				    __m128i x)
{
	uint32_t r;

	x = _mm_xor_si128(x, load_rk(dk, 0));
	for (r = 1; r < rounds; r++)
		x = _mm_aesdec_si128(x, load_rk(dk, r));
	return _mm_aesdeclast_si128(x, load_rk(dk, rounds));
}

void tb_aesni_encrypt_block(const struct tb_aes_key *key, const uint8_t in[16],
			    uint8_t out[16])
{
	__m128i x = _mm_loadu_si128((const __m128i *)in);

	x = encrypt_block(key->round_keys, key->rounds, x);
	_mm_storeu_si128((__m128i *)out, x);
	tb_sse_clear_registers();
}

void tb_aesni_decrypt_block(const struct tb_aes_key *key, const uint8_t in[16],
			    uint8_t out[16])
{
	__m128i x = _mm_loadu_si128((const __m128i *)in);

	x = decrypt_block(key->dec_round_keys, key->rounds, x);
	_mm_storeu_si128((__m128i *)out, x);
	tb_sse_clear_registers();
}

void tb_aesni_cbc_encrypt(const struct tb_aes_key *key, uint8_t iv[16],
			  const uint8_t *in, uint8_t *out, size_t len)
{
	__m128i chain = _mm_loadu_si128((const __m128i *)iv);
	size_t off;

	for (off = 0; off + 16 <= len; off += 16) {
		__m128i p = _mm_loadu_si128((const __m128i *)(in + off));

		chain = encrypt_block(key->round_keys, key->rounds,
				      _mm_xor_si128(p, chain));
		_mm_storeu_si128((__m128i *)(out + off), chain);
	}
	_mm_storeu_si128((__m128i *)iv, chain);
	tb_sse_clear_registers();
}

/* Decrypts 8 blocks; prev is the ciphertext block before them and receives
 * their last ciphertext block. The ciphertext is loaded again for the final
 * XOR (fewer live registers, so nothing is spilled to the stack), and every
 * load happens before the first store, so in == out works. */
static inline void cbc_decrypt8(const uint8_t *dk, uint32_t rounds,
				__m128i *prev, const uint8_t *in, uint8_t *out)
{
	const __m128i *src = (const __m128i *)in;
	__m128i b0, b1, b2, b3, b4, b5, b6, b7;
	__m128i k, last;
	uint32_t r;

	k = load_rk(dk, 0);
	b0 = _mm_xor_si128(_mm_loadu_si128(src + 0), k);
	b1 = _mm_xor_si128(_mm_loadu_si128(src + 1), k);
	b2 = _mm_xor_si128(_mm_loadu_si128(src + 2), k);
	b3 = _mm_xor_si128(_mm_loadu_si128(src + 3), k);
	b4 = _mm_xor_si128(_mm_loadu_si128(src + 4), k);
	b5 = _mm_xor_si128(_mm_loadu_si128(src + 5), k);
	b6 = _mm_xor_si128(_mm_loadu_si128(src + 6), k);
	b7 = _mm_xor_si128(_mm_loadu_si128(src + 7), k);
	for (r = 1; r < rounds; r++) {
		k = load_rk(dk, r);
		b0 = _mm_aesdec_si128(b0, k);
		b1 = _mm_aesdec_si128(b1, k);
		b2 = _mm_aesdec_si128(b2, k);
		b3 = _mm_aesdec_si128(b3, k);
		b4 = _mm_aesdec_si128(b4, k);
		b5 = _mm_aesdec_si128(b5, k);
		b6 = _mm_aesdec_si128(b6, k);
		b7 = _mm_aesdec_si128(b7, k);
	}

	/* Last round, then XOR with the previous ciphertext blocks. The
	 * barrier stops the compiler from keeping the first loads alive
	 * across the rounds instead of loading again. */
	__asm__ volatile("" ::: "memory");
	k = load_rk(dk, rounds);
	b0 = _mm_xor_si128(_mm_aesdeclast_si128(b0, k), *prev);
	b1 = _mm_xor_si128(_mm_aesdeclast_si128(b1, k),
			   _mm_loadu_si128(src + 0));
	b2 = _mm_xor_si128(_mm_aesdeclast_si128(b2, k),
			   _mm_loadu_si128(src + 1));
	b3 = _mm_xor_si128(_mm_aesdeclast_si128(b3, k),
			   _mm_loadu_si128(src + 2));
	b4 = _mm_xor_si128(_mm_aesdeclast_si128(b4, k),
			   _mm_loadu_si128(src + 3));
	b5 = _mm_xor_si128(_mm_aesdeclast_si128(b5, k),
			   _mm_loadu_si128(src + 4));
	b6 = _mm_xor_si128(_mm_aesdeclast_si128(b6, k),
			   _mm_loadu_si128(src + 5));
	b7 = _mm_xor_si128(_mm_aesdeclast_si128(b7, k),
			   _mm_loadu_si128(src + 6));
	last = _mm_loadu_si128(src + 7);

	_mm_storeu_si128((__m128i *)out + 0, b0);
	_mm_storeu_si128((__m128i *)out + 1, b1);
	_mm_storeu_si128((__m128i *)out + 2, b2);
	_mm_storeu_si128((__m128i *)out + 3, b3);
	_mm_storeu_si128((__m128i *)out + 4, b4);
	_mm_storeu_si128((__m128i *)out + 5, b5);
	_mm_storeu_si128((__m128i *)out + 6, b6);
	_mm_storeu_si128((__m128i *)out + 7, b7);
	*prev = last;
}

void tb_aesni_cbc_decrypt(const struct tb_aes_key *key, uint8_t iv[16],
			  const uint8_t *in, uint8_t *out, size_t len)
{
	const uint8_t *dk = key->dec_round_keys;
	__m128i prev = _mm_loadu_si128((const __m128i *)iv);
	size_t off = 0;

	for (; off + 16 * CBC_PARALLEL_BLOCKS <= len;
	     off += 16 * CBC_PARALLEL_BLOCKS)
		cbc_decrypt8(dk, key->rounds, &prev, in + off, out + off);

	for (; off + 16 <= len; off += 16) {
		__m128i c = _mm_loadu_si128((const __m128i *)(in + off));
		__m128i p = decrypt_block(dk, key->rounds, c);

		_mm_storeu_si128((__m128i *)(out + off),
				 _mm_xor_si128(p, prev));
		prev = c;
	}
	_mm_storeu_si128((__m128i *)iv, prev);
	tb_sse_clear_registers();
}

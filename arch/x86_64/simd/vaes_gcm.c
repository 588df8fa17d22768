/*
 * AES-GCM with VAES and VPCLMULQDQ on 256-bit registers (AVX2, no
 * AVX-512): two blocks per ymm register.
 *
 * Whole 256-byte groups go through the assembly loop of
 * vaes_gcm_groups.S (16 blocks per iteration). This file sets up J0, the
 * counters and the AAD hash, handles the last 0-255 bytes with one group of
 * VECTORS registers (2 * VECTORS blocks) and a partial batch, and computes
 * the tag.
 *
 * The AES rounds of one group of counter blocks are interleaved with the
 * GHASH of one group of ciphertext blocks. That is the previous group when
 * encrypting and the current one when decrypting. The 8-block group in C
 * is stitched only when decrypting. When encrypting, it is hashed after
 * its keystream. Each block is multiplied by its own power of H with
 * Karatsuba (3 carry-less multiplies per block), and each group is reduced
 * once. This is the stitched AES-GCM design of Gopal et al., "Enabling
 * High-Performance Galois-Counter-Mode on Intel Architecture Processors"
 * (Intel, 2012), on ymm registers.
 */
#include "x86_64/aes_x86.h"
#include "x86_64/simd/gcm_x86.h"
#include "x86_64/simd/simd_clear.h"
#include "x86_64/simd/vaes_gcm_groups.h"

#define VECTORS 4
#define GROUP_BLOCKS (2 * VECTORS)

static inline __attribute__((always_inline)) __m128i
round_key(const uint8_t *schedule, uint32_t round)
{
	return _mm_loadu_si128((const __m128i *)(schedule + 16 * round));
}

/* The round key in both 128-bit lanes. */
static inline __attribute__((always_inline)) __m256i
round_key2(const uint8_t *schedule, uint32_t round)
{
	return _mm256_broadcastsi128_si256(round_key(schedule, round));
}

static inline __attribute__((always_inline)) __m256i bswap_mask2(void)
{
	return _mm256_broadcastsi128_si256(tb_ghash_bswap_mask());
}

static __m128i encrypt_block(const struct tb_aes_key *key, __m128i x)
{
	uint32_t r;

	x = _mm_xor_si128(x, round_key(key->round_keys, 0));
	for (r = 1; r < key->rounds; r++)
		x = _mm_aesenc_si128(x, round_key(key->round_keys, r));
	return _mm_aesenclast_si128(x, round_key(key->round_keys, key->rounds));
}

/* Writes the counter blocks ctr .. ctr + 2 * VECTORS - 1 in memory order,
 * XORed with round key 0, and advances ctr. The lanes of ctr contain two
 * consecutive reversed counters (see tb_gcm_j0_reversed). */
static inline __attribute__((always_inline)) void
counter_blocks(__m256i s[VECTORS], __m256i *ctr, __m256i k0)
{
	unsigned v;

#pragma GCC unroll 16
	for (v = 0; v < VECTORS; v++) {
		__m256i step = _mm256_set_epi32(0, 0, 0, (int)(2 * v), 0, 0, 0,
						(int)(2 * v));
		__m256i c = _mm256_add_epi32(*ctr, step);

		s[v] = _mm256_xor_si256(_mm256_shuffle_epi8(c, bswap_mask2()),
					k0);
	}
	*ctr = _mm256_add_epi32(*ctr,
				_mm256_set_epi32(0, 0, 0, GROUP_BLOCKS, 0, 0, 0,
						 GROUP_BLOCKS));
}

static inline __attribute__((always_inline)) void
aes_round_group(__m256i s[VECTORS], __m256i k)
{
	unsigned v;

#pragma GCC unroll 16
	for (v = 0; v < VECTORS; v++)
		s[v] = _mm256_aesenc_epi128(s[v], k);
}

/* Keystream for the counters ctr .. ctr + 2 * VECTORS - 1. */
static inline __attribute__((always_inline)) void
keystream_group(const struct tb_aes_key *key, __m256i *ctr,
		__m256i s[VECTORS])
{
	const uint8_t *rk = tb_gcm_opaque(key->round_keys);
	uint32_t r;
	unsigned v;

	counter_blocks(s, ctr, round_key2(rk, 0));
	for (r = 1; r < key->rounds; r++)
		aes_round_group(s, round_key2(rk, r));
#pragma GCC unroll 16
	for (v = 0; v < VECTORS; v++)
		s[v] = _mm256_aesenclast_epi128(s[v],
						round_key2(rk, key->rounds));
}

/*
 * Multiplies the ciphertext blocks 2j and 2j + 1 of a group at src by
 * their powers H^(GROUP_BLOCKS - 2j) and H^(GROUP_BLOCKS - 2j - 1) and adds
 * the unreduced Karatsuba products to lo, mid and hi. For j = 0 the GHASH
 * accumulator acc is added to the first block.
 */
static inline __attribute__((always_inline)) void
ghash_step(const uint8_t *table, const uint8_t *src, unsigned j, __m128i acc,
	   __m256i *lo, __m256i *mid, __m256i *hi)
{
	/* Table position of the pair (see aes_x86.h). */
	const unsigned first_power = GROUP_BLOCKS - 2 * j;
	const unsigned pair = (TB_GCM_MAX_POWER - first_power) / 2;
	const __m256i h = _mm256_loadu_si256(
		(const __m256i *)(table + TB_GCM_HPOW_OFFSET +
				  16 * (TB_GCM_MAX_POWER - first_power)));
	const __m256i kara = _mm256_loadu_si256(
		(const __m256i *)(table + TB_GCM_HKARA_OFFSET +
				  32 * (pair / 2)));
	__m256i d, dk;

	d = _mm256_loadu_si256((const __m256i *)(src + 32 * j));
	d = _mm256_shuffle_epi8(d, bswap_mask2());
	if (j == 0)
		d = _mm256_xor_si256(d, _mm256_zextsi128_si256(acc));
	dk = _mm256_xor_si256(d, _mm256_shuffle_epi32(d, 0x4e));

	*lo = _mm256_xor_si256(*lo, _mm256_clmulepi64_epi128(d, h, 0x00));
	*hi = _mm256_xor_si256(*hi, _mm256_clmulepi64_epi128(d, h, 0x11));
	if (pair % 2 == 0)
		*mid = _mm256_xor_si256(*mid,
					_mm256_clmulepi64_epi128(dk, kara, 0x00));
	else
		*mid = _mm256_xor_si256(*mid,
					_mm256_clmulepi64_epi128(dk, kara, 0x10));
}

/* Adds the two 128-bit lanes. */
static inline __attribute__((always_inline)) __m128i fold_lanes(__m256i v)
{
	return _mm_xor_si128(_mm256_castsi256_si128(v),
			     _mm256_extracti128_si256(v, 1));
}

/*
 * Encrypts or decrypts one group from in to out while hashing the group of
 * ciphertext blocks at ghash_src into *acc. Every load of in and ghash_src
 * happens before the store of the same block, so in == out and
 * ghash_src == in work.
 */
static inline __attribute__((always_inline)) void
crypt_group(const struct tb_gcm_key *key, __m256i *ctr, const uint8_t *in,
	    uint8_t *out, const uint8_t *ghash_src, __m128i *acc)
{
	const uint8_t *rk = tb_gcm_opaque(key->aes.round_keys);
	const uint8_t *table = tb_gcm_opaque(key->h_powers);
	const uint32_t rounds = key->aes.rounds;
	__m256i s[VECTORS];
	__m256i lo = _mm256_setzero_si256();
	__m256i mid = _mm256_setzero_si256();
	__m256i hi = _mm256_setzero_si256();
	__m256i k;
	uint32_t r;
	unsigned v;

	counter_blocks(s, ctr, round_key2(rk, 0));

	/* Rounds 1 .. VECTORS, each followed by the GHASH of one pair. */
#pragma GCC unroll 16
	for (r = 1; r <= VECTORS; r++) {
		aes_round_group(s, round_key2(rk, r));
		ghash_step(table, ghash_src, r - 1, *acc, &lo, &mid, &hi);
	}
	aes_round_group(s, round_key2(rk, r++));
	*acc = tb_gcm_finish_sum(fold_lanes(lo), fold_lanes(mid),
				 fold_lanes(hi));
	for (; r < rounds; r++)
		aes_round_group(s, round_key2(rk, r));

	/* Last round with the data XOR folded into the round key:
	 * AESENCLAST(s, k ^ d) = AESENCLAST(s, k) ^ d. */
	k = round_key2(rk, rounds);
#pragma GCC unroll 16
	for (v = 0; v < VECTORS; v++) {
		__m256i d = _mm256_loadu_si256((const __m256i *)(in + 32 * v));

		s[v] = _mm256_aesenclast_epi128(s[v], _mm256_xor_si256(k, d));
		_mm256_storeu_si256((__m256i *)(out + 32 * v), s[v]);
	}
}

/* XORs the last len < 16 * GROUP_BLOCKS bytes with one group of
 * keystream. */
static inline __attribute__((always_inline)) void
crypt_tail(const struct tb_aes_key *key, __m256i *ctr, const uint8_t *in,
	   uint8_t *out, size_t len)
{
	__m256i ks[VECTORS];
	size_t i = 0;
	unsigned v;

	keystream_group(key, ctr, ks);
#pragma GCC unroll 16
	for (v = 0; v < VECTORS && i < len; v++) {
		__m128i half = _mm256_castsi256_si128(ks[v]);
		__m128i d;

		if (i + 32 <= len) {
			__m256i d2 = _mm256_loadu_si256((const __m256i *)(in + i));

			_mm256_storeu_si256((__m256i *)(out + i),
					    _mm256_xor_si256(d2, ks[v]));
			i += 32;
			continue;
		}
		if (i + 16 <= len) {
			d = _mm_loadu_si128((const __m128i *)(in + i));
			_mm_storeu_si128((__m128i *)(out + i),
					 _mm_xor_si128(d, half));
			half = _mm256_extracti128_si256(ks[v], 1);
			i += 16;
		}
		if (i < len) {
			d = tb_gcm_load_partial(in + i, len - i);
			tb_gcm_store_partial(out + i, _mm_xor_si128(d, half),
					     len - i);
			i = len;
		}
	}
}

/* The worker behind tb_vaes_gcm_crypt; its frame is wiped afterwards. The
 * assembly loop it calls stores nothing on the stack, so the wipe also
 * covers everything below. */
static __attribute__((noinline)) void
gcm_crypt(const struct tb_gcm_key *key, int decrypt, const uint8_t iv[12],
	  const uint8_t *aad, size_t aad_len, const uint8_t *in, uint8_t *out,
	  size_t len, uint8_t tag[16])
{
	const size_t group_bytes = 16 * GROUP_BLOCKS;
	const __m128i j0 = tb_gcm_j0_reversed(iv);
	__m128i ek_j0, acc;
	__m256i ctr;
	size_t done = 0;

	ek_j0 = encrypt_block(&key->aes,
			      _mm_shuffle_epi8(j0, tb_ghash_bswap_mask()));

	/* Lanes hold the counters J0 + 1 and J0 + 2. */
	ctr = _mm256_add_epi32(_mm256_broadcastsi128_si256(j0),
			       _mm256_set_epi32(0, 0, 0, 2, 0, 0, 0, 1));
	acc = tb_gcm_ghash(key->h_powers, _mm_setzero_si128(), aad, aad_len);

	/* Whole 256-byte groups go through the assembly loop. */
	if (len >= TB_VAES_GCM_GROUP_BYTES) {
		const size_t groups = len / TB_VAES_GCM_GROUP_BYTES;
		struct tb_vaes_gcm_state state;

		_mm256_storeu_si256((__m256i *)state.ctr, ctr);
		_mm_storeu_si128((__m128i *)state.acc, acc);
		if (decrypt)
			tb_vaes_gcm_decrypt_groups(key->aes.round_keys,
						   key->aes.rounds,
						   key->h_powers, in, out,
						   groups, &state);
		else
			tb_vaes_gcm_encrypt_groups(key->aes.round_keys,
						   key->aes.rounds,
						   key->h_powers, in, out,
						   groups, &state);
		ctr = _mm256_loadu_si256((const __m256i *)state.ctr);
		acc = _mm_loadu_si128((const __m128i *)state.acc);
		done = groups * TB_VAES_GCM_GROUP_BYTES;
	}

	/* At most one 128-byte group is left. */
	if (done + group_bytes <= len) {
		if (decrypt) {
			crypt_group(key, &ctr, in + done, out + done,
				    in + done, &acc);
		} else {
			__m256i ks[VECTORS];
			unsigned v;

			keystream_group(&key->aes, &ctr, ks);
#pragma GCC unroll 16
			for (v = 0; v < VECTORS; v++) {
				__m256i d = _mm256_loadu_si256(
					(const __m256i *)(in + done) + v);

				_mm256_storeu_si256(
					(__m256i *)(out + done) + v,
					_mm256_xor_si256(d, ks[v]));
			}
			acc = tb_gcm_ghash_blocks(key->h_powers, acc,
						  out + done, GROUP_BLOCKS);
		}
		done += group_bytes;
	}

	if (done < len) {
		if (decrypt)
			acc = tb_gcm_ghash(key->h_powers, acc, in + done,
					   len - done);
		crypt_tail(&key->aes, &ctr, in + done, out + done, len - done);
		if (!decrypt)
			acc = tb_gcm_ghash(key->h_powers, acc, out + done,
					   len - done);
	}

	tb_gcm_final_tag(key->h_powers, acc, aad_len, len, ek_j0, tag);
}

void tb_vaes_gcm_crypt(const struct tb_gcm_key *key, int decrypt,
		       const uint8_t iv[12], const uint8_t *aad, size_t aad_len,
		       const uint8_t *in, uint8_t *out, size_t len,
		       uint8_t tag[16])
{
	gcm_crypt(key, decrypt, iv, aad, aad_len, in, out, len, tag);
	tb_simd_wipe_stack_below();
	tb_avx_clear_registers();
}

/*
 * AES-GCM with AES-NI and PCLMULQDQ in legacy SSE encoding (no VEX), 8
 * blocks per iteration. The AES rounds of one group of counter blocks are
 * interleaved with the GHASH of 8 ciphertext blocks (the previous group when
 * encrypting, the current one when decrypting), with H^8..H^1 and one
 * reduction per group.
 */
#include "x86_64/aes_x86.h"
#include "x86_64/simd/gcm_x86.h"
#include "x86_64/simd/simd_clear.h"

#define GROUP_BLOCKS 8

static inline __m128i round_key(const uint8_t *schedule, uint32_t round)
{
	return _mm_loadu_si128((const __m128i *)(schedule + 16 * round));
}

static __m128i encrypt_block(const struct tb_aes_key *key, __m128i x)
{
	uint32_t r;

	x = _mm_xor_si128(x, round_key(key->round_keys, 0));
	for (r = 1; r < key->rounds; r++)
		x = _mm_aesenc_si128(x, round_key(key->round_keys, r));
	return _mm_aesenclast_si128(x, round_key(key->round_keys, key->rounds));
}

void tb_aesni_gcm_init_table(struct tb_gcm_key *key)
{
	__m128i h, power, kara;
	unsigned k;

	h = encrypt_block(&key->aes, _mm_setzero_si128());
	h = _mm_shuffle_epi8(h, tb_ghash_bswap_mask());
	h = tb_ghash_mul_x_inverse(h);

	power = h;
	for (k = 1; k <= TB_GCM_MAX_POWER; k++) {
		if (k > 1)
			power = tb_ghash_mul(power, h);
		_mm_storeu_si128((__m128i *)(key->h_powers + TB_GCM_HPOW_OFFSET +
					    16 * (TB_GCM_MAX_POWER - k)),
				power);
		kara = _mm_xor_si128(power, tb_ghash_swap64(power));
		_mm_storel_epi64((__m128i *)(key->h_powers +
					     tb_gcm_kara_offset(k)),
				 kara);
	}
	tb_sse_clear_registers();
}

/* Writes the 8 counter blocks ctr .. ctr + 7 (reversed form, see
 * tb_gcm_j0_reversed) in memory order, XORed with round key 0, and
 * advances ctr. */
static inline __attribute__((always_inline)) void counter_blocks(__m128i s[GROUP_BLOCKS], __m128i *ctr,
				  __m128i k0)
{
	const __m128i bswap = tb_ghash_bswap_mask();
	unsigned i;

#pragma GCC unroll 16
	for (i = 0; i < GROUP_BLOCKS; i++) {
		__m128i c = _mm_add_epi32(*ctr, _mm_set_epi32(0, 0, 0, (int)i));

		s[i] = _mm_xor_si128(_mm_shuffle_epi8(c, bswap), k0);
	}
	*ctr = _mm_add_epi32(*ctr, _mm_set_epi32(0, 0, 0, GROUP_BLOCKS));
}

static inline __attribute__((always_inline)) void aes_round_group(__m128i s[GROUP_BLOCKS], __m128i k)
{
	unsigned i;

#pragma GCC unroll 16
	for (i = 0; i < GROUP_BLOCKS; i++)
		s[i] = _mm_aesenc_si128(s[i], k);
}

/* Returns 8 keystream blocks for the counters ctr .. ctr + 7. */
static inline __attribute__((always_inline)) void keystream_group(const struct tb_aes_key *key,
				   __m128i *ctr, __m128i s[GROUP_BLOCKS])
{
	const uint8_t *rk = tb_gcm_opaque(key->round_keys);
	uint32_t r;
	unsigned i;

	counter_blocks(s, ctr, round_key(rk, 0));
	for (r = 1; r < key->rounds; r++)
		aes_round_group(s, round_key(rk, r));
#pragma GCC unroll 16
	for (i = 0; i < GROUP_BLOCKS; i++)
		s[i] = _mm_aesenclast_si128(s[i], round_key(rk, key->rounds));
}

/*
 * Encrypts or decrypts one group of 8 blocks from in to out while hashing
 * the 8 ciphertext blocks at ghash_src into *acc. Every load of in and
 * ghash_src happens before the store of the same block, so in == out and
 * ghash_src == in work.
 */
static inline __attribute__((always_inline)) void crypt_group(const struct tb_gcm_key *key, __m128i *ctr,
			       const uint8_t *in, uint8_t *out,
			       const uint8_t *ghash_src, __m128i *acc)
{
	const uint8_t *rk = tb_gcm_opaque(key->aes.round_keys);
	const uint8_t *table = tb_gcm_opaque(key->h_powers);
	const uint32_t rounds = key->aes.rounds;
	const __m128i bswap = tb_ghash_bswap_mask();
	__m128i s[GROUP_BLOCKS];
	__m128i lo = _mm_setzero_si128();
	__m128i mid = _mm_setzero_si128();
	__m128i hi = _mm_setzero_si128();
	__m128i k;
	uint32_t r;
	unsigned i;

	counter_blocks(s, ctr, round_key(rk, 0));

	/* Rounds 1-8, each followed by the GHASH multiply of one block. */
#pragma GCC unroll 16
	for (r = 1; r <= GROUP_BLOCKS; r++) {
		__m128i x;

		aes_round_group(s, round_key(rk, r));
		x = _mm_loadu_si128((const __m128i *)(ghash_src +
						      16 * (r - 1)));
		x = _mm_shuffle_epi8(x, bswap);
		if (r == 1)
			x = _mm_xor_si128(x, *acc);
		tb_gcm_mul_acc(table, x, GROUP_BLOCKS + 1 - r, &lo, &mid,
			       &hi);
	}
	*acc = tb_gcm_finish_sum(lo, mid, hi);

	for (; r < rounds; r++)
		aes_round_group(s, round_key(rk, r));

	/* Last round with the data XOR folded into the round key:
	 * AESENCLAST(s, k ^ d) = AESENCLAST(s, k) ^ d. */
	k = round_key(rk, rounds);
#pragma GCC unroll 16
	for (i = 0; i < GROUP_BLOCKS; i++) {
		__m128i d = _mm_loadu_si128((const __m128i *)(in + 16 * i));

		s[i] = _mm_aesenclast_si128(s[i], _mm_xor_si128(k, d));
		_mm_storeu_si128((__m128i *)(out + 16 * i), s[i]);
	}
}

/* Encrypts or decrypts the last len < 128 bytes with one batch of 8
 * keystream blocks. */
static inline __attribute__((always_inline)) void crypt_tail(const struct tb_aes_key *key, __m128i *ctr,
			      const uint8_t *in, uint8_t *out, size_t len)
{
	__m128i ks[GROUP_BLOCKS];
	size_t i;

	keystream_group(key, ctr, ks);
	for (i = 0; i + 16 <= len; i += 16) {
		__m128i d = _mm_loadu_si128((const __m128i *)(in + i));

		_mm_storeu_si128((__m128i *)(out + i),
				 _mm_xor_si128(d, ks[i / 16]));
	}
	if (i < len) {
		__m128i d = tb_gcm_load_partial(in + i, len - i);

		tb_gcm_store_partial(out + i, _mm_xor_si128(d, ks[i / 16]),
				     len - i);
	}
}

/* The worker behind tb_aesni_gcm_crypt; its frame is wiped afterwards. */
static __attribute__((noinline)) void
gcm_crypt(const struct tb_gcm_key *key, int decrypt, const uint8_t iv[12],
	  const uint8_t *aad, size_t aad_len, const uint8_t *in, uint8_t *out,
	  size_t len, uint8_t tag[16])
{
	const size_t group_bytes = 16 * GROUP_BLOCKS;
	const __m128i bswap = tb_ghash_bswap_mask();
	__m128i ctr = tb_gcm_j0_reversed(iv);
	__m128i ek_j0, acc;
	size_t done = 0;

	ctr = _mm_add_epi32(ctr, _mm_set_epi32(0, 0, 0, 1));
	acc = tb_gcm_ghash(key->h_powers, _mm_setzero_si128(), aad, aad_len);

	if (decrypt) {
		for (; done + group_bytes <= len; done += group_bytes)
			crypt_group(key, &ctr, in + done, out + done,
				    in + done, &acc);
	} else if (len >= group_bytes) {
		/* The first group has no earlier ciphertext to hash, the
		 * last one is hashed after the loop. */
		__m128i ks[GROUP_BLOCKS];
		unsigned i;

		keystream_group(&key->aes, &ctr, ks);
		for (i = 0; i < GROUP_BLOCKS; i++) {
			__m128i d = _mm_loadu_si128((const __m128i *)in + i);

			_mm_storeu_si128((__m128i *)out + i,
					 _mm_xor_si128(d, ks[i]));
		}
		for (done = group_bytes; done + group_bytes <= len;
		     done += group_bytes)
			crypt_group(key, &ctr, in + done, out + done,
				    out + done - group_bytes, &acc);
		acc = tb_gcm_ghash_blocks(key->h_powers, acc,
					  out + done - group_bytes,
					  GROUP_BLOCKS);
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

	/* E(J0) is computed last so that no call or loop above keeps it
	 * live. */
	ek_j0 = encrypt_block(&key->aes,
			      _mm_shuffle_epi8(tb_gcm_j0_reversed(iv), bswap));
	tb_gcm_final_tag(key->h_powers, acc, aad_len, len, ek_j0, tag);
}

void tb_aesni_gcm_crypt(const struct tb_gcm_key *key, int decrypt,
			const uint8_t iv[12], const uint8_t *aad,
			size_t aad_len, const uint8_t *in, uint8_t *out,
			size_t len, uint8_t tag[16])
{
	gcm_crypt(key, decrypt, iv, aad, aad_len, in, out, len, tag);
	tb_simd_wipe_stack_below();
	tb_sse_clear_registers();
}

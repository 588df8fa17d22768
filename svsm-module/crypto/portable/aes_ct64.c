/*
 * Bitsliced AES rounds over four blocks (layout in aes_ct64.h).
 */
#include <string.h>

#include "core/tb_core.h"
#include "crypto/portable/aes_ct64.h"
#include "crypto/portable/wipe_words.h"

/*
 * Spreads the four bytes of x to the even bytes of the result (byte k goes
 * to byte 2k).
 */
static uint64_t spread_bytes(uint64_t x)
{
	x &= 0x00000000FFFFFFFFull;
	x = (x | (x << 16)) & 0x0000FFFF0000FFFFull;
	x = (x | (x << 8)) & 0x00FF00FF00FF00FFull;
	return x;
}

/* Gathers the even bytes of x into the low four bytes, the inverse of
 * spread_bytes(). */
static uint64_t gather_bytes(uint64_t x)
{
	x &= 0x00FF00FF00FF00FFull;
	x = (x | (x >> 8)) & 0x0000FFFF0000FFFFull;
	x = (x | (x >> 16)) & 0x00000000FFFFFFFFull;
	return x;
}

/*
 * Exchanges the bits of a selected by mask << shift with the bits of b
 * selected by mask.
 */
#define SWAP_BITS(a, b, mask, shift)                            \
	do {                                                    \
		uint64_t swap_tmp = (((a) >> (shift)) ^ (b)) & (mask); \
		(b) ^= swap_tmp;                                \
		(a) ^= swap_tmp << (shift);                     \
	} while (0)

/*
 * Transposes, for each byte position t, the 8x8 bit matrix formed by byte t
 * of the eight words: afterwards bit i of byte t of w[k] is the former bit k
 * of byte t of w[i]. The transposition is its own inverse.
 */
static void transpose_bytes(uint64_t w[8])
{
	SWAP_BITS(w[0], w[1], 0x5555555555555555ull, 1);
	SWAP_BITS(w[2], w[3], 0x5555555555555555ull, 1);
	SWAP_BITS(w[4], w[5], 0x5555555555555555ull, 1);
	SWAP_BITS(w[6], w[7], 0x5555555555555555ull, 1);

	SWAP_BITS(w[0], w[2], 0x3333333333333333ull, 2);
	SWAP_BITS(w[1], w[3], 0x3333333333333333ull, 2);
	SWAP_BITS(w[4], w[6], 0x3333333333333333ull, 2);
	SWAP_BITS(w[5], w[7], 0x3333333333333333ull, 2);

	SWAP_BITS(w[0], w[4], 0x0F0F0F0F0F0F0F0Full, 4);
	SWAP_BITS(w[1], w[5], 0x0F0F0F0F0F0F0F0Full, 4);
	SWAP_BITS(w[2], w[6], 0x0F0F0F0F0F0F0F0Full, 4);
	SWAP_BITS(w[3], w[7], 0x0F0F0F0F0F0F0F0Full, 4);
}

/*
 * The byte that goes to bit position p = 16r + 4c + b must be in byte
 * t = p / 8 of word k = p % 8 before the transposition. So k = 4 (c & 1) + b
 * and t = 2r + (c >> 1): word b interleaves columns 0 (even bytes) and 2
 * (odd bytes) of block b, and word 4 + b does the same with columns 1 and 3.
 */
void tb_ct64_load(uint64_t q[8], const uint8_t in[64])
{
	unsigned b;

	for (b = 0; b < 4; b++) {
		uint64_t lo = tb_load_le64(in + 16 * b);
		uint64_t hi = tb_load_le64(in + 16 * b + 8);

		q[b] = spread_bytes(lo) | (spread_bytes(hi) << 8);
		q[4 + b] = spread_bytes(lo >> 32) |
			   (spread_bytes(hi >> 32) << 8);
	}
	transpose_bytes(q);
}

void tb_ct64_store(uint64_t q[8], uint8_t out[64])
{
	unsigned b;

	transpose_bytes(q);
	for (b = 0; b < 4; b++) {
		uint64_t lo = gather_bytes(q[b]) |
			      (gather_bytes(q[4 + b]) << 32);
		uint64_t hi = gather_bytes(q[b] >> 8) |
			      (gather_bytes(q[4 + b] >> 8) << 32);

		tb_store_le64(out + 16 * b, lo);
		tb_store_le64(out + 16 * b + 8, hi);
	}
}

/*
 * ShiftRows is deferred. It only turns rows, so the rounds leave the bytes
 * where they are and count the turns instead: in "layout k", the byte of
 * row r and logical column c is at physical column (c + k r) mod 4. One
 * ShiftRows turns layout k into layout k + 1 (mod 4) without moving a bit.
 * SubBytes works on any layout, round keys are stored in the layout of
 * their round, and MixColumns finds the bytes of a column at shifted
 * places. Only the input or the output of a whole cipher run is moved.
 */

/* Rotates each 16-bit row field of x right by 4j bits (j columns). */
static inline uint64_t rotate_columns(uint64_t x, unsigned j)
{
	uint64_t low = (0xFFFFull >> (4 * j)) * 0x0001000100010001ull;

	if (j == 0)
		return x;
	return ((x >> (4 * j)) & low) | ((x << (16 - 4 * j)) & ~low);
}

/*
 * Moves a word from layout k to layout 0: the field of row r rotates right
 * by 4kr bits. Rows 2 and 3 first rotate by 8k bits (a byte swap inside
 * their fields when k is odd), then rows 1 and 3 by 4k bits.
 */
static inline uint64_t layout_to_logical(uint64_t x, unsigned k)
{
	uint64_t swap = (x ^ (x >> 8)) & 0x00FF00FF00000000ull;

	if (k & 1)
		x ^= swap ^ (swap << 8);
	return (x & 0x0000FFFF0000FFFFull) |
	       (rotate_columns(x, k) & 0xFFFF0000FFFF0000ull);
}

/* Moves a word from layout 0 to layout k. */
static inline uint64_t logical_to_layout(uint64_t x, unsigned k)
{
	return layout_to_logical(x, (4 - k) & 3);
}

/* Moves row r + j (mod 4) into row r: bit p takes bit p + 16j (mod 64).
 * j is 1, 2 or 3. */
static inline uint64_t rotate_rows(uint64_t x, unsigned j)
{
	return (x >> (16 * j)) | (x << (64 - 16 * j));
}

/* Returns, at each byte of x in layout k, the byte j rows further down in
 * the same logical column, which is j rows and jk columns away. */
static inline uint64_t rows_below(uint64_t x, unsigned j, unsigned k)
{
	return rotate_columns(rotate_rows(x, j), (j * k) & 3);
}

static void add_round_key(uint64_t q[8], const uint64_t rk[8])
{
	q[0] ^= rk[0];
	q[1] ^= rk[1];
	q[2] ^= rk[2];
	q[3] ^= rk[3];
	q[4] ^= rk[4];
	q[5] ^= rk[5];
	q[6] ^= rk[6];
	q[7] ^= rk[7];
}

/*
 * MixColumns in layout k: s'[r] = 2 s[r] + 3 s[r+1] + s[r+2] + s[r+3] in
 * each column, computed as 2 (s[r] + s[r+1]) + s[r+1] + (s[r+2] + s[r+3])
 * where the last term is the first sum two rows down.
 *
 * Multiplying by x in GF(2^8) modulo x^8 + x^4 + x^3 + x + 1 (FIPS 197,
 * 4.2.1) moves each bit plane up by one. The bit 7 that drops out comes
 * back at bits 0, 1, 3 and 4, which is where the extra s7 terms come from.
 */
static inline __attribute__((always_inline)) void
mix_columns(uint64_t q[8], unsigned k)
{
	uint64_t n0 = rows_below(q[0], 1, k), n1 = rows_below(q[1], 1, k);
	uint64_t n2 = rows_below(q[2], 1, k), n3 = rows_below(q[3], 1, k);
	uint64_t n4 = rows_below(q[4], 1, k), n5 = rows_below(q[5], 1, k);
	uint64_t n6 = rows_below(q[6], 1, k), n7 = rows_below(q[7], 1, k);
	uint64_t s0 = q[0] ^ n0, s1 = q[1] ^ n1, s2 = q[2] ^ n2, s3 = q[3] ^ n3;
	uint64_t s4 = q[4] ^ n4, s5 = q[5] ^ n5, s6 = q[6] ^ n6, s7 = q[7] ^ n7;

	q[0] = s7 ^ n0 ^ rows_below(s0, 2, k);
	q[1] = s0 ^ s7 ^ n1 ^ rows_below(s1, 2, k);
	q[2] = s1 ^ n2 ^ rows_below(s2, 2, k);
	q[3] = s2 ^ s7 ^ n3 ^ rows_below(s3, 2, k);
	q[4] = s3 ^ s7 ^ n4 ^ rows_below(s4, 2, k);
	q[5] = s4 ^ n5 ^ rows_below(s5, 2, k);
	q[6] = s5 ^ n6 ^ rows_below(s6, 2, k);
	q[7] = s6 ^ n7 ^ rows_below(s7, 2, k);
}

/*
 * InvMixColumns in layout k: the matrix (14 11 13 9) equals MixColumns
 * times the circulant (5 0 4 0), so s[r] += 4 (s[r] + s[r+2]) comes first.
 * With u = s[r] + s[r+2], the bit planes 0 to 7 of 4u are u6, u7 + u6,
 * u0 + u7, u1 + u6, u2 + u7 + u6, u3 + u7, u4 and u5.
 */
static inline __attribute__((always_inline)) void
inv_mix_columns(uint64_t q[8], unsigned k)
{
	uint64_t u0 = q[0] ^ rows_below(q[0], 2, k);
	uint64_t u1 = q[1] ^ rows_below(q[1], 2, k);
	uint64_t u2 = q[2] ^ rows_below(q[2], 2, k);
	uint64_t u3 = q[3] ^ rows_below(q[3], 2, k);
	uint64_t u4 = q[4] ^ rows_below(q[4], 2, k);
	uint64_t u5 = q[5] ^ rows_below(q[5], 2, k);
	uint64_t u6 = q[6] ^ rows_below(q[6], 2, k);
	uint64_t u7 = q[7] ^ rows_below(q[7], 2, k);

	q[0] ^= u6;
	q[1] ^= u7 ^ u6;
	q[2] ^= u0 ^ u7;
	q[3] ^= u1 ^ u6;
	q[4] ^= u2 ^ u7 ^ u6;
	q[5] ^= u3 ^ u7;
	q[6] ^= u4;
	q[7] ^= u5;
	mix_columns(q, k);
}

/* Runs MixColumns with k as a constant in each branch, so that the
 * compiler drops the column rotations that the layout does not need. */
static void mix_columns_in_layout(uint64_t q[8], unsigned k)
{
	switch (k & 3) {
	case 0:
		mix_columns(q, 0);
		break;
	case 1:
		mix_columns(q, 1);
		break;
	case 2:
		mix_columns(q, 2);
		break;
	default:
		mix_columns(q, 3);
		break;
	}
}

static void inv_mix_columns_in_layout(uint64_t q[8], unsigned k)
{
	switch (k & 3) {
	case 0:
		inv_mix_columns(q, 0);
		break;
	case 1:
		inv_mix_columns(q, 1);
		break;
	case 2:
		inv_mix_columns(q, 2);
		break;
	default:
		inv_mix_columns(q, 3);
		break;
	}
}

static void move_layout_to_logical(uint64_t q[8], unsigned k)
{
	unsigned i;

	for (i = 0; i < 8; i++)
		q[i] = layout_to_logical(q[i], k & 3);
}

static void move_logical_to_layout(uint64_t q[8], unsigned k)
{
	unsigned i;

	for (i = 0; i < 8; i++)
		q[i] = logical_to_layout(q[i], k & 3);
}

void tb_ct64_round_key_to_layout(uint64_t rk[8], unsigned round)
{
	move_logical_to_layout(rk, round);
}

/*
 * Round i runs in layout i mod 4 because each ShiftRows is only counted,
 * and round key i is stored in that layout. The output is moved from the
 * layout of the last round to layout 0.
 */
void tb_ct64_encrypt(const uint64_t *rk, unsigned rounds, uint64_t q[8])
{
	unsigned round;

	add_round_key(q, rk);
	for (round = 1; round < rounds; round++) {
		tb_ct64_sub_bytes(q);
		mix_columns_in_layout(q, round);
		add_round_key(q, rk + 8 * round);
	}
	tb_ct64_sub_bytes(q);
	add_round_key(q, rk + 8 * rounds);
	move_layout_to_logical(q, rounds);
}

/*
 * The inverse cipher counts each InvShiftRows backwards. Once the input is
 * moved to the layout of the last round, it meets round key i in layout
 * i mod 4 as well, and ends in layout 0.
 */
void tb_ct64_decrypt(const uint64_t *rk, unsigned rounds, uint64_t q[8])
{
	unsigned round;

	move_logical_to_layout(q, rounds);
	add_round_key(q, rk + 8 * rounds);
	for (round = rounds - 1; round > 0; round--) {
		tb_ct64_inv_sub_bytes(q);
		add_round_key(q, rk + 8 * round);
		inv_mix_columns_in_layout(q, round);
	}
	tb_ct64_inv_sub_bytes(q);
	add_round_key(q, rk);
}

void tb_ct64_encrypt4(const uint64_t *rk, unsigned rounds,
		      const uint8_t in[64], uint8_t out[64])
{
	uint64_t q[8];

	tb_ct64_load(q, in);
	tb_ct64_encrypt(rk, rounds, q);
	tb_ct64_store(q, out);
	tb_portable_wipe_words(q, 8);
}

void tb_ct64_decrypt4(const uint64_t *rk, unsigned rounds,
		      const uint8_t in[64], uint8_t out[64])
{
	uint64_t q[8];

	tb_ct64_load(q, in);
	tb_ct64_decrypt(rk, rounds, q);
	tb_ct64_store(q, out);
	tb_portable_wipe_words(q, 8);
}

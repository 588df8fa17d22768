/*
 * GHASH multiplication in GF(2^128) with integer multiplications on
 * operands "with holes". It uses general-purpose registers only and is
 * constant-time when the CPU's 64-bit multiplication is.
 */
#include "core/tb_core.h"
#include "crypto/portable/ghash_ctmul64.h"
#include "crypto/portable/wipe_words.h"

#define MASK0 0x1111111111111111ull
#define MASK1 0x2222222222222222ull
#define MASK2 0x4444444444444444ull
#define MASK3 0x8888888888888888ull

/*
 * Returns the low 64 bits of the carry-less product of x and y.
 *
 * Each operand is split into four parts whose set bits are four positions
 * apart. An integer product of two parts adds up, at each result position
 * of the right residue, at most 15 bit products below position 60 and 16
 * from there on. So each sum below bit 60 fits in the four bits up to the
 * next kept position, and the carries of the top sums leave the word. The
 * kept bit is the parity of its sum, which is the carry-less product bit.
 */
static uint64_t clmul_low(uint64_t x, uint64_t y)
{
	uint64_t x0 = x & MASK0, x1 = x & MASK1, x2 = x & MASK2, x3 = x & MASK3;
	uint64_t y0 = y & MASK0, y1 = y & MASK1, y2 = y & MASK2, y3 = y & MASK3;
	uint64_t z0, z1, z2, z3;

	z0 = (x0 * y0) ^ (x1 * y3) ^ (x2 * y2) ^ (x3 * y1);
	z1 = (x0 * y1) ^ (x1 * y0) ^ (x2 * y3) ^ (x3 * y2);
	z2 = (x0 * y2) ^ (x1 * y1) ^ (x2 * y0) ^ (x3 * y3);
	z3 = (x0 * y3) ^ (x1 * y2) ^ (x2 * y1) ^ (x3 * y0);

	return (z0 & MASK0) | (z1 & MASK1) | (z2 & MASK2) | (z3 & MASK3);
}

/* Reverses the bit order of x. */
static uint64_t reverse_bits(uint64_t x)
{
	x = __builtin_bswap64(x);
	x = ((x >> 1) & 0x5555555555555555ull) |
	    ((x & 0x5555555555555555ull) << 1);
	x = ((x >> 2) & 0x3333333333333333ull) |
	    ((x & 0x3333333333333333ull) << 2);
	x = ((x >> 4) & 0x0F0F0F0F0F0F0F0Full) |
	    ((x & 0x0F0F0F0F0F0F0F0Full) << 4);
	return x;
}

/*
 * The hash subkey prepared for Karatsuba multiplication: h[0] and h[1] are
 * its low and high halves and h[2] their XOR, and hr[] has the bit-reversed
 * forms of the three. Reversal is needed because the carry-less product of
 * reversed operands is the reversed product, so its low half gives the
 * high half of the true product.
 */
struct ghash_key {
	uint64_t h[3];
	uint64_t hr[3];
};

static void ghash_key_init(struct ghash_key *k, const uint64_t h[2])
{
	k->h[1] = h[0];
	k->h[0] = h[1];
	k->h[2] = k->h[0] ^ k->h[1];
	k->hr[0] = reverse_bits(k->h[0]);
	k->hr[1] = reverse_bits(k->h[1]);
	k->hr[2] = k->hr[0] ^ k->hr[1];
}

static void ghash_key_wipe(struct ghash_key *k)
{
	tb_portable_wipe_words(k->h, 3);
	tb_portable_wipe_words(k->hr, 3);
}

/*
 * Adds the 256-bit carry-less product of x = (x1, x0) and the prepared
 * subkey k to z (z[3] is the high word). The products of several blocks
 * can be summed before one reduction because the reduction is linear.
 */
static void clmul_accumulate(uint64_t z[4], uint64_t x1, uint64_t x0,
			     const struct ghash_key *k)
{
	uint64_t x2 = x0 ^ x1;
	uint64_t x0r = reverse_bits(x0), x1r = reverse_bits(x1);
	uint64_t x2r = x0r ^ x1r;
	uint64_t lo_l, lo_h, hi_l, hi_h, mid_l, mid_h;

	/* Karatsuba: three 64x64 -> 128 products, each as two halves. */
	lo_l = clmul_low(x0, k->h[0]);
	hi_l = clmul_low(x1, k->h[1]);
	mid_l = clmul_low(x2, k->h[2]) ^ lo_l ^ hi_l;
	lo_h = reverse_bits(clmul_low(x0r, k->hr[0])) >> 1;
	hi_h = reverse_bits(clmul_low(x1r, k->hr[1])) >> 1;
	mid_h = (reverse_bits(clmul_low(x2r, k->hr[2])) >> 1) ^ lo_h ^ hi_h;

	z[0] ^= lo_l;
	z[1] ^= lo_h ^ mid_l;
	z[2] ^= hi_l ^ mid_h;
	z[3] ^= hi_h;
}

/*
 * Reduces the 255-bit product z modulo x^128 + x^7 + x^2 + x + 1 into y.
 *
 * GCM stores the coefficients bit-reflected, so the 255-bit carry-less
 * product of the two integers is the true product reversed over 255 bits.
 * After a left shift by one, its high 128 bits are the low half of the
 * product and its low 128 bits L are the high half, both reflected. In
 * this form a multiplication by x^j is a right shift by j. Because
 * x^128 = x^7 + x^2 + x + 1, the high half folds in as
 * T ^ T>>1 ^ T>>2 ^ T>>7 with T = L ^ L<<127 ^ L<<126 ^ L<<121: the left
 * shifts bring back the bits that the right shifts push out, which is the
 * second reduction step.
 */
static void reduce(uint64_t y[2], const uint64_t z[4])
{
	uint64_t z0, z1, z2, z3, t0, t1;

	/* Shift the 255-bit product left by one. */
	z3 = (z[3] << 1) | (z[2] >> 63);
	z2 = (z[2] << 1) | (z[1] >> 63);
	z1 = (z[1] << 1) | (z[0] >> 63);
	z0 = z[0] << 1;

	/* Fold L = (z1, z0) into (z3, z2). */
	t0 = z0;
	t1 = z1 ^ (z0 << 63) ^ (z0 << 62) ^ (z0 << 57);
	y[0] = z3 ^ t1 ^ (t1 >> 1) ^ (t1 >> 2) ^ (t1 >> 7);
	y[1] = z2 ^ t0 ^ (t0 >> 1) ^ (t1 << 63) ^ (t0 >> 2) ^ (t1 << 62) ^
	       (t0 >> 7) ^ (t1 << 57);
}

/* Sets y = y * H for the subkey prepared in k. */
static void ghash_mul(uint64_t y[2], const struct ghash_key *k)
{
	uint64_t z[4] = { 0, 0, 0, 0 };

	clmul_accumulate(z, y[0], y[1], k);
	reduce(y, z);
}

void tb_ghash64_powers(uint64_t h[8])
{
	struct ghash_key k;
	unsigned i;

	ghash_key_init(&k, h);
	for (i = 1; i < 4; i++) {
		h[2 * i] = h[2 * i - 2];
		h[2 * i + 1] = h[2 * i - 1];
		ghash_mul(h + 2 * i, &k);
	}
	ghash_key_wipe(&k);
}

/*
 * Four blocks at a time, Y = (Y ^ X1) H^4 ^ X2 H^3 ^ X3 H^2 ^ X4 H: the four
 * products are independent, so they overlap in the CPU, and only one
 * reduction runs per four blocks.
 */
void tb_ghash64_update(uint64_t y[2], const uint64_t h[8], const uint8_t *data,
		       size_t len)
{
	struct ghash_key k[4];
	int used_powers = len >= 64;
	uint8_t last[16];
	size_t i;

	/* Short inputs, such as most AAD, only need H. */
	ghash_key_init(&k[0], h);
	if (used_powers) {
		for (i = 1; i < 4; i++)
			ghash_key_init(&k[i], h + 2 * i);
	}

	while (len >= 64) {
		uint64_t z[4] = { 0, 0, 0, 0 };

		clmul_accumulate(z, y[0] ^ tb_load_be64(data),
				 y[1] ^ tb_load_be64(data + 8), &k[3]);
		clmul_accumulate(z, tb_load_be64(data + 16),
				 tb_load_be64(data + 24), &k[2]);
		clmul_accumulate(z, tb_load_be64(data + 32),
				 tb_load_be64(data + 40), &k[1]);
		clmul_accumulate(z, tb_load_be64(data + 48),
				 tb_load_be64(data + 56), &k[0]);
		reduce(y, z);
		data += 64;
		len -= 64;
	}
	while (len >= 16) {
		y[0] ^= tb_load_be64(data);
		y[1] ^= tb_load_be64(data + 8);
		ghash_mul(y, &k[0]);
		data += 16;
		len -= 16;
	}
	if (len > 0) {
		for (i = 0; i < 16; i++)
			last[i] = i < len ? data[i] : 0;
		y[0] ^= tb_load_be64(last);
		y[1] ^= tb_load_be64(last + 8);
		ghash_mul(y, &k[0]);
		tb_memzero(last, sizeof(last));
	}
	ghash_key_wipe(&k[0]);
	if (used_powers) {
		for (i = 1; i < 4; i++)
			ghash_key_wipe(&k[i]);
	}
}

void tb_ghash64_lengths(uint64_t y[2], const uint64_t h[2], uint64_t aad_len,
			uint64_t len)
{
	struct ghash_key k;

	ghash_key_init(&k, h);
	y[0] ^= aad_len * 8;
	y[1] ^= len * 8;
	ghash_mul(y, &k);
	ghash_key_wipe(&k);
}

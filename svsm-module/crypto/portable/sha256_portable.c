/*
 * SHA-256 compression function (FIPS 180-4, 6.2.2) of the portable tier.
 * No branch or memory address depends on the message or the state.
 */
#include "core/tb_core.h"
#include "crypto/portable/tb_portable.h"

/* The constants K0..K63 (FIPS 180-4, 4.2.2). */
static const uint32_t sha256_k[64] = {
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

static inline uint32_t rotr32(uint32_t x, unsigned n)
{
	return (x >> n) | (x << (32 - n));
}

/*
 * The functions of FIPS 180-4, 4.1.2, named as in RFC 6234. Ch and Maj use
 * equivalent forms with one operation less.
 */
#define CH(x, y, z) ((((y) ^ (z)) & (x)) ^ (z))
#define MAJ(x, y, z) (((x) & (y)) ^ ((z) & ((x) ^ (y))))
#define BSIG0(x) (rotr32(x, 2) ^ rotr32(x, 13) ^ rotr32(x, 22))
#define BSIG1(x) (rotr32(x, 6) ^ rotr32(x, 11) ^ rotr32(x, 25))
#define SSIG0(x) (rotr32(x, 7) ^ rotr32(x, 18) ^ ((x) >> 3))
#define SSIG1(x) (rotr32(x, 17) ^ rotr32(x, 19) ^ ((x) >> 10))

/*
 * Round t of FIPS 180-4, 6.2.2 step 3. Instead of shifting the eight
 * working variables down by one, the caller passes them in rotated order,
 * so only d and h change: d becomes e for the next round and h becomes a.
 */
#define ROUND(a, b, c, d, e, f, g, h, t)                                  \
	do {                                                              \
		uint32_t t1 = (h) + BSIG1(e) + CH(e, f, g) + sha256_k[t] + \
			      w[t];                                       \
		(d) += t1;                                                \
		(h) = t1 + BSIG0(a) + MAJ(a, b, c);                       \
	} while (0)

/* Compresses one block, with w as the buffer for the message schedule. */
static void sha256_block(uint32_t state[8], const uint8_t block[64],
			 uint32_t w[64])
{
	uint32_t a, b, c, d, e, f, g, h;
	unsigned t;

	/* Message schedule. */
	for (t = 0; t < 16; t++)
		w[t] = tb_load_be32(block + 4 * t);
	for (t = 16; t < 64; t++)
		w[t] = SSIG1(w[t - 2]) + w[t - 7] + SSIG0(w[t - 15]) +
		       w[t - 16];

	a = state[0];
	b = state[1];
	c = state[2];
	d = state[3];
	e = state[4];
	f = state[5];
	g = state[6];
	h = state[7];

	for (t = 0; t < 64; t += 8) {
		ROUND(a, b, c, d, e, f, g, h, t);
		ROUND(h, a, b, c, d, e, f, g, t + 1);
		ROUND(g, h, a, b, c, d, e, f, t + 2);
		ROUND(f, g, h, a, b, c, d, e, t + 3);
		ROUND(e, f, g, h, a, b, c, d, t + 4);
		ROUND(d, e, f, g, h, a, b, c, t + 5);
		ROUND(c, d, e, f, g, h, a, b, t + 6);
		ROUND(b, c, d, e, f, g, h, a, t + 7);
	}

	state[0] += a;
	state[1] += b;
	state[2] += c;
	state[3] += d;
	state[4] += e;
	state[5] += f;
	state[6] += g;
	state[7] += h;
}

void tb_portable_sha256_blocks(uint32_t state[8], const uint8_t *blocks,
			       size_t nblocks)
{
	uint32_t w[64];
	volatile uint32_t *wipe = w;
	unsigned t;

	while (nblocks > 0) {
		sha256_block(state, blocks, w);
		blocks += 64;
		nblocks--;
	}

	/* The schedule contains message words. Wiping it word by word costs
	 * less than tb_memzero() for the one- and two-block calls of HMAC. */
	for (t = 0; t < 64; t++)
		wipe[t] = 0;
}

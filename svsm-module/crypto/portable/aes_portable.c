/*
 * Single-block AES and AES-CBC of the portable tier, over the bitsliced
 * core (aes_ct64.c). The core always works on four blocks, so single blocks
 * and CBC encryption use the first slot and cost as much as four blocks.
 */
#include <string.h>

#include "core/tb_core.h"
#include "crypto/portable/aes_ct64.h"
#include "crypto/portable/tb_portable.h"

/* Sets out = a ^ b for one block; out may be a or b. */
static void xor_block(uint8_t out[16], const uint8_t a[16],
		      const uint8_t b[16])
{
	uint64_t a0, a1, b0, b1;

	memcpy(&a0, a, 8);
	memcpy(&a1, a + 8, 8);
	memcpy(&b0, b, 8);
	memcpy(&b1, b + 8, 8);
	a0 ^= b0;
	a1 ^= b1;
	memcpy(out, &a0, 8);
	memcpy(out + 8, &a1, 8);
}

void tb_portable_aes_encrypt_block(const struct tb_aes_key *key,
				   const uint8_t in[16], uint8_t out[16])
{
	uint8_t buf[64];

	memset(buf, 0, sizeof(buf));
	memcpy(buf, in, 16);
	tb_ct64_encrypt4(key->ct_round_keys, key->rounds, buf, buf);
	memcpy(out, buf, 16);
	tb_memzero(buf, sizeof(buf));
}

void tb_portable_aes_decrypt_block(const struct tb_aes_key *key,
				   const uint8_t in[16], uint8_t out[16])
{
	uint8_t buf[64];

	memset(buf, 0, sizeof(buf));
	memcpy(buf, in, 16);
	tb_ct64_decrypt4(key->ct_round_keys, key->rounds, buf, buf);
	memcpy(out, buf, 16);
	tb_memzero(buf, sizeof(buf));
}

/* CBC encryption is serial: C[i] = E(P[i] ^ C[i-1]) with C[-1] = IV. */
void tb_portable_aes_cbc_encrypt(const struct tb_aes_key *key, uint8_t iv[16],
				 const uint8_t *in, uint8_t *out, size_t len)
{
	uint8_t buf[64];

	memset(buf, 0, sizeof(buf));
	memcpy(buf, iv, 16);
	while (len >= 16) {
		xor_block(buf, buf, in);
		tb_ct64_encrypt4(key->ct_round_keys, key->rounds, buf, buf);
		memcpy(out, buf, 16);
		in += 16;
		out += 16;
		len -= 16;
	}
	memcpy(iv, buf, 16);
	tb_memzero(buf, sizeof(buf));
}

/*
 * CBC decryption is parallel: P[i] = D(C[i]) ^ C[i-1]. Up to four
 * ciphertext blocks are copied first, so that out may equal in.
 */
void tb_portable_aes_cbc_decrypt(const struct tb_aes_key *key, uint8_t iv[16],
				 const uint8_t *in, uint8_t *out, size_t len)
{
	uint8_t cipher[64], plain[64], chain[16];
	size_t nblocks, i;

	memcpy(chain, iv, 16);
	while (len >= 16) {
		nblocks = len / 16 < 4 ? len / 16 : 4;

		memcpy(cipher, in, 16 * nblocks);
		if (nblocks < 4)
			memset(cipher + 16 * nblocks, 0, 64 - 16 * nblocks);
		tb_ct64_decrypt4(key->ct_round_keys, key->rounds, cipher,
				 plain);

		xor_block(out, plain, chain);
		for (i = 1; i < nblocks; i++)
			xor_block(out + 16 * i, plain + 16 * i,
				  cipher + 16 * (i - 1));
		memcpy(chain, cipher + 16 * (nblocks - 1), 16);

		in += 16 * nblocks;
		out += 16 * nblocks;
		len -= 16 * nblocks;
	}
	memcpy(iv, chain, 16);
	tb_memzero(plain, sizeof(plain));
}

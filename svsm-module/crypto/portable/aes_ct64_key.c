/*
 * AES key expansion (FIPS 197, 5.2) into the bitsliced round-key layout.
 */
#include <string.h>

#include "core/tb_core.h"
#include "crypto/portable/aes_ct64.h"
#include "crypto/portable/tb_portable.h"

/*
 * Applies SubWord through the bitsliced S-box, so that no table is indexed
 * by key bytes. Words are little-endian: byte 0 of the FIPS 197 word is
 * bits 0-7.
 */
static uint32_t sub_word(uint32_t word)
{
	uint64_t q[8];
	uint32_t out = 0;
	unsigned i, k;

	for (i = 0; i < 8; i++) {
		q[i] = 0;
		for (k = 0; k < 4; k++)
			q[i] |= (uint64_t)((word >> (8 * k + i)) & 1) << k;
	}
	tb_ct64_sub_bytes(q);
	for (i = 0; i < 8; i++) {
		for (k = 0; k < 4; k++)
			out |= (uint32_t)((q[i] >> k) & 1) << (8 * k + i);
	}
	tb_memzero(q, sizeof(q));
	return out;
}

/* Computes the 4 (rounds + 1) words of the expanded key into w. */
static void expand_key(uint32_t *w, const uint8_t *raw, unsigned nk,
		       unsigned rounds)
{
	unsigned total = 4 * (rounds + 1);
	uint32_t rcon = 1;
	unsigned i;

	for (i = 0; i < nk; i++)
		w[i] = tb_load_le32(raw + 4 * i);

	for (i = nk; i < total; i++) {
		uint32_t temp = w[i - 1];

		if (i % nk == 0) {
			/* RotWord, SubWord, then Rcon[i / Nk] in byte 0. */
			temp = sub_word((temp >> 8) | (temp << 24)) ^ rcon;
			rcon = (rcon << 1) ^ ((rcon >> 7) * 0x11Bu);
		} else if (nk > 6 && i % nk == 4) {
			temp = sub_word(temp);
		}
		w[i] = w[i - nk] ^ temp;
	}
}

int tb_portable_aes_setkey(struct tb_aes_key *key, const uint8_t *raw,
			   size_t key_len)
{
	uint32_t w[4 * 15];
	uint8_t copies[64];
	unsigned nk, rounds, round, b, j;

	if (key_len != 16 && key_len != 24 && key_len != 32) {
		tb_err("portable AES: invalid key length %zu bytes "
		       "(expected 16, 24 or 32)", key_len);
		return TPMBOOT_E_CRYPTO_KEY_LENGTH;
	}
	nk = (unsigned)(key_len / 4);
	rounds = nk + 6;

	expand_key(w, raw, nk, rounds);

	/* Each round key, replicated over the four block slots. */
	for (round = 0; round <= rounds; round++) {
		for (b = 0; b < 4; b++) {
			for (j = 0; j < 4; j++)
				tb_store_le32(copies + 16 * b + 4 * j,
					      w[4 * round + j]);
		}
		tb_ct64_load(key->ct_round_keys + 8 * round, copies);
		tb_ct64_round_key_to_layout(key->ct_round_keys + 8 * round,
					    round);
	}
	key->rounds = rounds;

	tb_memzero(w, sizeof(w));
	tb_memzero(copies, sizeof(copies));
	return 0;
}

/*
 * Bitsliced AES core of the portable tier: four blocks at a time in eight
 * 64-bit words, after Kaesper and Schwabe, "Faster and Timing-Attack
 * Resistant AES-GCM" (CHES 2009), who use 128-bit words.
 *
 * Layout: word q[i] contains bit i (bit 0 = least significant) of every
 * state byte. The byte in row r, column c of block b (FIPS 197, 3.4: input
 * byte 4c + r) is at bit position 16r + 4c + b of each word. A whole row of
 * the four blocks is thus one 16-bit field, so MixColumns reaches the next
 * row with a 16-bit rotation of the word, and ShiftRows rotates each field
 * (aes_ct64.c only counts those rotations).
 *
 * Round keys are replicated over the four blocks: eight words per round
 * key, rounds + 1 round keys, with the rows of each key turned as
 * tb_ct64_round_key_to_layout() describes.
 */
#ifndef TB_AES_CT64_H
#define TB_AES_CT64_H

#include <stdint.h>

/* Converts four consecutive 16-byte blocks to the bitsliced layout. */
void tb_ct64_load(uint64_t q[8], const uint8_t in[64]);

/* Converts the bitsliced state back to four 16-byte blocks. q serves as
 * scratch space, so its content is lost. */
void tb_ct64_store(uint64_t q[8], uint8_t out[64]);

/* Applies SubBytes or InvSubBytes to all 64 bytes of the state. */
void tb_ct64_sub_bytes(uint64_t q[8]);
void tb_ct64_inv_sub_bytes(uint64_t q[8]);

/*
 * Moves a round key from the layout above to the one that
 * tb_ct64_encrypt() and tb_ct64_decrypt() expect for round number round:
 * row r turned left by (round mod 4) r columns (see aes_ct64.c).
 */
void tb_ct64_round_key_to_layout(uint64_t rk[8], unsigned round);

/* Runs the AES cipher or inverse cipher (FIPS 197, 5.1 and 5.3) on the
 * bitsliced state with rounds + 1 bitsliced round keys rk. rounds is 10,
 * 12 or 14, as tb_portable_aes_setkey() sets it. */
void tb_ct64_encrypt(const uint64_t *rk, unsigned rounds, uint64_t q[8]);
void tb_ct64_decrypt(const uint64_t *rk, unsigned rounds, uint64_t q[8]);

/* Encrypts or decrypts four consecutive blocks. in and out may be equal. */
void tb_ct64_encrypt4(const uint64_t *rk, unsigned rounds,
		      const uint8_t in[64], uint8_t out[64]);
void tb_ct64_decrypt4(const uint64_t *rk, unsigned rounds,
		      const uint8_t in[64], uint8_t out[64]);

#endif /* TB_AES_CT64_H */

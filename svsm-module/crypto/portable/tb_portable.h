/*
 * Portable constant-time tier of the fast crypto paths (tb_fast.h).
 *
 * The dispatcher in crypto/tb_fast.c calls these functions when no SIMD
 * register may be used. They use general-purpose registers only (the module
 * is built with -mgeneral-regs-only) and are constant-time by construction:
 * no table lookup, branch or memory address depends on a key, a plaintext,
 * a ciphertext or a hash input. Only lengths and the result of the GCM tag
 * check steer branches. GHASH assumes that the CPU's 64-bit integer
 * multiplication takes the same time for all operands.
 *
 * AES is bitsliced (Kaesper and Schwabe, "Faster and Timing-Attack
 * Resistant AES-GCM", CHES 2009) over eight 64-bit words that carry four
 * blocks, with the Boyar-Peralta S-box circuit. GHASH multiplies with
 * integer multiplications on operands whose set bits are spaced four
 * apart, so that no carry reaches a bit that is kept.
 */
#ifndef TB_PORTABLE_H
#define TB_PORTABLE_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/tb_fast.h"

/*
 * Expands a 16/24/32-byte AES key into the bitsliced schedule
 * key->ct_round_keys and sets key->rounds. Other fields of key are left
 * as they are. Returns 0 or TPMBOOT_E_CRYPTO_KEY_LENGTH.
 */
int tb_portable_aes_setkey(struct tb_aes_key *key, const uint8_t *raw,
			   size_t key_len);

/* Encrypts or decrypts one block (FIPS 197 Cipher / InvCipher). */
void tb_portable_aes_encrypt_block(const struct tb_aes_key *key,
				   const uint8_t in[16], uint8_t out[16]);
void tb_portable_aes_decrypt_block(const struct tb_aes_key *key,
				   const uint8_t in[16], uint8_t out[16]);

/*
 * Encrypts or decrypts len bytes in CBC mode (SP 800-38A, 6.2). len is a
 * multiple of 16, and a trailing partial block is ignored. in and out may
 * be equal or disjoint, but not partially overlapping. iv is replaced by
 * the last ciphertext block so that calls can be chained. Decryption runs
 * four blocks at a time.
 */
void tb_portable_aes_cbc_encrypt(const struct tb_aes_key *key, uint8_t iv[16],
				 const uint8_t *in, uint8_t *out, size_t len);
void tb_portable_aes_cbc_decrypt(const struct tb_aes_key *key, uint8_t iv[16],
				 const uint8_t *in, uint8_t *out, size_t len);

/*
 * Sets up AES-GCM (SP 800-38D): the AES schedule in key->aes and the hash
 * subkey powers H, H^2, H^3 and H^4 in the first 64 bytes of
 * key->h_powers. Each power is two uint64_t, the high and low halves of
 * its big-endian 16-byte form. Returns 0 or TPMBOOT_E_CRYPTO_KEY_LENGTH.
 */
int tb_portable_gcm_setkey(struct tb_gcm_key *key, const uint8_t *raw,
			   size_t key_len);

/*
 * Encrypts with AES-GCM, a 12-byte IV and a 16-byte tag. in and out may be
 * equal or disjoint. len must not exceed 2^36 - 32 bytes (SP 800-38D,
 * 5.2.1.1), a limit that the caller enforces.
 */
void tb_portable_gcm_encrypt(const struct tb_gcm_key *key, const uint8_t iv[12],
			     const uint8_t *aad, size_t aad_len,
			     const uint8_t *in, uint8_t *out, size_t len,
			     uint8_t tag[16]);

/*
 * Decrypts with AES-GCM after checking the tag (tb_ct_memeq), so no
 * plaintext is written for a wrong tag. Returns 0, or TPMBOOT_E_CRYPTO_AUTH
 * with out zeroed over len bytes. A mismatch is not logged here because
 * tb_gcm_decrypt() logs it for every tier.
 */
int tb_portable_gcm_decrypt(const struct tb_gcm_key *key, const uint8_t iv[12],
			    const uint8_t *aad, size_t aad_len,
			    const uint8_t *in, uint8_t *out, size_t len,
			    const uint8_t tag[16]);

/* Runs the SHA-256 compression function (FIPS 180-4, 6.2.2) over nblocks
 * consecutive 64-byte blocks. */
void tb_portable_sha256_blocks(uint32_t state[8], const uint8_t *blocks,
			       size_t nblocks);

#endif /* TB_PORTABLE_H */

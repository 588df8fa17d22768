/*
 * Entry points of the SIMD crypto code in arch/x86_64/. The declarations use
 * only pointers and integers, so general-purpose-register code
 * (svsm-module/crypto/tb_fast.c) can call them; the definitions are built
 * with per-library -m flags (see meson.build).
 *
 * tb_aesni_* use AES-NI, PCLMULQDQ, SSSE3 and SHA in legacy SSE encoding
 * (no VEX). tb_vaes_* use VAES, VPCLMULQDQ and AVX2 on ymm registers. The
 * caller checks the CPU features first (cpu_features.h). Every function
 * clears the vector registers it used before it returns.
 */
#ifndef TB_X86_AES_X86_H
#define TB_X86_AES_X86_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/tb_fast.h"

/*
 * Layout of tb_gcm_key.h_powers for both SIMD tiers. Every value is a GHASH
 * field element in the byte-reversed representation. It is multiplied by
 * x^-1, so a carry-less product needs no 1-bit shift (see ghash_x86.h).
 *   [0, 256)    H^16, H^15, ..., H^1 (16 bytes each, H^k at 16 * (16 - k))
 *   [256, 384)  Karatsuba terms (low ^ high 64-bit half of H^k), one 64-bit
 *               word per power, packed for ymm: for block index
 *               i = 16 - k, pair j = i / 2, the word sits at
 *               256 + 32 * (j / 2) + 16 * (i % 2) + 8 * (j % 2).
 *               So one ymm holds the terms of two pairs of blocks, and
 *               PCLMULQDQ selects the pair with its immediate.
 */
#define TB_GCM_HPOW_OFFSET	0
#define TB_GCM_HKARA_OFFSET	256
#define TB_GCM_HTABLE_BYTES	384
#define TB_GCM_MAX_POWER	16

/* Expands raw (16, 24 or 32 bytes, checked by the caller) into the
 * encryption and equivalent-inverse-cipher decryption schedules
 * (FIPS 197 sections 5.2 and 5.3.5) and returns the number of rounds. */
uint32_t tb_aesni_expand_key(struct tb_aes_key *key, const uint8_t *raw,
			     size_t key_len);

void tb_aesni_encrypt_block(const struct tb_aes_key *key, const uint8_t in[16],
			    uint8_t out[16]);
void tb_aesni_decrypt_block(const struct tb_aes_key *key, const uint8_t in[16],
			    uint8_t out[16]);

/* CBC over len bytes, a multiple of 16; in == out is allowed. iv receives
 * the last ciphertext block. */
void tb_aesni_cbc_encrypt(const struct tb_aes_key *key, uint8_t iv[16],
			  const uint8_t *in, uint8_t *out, size_t len);
void tb_aesni_cbc_decrypt(const struct tb_aes_key *key, uint8_t iv[16],
			  const uint8_t *in, uint8_t *out, size_t len);

/* Computes H = AES_K(0^128) from key->aes and fills key->h_powers in the
 * layout above. */
void tb_aesni_gcm_init_table(struct tb_gcm_key *key);

/*
 * AES-GCM with a 12-byte IV (NIST SP 800-38D section 7): encrypts (decrypt
 * = 0) or decrypts in into out and writes the tag computed over aad and the
 * ciphertext to tag. The caller compares tags when decrypting.
 */
void tb_aesni_gcm_crypt(const struct tb_gcm_key *key, int decrypt,
			const uint8_t iv[12], const uint8_t *aad,
			size_t aad_len, const uint8_t *in, uint8_t *out,
			size_t len, uint8_t tag[16]);

/* SHA-256 compression (FIPS 180-4 section 6.2.2) of nblocks 64-byte blocks
 * with the SHA-NI instructions. */
void tb_sha256_ni_blocks(uint32_t state[8], const uint8_t *blocks,
			 size_t nblocks);

/* VAES + VPCLMULQDQ versions; same contracts as the tb_aesni_* ones. */
void tb_vaes_cbc_decrypt(const struct tb_aes_key *key, uint8_t iv[16],
			 const uint8_t *in, uint8_t *out, size_t len);
void tb_vaes_gcm_crypt(const struct tb_gcm_key *key, int decrypt,
		       const uint8_t iv[12], const uint8_t *aad, size_t aad_len,
		       const uint8_t *in, uint8_t *out, size_t len,
		       uint8_t tag[16]);

#endif /* TB_X86_AES_X86_H */

/*
 * Bulk loop of the VAES AES-GCM tier in assembly (vaes_gcm_groups.S):
 * whole groups of 16 blocks (256 bytes), AES-CTR stitched with GHASH.
 */
#ifndef TB_X86_VAES_GCM_GROUPS_H
#define TB_X86_VAES_GCM_GROUPS_H

#include <stddef.h>
#include <stdint.h>

/* Bytes per group of the assembly loop. */
#define TB_VAES_GCM_GROUP_BYTES 256

/*
 * Running GCM state passed in and out of the assembly loop. It is stored
 * as bytes, so the structure needs no 32-byte alignment. ctr contains the
 * counters of the next two blocks, byte-reversed (tb_gcm_j0_reversed),
 * as the two lanes of a ymm. acc is the GHASH accumulator in the
 * byte-reversed representation of ghash_x86.h.
 */
struct tb_vaes_gcm_state {
	uint8_t ctr[32];
	uint8_t acc[16];
};

/*
 * Encrypts (or decrypts) groups * 256 bytes from in to out with AES-CTR on
 * the counters in state->ctr and adds the ciphertext to the GHASH
 * accumulator state->acc. Both are advanced. groups must be at least 1.
 * round_keys is the encryption schedule of rounds (10, 12 or 14) rounds
 * and h_powers the table of aes_x86.h. in == out is allowed. The functions
 * store nothing on the stack, but they leave key-dependent values in
 * ymm0-ymm15, which the caller clears.
 */
void tb_vaes_gcm_encrypt_groups(const uint8_t *round_keys, uint32_t rounds,
				const uint8_t *h_powers, const uint8_t *in,
				uint8_t *out, size_t groups,
				struct tb_vaes_gcm_state *state);
void tb_vaes_gcm_decrypt_groups(const uint8_t *round_keys, uint32_t rounds,
				const uint8_t *h_powers, const uint8_t *in,
				uint8_t *out, size_t groups,
				struct tb_vaes_gcm_state *state);

#endif /* TB_X86_VAES_GCM_GROUPS_H */

/*
 * GHASH (SP 800-38D, 6.4) of the portable tier, with constant-time
 * carry-less multiplication built from 64-bit integer multiplications.
 *
 * A 128-bit field element is kept as the big-endian integer of its 16-byte
 * string, split in two words: x[0] contains bytes 0-7 and x[1] bytes 8-15.
 * In that form the coefficient of x^0 is the most significant bit of x[0].
 */
#ifndef TB_GHASH_CTMUL64_H
#define TB_GHASH_CTMUL64_H

#include <stddef.h>
#include <stdint.h>

/*
 * Fills h[2..7] with H^2, H^3 and H^4 from the subkey H in h[0..1], the
 * table that tb_ghash64_update() takes.
 */
void tb_ghash64_powers(uint64_t h[8]);

/*
 * Absorbs len bytes into the GHASH state y with the subkey powers h
 * (H to H^4, from tb_ghash64_powers()): every 16-byte block X does
 * y = (y ^ X) * H. A trailing partial block is padded with zeros, as GCM
 * pads the AAD and the ciphertext separately.
 */
void tb_ghash64_update(uint64_t y[2], const uint64_t h[8], const uint8_t *data,
		       size_t len);

/* Absorbs the final block of GCM, the AAD and ciphertext lengths in bits,
 * with the subkey H in h[0..1]. */
void tb_ghash64_lengths(uint64_t y[2], const uint64_t h[2], uint64_t aad_len,
			uint64_t len);

#endif /* TB_GHASH_CTMUL64_H */

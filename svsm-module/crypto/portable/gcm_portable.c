/*
 * AES-GCM (NIST SP 800-38D) of the portable tier, for 12-byte IVs and
 * 16-byte tags only. Counter blocks are IV || ctr with a 32-bit big-endian
 * counter (SP 800-38D, 7.1 and 7.2). The block J0 with ctr = 1 encrypts the
 * tag, and the data starts at ctr = 2.
 */
#include <string.h>

#include "core/tb_core.h"
#include "crypto/portable/aes_ct64.h"
#include "crypto/portable/ghash_ctmul64.h"
#include "crypto/portable/tb_portable.h"

int tb_portable_gcm_setkey(struct tb_gcm_key *key, const uint8_t *raw,
			   size_t key_len)
{
	uint8_t zero[16], hash_subkey[16];
	uint64_t h[8];
	int ret;

	ret = tb_portable_aes_setkey(&key->aes, raw, key_len);
	if (ret != 0)
		return ret;

	/* H = CIPH_K(0^128), kept as two big-endian words, then H^2..H^4. */
	memset(zero, 0, sizeof(zero));
	tb_portable_aes_encrypt_block(&key->aes, zero, hash_subkey);
	h[0] = tb_load_be64(hash_subkey);
	h[1] = tb_load_be64(hash_subkey + 8);
	tb_ghash64_powers(h);
	memcpy(key->h_powers, h, sizeof(h));

	tb_memzero(hash_subkey, sizeof(hash_subkey));
	tb_memzero(h, sizeof(h));
	return 0;
}

/* Encrypts the four counter blocks iv || ctr .. iv || ctr + 3 into
 * keystream. */
static void encrypt_counter_blocks(const struct tb_aes_key *aes,
				   const uint8_t iv[12], uint32_t ctr,
				   uint8_t keystream[64])
{
	unsigned b;

	for (b = 0; b < 4; b++) {
		memcpy(keystream + 16 * b, iv, 12);
		tb_store_be32(keystream + 16 * b + 12, ctr + b);
	}
	tb_ct64_encrypt4(aes->ct_round_keys, aes->rounds, keystream, keystream);
}

/* Sets out = in ^ keystream over len bytes, eight bytes at a time where
 * possible. out may equal in. */
static void xor_bytes(uint8_t *out, const uint8_t *in,
		      const uint8_t *keystream, size_t len)
{
	uint64_t a, b;
	size_t i = 0;

	for (; i + 8 <= len; i += 8) {
		memcpy(&a, in + i, 8);
		memcpy(&b, keystream + i, 8);
		a ^= b;
		memcpy(out + i, &a, 8);
	}
	for (; i < len; i++)
		out[i] = in[i] ^ keystream[i];
}

/* Applies CTR mode (GCTR, SP 800-38D 6.5) to len bytes, starting at the
 * counter value ctr. */
static void ctr_xor(const struct tb_aes_key *aes, const uint8_t iv[12],
		    uint32_t ctr, const uint8_t *in, uint8_t *out, size_t len)
{
	uint8_t keystream[64];
	size_t n;

	while (len > 0) {
		encrypt_counter_blocks(aes, iv, ctr, keystream);
		n = len < 64 ? len : 64;
		xor_bytes(out, in, keystream, n);
		ctr += 4;
		in += n;
		out += n;
		len -= n;
	}
	tb_memzero(keystream, sizeof(keystream));
}

/*
 * Applies GCTR to the data. first_keystream is the keystream of counters
 * 1 to 4: E(J0) for the tag, then the first three data blocks. Encrypting
 * J0 in the same batch saves one four-block AES call, which matters for
 * short messages.
 */
static void gcm_ctr(const struct tb_aes_key *aes, const uint8_t iv[12],
		    const uint8_t first_keystream[64], const uint8_t *in,
		    uint8_t *out, size_t len)
{
	size_t n = len < 48 ? len : 48;

	if (len == 0)
		return;
	xor_bytes(out, in, first_keystream + 16, n);
	ctr_xor(aes, iv, 5, in + n, out + n, len - n);
}

/* Computes the tag GHASH_H(A || C || lengths) ^ E(J0), with ek0 = E(J0). */
static void gcm_tag(const struct tb_gcm_key *key, const uint8_t *aad,
		    size_t aad_len, const uint8_t *ciphertext, size_t len,
		    const uint8_t ek0[16], uint8_t tag[16])
{
	uint64_t h[8], y[2] = { 0, 0 };
	unsigned i;

	memcpy(h, key->h_powers, sizeof(h));
	tb_ghash64_update(y, h, aad, aad_len);
	tb_ghash64_update(y, h, ciphertext, len);
	tb_ghash64_lengths(y, h, aad_len, len);

	tb_store_be64(tag, y[0]);
	tb_store_be64(tag + 8, y[1]);
	for (i = 0; i < 16; i++)
		tag[i] ^= ek0[i];

	tb_memzero(h, sizeof(h));
	tb_memzero(y, sizeof(y));
}

void tb_portable_gcm_encrypt(const struct tb_gcm_key *key, const uint8_t iv[12],
			     const uint8_t *aad, size_t aad_len,
			     const uint8_t *in, uint8_t *out, size_t len,
			     uint8_t tag[16])
{
	uint8_t first_keystream[64];

	encrypt_counter_blocks(&key->aes, iv, 1, first_keystream);
	gcm_ctr(&key->aes, iv, first_keystream, in, out, len);
	gcm_tag(key, aad, aad_len, out, len, first_keystream, tag);
	tb_memzero(first_keystream, sizeof(first_keystream));
}

int tb_portable_gcm_decrypt(const struct tb_gcm_key *key, const uint8_t iv[12],
			    const uint8_t *aad, size_t aad_len,
			    const uint8_t *in, uint8_t *out, size_t len,
			    const uint8_t tag[16])
{
	uint8_t first_keystream[64], expected[16];
	int match;

	encrypt_counter_blocks(&key->aes, iv, 1, first_keystream);
	gcm_tag(key, aad, aad_len, in, len, first_keystream, expected);
	match = tb_ct_memeq(expected, tag, 16);
	tb_memzero(expected, sizeof(expected));

	/* The caller, tb_gcm_decrypt(), logs the mismatch. */
	if (!match) {
		tb_memzero(first_keystream, sizeof(first_keystream));
		if (len > 0)
			memset(out, 0, len);
		return TPMBOOT_E_CRYPTO_AUTH;
	}

	gcm_ctr(&key->aes, iv, first_keystream, in, out, len);
	tb_memzero(first_keystream, sizeof(first_keystream));
	return 0;
}

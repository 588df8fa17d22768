/*
 * The module's crypto layer: one API over the tiered fast paths
 * (tb_fast.h: AES, AES-GCM, SHA-256, HMAC-SHA-256) and mbedTLS 3.6 (SHA-384
 * and SHA-512, AES key wrap, elliptic curves, RSA, DRBG).
 *
 * Every function returns 0 or a TPMBOOT_E_* code. Callers wipe contexts
 * that held keys with the matching *_wipe() function or tb_memzero().
 */
#ifndef TB_CRYPTO_H
#define TB_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include "tb_fast.h"

/* TPM_ALG_ID values (TPM 2.0 Part 2, Table 9), also used by CocoonFs. */
#define TB_TPM_ALG_AES 0x0006u
#define TB_TPM_ALG_SHA256 0x000Bu
#define TB_TPM_ALG_SHA384 0x000Cu
#define TB_TPM_ALG_SHA512 0x000Du
#define TB_TPM_ALG_CBC 0x0042u

enum tb_hash_alg {
	TB_HASH_SHA256 = 0,
	TB_HASH_SHA384 = 1,
	TB_HASH_SHA512 = 2,
};

#define TB_HASH_MAX_DIGEST 64u
#define TB_HASH_MAX_BLOCK 128u

/* Returns the digest length in bytes, or 0 for an unknown algorithm. */
size_t tb_hash_digest_len(enum tb_hash_alg alg);
size_t tb_hash_block_len(enum tb_hash_alg alg);

/* Maps a TPM_ALG_ID to a hash; returns TPMBOOT_E_CRYPTO_UNSUPPORTED
 * for anything but SHA-256/384/512. */
int tb_hash_from_tpm_alg(uint16_t tpm_alg, enum tb_hash_alg *alg);

/* Incremental hash. The state is large enough for SHA-512. */
struct tb_hash_ctx {
	enum tb_hash_alg alg;
	union {
		struct tb_sha256_ctx sha256;
		uint64_t sha512_state[8 + 2 + 16]; /* state, length, buffer */
		uint8_t raw[256];
	} u;
	uint32_t buf_len;
};

int tb_hash_init(struct tb_hash_ctx *ctx, enum tb_hash_alg alg);
void tb_hash_update(struct tb_hash_ctx *ctx, const void *data, size_t len);
/* Writes tb_hash_digest_len(alg) bytes to out and wipes the context. */
void tb_hash_final(struct tb_hash_ctx *ctx, uint8_t *out);
int tb_hash(enum tb_hash_alg alg, const void *data, size_t len, uint8_t *out);

/* HMAC over any of the three hashes; any key length. */
struct tb_hmac_ctx {
	enum tb_hash_alg alg;
	struct tb_hash_ctx inner;
	struct tb_hash_ctx outer;
};

int tb_hmac_init(struct tb_hmac_ctx *ctx, enum tb_hash_alg alg,
		 const uint8_t *key, size_t key_len);
void tb_hmac_update(struct tb_hmac_ctx *ctx, const void *data, size_t len);
/* Writes the full-length MAC and wipes the context. */
void tb_hmac_final(struct tb_hmac_ctx *ctx, uint8_t *out);
int tb_hmac(enum tb_hash_alg alg, const uint8_t *key, size_t key_len,
	    const void *data, size_t len, uint8_t *out);

/*
 * TPM 2.0 KDFa (Part 1, section 11.4.10.2, counter mode with HMAC):
 * K(i) = HMAC(key, [i]_32be || label || 0x00 || context || [bits]_32be),
 * output = first bits/8 bytes of K(1) || K(2) || ...  label is a byte
 * string without its terminating zero (the 0x00 is added here); bits is a
 * multiple of 8 and out_len == bits / 8.
 */
int tb_kdfa(enum tb_hash_alg alg, const uint8_t *key, size_t key_len,
	    const uint8_t *label, size_t label_len, const uint8_t *context,
	    size_t context_len, uint32_t bits, uint8_t *out, size_t out_len);

/* AES-GCM with a 12-byte IV in one call, for callers without a saved key
 * schedule. key_len is 16, 24 or 32. */
int tb_aes_gcm_encrypt(const uint8_t *key, size_t key_len,
		       const uint8_t iv[12], const uint8_t *aad,
		       size_t aad_len, const uint8_t *in, uint8_t *out,
		       size_t len, uint8_t tag[16]);
int tb_aes_gcm_decrypt(const uint8_t *key, size_t key_len,
		       const uint8_t iv[12], const uint8_t *aad,
		       size_t aad_len, const uint8_t *in, uint8_t *out,
		       size_t len, const uint8_t tag[16]);

/* AES-GCM with any IV length (at least 1 byte) and a tag of 4, 8 or 12 to
 * 16 bytes (NIST SP 800-38D). 12-byte IVs with 16-byte tags take the fast
 * path; other shapes run on mbedTLS. Decryption failures return
 * TPMBOOT_E_CRYPTO_AUTH with out zeroed. */
int tb_aes_gcm_encrypt_ext(const uint8_t *key, size_t key_len,
			   const uint8_t *iv, size_t iv_len,
			   const uint8_t *aad, size_t aad_len,
			   const uint8_t *in, uint8_t *out, size_t len,
			   uint8_t *tag, size_t tag_len);
int tb_aes_gcm_decrypt_ext(const uint8_t *key, size_t key_len,
			   const uint8_t *iv, size_t iv_len,
			   const uint8_t *aad, size_t aad_len,
			   const uint8_t *in, uint8_t *out, size_t len,
			   const uint8_t *tag, size_t tag_len);

/* RFC 3394 AES key wrap and RFC 5649 key wrap with padding. out_len
 * receives the output length. Unwrap failures return TPMBOOT_E_CRYPTO_AUTH
 * and leave out zeroed. */
int tb_aes_kw_wrap(const uint8_t *kek, size_t kek_len, const uint8_t *in,
		   size_t in_len, uint8_t *out, size_t out_cap,
		   size_t *out_len);
int tb_aes_kw_unwrap(const uint8_t *kek, size_t kek_len, const uint8_t *in,
		     size_t in_len, uint8_t *out, size_t out_cap,
		     size_t *out_len);
int tb_aes_kwp_wrap(const uint8_t *kek, size_t kek_len, const uint8_t *in,
		    size_t in_len, uint8_t *out, size_t out_cap,
		    size_t *out_len);
int tb_aes_kwp_unwrap(const uint8_t *kek, size_t kek_len, const uint8_t *in,
		      size_t in_len, uint8_t *out, size_t out_cap,
		      size_t *out_len);

/* Random bytes from an HMAC-DRBG (SHA-256) seeded from the platform's
 * random_bytes callback on first use; reseeds after 2^16 requests. */
int tb_rng_bytes(uint8_t *out, size_t len);
/* Wipes the DRBG state; the next tb_rng_bytes() reseeds. */
void tb_rng_wipe(void);
/* tb_rng_bytes() in mbedTLS's f_rng form; returns 0 or -1. */
int tb_rng_mbedtls(void *unused, unsigned char *out, size_t len);

/* Elliptic curves for TEE keys (ECDH) and verification (ECDSA). */
enum tb_ec_curve {
	TB_EC_P256 = 0,
	TB_EC_P384 = 1,
	TB_EC_P521 = 2,
};

#define TB_EC_MAX_COORD 66u

/* Returns the coordinate and scalar length in bytes (32, 48, 66). */
size_t tb_ec_coord_len(enum tb_ec_curve curve);

/* An EC private key with its public point; coordinates are big-endian and
 * exactly tb_ec_coord_len() bytes. */
struct tb_ec_key {
	enum tb_ec_curve curve;
	uint8_t d[TB_EC_MAX_COORD];
	uint8_t x[TB_EC_MAX_COORD];
	uint8_t y[TB_EC_MAX_COORD];
};

/* Generates a key pair from tb_rng_bytes(). */
int tb_ec_generate(struct tb_ec_key *key, enum tb_ec_curve curve);
/* Loads a private scalar d (big-endian, at most the coordinate length) and
 * computes its public point; for known-answer tests and fixed keys. */
int tb_ec_import(struct tb_ec_key *key, enum tb_ec_curve curve,
		 const uint8_t *d, size_t d_len);
void tb_ec_key_wipe(struct tb_ec_key *key);

/* ECDH: validates the peer point (on the curve, not infinity) and writes
 * the shared x coordinate Z (tb_ec_coord_len() bytes) to z. */
int tb_ecdh(const struct tb_ec_key *key, const uint8_t *peer_x,
	    const uint8_t *peer_y, uint8_t *z);

/* ECDSA verification of a digest; r and s big-endian, coord length. */
int tb_ecdsa_verify(enum tb_ec_curve curve, const uint8_t *pub_x,
		    const uint8_t *pub_y, const uint8_t *digest,
		    size_t digest_len, const uint8_t *r, const uint8_t *s);

/* RSA key for the RSA-OAEP-256 TEE key type. Opaque, heap allocated. */
struct tb_rsa_key;

/* Generates an RSA key of bits (2048 or 3072) with e = 65537. */
int tb_rsa_generate(struct tb_rsa_key **key, unsigned bits);
/* Loads a private key from its big-endian components and checks it. */
int tb_rsa_import(struct tb_rsa_key **key, const uint8_t *n, size_t n_len,
		  const uint8_t *e, size_t e_len, const uint8_t *d,
		  size_t d_len, const uint8_t *p, size_t p_len,
		  const uint8_t *q, size_t q_len);
void tb_rsa_free(struct tb_rsa_key *key);
/* Big-endian modulus n (n_cap >= bits/8) and exponent e. */
int tb_rsa_public(const struct tb_rsa_key *key, uint8_t *n, size_t n_cap,
		  size_t *n_len, uint8_t *e, size_t e_cap, size_t *e_len);
/* RSAES-OAEP decryption with SHA-256 and MGF1-SHA-256 and an empty label
 * (what JWE RSA-OAEP-256 uses). Failures of any kind of the padding return
 * TPMBOOT_E_CRYPTO_AUTH alike. */
int tb_rsa_oaep_sha256_decrypt(struct tb_rsa_key *key, const uint8_t *in,
			       size_t in_len, uint8_t *out, size_t out_cap,
			       size_t *out_len);
/* The same with a label. */
int tb_rsa_oaep_sha256_decrypt_label(struct tb_rsa_key *key,
				     const uint8_t *label, size_t label_len,
				     const uint8_t *in, size_t in_len,
				     uint8_t *out, size_t out_cap,
				     size_t *out_len);

#endif /* TB_CRYPTO_H */

/*
 * JWE decryption (RFC 7516, flattened JSON serialization, section 7.2.2)
 * for the algorithms Trustee uses to send secrets to a TEE key:
 * "ECDH-ES+A256KW" (RFC 7518 section 4.6) and "RSA-OAEP-256" (section
 * 4.3) for the content key, "A256GCM" (section 5.3) for the content.
 */
#ifndef KBS_JWE_H
#define KBS_JWE_H

#include <stddef.h>
#include <stdint.h>

#include "kbs/kbs_teekey.h"

enum kbs_jwe_alg {
	KBS_JWE_ECDH_ES_A256KW = 0,
	KBS_JWE_RSA_OAEP_256 = 1,
};

/* The decoded pieces of a JWE, as the JSON form and the COCONUT proxy's
 * AttestationResponse both deliver them. */
struct kbs_jwe_parts {
	enum kbs_jwe_alg alg;
	const uint8_t *epk_x;      /* ECDH-ES only: sender's ephemeral key */
	const uint8_t *epk_y;
	size_t epk_coord_len;
	const uint8_t *encrypted_key;
	size_t encrypted_key_len;
	const uint8_t *iv;
	size_t iv_len;
	const uint8_t *aad;        /* exact bytes authenticated by GCM */
	size_t aad_len;
	const uint8_t *ciphertext;
	size_t ciphertext_len;
	const uint8_t *tag;
	size_t tag_len;
};

/*
 * Derives the content key and decrypts parts into out (out_cap must be at
 * least ciphertext_len). On any failure out is wiped and one of
 * TPMBOOT_E_KBS_JWE_* is returned.
 */
int kbs_jwe_decrypt_parts(const struct kbs_tee_key *key,
			  const struct kbs_jwe_parts *parts, uint8_t *out,
			  size_t out_cap, size_t *out_len);

/*
 * Decrypts a JWE in flattened JSON serialization. The GCM additional data
 * is the received "protected" string itself (plus "." and the "aad"
 * member when present, RFC 7516 section 5.1 step 14), never a
 * re-serialisation of the parsed header.
 */
int kbs_jwe_decrypt(const struct kbs_tee_key *key, const char *text,
		    size_t len, uint8_t *out, size_t out_cap, size_t *out_len);

/*
 * Concat KDF (NIST SP 800-56A section 5.8.1, RFC 7518 section 4.6.2)
 * with SHA-256 for one 32-byte key: SHA-256(00000001 || Z ||
 * len32(alg) || alg || 00000000 || 00000000 || 00000100), that is,
 * empty PartyUInfo and PartyVInfo and keydatalen 256.
 */
void kbs_concat_kdf_sha256(const uint8_t *z, size_t z_len, const char *alg,
			   uint8_t kek[32]);

#endif /* KBS_JWE_H */

/*
 * The ephemeral TEE key that the KBS encrypts Key1 to, and its JWK form
 * (RFC 7517 / RFC 7518 section 6) as Trustee's TeePubKey type carries it.
 */
#ifndef KBS_TEEKEY_H
#define KBS_TEEKEY_H

#include <stddef.h>
#include <stdint.h>

#include "tpmboot.h"
#include "crypto/tb_crypto.h"
#include "kbs/kbs_json.h"

#define KBS_RSA_BITS 2048u
#define KBS_RSA_MAX_BYTES 384u

struct kbs_tee_key {
	enum tpmboot_tee_key type;
	struct tb_ec_key ec;       /* EC types */
	struct tb_rsa_key *rsa;    /* TPMBOOT_TEE_KEY_RSA_2048 */
	uint8_t n[KBS_RSA_MAX_BYTES];
	size_t n_len;
	uint8_t e[8];
	size_t e_len;
};

/* Generates a fresh key of the given type from the module's DRBG. */
int kbs_tee_key_generate(struct kbs_tee_key *key, enum tpmboot_tee_key type);
void kbs_tee_key_wipe(struct kbs_tee_key *key);

/* Returns the JWK "crv" name ("P-256", "P-521") or NULL for RSA. */
const char *kbs_tee_key_curve_name(const struct kbs_tee_key *key);

/* Writes the public JWK with exactly the members Trustee keeps, in
 * sorted order: EC {"alg","crv","kty","x","y"}, RSA {"alg","e","kty","n"}. */
void kbs_tee_key_write_jwk(struct kbs_json_writer *w,
			   const struct kbs_tee_key *key);

#endif /* KBS_TEEKEY_H */

/*
 * Release signature of the tpmboot-unwrap plugin: an ECDSA P-256
 * signature by the KBS's release key over the session's nonce, TEE key
 * and the JWE it returns. A host that plays the KBS cannot make it, so it
 * cannot hand the guest a Key1 of its own (docs/kbs-protocol.md, section
 * 3.5).
 */
#ifndef KBS_RELEASE_H
#define KBS_RELEASE_H

#include <stddef.h>
#include <stdint.h>

#include "kbs/kbs_session.h"

/* SEC 1 uncompressed P-256 point: 0x04 || x || y. */
#define KBS_RELEASE_KEY_LEN 65u

/* Raw r || s, each 32 bytes big-endian. */
#define KBS_RELEASE_SIGNATURE_LEN 64u

/* Signed message prefix. The NUL that ends the string is signed too. */
#define KBS_RELEASE_CONTEXT "svsm-tpmboot kbs-unwrap release v1"

/*
 * Verifies the "release-signature" member of a kbs-unwrap response (the
 * JWE in flattened JSON, body_len bytes) under release_key
 * (KBS_RELEASE_KEY_LEN bytes), over the session's nonce and TEE key.
 * Call before decrypting the JWE. Returns 0,
 * TPMBOOT_E_KBS_RELEASE_SIGNATURE when the signature is missing,
 * malformed or invalid, TPMBOOT_E_INVALID_ARGUMENT when release_key is
 * not a P-256 point, or a JSON or memory error.
 */
int kbs_release_verify(const struct tb_kbs_session *s,
		       const uint8_t *release_key, const char *body,
		       size_t body_len);

#endif /* KBS_RELEASE_H */

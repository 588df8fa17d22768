/*
 * Verification of the tpmboot-unwrap release signature. The signed
 * message M is defined in docs/kbs-protocol.md section 3.5:
 *
 *   M = KBS_RELEASE_CONTEXT || 0x00 || nonce || JCS(tee-pubkey)
 *       || protected || 0x00 || encrypted_key || 0x00 || iv || 0x00
 *       || ciphertext || 0x00 || tag || 0x00
 *
 * and the signature is ECDSA P-256 with SHA-256 (ES256) over M.
 */
#include <string.h>

#include "core/tb_core.h"
#include "crypto/tb_crypto.h"
#include "kbs/kbs_base64.h"
#include "kbs/kbs_json.h"
#include "kbs/kbs_release.h"

/* JWE members covered by the signature, in signing order. */
static const char *const signed_members[] = {
	"protected", "encrypted_key", "iv", "ciphertext", "tag",
};

/* First four bytes of SHA-256(key), to name the pinned key in logs. */
static uint32_t key_fingerprint(const uint8_t *release_key)
{
	uint8_t digest[32];

	tb_hash(TB_HASH_SHA256, release_key, KBS_RELEASE_KEY_LEN, digest);
	return tb_load_be32(digest);
}

/* Writes the session's tee-pubkey JWK in RFC 8785 form, as the KBS
 * received it in runtime-data. */
static int tee_pubkey_jcs(const struct tb_kbs_session *s, char **out,
			  size_t *out_len)
{
	struct kbs_json_writer w;
	char *text;
	size_t len;
	int rc;

	kbs_json_writer_init(&w, 4096);
	kbs_tee_key_write_jwk(&w, &s->key);
	rc = kbs_json_writer_finish(&w, &text, &len);
	if (rc)
		return rc;
	rc = kbs_jcs_canonicalize(text, len, out, out_len);
	tb_free(text);
	return rc;
}

/* Hashes M (see the file comment) from the parsed response into digest. */
static int hash_release_message(const struct tb_kbs_session *s,
				const struct kbs_json_doc *doc,
				uint8_t digest[32])
{
	static const uint8_t separator = 0x00;
	struct tb_hash_ctx ctx;
	char *jwk;
	size_t jwk_len, i;
	int rc;

	rc = tee_pubkey_jcs(s, &jwk, &jwk_len);
	if (rc) {
		tb_err("kbs: writing the tee-pubkey JWK for the release signature failed: %s",
		       tpmboot_error_name(rc));
		return rc;
	}

	tb_hash_init(&ctx, TB_HASH_SHA256);
	tb_hash_update(&ctx, KBS_RELEASE_CONTEXT, sizeof(KBS_RELEASE_CONTEXT));
	tb_hash_update(&ctx, s->nonce, s->nonce_len);
	tb_hash_update(&ctx, jwk, jwk_len);
	tb_free(jwk);

	for (i = 0; i < sizeof(signed_members) / sizeof(signed_members[0]); i++) {
		const char *text;
		size_t len;

		if (kbs_json_get_string(doc, 0, signed_members[i], &text, &len)) {
			tb_hash_final(&ctx, digest);
			return TPMBOOT_E_KBS_JWE_MALFORMED;
		}

		/* A NUL inside a member (possible through a \u0000 escape)
		 * would make the separators ambiguous. */
		if (memchr(text, 0, len)) {
			tb_err("kbs: JWE member %s contains a NUL character",
			       signed_members[i]);
			tb_hash_final(&ctx, digest);
			return TPMBOOT_E_KBS_JWE_MALFORMED;
		}
		tb_hash_update(&ctx, text, len);
		tb_hash_update(&ctx, &separator, 1);
	}
	tb_hash_final(&ctx, digest);
	return 0;
}

/* Decodes the "release-signature" member into sig (r || s). */
static int decode_signature(const struct kbs_json_doc *doc, uint32_t fingerprint,
			    uint8_t sig[KBS_RELEASE_SIGNATURE_LEN])
{
	kbs_json_ref ref = kbs_json_member(doc, 0, "release-signature");
	size_t text_len, got = 0;
	const char *text;

	if (ref == KBS_JSON_NONE) {
		tb_err("kbs: kbs-unwrap response has no release-signature, but KBS release key %08x is pinned",
		       (unsigned)fingerprint);
		return TPMBOOT_E_KBS_RELEASE_SIGNATURE;
	}
	if (doc->values[ref].type != KBS_JSON_STRING) {
		tb_err("kbs: release-signature is not a string");
		return TPMBOOT_E_KBS_RELEASE_SIGNATURE;
	}
	text = kbs_json_text(doc, ref);
	text_len = doc->values[ref].text_len;
	if (text_len != kbs_base64_encoded_len(KBS_BASE64_URL,
					       KBS_RELEASE_SIGNATURE_LEN) ||
	    kbs_base64_decode(KBS_BASE64_URL, text, text_len, sig,
			      KBS_RELEASE_SIGNATURE_LEN, &got) ||
	    got != KBS_RELEASE_SIGNATURE_LEN) {
		tb_err("kbs: release-signature of %zu characters is not base64url of %u bytes",
		       text_len, KBS_RELEASE_SIGNATURE_LEN);
		return TPMBOOT_E_KBS_RELEASE_SIGNATURE;
	}
	return 0;
}

int kbs_release_verify(const struct tb_kbs_session *s,
		       const uint8_t *release_key, const char *body,
		       size_t body_len)
{
	uint32_t fingerprint = key_fingerprint(release_key);
	uint8_t sig[KBS_RELEASE_SIGNATURE_LEN], digest[32];
	struct kbs_json_doc doc;
	int rc;

	if (release_key[0] != 0x04) {
		tb_err("kbs: pinned KBS release key %08x starts with 0x%02x, not 0x04 (SEC 1 uncompressed)",
		       (unsigned)fingerprint, (unsigned)release_key[0]);
		return TPMBOOT_E_INVALID_ARGUMENT;
	}

	rc = kbs_json_parse(body, body_len, NULL, &doc);
	if (rc) {
		tb_err("kbs: kbs-unwrap response is not valid JSON: %s",
		       tpmboot_error_name(rc));
		return TPMBOOT_E_KBS_JWE_MALFORMED;
	}
	if (doc.values[0].type != KBS_JSON_OBJECT) {
		tb_err("kbs: kbs-unwrap response is not a JSON object");
		rc = TPMBOOT_E_KBS_JWE_MALFORMED;
		goto out;
	}

	/* The JWE aad member enters the GCM additional data but not M, so a
	 * signed response must not have one (the KBS never sends it). */
	if (kbs_json_member(&doc, 0, "aad") != KBS_JSON_NONE) {
		tb_err("kbs: kbs-unwrap response has a JWE aad member, which the release signature does not cover");
		rc = TPMBOOT_E_KBS_RELEASE_SIGNATURE;
		goto out;
	}

	rc = decode_signature(&doc, fingerprint, sig);
	if (!rc)
		rc = hash_release_message(s, &doc, digest);
	if (rc)
		goto out;

	rc = tb_ecdsa_verify(TB_EC_P256, release_key + 1, release_key + 33,
			     digest, sizeof(digest), sig, sig + 32);
	if (rc == TPMBOOT_E_CRYPTO_AUTH) {
		tb_err("kbs: release-signature does not verify under the pinned KBS release key %08x",
		       (unsigned)fingerprint);
		rc = TPMBOOT_E_KBS_RELEASE_SIGNATURE;
	} else if (rc == TPMBOOT_E_CRYPTO_INVALID_KEY) {
		tb_err("kbs: pinned KBS release key %08x is not a point on P-256",
		       (unsigned)fingerprint);
		rc = TPMBOOT_E_INVALID_ARGUMENT;
	} else if (rc) {
		tb_err("kbs: verifying the release-signature failed: %s",
		       tpmboot_error_name(rc));
	}

out:
	kbs_json_free(&doc);
	return rc;
}

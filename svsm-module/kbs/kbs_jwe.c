/*
 * JWE decryption for ECDH-ES+A256KW and RSA-OAEP-256 with A256GCM.
 */
#include <string.h>

#include "core/tb_core.h"
#include "kbs/kbs_base64.h"
#include "kbs/kbs_jwe.h"
#include "kbs/kbs_text.h"

#define JWE_CEK_LEN 32u
#define JWE_IV_LEN 12u
#define JWE_TAG_LEN 16u

/* Upper bound of a protected header: alg, enc and a P-521 epk fit in
 * well under 1 KiB. */
#define JWE_MAX_HEADER 2048u

void kbs_concat_kdf_sha256(const uint8_t *z, size_t z_len, const char *alg,
			   uint8_t kek[32])
{
	struct tb_hash_ctx ctx;
	uint8_t word[4];
	size_t alg_len = strlen(alg);

	tb_hash_init(&ctx, TB_HASH_SHA256);
	tb_store_be32(word, 1);                 /* round counter */
	tb_hash_update(&ctx, word, 4);
	tb_hash_update(&ctx, z, z_len);
	tb_store_be32(word, (uint32_t)alg_len); /* AlgorithmID */
	tb_hash_update(&ctx, word, 4);
	tb_hash_update(&ctx, alg, alg_len);
	tb_store_be32(word, 0);                 /* PartyUInfo */
	tb_hash_update(&ctx, word, 4);
	tb_hash_update(&ctx, word, 4);          /* PartyVInfo */
	tb_store_be32(word, 256);               /* SuppPubInfo: keydatalen */
	tb_hash_update(&ctx, word, 4);
	tb_hash_final(&ctx, kek);
}

/* ECDH-ES key agreement followed by AES key unwrap of the CEK. */
static int unwrap_ecdh(const struct kbs_tee_key *key,
		       const struct kbs_jwe_parts *parts, uint8_t cek[32])
{
	size_t coord = tb_ec_coord_len(key->ec.curve);
	uint8_t z[TB_EC_MAX_COORD], kek[32];
	size_t cek_len = 0;
	int rc;

	if (parts->epk_coord_len != coord) {
		tb_err("kbs: JWE epk coordinates have %zu bytes, TEE key curve needs %zu",
		       parts->epk_coord_len, coord);
		return TPMBOOT_E_KBS_JWE_KEY_MISMATCH;
	}
	if (parts->encrypted_key_len != JWE_CEK_LEN + 8) {
		tb_err("kbs: JWE encrypted_key has %zu bytes, A256KW of a 32-byte key has 40",
		       parts->encrypted_key_len);
		return TPMBOOT_E_KBS_JWE_MALFORMED;
	}

	rc = tb_ecdh(&key->ec, parts->epk_x, parts->epk_y, z);
	if (rc) {
		tb_err("kbs: ECDH with the JWE epk failed: %s",
		       tpmboot_error_name(rc));
		tb_memzero(z, sizeof(z));
		return TPMBOOT_E_KBS_JWE_DECRYPT;
	}
	kbs_concat_kdf_sha256(z, coord, "ECDH-ES+A256KW", kek);
	tb_memzero(z, sizeof(z));

	rc = tb_aes_kw_unwrap(kek, sizeof(kek), parts->encrypted_key,
			      parts->encrypted_key_len, cek, JWE_CEK_LEN,
			      &cek_len);
	tb_memzero(kek, sizeof(kek));
	if (rc || cek_len != JWE_CEK_LEN) {
		tb_err("kbs: AES key unwrap of the JWE content key failed: %s",
		       tpmboot_error_name(rc ? rc : TPMBOOT_E_CRYPTO_LENGTH));
		return TPMBOOT_E_KBS_JWE_DECRYPT;
	}
	return 0;
}

static int unwrap_rsa(const struct kbs_tee_key *key,
		      const struct kbs_jwe_parts *parts, uint8_t cek[32])
{
	uint8_t buf[KBS_RSA_MAX_BYTES];
	size_t cek_len = 0;
	int rc;

	if (parts->encrypted_key_len != key->n_len) {
		tb_err("kbs: JWE encrypted_key has %zu bytes, RSA modulus has %zu",
		       parts->encrypted_key_len, key->n_len);
		return TPMBOOT_E_KBS_JWE_MALFORMED;
	}

	rc = tb_rsa_oaep_sha256_decrypt(key->rsa, parts->encrypted_key,
					parts->encrypted_key_len, buf,
					sizeof(buf), &cek_len);
	if (rc || cek_len != JWE_CEK_LEN) {
		tb_err("kbs: RSA-OAEP-256 decryption of the JWE content key failed (%s, %zu bytes)",
		       tpmboot_error_name(rc), cek_len);
		tb_memzero(buf, sizeof(buf));
		return TPMBOOT_E_KBS_JWE_DECRYPT;
	}
	memcpy(cek, buf, JWE_CEK_LEN);
	tb_memzero(buf, sizeof(buf));
	return 0;
}

int kbs_jwe_decrypt_parts(const struct kbs_tee_key *key,
			  const struct kbs_jwe_parts *parts, uint8_t *out,
			  size_t out_cap, size_t *out_len)
{
	uint8_t cek[JWE_CEK_LEN];
	int rc;

	if (parts->iv_len != JWE_IV_LEN || parts->tag_len != JWE_TAG_LEN) {
		tb_err("kbs: JWE iv (%zu bytes) or tag (%zu bytes) has the wrong length for A256GCM",
		       parts->iv_len, parts->tag_len);
		rc = TPMBOOT_E_KBS_JWE_MALFORMED;
		goto out;
	}
	if (parts->ciphertext_len > out_cap) {
		tb_err("kbs: JWE plaintext of %zu bytes exceeds the %zu-byte buffer",
		       parts->ciphertext_len, out_cap);
		rc = TPMBOOT_E_BUFFER_TOO_SMALL;
		goto out;
	}

	if (parts->alg == KBS_JWE_ECDH_ES_A256KW) {
		if (key->type == TPMBOOT_TEE_KEY_RSA_2048) {
			tb_err("kbs: JWE uses ECDH-ES+A256KW but the TEE key is RSA");
			return TPMBOOT_E_KBS_JWE_KEY_MISMATCH;
		}
		rc = unwrap_ecdh(key, parts, cek);
	} else {
		if (key->type != TPMBOOT_TEE_KEY_RSA_2048) {
			tb_err("kbs: JWE uses RSA-OAEP-256 but the TEE key is EC");
			return TPMBOOT_E_KBS_JWE_KEY_MISMATCH;
		}
		rc = unwrap_rsa(key, parts, cek);
	}
	if (rc)
		goto out;

	rc = tb_aes_gcm_decrypt(cek, JWE_CEK_LEN, parts->iv, parts->aad,
				parts->aad_len, parts->ciphertext, out,
				parts->ciphertext_len, parts->tag);
	if (rc) {
		tb_err("kbs: A256GCM decryption of the JWE content failed: %s",
		       tpmboot_error_name(rc));
		rc = TPMBOOT_E_KBS_JWE_DECRYPT;
		goto out;
	}
	*out_len = parts->ciphertext_len;

out:
	tb_memzero(cek, sizeof(cek));
	if (rc)
		tb_memzero(out, out_cap);
	return rc;
}

/* Decoded buffers of one JSON JWE, freed by free_decoded(). */
struct decoded {
	uint8_t *header;
	size_t header_len;
	uint8_t epk_x[TB_EC_MAX_COORD];
	uint8_t epk_y[TB_EC_MAX_COORD];
	uint8_t *encrypted_key;
	uint8_t iv[JWE_IV_LEN];
	uint8_t tag[JWE_TAG_LEN];
	uint8_t *ciphertext;
	char *aad;
};

static void free_decoded(struct decoded *d)
{
	tb_free(d->header);
	tb_free(d->encrypted_key);
	tb_free(d->ciphertext);
	tb_free(d->aad);
	memset(d, 0, sizeof(*d));
}

/* Decodes base64url member name of object ref into a new heap buffer. */
static int decode_member(const struct kbs_json_doc *doc, kbs_json_ref ref,
			 const char *name, uint8_t **out, size_t *out_len)
{
	const char *text;
	size_t len, cap;
	int rc;

	rc = kbs_json_get_string(doc, ref, name, &text, &len);
	if (rc)
		return TPMBOOT_E_KBS_JWE_MALFORMED;
	cap = kbs_base64_decoded_max(len);
	*out = tb_alloc(cap);
	if (!*out) {
		tb_err("kbs: no memory to decode JWE member %s", name);
		return TPMBOOT_E_NO_MEMORY;
	}
	rc = kbs_base64_decode(KBS_BASE64_URL, text, len, *out, cap, out_len);
	if (rc) {
		tb_err("kbs: JWE member %s is not valid base64url", name);
		return TPMBOOT_E_KBS_JWE_MALFORMED;
	}
	return 0;
}

/* Decodes a base64url member that must have exactly len bytes. */
static int decode_fixed(const struct kbs_json_doc *doc, kbs_json_ref ref,
			const char *name, uint8_t *out, size_t len)
{
	const char *text;
	size_t text_len, got = 0;
	int rc;

	rc = kbs_json_get_string(doc, ref, name, &text, &text_len);
	if (rc)
		return TPMBOOT_E_KBS_JWE_MALFORMED;
	if (text_len != kbs_base64_encoded_len(KBS_BASE64_URL, len) ||
	    kbs_base64_decode(KBS_BASE64_URL, text, text_len, out, len, &got) ||
	    got != len) {
		tb_err("kbs: JWE member %s is not base64url of %zu bytes", name,
		       len);
		return TPMBOOT_E_KBS_JWE_MALFORMED;
	}
	return 0;
}

/* Reads alg, enc and epk from the protected header. */
static int parse_header(const struct kbs_tee_key *key, struct decoded *d,
			struct kbs_jwe_parts *parts)
{
	struct kbs_json_doc doc;
	const char *alg, *enc, *s;
	size_t alg_len, enc_len, len;
	char shown[KBS_PRINTABLE_MAX];
	kbs_json_ref epk;
	int rc;

	rc = kbs_json_parse((const char *)d->header, d->header_len, NULL, &doc);
	if (rc || doc.values[0].type != KBS_JSON_OBJECT) {
		tb_err("kbs: JWE protected header is not a JSON object");
		if (!rc)
			kbs_json_free(&doc);
		return TPMBOOT_E_KBS_JWE_MALFORMED;
	}

	rc = TPMBOOT_E_KBS_JWE_MALFORMED;
	if (kbs_json_get_string(&doc, 0, "alg", &alg, &alg_len) ||
	    kbs_json_get_string(&doc, 0, "enc", &enc, &enc_len))
		goto out;

	/* Extensions this code does not implement must not be skipped
	 * silently. RFC 7515 section 4.1.11 requires this for crit, and zip,
	 * apu or apv would change the plaintext or the derived key. */
	if (kbs_json_member(&doc, 0, "crit") != KBS_JSON_NONE ||
	    kbs_json_member(&doc, 0, "zip") != KBS_JSON_NONE ||
	    kbs_json_member(&doc, 0, "apu") != KBS_JSON_NONE ||
	    kbs_json_member(&doc, 0, "apv") != KBS_JSON_NONE) {
		tb_err("kbs: JWE header uses crit, zip, apu or apv, which are not supported");
		goto out;
	}

	if (strcmp(enc, "A256GCM") != 0 || enc_len != 7) {
		tb_err("kbs: unsupported JWE enc \"%s\" (only A256GCM)",
		       kbs_printable(enc, enc_len, shown));
		rc = TPMBOOT_E_KBS_JWE_ENC;
		goto out;
	}

	if (strcmp(alg, "RSA-OAEP-256") == 0 && alg_len == 12) {
		parts->alg = KBS_JWE_RSA_OAEP_256;
		rc = 0;
		goto out;
	}
	if (strcmp(alg, "ECDH-ES+A256KW") != 0 || alg_len != 14) {
		tb_err("kbs: unsupported JWE alg \"%s\" (only ECDH-ES+A256KW, RSA-OAEP-256)",
		       kbs_printable(alg, alg_len, shown));
		rc = TPMBOOT_E_KBS_JWE_ALG;
		goto out;
	}
	parts->alg = KBS_JWE_ECDH_ES_A256KW;

	if (kbs_json_get_object(&doc, 0, "epk", &epk) ||
	    kbs_json_get_string(&doc, epk, "kty", &s, &len))
		goto out;
	if (strcmp(s, "EC") != 0) {
		tb_err("kbs: JWE epk kty \"%s\" is not EC",
		       kbs_printable(s, len, shown));
		goto out;
	}
	if (kbs_json_get_string(&doc, epk, "crv", &s, &len))
		goto out;
	if (key->type == TPMBOOT_TEE_KEY_RSA_2048 ||
	    strcmp(s, kbs_tee_key_curve_name(key)) != 0) {
		tb_err("kbs: JWE epk curve \"%s\" does not match the TEE key",
		       kbs_printable(s, len, shown));
		rc = TPMBOOT_E_KBS_JWE_KEY_MISMATCH;
		goto out;
	}

	parts->epk_coord_len = tb_ec_coord_len(key->ec.curve);
	if (decode_fixed(&doc, epk, "x", d->epk_x, parts->epk_coord_len) ||
	    decode_fixed(&doc, epk, "y", d->epk_y, parts->epk_coord_len))
		goto out;
	parts->epk_x = d->epk_x;
	parts->epk_y = d->epk_y;
	rc = 0;

out:
	kbs_json_free(&doc);
	return rc;
}

/* Builds the GCM additional data: the protected string as received, and
 * "." plus the aad member when there is one. */
static int build_aad(const struct kbs_json_doc *doc, struct decoded *d,
		     struct kbs_jwe_parts *parts)
{
	const char *prot, *aad = NULL;
	size_t prot_len, aad_len = 0, total;
	kbs_json_ref r = kbs_json_member(doc, 0, "aad");

	kbs_json_get_string(doc, 0, "protected", &prot, &prot_len);
	if (r != KBS_JSON_NONE) {
		if (kbs_json_get_string(doc, 0, "aad", &aad, &aad_len))
			return TPMBOOT_E_KBS_JWE_MALFORMED;
	}

	total = prot_len + (aad ? 1 + aad_len : 0);
	d->aad = tb_alloc(total + 1);
	if (!d->aad) {
		tb_err("kbs: no memory for %zu bytes of JWE additional data", total);
		return TPMBOOT_E_NO_MEMORY;
	}
	memcpy(d->aad, prot, prot_len);
	if (aad) {
		d->aad[prot_len] = '.';
		memcpy(d->aad + prot_len + 1, aad, aad_len);
	}
	parts->aad = (const uint8_t *)d->aad;
	parts->aad_len = total;
	return 0;
}

int kbs_jwe_decrypt(const struct kbs_tee_key *key, const char *text,
		    size_t len, uint8_t *out, size_t out_cap, size_t *out_len)
{
	struct kbs_jwe_parts parts;
	struct kbs_json_doc doc;
	struct decoded d;
	const char *prot;
	size_t prot_len;
	int rc;

	memset(&parts, 0, sizeof(parts));
	memset(&d, 0, sizeof(d));

	rc = kbs_json_parse(text, len, NULL, &doc);
	if (rc) {
		tb_err("kbs: JWE is not valid JSON: %s", tpmboot_error_name(rc));
		return TPMBOOT_E_KBS_JWE_MALFORMED;
	}
	if (doc.values[0].type != KBS_JSON_OBJECT) {
		tb_err("kbs: JWE is not a JSON object");
		rc = TPMBOOT_E_KBS_JWE_MALFORMED;
		goto out;
	}

	/* Only the integrity-protected header is trusted; an unprotected
	 * one could carry alg or epk that GCM does not authenticate. */
	if (kbs_json_member(&doc, 0, "header") != KBS_JSON_NONE ||
	    kbs_json_member(&doc, 0, "unprotected") != KBS_JSON_NONE) {
		tb_err("kbs: JWE has an unprotected header, which is not supported");
		rc = TPMBOOT_E_KBS_JWE_MALFORMED;
		goto out;
	}

	rc = TPMBOOT_E_KBS_JWE_MALFORMED;
	if (kbs_json_get_string(&doc, 0, "protected", &prot, &prot_len))
		goto out;
	if (prot_len > JWE_MAX_HEADER) {
		tb_err("kbs: JWE protected header of %zu characters is too long",
		       prot_len);
		goto out;
	}

	rc = decode_member(&doc, 0, "protected", &d.header, &d.header_len);
	if (!rc)
		rc = parse_header(key, &d, &parts);
	if (!rc)
		rc = decode_member(&doc, 0, "encrypted_key", &d.encrypted_key,
				   &parts.encrypted_key_len);
	if (!rc)
		rc = decode_member(&doc, 0, "ciphertext", &d.ciphertext,
				   &parts.ciphertext_len);
	if (!rc && (decode_fixed(&doc, 0, "iv", d.iv, JWE_IV_LEN) ||
		    decode_fixed(&doc, 0, "tag", d.tag, JWE_TAG_LEN)))
		rc = TPMBOOT_E_KBS_JWE_MALFORMED;
	if (!rc)
		rc = build_aad(&doc, &d, &parts);
	if (rc)
		goto out;

	parts.encrypted_key = d.encrypted_key;
	parts.ciphertext = d.ciphertext;
	parts.iv = d.iv;
	parts.iv_len = JWE_IV_LEN;
	parts.tag = d.tag;
	parts.tag_len = JWE_TAG_LEN;
	rc = kbs_jwe_decrypt_parts(key, &parts, out, out_cap, out_len);

out:
	if (rc)
		tb_memzero(out, out_cap);
	free_decoded(&d);
	kbs_json_free(&doc);
	return rc;
}

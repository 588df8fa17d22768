/*
 * Trustee KBS protocol 0.4.0 (RCAR: request, challenge, attestation,
 * response), as implemented by confidential-containers/trustee
 * kbs/src/attestation/backend.rs and the resource and plugin routes.
 */
#include <string.h>

#include "core/tb_core.h"
#include "kbs/kbs_base64.h"
#include "kbs/kbs_evidence.h"
#include "kbs/kbs_jwe.h"
#include "kbs/kbs_release.h"
#include "kbs/kbs_session.h"
#include "kbs/kbs_text.h"

#define KBS_PROTOCOL_VERSION "0.4.0"

/* Request bodies: an SNP report with a three-certificate chain as arrays
 * of numbers stays under 64 KiB; 256 KiB leaves room for TDX quotes. */
#define KBS_MAX_REQUEST_BODY (256u * 1024u)

#define KBS_MAX_KEY_ID 128u
#define KBS_MAX_PATH 320u

static const char *tee_name(enum tpmboot_tee tee)
{
	return tee == TPMBOOT_TEE_TDX ? "tdx" : "snp";
}

/* Maps a non-200 status to an error and logs it with the KBS's error
 * type (RFC 7807-like body {"type": ..., "detail": ...}) when present. */
static int status_error(const struct kbs_http_request *req,
			const struct kbs_http_response *resp)
{
	char shown[KBS_PRINTABLE_MAX] = "";
	struct kbs_json_doc doc;
	int rc;

	if (resp->status == 401 || resp->status == 403)
		rc = TPMBOOT_E_KBS_REFUSED;
	else if (resp->status == 404)
		rc = TPMBOOT_E_KBS_NOT_FOUND;
	else if (resp->status >= 500 && resp->status <= 599)
		rc = TPMBOOT_E_KBS_SERVER_ERROR;
	else
		rc = TPMBOOT_E_KBS_HTTP_STATUS;

	if (kbs_json_parse((const char *)resp->body, resp->body_len, NULL,
			   &doc) == 0) {
		kbs_json_ref r = kbs_json_member(&doc, 0, "type");

		/* Trustee's error types end in the error's name, so the
		 * end of the string is the useful part. */
		if (r != KBS_JSON_NONE &&
		    doc.values[r].type == KBS_JSON_STRING) {
			const char *type = kbs_json_text(&doc, r);
			size_t len = doc.values[r].text_len;
			size_t skip = len > 48 ? len - 48 : 0;

			kbs_printable(type + skip, len - skip, shown);
		}
		tb_err("kbs: %s %s returned HTTP %d (%s)", req->method,
		       req->path, resp->status, shown);
		kbs_json_free(&doc);
	} else {
		tb_err("kbs: %s %s returned HTTP %d", req->method, req->path,
		       resp->status);
	}
	return rc;
}

/* Sends a request with the session cookie and requires HTTP 200. */
static int request_ok(struct tb_kbs_session *s, struct kbs_http_request *req,
		      struct kbs_http_response *resp)
{
	int rc;

	req->session_id = s->session_id;
	rc = kbs_session_http(s, req, resp);
	if (rc)
		return rc;
	if (resp->session_id[0])
		memcpy(s->session_id, resp->session_id,
		       sizeof(s->session_id));
	if (resp->status != 200)
		return status_error(req, resp);
	return 0;
}

/* Finishes the JSON document in w and POSTs it to path; requires HTTP 200.
 * The body carries no secret, so it is freed without a wipe. */
static int post_json(struct tb_kbs_session *s, const char *path,
		     struct kbs_json_writer *w, struct kbs_http_response *resp)
{
	struct kbs_http_request req = { 0 };
	char *body = NULL;
	size_t body_len;
	int rc;

	rc = kbs_json_writer_finish(w, &body, &body_len);
	if (rc)
		return rc;

	req.method = "POST";
	req.path = path;
	req.content_type = "application/json";
	req.body = (const uint8_t *)body;
	req.body_len = body_len;
	rc = request_ok(s, &req, resp);
	tb_free(body);
	return rc;
}

/* Reads "extra-params"."selected-hash-algorithm" when the KBS sends one;
 * Trustee's default is SHA-384. */
static int parse_hash_choice(struct tb_kbs_session *s,
			     const struct kbs_json_doc *doc)
{
	kbs_json_ref extra = kbs_json_member(doc, 0, "extra-params");
	kbs_json_ref sel = kbs_json_member(doc, extra, "selected-hash-algorithm");
	char shown[KBS_PRINTABLE_MAX];
	const char *name;

	if (sel == KBS_JSON_NONE)
		return 0;
	if (doc->values[sel].type != KBS_JSON_STRING) {
		tb_err("kbs: selected-hash-algorithm is not a string");
		return TPMBOOT_E_KBS_JSON_SCHEMA;
	}
	name = kbs_json_text(doc, sel);
	if (strcmp(name, "sha256") == 0)
		s->binding_hash = TB_HASH_SHA256;
	else if (strcmp(name, "sha384") == 0)
		s->binding_hash = TB_HASH_SHA384;
	else if (strcmp(name, "sha512") == 0)
		s->binding_hash = TB_HASH_SHA512;
	else {
		tb_err("kbs: KBS selected unsupported hash algorithm \"%s\"",
		       kbs_printable(name, doc->values[sel].text_len, shown));
		return TPMBOOT_E_KBS_PROTOCOL;
	}
	return 0;
}

/* Takes the nonce from the Challenge {"nonce": b64, "extra-params": ...}. */
static int parse_challenge(struct tb_kbs_session *s, const uint8_t *body,
			   size_t len)
{
	struct kbs_json_doc doc;
	const char *nonce;
	size_t nonce_len;
	int rc;

	rc = kbs_json_parse((const char *)body, len, NULL, &doc);
	if (rc)
		return rc;

	rc = kbs_json_get_string(&doc, 0, "nonce", &nonce, &nonce_len);
	if (rc)
		goto out;
	if (nonce_len == 0 || nonce_len > KBS_NONCE_TEXT_MAX ||
	    kbs_base64_decode(KBS_BASE64_STD, nonce, nonce_len, s->nonce,
			      sizeof(s->nonce), &s->nonce_len) ||
	    s->nonce_len < 16) {
		tb_err("kbs: challenge nonce of %zu characters is not base64 of 16 to %u bytes",
		       nonce_len, TB_KBS_NONCE_MAX);
		rc = TPMBOOT_E_KBS_NONCE;
		goto out;
	}
	memcpy(s->nonce_text, nonce, nonce_len);
	s->nonce_text[nonce_len] = '\0';
	rc = parse_hash_choice(s, &doc);

out:
	kbs_json_free(&doc);
	return rc;
}

int kbs_trustee_open(struct tb_kbs_session *s)
{
	const struct tpmboot_config *cfg = tb_config();
	struct kbs_http_response resp;
	struct kbs_json_writer w;
	int rc;

	rc = kbs_tee_key_generate(&s->key, cfg->tee_key);
	if (rc)
		return rc;

	kbs_json_writer_init(&w, 1024);
	kbs_json_begin_object(&w);
	kbs_json_name_put(&w, "version");
	kbs_json_string(&w, KBS_PROTOCOL_VERSION);
	kbs_json_name_put(&w, "tee");
	kbs_json_string(&w, tee_name(s->tee));
	kbs_json_name_put(&w, "extra-params");
	kbs_json_string(&w, "");
	kbs_json_end_object(&w);
	rc = post_json(s, "/kbs/v0/auth", &w, &resp);
	if (rc)
		return rc;

	if (!resp.session_id[0]) {
		tb_err("kbs: POST /kbs/v0/auth response has no kbs-session-id cookie");
		return TPMBOOT_E_KBS_NO_COOKIE;
	}
	rc = parse_challenge(s, resp.body, resp.body_len);
	if (rc)
		return rc;

	tb_info("kbs: Trustee session opened (tee %s, %zu-byte nonce)",
		tee_name(s->tee), s->nonce_len);
	return 0;
}

/* Writes {"additional-evidence":"","nonce":...,"tee-pubkey":{...}} with
 * sorted names, so the writer's output is already canonical. */
static void write_runtime_data(struct kbs_json_writer *w,
			       const struct tb_kbs_session *s,
			       int with_additional_evidence)
{
	kbs_json_begin_object(w);
	if (with_additional_evidence) {
		kbs_json_name_put(w, "additional-evidence");
		kbs_json_string(w, "");
	}
	kbs_json_name_put(w, "nonce");
	kbs_json_string(w, s->nonce_text);
	kbs_json_name_put(w, "tee-pubkey");
	kbs_tee_key_write_jwk(w, &s->key);
	kbs_json_end_object(w);
}

int kbs_trustee_runtime_data(const struct tb_kbs_session *s, char **out,
			     size_t *out_len)
{
	struct kbs_json_writer w;
	char *text;
	size_t len;
	int rc;

	kbs_json_writer_init(&w, 4096);
	write_runtime_data(&w, s, 1);
	rc = kbs_json_writer_finish(&w, &text, &len);
	if (rc)
		return rc;

	/* Re-canonicalise rather than trust the member order above. */
	rc = kbs_jcs_canonicalize(text, len, out, out_len);
	tb_free(text);
	return rc;
}

int kbs_trustee_binding(const struct tb_kbs_session *s,
			uint8_t report_data[64])
{
	char *canonical;
	size_t len;
	int rc;

	rc = kbs_trustee_runtime_data(s, &canonical, &len);
	if (rc)
		return rc;

	memset(report_data, 0, 64);
	rc = tb_hash(s->binding_hash, canonical, len, report_data);
	tb_free(canonical);
	if (rc)
		tb_err("kbs: hashing the runtime data failed: %s",
		       tpmboot_error_name(rc));
	return rc;
}

int kbs_trustee_attest(struct tb_kbs_session *s,
		       const struct tb_kbs_evidence *evidence)
{
	struct kbs_http_response resp;
	struct kbs_json_writer w;
	int rc;

	kbs_json_writer_init(&w, KBS_MAX_REQUEST_BODY);
	kbs_json_begin_object(&w);
	kbs_json_name_put(&w, "runtime-data");
	write_runtime_data(&w, s, 0);
	kbs_json_name_put(&w, "tee-evidence");
	kbs_json_begin_object(&w);
	kbs_json_name_put(&w, "primary_evidence");
	if (s->tee == TPMBOOT_TEE_TDX)
		rc = kbs_evidence_write_tdx(&w, evidence->report,
					    evidence->report_len, evidence->aux,
					    evidence->aux_len);
	else
		rc = kbs_evidence_write_snp(&w, evidence->report,
					    evidence->report_len, evidence->aux,
					    evidence->aux_len);
	kbs_json_name_put(&w, "additional_evidence");
	kbs_json_string(&w, "");
	kbs_json_end_object(&w);
	kbs_json_end_object(&w);
	if (rc) {
		kbs_json_writer_abort(&w);
		return rc;
	}
	rc = post_json(s, "/kbs/v0/attest", &w, &resp);
	if (rc)
		return rc;

	tb_info("kbs: attestation accepted by the KBS");
	return 0;
}

/* A resource path segment: Trustee's ResourceDesc allows letters,
 * digits, '.', '_' and '-'. */
static int valid_segment(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > 64)
		return 0;
	for (i = 0; i < len; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
			return 0;
	}
	return !(len == 1 && s[0] == '.') && !(len == 2 && s[0] == '.' && s[1] == '.');
}

static int resource_path(const char *locator, char *path, size_t cap)
{
	char shown[KBS_PRINTABLE_MAX];
	const char *p = locator, *slash;
	int segments = 0;

	if (!locator) {
		tb_err("kbs: resource wrap mode needs a repository/type/tag locator");
		return TPMBOOT_E_INVALID_ARGUMENT;
	}
	for (;;) {
		slash = memchr(p, '/', strlen(p));
		if (!valid_segment(p, slash ? (size_t)(slash - p) : strlen(p)))
			break;
		segments++;
		if (!slash) {
			if (segments != 3)
				break;
			if ((size_t)tb_snprintf(path, cap, "/kbs/v0/resource/%s",
						locator) >= cap)
				break;
			return 0;
		}
		p = slash + 1;
	}
	tb_err("kbs: resource locator \"%s\" is not repository/type/tag",
	       kbs_printable(locator, strlen(locator), shown));
	return TPMBOOT_E_INVALID_ARGUMENT;
}

/* Builds {"key-id": ..., "aad": b64, "wrapped": b64} for kbs-unwrap. */
static int unwrap_body(const struct tb_kbs_key_request *request, char **body,
		       size_t *body_len)
{
	struct kbs_json_writer w;
	size_t i, id_len;

	id_len = request->locator ? strlen(request->locator) : 0;
	if (id_len == 0 || id_len > KBS_MAX_KEY_ID) {
		tb_err("kbs: kbs-unwrap key id missing or longer than %u bytes",
		       KBS_MAX_KEY_ID);
		return TPMBOOT_E_INVALID_ARGUMENT;
	}
	for (i = 0; i < id_len; i++) {
		if (request->locator[i] < 0x20 || request->locator[i] > 0x7E) {
			tb_err("kbs: kbs-unwrap key id has a non-printable byte at %zu",
			       i);
			return TPMBOOT_E_INVALID_ARGUMENT;
		}
	}
	if (!request->key2 || request->key2_len == 0) {
		tb_err("kbs: kbs-unwrap request without Key2");
		return TPMBOOT_E_INVALID_ARGUMENT;
	}

	kbs_json_writer_init(&w, KBS_MAX_REQUEST_BODY);
	kbs_json_begin_object(&w);
	kbs_json_name_put(&w, "key-id");
	kbs_json_string(&w, request->locator);
	kbs_json_name_put(&w, "aad");
	kbs_json_base64(&w, 0, request->aad, request->aad ? request->aad_len : 0);
	kbs_json_name_put(&w, "wrapped");
	kbs_json_base64(&w, 0, request->key2, request->key2_len);
	kbs_json_end_object(&w);
	return kbs_json_writer_finish(&w, body, body_len);
}

int kbs_trustee_fetch_key(struct tb_kbs_session *s,
			  const struct tb_kbs_key_request *request,
			  uint8_t *key1, size_t key1_cap, size_t *key1_len)
{
	struct kbs_http_request req = { 0 };
	struct kbs_http_response resp;
	char path[KBS_MAX_PATH];
	char *body = NULL;
	size_t body_len = 0;
	int rc;

	switch (request->mode) {
	case TB_KBS_WRAP_RESOURCE:
		rc = resource_path(request->locator, path, sizeof(path));
		if (rc)
			return rc;
		req.method = "GET";
		req.path = path;
		break;
	case TB_KBS_WRAP_KBS_UNWRAP:
		rc = unwrap_body(request, &body, &body_len);
		if (rc)
			return rc;
		req.method = "POST";
		req.path = "/kbs/v0/tpmboot-unwrap/unwrap";
		req.content_type = "application/json";
		req.body = (const uint8_t *)body;
		req.body_len = body_len;
		break;
	case TB_KBS_WRAP_TRUSTEE_PKCS11:
		/* Trustee's pkcs11 plugin decrypts the body of a GET on
		 * wrap-key (kbs/src/plugins/implementations/pkcs11.rs). */
		if (!request->key2 || request->key2_len == 0) {
			tb_err("kbs: trustee-pkcs11 request without Key2");
			return TPMBOOT_E_INVALID_ARGUMENT;
		}
		req.method = "GET";
		req.path = "/kbs/v0/pkcs11/wrap-key";
		req.content_type = "application/octet-stream";
		req.body = request->key2;
		req.body_len = request->key2_len;
		break;
	default:
		tb_err("kbs: unknown wrap mode %d", (int)request->mode);
		return TPMBOOT_E_UNSUPPORTED;
	}

	rc = request_ok(s, &req, &resp);
	if (body)
		tb_free(body);
	if (rc)
		return rc;

	/* tb_kbs_fetch_key() let only kbs-unwrap through when a key is
	 * pinned; its signature must verify before the JWE is touched. */
	if (tb_config()->kbs_release_key) {
		rc = kbs_release_verify(s, tb_config()->kbs_release_key,
					(const char *)resp.body, resp.body_len);
		if (rc)
			return rc;
		tb_info("kbs: release signature of the KBS verified");
	}

	rc = kbs_jwe_decrypt(&s->key, (const char *)resp.body, resp.body_len,
			     key1, key1_cap, key1_len);
	if (rc == TPMBOOT_E_BUFFER_TOO_SMALL)
		rc = TPMBOOT_E_KBS_KEY_LENGTH;
	if (!rc)
		tb_info("kbs: received a %zu-byte key from %s", *key1_len,
			req.path);
	return rc;
}

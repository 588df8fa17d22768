/*
 * COCONUT-SVSM attestation proxy protocol (coconut-svsm/svsm libaproxy and
 * tools/aproxy): each message is an 8-byte little-endian length followed
 * by that many bytes of JSON. One stream carries four messages:
 * NegotiationRequest, NegotiationResponse, AttestationRequest,
 * AttestationResponse. Byte strings are standard base64 with padding.
 *
 * The proxy speaks to the KBS itself and fetches one fixed resource, so
 * this mode supports only SEV-SNP, a P-521 TEE key (the proxy's key type)
 * and the resource wrap mode.
 */
#include <string.h>

#include "core/tb_core.h"
#include "kbs/kbs_base64.h"
#include "kbs/kbs_jwe.h"
#include "kbs/kbs_session.h"

/* Bound of one proxy message: the AttestationResponse with a token is a
 * few KiB. */
#define APROXY_MAX_MESSAGE (64u * 1024u)

/* Default bound on one message when the configuration gives 0. */
#define APROXY_DEFAULT_TIMEOUT_MS 10000u

void kbs_aproxy_close(struct tb_kbs_session *s)
{
	const struct tpmboot_platform *pf = tb_platform();

	if (s->stream) {
		pf->stream_close(pf->ctx, s->stream);
		s->stream = NULL;
	}
	if (s->attestation_response) {
		tb_free_secret(s->attestation_response,
			       s->attestation_response_len + 1);
		s->attestation_response = NULL;
	}
}

static int send_message(struct tb_kbs_session *s, const char *json,
			size_t len, const char *name)
{
	const struct tpmboot_platform *pf = tb_platform();
	uint8_t header[8];

	tb_store_le64(header, len);
	if (pf->stream_send(pf->ctx, s->stream, header, 8) != 0 ||
	    pf->stream_send(pf->ctx, s->stream, (const uint8_t *)json, len) != 0) {
		tb_err("kbs: sending the proxy %s (%zu bytes) failed", name, len);
		return TPMBOOT_E_STREAM_IO;
	}
	return 0;
}

/* Reads exactly len bytes before the deadline. */
static int read_exact(struct tb_kbs_session *s, uint8_t *buf, size_t len,
		      uint64_t deadline, const char *name)
{
	const struct tpmboot_platform *pf = tb_platform();
	size_t got = 0;

	while (got < len) {
		uint64_t now = tb_time_ms();
		long n;

		if (now >= deadline) {
			tb_err("kbs: proxy %s timed out after %zu of %zu bytes",
			       name, got, len);
			return TPMBOOT_E_TIMEOUT;
		}
		n = pf->stream_recv(pf->ctx, s->stream, buf + got, len - got,
				    (uint32_t)(deadline - now));
		if (n <= 0) {
			if (n < 0 && tb_time_ms() >= deadline) {
				tb_err("kbs: proxy %s timed out after %zu of %zu bytes",
				       name, got, len);
				return TPMBOOT_E_TIMEOUT;
			}
			tb_err("kbs: proxy stream %s after %zu of %zu bytes of the %s",
			       n == 0 ? "closed" : "failed", got, len, name);
			return TPMBOOT_E_STREAM_IO;
		}
		got += (size_t)n;
	}
	return 0;
}

/* Receives one message into a NUL-terminated heap buffer. */
static int receive_message(struct tb_kbs_session *s, char **out,
			   size_t *out_len, const char *name)
{
	uint32_t timeout = s->timeout_ms ? s->timeout_ms : APROXY_DEFAULT_TIMEOUT_MS;
	uint64_t deadline = tb_time_ms() + timeout;
	uint8_t header[8];
	uint64_t len;
	char *buf;
	int rc;

	rc = read_exact(s, header, 8, deadline, name);
	if (rc)
		return rc;
	len = tb_load_le64(header);
	if (len == 0 || len > APROXY_MAX_MESSAGE) {
		tb_err("kbs: proxy %s length %llu is outside 1..%u", name,
		       (unsigned long long)len, APROXY_MAX_MESSAGE);
		return TPMBOOT_E_KBS_PROTOCOL;
	}

	buf = tb_alloc((size_t)len + 1);
	if (!buf) {
		tb_err("kbs: no memory for a %llu-byte proxy %s",
		       (unsigned long long)len, name);
		return TPMBOOT_E_NO_MEMORY;
	}
	rc = read_exact(s, (uint8_t *)buf, (size_t)len, deadline, name);
	if (rc) {
		tb_free_secret(buf, (size_t)len + 1);
		return rc;
	}
	buf[len] = '\0';
	*out = buf;
	*out_len = (size_t)len;
	return 0;
}

static int connect_with_retries(struct tb_kbs_session *s)
{
	const struct tpmboot_platform *pf = tb_platform();
	uint32_t attempt;

	for (attempt = 0;; attempt++) {
		void *stream = NULL;

		if (pf->stream_connect(pf->ctx, &stream) == 0 && stream) {
			s->stream = stream;
			return 0;
		}
		if (attempt >= s->max_retries) {
			tb_err("kbs: connecting to the proxy failed after %u attempts",
			       (unsigned)attempt + 1);
			return TPMBOOT_E_KBS_RETRIES_EXHAUSTED;
		}
		tb_warn("kbs: connecting to the proxy failed, retry %u of %u",
			(unsigned)attempt + 1, (unsigned)s->max_retries);
		kbs_session_backoff(attempt);
	}
}

/* Parses {"challenge": b64, "params": ["EcPublicKeyBytes", "Challenge"]}. */
static int parse_negotiation(struct tb_kbs_session *s, const char *text,
			     size_t len)
{
	struct kbs_json_doc doc;
	const char *challenge;
	size_t challenge_len;
	kbs_json_ref params, r;
	int rc, have_key = 0, have_challenge = 0;

	rc = kbs_json_parse(text, len, NULL, &doc);
	if (rc)
		return rc;

	rc = kbs_json_get_string(&doc, 0, "challenge", &challenge,
				 &challenge_len);
	if (rc)
		goto out;
	if (kbs_base64_decode(KBS_BASE64_STD, challenge, challenge_len,
			      s->nonce, sizeof(s->nonce), &s->nonce_len) ||
	    s->nonce_len < 16) {
		tb_err("kbs: proxy challenge is not base64 of 16 to %u bytes",
		       TB_KBS_NONCE_MAX);
		rc = TPMBOOT_E_KBS_NONCE;
		goto out;
	}

	rc = TPMBOOT_E_KBS_PROTOCOL;
	params = kbs_json_member(&doc, 0, "params");
	if (params == KBS_JSON_NONE || doc.values[params].type != KBS_JSON_ARRAY ||
	    doc.values[params].count == 0 ||
	    doc.values[params].count > KBS_APROXY_MAX_PARAMS) {
		tb_err("kbs: proxy negotiation params missing or not a list of 1..%u",
		       KBS_APROXY_MAX_PARAMS);
		goto out;
	}
	for (r = doc.values[params].first; r != KBS_JSON_NONE;
	     r = doc.values[r].next) {
		const char *name = kbs_json_text(&doc, r);

		if (doc.values[r].type != KBS_JSON_STRING)
			goto bad_param;
		if (strcmp(name, "EcPublicKeyBytes") == 0 && !have_key) {
			s->params[s->param_count++] = KBS_APROXY_PARAM_EC_PUBLIC_KEY_BYTES;
			have_key = 1;
		} else if (strcmp(name, "Challenge") == 0 && !have_challenge) {
			s->params[s->param_count++] = KBS_APROXY_PARAM_CHALLENGE;
			have_challenge = 1;
		} else {
			goto bad_param;
		}
	}
	if (!have_key || !have_challenge) {
		/* Without both, REPORT_DATA would not bind the key to the
		 * nonce. */
		tb_err("kbs: proxy negotiation does not bind both key and challenge");
		goto out;
	}
	rc = 0;
	goto out;

bad_param:
	tb_err("kbs: proxy negotiation has an unknown or repeated parameter");
out:
	kbs_json_free(&doc);
	return rc;
}

int kbs_aproxy_open(struct tb_kbs_session *s)
{
	static const char request[] = "{\"version\":[0,1,0],\"tee\":\"snp\"}";
	char *msg = NULL;
	size_t len;
	int rc;

	if (s->tee != TPMBOOT_TEE_SNP) {
		tb_err("kbs: the COCONUT proxy protocol supports only SEV-SNP (tee %d)",
		       (int)s->tee);
		return TPMBOOT_E_UNSUPPORTED;
	}
	rc = kbs_tee_key_generate(&s->key, TPMBOOT_TEE_KEY_EC_P521);
	if (rc)
		return rc;
	rc = connect_with_retries(s);
	if (rc)
		return rc;

	rc = send_message(s, request, sizeof(request) - 1, "NegotiationRequest");
	if (!rc)
		rc = receive_message(s, &msg, &len, "NegotiationResponse");
	if (rc)
		return rc;
	rc = parse_negotiation(s, msg, len);
	tb_free(msg);
	if (!rc)
		tb_info("kbs: proxy session opened (%zu-byte challenge)",
			s->nonce_len);
	return rc;
}

int kbs_aproxy_binding(const struct tb_kbs_session *s,
		       uint8_t report_data[64])
{
	size_t coord = tb_ec_coord_len(s->key.ec.curve);
	struct tb_hash_ctx ctx;
	size_t i;
	int rc;

	rc = tb_hash_init(&ctx, TB_HASH_SHA512);
	if (rc)
		return rc;
	for (i = 0; i < s->param_count; i++) {
		if (s->params[i] == KBS_APROXY_PARAM_EC_PUBLIC_KEY_BYTES) {
			tb_hash_update(&ctx, s->key.ec.x, coord);
			tb_hash_update(&ctx, s->key.ec.y, coord);
		} else {
			tb_hash_update(&ctx, s->nonce, s->nonce_len);
		}
	}
	tb_hash_final(&ctx, report_data);
	return 0;
}

int kbs_aproxy_attest(struct tb_kbs_session *s,
		      const struct tb_kbs_evidence *evidence)
{
	size_t coord = tb_ec_coord_len(s->key.ec.curve);
	struct kbs_json_writer w;
	struct kbs_json_doc doc;
	char *body = NULL, *msg = NULL;
	size_t body_len, len;
	int rc, success = 0;

	if (evidence->report_len != 1184) {
		tb_err("kbs: SNP report has %zu bytes, expected 1184",
		       evidence->report_len);
		return TPMBOOT_E_KBS_EVIDENCE;
	}

	kbs_json_writer_init(&w, APROXY_MAX_MESSAGE);
	kbs_json_begin_object(&w);
	kbs_json_name_put(&w, "tee");
	kbs_json_string(&w, "snp");
	kbs_json_name_put(&w, "evidence");
	kbs_json_begin_object(&w);
	kbs_json_name_put(&w, "Snp");
	kbs_json_begin_object(&w);
	kbs_json_name_put(&w, "report");
	kbs_json_base64(&w, 0, evidence->report, evidence->report_len);
	kbs_json_end_object(&w);
	kbs_json_end_object(&w);
	kbs_json_name_put(&w, "challenge");
	kbs_json_base64(&w, 0, s->nonce, s->nonce_len);
	kbs_json_name_put(&w, "key");
	kbs_json_begin_object(&w);
	kbs_json_name_put(&w, "x");
	kbs_json_base64(&w, 0, s->key.ec.x, coord);
	kbs_json_name_put(&w, "y");
	kbs_json_base64(&w, 0, s->key.ec.y, coord);
	kbs_json_end_object(&w);
	kbs_json_end_object(&w);
	rc = kbs_json_writer_finish(&w, &body, &body_len);
	if (rc)
		return rc;

	rc = send_message(s, body, body_len, "AttestationRequest");
	tb_free(body);
	if (!rc)
		rc = receive_message(s, &msg, &len, "AttestationResponse");
	if (rc)
		return rc;

	rc = kbs_json_parse(msg, len, NULL, &doc);
	if (!rc) {
		rc = kbs_json_get_bool(&doc, 0, "success", &success);
		kbs_json_free(&doc);
	}
	if (!rc && !success) {
		tb_err("kbs: proxy reports that attestation failed");
		rc = TPMBOOT_E_KBS_APROXY_FAILED;
	}
	if (rc) {
		tb_free_secret(msg, len + 1);
		return rc;
	}

	s->attestation_response = msg;
	s->attestation_response_len = len;
	tb_info("kbs: proxy reports successful attestation");
	return 0;
}

/* Decodes standard base64 member name of object ref into buf. */
static int decode_std(const struct kbs_json_doc *doc, kbs_json_ref ref,
		      const char *name, uint8_t *buf, size_t cap,
		      size_t *out_len)
{
	const char *text;
	size_t len;

	if (kbs_json_get_string(doc, ref, name, &text, &len))
		return TPMBOOT_E_KBS_JSON_SCHEMA;
	if (kbs_base64_decode(KBS_BASE64_STD, text, len, buf, cap, out_len)) {
		tb_err("kbs: proxy member %s is not base64 of at most %zu bytes",
		       name, cap);
		return TPMBOOT_E_KBS_PROTOCOL;
	}
	return 0;
}

/* The decoded AttestationResponse.decryption object and secret. */
struct aproxy_secret {
	uint8_t epk_x[TB_EC_MAX_COORD];
	uint8_t epk_y[TB_EC_MAX_COORD];
	uint8_t wrapped_cek[64];
	uint8_t iv[16];
	uint8_t tag[16];
	uint8_t aad[1024];
	uint8_t secret[1024];
};

static int decode_secret(const struct kbs_json_doc *doc,
			 struct aproxy_secret *d, struct kbs_jwe_parts *p)
{
	kbs_json_ref dec, epk;
	size_t x_len = 0, y_len = 0;
	int rc;

	rc = kbs_json_get_object(doc, 0, "decryption", &dec);
	if (!rc)
		rc = kbs_json_get_object(doc, dec, "epk", &epk);
	if (!rc)
		rc = decode_std(doc, epk, "x", d->epk_x, sizeof(d->epk_x), &x_len);
	if (!rc)
		rc = decode_std(doc, epk, "y", d->epk_y, sizeof(d->epk_y), &y_len);
	if (!rc)
		rc = decode_std(doc, dec, "wrapped_cek", d->wrapped_cek,
				sizeof(d->wrapped_cek), &p->encrypted_key_len);
	if (!rc)
		rc = decode_std(doc, dec, "iv", d->iv, sizeof(d->iv), &p->iv_len);
	if (!rc)
		rc = decode_std(doc, dec, "tag", d->tag, sizeof(d->tag), &p->tag_len);
	if (!rc)
		rc = decode_std(doc, dec, "aad", d->aad, sizeof(d->aad), &p->aad_len);
	if (!rc)
		rc = decode_std(doc, 0, "secret", d->secret, sizeof(d->secret),
				&p->ciphertext_len);
	if (rc)
		return rc;

	if (x_len != y_len) {
		tb_err("kbs: proxy epk coordinates differ in length (%zu, %zu)",
		       x_len, y_len);
		return TPMBOOT_E_KBS_PROTOCOL;
	}
	p->alg = KBS_JWE_ECDH_ES_A256KW;
	p->epk_x = d->epk_x;
	p->epk_y = d->epk_y;
	p->epk_coord_len = x_len;
	p->encrypted_key = d->wrapped_cek;
	p->iv = d->iv;
	p->tag = d->tag;
	p->aad = d->aad;
	p->ciphertext = d->secret;
	return 0;
}

int kbs_aproxy_fetch_key(struct tb_kbs_session *s,
			 const struct tb_kbs_key_request *request,
			 uint8_t *key1, size_t key1_cap, size_t *key1_len)
{
	struct kbs_jwe_parts parts;
	struct aproxy_secret *d;
	struct kbs_json_doc doc;
	int rc;

	if (request->mode != TB_KBS_WRAP_RESOURCE) {
		tb_err("kbs: the COCONUT proxy supports only the resource wrap mode (mode %d)",
		       (int)request->mode);
		return TPMBOOT_E_UNSUPPORTED;
	}
	if (!s->attestation_response) {
		tb_err("kbs: the proxy secret was already used");
		return TPMBOOT_E_KBS_SESSION_STATE;
	}

	d = tb_calloc(1, sizeof(*d));
	if (!d) {
		tb_err("kbs: no memory to decode the proxy secret");
		return TPMBOOT_E_NO_MEMORY;
	}
	memset(&parts, 0, sizeof(parts));

	rc = kbs_json_parse(s->attestation_response,
			    s->attestation_response_len, NULL, &doc);
	if (!rc) {
		rc = decode_secret(&doc, d, &parts);
		kbs_json_free(&doc);
	}
	if (!rc)
		rc = kbs_jwe_decrypt_parts(&s->key, &parts, key1, key1_cap,
					   key1_len);
	if (rc == TPMBOOT_E_BUFFER_TOO_SMALL)
		rc = TPMBOOT_E_KBS_KEY_LENGTH;
	tb_free_secret(d, sizeof(*d));

	/* The stream has carried its four messages; the proxy waits for it
	 * to close. */
	kbs_aproxy_close(s);
	if (!rc)
		tb_info("kbs: received a %zu-byte key through the proxy",
			*key1_len);
	return rc;
}

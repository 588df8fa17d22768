/*
 * KBS session life cycle: state checks, failure handling and transport
 * retries around the two protocol implementations.
 */
#include <string.h>

#include "core/tb_core.h"
#include "kbs/kbs_session.h"

#define KBS_BACKOFF_FIRST_MS 100u
#define KBS_BACKOFF_MAX_MS 2000u

void kbs_session_backoff(uint32_t attempt)
{
	uint32_t delay = KBS_BACKOFF_FIRST_MS;

	while (attempt-- > 0 && delay < KBS_BACKOFF_MAX_MS)
		delay *= 2;
	if (delay > KBS_BACKOFF_MAX_MS)
		delay = KBS_BACKOFF_MAX_MS;
	tb_delay_ms(delay);
}

int kbs_session_http(struct tb_kbs_session *s,
		     const struct kbs_http_request *req,
		     struct kbs_http_response *resp)
{
	uint32_t attempt;
	int rc;

	for (attempt = 0;; attempt++) {
		rc = kbs_http_exchange(&s->http, req, resp);
		if (rc != TPMBOOT_E_STREAM_IO && rc != TPMBOOT_E_TIMEOUT)
			return rc;
		if (attempt >= s->max_retries) {
			tb_err("kbs: %s %s failed after %u attempts: %s",
			       req->method, req->path, (unsigned)attempt + 1,
			       tpmboot_error_name(rc));
			return TPMBOOT_E_KBS_RETRIES_EXHAUSTED;
		}
		tb_warn("kbs: %s %s: %s, retry %u of %u", req->method,
			req->path, tpmboot_error_name(rc), (unsigned)attempt + 1,
			(unsigned)s->max_retries);
		kbs_session_backoff(attempt);
	}
}

/* Ends the session after an error: nothing of it may be used again. */
static int fail(struct tb_kbs_session *s, int rc)
{
	if (s->protocol == TPMBOOT_KBS_COCONUT_APROXY)
		kbs_aproxy_close(s);
	kbs_http_conn_disconnect(&s->http);
	kbs_tee_key_wipe(&s->key);
	s->state = KBS_STATE_FAILED;
	return rc;
}

static void free_session(struct tb_kbs_session *s)
{
	if (s->protocol == TPMBOOT_KBS_COCONUT_APROXY)
		kbs_aproxy_close(s);
	kbs_http_conn_fini(&s->http);
	kbs_tee_key_wipe(&s->key);
	tb_free_secret(s, sizeof(*s));
}

int tb_kbs_session_open(struct tb_kbs_session **session, uint8_t *nonce,
			size_t nonce_cap, size_t *nonce_len)
{
	const struct tpmboot_config *cfg = tb_config();
	struct tb_kbs_session *s;
	int rc;

	*session = NULL;
	if (!cfg) {
		tb_err("kbs: no configuration attached");
		return TPMBOOT_E_INVALID_ARGUMENT;
	}

	s = tb_calloc(1, sizeof(*s));
	if (!s) {
		tb_err("kbs: no memory for a session");
		return TPMBOOT_E_NO_MEMORY;
	}
	s->tee = cfg->tee;
	s->protocol = cfg->kbs_protocol;
	s->timeout_ms = cfg->kbs_timeout_ms;
	s->max_retries = cfg->kbs_max_retries;
	s->binding_hash = TB_HASH_SHA384;

	if (s->protocol == TPMBOOT_KBS_TRUSTEE) {
		rc = kbs_http_conn_init(&s->http, cfg->kbs_host, cfg->kbs_timeout_ms);
		if (!rc)
			rc = kbs_trustee_open(s);
	} else if (s->protocol == TPMBOOT_KBS_COCONUT_APROXY) {
		rc = kbs_aproxy_open(s);
	} else {
		tb_err("kbs: unknown KBS protocol %d", (int)s->protocol);
		rc = TPMBOOT_E_UNSUPPORTED;
	}

	if (!rc && nonce) {
		if (nonce_cap < s->nonce_len) {
			tb_err("kbs: nonce buffer of %zu bytes, nonce has %zu",
			       nonce_cap, s->nonce_len);
			rc = TPMBOOT_E_BUFFER_TOO_SMALL;
		} else {
			memcpy(nonce, s->nonce, s->nonce_len);
			*nonce_len = s->nonce_len;
		}
	}
	if (rc) {
		free_session(s);
		return rc;
	}

	s->state = KBS_STATE_OPEN;
	*session = s;
	return 0;
}

static int check_state(const struct tb_kbs_session *s,
		       enum kbs_session_state expected, const char *what)
{
	if (!s) {
		tb_err("kbs: %s called without a session", what);
		return TPMBOOT_E_INVALID_ARGUMENT;
	}
	if (s->state != expected) {
		tb_err("kbs: %s called in session state %d, expected %d", what,
		       (int)s->state, (int)expected);
		return TPMBOOT_E_KBS_SESSION_STATE;
	}
	return 0;
}

int tb_kbs_binding(const struct tb_kbs_session *session,
		   uint8_t report_data[64])
{
	int rc = check_state(session, KBS_STATE_OPEN, "tb_kbs_binding");

	if (rc)
		return rc;
	if (session->protocol == TPMBOOT_KBS_TRUSTEE)
		return kbs_trustee_binding(session, report_data);
	return kbs_aproxy_binding(session, report_data);
}

int tb_kbs_attest(struct tb_kbs_session *session,
		  const struct tb_kbs_evidence *evidence)
{
	int rc = check_state(session, KBS_STATE_OPEN, "tb_kbs_attest");

	if (rc)
		return rc;
	if (!evidence || !evidence->report) {
		tb_err("kbs: tb_kbs_attest called without evidence");
		return fail(session, TPMBOOT_E_INVALID_ARGUMENT);
	}

	if (session->protocol == TPMBOOT_KBS_TRUSTEE)
		rc = kbs_trustee_attest(session, evidence);
	else
		rc = kbs_aproxy_attest(session, evidence);
	if (rc)
		return fail(session, rc);

	session->state = KBS_STATE_ATTESTED;
	return 0;
}

static const char *wrap_mode_name(enum tb_kbs_wrap_mode mode)
{
	switch (mode) {
	case TB_KBS_WRAP_KBS_UNWRAP:
		return "kbs-unwrap";
	case TB_KBS_WRAP_TRUSTEE_PKCS11:
		return "trustee-pkcs11";
	case TB_KBS_WRAP_RESOURCE:
		return "resource";
	}
	return "unknown";
}

/*
 * Applies the pinned KBS release key (config->kbs_release_key) before any
 * key request goes out. With a pinned key only kbs-unwrap, whose responses
 * are signed, may run; there is no override. Without one, logs the one
 * warning per boot that the release is not authenticated.
 */
static int check_release_authentication(const struct tb_kbs_key_request *request)
{
	const struct tpmboot_config *cfg = tb_config();

	if (!cfg->kbs_release_key) {
		tb_warn("kbs: no KBS release key is pinned, so the key release is not authenticated and the host could supply Key1");
		return 0;
	}
	if (request->mode != TB_KBS_WRAP_KBS_UNWRAP) {
		tb_err("kbs: wrap mode %s cannot be authenticated: a KBS release key is pinned and only kbs-unwrap responses carry a release signature",
		       wrap_mode_name(request->mode));
		return TPMBOOT_E_KBS_RELEASE_UNAUTHENTICATED;
	}
	return 0;
}

int tb_kbs_fetch_key(struct tb_kbs_session *session,
		     const struct tb_kbs_key_request *request, uint8_t *key1,
		     size_t key1_cap, size_t *key1_len)
{
	int rc;

	*key1_len = 0;
	rc = check_state(session, KBS_STATE_ATTESTED, "tb_kbs_fetch_key");
	if (rc) {
		tb_memzero(key1, key1_cap);
		return rc;
	}
	if (!request) {
		tb_err("kbs: tb_kbs_fetch_key called without a request");
		tb_memzero(key1, key1_cap);
		return fail(session, TPMBOOT_E_INVALID_ARGUMENT);
	}
	rc = check_release_authentication(request);
	if (rc) {
		tb_memzero(key1, key1_cap);
		return fail(session, rc);
	}

	if (session->protocol == TPMBOOT_KBS_TRUSTEE)
		rc = kbs_trustee_fetch_key(session, request, key1, key1_cap,
					   key1_len);
	else
		rc = kbs_aproxy_fetch_key(session, request, key1, key1_cap,
					  key1_len);

	if (!rc && *key1_len == 0) {
		tb_err("kbs: KBS returned an empty key");
		rc = TPMBOOT_E_KBS_KEY_LENGTH;
	}
	if (rc) {
		tb_memzero(key1, key1_cap);
		*key1_len = 0;
		return fail(session, rc);
	}
	return 0;
}

void tb_kbs_session_close(struct tb_kbs_session *session)
{
	if (session)
		free_session(session);
}

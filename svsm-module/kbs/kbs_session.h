/*
 * Internal state of a KBS session shared by the Trustee and COCONUT proxy
 * protocol files.
 */
#ifndef KBS_SESSION_H
#define KBS_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/tb_crypto.h"
#include "kbs/kbs_http.h"
#include "kbs/kbs_teekey.h"
#include "kbs/tb_kbs.h"

/* Maximum length of the nonce string from the KBS (base64 of 64 bytes). */
#define KBS_NONCE_TEXT_MAX 88u

/* Parameters the COCONUT proxy lists in its negotiation response. */
enum kbs_aproxy_param {
	KBS_APROXY_PARAM_EC_PUBLIC_KEY_BYTES = 1,
	KBS_APROXY_PARAM_CHALLENGE = 2,
};
#define KBS_APROXY_MAX_PARAMS 4u

enum kbs_session_state {
	KBS_STATE_OPEN = 1,     /* challenge received */
	KBS_STATE_ATTESTED = 2, /* evidence accepted */
	KBS_STATE_FAILED = 3,   /* an error closed the session */
};

struct tb_kbs_session {
	enum kbs_session_state state;
	enum tpmboot_tee tee;
	enum tpmboot_kbs_protocol protocol;
	uint32_t timeout_ms;
	uint32_t max_retries;
	struct kbs_tee_key key;

	/* Challenge: the nonce string as received and its decoded bytes. */
	char nonce_text[KBS_NONCE_TEXT_MAX + 1];
	uint8_t nonce[TB_KBS_NONCE_MAX];
	size_t nonce_len;

	/* Trustee. */
	struct kbs_http_conn http;
	char session_id[KBS_HTTP_COOKIE_MAX + 1];
	enum tb_hash_alg binding_hash;

	/* COCONUT proxy. */
	void *stream;
	uint8_t params[KBS_APROXY_MAX_PARAMS];
	size_t param_count;
	char *attestation_response; /* kept for tb_kbs_fetch_key() */
	size_t attestation_response_len;
};

/* Runs one HTTP exchange, retrying transport failures with backoff. */
int kbs_session_http(struct tb_kbs_session *s,
		     const struct kbs_http_request *req,
		     struct kbs_http_response *resp);

/* Waits before retry number attempt (0-based): 100 ms doubling, 2 s cap. */
void kbs_session_backoff(uint32_t attempt);

/* Trustee protocol steps (kbs_trustee.c). */
int kbs_trustee_open(struct tb_kbs_session *s);
int kbs_trustee_binding(const struct tb_kbs_session *s,
			uint8_t report_data[64]);
int kbs_trustee_attest(struct tb_kbs_session *s,
		       const struct tb_kbs_evidence *evidence);
int kbs_trustee_fetch_key(struct tb_kbs_session *s,
			  const struct tb_kbs_key_request *request,
			  uint8_t *key1, size_t key1_cap, size_t *key1_len);

/* Builds the Trustee runtime-data object in canonical (RFC 8785) form. */
int kbs_trustee_runtime_data(const struct tb_kbs_session *s, char **out,
			     size_t *out_len);

/* COCONUT proxy protocol steps (kbs_aproxy.c). */
int kbs_aproxy_open(struct tb_kbs_session *s);
int kbs_aproxy_binding(const struct tb_kbs_session *s,
		       uint8_t report_data[64]);
int kbs_aproxy_attest(struct tb_kbs_session *s,
		      const struct tb_kbs_evidence *evidence);
int kbs_aproxy_fetch_key(struct tb_kbs_session *s,
			 const struct tb_kbs_key_request *request,
			 uint8_t *key1, size_t key1_cap, size_t *key1_len);
void kbs_aproxy_close(struct tb_kbs_session *s);

#endif /* KBS_SESSION_H */

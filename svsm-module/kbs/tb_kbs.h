/*
 * Key Broker Service client: the "exchange" step of the boot flow.
 *
 * Sequence for the caller (the boot flow), one session per boot:
 *
 *   tb_kbs_session_open(&s, nonce, sizeof(nonce), &nonce_len);
 *   tb_kbs_binding(s, report_data);          64 bytes for REPORT_DATA
 *   ...caller gets an SNP report or TDX quote over report_data...
 *   tb_kbs_attest(s, &evidence);
 *   tb_kbs_fetch_key(s, &request, key1, sizeof(key1), &key1_len);
 *   tb_kbs_session_close(s);
 *
 * The session reads tee, kbs_protocol, tee_key, kbs_host, kbs_timeout_ms
 * and kbs_max_retries from the attached configuration (tb_config()) and
 * talks to the host proxy through the platform stream callbacks.
 *
 * Protocols (config->kbs_protocol):
 * - TPMBOOT_KBS_TRUSTEE: Trustee KBS protocol 0.4.0 over HTTP/1.1 (RCAR:
 *   POST /kbs/v0/auth, POST /kbs/v0/attest, then the secret request). The
 *   binding is SHA-384 of the RFC 8785 form of {"additional-evidence":"",
 *   "nonce":..., "tee-pubkey":JWK}, zero-padded to 64 bytes.
 * - TPMBOOT_KBS_COCONUT_APROXY: COCONUT-SVSM's proxy protocol (8-byte
 *   little-endian length + JSON; negotiation, attestation). It supports
 *   only SNP, a P-521 TEE key and the resource wrap mode, because the
 *   proxy fetches one fixed resource; the binding is SHA-512 over the
 *   negotiated parameters (x || y || nonce).
 *
 * Errors: any failure after open leaves the session failed: the stream is
 * closed, the TEE key wiped, and later calls return
 * TPMBOOT_E_KBS_SESSION_STATE. Transport failures (stream errors,
 * timeouts, responses cut short) are retried up to kbs_max_retries times
 * with exponential backoff starting at 100 ms and capped at 2 s; HTTP
 * error statuses, policy refusals and malformed messages are never
 * retried.
 */
#ifndef TB_KBS_H
#define TB_KBS_H

#include <stddef.h>
#include <stdint.h>

#include "tpmboot.h"

/* Wrap mode of Key2, the wrapped key in the image: the request that turns
 * it into Key1. */
enum tb_kbs_wrap_mode {
	/* POST /kbs/v0/tpmboot-unwrap/unwrap {"key-id","aad","wrapped"}: the
	 * KBS opens the AES-256-GCM envelope Key2 and returns Key1 as a JWE. */
	TB_KBS_WRAP_KBS_UNWRAP = 0,
	/* GET /kbs/v0/pkcs11/wrap-key with Key2, the RSA-OAEP ciphertext made
	 * by Trustee's pkcs11 plugin, as the raw request body. */
	TB_KBS_WRAP_TRUSTEE_PKCS11 = 1,
	/* GET /kbs/v0/resource/<repository>/<type>/<tag>: no Key2. */
	TB_KBS_WRAP_RESOURCE = 2,
};

struct tb_kbs_key_request {
	enum tb_kbs_wrap_mode mode;
	/*
	 * kbs-unwrap: the KEK id at the KBS (printable ASCII, 1 to 128
	 * bytes). resource: "<repository>/<type>/<tag>", each segment of
	 * [A-Za-z0-9._-]. trustee-pkcs11: unused, because Trustee's pkcs11
	 * plugin selects its key by configuration, not per request.
	 */
	const char *locator;
	/* Key2 for kbs-unwrap and trustee-pkcs11. */
	const uint8_t *key2;
	size_t key2_len;
	/* kbs-unwrap: the additional data the envelope was sealed with. */
	const uint8_t *aad;
	size_t aad_len;
};

/* Evidence the caller obtained over the binding value. */
struct tb_kbs_evidence {
	/* SNP: the 1184-byte ATTESTATION_REPORT. TDX: the quote. */
	const uint8_t *report;
	size_t report_len;
	/* SNP, optional: the GHCB certificate table of an extended report,
	 * sent as Trustee's cert_chain. TDX, optional: the CCEL event log. */
	const uint8_t *aux;
	size_t aux_len;
};

/* Nonces Trustee and the proxy send are 32 bytes; 64 is the bound. */
#define TB_KBS_NONCE_MAX 64u

struct tb_kbs_session;

/*
 * Connects to the KBS (or proxy), generates the TEE key and obtains the
 * challenge. nonce may be NULL; otherwise it receives the decoded nonce
 * bytes (nonce_cap >= TB_KBS_NONCE_MAX is always enough).
 */
int tb_kbs_session_open(struct tb_kbs_session **session, uint8_t *nonce,
			size_t nonce_cap, size_t *nonce_len);

/* Computes the 64-byte REPORT_DATA that binds the nonce and TEE key. */
int tb_kbs_binding(const struct tb_kbs_session *session,
		   uint8_t report_data[64]);

/*
 * Sends the evidence. Trustee: POST /kbs/v0/attest; returns
 * TPMBOOT_E_KBS_REFUSED when the KBS rejects it. Proxy mode: sends the
 * AttestationRequest and keeps the encrypted secret of its response for
 * tb_kbs_fetch_key().
 */
int tb_kbs_attest(struct tb_kbs_session *session,
		  const struct tb_kbs_evidence *evidence);

/*
 * Requests Key1 and decrypts the JWE response into key1 (caller-owned,
 * key1_cap bytes). On any failure key1 is wiped and *key1_len is 0.
 */
int tb_kbs_fetch_key(struct tb_kbs_session *session,
		     const struct tb_kbs_key_request *request, uint8_t *key1,
		     size_t key1_cap, size_t *key1_len);

/* Closes the stream, wipes the TEE key and frees the session; NULL is a
 * no-op. */
void tb_kbs_session_close(struct tb_kbs_session *session);

#endif /* TB_KBS_H */

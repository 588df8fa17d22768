/*
 * tpmboot-proxy: forwards a guest byte stream (AF_VSOCK or a Unix socket
 * for a QEMU chardev) to a Key Broker Service over TCP, optionally TLS.
 * The proxy never parses HTTP: the guest speaks to the KBS end to end.
 */
#ifndef TPMBOOT_PROXY_H
#define TPMBOOT_PROXY_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

/* COCONUT-SVSM's attestation port (libaproxy ATTEST_DEFAULT_VSOCK_PORT). */
#define PROXY_DEFAULT_VSOCK_PORT	1995
#define PROXY_DEFAULT_BUFFER		65536
#define PROXY_MIN_BUFFER		1024
#define PROXY_MAX_BUFFER		(16 * 1024 * 1024)
#define PROXY_DEFAULT_CONNECT_MS	5000
#define PROXY_DEFAULT_IDLE_MS		60000
/* A KBS exchange takes seconds; Trustee's own session expires after 5 min. */
#define PROXY_DEFAULT_SESSION_MS	300000
#define PROXY_DEFAULT_MAX_SESSIONS	4
#define PROXY_STOP_GRACE_MS		2000	/* wait for sessions on SIGTERM/SIGINT */

enum proxy_guest_mode {
	PROXY_GUEST_VSOCK,		/* listen on AF_VSOCK, any CID */
	PROXY_GUEST_UNIX_LISTEN,	/* listen on a Unix socket path */
	PROXY_GUEST_UNIX_CONNECT,	/* connect to a listening Unix socket */
};

struct proxy_config {
	enum proxy_guest_mode guest_mode;
	unsigned int vsock_port;
	const char *unix_path;
	const char *kbs_host;
	const char *kbs_port;
	int use_tls;
	const char *ca_file;
	const char *tls_server_name;	/* NULL: the KBS host name */
	unsigned int connect_timeout_ms;
	unsigned int idle_timeout_ms;
	unsigned int session_timeout_ms;	/* bound on a whole session */
	size_t buffer_size;
	unsigned int max_sessions;
	int once;			/* serve one session, then exit */
	int verbose;
	SSL_CTX *tls_ctx;		/* set up by proxy_tls_init when use_tls */
};

/* Per-session byte counters and outcome, filled by proxy_session_run. */
struct proxy_session_result {
	uint64_t guest_to_kbs;
	uint64_t kbs_to_guest;
	int error;			/* 0: both sides closed cleanly */
};

/* Logging with an ISO 8601 UTC timestamp to stderr; one line per call. */
void proxy_log(const char *level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
#define proxy_info(...)		proxy_log("info", __VA_ARGS__)
#define proxy_warn(...)		proxy_log("warning", __VA_ARGS__)
#define proxy_error(...)	proxy_log("error", __VA_ARGS__)

/* Nonzero once SIGTERM or SIGINT asked the proxy to stop. */
int proxy_stop_requested(void);

/* Monotonic clock in milliseconds. */
uint64_t proxy_now_ms(void);

/*
 * Relay one guest connection: connect to the KBS (TCP, then TLS when
 * configured), copy bytes both ways until both sides have closed, an error
 * occurs, the idle or session timeout passes, or PROXY_STOP_GRACE_MS after
 * a stop signal. Closes guest_fd. Logs start and end.
 */
void proxy_session_run(const struct proxy_config *cfg, int guest_fd, unsigned long id,
		       const char *guest_desc, struct proxy_session_result *result);

/* Open a TCP connection to the KBS within cfg->connect_timeout_ms; returns fd or -1. */
int proxy_connect_kbs(const struct proxy_config *cfg, unsigned long id);

/* Create the client TLS context (CA file, TLS 1.2+); returns 0 or -1. */
int proxy_tls_init(struct proxy_config *cfg);

/*
 * Run the TLS handshake on a connected non-blocking fd within the connect
 * timeout, verifying the server certificate and name; returns SSL or NULL.
 */
SSL *proxy_tls_connect(const struct proxy_config *cfg, int fd, unsigned long id);

/* Log the OpenSSL error queue with the session id, then clear it. */
void proxy_tls_log_errors(unsigned long id, const char *operation);

#endif

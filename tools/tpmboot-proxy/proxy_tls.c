/*
 * Optional TLS towards the KBS (OpenSSL 3): server certificate verified
 * against --ca-file and the server name, TLS 1.2 or newer.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <poll.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "proxy.h"

void proxy_tls_log_errors(unsigned long id, const char *operation)
{
	unsigned long code;
	char buf[256];
	int logged = 0;

	while ((code = ERR_get_error()) != 0) {
		ERR_error_string_n(code, buf, sizeof(buf));
		proxy_error("session %lu: %s: %s", id, operation, buf);
		logged = 1;
	}
	if (!logged)
		proxy_error("session %lu: %s", id, operation);
}

int proxy_tls_init(struct proxy_config *cfg)
{
	SSL_CTX *ctx;

	ctx = SSL_CTX_new(TLS_client_method());
	if (ctx == NULL) {
		proxy_tls_log_errors(0, "creating the TLS context failed");
		return -1;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	/*
	 * Many HTTP servers close TCP without a close_notify. The guest's own
	 * framing (Content-Length, or the proxy protocol's length prefix)
	 * detects truncation, so a missing close_notify counts as end of stream.
	 */
	SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);

	if (cfg->ca_file != NULL) {
		if (SSL_CTX_load_verify_locations(ctx, cfg->ca_file, NULL) != 1) {
			proxy_tls_log_errors(0, "loading the CA file failed");
			proxy_error("check that --ca-file %s is a readable PEM certificate file",
				    cfg->ca_file);
			SSL_CTX_free(ctx);
			return -1;
		}
	} else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
		proxy_tls_log_errors(0, "loading the system CA store failed");
		SSL_CTX_free(ctx);
		return -1;
	}

	cfg->tls_ctx = ctx;
	return 0;
}

/* Wait for the direction OpenSSL asked for; returns 0, or -1 on timeout or poll error. */
static int wait_for_tls(int fd, int ssl_error, uint64_t deadline)
{
	struct pollfd pfd = { .fd = fd };
	uint64_t now = proxy_now_ms();
	int rc;

	if (now >= deadline)
		return -1;
	pfd.events = ssl_error == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN;
	do {
		rc = poll(&pfd, 1, (int)(deadline - now));
	} while (rc < 0 && errno == EINTR);
	return rc > 0 ? 0 : -1;
}

SSL *proxy_tls_connect(const struct proxy_config *cfg, int fd, unsigned long id)
{
	const char *name = cfg->tls_server_name ? cfg->tls_server_name : cfg->kbs_host;
	uint64_t deadline = proxy_now_ms() + cfg->connect_timeout_ms;
	SSL *ssl;
	int rc, err;

	ssl = SSL_new(cfg->tls_ctx);
	if (ssl == NULL || SSL_set_fd(ssl, fd) != 1) {
		proxy_tls_log_errors(id, "creating the TLS session failed");
		SSL_free(ssl);
		return NULL;
	}
	SSL_set_tlsext_host_name(ssl, name);
	if (SSL_set1_host(ssl, name) != 1) {
		proxy_tls_log_errors(id, "setting the expected server name failed");
		SSL_free(ssl);
		return NULL;
	}

	for (;;) {
		rc = SSL_connect(ssl);
		if (rc == 1)
			break;
		err = SSL_get_error(ssl, rc);
		if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) {
			long verify = SSL_get_verify_result(ssl);

			if (verify != X509_V_OK)
				proxy_error("session %lu: KBS certificate for %s rejected: %s",
					    id, name, X509_verify_cert_error_string(verify));
			proxy_tls_log_errors(id, "TLS handshake with the KBS failed");
			SSL_free(ssl);
			return NULL;
		}
		if (wait_for_tls(fd, err, deadline) < 0) {
			proxy_error("session %lu: TLS handshake with the KBS timed out after %u ms",
				    id, cfg->connect_timeout_ms);
			SSL_free(ssl);
			return NULL;
		}
	}

	if (cfg->verbose)
		proxy_info("session %lu: TLS %s with %s, cipher %s", id, SSL_get_version(ssl),
			   name, SSL_get_cipher_name(ssl));
	return ssl;
}

/*
 * One HTTP/1.1 request/response exchange over the platform byte stream.
 */
#include <string.h>

#include "core/tb_core.h"
#include "kbs/kbs_http.h"

/* Default bound on one response when the configuration gives 0. */
#define KBS_HTTP_DEFAULT_TIMEOUT_MS 10000u

int kbs_http_conn_init(struct kbs_http_conn *c, const char *host,
		       uint32_t timeout_ms)
{
	memset(c, 0, sizeof(*c));
	c->host = host ? host : "kbs";
	c->timeout_ms = timeout_ms ? timeout_ms : KBS_HTTP_DEFAULT_TIMEOUT_MS;
	c->limits = kbs_http_default_limits;

	/* Room for the header and a chunked body with framing overhead. */
	c->cap = c->limits.max_header + 2 * c->limits.max_body;
	c->buf = tb_alloc(c->cap);
	if (!c->buf) {
		tb_err("kbs: no memory for a %zu-byte HTTP receive buffer",
		       c->cap);
		return TPMBOOT_E_NO_MEMORY;
	}
	return 0;
}

void kbs_http_conn_disconnect(struct kbs_http_conn *c)
{
	const struct tpmboot_platform *pf = tb_platform();

	if (c->stream) {
		pf->stream_close(pf->ctx, c->stream);
		c->stream = NULL;
	}
}

void kbs_http_conn_fini(struct kbs_http_conn *c)
{
	kbs_http_conn_disconnect(c);
	if (c->buf)
		tb_free_secret(c->buf, c->cap);
	c->buf = NULL;
	c->cap = 0;
}

static int connect_stream(struct kbs_http_conn *c)
{
	const struct tpmboot_platform *pf = tb_platform();
	void *stream = NULL;

	if (c->stream)
		return 0;
	if (pf->stream_connect(pf->ctx, &stream) != 0 || !stream) {
		tb_err("kbs: connecting the stream to the host proxy failed");
		return TPMBOOT_E_STREAM_IO;
	}
	c->stream = stream;
	return 0;
}

static int send_request(struct kbs_http_conn *c,
			const struct kbs_http_request *req)
{
	const struct tpmboot_platform *pf = tb_platform();
	size_t head_len;
	int rc;

	/* The receive buffer is free until the response arrives. */
	rc = kbs_http_format_head(req, c->host, (char *)c->buf, c->cap,
				  &head_len);
	if (rc)
		return rc;

	if (pf->stream_send(pf->ctx, c->stream, c->buf, head_len) != 0 ||
	    (req->body_len > 0 &&
	     pf->stream_send(pf->ctx, c->stream, req->body, req->body_len) != 0)) {
		tb_err("kbs: sending %s %s to the host proxy failed",
		       req->method, req->path);
		return TPMBOOT_E_STREAM_IO;
	}
	return 0;
}

/* Reads until the parser has one whole response. */
static int receive_response(struct kbs_http_conn *c,
			    const struct kbs_http_request *req, int reused,
			    struct kbs_http_response *resp, size_t *received)
{
	const struct tpmboot_platform *pf = tb_platform();
	uint64_t deadline = tb_time_ms() + c->timeout_ms;
	size_t len = 0;
	int rc, complete;

	for (;;) {
		uint64_t now;
		long n;

		rc = kbs_http_parse_response(c->buf, len, 0, &c->limits, resp,
					     &complete);
		if (rc)
			return rc;
		if (complete)
			return 0;
		if (len == c->cap) {
			tb_err("kbs: HTTP response to %s exceeds %zu bytes",
			       req->path, c->cap);
			return TPMBOOT_E_KBS_HTTP_TOO_LARGE;
		}

		now = tb_time_ms();
		if (now >= deadline) {
			tb_err("kbs: no complete response to %s within %u ms (%zu bytes received)",
			       req->path, (unsigned)c->timeout_ms, len);
			return TPMBOOT_E_TIMEOUT;
		}

		n = pf->stream_recv(pf->ctx, c->stream, c->buf + len,
				    c->cap - len, (uint32_t)(deadline - now));
		if (n > 0) {
			len += (size_t)n;
			*received = len;
			continue;
		}

		if (n == 0) {
			rc = kbs_http_parse_response(c->buf, len, 1, &c->limits,
						     resp, &complete);
			if (!rc && complete)
				return 0;
			if (len == 0 && reused) {
				/* An idle keep-alive connection the server
				 * closed: the caller reconnects silently. */
				tb_debug("kbs: reused stream closed before the response to %s",
					 req->path);
				return TPMBOOT_E_STREAM_IO;
			}
			tb_err("kbs: stream closed after %zu bytes of the response to %s",
			       len, req->path);
			return TPMBOOT_E_STREAM_IO;
		}

		if (tb_time_ms() >= deadline) {
			tb_err("kbs: no complete response to %s within %u ms (%zu bytes received)",
			       req->path, (unsigned)c->timeout_ms, len);
			return TPMBOOT_E_TIMEOUT;
		}
		tb_err("kbs: receiving the response to %s failed after %zu bytes",
		       req->path, len);
		return TPMBOOT_E_STREAM_IO;
	}
}

/* Sends req on the current stream (connecting first if there is none)
 * and reads the response. */
static int exchange_once(struct kbs_http_conn *c,
			 const struct kbs_http_request *req,
			 struct kbs_http_response *resp, int *reused,
			 size_t *received)
{
	int rc;

	*reused = c->stream != NULL;
	*received = 0;
	rc = connect_stream(c);
	if (!rc)
		rc = send_request(c, req);
	if (!rc)
		rc = receive_response(c, req, *reused, resp, received);
	if (rc)
		kbs_http_conn_disconnect(c);
	return rc;
}

int kbs_http_exchange(struct kbs_http_conn *c,
		      const struct kbs_http_request *req,
		      struct kbs_http_response *resp)
{
	size_t received;
	int rc, reused;

	rc = exchange_once(c, req, resp, &reused, &received);

	/* A server may close an idle keep-alive connection at any time
	 * (RFC 9112 section 9.3.1), so a request that got no byte back on a
	 * reused connection is sent once more on a new one. This does not
	 * count as a retry. */
	if (rc == TPMBOOT_E_STREAM_IO && reused && received == 0)
		rc = exchange_once(c, req, resp, &reused, &received);
	if (rc)
		return rc;

	/* No pipelining: bytes after the response mean the stream is out
	 * of step, so it is not reused. */
	if (resp->close || resp->consumed != received)
		kbs_http_conn_disconnect(c);
	tb_debug("kbs: %s %s -> HTTP %d, %zu-byte body", req->method, req->path,
		 resp->status, resp->body_len);
	return 0;
}

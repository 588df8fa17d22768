/*
 * HTTP/1.1 message framing (RFC 9112) for the KBS client: request
 * formatting and a response parser, plus one request/response exchange
 * over the platform byte stream.
 *
 * The parser works on a whole buffer and is called again as more bytes
 * arrive. It keeps no state between calls, so it is simple to fuzz.
 */
#ifndef KBS_HTTP_H
#define KBS_HTTP_H

#include <stddef.h>
#include <stdint.h>

/* Maximum length of the kbs-session-id cookie value (Trustee sends 32
 * hex digits). */
#define KBS_HTTP_COOKIE_MAX 128

struct kbs_http_limits {
	size_t max_header; /* status line and header fields, bytes */
	size_t max_body;   /* decoded body, bytes */
};

/* 8 KiB of header and 64 KiB of body: KBS responses in this protocol are
 * a few KiB at most (a JWE of a key, a token, an error object). */
extern const struct kbs_http_limits kbs_http_default_limits;

struct kbs_http_response {
	int status;
	/* Nonzero when the server closes the connection after this response
	 * (HTTP/1.0, "Connection: close" or a body delimited by the close). */
	int close;
	/* Value of a "Set-Cookie: kbs-session-id=..." field, "" if none. */
	char session_id[KBS_HTTP_COOKIE_MAX + 1];
	/* Decoded body; points into the parsed buffer. */
	const uint8_t *body;
	size_t body_len;
	/* Bytes of the buffer that belong to this response. */
	size_t consumed;
};

/*
 * Parses one response from buf[0, len). at_eof is nonzero when the stream
 * ended after these bytes. Sets *complete to 0 when more bytes are needed (resp is then
 * undefined) and to 1 when a whole response was parsed. A chunked body is
 * decoded in place, so buf is modified once *complete is 1.
 * Returns 0 or TPMBOOT_E_KBS_HTTP_MALFORMED, _TOO_LARGE, _UNSUPPORTED.
 */
int kbs_http_parse_response(uint8_t *buf, size_t len, int at_eof,
			    const struct kbs_http_limits *limits,
			    struct kbs_http_response *resp, int *complete);

/* One HTTP request as the client sends it. */
struct kbs_http_request {
	const char *method;       /* "GET" or "POST" */
	const char *path;         /* origin-form, e.g. "/kbs/v0/auth" */
	const char *session_id;   /* cookie to send, NULL or "" for none */
	const char *content_type; /* NULL when there is no body */
	const uint8_t *body;
	size_t body_len;
};

/*
 * Formats the request head (request line and header fields, ending with
 * the empty line) into out. host is the Host field value. Rejects a
 * method, path, host or cookie containing characters that could split
 * the header (TPMBOOT_E_INVALID_ARGUMENT).
 */
int kbs_http_format_head(const struct kbs_http_request *req, const char *host,
			 char *out, size_t out_cap, size_t *out_len);

/* A persistent connection to the KBS through the platform stream. */
struct kbs_http_conn {
	void *stream;        /* NULL while disconnected */
	uint8_t *buf;        /* receive buffer, max_header + max_body + slack */
	size_t cap;
	const char *host;
	uint32_t timeout_ms; /* bound on the whole response of one request */
	struct kbs_http_limits limits;
};

/* Allocates the receive buffer; host may be NULL for "kbs". */
int kbs_http_conn_init(struct kbs_http_conn *c, const char *host,
		       uint32_t timeout_ms);
/* Closes the stream if open and frees the buffer. */
void kbs_http_conn_fini(struct kbs_http_conn *c);
void kbs_http_conn_disconnect(struct kbs_http_conn *c);

/*
 * Sends req and reads the response into resp (body valid until the next
 * exchange on c). Connects first if needed. Transport failures return
 * TPMBOOT_E_STREAM_IO or TPMBOOT_E_TIMEOUT and leave c disconnected; the
 * caller decides whether to retry. Parse errors return the parser's code.
 */
int kbs_http_exchange(struct kbs_http_conn *c,
		      const struct kbs_http_request *req,
		      struct kbs_http_response *resp);

#endif /* KBS_HTTP_H */

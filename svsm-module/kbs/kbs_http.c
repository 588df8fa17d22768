/*
 * HTTP/1.1 response parser and request formatting (RFC 9112).
 */
#include <string.h>

#include "core/tb_core.h"
#include "kbs/kbs_http.h"

const struct kbs_http_limits kbs_http_default_limits = {
	.max_header = 8 * 1024,
	.max_body = 64 * 1024,
};

/* Everything the header section says about the body. */
struct head_info {
	int status;
	int http10;
	int close;
	int chunked;
	int has_length;
	uint64_t content_length;
	size_t body_start;
};

static int malformed(const char *problem, size_t pos)
{
	tb_err("kbs: malformed HTTP response: %s at byte %zu", problem, pos);
	return TPMBOOT_E_KBS_HTTP_MALFORMED;
}

static int lower(int c)
{
	return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}

/* Case-insensitive comparison of s[0, len) with the lower-case word. */
static int equals_nocase(const uint8_t *s, size_t len, const char *word)
{
	size_t i;

	if (strlen(word) != len)
		return 0;
	for (i = 0; i < len; i++)
		if (lower(s[i]) != word[i])
			return 0;
	return 1;
}

/* tchar of RFC 9110 section 5.6.2. */
static int is_tchar(uint8_t c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z'))
		return 1;
	return c != 0 && memchr("!#$%&'*+-.^_`|~", c, 15) != NULL;
}

/* Finds the CRLF that ends the line starting at pos; returns its offset
 * or len when the line is not complete yet. A bare LF is malformed. */
static int find_line_end(const uint8_t *buf, size_t len, size_t pos,
			 size_t *end)
{
	size_t i;

	for (i = pos; i < len; i++) {
		if (buf[i] == '\n')
			return malformed("line ends in LF without CR", i);
		if (buf[i] == '\r') {
			if (i + 1 >= len)
				break;
			if (buf[i + 1] != '\n')
				return malformed("CR not followed by LF", i);
			*end = i;
			return 0;
		}
	}
	*end = len;
	return 0;
}

/* "HTTP/1.x SSS reason" (RFC 9112 section 4). */
static int parse_status_line(const uint8_t *line, size_t len,
			     struct head_info *h)
{
	size_t i;

	if (len < 12 || memcmp(line, "HTTP/1.", 7) != 0)
		return malformed("status line does not start with HTTP/1.x", 0);
	if (line[7] == '0')
		h->http10 = 1;
	else if (line[7] != '1')
		return malformed("unknown HTTP minor version", 7);
	if (line[8] != ' ')
		return malformed("missing space after the version", 8);

	h->status = 0;
	for (i = 9; i < 12; i++) {
		if (line[i] < '0' || line[i] > '9')
			return malformed("status code is not three digits", i);
		h->status = h->status * 10 + (line[i] - '0');
	}
	if (h->status < 100)
		return malformed("status code below 100", 9);
	if (len > 12 && line[12] != ' ')
		return malformed("missing space after the status code", 12);
	for (i = 13; i < len; i++)
		if (line[i] < 0x20 && line[i] != '\t')
			return malformed("control character in reason phrase", i);
	return 0;
}

static int parse_content_length(const uint8_t *v, size_t len,
				struct head_info *h, size_t pos)
{
	uint64_t n = 0;
	size_t i;

	if (len == 0 || len > 12)
		return malformed("invalid Content-Length", pos);
	for (i = 0; i < len; i++) {
		if (v[i] < '0' || v[i] > '9')
			return malformed("invalid Content-Length", pos);
		n = n * 10 + (v[i] - '0');
	}
	if (h->has_length && h->content_length != n)
		return malformed("conflicting Content-Length fields", pos);
	h->has_length = 1;
	h->content_length = n;
	return 0;
}

/* cookie-octet of RFC 6265 section 4.1.1. */
static int is_cookie_octet(uint8_t c)
{
	return c == 0x21 || (c >= 0x23 && c <= 0x2B) ||
	       (c >= 0x2D && c <= 0x3A) || (c >= 0x3C && c <= 0x5B) ||
	       (c >= 0x5D && c <= 0x7E);
}

/* Takes the kbs-session-id value out of a Set-Cookie field; other cookies
 * are ignored. */
static int parse_set_cookie(const uint8_t *v, size_t len,
			    struct kbs_http_response *resp, size_t pos)
{
	static const char name[] = "kbs-session-id=";
	size_t n = sizeof(name) - 1, i;

	if (len < n || memcmp(v, name, n) != 0)
		return 0;
	for (i = n; i < len && v[i] != ';'; i++)
		if (!is_cookie_octet(v[i]))
			return malformed("invalid kbs-session-id cookie value", pos);
	if (i - n == 0 || i - n > KBS_HTTP_COOKIE_MAX)
		return malformed("kbs-session-id cookie empty or too long", pos);
	memcpy(resp->session_id, v + n, i - n);
	resp->session_id[i - n] = '\0';
	return 0;
}

/* Returns nonzero when the comma-separated list v contains token. */
static int list_has_token(const uint8_t *v, size_t len, const char *token)
{
	size_t i = 0;

	while (i < len) {
		size_t start, end;

		while (i < len && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		start = i;
		while (i < len && v[i] != ',')
			i++;
		end = i;
		while (end > start && (v[end - 1] == ' ' || v[end - 1] == '\t'))
			end--;
		if (equals_nocase(v + start, end - start, token))
			return 1;
	}
	return 0;
}

static int parse_field(const uint8_t *line, size_t len, struct head_info *h,
		       struct kbs_http_response *resp, size_t pos)
{
	size_t colon = 0, vs, ve, i;

	if (line[0] == ' ' || line[0] == '\t')
		return malformed("obsolete header line folding", pos);
	while (colon < len && line[colon] != ':') {
		if (!is_tchar(line[colon]))
			return malformed("invalid character in a field name", pos + colon);
		colon++;
	}
	if (colon == 0 || colon == len)
		return malformed("header field without a name or colon", pos);

	vs = colon + 1;
	while (vs < len && (line[vs] == ' ' || line[vs] == '\t'))
		vs++;
	ve = len;
	while (ve > vs && (line[ve - 1] == ' ' || line[ve - 1] == '\t'))
		ve--;
	for (i = vs; i < ve; i++)
		if ((line[i] < 0x20 && line[i] != '\t') || line[i] == 0x7F)
			return malformed("control character in a field value", pos + i);

	if (equals_nocase(line, colon, "content-length"))
		return parse_content_length(line + vs, ve - vs, h, pos);
	if (equals_nocase(line, colon, "transfer-encoding")) {
		if (!equals_nocase(line + vs, ve - vs, "chunked")) {
			tb_err("kbs: unsupported HTTP Transfer-Encoding in field at byte %zu",
			       pos);
			return TPMBOOT_E_KBS_HTTP_UNSUPPORTED;
		}
		if (h->chunked)
			return malformed("repeated Transfer-Encoding", pos);
		h->chunked = 1;
		return 0;
	}
	if (equals_nocase(line, colon, "connection")) {
		if (list_has_token(line + vs, ve - vs, "close"))
			h->close = 1;
		return 0;
	}
	if (equals_nocase(line, colon, "set-cookie"))
		return parse_set_cookie(line + vs, ve - vs, resp, pos);
	return 0;
}

/* Parses the status line and header fields; *done = 0 if incomplete. */
static int parse_head(const uint8_t *buf, size_t len,
		      const struct kbs_http_limits *limits, struct head_info *h,
		      struct kbs_http_response *resp, int *done)
{
	size_t pos = 0, end;
	int rc, first = 1;

	*done = 0;
	for (;;) {
		rc = find_line_end(buf, len, pos, &end);
		if (rc)
			return rc;
		if (end == len) {
			if (len > limits->max_header) {
				tb_err("kbs: HTTP header section exceeds %zu bytes",
				       limits->max_header);
				return TPMBOOT_E_KBS_HTTP_TOO_LARGE;
			}
			return 0;
		}
		if (end + 2 > limits->max_header) {
			tb_err("kbs: HTTP header section exceeds %zu bytes",
			       limits->max_header);
			return TPMBOOT_E_KBS_HTTP_TOO_LARGE;
		}

		if (first) {
			rc = parse_status_line(buf, end, h);
			first = 0;
		} else if (end == pos) {
			h->body_start = end + 2;
			*done = 1;
			return 0;
		} else {
			rc = parse_field(buf + pos, end - pos, h, resp, pos);
		}
		if (rc)
			return rc;
		pos = end + 2;
	}
}

/*
 * Walks a chunked body (RFC 9112 section 7.1) starting at pos. With
 * decode set, moves the chunk data down to buf + pos (in place; the
 * output never overtakes the input). Sets *end past the final CRLF and
 * *body_len, or leaves *complete = 0 when bytes are missing.
 */
static int walk_chunked(uint8_t *buf, size_t len, size_t pos, int decode,
			size_t max_body, size_t *end, size_t *body_len,
			int *complete)
{
	size_t out = pos, total = 0, line_end;
	int rc;

	*complete = 0;
	for (;;) {
		uint64_t size = 0;
		size_t i = pos, digits = 0;

		rc = find_line_end(buf, len, pos, &line_end);
		if (rc)
			return rc;
		if (line_end == len)
			return 0;

		for (; i < line_end; i++, digits++) {
			int c = lower(buf[i]), d;

			if (c >= '0' && c <= '9')
				d = c - '0';
			else if (c >= 'a' && c <= 'f')
				d = c - 'a' + 10;
			else
				break;
			if (digits >= 8)
				return malformed("chunk size too long", i);
			size = size * 16 + (uint64_t)d;
		}
		if (digits == 0)
			return malformed("chunk without a size", pos);
		if (i < line_end && buf[i] != ';' && buf[i] != ' ' && buf[i] != '\t')
			return malformed("invalid chunk size", i);
		pos = line_end + 2;

		if (size == 0)
			break;
		if (size > max_body || total + size > max_body) {
			tb_err("kbs: chunked HTTP body exceeds %zu bytes", max_body);
			return TPMBOOT_E_KBS_HTTP_TOO_LARGE;
		}
		if (len - pos < size + 2)
			return 0;
		if (buf[pos + size] != '\r' || buf[pos + size + 1] != '\n')
			return malformed("chunk data not followed by CRLF", pos + size);
		if (decode)
			memmove(buf + out, buf + pos, (size_t)size);
		out += (size_t)size;
		total += (size_t)size;
		pos += (size_t)size + 2;
	}

	/* Trailer section: field lines up to an empty line. */
	for (;;) {
		rc = find_line_end(buf, len, pos, &line_end);
		if (rc)
			return rc;
		if (line_end == len)
			return 0;
		if (line_end == pos)
			break;
		pos = line_end + 2;
	}

	*end = line_end + 2;
	*body_len = total;
	*complete = 1;
	return 0;
}

int kbs_http_parse_response(uint8_t *buf, size_t len, int at_eof,
			    const struct kbs_http_limits *limits,
			    struct kbs_http_response *resp, int *complete)
{
	struct head_info h;
	size_t end = 0, body_len = 0;
	int rc, done;

	if (!limits)
		limits = &kbs_http_default_limits;
	memset(resp, 0, sizeof(*resp));
	memset(&h, 0, sizeof(h));
	*complete = 0;

	rc = parse_head(buf, len, limits, &h, resp, &done);
	if (rc)
		return rc;
	if (!done) {
		if (at_eof)
			return malformed("stream ended inside the header", len);
		return 0;
	}
	if (h.status < 200) {
		/* No Expect header is sent, so interim responses are not
		 * expected either. */
		tb_err("kbs: unexpected interim HTTP response %d", h.status);
		return TPMBOOT_E_KBS_HTTP_UNSUPPORTED;
	}
	if (h.chunked && h.has_length)
		return malformed("both Transfer-Encoding and Content-Length", 0);

	resp->status = h.status;
	resp->close = h.close || h.http10;

	if (h.status == 204 || h.status == 304) {
		end = h.body_start;
	} else if (h.chunked) {
		rc = walk_chunked(buf, len, h.body_start, 0, limits->max_body,
				  &end, &body_len, &done);
		if (rc)
			return rc;
		if (!done) {
			if (at_eof)
				return malformed("stream ended inside a chunked body", len);
			return 0;
		}
		walk_chunked(buf, len, h.body_start, 1, limits->max_body, &end,
			     &body_len, &done);
	} else if (h.has_length) {
		if (h.content_length > limits->max_body) {
			tb_err("kbs: HTTP Content-Length %llu exceeds %zu bytes",
			       (unsigned long long)h.content_length,
			       limits->max_body);
			return TPMBOOT_E_KBS_HTTP_TOO_LARGE;
		}
		body_len = (size_t)h.content_length;
		if (len - h.body_start < body_len) {
			if (at_eof)
				return malformed("stream ended before Content-Length bytes", len);
			return 0;
		}
		end = h.body_start + body_len;
	} else {
		/* Body delimited by the end of the stream (RFC 9112 section
		 * 6.3, rule 8). */
		if (len - h.body_start > limits->max_body) {
			tb_err("kbs: HTTP body exceeds %zu bytes", limits->max_body);
			return TPMBOOT_E_KBS_HTTP_TOO_LARGE;
		}
		if (!at_eof)
			return 0;
		body_len = len - h.body_start;
		end = len;
		resp->close = 1;
	}

	resp->body = buf + h.body_start;
	resp->body_len = body_len;
	resp->consumed = end;
	*complete = 1;
	return 0;
}

/* Visible ASCII without space: safe in a request line or field value. */
static int is_safe_text(const char *s, int allow_space)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x21 || c > 0x7E) {
			if (!(allow_space && c == ' '))
				return 0;
		}
	}
	return 1;
}

int kbs_http_format_head(const struct kbs_http_request *req, const char *host,
			 char *out, size_t out_cap, size_t *out_len)
{
	size_t n = 0;
	int w;

	if (!host)
		host = "kbs";
	if (!req->method || !req->path || req->path[0] != '/' ||
	    !is_safe_text(req->method, 0) || !is_safe_text(req->path, 0) ||
	    !is_safe_text(host, 0) ||
	    (req->session_id && !is_safe_text(req->session_id, 0)) ||
	    (req->content_type && !is_safe_text(req->content_type, 1))) {
		tb_err("kbs: HTTP request line or field contains an invalid character");
		return TPMBOOT_E_INVALID_ARGUMENT;
	}

	w = tb_snprintf(out, out_cap, "%s %s HTTP/1.1\r\nHost: %s\r\n"
			"Accept: application/json\r\n",
			req->method, req->path, host);
	if (w < 0 || (size_t)w >= out_cap)
		goto too_small;
	n = (size_t)w;

	if (req->session_id && req->session_id[0]) {
		w = tb_snprintf(out + n, out_cap - n,
				"Cookie: kbs-session-id=%s\r\n", req->session_id);
		if (w < 0 || (size_t)w >= out_cap - n)
			goto too_small;
		n += (size_t)w;
	}

	if (req->content_type) {
		w = tb_snprintf(out + n, out_cap - n,
				"Content-Type: %s\r\nContent-Length: %zu\r\n",
				req->content_type, req->body_len);
		if (w < 0 || (size_t)w >= out_cap - n)
			goto too_small;
		n += (size_t)w;
	}

	if (out_cap - n < 3)
		goto too_small;
	memcpy(out + n, "\r\n", 3);
	*out_len = n + 2;
	return 0;

too_small:
	tb_err("kbs: HTTP request head longer than %zu bytes", out_cap);
	return TPMBOOT_E_BUFFER_TOO_SMALL;
}

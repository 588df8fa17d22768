/*
 * HTTP/1.1 response parser tables (Content-Length, chunked, close
 * delimited, bad framing, oversize) and request formatting.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/tb_core.h"
#include "kbs/kbs_http.h"
#include "tb_test_platform.h"

static struct tb_test_platform tp;

struct ok_case {
	const char *raw;
	int at_eof;
	int status;
	const char *body;
	const char *cookie;
	int close;
};

static const struct ok_case ok_cases[] = {
	{ "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi", 0, 200, "hi", "", 0 },
	{ "HTTP/1.1 200 OK\r\ncontent-length:   2  \r\n\r\nhi", 0, 200, "hi", "", 0 },
	{ "HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n", 0, 200, "", "", 0 },
	{ "HTTP/1.1 204 No Content\r\n\r\n", 0, 204, "", "", 0 },
	{ "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx", 0, 200, "x", "", 1 },
	{ "HTTP/1.1 401 Unauthorized\r\nConnection: keep-alive, Close\r\n"
	  "Content-Length: 2\r\n\r\n{}", 0, 401, "{}", "", 1 },
	{ "HTTP/1.1 200 OK\r\nSet-Cookie: kbs-session-id=0123abcd; Expires=Thu, 01 Jan 2026 00:00:00 GMT\r\n"
	  "Content-Length: 0\r\n\r\n", 0, 200, "", "0123abcd", 0 },
	{ "HTTP/1.1 200 OK\r\nSet-Cookie: other=1\r\nSet-Cookie: kbs-session-id=abc\r\n"
	  "Content-Length: 0\r\n\r\n", 0, 200, "", "abc", 0 },
	{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
	  "5\r\nhello\r\n1;ext=1\r\n \r\nA\r\n0123456789\r\n0\r\n\r\n", 0, 200,
	  "hello 0123456789", "", 0 },
	{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n"
	  "3\r\nabc\r\n0\r\nTrailer: x\r\n\r\n", 0, 200, "abc", "", 0 },
	{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 0, 200, "", "", 0 },
	/* Body delimited by the end of the stream. */
	{ "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil close", 1, 200,
	  "until close", "", 1 },
	{ "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 3\r\n\r\nabc", 0, 500, "abc", "", 0 },
	/* Duplicate but equal Content-Length is allowed. */
	{ "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nz", 0, 200, "z", "", 0 },
};

static void http_parses_valid_responses(void **state)
{
	struct kbs_http_response resp;
	size_t i;

	(void)state;
	for (i = 0; i < TB_ARRAY_SIZE(ok_cases); i++) {
		const struct ok_case *c = &ok_cases[i];
		size_t len = strlen(c->raw);
		uint8_t *buf = malloc(len + 1);
		int complete = 0, rc;

		memcpy(buf, c->raw, len + 1);
		rc = kbs_http_parse_response(buf, len, c->at_eof, NULL, &resp, &complete);
		if (rc != 0 || !complete)
			fail_msg("case %zu: rc %d complete %d", i, rc, complete);
		assert_int_equal(resp.status, c->status);
		assert_int_equal(resp.body_len, strlen(c->body));
		assert_memory_equal(resp.body, c->body, resp.body_len);
		assert_string_equal(resp.session_id, c->cookie);
		assert_int_equal(resp.close, c->close);
		assert_int_equal(resp.consumed, len);
		free(buf);
	}
}

static void http_incomplete_needs_more(void **state)
{
	static const char *full[] = {
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
	};
	struct kbs_http_response resp;
	size_t i, cut;

	(void)state;
	for (i = 0; i < TB_ARRAY_SIZE(full); i++) {
		size_t len = strlen(full[i]);

		/* Every proper prefix is incomplete, not an error. */
		for (cut = 0; cut < len; cut++) {
			uint8_t *buf = malloc(len);
			int complete = 1;

			memcpy(buf, full[i], len);
			assert_int_equal(kbs_http_parse_response(buf, cut, 0, NULL, &resp,
								 &complete), 0);
			assert_int_equal(complete, 0);
			/* At end of stream a cut response is malformed. */
			if (cut > 0) {
				assert_int_equal(kbs_http_parse_response(buf, cut, 1, NULL, &resp,
									 &complete),
						 TPMBOOT_E_KBS_HTTP_MALFORMED);
			}
			free(buf);
		}
	}
}

static void http_trailing_bytes_not_consumed(void **state)
{
	static const char raw[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhiEXTRA";
	struct kbs_http_response resp;
	uint8_t buf[sizeof(raw)];
	int complete;

	(void)state;
	memcpy(buf, raw, sizeof(raw));
	assert_int_equal(kbs_http_parse_response(buf, sizeof(raw) - 1, 0, NULL, &resp, &complete), 0);
	assert_int_equal(complete, 1);
	assert_int_equal(resp.consumed, sizeof(raw) - 1 - 5);
}

struct bad_case {
	const char *raw;
	int error;
};

static const struct bad_case bad_cases[] = {
	{ "HTTP/2 200 OK\r\n\r\n", TPMBOOT_E_KBS_HTTP_MALFORMED },
	{ "HTTP/1.2 200 OK\r\n\r\n", TPMBOOT_E_KBS_HTTP_MALFORMED },
	{ "HTTP/1.1 20 OK\r\n\r\n", TPMBOOT_E_KBS_HTTP_MALFORMED },
	{ "HTTP/1.1 2000 OK\r\n\r\n", TPMBOOT_E_KBS_HTTP_MALFORMED },
	{ "HTTP/1.1 abc OK\r\n\r\n", TPMBOOT_E_KBS_HTTP_MALFORMED },
	{ "HTTP/1.1 099 OK\r\n\r\n", TPMBOOT_E_KBS_HTTP_MALFORMED },
	{ "HTTP/1.1 200 OK\nContent-Length: 0\n\n", TPMBOOT_E_KBS_HTTP_MALFORMED },
	{ "HTTP/1.1 200 OK\r\nContent-Length: 0\r\r\n", TPMBOOT_E_KBS_HTTP_MALFORMED },
	{ "HTTP/1.1 200 OK\r\nNo colon here\r\n\r\n", TPMBOOT_E_KBS_HTTP_MALFORMED },
	{ "HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n", TPMBOOT_E_KBS_HTTP_MALFORMED },
	{ "HTTP/1.1 200 OK\r\nContent-Length : 0\r\n\r\n", TPMBOOT_E_KBS_HTTP_MALFORMED },
	{ "HTTP/1.1 200 OK\r\nX: a\r\n folded\r\n\r\n", TPMBOOT_E_KBS_HTTP_MALFORMED },
	{ "HTTP/1.1 200 OK\r\nX: a\x01z\r\n\r\n", TPMBOOT_E_KBS_HTTP_MALFORMED },
	{ "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", TPMBOOT_E_KBS_HTTP_MALFORMED },
	{ "HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n", TPMBOOT_E_KBS_HTTP_MALFORMED },
	{ "HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n", TPMBOOT_E_KBS_HTTP_MALFORMED },
	{ "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
	  TPMBOOT_E_KBS_HTTP_MALFORMED },
	{ "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
	  TPMBOOT_E_KBS_HTTP_MALFORMED },
	{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", TPMBOOT_E_KBS_HTTP_UNSUPPORTED },
	{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
	  TPMBOOT_E_KBS_HTTP_UNSUPPORTED },
	{ "HTTP/1.1 100 Continue\r\n\r\n", TPMBOOT_E_KBS_HTTP_UNSUPPORTED },
	{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nx\r\n", TPMBOOT_E_KBS_HTTP_MALFORMED },
	{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5x\r\n", TPMBOOT_E_KBS_HTTP_MALFORMED },
	{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n",
	  TPMBOOT_E_KBS_HTTP_MALFORMED },
	{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n123456789\r\n",
	  TPMBOOT_E_KBS_HTTP_MALFORMED },
	{ "HTTP/1.1 200 OK\r\nSet-Cookie: kbs-session-id=a b\r\n\r\n", TPMBOOT_E_KBS_HTTP_MALFORMED },
	{ "HTTP/1.1 200 OK\r\nSet-Cookie: kbs-session-id=\r\n\r\n", TPMBOOT_E_KBS_HTTP_MALFORMED },
	{ "HTTP/1.1 200 OK\r\nSet-Cookie: kbs-session-id=\"q\"\r\n\r\n", TPMBOOT_E_KBS_HTTP_MALFORMED },
};

static void http_rejects_bad_framing(void **state)
{
	struct kbs_http_response resp;
	size_t i;

	(void)state;
	for (i = 0; i < TB_ARRAY_SIZE(bad_cases); i++) {
		size_t len = strlen(bad_cases[i].raw);
		uint8_t *buf = malloc(len + 1);
		int complete = 0, rc;

		memcpy(buf, bad_cases[i].raw, len + 1);
		rc = kbs_http_parse_response(buf, len, 0, NULL, &resp, &complete);
		if (rc != bad_cases[i].error)
			fail_msg("case %zu: got %d, expected %d", i, rc, bad_cases[i].error);
		assert_int_equal(complete, 0);
		free(buf);
	}
}

static void http_size_limits(void **state)
{
	struct kbs_http_limits limits = { .max_header = 64, .max_body = 8 };
	struct kbs_http_response resp;
	char raw[256];
	int complete;

	(void)state;
	strcpy(raw, "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n123456789");
	assert_int_equal(kbs_http_parse_response((uint8_t *)raw, strlen(raw), 0, &limits,
						 &resp, &complete),
			 TPMBOOT_E_KBS_HTTP_TOO_LARGE);
	strcpy(raw, "HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\n12345678");
	assert_int_equal(kbs_http_parse_response((uint8_t *)raw, strlen(raw), 0, &limits,
						 &resp, &complete), 0);
	assert_int_equal(complete, 1);

	strcpy(raw, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n12345\r\n4\r\n6789\r\n0\r\n\r\n");
	assert_int_equal(kbs_http_parse_response((uint8_t *)raw, strlen(raw), 0, &limits,
						 &resp, &complete),
			 TPMBOOT_E_KBS_HTTP_TOO_LARGE);

	strcpy(raw, "HTTP/1.1 200 OK\r\n\r\n123456789");
	assert_int_equal(kbs_http_parse_response((uint8_t *)raw, strlen(raw), 0, &limits,
						 &resp, &complete),
			 TPMBOOT_E_KBS_HTTP_TOO_LARGE);

	/* A header section past the limit fails even before its end. */
	memset(raw, 'a', sizeof(raw));
	memcpy(raw, "HTTP/1.1 200 OK\r\nX-Long: ", 26);
	assert_int_equal(kbs_http_parse_response((uint8_t *)raw, 100, 0, &limits, &resp,
						 &complete),
			 TPMBOOT_E_KBS_HTTP_TOO_LARGE);

	/* Content-Length beyond any buffer. */
	strcpy(raw, "HTTP/1.1 200 OK\r\nContent-Length: 99999999999\r\n\r\n");
	assert_int_equal(kbs_http_parse_response((uint8_t *)raw, strlen(raw), 0, NULL, &resp,
						 &complete),
			 TPMBOOT_E_KBS_HTTP_TOO_LARGE);
}

static void http_formats_requests(void **state)
{
	struct kbs_http_request req = { 0 };
	static const uint8_t body[] = "{}";
	char out[512];
	size_t len;

	(void)state;
	req.method = "POST";
	req.path = "/kbs/v0/attest";
	req.session_id = "abc123";
	req.content_type = "application/json";
	req.body = body;
	req.body_len = 2;
	assert_int_equal(kbs_http_format_head(&req, NULL, out, sizeof(out), &len), 0);
	assert_string_equal(out,
		"POST /kbs/v0/attest HTTP/1.1\r\nHost: kbs\r\nAccept: application/json\r\n"
		"Cookie: kbs-session-id=abc123\r\n"
		"Content-Type: application/json\r\nContent-Length: 2\r\n\r\n");
	assert_int_equal(len, strlen(out));

	memset(&req, 0, sizeof(req));
	req.method = "GET";
	req.path = "/kbs/v0/resource/a/b/c";
	assert_int_equal(kbs_http_format_head(&req, "kbs.example", out, sizeof(out), &len), 0);
	assert_string_equal(out,
		"GET /kbs/v0/resource/a/b/c HTTP/1.1\r\nHost: kbs.example\r\n"
		"Accept: application/json\r\n\r\n");

	/* Header injection through any field is rejected. */
	req.path = "/a\r\nX: y";
	assert_int_equal(kbs_http_format_head(&req, NULL, out, sizeof(out), &len),
			 TPMBOOT_E_INVALID_ARGUMENT);
	req.path = "/a";
	req.session_id = "x\r\n";
	assert_int_equal(kbs_http_format_head(&req, NULL, out, sizeof(out), &len),
			 TPMBOOT_E_INVALID_ARGUMENT);
	req.session_id = NULL;
	assert_int_equal(kbs_http_format_head(&req, "h h", out, sizeof(out), &len),
			 TPMBOOT_E_INVALID_ARGUMENT);
	req.path = "no-slash";
	assert_int_equal(kbs_http_format_head(&req, NULL, out, sizeof(out), &len),
			 TPMBOOT_E_INVALID_ARGUMENT);
	req.path = "/a";
	assert_int_equal(kbs_http_format_head(&req, NULL, out, 20, &len),
			 TPMBOOT_E_BUFFER_TOO_SMALL);
}

static int setup(void **state)
{
	(void)state;
	tb_test_platform_init(&tp);
	tp.log_echo = 0;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	assert_int_equal(tb_test_platform_fini(&tp), 0);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(http_parses_valid_responses),
		cmocka_unit_test(http_incomplete_needs_more),
		cmocka_unit_test(http_trailing_bytes_not_consumed),
		cmocka_unit_test(http_rejects_bad_framing),
		cmocka_unit_test(http_size_limits),
		cmocka_unit_test(http_formats_requests),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

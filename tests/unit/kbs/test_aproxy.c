/*
 * COCONUT proxy protocol mode against the proxy peer
 * (tests/peers/aproxy/aproxy_peer.py) over a Unix socket: a P-521
 * session with the SHA-512 binding, the peer's rejections and each of its
 * fault modes, and the options this mode does not support.
 */
#define _POSIX_C_SOURCE 200809L

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/tb_core.h"
#include "crypto/tb_crypto.h"
#include "kbs/tb_kbs.h"
#include "kbs_e2e_util.h"
#include "tb_test_platform.h"

static struct tb_test_platform tp;
static struct e2e_peer peer;
static char socket_path[512];

/* Starts the peer with the test measurement, signature checks against
 * the test PKI, the secret Key1 and one optional fault. */
static void start_peer(const char *fault)
{
	static int count;
	char server[512], secret[65], measurement[97], anchor[512];
	char *argv[16];
	int n = 0;
	size_t i;

	for (i = 0; i < 32; i++)
		snprintf(secret + 2 * i, 3, "%02x", e2e.key1[i]);
	memset(measurement, 'a', 96);
	for (i = 0; i < 96; i += 2)
		measurement[i + 1] = 'b';
	measurement[96] = '\0';
	snprintf(server, sizeof(server), "%s", e2e_source_path("tests/peers/aproxy/aproxy_peer.py"));
	snprintf(anchor, sizeof(anchor), "%s", e2e_path("anchor"));
	snprintf(socket_path, sizeof(socket_path), "%s/aproxy-%d.sock", e2e.workdir, count++);

	argv[n++] = "/usr/bin/python3";
	argv[n++] = server;
	argv[n++] = "--unix";
	argv[n++] = socket_path;
	argv[n++] = "--secret";
	argv[n++] = secret;
	argv[n++] = "--measurement";
	argv[n++] = measurement;
	argv[n++] = "--trust-anchor";
	argv[n++] = anchor;
	argv[n++] = "--timeout";
	argv[n++] = "5";
	if (fault) {
		argv[n++] = "--fault";
		argv[n++] = (char *)fault;
	}
	argv[n] = NULL;
	e2e_peer_start(&peer, argv, "aproxy.log");
}

/* Counts stream closes, so tests can check that a failed session has
 * closed its stream and that no stream outlives its session. */
static void (*platform_stream_close)(void *ctx, void *stream);
static uint32_t streams_closed;

static void counting_stream_close(void *ctx, void *stream)
{
	streams_closed++;
	platform_stream_close(ctx, stream);
}

static void client_init(enum tpmboot_tee tee, uint32_t retries)
{
	tb_test_platform_init(&tp);
	tp.log_echo = 0;
	tp.config.tee = tee;
	tp.config.kbs_protocol = TPMBOOT_KBS_COCONUT_APROXY;
	/* The proxy mode always uses P-521; the configured type is ignored. */
	tp.config.tee_key = TPMBOOT_TEE_KEY_EC_P256;
	tp.config.kbs_timeout_ms = 5000;
	tp.config.kbs_max_retries = retries;
	tb_test_platform_use_stream_unix(&tp, socket_path);
	platform_stream_close = tp.platform.stream_close;
	tp.platform.stream_close = counting_stream_close;
	streams_closed = 0;
}

static void client_fini(void)
{
	tb_rng_wipe();
	assert_int_equal(tb_test_platform_fini(&tp), 0);
}

enum step { STEP_OPEN = 1, STEP_ATTEST = 2, STEP_FETCH = 3, STEP_DONE = 4 };

struct flow_result {
	enum step step;
	int rc;
	uint8_t key1[64];
	size_t key1_len;
};

static void run_flow(const struct e2e_report_opts *ro, enum tb_kbs_wrap_mode mode,
		     struct flow_result *res)
{
	struct tb_kbs_key_request req = { .mode = mode, .locator = E2E_RESOURCE };
	struct tb_kbs_session *s = NULL;
	struct tb_kbs_evidence ev = { 0 };
	uint8_t nonce[TB_KBS_NONCE_MAX], report_data[64], report[1184];
	size_t nonce_len = 0;

	memset(res, 0x77, sizeof(*res));
	res->step = STEP_OPEN;
	res->rc = tb_kbs_session_open(&s, nonce, sizeof(nonce), &nonce_len);
	if (res->rc) {
		assert_null(s);
		assert_int_equal(streams_closed, tp.streams_opened);
		return;
	}
	assert_int_equal(nonce_len, 32);
	assert_int_equal(tb_kbs_binding(s, report_data), 0);
	e2e_build_report(ro, report_data, report);
	ev.report = report;
	ev.report_len = sizeof(report);

	res->step = STEP_ATTEST;
	res->rc = tb_kbs_attest(s, &ev);
	if (res->rc == 0) {
		res->step = STEP_FETCH;
		res->rc = tb_kbs_fetch_key(s, &req, res->key1, sizeof(res->key1), &res->key1_len);
		if (res->rc == 0)
			res->step = STEP_DONE;
		else
			assert_int_equal(streams_closed, tp.streams_opened);
	} else {
		/* The failure closed the stream before the caller did. */
		assert_int_equal(streams_closed, tp.streams_opened);
		assert_int_equal(tb_kbs_fetch_key(s, &req, res->key1, sizeof(res->key1),
						  &res->key1_len),
				 TPMBOOT_E_KBS_SESSION_STATE);
	}
	tb_kbs_session_close(s);
	assert_int_equal(streams_closed, tp.streams_opened);
}

static void assert_no_key(const struct flow_result *res)
{
	size_t i;

	assert_int_equal(res->key1_len, 0);
	for (i = 0; i < sizeof(res->key1); i++)
		assert_int_equal(res->key1[i], 0);
}

/* Runs one flow against a fresh peer and checks where it stopped. */
static void expect(const char *fault, const struct e2e_report_opts *ro,
		   enum tb_kbs_wrap_mode mode, enum step step, int error)
{
	struct flow_result res;

	start_peer(fault);
	client_init(TPMBOOT_TEE_SNP, 1);
	run_flow(ro, mode, &res);
	e2e_peer_stop(&peer);
	if (res.rc != error || res.step != step)
		fail_msg("fault %s: step %d rc %s, expected step %d rc %s", fault ? fault : "none",
			 res.step, tpmboot_error_name(res.rc), step, tpmboot_error_name(error));
	if (error == 0) {
		assert_int_equal(res.key1_len, 32);
		assert_memory_equal(res.key1, e2e.key1, 32);
	} else if (step >= STEP_ATTEST) {
		assert_no_key(&res);
	}
	client_fini();
}

static void aproxy_releases_secret(void **state)
{
	(void)state;
	expect(NULL, &e2e_good_report, TB_KBS_WRAP_RESOURCE, STEP_DONE, 0);
}

static void aproxy_rejects_measurement(void **state)
{
	struct e2e_report_opts ro = e2e_good_report;

	(void)state;
	ro.measurement_byte = 0xCD;
	expect(NULL, &ro, TB_KBS_WRAP_RESOURCE, STEP_ATTEST, TPMBOOT_E_KBS_APROXY_FAILED);
}

static void aproxy_rejects_binding(void **state)
{
	struct e2e_report_opts ro = e2e_good_report;

	(void)state;
	ro.corrupt_binding = 1;
	expect(NULL, &ro, TB_KBS_WRAP_RESOURCE, STEP_ATTEST, TPMBOOT_E_KBS_APROXY_FAILED);
}

static void aproxy_rejects_signature(void **state)
{
	struct e2e_report_opts ro = e2e_good_report;

	(void)state;
	ro.bad_signature = 1;
	expect(NULL, &ro, TB_KBS_WRAP_RESOURCE, STEP_ATTEST, TPMBOOT_E_KBS_APROXY_FAILED);
}

static void aproxy_fault_fail(void **state)
{
	(void)state;
	expect("fail", &e2e_good_report, TB_KBS_WRAP_RESOURCE, STEP_ATTEST,
	       TPMBOOT_E_KBS_APROXY_FAILED);
}

static void aproxy_fault_bad_tag(void **state)
{
	(void)state;
	expect("bad-tag", &e2e_good_report, TB_KBS_WRAP_RESOURCE, STEP_FETCH,
	       TPMBOOT_E_KBS_JWE_DECRYPT);
}

static void aproxy_fault_truncate(void **state)
{
	(void)state;
	expect("truncate", &e2e_good_report, TB_KBS_WRAP_RESOURCE, STEP_ATTEST,
	       TPMBOOT_E_STREAM_IO);
}

static void aproxy_fault_huge_length(void **state)
{
	(void)state;
	expect("huge-length", &e2e_good_report, TB_KBS_WRAP_RESOURCE, STEP_ATTEST,
	       TPMBOOT_E_KBS_PROTOCOL);
}

static void aproxy_fault_garbage_json(void **state)
{
	(void)state;
	expect("garbage-json", &e2e_good_report, TB_KBS_WRAP_RESOURCE, STEP_ATTEST,
	       TPMBOOT_E_KBS_JSON_SYNTAX);
}

static void aproxy_fault_close_after_negotiation(void **state)
{
	(void)state;
	expect("close-after-negotiation", &e2e_good_report, TB_KBS_WRAP_RESOURCE, STEP_ATTEST,
	       TPMBOOT_E_STREAM_IO);
}

static void aproxy_only_resource_mode(void **state)
{
	(void)state;
	expect(NULL, &e2e_good_report, TB_KBS_WRAP_KBS_UNWRAP, STEP_FETCH,
	       TPMBOOT_E_UNSUPPORTED);
	expect(NULL, &e2e_good_report, TB_KBS_WRAP_TRUSTEE_PKCS11, STEP_FETCH,
	       TPMBOOT_E_UNSUPPORTED);
}

static void aproxy_only_snp(void **state)
{
	struct tb_kbs_session *s = NULL;

	(void)state;
	start_peer(NULL);
	client_init(TPMBOOT_TEE_TDX, 1);
	assert_int_equal(tb_kbs_session_open(&s, NULL, 0, NULL), TPMBOOT_E_UNSUPPORTED);
	assert_null(s);
	assert_int_equal(tp.streams_opened, 0);
	client_fini();
	e2e_peer_stop(&peer);
}

static void aproxy_connect_retries_bounded(void **state)
{
	struct tb_kbs_session *s = NULL;

	(void)state;
	/* No peer listens on this path. */
	snprintf(socket_path, sizeof(socket_path), "%s/absent.sock", e2e.workdir);
	client_init(TPMBOOT_TEE_SNP, 2);
	assert_int_equal(tb_kbs_session_open(&s, NULL, 0, NULL), TPMBOOT_E_KBS_RETRIES_EXHAUSTED);
	assert_null(s);
	assert_true(tb_test_log_contains(&tp, "retry 2 of 2"));
	assert_true(tb_test_log_contains(&tp, "failed after 3 attempts"));
	client_fini();
}

static int group_setup(void **state)
{
	(void)state;
	return e2e_setup();
}

static int group_teardown(void **state)
{
	(void)state;
	e2e_peer_stop(&peer);
	e2e_teardown();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(aproxy_releases_secret),
		cmocka_unit_test(aproxy_rejects_measurement),
		cmocka_unit_test(aproxy_rejects_binding),
		cmocka_unit_test(aproxy_rejects_signature),
		cmocka_unit_test(aproxy_fault_fail),
		cmocka_unit_test(aproxy_fault_bad_tag),
		cmocka_unit_test(aproxy_fault_truncate),
		cmocka_unit_test(aproxy_fault_huge_length),
		cmocka_unit_test(aproxy_fault_garbage_json),
		cmocka_unit_test(aproxy_fault_close_after_negotiation),
		cmocka_unit_test(aproxy_only_resource_mode),
		cmocka_unit_test(aproxy_only_snp),
		cmocka_unit_test(aproxy_connect_retries_bounded),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

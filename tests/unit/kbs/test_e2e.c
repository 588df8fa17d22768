/*
 * End-to-end KBS client tests against the test KBS (tests/peers/kbs):
 * both EC TEE key types (and RSA), the three wrap modes, policy
 * violations and every fault knob. The test signs its own SEV-SNP reports
 * with the test VCEK that kbs_e2e_setup.py creates.
 */
#define _POSIX_C_SOURCE 200809L

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/tb_core.h"
#include "crypto/tb_crypto.h"
#include "kbs/tb_kbs.h"
#include "kbs_e2e_util.h"
#include "tb_test_platform.h"

static struct tb_test_platform tp;
static struct e2e_peer kbs;
static uint16_t kbs_port;

/* Starts the test KBS on an ephemeral loopback port. */
static void start_kbs(void)
{
	char server[512], anchor[512], policy[512], resource[512], kek[512];
	char pkcs11[512], decisions[512];
	char *argv[] = { "/usr/bin/python3", server, "--listen", "127.0.0.1:0",
			 "--trust-anchor", anchor, "--policy", policy,
			 "--resource", resource, "--kek", kek, "--pkcs11-key", pkcs11,
			 "--decision-log", decisions, "--session-timeout", "60",
			 "--test-control", NULL };

	snprintf(server, sizeof(server), "%s", e2e_source_path("tests/peers/kbs/kbs_server.py"));
	snprintf(anchor, sizeof(anchor), "%s", e2e_path("anchor"));
	snprintf(policy, sizeof(policy), "%s", e2e_path("policy.json"));
	snprintf(resource, sizeof(resource), E2E_RESOURCE "=%s", e2e_path("key1.bin"));
	snprintf(kek, sizeof(kek), E2E_KEY_ID "=%s", e2e_path("kek.hex"));
	snprintf(pkcs11, sizeof(pkcs11), "%s", e2e_path("pkcs11.pem"));
	snprintf(decisions, sizeof(decisions), "%s", e2e_path("decisions.jsonl"));

	e2e_peer_start(&kbs, argv, "kbs.log");
	if (sscanf(kbs.address, "127.0.0.1:%hu", &kbs_port) != 1)
		fail_msg("unexpected KBS address %s", kbs.address);
}

/* Sends one request to the KBS test-control endpoint; returns the status. */
static int kbs_control(const char *method, const char *path, const char *body)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	char request[1024], response[1024];
	int fd = socket(AF_INET, SOCK_STREAM, 0), status = 0;
	ssize_t n;
	size_t len;

	sin.sin_port = htons(kbs_port);
	inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
	assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	len = (size_t)snprintf(request, sizeof(request),
			       "%s %s HTTP/1.1\r\nHost: kbs\r\nConnection: close\r\n"
			       "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
			       method, path, strlen(body), body);
	assert_int_equal(send(fd, request, len, 0), (ssize_t)len);
	n = recv(fd, response, sizeof(response) - 1, MSG_WAITALL);
	close(fd);
	assert_true(n > 12);
	response[n] = '\0';
	sscanf(response, "HTTP/1.1 %d", &status);
	return status;
}

static void set_fault(const char *name, const char *arg, const char *path, int count)
{
	char body[512];

	snprintf(body, sizeof(body),
		 "{\"faults\":[{\"name\":\"%s\",\"arg\":%s%s%s,\"path\":\"%s\",\"count\":%s%d}]}",
		 name, arg ? "\"" : "", arg ? arg : "null", arg ? "\"" : "", path,
		 count ? "" : "null", count);
	if (!count)
		snprintf(body, sizeof(body),
			 "{\"faults\":[{\"name\":\"%s\",\"arg\":%s%s%s,\"path\":\"%s\"}]}",
			 name, arg ? "\"" : "", arg ? arg : "null", arg ? "\"" : "", path);
	assert_int_equal(kbs_control("POST", "/_test/faults", body), 200);
}

static void clear_faults(void)
{
	assert_int_equal(kbs_control("DELETE", "/_test/faults", ""), 200);
}

/* Configures the test platform for one client run. */
/* Counts stream closes, so tests can check that a failed session has
 * closed its stream and that no stream outlives its session. */
static void (*platform_stream_close)(void *ctx, void *stream);
static uint32_t streams_closed;

static void counting_stream_close(void *ctx, void *stream)
{
	streams_closed++;
	platform_stream_close(ctx, stream);
}

static void client_init(enum tpmboot_tee_key key, uint32_t timeout_ms, uint32_t retries)
{
	tb_test_platform_init(&tp);
	tp.log_echo = 0;
	tp.config.tee = TPMBOOT_TEE_SNP;
	tp.config.kbs_protocol = TPMBOOT_KBS_TRUSTEE;
	tp.config.tee_key = key;
	tp.config.kbs_timeout_ms = timeout_ms;
	tp.config.kbs_max_retries = retries;
	tb_test_platform_use_stream_tcp(&tp, "127.0.0.1", kbs_port);
	platform_stream_close = tp.platform.stream_close;
	tp.platform.stream_close = counting_stream_close;
	streams_closed = 0;
}

static void client_fini(void)
{
	tb_rng_wipe();
	assert_int_equal(tb_test_platform_fini(&tp), 0);
}

static void key_request(enum tb_kbs_wrap_mode mode, struct tb_kbs_key_request *req)
{
	memset(req, 0, sizeof(*req));
	req->mode = mode;
	switch (mode) {
	case TB_KBS_WRAP_RESOURCE:
		req->locator = E2E_RESOURCE;
		break;
	case TB_KBS_WRAP_KBS_UNWRAP:
		req->locator = E2E_KEY_ID;
		req->key2 = e2e.key2_unwrap;
		req->key2_len = e2e.key2_unwrap_len;
		req->aad = e2e.aad;
		req->aad_len = e2e.aad_len;
		break;
	case TB_KBS_WRAP_TRUSTEE_PKCS11:
		req->key2 = e2e.key2_pkcs11;
		req->key2_len = e2e.key2_pkcs11_len;
		break;
	}
}

/* Step at which a flow stopped. */
enum step { STEP_OPEN = 1, STEP_ATTEST = 2, STEP_FETCH = 3, STEP_DONE = 4 };

struct flow_result {
	enum step step;
	int rc;
	uint8_t key1[64];
	size_t key1_len;
};

/* Runs open, binding, report, attest and fetch; stops at the first error.
 * The session is closed before returning. */
static void run_flow(const struct e2e_report_opts *ro, const struct tb_kbs_key_request *req,
		     const uint8_t *certs, size_t certs_len, struct flow_result *res)
{
	struct tb_kbs_session *s = NULL;
	struct tb_kbs_evidence ev = { 0 };
	uint8_t nonce[TB_KBS_NONCE_MAX], report_data[64], report[1184];
	size_t nonce_len = 0;

	memset(res, 0x77, sizeof(*res));
	res->key1_len = 99;
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
	ev.aux = certs;
	ev.aux_len = certs_len;

	res->step = STEP_ATTEST;
	res->rc = tb_kbs_attest(s, &ev);
	if (res->rc == 0) {
		res->step = STEP_FETCH;
		res->rc = tb_kbs_fetch_key(s, req, res->key1, sizeof(res->key1), &res->key1_len);
		if (res->rc == 0)
			res->step = STEP_DONE;
		else
			assert_int_equal(streams_closed, tp.streams_opened);
	} else {
		/* The failure closed the stream before the caller did. */
		assert_int_equal(streams_closed, tp.streams_opened);
		/* A failed session refuses further use and returns no key. */
		assert_int_equal(tb_kbs_fetch_key(s, req, res->key1, sizeof(res->key1),
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

static void expect_key(enum tpmboot_tee_key key, enum tb_kbs_wrap_mode mode,
		       const uint8_t *certs, size_t certs_len)
{
	struct tb_kbs_key_request req;
	struct flow_result res;

	client_init(key, 10000, 2);
	key_request(mode, &req);
	run_flow(&e2e_good_report, &req, certs, certs_len, &res);
	if (res.rc != 0)
		fail_msg("key type %d, wrap mode %d: step %d failed with %s", key, mode,
			 res.step, tpmboot_error_name(res.rc));
	assert_int_equal(res.step, STEP_DONE);
	assert_int_equal(res.key1_len, 32);
	assert_memory_equal(res.key1, e2e.key1, 32);
	/* auth, attest and the key request share one keep-alive connection. */
	assert_int_equal(tp.streams_opened, 1);
	client_fini();
}

static void e2e_p256_resource(void **state) { (void)state; expect_key(TPMBOOT_TEE_KEY_EC_P256, TB_KBS_WRAP_RESOURCE, NULL, 0); }
static void e2e_p256_kbs_unwrap(void **state) { (void)state; expect_key(TPMBOOT_TEE_KEY_EC_P256, TB_KBS_WRAP_KBS_UNWRAP, NULL, 0); }
static void e2e_p256_pkcs11(void **state) { (void)state; expect_key(TPMBOOT_TEE_KEY_EC_P256, TB_KBS_WRAP_TRUSTEE_PKCS11, NULL, 0); }
static void e2e_p521_resource(void **state) { (void)state; expect_key(TPMBOOT_TEE_KEY_EC_P521, TB_KBS_WRAP_RESOURCE, NULL, 0); }
static void e2e_p521_kbs_unwrap(void **state) { (void)state; expect_key(TPMBOOT_TEE_KEY_EC_P521, TB_KBS_WRAP_KBS_UNWRAP, NULL, 0); }
static void e2e_p521_pkcs11(void **state) { (void)state; expect_key(TPMBOOT_TEE_KEY_EC_P521, TB_KBS_WRAP_TRUSTEE_PKCS11, NULL, 0); }
static void e2e_rsa_resource(void **state) { (void)state; expect_key(TPMBOOT_TEE_KEY_RSA_2048, TB_KBS_WRAP_RESOURCE, NULL, 0); }
static void e2e_rsa_kbs_unwrap(void **state) { (void)state; expect_key(TPMBOOT_TEE_KEY_RSA_2048, TB_KBS_WRAP_KBS_UNWRAP, NULL, 0); }

static void e2e_cert_chain_sent(void **state)
{
	size_t len;
	uint8_t *table = e2e_build_cert_table(&len);

	(void)state;
	expect_key(TPMBOOT_TEE_KEY_EC_P256, TB_KBS_WRAP_RESOURCE, table, len);
	free(table);
}

/* Runs a flow expected to fail at step with error. */
static void expect_failure(const struct e2e_report_opts *ro, enum tb_kbs_wrap_mode mode,
			   enum step step, int error, uint32_t timeout_ms, uint32_t retries)
{
	struct tb_kbs_key_request req;
	struct flow_result res;

	client_init(TPMBOOT_TEE_KEY_EC_P256, timeout_ms, retries);
	key_request(mode, &req);
	run_flow(ro, &req, NULL, 0, &res);
	if (res.rc != error || res.step != step)
		fail_msg("step %d rc %s, expected step %d rc %s", res.step,
			 tpmboot_error_name(res.rc), step, tpmboot_error_name(error));
	if (step >= STEP_ATTEST)
		assert_no_key(&res);
	client_fini();
}

static void policy_rejects_measurement(void **state)
{
	struct e2e_report_opts ro = e2e_good_report;

	(void)state;
	ro.measurement_byte = 0xCD;
	expect_failure(&ro, TB_KBS_WRAP_RESOURCE, STEP_ATTEST, TPMBOOT_E_KBS_REFUSED, 10000, 2);
}

static void policy_rejects_debug(void **state)
{
	struct e2e_report_opts ro = e2e_good_report;

	(void)state;
	ro.policy |= 1ull << 19;
	expect_failure(&ro, TB_KBS_WRAP_RESOURCE, STEP_ATTEST, TPMBOOT_E_KBS_REFUSED, 10000, 2);
}

static void policy_rejects_vmpl(void **state)
{
	struct e2e_report_opts ro = e2e_good_report;

	(void)state;
	ro.vmpl = 1;
	expect_failure(&ro, TB_KBS_WRAP_RESOURCE, STEP_ATTEST, TPMBOOT_E_KBS_REFUSED, 10000, 2);
}

static void verifier_rejects_signature(void **state)
{
	struct e2e_report_opts ro = e2e_good_report;

	(void)state;
	ro.bad_signature = 1;
	expect_failure(&ro, TB_KBS_WRAP_RESOURCE, STEP_ATTEST, TPMBOOT_E_KBS_REFUSED, 10000, 2);
}

static void verifier_rejects_binding(void **state)
{
	struct e2e_report_opts ro = e2e_good_report;

	(void)state;
	ro.corrupt_binding = 1;
	expect_failure(&ro, TB_KBS_WRAP_RESOURCE, STEP_ATTEST, TPMBOOT_E_KBS_REFUSED, 10000, 2);
}

static void resource_not_found(void **state)
{
	struct tb_kbs_key_request req;
	struct flow_result res;

	(void)state;
	client_init(TPMBOOT_TEE_KEY_EC_P256, 10000, 2);
	key_request(TB_KBS_WRAP_RESOURCE, &req);
	req.locator = "default/tpmboot/missing";
	run_flow(&e2e_good_report, &req, NULL, 0, &res);
	assert_int_equal(res.step, STEP_FETCH);
	assert_int_equal(res.rc, TPMBOOT_E_KBS_NOT_FOUND);
	assert_no_key(&res);
	client_fini();
}

static void unwrap_wrong_aad(void **state)
{
	struct tb_kbs_key_request req;
	struct flow_result res;

	(void)state;
	client_init(TPMBOOT_TEE_KEY_EC_P256, 10000, 2);
	key_request(TB_KBS_WRAP_KBS_UNWRAP, &req);
	req.aad_len--;
	run_flow(&e2e_good_report, &req, NULL, 0, &res);
	assert_int_equal(res.step, STEP_FETCH);
	assert_int_equal(res.rc, TPMBOOT_E_KBS_HTTP_STATUS);
	assert_no_key(&res);
	assert_true(tb_test_log_contains(&tp, "returned HTTP 400"));
	client_fini();
}

/* Runs a flow with req and checks the fetch step's error. */
static void expect_fetch_error(const struct tb_kbs_key_request *req, int error)
{
	struct flow_result res;

	client_init(TPMBOOT_TEE_KEY_EC_P256, 10000, 2);
	run_flow(&e2e_good_report, req, NULL, 0, &res);
	if (res.step != STEP_FETCH || res.rc != error)
		fail_msg("step %d rc %s, expected fetch to fail with %s", res.step,
			 tpmboot_error_name(res.rc), tpmboot_error_name(error));
	assert_no_key(&res);
	client_fini();
}

static void unknown_key_id(void **state)
{
	struct tb_kbs_key_request req;

	(void)state;
	key_request(TB_KBS_WRAP_KBS_UNWRAP, &req);
	req.locator = "no-such-kek";
	expect_fetch_error(&req, TPMBOOT_E_KBS_NOT_FOUND);
}

static void request_validation(void **state)
{
	struct tb_kbs_key_request req;

	(void)state;
	key_request(TB_KBS_WRAP_KBS_UNWRAP, &req);
	req.locator = NULL;
	expect_fetch_error(&req, TPMBOOT_E_INVALID_ARGUMENT);
	key_request(TB_KBS_WRAP_KBS_UNWRAP, &req);
	req.locator = "bad\nid";
	expect_fetch_error(&req, TPMBOOT_E_INVALID_ARGUMENT);
	key_request(TB_KBS_WRAP_TRUSTEE_PKCS11, &req);
	req.key2_len = 0;
	expect_fetch_error(&req, TPMBOOT_E_INVALID_ARGUMENT);

	key_request(TB_KBS_WRAP_RESOURCE, &req);
	req.locator = "default/tpmboot";
	expect_fetch_error(&req, TPMBOOT_E_INVALID_ARGUMENT);
	req.locator = "default/../key1";
	expect_fetch_error(&req, TPMBOOT_E_INVALID_ARGUMENT);
	req.locator = "default/tpmboot/key1/extra";
	expect_fetch_error(&req, TPMBOOT_E_INVALID_ARGUMENT);
	req.locator = "default/tpm boot/key1";
	expect_fetch_error(&req, TPMBOOT_E_INVALID_ARGUMENT);
	req.locator = NULL;
	expect_fetch_error(&req, TPMBOOT_E_INVALID_ARGUMENT);
	req.mode = (enum tb_kbs_wrap_mode)7;
	expect_fetch_error(&req, TPMBOOT_E_UNSUPPORTED);
}

static void fault_refuse_once_retried(void **state)
{
	struct tb_kbs_key_request req;
	struct flow_result res;

	(void)state;
	set_fault("refuse", NULL, "/kbs/v0/auth", 1);
	client_init(TPMBOOT_TEE_KEY_EC_P256, 10000, 2);
	key_request(TB_KBS_WRAP_RESOURCE, &req);
	run_flow(&e2e_good_report, &req, NULL, 0, &res);
	assert_int_equal(res.rc, 0);
	assert_memory_equal(res.key1, e2e.key1, 32);
	assert_true(tb_test_log_contains(&tp, "retry 1 of 2"));
	client_fini();
	clear_faults();
}

static void fault_refuse_retries_bounded(void **state)
{
	(void)state;
	set_fault("refuse", NULL, "/kbs/v0/auth", 0);
	expect_failure(&e2e_good_report, TB_KBS_WRAP_RESOURCE, STEP_OPEN,
		       TPMBOOT_E_KBS_RETRIES_EXHAUSTED, 10000, 2);
	clear_faults();
}

static void fault_refuse_counts_attempts(void **state)
{
	struct tb_kbs_session *s = NULL;

	(void)state;
	set_fault("refuse", NULL, "/kbs/v0/auth", 0);
	client_init(TPMBOOT_TEE_KEY_EC_P256, 10000, 3);
	assert_int_equal(tb_kbs_session_open(&s, NULL, 0, NULL), TPMBOOT_E_KBS_RETRIES_EXHAUSTED);
	assert_null(s);
	/* One attempt plus three retries, each on a new connection. */
	assert_int_equal(tp.streams_opened, 4);
	client_fini();
	clear_faults();
}

static void fault_refuse_reused_stream(void **state)
{
	struct tb_kbs_key_request req;
	struct flow_result res;

	(void)state;
	/* /attest goes over the connection that /auth opened. A close
	 * without a response there is resent once on a new connection,
	 * even with no retries configured. */
	set_fault("refuse", NULL, "/kbs/v0/attest", 1);
	client_init(TPMBOOT_TEE_KEY_EC_P256, 10000, 0);
	key_request(TB_KBS_WRAP_RESOURCE, &req);
	run_flow(&e2e_good_report, &req, NULL, 0, &res);
	assert_int_equal(res.rc, 0);
	assert_memory_equal(res.key1, e2e.key1, 32);
	assert_int_equal(tp.streams_opened, 2);
	assert_false(tb_test_log_contains(&tp, "retry"));
	client_fini();
	clear_faults();

	/* The second close on the new connection is a transport failure. */
	set_fault("refuse", NULL, "/kbs/v0/attest", 2);
	expect_failure(&e2e_good_report, TB_KBS_WRAP_RESOURCE, STEP_ATTEST,
		       TPMBOOT_E_KBS_RETRIES_EXHAUSTED, 10000, 0);
	clear_faults();
}

static void fault_wrong_nonce(void **state)
{
	(void)state;
	set_fault("wrong-nonce", NULL, "/kbs/v0/auth", 0);
	expect_failure(&e2e_good_report, TB_KBS_WRAP_RESOURCE, STEP_ATTEST, TPMBOOT_E_KBS_REFUSED,
		       10000, 2);
	clear_faults();
}

static void fault_wrong_cookie(void **state)
{
	(void)state;
	set_fault("wrong-cookie", NULL, "/kbs/v0/auth", 0);
	expect_failure(&e2e_good_report, TB_KBS_WRAP_RESOURCE, STEP_ATTEST, TPMBOOT_E_KBS_REFUSED,
		       10000, 2);
	clear_faults();
}

static void fault_malformed_challenge(void **state)
{
	(void)state;
	set_fault("malformed-json", NULL, "/kbs/v0/auth", 0);
	expect_failure(&e2e_good_report, TB_KBS_WRAP_RESOURCE, STEP_OPEN, TPMBOOT_E_KBS_JSON_SYNTAX,
		       10000, 2);
	clear_faults();
}

static void fault_malformed_jwe(void **state)
{
	(void)state;
	set_fault("malformed-json", NULL, "/kbs/v0/resource", 0);
	expect_failure(&e2e_good_report, TB_KBS_WRAP_RESOURCE, STEP_FETCH, TPMBOOT_E_KBS_JWE_MALFORMED,
		       10000, 2);
	clear_faults();
}

static void fault_bad_jwe_tag(void **state)
{
	(void)state;
	set_fault("bad-jwe-tag", NULL, "/kbs/v0/tpmboot-unwrap", 0);
	expect_failure(&e2e_good_report, TB_KBS_WRAP_KBS_UNWRAP, STEP_FETCH, TPMBOOT_E_KBS_JWE_DECRYPT,
		       10000, 2);
	clear_faults();
}

static void fault_http_500_not_retried(void **state)
{
	(void)state;
	set_fault("http-500", NULL, "/kbs/v0/attest", 0);
	expect_failure(&e2e_good_report, TB_KBS_WRAP_RESOURCE, STEP_ATTEST, TPMBOOT_E_KBS_SERVER_ERROR,
		       10000, 2);
	clear_faults();
}

static void fault_http_500_streams(void **state)
{
	struct tb_kbs_session *s = NULL;

	(void)state;
	set_fault("http-500", NULL, "/kbs/v0/auth", 0);
	client_init(TPMBOOT_TEE_KEY_EC_P256, 10000, 3);
	assert_int_equal(tb_kbs_session_open(&s, NULL, 0, NULL), TPMBOOT_E_KBS_SERVER_ERROR);
	assert_int_equal(tp.streams_opened, 1);
	assert_false(tb_test_log_contains(&tp, "retry"));
	client_fini();
	clear_faults();
}

static void fault_slow_times_out(void **state)
{
	struct timespec t0, t1;
	long elapsed_ms;

	(void)state;
	set_fault("slow", "1500", "/kbs/v0/auth", 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	expect_failure(&e2e_good_report, TB_KBS_WRAP_RESOURCE, STEP_OPEN,
		       TPMBOOT_E_KBS_RETRIES_EXHAUSTED, 300, 1);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	clear_faults();

	/* Two attempts of 300 ms and a 100 ms backoff, well under the
	 * 3 s that waiting for the server's two slow responses would take. */
	elapsed_ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	assert_true(elapsed_ms >= 700);
	assert_true(elapsed_ms < 2900);
}

static void fault_slow_within_timeout(void **state)
{
	struct tb_kbs_key_request req;
	struct flow_result res;

	(void)state;
	set_fault("slow", "200", "/kbs/v0/attest", 1);
	client_init(TPMBOOT_TEE_KEY_EC_P256, 5000, 0);
	key_request(TB_KBS_WRAP_RESOURCE, &req);
	run_flow(&e2e_good_report, &req, NULL, 0, &res);
	assert_int_equal(res.rc, 0);
	assert_memory_equal(res.key1, e2e.key1, 32);
	client_fini();
	clear_faults();
}

static void fault_cut_once_retried(void **state)
{
	struct tb_kbs_key_request req;
	struct flow_result res;

	(void)state;
	set_fault("cut", NULL, "/kbs/v0/resource", 1);
	client_init(TPMBOOT_TEE_KEY_EC_P256, 10000, 2);
	key_request(TB_KBS_WRAP_RESOURCE, &req);
	run_flow(&e2e_good_report, &req, NULL, 0, &res);
	assert_int_equal(res.rc, 0);
	assert_memory_equal(res.key1, e2e.key1, 32);
	assert_true(tb_test_log_contains(&tp, "stream closed after"));
	client_fini();
	clear_faults();
}

static void fault_cut_retries_bounded(void **state)
{
	(void)state;
	set_fault("cut", NULL, "/kbs/v0/resource", 0);
	expect_failure(&e2e_good_report, TB_KBS_WRAP_RESOURCE, STEP_FETCH,
		       TPMBOOT_E_KBS_RETRIES_EXHAUSTED, 10000, 2);
	clear_faults();
}

static void session_expired_refused(void **state)
{
	struct tb_kbs_session *s = NULL;
	struct tb_kbs_key_request req;
	struct tb_kbs_evidence ev = { 0 };
	uint8_t report_data[64], report[1184], key1[32];
	size_t key1_len = 7;

	(void)state;
	client_init(TPMBOOT_TEE_KEY_EC_P256, 10000, 2);
	assert_int_equal(tb_kbs_session_open(&s, NULL, 0, NULL), 0);
	assert_int_equal(tb_kbs_binding(s, report_data), 0);
	e2e_build_report(&e2e_good_report, report_data, report);
	ev.report = report;
	ev.report_len = sizeof(report);
	assert_int_equal(tb_kbs_attest(s, &ev), 0);
	assert_int_equal(kbs_control("POST", "/_test/expire", ""), 200);
	key_request(TB_KBS_WRAP_RESOURCE, &req);
	memset(key1, 0x55, sizeof(key1));
	assert_int_equal(tb_kbs_fetch_key(s, &req, key1, sizeof(key1), &key1_len),
			 TPMBOOT_E_KBS_REFUSED);
	assert_int_equal(key1_len, 0);
	assert_int_equal(key1[0], 0);
	assert_int_equal(key1[31], 0);
	tb_kbs_session_close(s);
	client_fini();
}

/* Runs a TDX flow with a quote over the binding; returns the attest or
 * fetch error. */
static int run_tdx_flow(int debug, uint8_t key1[32], size_t *key1_len)
{
	struct tb_kbs_session *s = NULL;
	struct tb_kbs_key_request req;
	struct tb_kbs_evidence ev = { 0 };
	uint8_t report_data[64], quote[E2E_TDX_QUOTE_LEN];
	int rc;

	tp.config.tee = TPMBOOT_TEE_TDX;
	assert_int_equal(tb_kbs_session_open(&s, NULL, 0, NULL), 0);
	assert_int_equal(tb_kbs_binding(s, report_data), 0);
	e2e_build_tdx_quote(report_data, debug, quote);
	ev.report = quote;
	ev.report_len = sizeof(quote);
	ev.aux = (const uint8_t *)"event log";
	ev.aux_len = 9;
	rc = tb_kbs_attest(s, &ev);
	if (!rc) {
		key_request(TB_KBS_WRAP_KBS_UNWRAP, &req);
		rc = tb_kbs_fetch_key(s, &req, key1, 32, key1_len);
	}
	tb_kbs_session_close(s);
	return rc;
}

static void tdx_quote_accepted(void **state)
{
	uint8_t key1[32];
	size_t key1_len = 0;

	(void)state;
	client_init(TPMBOOT_TEE_KEY_EC_P256, 10000, 2);
	assert_int_equal(run_tdx_flow(0, key1, &key1_len), 0);
	assert_int_equal(key1_len, 32);
	assert_memory_equal(key1, e2e.key1, 32);
	client_fini();
}

static void tdx_debug_refused(void **state)
{
	uint8_t key1[32];
	size_t key1_len = 0;

	(void)state;
	client_init(TPMBOOT_TEE_KEY_EC_P521, 10000, 2);
	assert_int_equal(run_tdx_flow(1, key1, &key1_len), TPMBOOT_E_KBS_REFUSED);
	assert_true(tb_test_log_contains(&tp, "POST /kbs/v0/attest returned HTTP 401"));
	client_fini();
}

static void api_order_enforced(void **state)
{
	struct tb_kbs_session *s = NULL;
	struct tb_kbs_key_request req;
	uint8_t key1[32];
	size_t key1_len;

	(void)state;
	client_init(TPMBOOT_TEE_KEY_EC_P256, 10000, 2);
	assert_int_equal(tb_kbs_session_open(&s, NULL, 0, NULL), 0);
	key_request(TB_KBS_WRAP_RESOURCE, &req);
	assert_int_equal(tb_kbs_fetch_key(s, &req, key1, sizeof(key1), &key1_len),
			 TPMBOOT_E_KBS_SESSION_STATE);
	tb_kbs_session_close(s);
	client_fini();
}

static int group_setup(void **state)
{
	(void)state;
	if (e2e_setup() != 0)
		return -1;
	start_kbs();
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	e2e_peer_stop(&kbs);
	e2e_teardown();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(e2e_p256_resource),
		cmocka_unit_test(e2e_p256_kbs_unwrap),
		cmocka_unit_test(e2e_p256_pkcs11),
		cmocka_unit_test(e2e_p521_resource),
		cmocka_unit_test(e2e_p521_kbs_unwrap),
		cmocka_unit_test(e2e_p521_pkcs11),
		cmocka_unit_test(e2e_rsa_resource),
		cmocka_unit_test(e2e_rsa_kbs_unwrap),
		cmocka_unit_test(e2e_cert_chain_sent),
		cmocka_unit_test(policy_rejects_measurement),
		cmocka_unit_test(policy_rejects_debug),
		cmocka_unit_test(policy_rejects_vmpl),
		cmocka_unit_test(verifier_rejects_signature),
		cmocka_unit_test(verifier_rejects_binding),
		cmocka_unit_test(resource_not_found),
		cmocka_unit_test(unwrap_wrong_aad),
		cmocka_unit_test(unknown_key_id),
		cmocka_unit_test(request_validation),
		cmocka_unit_test(fault_refuse_once_retried),
		cmocka_unit_test(fault_refuse_retries_bounded),
		cmocka_unit_test(fault_refuse_counts_attempts),
		cmocka_unit_test(fault_refuse_reused_stream),
		cmocka_unit_test(fault_wrong_nonce),
		cmocka_unit_test(fault_wrong_cookie),
		cmocka_unit_test(fault_malformed_challenge),
		cmocka_unit_test(fault_malformed_jwe),
		cmocka_unit_test(fault_bad_jwe_tag),
		cmocka_unit_test(fault_http_500_not_retried),
		cmocka_unit_test(fault_http_500_streams),
		cmocka_unit_test(fault_slow_times_out),
		cmocka_unit_test(fault_slow_within_timeout),
		cmocka_unit_test(fault_cut_once_retried),
		cmocka_unit_test(fault_cut_retries_bounded),
		cmocka_unit_test(session_expired_refused),
		cmocka_unit_test(tdx_quote_accepted),
		cmocka_unit_test(tdx_debug_refused),
		cmocka_unit_test(api_order_enforced),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

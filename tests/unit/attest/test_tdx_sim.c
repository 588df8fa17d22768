/*
 * TDX GetQuote flow against the quote simulator in tests/peers/amdsp: the
 * simulator plays the TDX module (TDREPORT via a control message) and the
 * VMM (GetQuote on the shared buffer). A test VMM layer in front of it can
 * keep the status IN_FLIGHT for a number of polls.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "amdsp_client.h"
#include "attest/tb_attest.h"
#include "attest/tb_tdx.h"
#include "attest/tb_tdx_getquote.h"
#include "core/tb_core.h"
#include "tb_test_platform.h"

#define SHARED_LEN (8u * 1024u)

struct tdx_fixture {
	struct amdsp sim;
	struct tb_test_platform tp;
	struct tb_tdx_ops ops;
	uint8_t *shared;
	/* Test VMM layer: the simulator's response is held back while
	 * in_flight_polls is nonzero. */
	uint8_t held[SHARED_LEN];
	uint32_t in_flight_polls;
	uint32_t get_quote_calls;
	uint32_t refresh_calls;
	uint8_t quote[16384];
	size_t quote_len;
};

static struct tdx_fixture F;

/* TDG.MR.REPORT played by the simulator's {"tdx":"tdreport"} message. */
static int sim_mr_report(void *ctx, const uint8_t report_data[64],
			 uint8_t tdreport[1024], uint64_t *status)
{
	char msg[256];
	char *reply;
	json_t *root;
	const char *hex;
	uint8_t *bytes = NULL;
	int k = snprintf(msg, sizeof(msg),
			 "{\"tdx\":\"tdreport\",\"report_data\":\"");
	int rc = -1;

	(void)ctx;
	for (int i = 0; i < 64; i++)
		k += snprintf(msg + k, sizeof(msg) - (size_t)k, "%02x",
			      report_data[i]);
	snprintf(msg + k, sizeof(msg) - (size_t)k, "\"}");
	reply = amdsp_control(&F.sim, msg);
	root = reply != NULL ? json_loads(reply, 0, NULL) : NULL;
	hex = json_string_value(json_object_get(root, "tdreport"));
	if (hex != NULL && tb_test_hex_decode(hex, &bytes) == 1024) {
		memcpy(tdreport, bytes, 1024);
		*status = 0;
		rc = 0;
	}
	free(bytes);
	json_decref(root);
	free(reply);
	return rc;
}

/* TDG.VP.VMCALL<GetQuote>: kind 3 with the whole shared buffer. */
static int sim_get_quote(void *ctx, uint8_t *shared, size_t len,
			 uint64_t *r10)
{
	uint32_t pages;
	size_t out_len = 0;

	(void)ctx;
	F.get_quote_calls++;
	if (amdsp_exchange(&F.sim, AMDSP_KIND_TDX_GET_QUOTE, 0, shared, len,
			   F.held, sizeof(F.held), &out_len, r10, &pages) != 0 ||
	    out_len != len)
		return -1;
	if (*r10 != TB_TDX_VMCALL_SUCCESS)
		return 0;
	if (F.in_flight_polls == 0) {
		memcpy(shared, F.held, len);
	} else {
		/* The VMM accepted the request; the quote comes later. */
		tb_store_le64(shared + 8, TB_TDX_QUOTE_STATUS_IN_FLIGHT);
	}
	return 0;
}

static int vmm_refresh(void *ctx, uint8_t *shared, size_t len)
{
	(void)ctx;
	F.refresh_calls++;
	if (F.in_flight_polls > 0 && --F.in_flight_polls == 0)
		memcpy(shared, F.held, len);
	return 0;
}

static int start_simulator(void **state)
{
	(void)state;
	return amdsp_start(&F.sim, NULL);
}

static int stop_simulator(void **state)
{
	(void)state;
	amdsp_stop(&F.sim);
	return 0;
}

static int setup(void **state)
{
	(void)state;
	tb_test_platform_init(&F.tp);
	amdsp_control_ok(&F.sim, "{\"clear\":\"faults\"}");
	amdsp_control_ok(&F.sim, "{\"set\":{\"quote_version\":4}}");
	memset(&F.ops, 0, sizeof(F.ops));
	F.ops.mr_report = sim_mr_report;
	F.ops.get_quote = sim_get_quote;
	F.ops.refresh = vmm_refresh;
	F.ops.poll_interval_ms = 2;
	F.ops.poll_timeout_ms = 100;
	F.in_flight_polls = 0;
	F.get_quote_calls = 0;
	F.refresh_calls = 0;
	F.shared = aligned_alloc(4096, SHARED_LEN);
	return F.shared == NULL;
}

static int teardown(void **state)
{
	(void)state;
	free(F.shared);
	assert_int_equal(tb_test_platform_fini(&F.tp), 0);
	return 0;
}

static void fill_report_data(uint8_t rd[64], uint8_t seed)
{
	for (int i = 0; i < 64; i++)
		rd[i] = (uint8_t)(seed ^ (7 * i));
}

static int get_quote(const uint8_t rd[64])
{
	return tb_tdx_get_quote(&F.ops, F.shared, SHARED_LEN, rd, F.quote,
				sizeof(F.quote), &F.quote_len);
}

static void test_quote_versions(void **state)
{
	static const unsigned versions[] = { 4, 5 };
	struct tb_tdx_quote q;
	uint8_t rd[64];
	char msg[64];

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		snprintf(msg, sizeof(msg), "{\"set\":{\"quote_version\":%u}}",
			 versions[i]);
		amdsp_control_ok(&F.sim, msg);
		fill_report_data(rd, (uint8_t)(0x10 + i));
		assert_int_equal(get_quote(rd), 0);
		assert_int_equal(tb_tdx_quote_parse(F.quote, F.quote_len, &q),
				 0);
		assert_int_equal(q.version, versions[i]);
		assert_int_equal(q.total_len, F.quote_len);
		assert_int_equal(tb_tdx_quote_check(&q, rd, 0), 0);
		/* Request header: version 1 and the 1024-byte TDREPORT. */
		assert_int_equal(tb_load_le64(F.shared), 1);
		assert_int_equal(tb_load_le32(F.shared + 16), 1024);
		assert_int_equal(tb_load_le32(F.shared + 20), F.quote_len);
	}
}

static void test_in_flight_polling(void **state)
{
	uint8_t rd[64];

	(void)state;
	fill_report_data(rd, 0x20);
	F.in_flight_polls = 5;
	assert_int_equal(get_quote(rd), 0);
	assert_int_equal(F.refresh_calls, 5);
	assert_int_equal(F.get_quote_calls, 1);

	/* A quote that never arrives times out. */
	F.in_flight_polls = 1000;
	F.refresh_calls = 0;
	assert_int_equal(get_quote(rd), TPMBOOT_E_ATTEST_TDX_QUOTE_TIMEOUT);
	assert_int_equal(F.quote_len, 0);
	assert_true(F.refresh_calls >= 50);
}

static void test_retry_then_success(void **state)
{
	uint8_t rd[64];

	(void)state;
	fill_report_data(rd, 0x30);
	amdsp_control_ok(&F.sim, "{\"fault\":\"tdx_retry\",\"count\":2}");
	assert_int_equal(get_quote(rd), 0);
	assert_int_equal(F.get_quote_calls, 3);
	assert_true(tb_test_log_contains(&F.tp, "RETRY, attempt 2"));

	amdsp_control_ok(&F.sim, "{\"fault\":\"tdx_retry\",\"count\":20}");
	assert_int_equal(get_quote(rd), TPMBOOT_E_ATTEST_TDX_VMCALL);
	assert_int_equal(F.get_quote_calls, 3 + 1 + TB_TDX_VMCALL_MAX_RETRIES);
}

static void test_status_errors(void **state)
{
	uint8_t rd[64];

	(void)state;
	fill_report_data(rd, 0x40);
	amdsp_control_ok(&F.sim, "{\"fault\":\"tdx_unavailable\"}");
	assert_int_equal(get_quote(rd),
			 TPMBOOT_E_ATTEST_TDX_QUOTE_UNAVAILABLE);
	amdsp_control_ok(&F.sim, "{\"fault\":\"tdx_error\"}");
	assert_int_equal(get_quote(rd), TPMBOOT_E_ATTEST_TDX_QUOTE_STATUS);
	assert_int_equal(F.quote_len, 0);
	/* The next request succeeds. */
	assert_int_equal(get_quote(rd), 0);
}

static void test_rejects_bad_buffers(void **state)
{
	uint8_t rd[64] = { 0 };
	uint8_t small[64];

	(void)state;
	assert_int_equal(tb_tdx_get_quote(&F.ops, F.shared, 4096 + 1, rd,
					  F.quote, sizeof(F.quote),
					  &F.quote_len),
			 TPMBOOT_E_INVALID_ARGUMENT);
	assert_int_equal(tb_tdx_get_quote(&F.ops, F.shared, SHARED_LEN, rd,
					  small, sizeof(small), &F.quote_len),
			 TPMBOOT_E_BUFFER_TOO_SMALL);
}

/* tdx_get_quote platform callback built on tb_tdx_get_quote(). */
static int platform_tdx_get_quote(void *ctx, const uint8_t report_data[64],
				  uint8_t *quote, size_t cap, size_t *len)
{
	(void)ctx;
	return tb_tdx_get_quote(&F.ops, F.shared, SHARED_LEN, report_data,
				quote, cap, len) != 0;
}

static void test_entry_point_tdx(void **state)
{
	struct tb_evidence ev;
	uint8_t rd[64];

	(void)state;
	fill_report_data(rd, 0x50);
	F.tp.config.tee = TPMBOOT_TEE_TDX;
	F.tp.platform.tdx_get_quote = platform_tdx_get_quote;
	assert_int_equal(tb_attest_get_evidence(rd, &ev), 0);
	assert_int_equal(ev.tee, TPMBOOT_TEE_TDX);
	assert_non_null(ev.quote);
	assert_null(ev.report);
	assert_int_equal(tb_load_le16(ev.quote), 4);
	tb_evidence_free(&ev);

	amdsp_control_ok(&F.sim, "{\"fault\":\"tdx_error\"}");
	assert_int_equal(tb_attest_get_evidence(rd, &ev), TPMBOOT_E_PLATFORM);
	assert_null(ev.quote);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
		T(test_quote_versions),
		T(test_in_flight_polling),
		T(test_retry_then_success),
		T(test_status_errors),
		T(test_rejects_bad_buffers),
		T(test_entry_point_tdx),
#undef T
	};

	return cmocka_run_group_tests(tests, start_simulator, stop_simulator);
}

/*
 * The guest-request driver and the attestation entry point against the
 * AMD-SP simulator: every report version, extended requests, and each
 * fault knob. After every fault the test checks that the driver and the
 * simulator agree on the next sequence number, or that the VMPCK is wiped.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/x509.h>

#include "amdsp_client.h"
#include "attest/tb_attest.h"
#include "attest/tb_snp_certs.h"
#include "attest/tb_snp_guest.h"
#include "attest/tb_snp_msg.h"
#include "attest/tb_snp_report.h"
#include "attest/tb_snp_report_req.h"
#include "attest_test_util.h"
#include "core/tb_core.h"
#include "tb_test_platform.h"

struct sim_fixture {
	struct amdsp sim;
	struct tb_test_platform tp;
	uint8_t vmpck[32];
	uint64_t seqno;
	struct tb_snp_guest g;
	uint8_t report[4096];
	size_t report_len;
};

static struct sim_fixture F;

/* Group setup: one simulator (and one PKI) for every test. */
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

/* Resets the simulator and sets up a driver on VMPCK0 at sequence 0. */
static int setup(void **state)
{
	(void)state;
	tb_test_platform_init(&F.tp);
	F.sim.requests = 0;
	amdsp_control_ok(&F.sim, "{\"clear\":\"faults\"}");
	amdsp_control_ok(&F.sim, "{\"set\":{\"seqno\":[1,1,1,1],"
				 "\"report_version\":3,\"debug\":false}}");
	memcpy(F.vmpck, F.sim.vmpck[0], 32);
	F.seqno = 0;
	assert_int_equal(tb_snp_guest_init(&F.g, amdsp_snp_guest_request,
					   &F.sim, F.vmpck, 0, &F.seqno),
			 0);
	F.g.busy_delay_ms = 5;
	return 0;
}

static int teardown(void **state)
{
	char hex[65];
	int i;

	(void)state;
	tb_snp_guest_fini(&F.g);
	/* The VMPCK never reaches the log. */
	for (i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", F.sim.vmpck[0][i]);
	assert_false(tb_test_log_contains(&F.tp, hex));
	assert_int_equal(tb_test_platform_fini(&F.tp), 0);
	return 0;
}

static void fill_report_data(uint8_t rd[64], uint8_t seed)
{
	for (int i = 0; i < 64; i++)
		rd[i] = (uint8_t)(seed + 3 * i);
}

static int request_report(const uint8_t rd[64], uint32_t vmpl,
			  uint32_t key_sel, uint8_t *certs, uint32_t *pages)
{
	return tb_snp_get_report(&F.g, rd, vmpl, key_sel, F.report,
				 sizeof(F.report), &F.report_len, certs,
				 pages);
}

static void assert_in_sync(void)
{
	assert_int_equal(amdsp_expected_seqno(&F.sim, 0), F.seqno + 1);
}

static void assert_wiped(int expected_rc, int rc)
{
	static const uint8_t zero[32];
	uint8_t rd[64] = { 0 };
	struct tb_snp_guest again;

	assert_int_equal(rc, expected_rc);
	assert_true(F.g.disabled);
	assert_memory_equal(F.vmpck, zero, 32);
	assert_int_equal(request_report(rd, 0, TB_SNP_KEY_SEL_VCEK, NULL, NULL),
			 TPMBOOT_E_ATTEST_VMPCK_WIPED);
	assert_int_equal(tb_snp_guest_init(&again, amdsp_snp_guest_request,
					   &F.sim, F.vmpck, 0, &F.seqno),
			 TPMBOOT_E_ATTEST_VMPCK_WIPED);
	assert_true(tb_test_log_contains(&F.tp, "VMPCK0 wiped"));
}

/* Verifies the report with the simulator's VCEK from its PKI directory. */
static void assert_signed_by_sim_vcek(const uint8_t *report)
{
	char path[256];
	X509 *vcek;

	snprintf(path, sizeof(path), "%s/pki/vcek.pem", F.sim.dir);
	vcek = attest_load_cert_path(path);
	assert_non_null(vcek);
	assert_int_equal(attest_verify_snp_report(report,
						  X509_get0_pubkey(vcek)),
			 1);
	X509_free(vcek);
}

static void test_report_each_version(void **state)
{
	static const unsigned versions[] = { 2, 3, 5 };
	struct tb_snp_report r;
	uint8_t rd[64];
	char msg[96];
	size_t i;

	(void)state;
	for (i = 0; i < 3; i++) {
		snprintf(msg, sizeof(msg), "{\"set\":{\"report_version\":%u}}",
			 versions[i]);
		amdsp_control_ok(&F.sim, msg);
		fill_report_data(rd, (uint8_t)i);
		assert_int_equal(request_report(rd, 0, TB_SNP_KEY_SEL_VCEK,
						NULL, NULL),
				 0);
		assert_int_equal(F.report_len, TB_SNP_REPORT_SIZE);
		assert_int_equal(tb_snp_report_parse(F.report, F.report_len,
						     &r),
				 0);
		assert_int_equal(r.version, versions[i]);
		assert_int_equal(r.has_cpuid, versions[i] >= 3);
		assert_int_equal(r.has_mit_vector, versions[i] >= 5);
		assert_int_equal(tb_snp_report_check(&r, rd, 0, 0), 0);
		assert_int_equal(TB_SNP_KEY_INFO_SIGNING_KEY(r.key_info),
				 TB_SNP_SIGNING_KEY_VCEK);
		assert_signed_by_sim_vcek(F.report);
		/* Request i used 2i + 1, its response 2i + 2. */
		assert_int_equal(F.seqno, 2 * (i + 1));
		assert_in_sync();
	}
}

static void test_report_higher_vmpl(void **state)
{
	struct tb_snp_report r;
	uint8_t rd[64];

	(void)state;
	fill_report_data(rd, 9);
	assert_int_equal(request_report(rd, 2, TB_SNP_KEY_SEL_VCEK, NULL, NULL),
			 0);
	assert_int_equal(tb_snp_report_parse(F.report, F.report_len, &r), 0);
	assert_int_equal(r.vmpl, 2);
	assert_int_equal(tb_snp_report_check(&r, rd, 2, 0), 0);
	assert_int_equal(request_report(rd, 4, TB_SNP_KEY_SEL_VCEK, NULL, NULL),
			 TPMBOOT_E_ATTEST_REPORT_REQUEST);
	assert_int_equal(F.seqno, 2);
	assert_in_sync();
}

static void test_extended_request_certs(void **state)
{
	uint8_t *certs = calloc(4, TB_SNP_PAGE_SIZE);
	uint32_t pages = 4;
	const uint8_t *der, *ask_der, *ark_der;
	size_t der_len, ask_len, ark_len;
	X509 *vcek, *ask, *ark;
	uint8_t rd[64];

	(void)state;
	fill_report_data(rd, 0x55);
	assert_int_equal(request_report(rd, 0, TB_SNP_KEY_SEL_VCEK, certs,
					&pages),
			 0);
	assert_int_equal(tb_snp_cert_table_find(certs, 4 * TB_SNP_PAGE_SIZE,
						tb_snp_guid_vcek, &der,
						&der_len),
			 0);
	assert_int_equal(tb_snp_cert_table_find(certs, 4 * TB_SNP_PAGE_SIZE,
						tb_snp_guid_ask, &ask_der,
						&ask_len),
			 0);
	assert_int_equal(tb_snp_cert_table_find(certs, 4 * TB_SNP_PAGE_SIZE,
						tb_snp_guid_ark, &ark_der,
						&ark_len),
			 0);

	/* The VCEK from the table signs the report; ASK and ARK chain it. */
	vcek = d2i_X509(NULL, &der, (long)der_len);
	ask = d2i_X509(NULL, &ask_der, (long)ask_len);
	ark = d2i_X509(NULL, &ark_der, (long)ark_len);
	assert_non_null(vcek);
	assert_non_null(ask);
	assert_non_null(ark);
	assert_int_equal(attest_verify_snp_report(F.report,
						  X509_get0_pubkey(vcek)),
			 1);
	assert_int_equal(X509_verify(vcek, X509_get0_pubkey(ask)), 1);
	assert_int_equal(X509_verify(ask, X509_get0_pubkey(ark)), 1);
	assert_int_equal(X509_verify(ark, X509_get0_pubkey(ark)), 1);
	X509_free(vcek);
	X509_free(ask);
	X509_free(ark);
	free(certs);
	assert_int_equal(F.seqno, 2);
	assert_in_sync();
}

static void test_invalid_len_consumes_seqno(void **state)
{
	uint8_t *certs = calloc(9, TB_SNP_PAGE_SIZE);
	uint32_t pages = 1;
	uint8_t rd[64];

	(void)state;
	fill_report_data(rd, 0x11);
	amdsp_control_ok(&F.sim, "{\"fault\":\"invalid_len\",\"pages\":9}");
	assert_int_equal(request_report(rd, 0, TB_SNP_KEY_SEL_VCEK, certs,
					&pages),
			 TPMBOOT_E_ATTEST_CERTS_TOO_SMALL);
	assert_int_equal(pages, 9);
	assert_int_equal(F.report_len, 0);
	assert_false(F.g.disabled);
	/* The plain resend consumed the sequence number on both sides. */
	assert_int_equal(F.seqno, 2);
	assert_in_sync();
	assert_int_equal(F.sim.requests, 2);

	/* Follow-up with the size the host asked for. */
	assert_int_equal(request_report(rd, 0, TB_SNP_KEY_SEL_VCEK, certs,
					&pages),
			 0);
	assert_int_equal(F.seqno, 4);
	assert_in_sync();
	free(certs);
}

static void test_busy_retries_same_message(void **state)
{
	uint8_t rd[64];

	(void)state;
	fill_report_data(rd, 0x22);
	amdsp_control_ok(&F.sim, "{\"fault\":\"busy\",\"count\":3}");
	assert_int_equal(request_report(rd, 0, TB_SNP_KEY_SEL_VCEK, NULL, NULL),
			 0);
	assert_int_equal(F.sim.requests, 4);
	assert_true(tb_test_log_contains(&F.tp, "BUSY, retry 3 of"));
	assert_int_equal(F.seqno, 2);
	assert_in_sync();
}

static void test_busy_past_limit_wipes(void **state)
{
	uint8_t rd[64];

	(void)state;
	fill_report_data(rd, 0x23);
	F.g.busy_max_retries = 2;
	amdsp_control_ok(&F.sim, "{\"fault\":\"busy\",\"count\":3}");
	assert_wiped(TPMBOOT_E_ATTEST_BUSY_TIMEOUT,
		     request_report(rd, 0, TB_SNP_KEY_SEL_VCEK, NULL, NULL));
	assert_int_equal(F.sim.requests, 3);
}

/* Faults after which the VMPCK must be wiped, with the expected error. */
static const struct {
	const char *control;
	int rc;
} wiping_faults[] = {
	{ "{\"fault\":\"fw_error\"}", TPMBOOT_E_ATTEST_FIRMWARE },
	{ "{\"fault\":\"corrupt_tag\"}", TPMBOOT_E_ATTEST_MSG_AUTH },
	{ "{\"fault\":\"wrong_seqno\"}", TPMBOOT_E_ATTEST_MSG_SEQNO },
	{ "{\"fault\":\"wrong_type\"}", TPMBOOT_E_ATTEST_MSG_TYPE },
	{ "{\"fault\":\"wrong_version\"}", TPMBOOT_E_ATTEST_MSG_VERSION },
	{ "{\"fault\":\"msg_sz\"}", TPMBOOT_E_ATTEST_MSG_SIZE },
	{ "{\"fault\":\"truncate\"}", TPMBOOT_E_ATTEST_MSG_AUTH },
};

static void test_faults_wipe_vmpck(void **state)
{
	uint8_t rd[64];
	size_t i;

	for (i = 0; i < sizeof(wiping_faults) / sizeof(wiping_faults[0]);
	     i++) {
		if (i > 0) {
			teardown(state);
			setup(state);
		}
		fill_report_data(rd, (uint8_t)(0x30 + i));
		amdsp_control_ok(&F.sim, wiping_faults[i].control);
		assert_wiped(wiping_faults[i].rc,
			     request_report(rd, 0, TB_SNP_KEY_SEL_VCEK, NULL,
					    NULL));
	}
}

static void test_fw_error_leaves_firmware_counter(void **state)
{
	uint8_t rd[64];

	(void)state;
	fill_report_data(rd, 0x40);
	amdsp_control_ok(&F.sim, "{\"fault\":\"fw_error\",\"status\":22}");
	assert_wiped(TPMBOOT_E_ATTEST_FIRMWARE,
		     request_report(rd, 0, TB_SNP_KEY_SEL_VCEK, NULL, NULL));
	assert_true(tb_test_log_contains(&F.tp, "firmware status 0x16"));
	/* The firmware did not consume the number; the guest kept it. */
	assert_int_equal(F.seqno, 0);
	assert_int_equal(amdsp_expected_seqno(&F.sim, 0), 1);
}

static void test_report_status_keeps_key(void **state)
{
	uint8_t rd[64];

	(void)state;
	fill_report_data(rd, 0x50);
	amdsp_control_ok(&F.sim, "{\"fault\":\"refuse\",\"status\":22}");
	assert_int_equal(request_report(rd, 0, TB_SNP_KEY_SEL_VCEK, NULL, NULL),
			 TPMBOOT_E_ATTEST_REPORT_STATUS);
	assert_false(F.g.disabled);
	assert_int_equal(F.seqno, 2);
	assert_in_sync();

	/* No VLEK is installed: the firmware returns INVALID_KEY. */
	assert_int_equal(request_report(rd, 0, TB_SNP_KEY_SEL_VLEK, NULL, NULL),
			 TPMBOOT_E_ATTEST_REPORT_STATUS);
	assert_true(tb_test_log_contains(&F.tp, "status 0x27"));
	assert_int_equal(F.seqno, 4);
	assert_in_sync();

	assert_int_equal(request_report(rd, 0, TB_SNP_KEY_SEL_VCEK, NULL, NULL),
			 0);
	assert_int_equal(F.seqno, 6);
	assert_in_sync();
}

static void test_other_vmpck_and_seqno(void **state)
{
	uint8_t key2[32];
	uint64_t seqno2 = 40;
	struct tb_snp_guest g2;
	struct tb_snp_report r;
	uint8_t rd[64];

	(void)state;
	fill_report_data(rd, 0x60);
	memcpy(key2, F.sim.vmpck[2], 32);
	amdsp_control_ok(&F.sim, "{\"set\":{\"seqno\":[1,1,41,1]}}");
	assert_int_equal(tb_snp_guest_init(&g2, amdsp_snp_guest_request,
					   &F.sim, key2, 2, &seqno2),
			 0);
	assert_int_equal(tb_snp_get_report(&g2, rd, 2, TB_SNP_KEY_SEL_VCEK,
					   F.report, sizeof(F.report),
					   &F.report_len, NULL, NULL),
			 0);
	assert_int_equal(seqno2, 42);
	assert_int_equal(amdsp_expected_seqno(&F.sim, 2), 43);
	assert_int_equal(tb_snp_report_parse(F.report, F.report_len, &r), 0);
	assert_int_equal(r.vmpl, 2);

	/* VMPCK2 may not ask for a VMPL 0 report. */
	assert_int_equal(tb_snp_get_report(&g2, rd, 0, TB_SNP_KEY_SEL_VCEK,
					   F.report, sizeof(F.report),
					   &F.report_len, NULL, NULL),
			 TPMBOOT_E_ATTEST_REPORT_STATUS);
	assert_int_equal(seqno2, 44);
	tb_snp_guest_fini(&g2);
}

static void test_seqno_mismatch_wipes(void **state)
{
	uint8_t rd[64];

	(void)state;
	fill_report_data(rd, 0x70);
	amdsp_control_ok(&F.sim, "{\"set\":{\"seqno\":[7,1,1,1]}}");
	assert_wiped(TPMBOOT_E_ATTEST_FIRMWARE,
		     request_report(rd, 0, TB_SNP_KEY_SEL_VCEK, NULL, NULL));
	assert_int_equal(amdsp_expected_seqno(&F.sim, 0), 7);
}

static void test_wrong_key_wipes(void **state)
{
	uint8_t wrong[32];
	uint64_t seqno1 = 0;
	struct tb_snp_guest g1;
	static const uint8_t zero[32];
	uint8_t rd[64] = { 0 };

	(void)state;
	/* VMPCK0's bytes presented as VMPCK1: the firmware cannot
	 * authenticate the request. */
	memcpy(wrong, F.sim.vmpck[0], 32);
	assert_int_equal(tb_snp_guest_init(&g1, amdsp_snp_guest_request,
					   &F.sim, wrong, 1, &seqno1),
			 0);
	assert_int_equal(tb_snp_get_report(&g1, rd, 1, TB_SNP_KEY_SEL_VCEK,
					   F.report, sizeof(F.report),
					   &F.report_len, NULL, NULL),
			 TPMBOOT_E_ATTEST_FIRMWARE);
	assert_memory_equal(wrong, zero, 32);
	tb_snp_guest_fini(&g1);
}

static void test_init_rejects_bad_arguments(void **state)
{
	struct tb_snp_guest g;
	uint8_t zero[32] = { 0 };
	uint8_t rd[64] = { 0 };

	(void)state;
	assert_int_equal(tb_snp_guest_init(&g, amdsp_snp_guest_request,
					   &F.sim, F.vmpck, 4, &F.seqno),
			 TPMBOOT_E_ATTEST_VMPCK_INVALID);
	assert_int_equal(tb_snp_guest_init(&g, NULL, &F.sim, F.vmpck, 0,
					   &F.seqno),
			 TPMBOOT_E_ATTEST_VMPCK_INVALID);
	assert_int_equal(tb_snp_guest_init(&g, amdsp_snp_guest_request,
					   &F.sim, zero, 0, &F.seqno),
			 TPMBOOT_E_ATTEST_VMPCK_WIPED);

	/* A counter at the end of its range is refused before sending. */
	F.seqno = UINT64_MAX - 1;
	assert_int_equal(request_report(rd, 0, TB_SNP_KEY_SEL_VCEK, NULL, NULL),
			 TPMBOOT_E_ATTEST_SEQNO_EXHAUSTED);
	assert_false(F.g.disabled);
	assert_int_equal(F.sim.requests, 0);
}

/* Entry point: the platform callback reaches the simulator. */
static int platform_guest_request(void *ctx, int extended,
				  const uint8_t *req_page, uint8_t *resp_page,
				  uint8_t *certs_buf, uint32_t *certs_pages,
				  uint64_t *fw_error)
{
	(void)ctx;
	return amdsp_snp_guest_request(&F.sim, extended, req_page, resp_page,
				       certs_buf, certs_pages, fw_error);
}

static void use_driver_platform(void)
{
	F.tp.platform.snp_guest_request = platform_guest_request;
	F.tp.config.tee = TPMBOOT_TEE_SNP;
	F.tp.config.vmpck = F.vmpck;
	F.tp.config.vmpck_index = 0;
	F.tp.config.msg_seqno = &F.seqno;
	F.tp.config.report_vmpl = 1;
}

static void test_entry_point_driver(void **state)
{
	struct tb_evidence ev;
	struct tb_snp_report r;
	const uint8_t *cert;
	size_t cert_len;
	uint8_t rd[64];

	(void)state;
	tb_snp_guest_fini(&F.g);
	use_driver_platform();
	fill_report_data(rd, 0x80);
	assert_int_equal(tb_attest_get_evidence(rd, &ev), 0);
	assert_int_equal(ev.tee, TPMBOOT_TEE_SNP);
	assert_int_equal(ev.report_len, TB_SNP_REPORT_SIZE);
	assert_null(ev.certs);
	assert_int_equal(tb_snp_report_parse(ev.report, ev.report_len, &r), 0);
	assert_int_equal(r.vmpl, 1);
	assert_memory_equal(r.report_data, rd, 64);
	tb_evidence_free(&ev);
	assert_int_equal(F.seqno, 2);

	/* Extended: the host needs 6 pages, so the entry point sends
	 * the request again with 6 pages. */
	amdsp_control_ok(&F.sim, "{\"fault\":\"invalid_len\",\"pages\":6}");
	assert_int_equal(tb_attest_get_evidence_with_certs(rd, &ev), 0);
	assert_non_null(ev.certs);
	assert_true(ev.certs_len > 0 && ev.certs_len <= 6 * TB_SNP_PAGE_SIZE);
	assert_int_equal(tb_snp_cert_table_find(ev.certs, ev.certs_len,
						tb_snp_guid_vcek, &cert,
						&cert_len),
			 0);
	assert_true(tb_test_log_contains(&F.tp,
					 "repeating the extended request with 6"));
	tb_evidence_free(&ev);
	assert_int_equal(F.seqno, 6);
	assert_in_sync();
}

static void test_entry_point_certs_limit(void **state)
{
	struct tb_evidence ev;
	uint8_t rd[64];

	(void)state;
	tb_snp_guest_fini(&F.g);
	use_driver_platform();
	fill_report_data(rd, 0x83);

	/* Above the 64-page bound: no second request. */
	amdsp_control_ok(&F.sim, "{\"fault\":\"invalid_len\",\"pages\":65}");
	assert_int_equal(tb_attest_get_evidence_with_certs(rd, &ev),
			 TPMBOOT_E_ATTEST_CERTS_TOO_SMALL);
	assert_null(ev.report);
	assert_null(ev.certs);
	assert_int_equal(F.sim.requests, 2);

	/* A "needed" size not above the 4 pages sent: no second request. */
	amdsp_control_ok(&F.sim, "{\"fault\":\"invalid_len\",\"pages\":2}");
	assert_int_equal(tb_attest_get_evidence_with_certs(rd, &ev),
			 TPMBOOT_E_ATTEST_CERTS_TOO_SMALL);
	assert_int_equal(F.sim.requests, 4);
	assert_int_equal(F.seqno, 4);
	assert_in_sync();

	/* The key survived both. */
	assert_int_equal(tb_attest_get_evidence_with_certs(rd, &ev), 0);
	assert_non_null(ev.certs);
	tb_evidence_free(&ev);
	assert_in_sync();
}

static void test_entry_point_rejects_debug(void **state)
{
	struct tb_evidence ev;
	uint8_t rd[64];

	(void)state;
	tb_snp_guest_fini(&F.g);
	use_driver_platform();
	fill_report_data(rd, 0x81);
	amdsp_control_ok(&F.sim, "{\"set\":{\"debug\":true}}");
	assert_int_equal(tb_attest_get_evidence(rd, &ev),
			 TPMBOOT_E_ATTEST_REPORT_DEBUG);
	assert_null(ev.report);
	assert_int_equal(F.seqno, 2);
	assert_in_sync();
}

static void test_entry_point_wiped_key(void **state)
{
	struct tb_evidence ev;
	uint8_t rd[64];

	(void)state;
	tb_snp_guest_fini(&F.g);
	use_driver_platform();
	fill_report_data(rd, 0x82);
	amdsp_control_ok(&F.sim, "{\"fault\":\"corrupt_tag\"}");
	assert_int_equal(tb_attest_get_evidence(rd, &ev),
			 TPMBOOT_E_ATTEST_MSG_AUTH);
	assert_int_equal(tb_attest_get_evidence(rd, &ev),
			 TPMBOOT_E_ATTEST_VMPCK_WIPED);
	assert_int_equal(F.sim.requests, 1);
}

/* snp_get_report path: the platform hands back a public report. */
static int platform_get_report(void *ctx, const uint8_t report_data[64],
			       uint8_t *report, size_t cap, size_t *len)
{
	size_t n = 0;
	uint8_t *b = attest_load_vector(
		"vectors/attestation/virtee_report_milan.hex", &n);

	(void)ctx;
	(void)report_data;
	if (b == NULL || n > cap) {
		free(b);
		return -1;
	}
	memcpy(report, b, n);
	*len = n;
	free(b);
	return 0;
}

static void test_entry_point_platform_report(void **state)
{
	size_t n = 0;
	uint8_t *b = attest_load_vector(
		"vectors/attestation/virtee_report_milan.hex", &n);
	struct tb_evidence ev;
	uint8_t rd[64];

	(void)state;
	tb_snp_guest_fini(&F.g);
	F.tp.platform.snp_get_report = platform_get_report;
	memcpy(rd, b + 0x50, 64);
	assert_int_equal(tb_attest_get_evidence(rd, &ev), 0);
	assert_int_equal(ev.report_len, n);
	assert_memory_equal(ev.report, b, n);
	tb_evidence_free(&ev);

	rd[0] ^= 1;
	assert_int_equal(tb_attest_get_evidence(rd, &ev),
			 TPMBOOT_E_ATTEST_REPORT_DATA);
	assert_null(ev.report);

	F.tp.platform.snp_get_report = NULL;
	assert_int_equal(tb_attest_get_evidence(rd, &ev),
			 TPMBOOT_E_ATTEST_NO_DRIVER);
	F.tp.config.tee = TPMBOOT_TEE_TDX;
	assert_int_equal(tb_attest_get_evidence(rd, &ev),
			 TPMBOOT_E_ATTEST_NO_DRIVER);
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
		T(test_report_each_version),
		T(test_report_higher_vmpl),
		T(test_extended_request_certs),
		T(test_invalid_len_consumes_seqno),
		T(test_busy_retries_same_message),
		T(test_busy_past_limit_wipes),
		T(test_faults_wipe_vmpck),
		T(test_fw_error_leaves_firmware_counter),
		T(test_report_status_keeps_key),
		T(test_other_vmpck_and_seqno),
		T(test_seqno_mismatch_wipes),
		T(test_wrong_key_wipes),
		T(test_init_rejects_bad_arguments),
		T(test_entry_point_driver),
		T(test_entry_point_certs_limit),
		T(test_entry_point_rejects_debug),
		T(test_entry_point_wiped_key),
		T(test_entry_point_platform_report),
#undef T
	};

	return cmocka_run_group_tests(tests, start_simulator, stop_simulator);
}

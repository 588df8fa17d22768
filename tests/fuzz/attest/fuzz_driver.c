/*
 * libFuzzer target: the SNP guest-request driver and the attestation entry
 * point against a hostile host. The platform's snp_guest_request callback
 * takes one action byte per call from the input. It forwards the request
 * to a simulated AMD-SP that holds the VMPCK and its sequence number,
 * returns BUSY or INVALID_LEN, returns input bytes as the response, replays
 * the last good response, returns a firmware error, or forwards and then
 * reports a transport failure. Further bytes choose response and
 * certificate table variants.
 *
 * Invariants checked after each evidence request, aborting when broken:
 *   - no sequence number is exposed with two different request pages
 *     (that would reuse a GCM IV under the VMPCK);
 *   - unless the VMPCK was wiped, the driver's counter equals the number
 *     the simulated firmware consumed;
 *   - once wiped, every later request returns TPMBOOT_E_ATTEST_VMPCK_WIPED.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "attest/tb_attest.h"
#include "attest/tb_snp_certs.h"
#include "attest/tb_snp_msg.h"
#include "attest/tb_snp_report.h"
#include "core/tb_core.h"
#include "fuzz_common.h"

#define MAX_EXPOSED 64u
#define MAX_CALLS 4u

static const uint8_t vmpck_value[32] = {
	0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58,
	0x59, 0x5a, 0x5b, 0x5c, 0x5d, 0x5e, 0x5f, 0x60,
	0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68,
	0x69, 0x6a, 0x6b, 0x6c, 0x6d, 0x6e, 0x6f, 0x70,
};

/* Input cursor. */
static const uint8_t *in_data;
static size_t in_len, in_pos;

static uint8_t next_byte(void)
{
	return in_pos < in_len ? in_data[in_pos++] : 0;
}

/* Simulated AMD-SP and host state for one input. */
static struct {
	struct tb_gcm_key key;
	uint64_t fw_last;       /* last sequence number the firmware used */
	uint8_t last_good[TB_SNP_PAGE_SIZE];
	int have_last_good;
	uint64_t exposed_seqno[MAX_EXPOSED];
	uint8_t exposed_page[MAX_EXPOSED][TB_SNP_PAGE_SIZE];
	size_t exposed_count;
} sim;

static uint8_t vmpck[32];
static uint64_t msg_seqno;

/* Aborts when seqno was exposed before with a different page. */
static void record_exposure(const uint8_t *req)
{
	uint64_t seqno = tb_load_le64(req + TB_SNP_HDR_MSG_SEQNO);
	size_t i;

	for (i = 0; i < sim.exposed_count; i++) {
		if (sim.exposed_seqno[i] != seqno)
			continue;
		if (memcmp(sim.exposed_page[i], req, TB_SNP_PAGE_SIZE) != 0)
			abort();
		return;
	}
	if (sim.exposed_count < MAX_EXPOSED) {
		sim.exposed_seqno[sim.exposed_count] = seqno;
		memcpy(sim.exposed_page[sim.exposed_count], req,
		       TB_SNP_PAGE_SIZE);
		sim.exposed_count++;
	}
}

/* Builds the MSG_REPORT_RSP for the request. Each variant bit breaks one
 * field. */
static size_t build_report_rsp(const uint8_t *req, uint8_t variant,
			       uint8_t *rsp)
{
	uint8_t *report = rsp + 32;

	memset(rsp, 0, 32 + TB_SNP_REPORT_SIZE);
	tb_store_le32(rsp, (variant & 0x01) ? 0x16 : 0);
	tb_store_le32(rsp + 4, (variant & 0x02) ? 0x10 : TB_SNP_REPORT_SIZE);
	tb_store_le32(report, 2u + (variant >> 6));
	tb_store_le64(report + 0x08, (variant & 0x04) ?
			     TB_SNP_POLICY_RESERVED_1 | TB_SNP_POLICY_DEBUG :
			     TB_SNP_POLICY_RESERVED_1);
	tb_store_le32(report + 0x30, tb_load_le32(req + 0x40) ^
				     ((variant & 0x08) ? 1u : 0u));
	tb_store_le32(report + 0x48, (variant & 0x10) ? 7u << 2 : 0);
	memcpy(report + 0x50, req, 64);
	if (variant & 0x20)
		report[0x50] ^= 1;
	return 32 + TB_SNP_REPORT_SIZE;
}

/* Fills the certificate table: one VCEK entry, or input bytes. */
static void fill_certs(uint8_t *certs, uint32_t pages, uint8_t variant)
{
	size_t len = (size_t)pages * TB_SNP_PAGE_SIZE, i;

	if (variant & 0x80) {
		for (i = 0; i < len && in_pos < in_len; i++)
			certs[i] = next_byte();
		return;
	}
	memset(certs, 0, len);
	memcpy(certs, tb_snp_guid_vcek, 16);
	tb_store_le32(certs + 16, 48);
	tb_store_le32(certs + 20, 64);
	memset(certs + 48, 0x30, 64);
}

/*
 * The simulated AMD-SP: opens the request under the expected sequence
 * number and seals the response with the next one. Returns the firmware
 * status (0 or INVALID_PARAM when the request does not open).
 */
static uint32_t firmware(const uint8_t *req, uint8_t *resp, uint8_t variant)
{
	struct tb_snp_msg_expect exp = {
		.msg_seqno = sim.fw_last + 1,
		.msg_type = TB_SNP_MSG_REPORT_REQ,
		.msg_version = 1,
		.msg_vmpck = 0,
	};
	uint8_t plain[TB_SNP_MSG_MAX_PAYLOAD];
	uint8_t rsp[32 + TB_SNP_REPORT_SIZE];
	size_t plain_len, rsp_len;

	if (tb_snp_msg_open(&sim.key, req, TB_SNP_PAGE_SIZE, &exp, plain,
			    sizeof(plain), &plain_len) != 0 || plain_len < 96)
		return 0x16;
	rsp_len = build_report_rsp(plain, variant, rsp);
	if (tb_snp_msg_seal(&sim.key, exp.msg_seqno + 1,
			    TB_SNP_MSG_REPORT_RSP, 1, 0, rsp, rsp_len,
			    resp) != 0)
		abort();
	sim.fw_last += 2;
	memcpy(sim.last_good, resp, TB_SNP_PAGE_SIZE);
	sim.have_last_good = 1;
	return 0;
}

static int hostile_request(void *ctx, int extended, const uint8_t *req_page,
			   uint8_t *resp_page, uint8_t *certs_buf,
			   uint32_t *certs_pages, uint64_t *fw_error)
{
	uint8_t action = next_byte();
	uint8_t variant = next_byte();
	size_t i;

	(void)ctx;
	record_exposure(req_page);
	*fw_error = 0;
	switch (action & 7) {
	case 0:
	case 1:
		*fw_error = firmware(req_page, resp_page, variant);
		if (extended && *fw_error == 0)
			fill_certs(certs_buf, *certs_pages, variant);
		return 0;
	case 2:
		/* BUSY, after forwarding when the high bit is set. */
		if (action & 0x80)
			(void)firmware(req_page, resp_page, variant);
		*fw_error = (uint64_t)2 << 32;
		return 0;
	case 3:
		*fw_error = (uint64_t)1 << 32;
		if (extended)
			*certs_pages = variant;
		return 0;
	case 4:
		for (i = 0; i < TB_SNP_PAGE_SIZE && in_pos < in_len; i++)
			resp_page[i] = next_byte();
		return 0;
	case 5:
		if (sim.have_last_good)
			memcpy(resp_page, sim.last_good, TB_SNP_PAGE_SIZE);
		return 0;
	case 6:
		*fw_error = 0x16;
		return 0;
	default:
		(void)firmware(req_page, resp_page, variant);
		return -1;
	}
}

static void no_delay(void *ctx, uint32_t ms)
{
	(void)ctx;
	(void)ms;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tb_test_platform *tp = &fuzz_platform;
	uint8_t report_data[64];
	struct tb_evidence ev;
	size_t heap, call;
	int rc;

	fuzz_attach_once();
	tp->platform.snp_guest_request = hostile_request;
	tp->platform.snp_get_report = NULL;
	tp->platform.delay_ms = no_delay;
	tp->config.tee = TPMBOOT_TEE_SNP;
	tp->config.vmpck = vmpck;
	tp->config.vmpck_index = 0;
	tp->config.msg_seqno = &msg_seqno;
	tp->config.report_vmpl = 0;
	heap = tp->heap_in_use;

	in_data = data;
	in_len = size;
	in_pos = 0;
	memset(&sim, 0, sizeof(sim));
	if (tb_gcm_setkey(&sim.key, vmpck_value, sizeof(vmpck_value)) != 0)
		abort();
	memcpy(vmpck, vmpck_value, sizeof(vmpck));
	msg_seqno = 0;
	memset(report_data, 0xA5, sizeof(report_data));

	for (call = 0; call < MAX_CALLS; call++) {
		report_data[0] = (uint8_t)call;
		rc = tb_attest_get_evidence_with_certs(report_data, &ev);
		if (rc == 0) {
			if (ev.report_len < TB_SNP_REPORT_SIZE ||
			    memcmp(ev.report + 0x50, report_data, 64) != 0)
				abort();
			tb_evidence_free(&ev);
		}
		if (memcmp(vmpck, (uint8_t[32]){ 0 }, sizeof(vmpck)) == 0) {
			rc = tb_attest_get_evidence_with_certs(report_data,
							       &ev);
			if (rc != TPMBOOT_E_ATTEST_VMPCK_WIPED)
				abort();
			break;
		}
		if (msg_seqno != sim.fw_last)
			abort();
	}
	tb_gcm_key_wipe(&sim.key);
	if (tp->heap_in_use != heap)
		abort();
	return 0;
}

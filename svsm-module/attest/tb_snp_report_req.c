/*
 * MSG_REPORT_REQ encoding, MSG_REPORT_RSP decoding and the report request
 * round trip (see tb_snp_report_req.h).
 */
#include <string.h>

#include "attest/tb_snp_report_req.h"
#include "attest/tb_snp_msg.h"
#include "attest/tb_snp_report.h"
#include "core/tb_core.h"

int tb_snp_report_req_encode(const uint8_t user_data[64], uint32_t vmpl,
			     uint32_t key_sel, uint8_t req[96])
{
	if (vmpl > 3 || key_sel > TB_SNP_KEY_SEL_VLEK) {
		tb_err("attest: report request VMPL %u (maximum 3) or key selection %u (maximum 2) invalid",
		       vmpl, key_sel);
		return TPMBOOT_E_ATTEST_REPORT_REQUEST;
	}

	/* user_data[64], vmpl u32, flags u32 (KEY_SEL in bits 1:0),
	 * 24 reserved bytes that must be zero. */
	memset(req, 0, TB_SNP_REPORT_REQ_SIZE);
	memcpy(req, user_data, 64);
	tb_store_le32(req + 0x40, vmpl);
	tb_store_le32(req + 0x44, key_sel);
	return 0;
}

int tb_snp_report_rsp_decode(const uint8_t *rsp, size_t rsp_len,
			     const uint8_t **report, size_t *report_len)
{
	uint32_t status, size;

	*report = NULL;
	*report_len = 0;
	if (rsp_len < TB_SNP_REPORT_RSP_HDR_SIZE) {
		tb_err("attest: MSG_REPORT_RSP of %zu bytes is shorter than its 32-byte header",
		       rsp_len);
		return TPMBOOT_E_ATTEST_REPORT_SIZE;
	}
	status = tb_load_le32(rsp);
	size = tb_load_le32(rsp + 4);
	if (status != 0) {
		tb_err("attest: MSG_REPORT_RSP status 0x%x (0x16 invalid parameters, 0x27 invalid key selection)",
		       status);
		return TPMBOOT_E_ATTEST_REPORT_STATUS;
	}
	if (size < TB_SNP_REPORT_SIZE ||
	    size > rsp_len - TB_SNP_REPORT_RSP_HDR_SIZE) {
		tb_err("attest: MSG_REPORT_RSP REPORT_SIZE %u invalid (minimum %u, message %zu bytes)",
		       size, TB_SNP_REPORT_SIZE, rsp_len);
		return TPMBOOT_E_ATTEST_REPORT_SIZE;
	}
	*report = rsp + TB_SNP_REPORT_RSP_HDR_SIZE;
	*report_len = size;
	return 0;
}

int tb_snp_get_report(struct tb_snp_guest *g, const uint8_t user_data[64],
		      uint32_t vmpl, uint32_t key_sel, uint8_t *report,
		      size_t report_cap, size_t *report_len, uint8_t *certs,
		      uint32_t *certs_pages)
{
	uint8_t req[TB_SNP_REPORT_REQ_SIZE];
	const uint8_t *found;
	uint8_t *rsp;
	size_t rsp_len, found_len;
	int rc;

	*report_len = 0;
	rc = tb_snp_report_req_encode(user_data, vmpl, key_sel, req);
	if (rc != 0)
		return rc;
	rsp = tb_alloc(TB_SNP_MSG_MAX_PAYLOAD);
	if (rsp == NULL) {
		tb_err("attest: no memory for the %u-byte report response",
		       TB_SNP_MSG_MAX_PAYLOAD);
		return TPMBOOT_E_NO_MEMORY;
	}

	rc = tb_snp_guest_send(g, TB_SNP_MSG_REPORT_REQ,
			       TB_SNP_REPORT_MSG_VERSION, req, sizeof(req), rsp,
			       TB_SNP_MSG_MAX_PAYLOAD, &rsp_len, certs,
			       certs_pages);
	if (rc == 0)
		rc = tb_snp_report_rsp_decode(rsp, rsp_len, &found, &found_len);
	if (rc == 0 && found_len > report_cap) {
		tb_err("attest: report of %zu bytes exceeds the %zu-byte buffer",
		       found_len, report_cap);
		rc = TPMBOOT_E_BUFFER_TOO_SMALL;
	}
	if (rc == 0) {
		memcpy(report, found, found_len);
		*report_len = found_len;
	}

	tb_memzero(req, sizeof(req));
	tb_free_secret(rsp, TB_SNP_MSG_MAX_PAYLOAD);
	return rc;
}

/*
 * MSG_REPORT_REQ / MSG_REPORT_RSP over the guest-request driver.
 * Source: AMD SEV-SNP firmware ABI, "MSG_REPORT_REQ" and "MSG_REPORT_RSP"
 * (request layout as asserted in COCONUT-SVSM kernel/src/greq/pld_report.rs).
 */
#ifndef TB_SNP_REPORT_REQ_H
#define TB_SNP_REPORT_REQ_H

#include <stddef.h>
#include <stdint.h>

#include "attest/tb_snp_guest.h"

#define TB_SNP_REPORT_REQ_SIZE 0x60u
#define TB_SNP_REPORT_RSP_HDR_SIZE 0x20u
#define TB_SNP_REPORT_MSG_VERSION 1u

/* KEY_SEL values (MSG_REPORT_REQ flags bits 1:0). */
enum tb_snp_key_sel {
	TB_SNP_KEY_SEL_DEFAULT = 0, /* VLEK if installed, else VCEK */
	TB_SNP_KEY_SEL_VCEK = 1,
	TB_SNP_KEY_SEL_VLEK = 2,
};

/* Encodes MSG_REPORT_REQ into req (96 bytes). Returns 0 or
 * TPMBOOT_E_ATTEST_REPORT_REQUEST for vmpl > 3 or key_sel > 2. */
int tb_snp_report_req_encode(const uint8_t user_data[64], uint32_t vmpl,
			     uint32_t key_sel, uint8_t req[96]);

/*
 * Checks MSG_REPORT_RSP in rsp (rsp_len bytes): status 0 and a
 * REPORT_SIZE of at least 1184 bytes inside the message. Points *report
 * at the report inside rsp and stores its size in *report_len.
 */
int tb_snp_report_rsp_decode(const uint8_t *rsp, size_t rsp_len,
			     const uint8_t **report, size_t *report_len);

/*
 * Requests a report for user_data at vmpl with key_sel and copies it to
 * report (report_cap >= 1184). certs / certs_pages select the extended
 * request as in tb_snp_guest_send() (NULL for a plain request).
 */
int tb_snp_get_report(struct tb_snp_guest *g, const uint8_t user_data[64],
		      uint32_t vmpl, uint32_t key_sel, uint8_t *report,
		      size_t report_cap, size_t *report_len, uint8_t *certs,
		      uint32_t *certs_pages);

#endif /* TB_SNP_REPORT_REQ_H */

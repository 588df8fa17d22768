/*
 * Attestation entry point of the boot flow: returns hardware evidence whose
 * REPORT_DATA (SNP) or REPORTDATA (TDX) is the caller's 64 bytes.
 *
 * The path follows the platform table and configuration attached to core:
 *   - SEV-SNP with platform->snp_guest_request and config->vmpck: the
 *     module's own guest-message driver (tb_snp_guest.h) sends
 *     MSG_REPORT_REQ for config->report_vmpl, signed with the VCEK.
 *   - SEV-SNP with platform->snp_get_report: the platform's driver
 *     returns the report (VMPL 0).
 *   - TDX with platform->tdx_get_quote: the platform returns the quote.
 * In every case the evidence is parsed and checked (REPORT_DATA, VMPL for
 * SNP, debug policy off) before it is returned.
 */
#ifndef TB_ATTEST_H
#define TB_ATTEST_H

#include <stddef.h>
#include <stdint.h>

#include "tpmboot.h"

/* Initial and maximum size of the extended request's certificate buffer,
 * in 4 KiB pages. Linux uses 4 pages; the maximum is a bound chosen here
 * (a VCEK, ASK and ARK chain takes under 8 KiB). */
#define TB_ATTEST_CERTS_PAGES 4u
#define TB_ATTEST_CERTS_MAX_PAGES 64u
#define TB_ATTEST_QUOTE_CAP (16u * 1024u)

/* Evidence buffers, allocated with tb_alloc; free with tb_evidence_free(). */
struct tb_evidence {
	enum tpmboot_tee tee;
	uint8_t *report; /* SEV-SNP ATTESTATION_REPORT */
	size_t report_len;
	uint8_t *certs; /* SEV-SNP certificate table (extended request only) */
	size_t certs_len;
	uint8_t *quote; /* TDX DCAP quote */
	size_t quote_len;
};

/*
 * Gets evidence for report_data into *out (zeroed first). Returns 0 or a
 * TPMBOOT_E_* code; on error *out contains nothing to free.
 */
int tb_attest_get_evidence(const uint8_t report_data[64],
			   struct tb_evidence *out);

/*
 * Like tb_attest_get_evidence() but, on the module's own SNP driver path,
 * sends the extended request and also returns the certificate table
 * (VCEK or VLEK, ASK, ARK as the host supplies them). When the host needs
 * a larger buffer, the request is repeated once with that size (at most
 * 64 pages); otherwise the result is TPMBOOT_E_ATTEST_CERTS_TOO_SMALL.
 * Other paths return no certificates.
 */
int tb_attest_get_evidence_with_certs(const uint8_t report_data[64],
				      struct tb_evidence *out);

/* Frees the evidence buffers; ev may be zeroed or partly filled. */
void tb_evidence_free(struct tb_evidence *ev);

#endif /* TB_ATTEST_H */

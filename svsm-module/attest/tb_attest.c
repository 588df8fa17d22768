/*
 * Attestation entry point: chooses the evidence path from the platform
 * callbacks and checks the evidence against the request (see tb_attest.h).
 */
#include <string.h>

#include "attest/tb_attest.h"
#include "attest/tb_snp_certs.h"
#include "attest/tb_snp_guest.h"
#include "attest/tb_snp_msg.h"
#include "attest/tb_snp_report.h"
#include "attest/tb_snp_report_req.h"
#include "attest/tb_tdx.h"
#include "core/tb_core.h"

#define REPORT_CAP (TB_SNP_MSG_MAX_PAYLOAD - TB_SNP_REPORT_RSP_HDR_SIZE)
#define CERT_TABLE_MAX_ENTRIES 16u

void tb_evidence_free(struct tb_evidence *ev)
{
	tb_free(ev->report);
	tb_free(ev->certs);
	tb_free(ev->quote);
	memset(ev, 0, sizeof(*ev));
}

/* Validates the certificate table and trims certs_len to its last byte. */
static int trim_cert_table(struct tb_evidence *ev)
{
	struct tb_snp_cert_entry entries[CERT_TABLE_MAX_ENTRIES];
	size_t n, i, end = 0;
	int rc;

	rc = tb_snp_cert_table_parse(ev->certs, ev->certs_len, entries,
				     CERT_TABLE_MAX_ENTRIES, &n);
	if (rc != 0)
		return rc;
	for (i = 0; i < n; i++) {
		if ((size_t)entries[i].offset + entries[i].length > end)
			end = (size_t)entries[i].offset + entries[i].length;
	}
	ev->certs_len = end;
	tb_debug("attest: certificate table with %zu entries, %zu bytes", n,
		 end);
	return 0;
}

/* One MSG_REPORT_REQ; with want_certs an extended request of pages. */
static int snp_driver_request(struct tb_snp_guest *g,
			      const uint8_t report_data[64], uint32_t vmpl,
			      struct tb_evidence *ev, uint32_t *pages)
{
	int rc;

	if (*pages != 0) {
		ev->certs = tb_calloc(*pages, TB_SNP_PAGE_SIZE);
		if (ev->certs == NULL) {
			tb_err("attest: no memory for a certificate buffer of %u pages",
			       *pages);
			return TPMBOOT_E_NO_MEMORY;
		}
		ev->certs_len = (size_t)*pages * TB_SNP_PAGE_SIZE;
	}
	rc = tb_snp_get_report(g, report_data, vmpl, TB_SNP_KEY_SEL_VCEK,
			       ev->report, REPORT_CAP, &ev->report_len,
			       ev->certs, *pages != 0 ? pages : NULL);
	if (rc != 0) {
		tb_free(ev->certs);
		ev->certs = NULL;
		ev->certs_len = 0;
	}
	return rc;
}

/* The module's own guest-message driver. */
static int snp_via_driver(const struct tpmboot_platform *p,
			  const struct tpmboot_config *cfg,
			  const uint8_t report_data[64], int want_certs,
			  struct tb_evidence *ev)
{
	struct tb_snp_guest g;
	uint32_t pages = want_certs ? TB_ATTEST_CERTS_PAGES : 0;
	uint32_t first_pages = pages;
	int rc;

	rc = tb_snp_guest_init(&g, p->snp_guest_request, p->ctx, cfg->vmpck,
			       cfg->vmpck_index, cfg->msg_seqno);
	if (rc != 0)
		return rc;
	ev->report = tb_alloc(REPORT_CAP);
	if (ev->report == NULL) {
		tb_snp_guest_fini(&g);
		tb_err("attest: no memory for the %u-byte report buffer",
		       REPORT_CAP);
		return TPMBOOT_E_NO_MEMORY;
	}

	rc = snp_driver_request(&g, report_data, cfg->report_vmpl, ev, &pages);
	/* Retry once, and only with a larger buffer within the bound. */
	if (rc == TPMBOOT_E_ATTEST_CERTS_TOO_SMALL && pages > first_pages &&
	    pages <= TB_ATTEST_CERTS_MAX_PAGES) {
		tb_info("attest: repeating the extended request with %u certificate pages",
			pages);
		rc = snp_driver_request(&g, report_data, cfg->report_vmpl, ev,
					&pages);
	}
	tb_snp_guest_fini(&g);
	if (rc == 0 && ev->certs != NULL)
		rc = trim_cert_table(ev);
	return rc;
}

/* The platform's own report function (VMPL 0). */
static int snp_via_platform(const struct tpmboot_platform *p,
			    const uint8_t report_data[64],
			    struct tb_evidence *ev)
{
	ev->report = tb_alloc(REPORT_CAP);
	if (ev->report == NULL) {
		tb_err("attest: no memory for the %u-byte report buffer",
		       REPORT_CAP);
		return TPMBOOT_E_NO_MEMORY;
	}
	if (p->snp_get_report(p->ctx, report_data, ev->report, REPORT_CAP,
			      &ev->report_len) != 0) {
		tb_err("attest: platform snp_get_report failed");
		return TPMBOOT_E_PLATFORM;
	}
	if (ev->report_len > REPORT_CAP) {
		tb_err("attest: platform report length %zu exceeds the %u-byte buffer",
		       ev->report_len, REPORT_CAP);
		return TPMBOOT_E_ATTEST_REPORT_SIZE;
	}
	return 0;
}

static int get_snp(const uint8_t report_data[64], int want_certs,
		   struct tb_evidence *ev)
{
	const struct tpmboot_platform *p = tb_platform();
	const struct tpmboot_config *cfg = tb_config();
	struct tb_snp_report report;
	uint32_t vmpl;
	int rc;

	if (p->snp_guest_request != NULL && cfg->vmpck != NULL) {
		vmpl = cfg->report_vmpl;
		rc = snp_via_driver(p, cfg, report_data, want_certs, ev);
	} else if (p->snp_get_report != NULL) {
		vmpl = 0;
		rc = snp_via_platform(p, report_data, ev);
	} else {
		tb_err("attest: SEV-SNP needs snp_guest_request with a VMPCK, or snp_get_report");
		return TPMBOOT_E_ATTEST_NO_DRIVER;
	}
	if (rc == 0)
		rc = tb_snp_report_parse(ev->report, ev->report_len, &report);
	if (rc == 0)
		rc = tb_snp_report_check(&report, report_data, vmpl, 0);
	if (rc == 0)
		tb_info("attest: SEV-SNP report version %u, VMPL %u, %zu certificate bytes",
			report.version, report.vmpl, ev->certs_len);
	return rc;
}

static int get_tdx(const uint8_t report_data[64], struct tb_evidence *ev)
{
	const struct tpmboot_platform *p = tb_platform();
	struct tb_tdx_quote quote;
	int rc;

	if (p->tdx_get_quote == NULL) {
		tb_err("attest: TDX needs the tdx_get_quote callback");
		return TPMBOOT_E_ATTEST_NO_DRIVER;
	}
	ev->quote = tb_alloc(TB_ATTEST_QUOTE_CAP);
	if (ev->quote == NULL) {
		tb_err("attest: no memory for the %u-byte quote buffer",
		       TB_ATTEST_QUOTE_CAP);
		return TPMBOOT_E_NO_MEMORY;
	}
	if (p->tdx_get_quote(p->ctx, report_data, ev->quote,
			     TB_ATTEST_QUOTE_CAP, &ev->quote_len) != 0) {
		tb_err("attest: platform tdx_get_quote failed");
		return TPMBOOT_E_PLATFORM;
	}
	if (ev->quote_len > TB_ATTEST_QUOTE_CAP) {
		tb_err("attest: platform quote length %zu exceeds the %u-byte buffer",
		       ev->quote_len, TB_ATTEST_QUOTE_CAP);
		return TPMBOOT_E_ATTEST_TDX_QUOTE_FORMAT;
	}

	rc = tb_tdx_quote_parse(ev->quote, ev->quote_len, &quote);
	if (rc == 0)
		rc = tb_tdx_quote_check(&quote, report_data, 0);
	if (rc == 0)
		tb_info("attest: TDX quote version %u, body type %u, %zu bytes",
			quote.version, quote.body_type, ev->quote_len);
	return rc;
}

static int get_evidence(const uint8_t report_data[64], int want_certs,
			struct tb_evidence *out)
{
	const struct tpmboot_config *cfg = tb_config();
	int rc;

	memset(out, 0, sizeof(*out));
	if (tb_platform() == NULL || cfg == NULL) {
		tb_err("attest: core is not attached to a platform");
		return TPMBOOT_E_INVALID_ARGUMENT;
	}
	out->tee = cfg->tee;
	if (cfg->tee == TPMBOOT_TEE_SNP) {
		rc = get_snp(report_data, want_certs, out);
	} else if (cfg->tee == TPMBOOT_TEE_TDX) {
		rc = get_tdx(report_data, out);
	} else {
		tb_err("attest: unknown TEE %d in the configuration",
		       (int)cfg->tee);
		rc = TPMBOOT_E_UNSUPPORTED;
	}
	if (rc != 0)
		tb_evidence_free(out);
	return rc;
}

int tb_attest_get_evidence(const uint8_t report_data[64],
			   struct tb_evidence *out)
{
	return get_evidence(report_data, 0, out);
}

int tb_attest_get_evidence_with_certs(const uint8_t report_data[64],
				      struct tb_evidence *out)
{
	return get_evidence(report_data, 1, out);
}

/*
 * SEV-SNP guest-request driver (sequence numbers, BUSY and INVALID_LEN
 * handling, VMPCK wipe). Error policy as in Linux arch/x86/coco/sev/core.c
 * (snp_send_guest_request, __handle_guest_request); see tb_snp_guest.h.
 */
#include <string.h>

#include "attest/tb_snp_guest.h"
#include "attest/tb_snp_msg.h"
#include "core/tb_core.h"

static int vmpck_is_zero(const uint8_t *vmpck)
{
	uint8_t acc = 0;
	size_t i;

	for (i = 0; i < TB_SNP_VMPCK_LEN; i++)
		acc |= vmpck[i];
	return acc == 0;
}

int tb_snp_guest_init(struct tb_snp_guest *g,
		      tpmboot_snp_guest_request_fn request, void *ctx,
		      uint8_t *vmpck, uint32_t vmpck_index,
		      uint64_t *msg_seqno)
{
	int rc;

	memset(g, 0, sizeof(*g));
	g->busy_delay_ms = TB_SNP_BUSY_DELAY_MS;
	g->busy_max_retries = TB_SNP_BUSY_MAX_RETRIES;
	if (request == NULL || vmpck == NULL || msg_seqno == NULL ||
	    vmpck_index > TB_SNP_VMPCK_MAX_INDEX) {
		tb_err("attest: guest request driver needs the callback, a VMPCK, its index (got %u, maximum 3) and a sequence counter",
		       vmpck_index);
		return TPMBOOT_E_ATTEST_VMPCK_INVALID;
	}
	if (vmpck_is_zero(vmpck)) {
		tb_err("attest: VMPCK%u is all zero (wiped after an earlier failure)",
		       vmpck_index);
		return TPMBOOT_E_ATTEST_VMPCK_WIPED;
	}

	g->request = request;
	g->ctx = ctx;
	g->caller_vmpck = vmpck;
	g->msg_seqno = msg_seqno;
	g->vmpck_index = (uint8_t)vmpck_index;
	g->key = tb_alloc(sizeof(*g->key));
	g->req_page = tb_alloc_aligned(TB_SNP_PAGE_SIZE, TB_SNP_PAGE_SIZE);
	g->resp_page = tb_alloc_aligned(TB_SNP_PAGE_SIZE, TB_SNP_PAGE_SIZE);
	if (g->key == NULL || g->req_page == NULL || g->resp_page == NULL) {
		tb_err("attest: no memory for the guest request driver (two 4 KiB pages and a GCM key)");
		tb_snp_guest_fini(g);
		return TPMBOOT_E_NO_MEMORY;
	}

	rc = tb_gcm_setkey(g->key, vmpck, TB_SNP_VMPCK_LEN);
	if (rc != 0) {
		tb_err("attest: AES-256-GCM key setup for VMPCK%u failed (error %d)",
		       vmpck_index, rc);
		tb_snp_guest_fini(g);
		return rc;
	}
	return 0;
}

static void wipe_key(struct tb_snp_guest *g)
{
	if (g->key != NULL) {
		tb_gcm_key_wipe(g->key);
		tb_free_secret(g->key, sizeof(*g->key));
		g->key = NULL;
	}
}

void tb_snp_guest_fini(struct tb_snp_guest *g)
{
	wipe_key(g);
	tb_free(g->req_page);
	g->req_page = NULL;
	if (g->resp_page != NULL)
		tb_memzero(g->resp_page, TB_SNP_PAGE_SIZE);
	tb_free(g->resp_page);
	g->resp_page = NULL;
	g->request = NULL;
}

void tb_snp_guest_disable(struct tb_snp_guest *g)
{
	wipe_key(g);
	if (g->caller_vmpck != NULL)
		tb_memzero(g->caller_vmpck, TB_SNP_VMPCK_LEN);
	if (!g->disabled)
		tb_err("attest: VMPCK%u wiped; further guest requests are rejected",
		       g->vmpck_index);
	g->disabled = 1;
}

/*
 * Issues the message in req_page until the host returns neither BUSY nor,
 * for an extended request, INVALID_LEN. On INVALID_LEN the message is
 * resent as a plain request, *invalid_len is set and *needed_pages
 * receives the host's page count. Returns 0 when the firmware completed the request.
 */
static int issue_request(struct tb_snp_guest *g, uint8_t *certs,
			 uint32_t *certs_pages, int *invalid_len,
			 uint32_t *needed_pages)
{
	int extended = certs != NULL;
	uint32_t busy_count = 0;
	uint32_t pages;
	uint64_t exit_info2;
	uint32_t vmm_error, fw_error;

	*invalid_len = 0;
	*needed_pages = 0;
	for (;;) {
		pages = extended ? *certs_pages : 0;
		exit_info2 = 0;
		memset(g->resp_page, 0, TB_SNP_PAGE_SIZE);
		if (g->request(g->ctx, extended, g->req_page, g->resp_page,
			       extended ? certs : NULL, &pages,
			       &exit_info2) != 0) {
			tb_err("attest: platform guest request transport failed (extended %d)",
			       extended);
			return TPMBOOT_E_ATTEST_TRANSPORT;
		}

		vmm_error = (uint32_t)(exit_info2 >> TB_SNP_VMM_ERR_SHIFT);
		fw_error = (uint32_t)exit_info2;
		if (vmm_error == TB_SNP_VMM_ERR_BUSY) {
			if (busy_count >= g->busy_max_retries) {
				tb_err("attest: guest request still BUSY after %u retries",
				       busy_count);
				return TPMBOOT_E_ATTEST_BUSY_TIMEOUT;
			}
			busy_count++;
			tb_warn("attest: guest request BUSY, retry %u of %u in %u ms",
				busy_count, g->busy_max_retries,
				g->busy_delay_ms);
			tb_delay_ms(g->busy_delay_ms);
			continue;
		}
		if (vmm_error == TB_SNP_VMM_ERR_INVALID_LEN && extended) {
			/* Resend the same ciphertext as a plain request so the
			 * firmware consumes this sequence number. */
			*invalid_len = 1;
			*needed_pages = pages;
			extended = 0;
			tb_warn("attest: certificate buffer of %u pages too small, host needs %u; resending as a plain request",
				*certs_pages, pages);
			continue;
		}
		if (vmm_error != 0) {
			tb_err("attest: guest request failed with VMM error %u (exit_info2 0x%llx)",
			       vmm_error, (unsigned long long)exit_info2);
			return TPMBOOT_E_ATTEST_VMM;
		}
		if (fw_error != 0) {
			tb_err("attest: guest request failed with firmware status 0x%x",
			       fw_error);
			return TPMBOOT_E_ATTEST_FIRMWARE;
		}
		return 0;
	}
}

int tb_snp_guest_send(struct tb_snp_guest *g, uint8_t msg_type,
		      uint8_t msg_version, const uint8_t *req, size_t req_len,
		      uint8_t *rsp, size_t rsp_cap, size_t *rsp_len,
		      uint8_t *certs, uint32_t *certs_pages)
{
	struct tb_snp_msg_expect exp;
	uint32_t needed_pages;
	int invalid_len;
	uint64_t seqno;
	int rc;

	*rsp_len = 0;
	if (g->disabled || g->key == NULL) {
		tb_err("attest: guest request rejected: VMPCK%u was wiped",
		       g->vmpck_index);
		return TPMBOOT_E_ATTEST_VMPCK_WIPED;
	}
	if ((certs == NULL) != (certs_pages == NULL)) {
		tb_err("attest: extended guest request needs both the certificate buffer and its page count");
		return TPMBOOT_E_INVALID_ARGUMENT;
	}

	/* Request n uses last + 1; the response carries last + 2. */
	if (*g->msg_seqno > UINT64_MAX - 2) {
		tb_err("attest: sequence number %llu of VMPCK%u would wrap",
		       (unsigned long long)*g->msg_seqno, g->vmpck_index);
		return TPMBOOT_E_ATTEST_SEQNO_EXHAUSTED;
	}
	seqno = *g->msg_seqno + 1;
	rc = tb_snp_msg_seal(g->key, seqno, msg_type, msg_version,
			     g->vmpck_index, req, req_len, g->req_page);
	if (rc != 0)
		return rc;

	rc = issue_request(g, certs, certs_pages, &invalid_len,
			   &needed_pages);
	if (rc != 0) {
		tb_snp_guest_disable(g);
		return rc;
	}

	/* The firmware accepted seqno and responded with seqno + 1. */
	*g->msg_seqno = seqno + 1;

	exp.msg_seqno = seqno + 1;
	exp.msg_type = (uint8_t)(msg_type + 1);
	exp.msg_version = msg_version;
	exp.msg_vmpck = g->vmpck_index;
	rc = tb_snp_msg_open(g->key, g->resp_page, TB_SNP_PAGE_SIZE, &exp, rsp,
			     rsp_cap, rsp_len);
	tb_memzero(g->resp_page, TB_SNP_PAGE_SIZE);
	if (rc != 0) {
		tb_snp_guest_disable(g);
		return rc;
	}

	if (invalid_len) {
		tb_memzero(rsp, rsp_cap);
		*rsp_len = 0;
		*certs_pages = needed_pages;
		tb_err("attest: extended guest request needs a certificate buffer of %u pages",
		       needed_pages);
		return TPMBOOT_E_ATTEST_CERTS_TOO_SMALL;
	}
	return 0;
}

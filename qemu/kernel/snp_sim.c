/*
 * snp_guest_request callback of the harness: instead of a GHCB VMGEXIT,
 * the request page goes to the AMD-SP simulator (tests/peers/amdsp) over
 * COM2 (amdsp_link.c). Kind 1 is SNP_GUEST_REQUEST; kind 2 is the
 * extended request, whose response payload is the response page followed
 * by the certificate buffer.
 */
#include "platform.h"

#define SIM_KIND_GUEST_REQUEST 1
#define SIM_KIND_EXT_GUEST_REQUEST 2
#define PAGE 4096u
/* GHCB SW_EXITINFO2 upper half: the hypervisor's error. */
#define VMM_ERROR_INVALID_LEN 1u

int harness_snp_guest_request(void *ctx, int extended,
			      const uint8_t *req_page, uint8_t *resp_page,
			      uint8_t *certs_buf, uint32_t *certs_pages,
			      uint64_t *fw_error)
{
	struct harness_platform *hp = ctx;
	uint16_t kind = extended ? SIM_KIND_EXT_GUEST_REQUEST
				 : SIM_KIND_GUEST_REQUEST;
	uint32_t guest_pages = extended && certs_pages != NULL ? *certs_pages : 0;
	struct amdsp_response resp;
	uint32_t certs_len;

	hp->guest_requests++;
	if (extended && (certs_buf == NULL || certs_pages == NULL))
		return -1;
	if (amdsp_send(hp, kind, guest_pages, req_page, PAGE) != 0 ||
	    amdsp_receive_header(hp, kind, &resp) != 0)
		return -1;

	/* Payload: the response page, then (kind 2, success only) exactly
	 * the guest's certificate buffer. */
	certs_len = resp.payload_len >= PAGE ? resp.payload_len - PAGE : 0;
	if (resp.payload_len < PAGE ||
	    certs_len > (uint64_t)guest_pages * PAGE) {
		kprintf("amdsp: response payload of %u bytes does not fit a "
			"page plus %u certificate pages\n", resp.payload_len,
			guest_pages);
		amdsp_skip(hp, resp.payload_len);
		return -1;
	}
	if (amdsp_receive(hp, resp_page, PAGE) != 0 ||
	    (certs_len > 0 && amdsp_receive(hp, certs_buf, certs_len) != 0))
		return -1;

	/* The module takes the whole SW_EXITINFO2: the VMM error in the
	 * upper half, the firmware status in the lower half. */
	*fw_error = resp.exit_info2;
	if (extended && (resp.exit_info2 >> 32) == VMM_ERROR_INVALID_LEN)
		*certs_pages = resp.certs_pages;
	if (resp.exit_info2 != 0)
		kprintf("amdsp: guest request %u returned SW_EXITINFO2 0x%llx\n",
			hp->guest_requests,
			(unsigned long long)resp.exit_info2);
	return 0;
}

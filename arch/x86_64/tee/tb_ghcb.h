/*
 * SEV-SNP guest request through the GHCB: fills the GHCB fields, writes the
 * GHCB MSR and executes VMGEXIT. A platform uses this to implement the
 * snp_guest_request callback on real hardware. The module itself does not
 * call it, so host builds compile it but do not run it.
 *
 * Source: AMD GHCB specification (SNP Guest Request, NAE events
 * 0x8000_0011 and 0x8000_0012); field offsets as in Linux
 * struct ghcb_save_area (arch/x86/include/asm/svm.h).
 */
#ifndef TB_GHCB_H
#define TB_GHCB_H

#include <stdint.h>

#define TB_GHCB_MSR 0xC0010130u
#define TB_SVM_VMGEXIT_GUEST_REQUEST 0x80000011ull
#define TB_SVM_VMGEXIT_EXT_GUEST_REQUEST 0x80000012ull

struct tb_ghcb_guest_request {
	/* Inputs: guest-physical addresses of shared, page-aligned,
	 * distinct pages. certs_* are used when extended is nonzero. */
	uint64_t req_gpa;
	uint64_t resp_gpa;
	int extended;
	uint64_t certs_gpa;
	uint64_t certs_pages;
	uint16_t protocol_version; /* negotiated GHCB protocol version */

	/* Outputs. */
	uint64_t exit_info2;   /* VMM error << 32 | firmware status */
	uint64_t certs_pages_needed; /* RBX after INVALID_LEN */
};

/*
 * Issues the guest request with the GHCB mapped at ghcb (4 KiB, shared)
 * whose guest-physical address is ghcb_gpa. Returns 0 when the hypervisor
 * completed the exit (r->exit_info2 then contains the result), 1 when it
 * reported an exception to inject, 2 for any other hypervisor error.
 * Must run with interrupts disabled or on a per-CPU GHCB that nothing
 * else uses meanwhile.
 */
int tb_ghcb_guest_request(void *ghcb, uint64_t ghcb_gpa,
			  struct tb_ghcb_guest_request *r);

#endif /* TB_GHCB_H */

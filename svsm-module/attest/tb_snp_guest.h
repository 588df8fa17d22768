/*
 * SEV-SNP guest-request driver: sends guest messages to the AMD-SP through
 * the platform's snp_guest_request callback and keeps the VMPCK sequence
 * number in step with the firmware.
 *
 * Sequence numbers: *msg_seqno contains the last sequence number the
 * firmware consumed (0 before the first request). A request uses
 * *msg_seqno + 1, the firmware responds with *msg_seqno + 2, and after a
 * completed exchange *msg_seqno becomes *msg_seqno + 2. This matches the
 * Linux sev-guest driver and the firmware, which accepts only the exact
 * expected number.
 *
 * Some failures could leave the guest and the firmware with different
 * counters: a transport failure, a VMM or firmware error, BUSY past the
 * retry limit, or a response that fails its checks. Each of them disables
 * the driver, because reusing the key could then reuse a GCM IV. The GCM
 * key schedule and the caller's VMPCK are wiped, and every later request
 * returns TPMBOOT_E_ATTEST_VMPCK_WIPED.
 */
#ifndef TB_SNP_GUEST_H
#define TB_SNP_GUEST_H

#include <stddef.h>
#include <stdint.h>

#include "tpmboot.h"
#include "crypto/tb_fast.h"

/* GHCB SW_EXITINFO2 upper half (VMM error codes, Linux uapi sev-guest.h). */
#define TB_SNP_VMM_ERR_SHIFT 32
#define TB_SNP_VMM_ERR_INVALID_LEN 1u
#define TB_SNP_VMM_ERR_BUSY 2u

/* Linux retries BUSY every 2 s for up to 60 s (SNP_REQ_RETRY_DELAY,
 * SNP_REQ_MAX_RETRY_DURATION); these defaults give the same bound. */
#define TB_SNP_BUSY_DELAY_MS 2000u
#define TB_SNP_BUSY_MAX_RETRIES 30u

struct tb_snp_guest {
	tpmboot_snp_guest_request_fn request;
	void *ctx;

	struct tb_gcm_key *key; /* tb_alloc'ed; NULL once wiped */
	uint8_t *caller_vmpck;  /* wiped together with key */
	uint64_t *msg_seqno;    /* caller's counter, updated in place */
	uint8_t vmpck_index;
	int disabled;

	uint8_t *req_page;  /* 4 KiB, ciphertext only */
	uint8_t *resp_page; /* 4 KiB, as copied by the platform */

	/* Delay between BUSY retries of one message and the maximum number
	 * of retries; tests may lower both. */
	uint32_t busy_delay_ms;
	uint32_t busy_max_retries;
};

/*
 * Sets up the driver for vmpck (32 bytes, not all zero) with index
 * vmpck_index (0..3) and the caller's counter msg_seqno. request and ctx
 * are the platform transport. The driver keeps pointers to vmpck and
 * msg_seqno until tb_snp_guest_fini(). An all-zero VMPCK is treated as
 * already wiped (TPMBOOT_E_ATTEST_VMPCK_WIPED).
 */
int tb_snp_guest_init(struct tb_snp_guest *g,
		      tpmboot_snp_guest_request_fn request, void *ctx,
		      uint8_t *vmpck, uint32_t vmpck_index,
		      uint64_t *msg_seqno);

/* Wipes the key schedule (not the caller's VMPCK) and frees the pages. */
void tb_snp_guest_fini(struct tb_snp_guest *g);

/* Wipes the key schedule and the caller's VMPCK and refuses later
 * requests. */
void tb_snp_guest_disable(struct tb_snp_guest *g);

/*
 * Sends one request of msg_type / msg_version with req_len bytes of
 * plaintext and decrypts the response (type + 1) into rsp (rsp_cap bytes),
 * storing its length in *rsp_len.
 *
 * certs and certs_pages select the extended request (NULL for a plain
 * one): certs is a zeroed buffer of *certs_pages 4 KiB pages that receives
 * the certificate table. When the host reports INVALID_LEN, the same
 * message is resent as a plain request so that the firmware consumes its
 * sequence number, *certs_pages receives the page count the host needs and
 * the result is TPMBOOT_E_ATTEST_CERTS_TOO_SMALL with the driver still
 * usable.
 */
int tb_snp_guest_send(struct tb_snp_guest *g, uint8_t msg_type,
		      uint8_t msg_version, const uint8_t *req, size_t req_len,
		      uint8_t *rsp, size_t rsp_cap, size_t *rsp_len,
		      uint8_t *certs, uint32_t *certs_pages);

#endif /* TB_SNP_GUEST_H */

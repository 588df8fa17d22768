/*
 * SEV-SNP guest message format: the 0x60-byte header and the AES-256-GCM
 * protection of the payload under a VMPCK.
 *
 * Source: AMD SEV-SNP firmware ABI specification, "Guest Messages"
 * (struct snp_guest_msg_hdr in Linux include/uapi/linux/sev-guest.h).
 * All multi-byte fields are little-endian. The IV is the 64-bit sequence
 * number followed by four zero bytes, and the AAD is header bytes
 * 0x30..0x5F (algo up to the end of the header).
 */
#ifndef TB_SNP_MSG_H
#define TB_SNP_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/tb_fast.h"

#define TB_SNP_PAGE_SIZE 4096u
#define TB_SNP_MSG_HDR_SIZE 0x60u
#define TB_SNP_MSG_MAX_PAYLOAD (TB_SNP_PAGE_SIZE - TB_SNP_MSG_HDR_SIZE)
#define TB_SNP_AUTHTAG_LEN 16u
#define TB_SNP_VMPCK_LEN 32u
#define TB_SNP_VMPCK_MAX_INDEX 3u

/* Header field offsets. */
#define TB_SNP_HDR_AUTHTAG 0x00u
#define TB_SNP_HDR_MSG_SEQNO 0x20u
#define TB_SNP_HDR_ALGO 0x30u
#define TB_SNP_HDR_HDR_VERSION 0x31u
#define TB_SNP_HDR_HDR_SZ 0x32u
#define TB_SNP_HDR_MSG_TYPE 0x34u
#define TB_SNP_HDR_MSG_VERSION 0x35u
#define TB_SNP_HDR_MSG_SZ 0x36u
#define TB_SNP_HDR_MSG_VMPCK 0x3Cu
#define TB_SNP_HDR_AAD_LEN (TB_SNP_MSG_HDR_SIZE - TB_SNP_HDR_ALGO)

#define TB_SNP_AEAD_AES_256_GCM 1u
#define TB_SNP_MSG_HDR_VERSION 1u

/* Message types (firmware ABI, enum msg_type). */
enum tb_snp_msg_type {
	TB_SNP_MSG_CPUID_REQ = 1,
	TB_SNP_MSG_KEY_REQ = 3,
	TB_SNP_MSG_REPORT_REQ = 5,
	TB_SNP_MSG_REPORT_RSP = 6,
};

/* Decoded header fields (the tag is not copied). */
struct tb_snp_msg_hdr {
	uint64_t msg_seqno;
	uint8_t algo;
	uint8_t hdr_version;
	uint16_t hdr_sz;
	uint8_t msg_type;
	uint8_t msg_version;
	uint16_t msg_sz;
	uint8_t msg_vmpck;
};

/*
 * Values a received message must carry. For a response these are the
 * request's sequence number + 1, type + 1, the same version and the same
 * VMPCK index.
 */
struct tb_snp_msg_expect {
	uint64_t msg_seqno;
	uint8_t msg_type;
	uint8_t msg_version;
	uint8_t msg_vmpck;
};

/* Decodes the header at the start of page (page_len >= 0x60). Checks
 * nothing; returns 0 or TPMBOOT_E_ATTEST_MSG_SIZE. */
int tb_snp_msg_parse_hdr(const uint8_t *page, size_t page_len,
			 struct tb_snp_msg_hdr *hdr);

/*
 * Builds a message in page (4096 bytes): writes the header for seqno,
 * type, version and vmpck index, encrypts plain_len bytes of plain under
 * key into page + 0x60 and stores the tag. The rest of the page is zeroed.
 * Returns 0, TPMBOOT_E_ATTEST_MSG_SIZE when the payload does not fit, or
 * TPMBOOT_E_INVALID_ARGUMENT for a zero sequence number.
 */
int tb_snp_msg_seal(const struct tb_gcm_key *key, uint64_t seqno,
		    uint8_t msg_type, uint8_t msg_version, uint8_t vmpck_index,
		    const uint8_t *plain, size_t plain_len, uint8_t *page);

/*
 * Checks the header in page (page_len bytes) against exp and the fixed
 * values (algo, header version and size), then authenticates and decrypts
 * the payload into plain (plain_cap bytes) and stores its length in
 * *plain_len. On any error plain is zeroed and the error names the first
 * field that failed (TPMBOOT_E_ATTEST_MSG_*).
 */
int tb_snp_msg_open(const struct tb_gcm_key *key, const uint8_t *page,
		    size_t page_len, const struct tb_snp_msg_expect *exp,
		    uint8_t *plain, size_t plain_cap, size_t *plain_len);

#endif /* TB_SNP_MSG_H */

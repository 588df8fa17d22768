/*
 * SEV-SNP guest message sealing and opening (AES-256-GCM under a VMPCK).
 * Source: AMD SEV-SNP firmware ABI, "Guest Messages"; response checks as in
 * Linux drivers/virt/coco/sev-guest (verify_and_dec_payload) and
 * COCONUT-SVSM kernel/src/greq/msg.rs.
 */
#include <string.h>

#include "attest/tb_snp_msg.h"
#include "core/tb_core.h"

/* IV = le64(msg_seqno) || 00 00 00 00. */
static void build_iv(uint64_t seqno, uint8_t iv[12])
{
	memset(iv, 0, 12);
	tb_store_le64(iv, seqno);
}

int tb_snp_msg_parse_hdr(const uint8_t *page, size_t page_len,
			 struct tb_snp_msg_hdr *hdr)
{
	if (page_len < TB_SNP_MSG_HDR_SIZE) {
		tb_err("attest: guest message of %zu bytes is shorter than its 96-byte header",
		       page_len);
		return TPMBOOT_E_ATTEST_MSG_SIZE;
	}

	hdr->msg_seqno = tb_load_le64(page + TB_SNP_HDR_MSG_SEQNO);
	hdr->algo = page[TB_SNP_HDR_ALGO];
	hdr->hdr_version = page[TB_SNP_HDR_HDR_VERSION];
	hdr->hdr_sz = tb_load_le16(page + TB_SNP_HDR_HDR_SZ);
	hdr->msg_type = page[TB_SNP_HDR_MSG_TYPE];
	hdr->msg_version = page[TB_SNP_HDR_MSG_VERSION];
	hdr->msg_sz = tb_load_le16(page + TB_SNP_HDR_MSG_SZ);
	hdr->msg_vmpck = page[TB_SNP_HDR_MSG_VMPCK];
	return 0;
}

int tb_snp_msg_seal(const struct tb_gcm_key *key, uint64_t seqno,
		    uint8_t msg_type, uint8_t msg_version, uint8_t vmpck_index,
		    const uint8_t *plain, size_t plain_len, uint8_t *page)
{
	uint8_t iv[12];

	if (seqno == 0) {
		tb_err("attest: guest message sequence number 0 is invalid");
		return TPMBOOT_E_INVALID_ARGUMENT;
	}
	if (plain_len > TB_SNP_MSG_MAX_PAYLOAD - TB_SNP_AUTHTAG_LEN) {
		tb_err("attest: guest message payload of %zu bytes exceeds %u",
		       plain_len,
		       TB_SNP_MSG_MAX_PAYLOAD - TB_SNP_AUTHTAG_LEN);
		return TPMBOOT_E_ATTEST_MSG_SIZE;
	}

	/* Header: every reserved byte and the tag area start zeroed. */
	memset(page, 0, TB_SNP_PAGE_SIZE);
	tb_store_le64(page + TB_SNP_HDR_MSG_SEQNO, seqno);
	page[TB_SNP_HDR_ALGO] = TB_SNP_AEAD_AES_256_GCM;
	page[TB_SNP_HDR_HDR_VERSION] = TB_SNP_MSG_HDR_VERSION;
	tb_store_le16(page + TB_SNP_HDR_HDR_SZ, TB_SNP_MSG_HDR_SIZE);
	page[TB_SNP_HDR_MSG_TYPE] = msg_type;
	page[TB_SNP_HDR_MSG_VERSION] = msg_version;
	tb_store_le16(page + TB_SNP_HDR_MSG_SZ, (uint16_t)plain_len);
	page[TB_SNP_HDR_MSG_VMPCK] = vmpck_index;

	/* Payload and tag; the AAD is header bytes 0x30..0x5F. */
	build_iv(seqno, iv);
	tb_gcm_encrypt(key, iv, page + TB_SNP_HDR_ALGO, TB_SNP_HDR_AAD_LEN,
		       plain, page + TB_SNP_MSG_HDR_SIZE, plain_len,
		       page + TB_SNP_HDR_AUTHTAG);
	return 0;
}

/* Checks the decoded header against the fixed values and exp. */
static int check_hdr(const struct tb_snp_msg_hdr *hdr,
		     const struct tb_snp_msg_expect *exp, size_t page_len)
{
	if (hdr->algo != TB_SNP_AEAD_AES_256_GCM ||
	    hdr->hdr_version != TB_SNP_MSG_HDR_VERSION ||
	    hdr->hdr_sz != TB_SNP_MSG_HDR_SIZE) {
		tb_err("attest: guest message header invalid: algo %u, header version %u, header size %u",
		       hdr->algo, hdr->hdr_version, hdr->hdr_sz);
		return TPMBOOT_E_ATTEST_MSG_HEADER;
	}
	if (hdr->msg_type != exp->msg_type) {
		tb_err("attest: guest message type %u, expected %u",
		       hdr->msg_type, exp->msg_type);
		return TPMBOOT_E_ATTEST_MSG_TYPE;
	}
	if (hdr->msg_version != exp->msg_version) {
		tb_err("attest: guest message version %u, expected %u",
		       hdr->msg_version, exp->msg_version);
		return TPMBOOT_E_ATTEST_MSG_VERSION;
	}
	if (hdr->msg_seqno != exp->msg_seqno) {
		tb_err("attest: guest message sequence number %llu, expected %llu",
		       (unsigned long long)hdr->msg_seqno,
		       (unsigned long long)exp->msg_seqno);
		return TPMBOOT_E_ATTEST_MSG_SEQNO;
	}
	if (hdr->msg_vmpck != exp->msg_vmpck) {
		tb_err("attest: guest message VMPCK index %u, expected %u",
		       hdr->msg_vmpck, exp->msg_vmpck);
		return TPMBOOT_E_ATTEST_MSG_VMPCK;
	}
	if ((size_t)hdr->msg_sz > page_len - TB_SNP_MSG_HDR_SIZE ||
	    hdr->msg_sz > TB_SNP_MSG_MAX_PAYLOAD - TB_SNP_AUTHTAG_LEN) {
		tb_err("attest: guest message payload size %u exceeds the %zu-byte page",
		       hdr->msg_sz, page_len);
		return TPMBOOT_E_ATTEST_MSG_SIZE;
	}
	return 0;
}

int tb_snp_msg_open(const struct tb_gcm_key *key, const uint8_t *page,
		    size_t page_len, const struct tb_snp_msg_expect *exp,
		    uint8_t *plain, size_t plain_cap, size_t *plain_len)
{
	struct tb_snp_msg_hdr hdr;
	uint8_t iv[12];
	int rc;

	*plain_len = 0;
	rc = tb_snp_msg_parse_hdr(page, page_len, &hdr);
	if (rc == 0)
		rc = check_hdr(&hdr, exp, page_len);
	if (rc == 0 && hdr.msg_sz > plain_cap) {
		tb_err("attest: guest message payload of %u bytes exceeds the %zu-byte output buffer",
		       hdr.msg_sz, plain_cap);
		rc = TPMBOOT_E_ATTEST_MSG_SIZE;
	}
	if (rc != 0) {
		tb_memzero(plain, plain_cap);
		return rc;
	}

	/* The IV comes from the received header, already checked above. */
	build_iv(hdr.msg_seqno, iv);
	rc = tb_gcm_decrypt(key, iv, page + TB_SNP_HDR_ALGO,
			    TB_SNP_HDR_AAD_LEN, page + TB_SNP_MSG_HDR_SIZE,
			    plain, hdr.msg_sz, page + TB_SNP_HDR_AUTHTAG);
	if (rc != 0) {
		tb_memzero(plain, plain_cap);
		tb_err("attest: guest message %llu (type %u) failed authentication",
		       (unsigned long long)hdr.msg_seqno, hdr.msg_type);
		return TPMBOOT_E_ATTEST_MSG_AUTH;
	}

	*plain_len = hdr.msg_sz;
	return 0;
}

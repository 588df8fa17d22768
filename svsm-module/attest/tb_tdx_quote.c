/*
 * DCAP TDX quote v4 / v5 parser and self-check (see tb_tdx.h).
 *
 * v4: 48-byte header, TD report body (584 bytes) at 0x30, then
 * u32 signature_data_len and the signature data.
 * v5: 48-byte header, body descriptor {u16 body_type, u32 body_size} at
 * 0x30, body at 0x36 (type 2: 584 bytes, type 3: 648 bytes), then the
 * signature data length and data. The signed part ends before the length.
 */
#include <string.h>

#include "attest/tb_tdx.h"
#include "core/tb_core.h"

#define QUOTE_V5_DESCRIPTOR_SIZE 6u

/* Reads the 48-byte header. */
static void read_header(const uint8_t *buf, struct tb_tdx_quote *q)
{
	q->version = tb_load_le16(buf);
	q->att_key_type = tb_load_le16(buf + 2);
	q->tee_type = tb_load_le32(buf + 4);
	q->qe_svn = tb_load_le16(buf + 8);
	q->pce_svn = tb_load_le16(buf + 10);
	memcpy(q->qe_vendor_id, buf + 12, 16);
	memcpy(q->user_data, buf + 28, 20);
}

/* Reads the TD report body; body type 3 adds TEE_TCB_SVN2 and MRSERVICETD. */
static void read_body(const uint8_t *body, struct tb_tdx_quote *q)
{
	memcpy(q->tee_tcb_svn, body, 16);
	memcpy(q->mrseam, body + 16, 48);
	memcpy(q->mrsignerseam, body + 64, 48);
	q->seam_attributes = tb_load_le64(body + 112);
	tb_tdx_read_td_info(body + 120, &q->td);
	memcpy(q->reportdata, body + 520, 64);
	if (q->body_type == TB_TDX_QUOTE_BODY_TYPE_15) {
		memcpy(q->tee_tcb_svn2, body + 584, 16);
		memcpy(q->mrservicetd, body + 600, 48);
	}
}

/* Finds the body: fixed for v4, from the descriptor for v5. */
static int locate_body(const uint8_t *buf, size_t len, struct tb_tdx_quote *q,
		       size_t *body_offset)
{
	if (q->version == 4) {
		q->body_type = TB_TDX_QUOTE_BODY_TYPE_10;
		q->body_size = TB_TDX_QUOTE_BODY_10_SIZE;
		*body_offset = TB_TDX_QUOTE_HEADER_SIZE;
		return 0;
	}

	if (len < TB_TDX_QUOTE_HEADER_SIZE + QUOTE_V5_DESCRIPTOR_SIZE) {
		tb_err("attest: TDX quote v5 of %zu bytes has no body descriptor",
		       len);
		return TPMBOOT_E_ATTEST_TDX_QUOTE_FORMAT;
	}
	q->body_type = tb_load_le16(buf + TB_TDX_QUOTE_HEADER_SIZE);
	q->body_size = tb_load_le32(buf + TB_TDX_QUOTE_HEADER_SIZE + 2);
	if (!(q->body_type == TB_TDX_QUOTE_BODY_TYPE_10 &&
	      q->body_size == TB_TDX_QUOTE_BODY_10_SIZE) &&
	    !(q->body_type == TB_TDX_QUOTE_BODY_TYPE_15 &&
	      q->body_size == TB_TDX_QUOTE_BODY_15_SIZE)) {
		tb_err("attest: TDX quote v5 body type %u with size %u is not supported (2/584 or 3/648)",
		       q->body_type, q->body_size);
		return TPMBOOT_E_ATTEST_TDX_QUOTE_VERSION;
	}
	*body_offset = TB_TDX_QUOTE_HEADER_SIZE + QUOTE_V5_DESCRIPTOR_SIZE;
	return 0;
}

int tb_tdx_quote_parse(const uint8_t *buf, size_t len,
		       struct tb_tdx_quote *q)
{
	size_t body_offset;
	int rc;

	memset(q, 0, sizeof(*q));
	if (len < TB_TDX_QUOTE_HEADER_SIZE) {
		tb_err("attest: TDX quote of %zu bytes is shorter than its 48-byte header",
		       len);
		return TPMBOOT_E_ATTEST_TDX_QUOTE_FORMAT;
	}
	read_header(buf, q);
	if (q->version != 4 && q->version != 5) {
		tb_err("attest: TDX quote version %u is not supported (4 or 5)",
		       q->version);
		return TPMBOOT_E_ATTEST_TDX_QUOTE_VERSION;
	}
	if (q->tee_type != TB_TDX_TEE_TYPE_TDX) {
		tb_err("attest: quote TEE type 0x%x is not TDX (0x81)",
		       q->tee_type);
		return TPMBOOT_E_ATTEST_TDX_QUOTE_FORMAT;
	}

	rc = locate_body(buf, len, q, &body_offset);
	if (rc != 0)
		return rc;
	q->signed_len = body_offset + q->body_size;
	if (len < q->signed_len + 4) {
		tb_err("attest: TDX quote v%u of %zu bytes is truncated (body ends at %zu)",
		       q->version, len, q->signed_len);
		return TPMBOOT_E_ATTEST_TDX_QUOTE_FORMAT;
	}
	read_body(buf + body_offset, q);

	/* Signature data: length, then that many bytes inside buf. */
	q->signature_data_len = tb_load_le32(buf + q->signed_len);
	if ((uint64_t)q->signature_data_len > len - q->signed_len - 4) {
		tb_err("attest: TDX quote signature data of %u bytes exceeds the %zu-byte quote",
		       q->signature_data_len, len);
		return TPMBOOT_E_ATTEST_TDX_QUOTE_FORMAT;
	}
	q->signature_data = buf + q->signed_len + 4;
	q->total_len = q->signed_len + 4 + q->signature_data_len;
	return 0;
}

int tb_tdx_quote_check(const struct tb_tdx_quote *quote,
		       const uint8_t report_data[64], int allow_debug)
{
	if (!tb_ct_memeq(quote->reportdata, report_data, 64)) {
		tb_err("attest: TDX quote REPORTDATA differs from the requested value (quote v%u)",
		       quote->version);
		return TPMBOOT_E_ATTEST_REPORT_DATA;
	}
	if (!allow_debug &&
	    (quote->td.attributes & TB_TDX_ATTRIBUTES_DEBUG) != 0) {
		tb_err("attest: TD ATTRIBUTES 0x%llx has DEBUG set",
		       (unsigned long long)quote->td.attributes);
		return TPMBOOT_E_ATTEST_REPORT_DEBUG;
	}
	return 0;
}

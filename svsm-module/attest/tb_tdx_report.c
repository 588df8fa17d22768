/*
 * TDREPORT_STRUCT parser (see tb_tdx.h). Layout: REPORTMACSTRUCT at 0x000
 * (256 bytes), TEE_TCB_INFO at 0x100 (239 bytes), TDINFO at 0x200
 * (512 bytes); Intel TDX module ABI specification, "TDREPORT_STRUCT".
 */
#include <string.h>

#include "attest/tb_tdx.h"
#include "core/tb_core.h"

void tb_tdx_read_td_info(const uint8_t *p, struct tb_tdx_td_info *td)
{
	size_t i;

	td->attributes = tb_load_le64(p);
	td->xfam = tb_load_le64(p + 0x08);
	memcpy(td->mrtd, p + 0x10, 48);
	memcpy(td->mrconfigid, p + 0x40, 48);
	memcpy(td->mrowner, p + 0x70, 48);
	memcpy(td->mrownerconfig, p + 0xA0, 48);
	for (i = 0; i < 4; i++)
		memcpy(td->rtmr[i], p + 0xD0 + i * 48, 48);
}

int tb_tdx_report_parse(const uint8_t *buf, size_t len,
			struct tb_tdx_report *r)
{
	const uint8_t *tcb = buf + TB_TDX_REPORT_TEE_TCB_INFO_OFFSET;
	const uint8_t *info = buf + TB_TDX_REPORT_TDINFO_OFFSET;

	memset(r, 0, sizeof(*r));
	if (len < TB_TDX_REPORT_SIZE) {
		tb_err("attest: TDREPORT of %zu bytes is shorter than %u", len,
		       TB_TDX_REPORT_SIZE);
		return TPMBOOT_E_BUFFER_TOO_SMALL;
	}
	if (buf[0] != TB_TDX_REPORT_TYPE_TDX) {
		tb_err("attest: TDREPORT type 0x%x is not TDX (0x81)", buf[0]);
		return TPMBOOT_E_ATTEST_TDX_REPORT;
	}

	/* REPORTMACSTRUCT */
	r->report_type = buf[0];
	r->report_subtype = buf[1];
	r->report_version = buf[2];
	memcpy(r->cpusvn, buf + 0x10, 16);
	memcpy(r->tee_tcb_info_hash, buf + 0x20, 48);
	memcpy(r->tee_info_hash, buf + 0x50, 48);
	memcpy(r->reportdata, buf + 0x80, 64);
	memcpy(r->mac, buf + 0xE0, 32);

	/* TEE_TCB_INFO */
	memcpy(r->tee_tcb_info_valid, tcb, 8);
	memcpy(r->tee_tcb_svn, tcb + 0x08, 16);
	memcpy(r->mrseam, tcb + 0x18, 48);
	memcpy(r->mrsignerseam, tcb + 0x48, 48);
	r->seam_attributes = tb_load_le64(tcb + 0x78);
	memcpy(r->tee_tcb_svn2, tcb + 0x80, 16);

	/* TDINFO */
	tb_tdx_read_td_info(info, &r->td);
	memcpy(r->servtd_hash, info + 0x190, 48);
	return 0;
}

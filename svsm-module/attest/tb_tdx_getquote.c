/*
 * TDX GetQuote flow (see tb_tdx_getquote.h). The VMM writes the shared
 * buffer concurrently, so status and out_len are read through volatile
 * loads, and out_len is read once and checked before use.
 */
#include <string.h>

#include "attest/tb_tdx_getquote.h"
#include "attest/tb_tdx.h"
#include "core/tb_core.h"

/* TDCALL completion status classes (RAX bits 63:32). */
#define TDCALL_OPERAND_INVALID 0xC0000100u
#define TDCALL_OPERAND_BUSY 0x80000200u

static uint64_t load_shared_le64(const uint8_t *p)
{
	const volatile uint8_t *v = p;
	uint64_t x = 0;
	int i;

	for (i = 7; i >= 0; i--)
		x = (x << 8) | v[i];
	return x;
}

static uint32_t load_shared_le32(const uint8_t *p)
{
	const volatile uint8_t *v = p;

	return (uint32_t)v[0] | ((uint32_t)v[1] << 8) |
	       ((uint32_t)v[2] << 16) | ((uint32_t)v[3] << 24);
}

/* Runs TDG.MR.REPORT into the request area of shared_buf. */
static int make_tdreport(const struct tb_tdx_ops *ops,
			 const uint8_t report_data[64], uint8_t *tdreport)
{
	uint64_t status = 0;

	if (ops->mr_report(ops->ctx, report_data, tdreport, &status) != 0) {
		tb_err("attest: TDG.MR.REPORT could not be issued");
		return TPMBOOT_E_ATTEST_TDX_TDCALL;
	}
	if (status != 0) {
		tb_err("attest: TDG.MR.REPORT failed with status 0x%llx (%s)",
		       (unsigned long long)status,
		       (status >> 32) == TDCALL_OPERAND_INVALID ?
			       "operand invalid" :
		       (status >> 32) == TDCALL_OPERAND_BUSY ?
			       "operand busy" : "unknown");
		return TPMBOOT_E_ATTEST_TDX_TDCALL;
	}
	return 0;
}

/* Issues GetQuote, retrying while the VMM returns RETRY. */
static int issue_get_quote(const struct tb_tdx_ops *ops, uint8_t *shared_buf,
			   size_t shared_len, uint32_t interval_ms)
{
	uint64_t status;
	uint32_t attempt;

	for (attempt = 0; attempt <= TB_TDX_VMCALL_MAX_RETRIES; attempt++) {
		status = 0;
		if (ops->get_quote(ops->ctx, shared_buf, shared_len,
				   &status) != 0) {
			tb_err("attest: TDG.VP.VMCALL<GetQuote> could not be issued");
			return TPMBOOT_E_ATTEST_TDX_VMCALL;
		}
		if (status == TB_TDX_VMCALL_SUCCESS)
			return 0;
		if (status != TB_TDX_VMCALL_RETRY) {
			tb_err("attest: TDG.VP.VMCALL<GetQuote> failed with R10 0x%llx",
			       (unsigned long long)status);
			return TPMBOOT_E_ATTEST_TDX_VMCALL;
		}
		tb_warn("attest: GetQuote returned RETRY, attempt %u of %u",
			attempt + 1, TB_TDX_VMCALL_MAX_RETRIES);
		tb_delay_ms(interval_ms);
	}
	tb_err("attest: GetQuote still returned RETRY after %u retries",
	       TB_TDX_VMCALL_MAX_RETRIES);
	return TPMBOOT_E_ATTEST_TDX_VMCALL;
}

/* Polls the buffer status until it leaves IN_FLIGHT or the timeout. */
static int poll_status(const struct tb_tdx_ops *ops, uint8_t *shared_buf,
		       size_t shared_len, uint32_t interval_ms,
		       uint32_t timeout_ms)
{
	uint32_t waited = 0;
	uint64_t status;

	for (;;) {
		if (ops->refresh != NULL &&
		    ops->refresh(ops->ctx, shared_buf, shared_len) != 0) {
			tb_err("attest: GetQuote shared buffer refresh failed");
			return TPMBOOT_E_ATTEST_TDX_VMCALL;
		}
		status = load_shared_le64(shared_buf + 8);
		if (status == TB_TDX_QUOTE_STATUS_SUCCESS)
			return 0;
		if (status == TB_TDX_QUOTE_STATUS_UNAVAILABLE) {
			tb_err("attest: GetQuote service unavailable (status 0x%llx)",
			       (unsigned long long)status);
			return TPMBOOT_E_ATTEST_TDX_QUOTE_UNAVAILABLE;
		}
		if (status != TB_TDX_QUOTE_STATUS_IN_FLIGHT) {
			tb_err("attest: GetQuote failed with buffer status 0x%llx",
			       (unsigned long long)status);
			return TPMBOOT_E_ATTEST_TDX_QUOTE_STATUS;
		}
		if (waited >= timeout_ms) {
			tb_err("attest: GetQuote still in flight after %u ms",
			       waited);
			return TPMBOOT_E_ATTEST_TDX_QUOTE_TIMEOUT;
		}
		tb_delay_ms(interval_ms);
		waited += interval_ms;
	}
}

int tb_tdx_get_quote(const struct tb_tdx_ops *ops, uint8_t *shared_buf,
		     size_t shared_len, const uint8_t report_data[64],
		     uint8_t *quote, size_t quote_cap, size_t *quote_len)
{
	uint32_t interval_ms, timeout_ms, out_len;
	int rc;

	*quote_len = 0;
	if (ops == NULL || ops->mr_report == NULL || ops->get_quote == NULL ||
	    shared_len < TB_TDX_QUOTE_BUF_HDR_SIZE + TB_TDX_REPORT_SIZE ||
	    shared_len % 4096 != 0) {
		tb_err("attest: GetQuote needs mr_report and get_quote callbacks and a shared buffer of whole 4 KiB pages (got %zu bytes)",
		       shared_len);
		return TPMBOOT_E_INVALID_ARGUMENT;
	}
	interval_ms = ops->poll_interval_ms ? ops->poll_interval_ms :
					      TB_TDX_POLL_INTERVAL_MS;
	timeout_ms = ops->poll_timeout_ms ? ops->poll_timeout_ms :
					    TB_TDX_POLL_TIMEOUT_MS;

	/* Request: header, then the raw TDREPORT as data. */
	memset(shared_buf, 0, shared_len);
	rc = make_tdreport(ops, report_data,
			   shared_buf + TB_TDX_QUOTE_BUF_HDR_SIZE);
	if (rc != 0)
		return rc;
	tb_store_le64(shared_buf, TB_TDX_QUOTE_BUF_VERSION);
	tb_store_le64(shared_buf + 8, TB_TDX_QUOTE_STATUS_SUCCESS);
	tb_store_le32(shared_buf + 16, TB_TDX_REPORT_SIZE);
	tb_store_le32(shared_buf + 20, 0);

	rc = issue_get_quote(ops, shared_buf, shared_len, interval_ms);
	if (rc == 0)
		rc = poll_status(ops, shared_buf, shared_len, interval_ms,
				 timeout_ms);
	if (rc != 0)
		return rc;

	/* Response: out_len bytes of quote at data. */
	out_len = load_shared_le32(shared_buf + 20);
	if (out_len == 0 ||
	    out_len > shared_len - TB_TDX_QUOTE_BUF_HDR_SIZE) {
		tb_err("attest: GetQuote out_len %u invalid for the %zu-byte buffer",
		       out_len, shared_len);
		return TPMBOOT_E_ATTEST_TDX_QUOTE_SIZE;
	}
	if (out_len > quote_cap) {
		tb_err("attest: quote of %u bytes exceeds the %zu-byte output buffer",
		       out_len, quote_cap);
		return TPMBOOT_E_BUFFER_TOO_SMALL;
	}
	memcpy(quote, shared_buf + TB_TDX_QUOTE_BUF_HDR_SIZE, out_len);
	*quote_len = out_len;
	return 0;
}

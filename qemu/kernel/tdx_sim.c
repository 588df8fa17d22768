/*
 * tdx_get_quote callback of the harness. QEMU's microvm has no TDX module,
 * so the kernel builds the TDREPORT that TDG.MR.REPORT would return and
 * sends it to the quote simulator (kind 3, raw TDREPORT form) on COM2.
 *
 * TDREPORT_STRUCT layout (1024 bytes, Intel TDX module ABI):
 *   0x000  REPORTMACSTRUCT: REPORTTYPE at 0, TEE_TCB_INFO_HASH at 0x20,
 *          TEE_INFO_HASH at 0x50, REPORTDATA at 0x80, MAC at 0xe0
 *   0x100  TEE_TCB_INFO, 239 bytes
 *   0x200  TDINFO, 512 bytes: ATTRIBUTES at +0, MRTD at +0x10
 * The simulator checks the two SHA-384 hashes. Only a TDX module could
 * check the MAC, so it stays zero.
 */
#include <string.h>

#include "platform.h"

#define SIM_KIND_TDX_GET_QUOTE 3
#define TDREPORT_SIZE 1024u
#define REPORTTYPE_TDX 0x81
#define OFF_TEE_TCB_INFO_HASH 0x20
#define OFF_TEE_INFO_HASH 0x50
#define OFF_REPORTDATA 0x80
#define OFF_TEE_TCB_INFO 0x100
#define TEE_TCB_INFO_SIZE 239u
#define OFF_TDINFO 0x200
#define TDINFO_SIZE 512u
#define TDINFO_MRTD 0x10
/* TD ATTRIBUTES bit 28, SEPT_VE_DISABLE: QEMU's default for TDs. */
#define TD_ATTRIBUTES_SEPT_VE_DISABLE (1u << 28)
/* GetQuote RETRY: the VMM has too many requests in flight. */
#define GETQUOTE_RETRY 1u
#define GETQUOTE_MAX_RETRIES 10u
#define GETQUOTE_RETRY_DELAY_MS 100u

static void build_tdreport(const struct harness_platform *hp,
			   const uint8_t report_data[64], uint8_t *report)
{
	uint32_t attributes = TD_ATTRIBUTES_SEPT_VE_DISABLE;

	memset(report, 0, TDREPORT_SIZE);
	report[0] = REPORTTYPE_TDX;
	memcpy(report + OFF_REPORTDATA, report_data, 64);
	memcpy(report + OFF_TDINFO, &attributes, sizeof(attributes));
	memcpy(report + OFF_TDINFO + TDINFO_MRTD, hp->mrtd, sizeof(hp->mrtd));
	sha384(report + OFF_TEE_TCB_INFO, TEE_TCB_INFO_SIZE,
	       report + OFF_TEE_TCB_INFO_HASH);
	sha384(report + OFF_TDINFO, TDINFO_SIZE, report + OFF_TEE_INFO_HASH);
}

int harness_tdx_get_quote(void *ctx, const uint8_t report_data[64],
			  uint8_t *quote, size_t quote_cap, size_t *quote_len)
{
	struct harness_platform *hp = ctx;
	struct amdsp_response resp;
	uint8_t *report = heap_alloc(TDREPORT_SIZE, 64);
	uint32_t attempt;
	int rc = -1;

	if (report == NULL)
		return -1;
	build_tdreport(hp, report_data, report);

	for (attempt = 0; attempt <= GETQUOTE_MAX_RETRIES; attempt++) {
		hp->quote_requests++;
		if (amdsp_send(hp, SIM_KIND_TDX_GET_QUOTE, 0, report,
			       TDREPORT_SIZE) != 0 ||
		    amdsp_receive_header(hp, SIM_KIND_TDX_GET_QUOTE, &resp) != 0)
			break;
		if (resp.exit_info2 == GETQUOTE_RETRY && resp.payload_len == 0) {
			timer_delay_ms(GETQUOTE_RETRY_DELAY_MS);
			continue;
		}
		if (resp.exit_info2 != 0) {
			kprintf("tdx: GetQuote failed with status 0x%llx\n",
				(unsigned long long)resp.exit_info2);
			amdsp_skip(hp, resp.payload_len);
			break;
		}
		if (resp.payload_len > quote_cap) {
			kprintf("tdx: quote of %u bytes exceeds the module's "
				"%zu-byte buffer\n", resp.payload_len, quote_cap);
			amdsp_skip(hp, resp.payload_len);
			break;
		}
		if (amdsp_receive(hp, quote, resp.payload_len) == 0) {
			*quote_len = resp.payload_len;
			rc = 0;
		}
		break;
	}
	if (attempt > GETQUOTE_MAX_RETRIES)
		kprintf("tdx: GetQuote still RETRY after %u attempts\n", attempt);
	heap_free(report);
	return rc;
}

/*
 * TDX quote retrieval: TDG.MR.REPORT for 64 bytes of REPORTDATA, then
 * TDG.VP.VMCALL<GetQuote> over a shared buffer with status polling.
 *
 * Source: Intel TDX Guest-Hypervisor Communication Interface (GHCI),
 * "TDG.VP.VMCALL<GetQuote>". The polling defaults below follow the Linux
 * tdx-guest driver, which polls once per second for up to 30 s.
 *
 * Shared buffer (4 KiB multiple, shared with the VMM): u64 version (1),
 * u64 status, u32 in_len, u32 out_len, then data. The guest writes the
 * raw TDREPORT as data with in_len 1024; the VMM sets status to IN_FLIGHT
 * when it accepts the request and later to SUCCESS with the quote in data
 * and its length in out_len.
 */
#ifndef TB_TDX_GETQUOTE_H
#define TB_TDX_GETQUOTE_H

#include <stddef.h>
#include <stdint.h>

#define TB_TDX_QUOTE_BUF_HDR_SIZE 24u
#define TB_TDX_QUOTE_BUF_VERSION 1u
#define TB_TDX_QUOTE_STATUS_SUCCESS 0ull
#define TB_TDX_QUOTE_STATUS_IN_FLIGHT 0xFFFFFFFFFFFFFFFFull
#define TB_TDX_QUOTE_STATUS_ERROR 0x8000000000000000ull
#define TB_TDX_QUOTE_STATUS_UNAVAILABLE 0x8000000000000001ull

/* TDG.VP.VMCALL status in R10. */
#define TB_TDX_VMCALL_SUCCESS 0ull
#define TB_TDX_VMCALL_RETRY 1ull

#define TB_TDX_POLL_INTERVAL_MS 1000u
#define TB_TDX_POLL_TIMEOUT_MS 30000u
#define TB_TDX_VMCALL_MAX_RETRIES 10u

/*
 * Callbacks through which the module reaches the TDX module and the VMM.
 * A TD on real hardware implements them with arch/x86_64/tee/tb_tdcall.h
 * and its own address translation. The tests implement them with a
 * simulator.
 */
struct tb_tdx_ops {
	void *ctx;

	/* Runs TDG.MR.REPORT for report_data into tdreport; *tdcall_status
	 * receives RAX. Returns nonzero only when the call could not be
	 * made. */
	int (*mr_report)(void *ctx, const uint8_t report_data[64],
			 uint8_t tdreport[1024], uint64_t *tdcall_status);

	/* Issues TDG.VP.VMCALL<GetQuote> for the shared buffer;
	 * *vmcall_status receives R10. */
	int (*get_quote)(void *ctx, uint8_t *shared_buf, size_t len,
			 uint64_t *vmcall_status);

	/* Optional: refreshes shared_buf before each status poll, for a
	 * transport that copies the buffer instead of sharing it. */
	int (*refresh)(void *ctx, uint8_t *shared_buf, size_t len);

	/* Polling bounds; 0 selects the defaults above. */
	uint32_t poll_interval_ms;
	uint32_t poll_timeout_ms;
};

/*
 * Gets a quote for report_data: runs TDG.MR.REPORT, writes the GetQuote
 * request into shared_buf (shared_len bytes, a multiple of 4096, page
 * aligned), issues GetQuote (retrying RETRY up to 10 times), polls the
 * status and copies the quote into quote (quote_cap bytes). Returns 0 or
 * TPMBOOT_E_ATTEST_TDX_* / TPMBOOT_E_BUFFER_TOO_SMALL.
 */
int tb_tdx_get_quote(const struct tb_tdx_ops *ops, uint8_t *shared_buf,
		     size_t shared_len, const uint8_t report_data[64],
		     uint8_t *quote, size_t quote_cap, size_t *quote_len);

#endif /* TB_TDX_GETQUOTE_H */

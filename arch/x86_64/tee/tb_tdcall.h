/*
 * TDCALL wrappers for a TDX guest: TDG.MR.REPORT and
 * TDG.VP.VMCALL<GetQuote>. A platform uses them to implement struct
 * tb_tdx_ops (svsm-module/attest/tb_tdx_getquote.h) on real hardware; host
 * builds compile them but never execute them.
 *
 * Source: Intel TDX module ABI specification (TDCALL leaf 4,
 * TDG.MR.REPORT) and Intel TDX GHCI (TDG.VP.VMCALL leaf 0, sub-function
 * 0x10002 GetQuote).
 */
#ifndef TB_TDCALL_H
#define TB_TDCALL_H

#include <stdint.h>

#define TB_TDCALL_TDG_VP_VMCALL 0u
#define TB_TDCALL_TDG_MR_REPORT 4u
#define TB_TDVMCALL_GET_QUOTE 0x10002u

/*
 * Runs TDG.MR.REPORT with subtype 0: the TDX module writes the 1024-byte
 * TDREPORT_STRUCT at report_gpa (1024-byte aligned) for the 64 bytes of
 * REPORTDATA at report_data_gpa (64-byte aligned). Returns RAX (0 on
 * success).
 */
uint64_t tb_tdcall_mr_report(uint64_t report_gpa, uint64_t report_data_gpa);

/*
 * Issues TDG.VP.VMCALL<GetQuote> for the shared buffer at buf_gpa (shared
 * bit set, 4 KiB aligned) of size bytes (a multiple of 4096). Returns RAX,
 * the TDCALL completion status, and stores R10, the VMM's status of the
 * call, in *vmcall_status.
 */
uint64_t tb_tdvmcall_get_quote(uint64_t buf_gpa, uint64_t size,
			       uint64_t *vmcall_status);

#endif /* TB_TDCALL_H */

/*
 * TDCALL instruction wrappers with general-purpose registers only
 * (see tb_tdcall.h). TDCALL is encoded as 66 0F 01 CC.
 */
#include "x86_64/tee/tb_tdcall.h"

/* TDG.VP.VMCALL RCX bitmap: pass R10..R13 to the VMM. */
#define VMCALL_EXPOSE_R10_R13 ((1u << 10) | (1u << 11) | (1u << 12) | (1u << 13))

uint64_t tb_tdcall_mr_report(uint64_t report_gpa, uint64_t report_data_gpa)
{
	register uint64_t r8 __asm__("r8") = 0; /* subtype 0 */
	uint64_t rax = TB_TDCALL_TDG_MR_REPORT;
	uint64_t rcx = report_gpa;
	uint64_t rdx = report_data_gpa;

	__asm__ volatile(".byte 0x66, 0x0f, 0x01, 0xcc"
			 : "+a"(rax), "+c"(rcx), "+d"(rdx), "+r"(r8)
			 :
			 : "memory");
	return rax;
}

uint64_t tb_tdvmcall_get_quote(uint64_t buf_gpa, uint64_t size,
			       uint64_t *vmcall_status)
{
	register uint64_t r10 __asm__("r10") = 0; /* standard TDG.VP.VMCALL */
	register uint64_t r11 __asm__("r11") = TB_TDVMCALL_GET_QUOTE;
	register uint64_t r12 __asm__("r12") = buf_gpa;
	register uint64_t r13 __asm__("r13") = size;
	uint64_t rax = TB_TDCALL_TDG_VP_VMCALL;
	uint64_t rcx = VMCALL_EXPOSE_R10_R13;

	__asm__ volatile(".byte 0x66, 0x0f, 0x01, 0xcc"
			 : "+a"(rax), "+c"(rcx), "+r"(r10), "+r"(r11),
			   "+r"(r12), "+r"(r13)
			 :
			 : "memory");
	*vmcall_status = r10;
	return rax;
}

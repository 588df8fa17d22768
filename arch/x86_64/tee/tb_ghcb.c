/*
 * GHCB guest request: WRMSR and VMGEXIT with general-purpose registers only
 * (see tb_ghcb.h). The GHCB page is shared with the hypervisor, so every
 * field access is a volatile access.
 */
#include "x86_64/tee/tb_ghcb.h"

/* GHCB save-area offsets; the valid bitmap has one bit per 8-byte field
 * (bit index = offset / 8). */
#define GHCB_RAX 0x1F8u
#define GHCB_RBX 0x318u
#define GHCB_SW_EXIT_CODE 0x390u
#define GHCB_SW_EXIT_INFO1 0x398u
#define GHCB_SW_EXIT_INFO2 0x3A0u
#define GHCB_VALID_BITMAP 0x3F0u
#define GHCB_VALID_BITMAP_SIZE 16u
#define GHCB_PROTOCOL_VERSION 0xFFAu
#define GHCB_USAGE 0xFFCu

static void ghcb_store64(volatile uint8_t *ghcb, uint32_t off, uint64_t v)
{
	*(volatile uint64_t *)(ghcb + off) = v;
}

static uint64_t ghcb_load64(volatile uint8_t *ghcb, uint32_t off)
{
	return *(volatile uint64_t *)(ghcb + off);
}

/* Stores a save-area field and marks it valid. */
static void ghcb_set_field(volatile uint8_t *ghcb, uint32_t off, uint64_t v)
{
	uint32_t bit = off / 8u;

	ghcb_store64(ghcb, off, v);
	ghcb[GHCB_VALID_BITMAP + bit / 8u] |= (uint8_t)(1u << (bit % 8u));
}

static void wrmsr(uint32_t msr, uint64_t value)
{
	__asm__ volatile("wrmsr"
			 :
			 : "c"(msr), "a"((uint32_t)value),
			   "d"((uint32_t)(value >> 32))
			 : "memory");
}

/* VMGEXIT is "rep; vmmcall". */
static void vmgexit(void)
{
	__asm__ volatile(".byte 0xf3, 0x0f, 0x01, 0xd9" ::: "memory");
}

int tb_ghcb_guest_request(void *ghcb_page, uint64_t ghcb_gpa,
			  struct tb_ghcb_guest_request *r)
{
	volatile uint8_t *ghcb = ghcb_page;
	uint64_t exit_code;
	uint32_t info1;
	uint32_t i;

	/* Clear the valid bitmap and exit code, then set the header. */
	for (i = 0; i < GHCB_VALID_BITMAP_SIZE; i++)
		ghcb[GHCB_VALID_BITMAP + i] = 0;
	ghcb_store64(ghcb, GHCB_SW_EXIT_CODE, 0);
	*(volatile uint16_t *)(ghcb + GHCB_PROTOCOL_VERSION) =
		r->protocol_version;
	*(volatile uint32_t *)(ghcb + GHCB_USAGE) = 0;

	/* EXIT_INFO1 = request page, EXIT_INFO2 = response page; the
	 * extended request adds RAX = certificate buffer, RBX = pages. */
	exit_code = r->extended ? TB_SVM_VMGEXIT_EXT_GUEST_REQUEST :
				  TB_SVM_VMGEXIT_GUEST_REQUEST;
	ghcb_set_field(ghcb, GHCB_SW_EXIT_CODE, exit_code);
	ghcb_set_field(ghcb, GHCB_SW_EXIT_INFO1, r->req_gpa);
	ghcb_set_field(ghcb, GHCB_SW_EXIT_INFO2, r->resp_gpa);
	if (r->extended) {
		ghcb_set_field(ghcb, GHCB_RAX, r->certs_gpa);
		ghcb_set_field(ghcb, GHCB_RBX, r->certs_pages);
	}

	wrmsr(TB_GHCB_MSR, ghcb_gpa);
	vmgexit();

	/* EXIT_INFO1[31:0]: 0 done, 1 exception to inject, else error. */
	info1 = (uint32_t)ghcb_load64(ghcb, GHCB_SW_EXIT_INFO1);
	r->exit_info2 = ghcb_load64(ghcb, GHCB_SW_EXIT_INFO2);
	r->certs_pages_needed = r->extended ? ghcb_load64(ghcb, GHCB_RBX) : 0;
	if (info1 == 0)
		return 0;
	return info1 == 1 ? 1 : 2;
}

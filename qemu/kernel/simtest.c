/*
 * mode=simtest: checks the link to the AMD-SP / TDX quote simulator
 * without the module's boot flow. It requests a TDX quote and checks that
 * the quote body contains the REPORTDATA and MRTD it sent. It then sends
 * an all-zero SNP request page, which the firmware must reject because its
 * message header is invalid, and expects a well-formed error response.
 */
#include <string.h>

#include "platform.h"

/* TDX quote v4: 48-byte header, then the TD report body with MRTD at
 * 0x88 and REPORTDATA at 0x208 (Intel TDX DCAP quote format). */
#define QUOTE_HEADER_SIZE 48
#define BODY_MRTD 0x88
#define BODY_REPORTDATA 0x208
#define QUOTE_CAP (16u * 1024u)
#define PAGE 4096u

static int check_tdx_quote(struct harness_platform *hp)
{
	uint8_t report_data[64];
	uint8_t *quote = heap_alloc(QUOTE_CAP, 16);
	size_t len = 0;
	int ok;
	unsigned i;

	for (i = 0; i < sizeof(report_data); i++)
		report_data[i] = (uint8_t)(0xa0 + i);
	ok = quote != NULL &&
	     harness_tdx_get_quote(hp, report_data, quote, QUOTE_CAP, &len) == 0 &&
	     len >= QUOTE_HEADER_SIZE + BODY_REPORTDATA + 64 &&
	     memcmp(quote + QUOTE_HEADER_SIZE + BODY_REPORTDATA, report_data,
		    sizeof(report_data)) == 0 &&
	     memcmp(quote + QUOTE_HEADER_SIZE + BODY_MRTD, hp->mrtd,
		    sizeof(hp->mrtd)) == 0;
	kprintf("simtest: tdx-quote %s: %zu-byte quote%s\n", ok ? "ok" : "FAILED",
		len, ok ? " with the REPORTDATA and MRTD sent" : "");
	heap_free(quote);
	return ok ? 0 : -1;
}

static int check_snp_rejected(struct harness_platform *hp)
{
	uint8_t *req = heap_alloc(PAGE, PAGE);
	uint8_t *resp = heap_alloc(PAGE, PAGE);
	uint64_t exit_info2 = 0;
	int rc = -1;

	if (req != NULL && resp != NULL) {
		memset(req, 0, PAGE);
		rc = harness_snp_guest_request(hp, 0, req, resp, NULL, NULL,
					       &exit_info2);
	}
	kprintf("simtest: snp-reject %s: callback returned %d, SW_EXITINFO2 0x%llx\n",
		rc == 0 && exit_info2 != 0 ? "ok" : "FAILED", rc,
		(unsigned long long)exit_info2);
	heap_free(req);
	heap_free(resp);
	return rc == 0 && exit_info2 != 0 ? 0 : -1;
}

int simtest_run(struct harness_platform *hp)
{
	int failures = 0;

	if (!hp->amdsp.present) {
		kprintf("simtest: FAILED: no simulator UART on COM2 "
			"(run-vm.sh --amdsp-socket)\n");
		return -1;
	}
	failures += check_tdx_quote(hp) != 0;
	failures += check_snp_rejected(hp) != 0;
	kprintf("simtest: %d failures\n", failures);
	return failures == 0 ? 0 : -1;
}

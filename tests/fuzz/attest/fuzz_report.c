/*
 * libFuzzer target: SEV-SNP ATTESTATION_REPORT parser, TCB decoding and the
 * self-check helper on arbitrary bytes.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "attest/tb_snp_report.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tb_snp_report report;
	struct tb_snp_tcb tcb;
	uint8_t expected[64] = { 0 };

	fuzz_attach_once();
	if (tb_snp_report_parse(data, size, &report) != 0)
		return 0;

	tb_snp_tcb_decode(report.reported_tcb,
			  tb_snp_report_is_turin_layout(&report), &tcb);
	memcpy(expected, report.report_data, sizeof(expected));
	(void)tb_snp_report_check(&report, expected, report.vmpl, 0);
	return 0;
}

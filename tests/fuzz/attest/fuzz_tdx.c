/*
 * libFuzzer target: TDX quote (v4 / v5) and TDREPORT parsers. The parsed
 * signature data must lie inside the input.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "attest/tb_tdx.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tb_tdx_quote quote;
	struct tb_tdx_report report;

	fuzz_attach_once();
	if (tb_tdx_quote_parse(data, size, &quote) == 0) {
		if (quote.total_len > size ||
		    quote.signature_data + quote.signature_data_len >
			    data + size)
			abort();
		(void)tb_tdx_quote_check(&quote, quote.reportdata, 0);
	}
	(void)tb_tdx_report_parse(data, size, &report);
	return 0;
}

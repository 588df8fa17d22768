/*
 * libFuzzer target: HTTP response parser, both while the stream is open
 * and at its end. A complete response must lie inside the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kbs/kbs_http.h"
#include "fuzz_kbs_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kbs_http_response resp;
	int at_eof, complete;
	uint8_t *buf;

	fuzz_platform_init();
	for (at_eof = 0; at_eof <= 1; at_eof++) {
		buf = malloc(size ? size : 1);
		if (!buf)
			return 0;
		memcpy(buf, data, size);
		if (kbs_http_parse_response(buf, size, at_eof, NULL, &resp,
					    &complete) == 0 && complete) {
			if (resp.consumed > size || resp.body < buf ||
			    resp.body + resp.body_len > buf + size ||
			    resp.status < 200 || resp.status > 999)
				abort();
		}
		free(buf);
	}
	return 0;
}

/*
 * libFuzzer target: strict base64 and base64url decoding. Whatever
 * decodes must encode back to the same text (one encoding per value).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kbs/kbs_base64.h"
#include "fuzz_kbs_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int alphabet;

	fuzz_platform_init();
	for (alphabet = 0; alphabet <= 1; alphabet++) {
		size_t cap = kbs_base64_decoded_max(size), len = 0;
		uint8_t *out = malloc(cap);
		char *text;

		if (!out)
			return 0;
		if (kbs_base64_decode(alphabet, (const char *)data, size, out,
				      cap, &len) == 0) {
			text = malloc(size + 1);
			if (!text || kbs_base64_encode(alphabet, out, len, text,
						       size + 1) != 0 ||
			    strlen(text) != size || memcmp(text, data, size) != 0)
				abort();
			free(text);
		}
		free(out);
	}
	return 0;
}

/*
 * libFuzzer target: JSON parser and RFC 8785 canonicalisation. A text
 * that parses must canonicalise (or be rejected for a number it cannot
 * represent), and the canonical form must be a fixed point.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/tb_core.h"
#include "kbs/kbs_json.h"
#include "fuzz_kbs_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kbs_json_doc doc;
	char *once = NULL, *twice = NULL;
	size_t once_len, twice_len;
	int rc;

	fuzz_platform_init();
	if (kbs_json_parse((const char *)data, size, NULL, &doc) != 0)
		return 0;
	kbs_json_free(&doc);

	rc = kbs_jcs_canonicalize((const char *)data, size, &once, &once_len);
	if (rc == TPMBOOT_E_KBS_JSON_NUMBER || rc == TPMBOOT_E_KBS_JSON_TOO_LARGE)
		return 0;
	if (rc != 0)
		abort();
	if (kbs_jcs_canonicalize(once, once_len, &twice, &twice_len) != 0 ||
	    once_len != twice_len || memcmp(once, twice, once_len) != 0)
		abort();
	tb_free(once);
	tb_free(twice);
	return 0;
}

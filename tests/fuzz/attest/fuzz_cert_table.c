/*
 * libFuzzer target: certificate table of the extended guest request.
 * Every entry the parser accepts must lie inside the buffer; lookups of
 * each known GUID must point inside it too.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "attest/tb_snp_certs.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t *const guids[] = {
		tb_snp_guid_vcek, tb_snp_guid_vlek, tb_snp_guid_ask,
		tb_snp_guid_ark,
	};
	struct tb_snp_cert_entry entries[16];
	const uint8_t *cert;
	size_t n, i, cert_len;

	fuzz_attach_once();
	if (tb_snp_cert_table_parse(data, size, entries, 16, &n) == 0) {
		for (i = 0; i < n; i++) {
			if ((size_t)entries[i].offset + entries[i].length > size)
				abort();
		}
	}
	for (i = 0; i < sizeof(guids) / sizeof(guids[0]); i++) {
		if (tb_snp_cert_table_find(data, size, guids[i], &cert,
					   &cert_len) == 0 &&
		    (cert < data || cert + cert_len > data + size))
			abort();
	}
	return 0;
}

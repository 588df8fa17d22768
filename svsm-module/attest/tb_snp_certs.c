/*
 * Certificate table of the extended guest request (see tb_snp_certs.h).
 * The host fills this buffer, so every offset and length is checked
 * against the buffer before use.
 */
#include <string.h>

#include "attest/tb_snp_certs.h"
#include "core/tb_core.h"

const uint8_t tb_snp_guid_vcek[16] = {
	0x63, 0xda, 0x75, 0x8d, 0xe6, 0x64, 0x45, 0x64,
	0xad, 0xc5, 0xf4, 0xb9, 0x3b, 0xe8, 0xac, 0xcd,
};
const uint8_t tb_snp_guid_vlek[16] = {
	0xa8, 0x07, 0x4b, 0xc2, 0xa2, 0x5a, 0x48, 0x3e,
	0xaa, 0xe6, 0x39, 0xc0, 0x45, 0xa0, 0xb8, 0xa1,
};
const uint8_t tb_snp_guid_ask[16] = {
	0x4a, 0xb7, 0xb3, 0x79, 0xbb, 0xac, 0x4f, 0xe4,
	0xa0, 0x2f, 0x05, 0xae, 0xf3, 0x27, 0xc7, 0x82,
};
const uint8_t tb_snp_guid_ark[16] = {
	0xc0, 0xb4, 0x06, 0xa4, 0xa8, 0x03, 0x49, 0x52,
	0x97, 0x43, 0x3f, 0xb6, 0x01, 0x4c, 0xd0, 0xae,
};

static int is_zero(const uint8_t *p, size_t n)
{
	uint8_t acc = 0;

	while (n-- > 0)
		acc |= *p++;
	return acc == 0;
}

const char *tb_snp_cert_guid_name(const uint8_t guid[16])
{
	if (memcmp(guid, tb_snp_guid_vcek, 16) == 0)
		return "VCEK";
	if (memcmp(guid, tb_snp_guid_vlek, 16) == 0)
		return "VLEK";
	if (memcmp(guid, tb_snp_guid_ask, 16) == 0)
		return "ASK";
	if (memcmp(guid, tb_snp_guid_ark, 16) == 0)
		return "ARK";
	return "other";
}

/* Counts the entries before the terminator; the table must fit in len. */
static int count_entries(const uint8_t *buf, size_t len, size_t *count)
{
	size_t n = 0;
	size_t pos;

	for (pos = 0; pos + TB_SNP_CERT_ENTRY_SIZE <= len;
	     pos += TB_SNP_CERT_ENTRY_SIZE) {
		if (is_zero(buf + pos, TB_SNP_CERT_ENTRY_SIZE)) {
			*count = n;
			return 0;
		}
		n++;
	}
	tb_err("attest: certificate table of %zu bytes has no all-zero terminating entry",
	       len);
	return TPMBOOT_E_ATTEST_CERT_TABLE_END;
}

int tb_snp_cert_table_parse(const uint8_t *buf, size_t len,
			    struct tb_snp_cert_entry *entries,
			    size_t max_entries, size_t *count)
{
	size_t n, i, table_end;
	const uint8_t *e;
	uint64_t end;
	int rc;

	*count = 0;
	rc = count_entries(buf, len, &n);
	if (rc != 0)
		return rc;
	if (n > max_entries) {
		tb_err("attest: certificate table has %zu entries, at most %zu supported",
		       n, max_entries);
		return TPMBOOT_E_ATTEST_CERT_TABLE;
	}

	/* Certificates follow the table and its terminator. */
	table_end = (n + 1) * TB_SNP_CERT_ENTRY_SIZE;
	for (i = 0; i < n; i++) {
		e = buf + i * TB_SNP_CERT_ENTRY_SIZE;
		memcpy(entries[i].guid, e, 16);
		entries[i].offset = tb_load_le32(e + 16);
		entries[i].length = tb_load_le32(e + 20);
		end = (uint64_t)entries[i].offset + entries[i].length;
		if (is_zero(e, 16) || entries[i].length == 0 ||
		    entries[i].offset < table_end || end > len) {
			tb_err("attest: certificate table entry %zu (%s) invalid: offset %u, length %u, table end %zu, buffer %zu bytes",
			       i, tb_snp_cert_guid_name(e), entries[i].offset,
			       entries[i].length, table_end, len);
			return TPMBOOT_E_ATTEST_CERT_TABLE;
		}
	}
	*count = n;
	return 0;
}

int tb_snp_cert_table_find(const uint8_t *buf, size_t len,
			   const uint8_t guid[16], const uint8_t **cert,
			   size_t *cert_len)
{
	struct tb_snp_cert_entry entries[16];
	size_t n, i;
	int rc;

	*cert = NULL;
	*cert_len = 0;
	rc = tb_snp_cert_table_parse(buf, len, entries, TB_ARRAY_SIZE(entries),
				     &n);
	if (rc != 0)
		return rc;
	for (i = 0; i < n; i++) {
		if (memcmp(entries[i].guid, guid, 16) == 0) {
			*cert = buf + entries[i].offset;
			*cert_len = entries[i].length;
			return 0;
		}
	}
	tb_err("attest: certificate table has no %s entry (%zu entries)",
	       tb_snp_cert_guid_name(guid), n);
	return TPMBOOT_E_ATTEST_CERT_MISSING;
}

/*
 * SNP and TDX evidence JSON: real and synthetic reports must round-trip
 * through the test KBS's independent decoder byte for byte (and real
 * reports must still verify with their VCEK), and bad lengths or
 * certificate tables are rejected.
 */
#define _POSIX_C_SOURCE 200809L

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/tb_core.h"
#include "kbs/kbs_base64.h"
#include "kbs/kbs_evidence.h"
#include "tb_test_platform.h"

static struct tb_test_platform tp;
static char workdir[64];

static void write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	fclose(f);
}

/* Writes the evidence for report and certs, then runs the Python check. */
static int check_roundtrip(const uint8_t *report, const uint8_t *certs, size_t certs_len,
			   const char *vcek_path)
{
	struct kbs_json_writer w;
	char json_path[128], raw_path[128], cmd[1024];
	char *json;
	size_t len;

	kbs_json_writer_init(&w, 256 * 1024);
	assert_int_equal(kbs_evidence_write_snp(&w, report, KBS_SNP_REPORT_LEN, certs,
						certs_len), 0);
	assert_int_equal(kbs_json_writer_finish(&w, &json, &len), 0);
	snprintf(json_path, sizeof(json_path), "%s/evidence.json", workdir);
	snprintf(raw_path, sizeof(raw_path), "%s/report.bin", workdir);
	write_file(json_path, json, len);
	write_file(raw_path, report, KBS_SNP_REPORT_LEN);
	tb_free(json);

	snprintf(cmd, sizeof(cmd), "/usr/bin/python3 %s/tests/unit/kbs/kbs_evidence_check.py %s %s %s",
		 getenv("TPMBOOT_SOURCE_ROOT"), json_path, raw_path, vcek_path ? vcek_path : "");
	return system(cmd);
}

static uint8_t *read_shared(const char *name, size_t *len)
{
	char rel[256];
	uint8_t *data;

	snprintf(rel, sizeof(rel), "vectors/attestation/%s", name);
	data = tb_test_read_file(tb_test_shared_path(rel), len);
	if (!data)
		fail_msg("cannot read %s", tb_test_shared_path(rel));
	return data;
}

static void evidence_real_reports(void **state)
{
	char vcek[512];
	uint8_t *report, *hex_report = NULL;
	size_t len;
	char *hex;

	(void)state;
	report = read_shared("trustee_test-report.bin", &len);
	assert_int_equal(len, KBS_SNP_REPORT_LEN);
	snprintf(vcek, sizeof(vcek), "%s",
		 tb_test_shared_path("vectors/attestation/trustee_test-vcek.der"));
	assert_int_equal(check_roundtrip(report, NULL, 0, vcek), 0);
	free(report);

	report = read_shared("gosev_attestation.bin", &len);
	assert_int_equal(len, KBS_SNP_REPORT_LEN);
	assert_int_equal(check_roundtrip(report, NULL, 0, NULL), 0);
	free(report);

	hex = (char *)read_shared("virtee_report_milan.hex", &len);
	hex = realloc(hex, len + 1);
	hex[len] = '\0';
	hex[strcspn(hex, "\r\n")] = '\0';
	assert_int_equal(tb_test_hex_decode(hex, &hex_report), KBS_SNP_REPORT_LEN);
	snprintf(vcek, sizeof(vcek), "%s",
		 tb_test_shared_path("vectors/attestation/virtee_vcek_milan.der"));
	assert_int_equal(check_roundtrip(hex_report, NULL, 0, vcek), 0);
	free(hex_report);
	free(hex);
}

/* Fills every field with a pattern and leaves the reserved ranges zero. */
static void synthetic_report(uint8_t *r, uint32_t version, uint8_t family, int turin)
{
	static const struct { size_t start, end; } fields[] = {
		{ 0x004, 0x04C }, { 0x050, 0x188 }, { 0x1A0, 0x1EB },
		{ 0x1EC, 0x1EF }, { 0x1F0, 0x1F8 }, { 0x2A0, 0x330 },
	};
	size_t i, j;

	memset(r, 0, KBS_SNP_REPORT_LEN);
	for (i = 0; i < TB_ARRAY_SIZE(fields); i++)
		for (j = fields[i].start; j < fields[i].end; j++)
			r[j] = (uint8_t)(j * 7 + 3);
	tb_store_le32(r, version);
	if (version >= 3) {
		r[0x188] = family;
		r[0x189] = 0x11;
		r[0x18A] = 0x02;
	}
	if (version >= 5)
		for (j = 0x1F8; j < 0x208; j++)
			r[j] = (uint8_t)(j * 5 + 1);

	/* TCB_VERSION reserved bytes of the generation's layout are zero. */
	for (i = 0; i < 5; i++) {
		static const size_t tcbs[5] = { 0x038, 0x180, 0x1E0, 0x1F0, 0x1F0 };
		uint8_t *t = r + tcbs[i];

		if (turin) {
			t[4] = t[5] = t[6] = 0;
		} else {
			t[2] = t[3] = t[4] = t[5] = 0;
		}
	}
	/* Turin and later use only CHIP_ID bytes 0..7 (v2 detection). */
	if (turin && version < 3)
		memset(r + 0x1A8, 0, 56);
}

static void evidence_synthetic_layouts(void **state)
{
	uint8_t report[KBS_SNP_REPORT_LEN];

	(void)state;
	synthetic_report(report, 3, 0x19, 0);  /* Genoa, v3 */
	assert_int_equal(check_roundtrip(report, NULL, 0, NULL), 0);
	synthetic_report(report, 5, 0x1A, 1);  /* Turin, v5 with mitigation vectors */
	assert_int_equal(check_roundtrip(report, NULL, 0, NULL), 0);
	synthetic_report(report, 2, 0, 1);     /* v2 with a Turin-style CHIP_ID */
	assert_int_equal(check_roundtrip(report, NULL, 0, NULL), 0);
	synthetic_report(report, 2, 0, 0);     /* v2 Milan */
	assert_int_equal(check_roundtrip(report, NULL, 0, NULL), 0);
}

static void evidence_cert_table(void **state)
{
	static const uint8_t vcek_guid[16] = {
		0x63, 0xda, 0x75, 0x8d, 0xe6, 0x64, 0x45, 0x64,
		0xad, 0xc5, 0xf4, 0xb9, 0x3b, 0xe8, 0xac, 0xcd,
	};
	uint8_t report[KBS_SNP_REPORT_LEN], table[200];
	struct kbs_json_writer w;
	struct kbs_json_doc doc;
	kbs_json_ref chain, entry, type;
	char *json;
	size_t len;

	(void)state;
	synthetic_report(report, 3, 0x19, 0);
	memset(table, 0, sizeof(table));
	memcpy(table, vcek_guid, 16);
	tb_store_le32(table + 16, 96);
	tb_store_le32(table + 20, 3);
	memset(table + 24, 0x42, 16);                /* unknown GUID */
	tb_store_le32(table + 40, 99);
	tb_store_le32(table + 44, 2);
	table[96] = 1;
	table[97] = 2;
	table[98] = 3;
	table[99] = 4;
	table[100] = 5;

	kbs_json_writer_init(&w, 256 * 1024);
	assert_int_equal(kbs_evidence_write_snp(&w, report, sizeof(report), table, 101), 0);
	assert_int_equal(kbs_json_writer_finish(&w, &json, &len), 0);
	assert_int_equal(kbs_json_parse(json, len, NULL, &doc), 0);
	chain = kbs_json_member(&doc, 0, "cert_chain");
	assert_int_equal(doc.values[chain].type, KBS_JSON_ARRAY);
	assert_int_equal(doc.values[chain].count, 2);
	entry = doc.values[chain].first;
	type = kbs_json_member(&doc, entry, "cert_type");
	assert_string_equal(kbs_json_text(&doc, type), "VCEK");
	assert_int_equal(doc.values[kbs_json_member(&doc, entry, "data")].count, 3);
	entry = doc.values[entry].next;
	type = kbs_json_member(&doc, entry, "cert_type");
	assert_int_equal(doc.values[type].type, KBS_JSON_OBJECT);
	assert_string_equal(kbs_json_text(&doc, kbs_json_member(&doc, type, "OTHER")),
			    "42424242-4242-4242-4242-424242424242");
	kbs_json_free(&doc);
	tb_free(json);

	/* An entry pointing past the buffer, and a table without its
	 * terminating zero entry. */
	kbs_json_writer_init(&w, 256 * 1024);
	assert_int_equal(kbs_evidence_write_snp(&w, report, sizeof(report), table, 100),
			 TPMBOOT_E_KBS_EVIDENCE);
	kbs_json_writer_abort(&w);
	kbs_json_writer_init(&w, 256 * 1024);
	assert_int_equal(kbs_evidence_write_snp(&w, report, sizeof(report), table, 60),
			 TPMBOOT_E_KBS_EVIDENCE);
	kbs_json_writer_abort(&w);
}

static void evidence_rejects_lengths(void **state)
{
	uint8_t report[KBS_SNP_REPORT_LEN + 1] = { 0 };
	struct kbs_json_writer w;

	(void)state;
	kbs_json_writer_init(&w, 256 * 1024);
	assert_int_equal(kbs_evidence_write_snp(&w, report, KBS_SNP_REPORT_LEN - 1, NULL, 0),
			 TPMBOOT_E_KBS_EVIDENCE);
	assert_int_equal(kbs_evidence_write_snp(&w, report, KBS_SNP_REPORT_LEN + 1, NULL, 0),
			 TPMBOOT_E_KBS_EVIDENCE);
	assert_int_equal(kbs_evidence_write_tdx(&w, report, 48 + 583, NULL, 0),
			 TPMBOOT_E_KBS_EVIDENCE);
	kbs_json_writer_abort(&w);
}

static void evidence_tdx_shape(void **state)
{
	uint8_t quote[700], decoded[700];
	struct kbs_json_writer w;
	struct kbs_json_doc doc;
	const char *s;
	size_t len, i, got;
	char *json;

	(void)state;
	for (i = 0; i < sizeof(quote); i++)
		quote[i] = (uint8_t)(i * 13);
	kbs_json_writer_init(&w, 64 * 1024);
	assert_int_equal(kbs_evidence_write_tdx(&w, quote, sizeof(quote), NULL, 0), 0);
	assert_int_equal(kbs_json_writer_finish(&w, &json, &len), 0);
	assert_int_equal(kbs_json_parse(json, len, NULL, &doc), 0);
	assert_int_equal(doc.values[kbs_json_member(&doc, 0, "cc_eventlog")].type, KBS_JSON_NULL);
	assert_int_equal(kbs_json_get_string(&doc, 0, "quote", &s, &len), 0);
	assert_int_equal(kbs_base64_decode(KBS_BASE64_STD, s, len, decoded, sizeof(decoded), &got), 0);
	assert_int_equal(got, sizeof(quote));
	assert_memory_equal(decoded, quote, sizeof(quote));
	kbs_json_free(&doc);
	tb_free(json);
}

static int setup(void **state)
{
	(void)state;
	snprintf(workdir, sizeof(workdir), "/tmp/tb-kbs-evidence-XXXXXX");
	if (!mkdtemp(workdir) || !getenv("TPMBOOT_SOURCE_ROOT"))
		return -1;
	tb_test_platform_init(&tp);
	tp.log_echo = 0;
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", workdir);
	if (system(cmd) != 0)
		return -1;
	assert_int_equal(tb_test_platform_fini(&tp), 0);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(evidence_real_reports),
		cmocka_unit_test(evidence_synthetic_layouts),
		cmocka_unit_test(evidence_cert_table),
		cmocka_unit_test(evidence_rejects_lengths),
		cmocka_unit_test(evidence_tdx_shape),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

/*
 * SEV-SNP report parser: the public v2 reports, v3 and v5 reports derived
 * from them, TCB decoding and the self-check helper.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "attest/tb_snp_report.h"
#include "attest_test_util.h"
#include "core/tb_core.h"
#include "tb_test_platform.h"

static const char *const public_reports[] = {
	"vectors/attestation/virtee_report_milan.hex",
	"vectors/attestation/gosev_attestation.bin",
	"vectors/attestation/trustee_test-report.bin",
};

/* Guest policies of those reports: go-sev-guest's guest allows debugging
 * (bit 19), Trustee's sets ABI minor 0x1f. */
static const uint64_t public_policies[] = { 0x30000, 0xb0000, 0x3001f };

static uint8_t *load_report(const char *rel)
{
	size_t len = 0;
	uint8_t *buf = attest_load_vector(rel, &len);

	assert_non_null(buf);
	assert_int_equal(len, TB_SNP_REPORT_SIZE);
	return buf;
}

/* Every parsed field equals the bytes at its ABI offset. */
static void assert_fields_match_bytes(const uint8_t *b,
				      const struct tb_snp_report *r)
{
	assert_int_equal(r->version, tb_load_le32(b + 0x000));
	assert_int_equal(r->guest_svn, tb_load_le32(b + 0x004));
	assert_int_equal(r->policy, tb_load_le64(b + 0x008));
	assert_memory_equal(r->family_id, b + 0x010, 16);
	assert_memory_equal(r->image_id, b + 0x020, 16);
	assert_int_equal(r->vmpl, tb_load_le32(b + 0x030));
	assert_int_equal(r->signature_algo, tb_load_le32(b + 0x034));
	assert_int_equal(r->current_tcb, tb_load_le64(b + 0x038));
	assert_int_equal(r->platform_info, tb_load_le64(b + 0x040));
	assert_int_equal(r->key_info, tb_load_le32(b + 0x048));
	assert_memory_equal(r->report_data, b + 0x050, 64);
	assert_memory_equal(r->measurement, b + 0x090, 48);
	assert_memory_equal(r->host_data, b + 0x0C0, 32);
	assert_memory_equal(r->id_key_digest, b + 0x0E0, 48);
	assert_memory_equal(r->author_key_digest, b + 0x110, 48);
	assert_memory_equal(r->report_id, b + 0x140, 32);
	assert_memory_equal(r->report_id_ma, b + 0x160, 32);
	assert_int_equal(r->reported_tcb, tb_load_le64(b + 0x180));
	assert_memory_equal(r->chip_id, b + 0x1A0, 64);
	assert_int_equal(r->committed_tcb, tb_load_le64(b + 0x1E0));
	assert_int_equal(r->current.build, b[0x1E8]);
	assert_int_equal(r->current.minor, b[0x1E9]);
	assert_int_equal(r->current.major, b[0x1EA]);
	assert_int_equal(r->committed.build, b[0x1EC]);
	assert_int_equal(r->committed.minor, b[0x1ED]);
	assert_int_equal(r->committed.major, b[0x1EE]);
	assert_int_equal(r->launch_tcb, tb_load_le64(b + 0x1F0));
	assert_memory_equal(r->signature_r, b + 0x2A0, 72);
	assert_memory_equal(r->signature_s, b + 0x2E8, 72);
}

static void test_public_reports_parse(void **state)
{
	static const uint8_t zero[24];
	struct tb_snp_report r;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(public_reports) / sizeof(public_reports[0]);
	     i++) {
		uint8_t *b = load_report(public_reports[i]);

		assert_int_equal(tb_snp_report_parse(b, TB_SNP_REPORT_SIZE, &r),
				 0);
		assert_fields_match_bytes(b, &r);
		/* All three are Milan v2 reports at VMPL 0 signed by a VCEK
		 * with ECDSA P-384: no CPUID bytes, no mitigation vectors. */
		assert_int_equal(r.version, 2);
		assert_int_equal(r.vmpl, 0);
		assert_int_equal(r.signature_algo,
				 TB_SNP_SIG_ALGO_ECDSA_P384_SHA384);
		assert_int_equal(TB_SNP_KEY_INFO_SIGNING_KEY(r.key_info),
				 TB_SNP_SIGNING_KEY_VCEK);
		assert_true((r.policy & TB_SNP_POLICY_RESERVED_1) != 0);
		assert_int_equal(r.policy, public_policies[i]);
		assert_false(r.has_cpuid);
		assert_false(r.has_mit_vector);
		assert_false(tb_snp_report_is_turin_layout(&r));
		/* Only the low 48 bytes of R and S are significant. */
		assert_memory_equal(r.signature_r + 48, zero, 24);
		assert_memory_equal(r.signature_s + 48, zero, 24);
		free(b);
	}
}

static void test_virtee_report_values(void **state)
{
	uint8_t *b = load_report("vectors/attestation/virtee_report_milan.hex");
	struct tb_snp_report r;
	struct tb_snp_tcb tcb;
	static const uint8_t rd_prefix[8] = { 0xd4, 0x47, 0xb5, 0x5d,
					      0x19, 0x74, 0x91, 0xbf };

	(void)state;
	assert_int_equal(tb_snp_report_parse(b, TB_SNP_REPORT_SIZE, &r), 0);
	assert_int_equal(r.policy, 0x30000);
	assert_int_equal(TB_SNP_POLICY_ABI_MAJOR(r.policy), 0);
	assert_true((r.policy & TB_SNP_POLICY_SMT) != 0);
	assert_int_equal(r.platform_info, TB_SNP_PLATFORM_SMT_EN);
	assert_memory_equal(r.report_data, rd_prefix, sizeof(rd_prefix));
	assert_int_equal(r.current.major, 1);
	assert_int_equal(r.current.minor, 0x34);
	assert_int_equal(r.current.build, 4);

	/* Milan TCB 0x7308000000000003: BL 3, TEE 0, SNP 8, microcode 0x73. */
	tb_snp_tcb_decode(r.reported_tcb, 0, &tcb);
	assert_int_equal(tcb.boot_loader, 3);
	assert_int_equal(tcb.tee, 0);
	assert_int_equal(tcb.snp, 8);
	assert_int_equal(tcb.microcode, 0x73);
	assert_int_equal(tcb.fmc, 0);
	free(b);
}

static void test_gosev_report_data(void **state)
{
	uint8_t *b = load_report("vectors/attestation/gosev_attestation.bin");
	static const uint8_t expected[64] = { 1, 2, 3, 4, 5 };
	struct tb_snp_report r;

	(void)state;
	assert_int_equal(tb_snp_report_parse(b, TB_SNP_REPORT_SIZE, &r), 0);
	assert_memory_equal(r.report_data, expected, 64);
	assert_true((r.policy & TB_SNP_POLICY_DEBUG) != 0);
	assert_int_equal(tb_snp_report_check(&r, expected, 0, 0),
			 TPMBOOT_E_ATTEST_REPORT_DEBUG);
	assert_int_equal(tb_snp_report_check(&r, expected, 0, 1), 0);
	free(b);
}

static void test_v3_cpuid_fields(void **state)
{
	uint8_t *b = load_report("vectors/attestation/trustee_test-report.bin");
	struct tb_snp_report r;

	(void)state;
	/* In v2 the CPUID bytes are reserved and not reported. */
	b[0x188] = 0x19;
	b[0x189] = 0x11;
	b[0x18A] = 0x01;
	assert_int_equal(tb_snp_report_parse(b, TB_SNP_REPORT_SIZE, &r), 0);
	assert_false(r.has_cpuid);
	assert_int_equal(r.cpuid_fam_id, 0);

	tb_store_le32(b, 3);
	assert_int_equal(tb_snp_report_parse(b, TB_SNP_REPORT_SIZE, &r), 0);
	assert_int_equal(r.version, 3);
	assert_true(r.has_cpuid);
	assert_int_equal(r.cpuid_fam_id, 0x19);
	assert_int_equal(r.cpuid_mod_id, 0x11);
	assert_int_equal(r.cpuid_step, 0x01);
	assert_false(r.has_mit_vector);
	assert_false(tb_snp_report_is_turin_layout(&r));

	/* Version 4 uses the version 3 layout. */
	tb_store_le32(b, 4);
	assert_int_equal(tb_snp_report_parse(b, TB_SNP_REPORT_SIZE, &r), 0);
	assert_true(r.has_cpuid);
	assert_false(r.has_mit_vector);

	b[0x188] = 0x1A;
	assert_int_equal(tb_snp_report_parse(b, TB_SNP_REPORT_SIZE, &r), 0);
	assert_true(tb_snp_report_is_turin_layout(&r));
	free(b);
}

static void test_v5_mitigation_vectors(void **state)
{
	uint8_t *b = load_report("vectors/attestation/trustee_test-report.bin");
	struct tb_snp_report r;

	(void)state;
	tb_store_le64(b + 0x1F8, 0x1122334455667788ull);
	tb_store_le64(b + 0x200, 0x0102030405060708ull);
	assert_int_equal(tb_snp_report_parse(b, TB_SNP_REPORT_SIZE, &r), 0);
	assert_false(r.has_mit_vector);
	assert_int_equal(r.launch_mit_vector, 0);

	tb_store_le32(b, 5);
	b[0x188] = 0x1A;
	b[0x189] = 0x02;
	assert_int_equal(tb_snp_report_parse(b, TB_SNP_REPORT_SIZE, &r), 0);
	assert_int_equal(r.version, 5);
	assert_true(r.has_cpuid);
	assert_true(r.has_mit_vector);
	assert_int_equal(r.launch_mit_vector, 0x1122334455667788ull);
	assert_int_equal(r.current_mit_vector, 0x0102030405060708ull);
	assert_int_equal(r.cpuid_mod_id, 0x02);
	assert_fields_match_bytes(b, &r);
	free(b);
}

static void test_tcb_turin_layout(void **state)
{
	struct tb_snp_tcb tcb;

	(void)state;
	/* Bytes 0..7: FMC 1, BL 2, TEE 3, SNP 4, reserved, microcode 0x55. */
	tb_snp_tcb_decode(0x5500000004030201ull, 1, &tcb);
	assert_int_equal(tcb.fmc, 1);
	assert_int_equal(tcb.boot_loader, 2);
	assert_int_equal(tcb.tee, 3);
	assert_int_equal(tcb.snp, 4);
	assert_int_equal(tcb.microcode, 0x55);
}

static void test_parse_rejects_bad_input(void **state)
{
	uint8_t *b = load_report("vectors/attestation/virtee_report_milan.hex");
	struct tb_snp_report r;
	static const uint32_t bad_versions[] = { 0, 1, 6, 0x100, 0xFFFFFFFF };
	size_t i;

	(void)state;
	assert_int_equal(tb_snp_report_parse(b, TB_SNP_REPORT_SIZE - 1, &r),
			 TPMBOOT_E_ATTEST_REPORT_SIZE);
	assert_int_equal(tb_snp_report_parse(b, 0, &r),
			 TPMBOOT_E_ATTEST_REPORT_SIZE);
	for (i = 0; i < sizeof(bad_versions) / sizeof(bad_versions[0]); i++) {
		tb_store_le32(b, bad_versions[i]);
		assert_int_equal(tb_snp_report_parse(b, TB_SNP_REPORT_SIZE,
						     &r),
				 TPMBOOT_E_ATTEST_REPORT_VERSION);
	}
	free(b);
}

static void test_check_helper(void **state)
{
	uint8_t *b = load_report("vectors/attestation/virtee_report_milan.hex");
	struct tb_snp_report r, bad;
	uint8_t other[64];

	(void)state;
	assert_int_equal(tb_snp_report_parse(b, TB_SNP_REPORT_SIZE, &r), 0);
	assert_int_equal(tb_snp_report_check(&r, b + 0x50, 0, 0), 0);

	memcpy(other, b + 0x50, 64);
	other[63] ^= 1;
	assert_int_equal(tb_snp_report_check(&r, other, 0, 0),
			 TPMBOOT_E_ATTEST_REPORT_DATA);
	assert_int_equal(tb_snp_report_check(&r, b + 0x50, 1, 0),
			 TPMBOOT_E_ATTEST_REPORT_VMPL);

	bad = r;
	bad.policy |= TB_SNP_POLICY_DEBUG;
	assert_int_equal(tb_snp_report_check(&bad, b + 0x50, 0, 0),
			 TPMBOOT_E_ATTEST_REPORT_DEBUG);
	assert_int_equal(tb_snp_report_check(&bad, b + 0x50, 0, 1), 0);

	bad = r;
	bad.key_info = 7u << 2;
	assert_int_equal(tb_snp_report_check(&bad, b + 0x50, 0, 0),
			 TPMBOOT_E_ATTEST_REPORT_UNSIGNED);
	bad.key_info = TB_SNP_KEY_INFO_MASK_CHIP_KEY;
	assert_int_equal(tb_snp_report_check(&bad, b + 0x50, 0, 0),
			 TPMBOOT_E_ATTEST_REPORT_UNSIGNED);
	bad.key_info = 1u << 2; /* VLEK */
	assert_int_equal(tb_snp_report_check(&bad, b + 0x50, 0, 0), 0);
	free(b);
}

static int setup(void **state)
{
	static struct tb_test_platform tp;

	tb_test_platform_init(&tp);
	*state = &tp;
	return 0;
}

static int teardown(void **state)
{
	assert_int_equal(tb_test_platform_fini(*state), 0);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_public_reports_parse),
		cmocka_unit_test(test_virtee_report_values),
		cmocka_unit_test(test_gosev_report_data),
		cmocka_unit_test(test_v3_cpuid_fields),
		cmocka_unit_test(test_v5_mitigation_vectors),
		cmocka_unit_test(test_tcb_turin_layout),
		cmocka_unit_test(test_parse_rejects_bad_input),
		cmocka_unit_test(test_check_helper),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

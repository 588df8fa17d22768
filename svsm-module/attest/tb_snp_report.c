/*
 * SEV-SNP ATTESTATION_REPORT parser and self-checks (see tb_snp_report.h).
 * Offsets: AMD SEV-SNP firmware ABI, "ATTESTATION_REPORT Structure";
 * CPUID bytes from version 3, mitigation vectors from version 5.
 */
#include <string.h>

#include "attest/tb_snp_report.h"
#include "core/tb_core.h"

#define OFF_VERSION 0x000
#define OFF_GUEST_SVN 0x004
#define OFF_POLICY 0x008
#define OFF_FAMILY_ID 0x010
#define OFF_IMAGE_ID 0x020
#define OFF_VMPL 0x030
#define OFF_SIGNATURE_ALGO 0x034
#define OFF_CURRENT_TCB 0x038
#define OFF_PLATFORM_INFO 0x040
#define OFF_KEY_INFO 0x048
#define OFF_REPORT_DATA 0x050
#define OFF_MEASUREMENT 0x090
#define OFF_HOST_DATA 0x0C0
#define OFF_ID_KEY_DIGEST 0x0E0
#define OFF_AUTHOR_KEY_DIGEST 0x110
#define OFF_REPORT_ID 0x140
#define OFF_REPORT_ID_MA 0x160
#define OFF_REPORTED_TCB 0x180
#define OFF_CPUID_FAM_ID 0x188
#define OFF_CPUID_MOD_ID 0x189
#define OFF_CPUID_STEP 0x18A
#define OFF_CHIP_ID 0x1A0
#define OFF_COMMITTED_TCB 0x1E0
#define OFF_CURRENT_VERSION 0x1E8
#define OFF_COMMITTED_VERSION 0x1EC
#define OFF_LAUNCH_TCB 0x1F0
#define OFF_LAUNCH_MIT_VECTOR 0x1F8
#define OFF_CURRENT_MIT_VECTOR 0x200
#define OFF_SIGNATURE_R 0x2A0
#define OFF_SIGNATURE_S 0x2E8

#define CPUID_FAMILY_TURIN 0x1Au

static void read_fw_version(const uint8_t *p, struct tb_snp_fw_version *v)
{
	v->build = p[0];
	v->minor = p[1];
	v->major = p[2];
}

int tb_snp_report_parse(const uint8_t *buf, size_t len,
			struct tb_snp_report *r)
{
	memset(r, 0, sizeof(*r));
	if (len < TB_SNP_REPORT_SIZE) {
		tb_err("attest: attestation report of %zu bytes is shorter than %u",
		       len, TB_SNP_REPORT_SIZE);
		return TPMBOOT_E_ATTEST_REPORT_SIZE;
	}
	r->version = tb_load_le32(buf + OFF_VERSION);
	if (r->version < 2 || r->version > 5) {
		tb_err("attest: attestation report version %u is not supported (2 to 5)",
		       r->version);
		return TPMBOOT_E_ATTEST_REPORT_VERSION;
	}

	/* Fields common to every version. */
	r->guest_svn = tb_load_le32(buf + OFF_GUEST_SVN);
	r->policy = tb_load_le64(buf + OFF_POLICY);
	memcpy(r->family_id, buf + OFF_FAMILY_ID, sizeof(r->family_id));
	memcpy(r->image_id, buf + OFF_IMAGE_ID, sizeof(r->image_id));
	r->vmpl = tb_load_le32(buf + OFF_VMPL);
	r->signature_algo = tb_load_le32(buf + OFF_SIGNATURE_ALGO);
	r->current_tcb = tb_load_le64(buf + OFF_CURRENT_TCB);
	r->platform_info = tb_load_le64(buf + OFF_PLATFORM_INFO);
	r->key_info = tb_load_le32(buf + OFF_KEY_INFO);
	memcpy(r->report_data, buf + OFF_REPORT_DATA, sizeof(r->report_data));
	memcpy(r->measurement, buf + OFF_MEASUREMENT, sizeof(r->measurement));
	memcpy(r->host_data, buf + OFF_HOST_DATA, sizeof(r->host_data));
	memcpy(r->id_key_digest, buf + OFF_ID_KEY_DIGEST,
	       sizeof(r->id_key_digest));
	memcpy(r->author_key_digest, buf + OFF_AUTHOR_KEY_DIGEST,
	       sizeof(r->author_key_digest));
	memcpy(r->report_id, buf + OFF_REPORT_ID, sizeof(r->report_id));
	memcpy(r->report_id_ma, buf + OFF_REPORT_ID_MA,
	       sizeof(r->report_id_ma));
	r->reported_tcb = tb_load_le64(buf + OFF_REPORTED_TCB);
	memcpy(r->chip_id, buf + OFF_CHIP_ID, sizeof(r->chip_id));
	r->committed_tcb = tb_load_le64(buf + OFF_COMMITTED_TCB);
	read_fw_version(buf + OFF_CURRENT_VERSION, &r->current);
	read_fw_version(buf + OFF_COMMITTED_VERSION, &r->committed);
	r->launch_tcb = tb_load_le64(buf + OFF_LAUNCH_TCB);
	memcpy(r->signature_r, buf + OFF_SIGNATURE_R, sizeof(r->signature_r));
	memcpy(r->signature_s, buf + OFF_SIGNATURE_S, sizeof(r->signature_s));

	/* Version 3 (and 4) add the CPUID bytes in the former reserved area. */
	if (r->version >= 3) {
		r->has_cpuid = 1;
		r->cpuid_fam_id = buf[OFF_CPUID_FAM_ID];
		r->cpuid_mod_id = buf[OFF_CPUID_MOD_ID];
		r->cpuid_step = buf[OFF_CPUID_STEP];
	}

	/* Version 5 adds the launch and current mitigation vectors. */
	if (r->version >= 5) {
		r->has_mit_vector = 1;
		r->launch_mit_vector = tb_load_le64(buf + OFF_LAUNCH_MIT_VECTOR);
		r->current_mit_vector =
			tb_load_le64(buf + OFF_CURRENT_MIT_VECTOR);
	}
	return 0;
}

void tb_snp_tcb_decode(uint64_t tcb, int turin_layout, struct tb_snp_tcb *out)
{
	memset(out, 0, sizeof(*out));
	out->microcode = (uint8_t)(tcb >> 56);
	if (turin_layout) {
		out->fmc = (uint8_t)tcb;
		out->boot_loader = (uint8_t)(tcb >> 8);
		out->tee = (uint8_t)(tcb >> 16);
		out->snp = (uint8_t)(tcb >> 24);
	} else {
		out->boot_loader = (uint8_t)tcb;
		out->tee = (uint8_t)(tcb >> 8);
		out->snp = (uint8_t)(tcb >> 48);
	}
}

int tb_snp_report_is_turin_layout(const struct tb_snp_report *report)
{
	return report->has_cpuid && report->cpuid_fam_id == CPUID_FAMILY_TURIN;
}

int tb_snp_report_check(const struct tb_snp_report *report,
			const uint8_t report_data[64], uint32_t vmpl,
			int allow_debug)
{
	if (!tb_ct_memeq(report->report_data, report_data, 64)) {
		tb_err("attest: report REPORT_DATA differs from the requested value (report version %u)",
		       report->version);
		return TPMBOOT_E_ATTEST_REPORT_DATA;
	}
	if (report->vmpl != vmpl) {
		tb_err("attest: report VMPL %u, requested %u", report->vmpl,
		       vmpl);
		return TPMBOOT_E_ATTEST_REPORT_VMPL;
	}
	if (!allow_debug && (report->policy & TB_SNP_POLICY_DEBUG) != 0) {
		tb_err("attest: guest policy 0x%llx allows debugging (bit 19)",
		       (unsigned long long)report->policy);
		return TPMBOOT_E_ATTEST_REPORT_DEBUG;
	}
	/* MASK_CHIP_KEY or signing key "none": the signature is all zero. */
	if ((report->key_info & TB_SNP_KEY_INFO_MASK_CHIP_KEY) != 0 ||
	    TB_SNP_KEY_INFO_SIGNING_KEY(report->key_info) ==
		    TB_SNP_SIGNING_KEY_NONE) {
		tb_err("attest: report KEY_INFO 0x%x: chip key masked or no signing key, so the report is unsigned",
		       report->key_info);
		return TPMBOOT_E_ATTEST_REPORT_UNSIGNED;
	}
	return 0;
}

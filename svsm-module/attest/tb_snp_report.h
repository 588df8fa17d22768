/*
 * SEV-SNP ATTESTATION_REPORT (1184 bytes, little-endian) parser for report
 * versions 2, 3, 4 (same layout as 3) and 5, and the checks the module
 * applies to its own report before sending it.
 *
 * Source: AMD SEV-SNP firmware ABI specification, table "ATTESTATION_REPORT
 * Structure"; field names follow it. The module does not verify the
 * signature (the KBS does); it only decodes it.
 */
#ifndef TB_SNP_REPORT_H
#define TB_SNP_REPORT_H

#include <stddef.h>
#include <stdint.h>

#define TB_SNP_REPORT_SIZE 0x4A0u
#define TB_SNP_REPORT_SIGNED_LEN 0x2A0u /* bytes covered by SIGNATURE */
#define TB_SNP_REPORT_SIG_COMPONENT_LEN 72u

/* Guest POLICY bits. */
#define TB_SNP_POLICY_ABI_MINOR(p) ((uint8_t)(p))
#define TB_SNP_POLICY_ABI_MAJOR(p) ((uint8_t)((p) >> 8))
#define TB_SNP_POLICY_SMT (1ull << 16)
#define TB_SNP_POLICY_RESERVED_1 (1ull << 17) /* must be 1 */
#define TB_SNP_POLICY_MIGRATE_MA (1ull << 18)
#define TB_SNP_POLICY_DEBUG (1ull << 19)
#define TB_SNP_POLICY_SINGLE_SOCKET (1ull << 20)
#define TB_SNP_POLICY_CXL_ALLOW (1ull << 21)
#define TB_SNP_POLICY_MEM_AES_256_XTS (1ull << 22)
#define TB_SNP_POLICY_RAPL_DIS (1ull << 23)
#define TB_SNP_POLICY_CIPHERTEXT_HIDING (1ull << 24)
#define TB_SNP_POLICY_PAGE_SWAP_DISABLE (1ull << 25)

/* PLATFORM_INFO bits. */
#define TB_SNP_PLATFORM_SMT_EN (1ull << 0)
#define TB_SNP_PLATFORM_TSME_EN (1ull << 1)
#define TB_SNP_PLATFORM_ECC_EN (1ull << 2)
#define TB_SNP_PLATFORM_RAPL_DIS (1ull << 3)
#define TB_SNP_PLATFORM_CIPHERTEXT_HIDING_EN (1ull << 4)
#define TB_SNP_PLATFORM_ALIAS_CHECK_COMPLETE (1ull << 5)
#define TB_SNP_PLATFORM_SEV_TIO_EN (1ull << 7)

/* KEY_INFO fields. */
#define TB_SNP_KEY_INFO_AUTHOR_KEY_EN (1u << 0)
#define TB_SNP_KEY_INFO_MASK_CHIP_KEY (1u << 1)
#define TB_SNP_KEY_INFO_SIGNING_KEY(k) (((k) >> 2) & 7u)
#define TB_SNP_SIGNING_KEY_VCEK 0u
#define TB_SNP_SIGNING_KEY_VLEK 1u
#define TB_SNP_SIGNING_KEY_NONE 7u

#define TB_SNP_SIG_ALGO_ECDSA_P384_SHA384 1u

/* Firmware version triple (CURRENT_* and COMMITTED_*). */
struct tb_snp_fw_version {
	uint8_t build;
	uint8_t minor;
	uint8_t major;
};

/*
 * Decoded report. Fields absent in a version are zero and flagged by
 * has_cpuid (v3 and later) and has_mit_vector (v5 and later). TCB values
 * are the raw 64-bit TCB_VERSION; tb_snp_tcb_decode() splits them.
 */
struct tb_snp_report {
	uint32_t version;
	uint32_t guest_svn;
	uint64_t policy;
	uint8_t family_id[16];
	uint8_t image_id[16];
	uint32_t vmpl;
	uint32_t signature_algo;
	uint64_t current_tcb;
	uint64_t platform_info;
	uint32_t key_info;
	uint8_t report_data[64];
	uint8_t measurement[48];
	uint8_t host_data[32];
	uint8_t id_key_digest[48];
	uint8_t author_key_digest[48];
	uint8_t report_id[32];
	uint8_t report_id_ma[32];
	uint64_t reported_tcb;
	int has_cpuid;
	uint8_t cpuid_fam_id;
	uint8_t cpuid_mod_id;
	uint8_t cpuid_step;
	uint8_t chip_id[64];
	uint64_t committed_tcb;
	struct tb_snp_fw_version current;
	struct tb_snp_fw_version committed;
	uint64_t launch_tcb;
	int has_mit_vector;
	uint64_t launch_mit_vector;
	uint64_t current_mit_vector;
	/* ECDSA P-384 R and S, little-endian, zero padded to 72 bytes. */
	uint8_t signature_r[72];
	uint8_t signature_s[72];
};

/* TCB_VERSION components; fmc is set only for the Turin layout. */
struct tb_snp_tcb {
	uint8_t fmc;
	uint8_t boot_loader;
	uint8_t tee;
	uint8_t snp;
	uint8_t microcode;
};

/*
 * Parses the report in buf (len >= 1184; bytes after 1184 are ignored).
 * Returns 0, TPMBOOT_E_ATTEST_REPORT_SIZE or
 * TPMBOOT_E_ATTEST_REPORT_VERSION (versions other than 2..5).
 */
int tb_snp_report_parse(const uint8_t *buf, size_t len,
			struct tb_snp_report *report);

/*
 * Splits a TCB_VERSION. turin_layout selects the Turin/Venice byte order
 * (FMC, BOOT_LOADER, TEE, SNP in bytes 0..3) instead of Milan/Genoa
 * (BOOT_LOADER, TEE in bytes 0..1, SNP in byte 6). MICROCODE is byte 7.
 */
void tb_snp_tcb_decode(uint64_t tcb, int turin_layout, struct tb_snp_tcb *out);

/*
 * Returns 1 when the report's CPUID bytes (v3 and later) name family 0x1A
 * (Turin and Venice), whose TCB_VERSION uses the Turin layout; else 0.
 */
int tb_snp_report_is_turin_layout(const struct tb_snp_report *report);

/*
 * Checks the module's own report: REPORT_DATA equals report_data, VMPL
 * equals vmpl, the guest policy forbids debugging (unless allow_debug) and
 * the report is signed (no MASK_CHIP_KEY, signing key not "none").
 * Returns 0 or the TPMBOOT_E_ATTEST_REPORT_* code of the first failed
 * check.
 */
int tb_snp_report_check(const struct tb_snp_report *report,
			const uint8_t report_data[64], uint32_t vmpl,
			int allow_debug);

#endif /* TB_SNP_REPORT_H */

/*
 * SNP and TDX evidence JSON for Trustee's verifiers
 * (trustee deps/verifier/src/snp and tdx). Field names and order follow
 * virtee/sev's AttestationReport serde form. The verifier re-encodes the
 * fields into the 1184-byte report to check the signature, so every field
 * the signature covers is reproduced exactly.
 */
#include <string.h>

#include "core/tb_core.h"
#include "kbs/kbs_evidence.h"

/* Writes a byte range of the report as an array of numbers. */
static void put_bytes(struct kbs_json_writer *w, const char *name,
		      const uint8_t *report, size_t offset, size_t len)
{
	kbs_json_name_put(w, name);
	kbs_json_byte_array(w, report + offset, len);
}

static void put_u32(struct kbs_json_writer *w, const char *name,
		    const uint8_t *report, size_t offset)
{
	kbs_json_name_put(w, name);
	kbs_json_u64(w, tb_load_le32(report + offset));
}

static void put_u64(struct kbs_json_writer *w, const char *name,
		    const uint8_t *report, size_t offset)
{
	kbs_json_name_put(w, name);
	kbs_json_u64(w, tb_load_le64(report + offset));
}

/*
 * TCB_VERSION bytes: Milan and Genoa use [bootloader, tee, 0, 0, 0, 0,
 * snp, microcode]; Turin and later [fmc, bootloader, tee, snp, 0, 0, 0,
 * microcode] (virtee/sev TcbVersion).
 */
static void put_tcb(struct kbs_json_writer *w, const char *name,
		    const uint8_t *tcb, int turin)
{
	kbs_json_name_put(w, name);
	kbs_json_begin_object(w);
	kbs_json_name_put(w, "fmc");
	if (turin)
		kbs_json_u64(w, tcb[0]);
	else
		kbs_json_null(w);
	kbs_json_name_put(w, "bootloader");
	kbs_json_u64(w, tcb[turin ? 1 : 0]);
	kbs_json_name_put(w, "tee");
	kbs_json_u64(w, tcb[turin ? 2 : 1]);
	kbs_json_name_put(w, "snp");
	kbs_json_u64(w, tcb[turin ? 3 : 6]);
	kbs_json_name_put(w, "microcode");
	kbs_json_u64(w, tcb[7]);
	kbs_json_end_object(w);
}

/* Firmware version as 3 bytes build, minor, major. */
static void put_version(struct kbs_json_writer *w, const char *name,
			const uint8_t *v)
{
	kbs_json_name_put(w, name);
	kbs_json_begin_object(w);
	kbs_json_name_put(w, "major");
	kbs_json_u64(w, v[2]);
	kbs_json_name_put(w, "minor");
	kbs_json_u64(w, v[1]);
	kbs_json_name_put(w, "build");
	kbs_json_u64(w, v[0]);
	kbs_json_end_object(w);
}

static void put_optional_u8(struct kbs_json_writer *w, const char *name,
			    int present, uint8_t v)
{
	kbs_json_name_put(w, name);
	if (present)
		kbs_json_u64(w, v);
	else
		kbs_json_null(w);
}

/*
 * Decides the TCB layout as virtee/sev does: from CPUID family in
 * version 3 and later reports (family 0x1A is Turin or later), else from
 * CHIP_ID, whose bytes 8..63 are zero on Turin and later.
 */
static int is_turin_layout(const uint8_t *r, uint32_t version)
{
	size_t i;

	if (version >= 3)
		return r[0x188] >= 0x1A;
	for (i = 0x1A0 + 8; i < 0x1E0; i++)
		if (r[i] != 0)
			return 0;
	return 1;
}

static void write_report(struct kbs_json_writer *w, const uint8_t *r)
{
	uint32_t version = tb_load_le32(r);
	int turin = is_turin_layout(r, version);

	kbs_json_begin_object(w);
	put_u32(w, "version", r, 0x000);
	put_u32(w, "guest_svn", r, 0x004);
	put_u64(w, "policy", r, 0x008);
	put_bytes(w, "family_id", r, 0x010, 16);
	put_bytes(w, "image_id", r, 0x020, 16);
	put_u32(w, "vmpl", r, 0x030);
	put_u32(w, "sig_algo", r, 0x034);
	put_tcb(w, "current_tcb", r + 0x038, turin);
	put_u64(w, "plat_info", r, 0x040);
	put_u32(w, "key_info", r, 0x048);
	put_bytes(w, "report_data", r, 0x050, 64);
	put_bytes(w, "measurement", r, 0x090, 48);
	put_bytes(w, "host_data", r, 0x0C0, 32);
	put_bytes(w, "id_key_digest", r, 0x0E0, 48);
	put_bytes(w, "author_key_digest", r, 0x110, 48);
	put_bytes(w, "report_id", r, 0x140, 32);
	put_bytes(w, "report_id_ma", r, 0x160, 32);
	put_tcb(w, "reported_tcb", r + 0x180, turin);
	put_optional_u8(w, "cpuid_fam_id", version >= 3, r[0x188]);
	put_optional_u8(w, "cpuid_mod_id", version >= 3, r[0x189]);
	put_optional_u8(w, "cpuid_step", version >= 3, r[0x18A]);
	put_bytes(w, "chip_id", r, 0x1A0, 64);
	put_tcb(w, "committed_tcb", r + 0x1E0, turin);
	put_version(w, "current", r + 0x1E8);
	put_version(w, "committed", r + 0x1EC);
	put_tcb(w, "launch_tcb", r + 0x1F0, turin);
	kbs_json_name_put(w, "launch_mit_vector");
	if (version >= 5)
		kbs_json_u64(w, tb_load_le64(r + 0x1F8));
	else
		kbs_json_null(w);
	kbs_json_name_put(w, "current_mit_vector");
	if (version >= 5)
		kbs_json_u64(w, tb_load_le64(r + 0x200));
	else
		kbs_json_null(w);

	/* R and S: 72-byte little-endian integers (AMD SEV-SNP ABI). */
	kbs_json_name_put(w, "signature");
	kbs_json_begin_object(w);
	put_bytes(w, "r", r, 0x2A0, 72);
	put_bytes(w, "s", r, 0x2E8, 72);
	kbs_json_end_object(w);
	kbs_json_end_object(w);
}

/* GUIDs of the GHCB certificate table in RFC 4122 byte order. */
static const struct {
	uint8_t guid[16];
	const char *type;
} cert_types[] = {
	{ { 0x63, 0xda, 0x75, 0x8d, 0xe6, 0x64, 0x45, 0x64,
	    0xad, 0xc5, 0xf4, 0xb9, 0x3b, 0xe8, 0xac, 0xcd }, "VCEK" },
	{ { 0xa8, 0x07, 0x4b, 0xc2, 0xa2, 0x5a, 0x48, 0x3e,
	    0xaa, 0xe6, 0x39, 0xc0, 0x45, 0xa0, 0xb8, 0xa1 }, "VLEK" },
	{ { 0x4a, 0xb7, 0xb3, 0x79, 0xbb, 0xac, 0x4f, 0xe4,
	    0xa0, 0x2f, 0x05, 0xae, 0xf3, 0x27, 0xc7, 0x82 }, "ASK" },
	{ { 0xc0, 0xb4, 0x06, 0xa4, 0xa8, 0x03, 0x49, 0x52,
	    0x97, 0x43, 0x3f, 0xb6, 0x01, 0x4c, 0xd0, 0xae }, "ARK" },
	{ { 0x92, 0xf8, 0x1b, 0xc3, 0x58, 0x11, 0x4d, 0x3d,
	    0x97, 0xff, 0xd1, 0x9f, 0x88, 0xdc, 0x67, 0xea }, "CRL" },
};

/* Writes the cert_type value: a unit variant name or {"OTHER": uuid}. */
static void put_cert_type(struct kbs_json_writer *w, const uint8_t *guid)
{
	static const char hex[] = "0123456789abcdef";
	char uuid[37];
	size_t i, o = 0;

	for (i = 0; i < TB_ARRAY_SIZE(cert_types); i++) {
		if (memcmp(guid, cert_types[i].guid, 16) == 0) {
			kbs_json_string(w, cert_types[i].type);
			return;
		}
	}

	for (i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			uuid[o++] = '-';
		uuid[o++] = hex[guid[i] >> 4];
		uuid[o++] = hex[guid[i] & 15];
	}
	uuid[o] = '\0';
	kbs_json_begin_object(w);
	kbs_json_name_put(w, "OTHER");
	kbs_json_string(w, uuid);
	kbs_json_end_object(w);
}

static int write_cert_chain(struct kbs_json_writer *w, const uint8_t *certs,
			    size_t certs_len)
{
	static const uint8_t zero[24];
	size_t pos;

	kbs_json_begin_array(w);
	for (pos = 0;; pos += 24) {
		uint32_t offset, length;

		if (pos > certs_len || certs_len - pos < 24) {
			tb_err("kbs: SNP certificate table has no terminating entry within %zu bytes",
			       certs_len);
			return TPMBOOT_E_KBS_EVIDENCE;
		}
		if (memcmp(certs + pos, zero, 24) == 0)
			break;

		offset = tb_load_le32(certs + pos + 16);
		length = tb_load_le32(certs + pos + 20);
		if (offset > certs_len || length > certs_len - offset) {
			tb_err("kbs: SNP certificate table entry %zu (offset %u, length %u) is outside the %zu-byte buffer",
			       pos / 24, (unsigned)offset, (unsigned)length,
			       certs_len);
			return TPMBOOT_E_KBS_EVIDENCE;
		}

		kbs_json_begin_object(w);
		kbs_json_name_put(w, "cert_type");
		put_cert_type(w, certs + pos);
		kbs_json_name_put(w, "data");
		kbs_json_byte_array(w, certs + offset, length);
		kbs_json_end_object(w);
	}
	kbs_json_end_array(w);
	return 0;
}

int kbs_evidence_write_snp(struct kbs_json_writer *w, const uint8_t *report,
			   size_t report_len, const uint8_t *certs,
			   size_t certs_len)
{
	int rc = 0;

	if (report_len != KBS_SNP_REPORT_LEN) {
		tb_err("kbs: SNP report has %zu bytes, expected %u", report_len,
		       KBS_SNP_REPORT_LEN);
		return TPMBOOT_E_KBS_EVIDENCE;
	}

	kbs_json_begin_object(w);
	kbs_json_name_put(w, "attestation_report");
	write_report(w, report);
	kbs_json_name_put(w, "cert_chain");
	if (certs)
		rc = write_cert_chain(w, certs, certs_len);
	else
		kbs_json_null(w);
	kbs_json_end_object(w);
	return rc;
}

int kbs_evidence_write_tdx(struct kbs_json_writer *w, const uint8_t *quote,
			   size_t quote_len, const uint8_t *eventlog,
			   size_t eventlog_len)
{
	/* A TDX quote has a 48-byte header and a 584-byte TD report body
	 * before its signature data (Intel TDX DCAP quote format). */
	if (quote_len < 48 + 584) {
		tb_err("kbs: TDX quote of %zu bytes is too short", quote_len);
		return TPMBOOT_E_KBS_EVIDENCE;
	}

	kbs_json_begin_object(w);
	kbs_json_name_put(w, "cc_eventlog");
	if (eventlog)
		kbs_json_base64(w, 0, eventlog, eventlog_len);
	else
		kbs_json_null(w);
	kbs_json_name_put(w, "quote");
	kbs_json_base64(w, 0, quote, quote_len);
	kbs_json_end_object(w);
	return 0;
}

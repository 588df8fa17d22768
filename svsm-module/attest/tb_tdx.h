/*
 * Intel TDX evidence: the TDREPORT_STRUCT returned by TDG.MR.REPORT and the
 * DCAP quote (versions 4 and 5) returned by GetQuote. Parsers only; the
 * module does not verify quote signatures (the KBS does).
 *
 * Structure names follow the Intel TDX module ABI (TDREPORT_STRUCT,
 * TEE_TCB_INFO, TDINFO_STRUCT) and the Intel DCAP quote format. The unit
 * tests check every offset against a public TDREPORT and public quotes,
 * whose hashes and signatures verify.
 */
#ifndef TB_TDX_H
#define TB_TDX_H

#include <stddef.h>
#include <stdint.h>

#define TB_TDX_REPORT_SIZE 1024u
#define TB_TDX_REPORT_TYPE_TDX 0x81u
#define TB_TDX_TEE_TYPE_TDX 0x81u
#define TB_TDX_ATTRIBUTES_DEBUG (1ull << 0)

#define TB_TDX_QUOTE_HEADER_SIZE 48u
#define TB_TDX_QUOTE_BODY_10_SIZE 584u /* TDX 1.0 TD report body */
#define TB_TDX_QUOTE_BODY_15_SIZE 648u /* TDX 1.5 adds SVN2, MRSERVICETD */
#define TB_TDX_QUOTE_BODY_TYPE_10 2u
#define TB_TDX_QUOTE_BODY_TYPE_15 3u
#define TB_TDX_ATT_KEY_ECDSA_P256 2u

/* Measurement registers and attributes shared by TDREPORT and quote body. */
struct tb_tdx_td_info {
	uint64_t attributes; /* TD ATTRIBUTES; bit 0 is DEBUG */
	uint64_t xfam;
	uint8_t mrtd[48];
	uint8_t mrconfigid[48];
	uint8_t mrowner[48];
	uint8_t mrownerconfig[48];
	uint8_t rtmr[4][48];
};

/* TDREPORT_STRUCT (1024 bytes). */
struct tb_tdx_report {
	/* REPORTMACSTRUCT */
	uint8_t report_type;    /* 0x81 for TDX */
	uint8_t report_subtype;
	uint8_t report_version; /* 0 on TDX 1.0, 1 on TDX 1.5 */
	uint8_t cpusvn[16];
	uint8_t tee_tcb_info_hash[48]; /* SHA-384 of TEE_TCB_INFO */
	uint8_t tee_info_hash[48];     /* SHA-384 of TDINFO */
	uint8_t reportdata[64];
	uint8_t mac[32];
	/* TEE_TCB_INFO */
	uint8_t tee_tcb_info_valid[8];
	uint8_t tee_tcb_svn[16];
	uint8_t mrseam[48];
	uint8_t mrsignerseam[48];
	uint64_t seam_attributes;
	uint8_t tee_tcb_svn2[16]; /* TDX 1.5 */
	/* TDINFO */
	struct tb_tdx_td_info td;
	uint8_t servtd_hash[48]; /* TDX 1.5 */
};

/* Offsets and sizes of the parts hashed into the REPORTMACSTRUCT. */
#define TB_TDX_REPORT_TEE_TCB_INFO_OFFSET 0x100u
#define TB_TDX_REPORT_TEE_TCB_INFO_SIZE 239u
#define TB_TDX_REPORT_TDINFO_OFFSET 0x200u
#define TB_TDX_REPORT_TDINFO_SIZE 512u

/*
 * Reads ATTRIBUTES, XFAM, MRTD, MRCONFIGID, MROWNER, MROWNERCONFIG and
 * RTMR0..3 (8 + 8 + 6 * 48 bytes in that order), the layout that TDINFO
 * and the quote's TD report body (from TDATTRIBUTES on) share.
 */
void tb_tdx_read_td_info(const uint8_t *p, struct tb_tdx_td_info *td);

/* DCAP quote v4 or v5 header and TD report body. */
struct tb_tdx_quote {
	uint16_t version;      /* 4 or 5 */
	uint16_t att_key_type; /* 2 = ECDSA P-256 */
	uint32_t tee_type;     /* 0x81 = TDX */
	uint16_t qe_svn;
	uint16_t pce_svn;
	uint8_t qe_vendor_id[16];
	uint8_t user_data[20];
	uint16_t body_type; /* 2 (TDX 1.0) or 3 (TDX 1.5); v4 is always 2 */
	uint32_t body_size;
	/* TD report body */
	uint8_t tee_tcb_svn[16];
	uint8_t mrseam[48];
	uint8_t mrsignerseam[48];
	uint64_t seam_attributes;
	struct tb_tdx_td_info td;
	uint8_t reportdata[64];
	uint8_t tee_tcb_svn2[16]; /* body type 3 only */
	uint8_t mrservicetd[48];  /* body type 3 only */
	/* Signature data follows the signed part. */
	size_t signed_len; /* header (+ descriptor) + body */
	uint32_t signature_data_len;
	const uint8_t *signature_data; /* points into the parsed buffer */
	size_t total_len; /* signed_len + 4 + signature_data_len */
};

/*
 * Parses a TDREPORT (len >= 1024; the first 1024 bytes are used). Checks
 * REPORTTYPE.type = 0x81 and nothing else; the MAC can only be checked by
 * the TDX module. Returns 0, TPMBOOT_E_BUFFER_TOO_SMALL or
 * TPMBOOT_E_ATTEST_TDX_REPORT.
 */
int tb_tdx_report_parse(const uint8_t *buf, size_t len,
			struct tb_tdx_report *report);

/*
 * Parses a quote of len bytes (trailing padding after the signature data
 * is allowed). Checks the version (4 or 5), TEE type 0x81, the body type
 * and size, and that the signature data lies inside buf. Returns 0,
 * TPMBOOT_E_ATTEST_TDX_QUOTE_VERSION or TPMBOOT_E_ATTEST_TDX_QUOTE_FORMAT.
 */
int tb_tdx_quote_parse(const uint8_t *buf, size_t len,
		       struct tb_tdx_quote *quote);

/*
 * Checks a parsed quote of the module's own TD: REPORTDATA equals
 * report_data and, unless allow_debug, TD ATTRIBUTES has DEBUG clear.
 * Returns 0, TPMBOOT_E_ATTEST_REPORT_DATA or TPMBOOT_E_ATTEST_REPORT_DEBUG.
 */
int tb_tdx_quote_check(const struct tb_tdx_quote *quote,
		       const uint8_t report_data[64], int allow_debug);

#endif /* TB_TDX_H */

/*
 * TDX evidence parsers: the public TDREPORT (its two SHA-384 hashes are
 * recomputed with OpenSSL) and the public v4 / v5 quotes (their ECDSA
 * P-256 signatures, QE report binding and PCK signatures are verified with
 * OpenSSL from the parsed offsets).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "attest/tb_tdx.h"
#include "attest_test_util.h"
#include "core/tb_core.h"
#include "tb_test_platform.h"

static const char *const quotes[] = {
	"vectors/attestation/gotdx_tdx_prod_quote_SPR_E4.dat",
	"vectors/attestation/gotdx_quote_v5_sample.dat",
	"vectors/attestation/trustee_tdx_quote_4.dat",
	"vectors/attestation/trustee_tdx_quote_5.dat",
};

static const uint8_t intel_qe_vendor_id[16] = {
	0x93, 0x9a, 0x72, 0x33, 0xf7, 0x9c, 0x4c, 0xa9,
	0x94, 0x0a, 0x0d, 0xb3, 0x95, 0x7f, 0x06, 0x07,
};

static void test_tdreport_parse(void **state)
{
	size_t len = 0;
	uint8_t *b = attest_load_vector("vectors/attestation/gc_tdx_report_1.bin", &len);
	struct tb_tdx_report r;
	uint8_t digest[48];
	size_t i;

	(void)state;
	assert_non_null(b);
	assert_int_equal(len, TB_TDX_REPORT_SIZE);
	assert_int_equal(tb_tdx_report_parse(b, len, &r), 0);
	assert_int_equal(r.report_type, 0x81);
	assert_int_equal(r.report_subtype, 0);
	assert_int_equal(r.report_version, 1);

	/* TEE_TCB_INFO_HASH and TEE_INFO_HASH as the TDX module computed. */
	SHA384(b + TB_TDX_REPORT_TEE_TCB_INFO_OFFSET,
	       TB_TDX_REPORT_TEE_TCB_INFO_SIZE, digest);
	assert_memory_equal(r.tee_tcb_info_hash, digest, 48);
	SHA384(b + TB_TDX_REPORT_TDINFO_OFFSET, TB_TDX_REPORT_TDINFO_SIZE,
	       digest);
	assert_memory_equal(r.tee_info_hash, digest, 48);

	/* Fields against their offsets in the structure. */
	assert_memory_equal(r.cpusvn, b + 0x10, 16);
	assert_memory_equal(r.reportdata, b + 0x80, 64);
	assert_memory_equal(r.mac, b + 0xE0, 32);
	assert_memory_equal(r.tee_tcb_svn, b + 0x108, 16);
	assert_memory_equal(r.mrseam, b + 0x118, 48);
	assert_memory_equal(r.mrsignerseam, b + 0x148, 48);
	assert_int_equal(r.seam_attributes, tb_load_le64(b + 0x178));
	assert_memory_equal(r.tee_tcb_svn2, b + 0x180, 16);
	assert_int_equal(r.td.attributes, tb_load_le64(b + 0x200));
	assert_int_equal(r.td.xfam, tb_load_le64(b + 0x208));
	assert_memory_equal(r.td.mrtd, b + 528, 48);
	assert_memory_equal(r.td.mrconfigid, b + 0x240, 48);
	assert_memory_equal(r.td.mrowner, b + 0x270, 48);
	assert_memory_equal(r.td.mrownerconfig, b + 0x2A0, 48);
	for (i = 0; i < 4; i++)
		assert_memory_equal(r.td.rtmr[i], b + 720 + i * 48, 48);
	assert_memory_equal(r.servtd_hash, b + 0x390, 48);
	/* SEPT_VE_DISABLE (bit 28) set, DEBUG clear. */
	assert_int_equal(r.td.attributes, 0x10000000ull);
	free(b);
}

static void test_tdreport_rejects_bad_input(void **state)
{
	size_t len = 0;
	uint8_t *b = attest_load_vector("vectors/attestation/gc_tdx_report_1.bin", &len);
	struct tb_tdx_report r;

	(void)state;
	assert_int_equal(tb_tdx_report_parse(b, len - 1, &r),
			 TPMBOOT_E_BUFFER_TOO_SMALL);
	b[0] = 0x00; /* SGX report type */
	assert_int_equal(tb_tdx_report_parse(b, len, &r),
			 TPMBOOT_E_ATTEST_TDX_REPORT);
	free(b);
}

/* Verifies a 64-byte big-endian r || s P-256 signature over msg. */
static int verify_p256(EVP_PKEY *key, const uint8_t *sig_rs,
		       const uint8_t *msg, size_t msg_len)
{
	ECDSA_SIG *sig = ECDSA_SIG_new();
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char *der = NULL;
	int der_len, ok;

	ECDSA_SIG_set0(sig, BN_bin2bn(sig_rs, 32, NULL),
		       BN_bin2bn(sig_rs + 32, 32, NULL));
	der_len = i2d_ECDSA_SIG(sig, &der);
	assert_true(der_len > 0);
	assert_int_equal(EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL,
					      key),
			 1);
	ok = EVP_DigestVerify(ctx, der, (size_t)der_len, msg, msg_len);
	EVP_MD_CTX_free(ctx);
	OPENSSL_free(der);
	ECDSA_SIG_free(sig);
	return ok;
}

/* Builds a P-256 public key from a raw 64-byte x || y. */
static EVP_PKEY *p256_key_from_xy(const uint8_t xy[64])
{
	uint8_t point[65];
	const unsigned char *p = point;
	EVP_PKEY *key = NULL;
	EC_KEY *ec = EC_KEY_new_by_curve_name(NID_X9_62_prime256v1);

	point[0] = 0x04;
	memcpy(point + 1, xy, 64);
	assert_non_null(o2i_ECPublicKey(&ec, &p, sizeof(point)));
	key = EVP_PKEY_new();
	EVP_PKEY_assign_EC_KEY(key, ec);
	return key;
}

/*
 * Checks the signature data: quote signature by the attestation key, QE
 * report REPORTDATA = SHA-256(attestation key || QE auth data), QE report
 * signature by the first certificate of the PCK chain.
 */
static void verify_signature_data(const uint8_t *quote,
				  const struct tb_tdx_quote *q)
{
	const uint8_t *sd = q->signature_data;
	const uint8_t *qe_report, *qe_sig, *auth, *inner;
	uint16_t auth_len;
	uint8_t binding[64] = { 0 };
	EVP_PKEY *att_key = p256_key_from_xy(sd + 64);
	SHA256_CTX sha;
	BIO *bio;
	X509 *pck;

	assert_int_equal(verify_p256(att_key, sd, quote, q->signed_len), 1);
	EVP_PKEY_free(att_key);

	/* Certification data type 6: QE report, its signature, auth data,
	 * then certification data type 5 (PCK chain, PEM). */
	assert_int_equal(tb_load_le16(sd + 128), 6);
	qe_report = sd + 134;
	qe_sig = qe_report + 384;
	auth_len = tb_load_le16(qe_sig + 64);
	auth = qe_sig + 66;
	inner = auth + auth_len;
	assert_int_equal(tb_load_le16(inner), 5);

	SHA256_Init(&sha);
	SHA256_Update(&sha, sd + 64, 64);
	SHA256_Update(&sha, auth, auth_len);
	SHA256_Final(binding, &sha);
	assert_memory_equal(qe_report + 320, binding, 64);

	bio = BIO_new_mem_buf(inner + 6, (int)tb_load_le32(inner + 2));
	pck = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	assert_non_null(pck);
	assert_int_equal(verify_p256(X509_get0_pubkey(pck), qe_sig, qe_report,
				     384),
			 1);
	X509_free(pck);
	BIO_free(bio);
}

static void test_quotes_parse_and_verify(void **state)
{
	size_t i, len = 0;

	(void)state;
	for (i = 0; i < sizeof(quotes) / sizeof(quotes[0]); i++) {
		uint8_t *b = attest_load_vector(quotes[i], &len);
		struct tb_tdx_quote q;
		size_t body = 0;

		assert_non_null(b);
		assert_int_equal(tb_tdx_quote_parse(b, len, &q), 0);
		assert_int_equal(q.att_key_type, TB_TDX_ATT_KEY_ECDSA_P256);
		assert_int_equal(q.tee_type, 0x81);
		assert_int_equal(q.qe_svn, 0);
		assert_int_equal(q.pce_svn, 0);
		assert_memory_equal(q.qe_vendor_id, intel_qe_vendor_id, 16);
		assert_memory_equal(q.user_data, b + 28, 20);
		if (q.version == 4) {
			body = 48;
			assert_int_equal(q.body_type, 2);
			assert_int_equal(q.body_size, 584);
		} else {
			assert_int_equal(q.version, 5);
			body = 54;
			assert_int_equal(q.body_type, tb_load_le16(b + 48));
			assert_int_equal(q.body_size, tb_load_le32(b + 50));
		}
		assert_int_equal(q.signed_len, body + q.body_size);
		assert_memory_equal(q.tee_tcb_svn, b + body, 16);
		assert_memory_equal(q.mrseam, b + body + 16, 48);
		assert_int_equal(q.td.attributes, tb_load_le64(b + body + 120));
		assert_int_equal(q.td.xfam, tb_load_le64(b + body + 128));
		assert_memory_equal(q.td.mrtd, b + body + 136, 48);
		assert_memory_equal(q.td.rtmr[3], b + body + 472, 48);
		assert_memory_equal(q.reportdata, b + body + 520, 64);
		if (q.body_type == TB_TDX_QUOTE_BODY_TYPE_15)
			assert_memory_equal(q.mrservicetd, b + body + 600, 48);

		assert_true(q.total_len <= len);
		verify_signature_data(b, &q);
		free(b);
	}
}

static void test_quote_trailing_bytes(void **state)
{
	static const char trailer[] = "\nextra bytes(only for testing purpose)\n";
	size_t len = 0;
	uint8_t *b = attest_load_vector(
		"vectors/attestation/gotdx_tdx_prod_quote_SPR_E4.dat", &len);
	struct tb_tdx_quote q;

	(void)state;
	/* go-tdx-guest appends text after the signature data; the parser
	 * stops at the end of the signature data. */
	assert_int_equal(tb_tdx_quote_parse(b, len, &q), 0);
	assert_int_equal(len - q.total_len, sizeof(trailer) - 1);
	assert_memory_equal(b + q.total_len, trailer, sizeof(trailer) - 1);
	free(b);
}

static void test_quote_body_types(void **state)
{
	size_t len = 0;
	uint8_t *v5 = attest_load_vector("vectors/attestation/trustee_tdx_quote_5.dat",
					 &len);
	struct tb_tdx_quote q;

	(void)state;
	assert_int_equal(tb_tdx_quote_parse(v5, len, &q), 0);
	assert_int_equal(q.version, 5);
	assert_int_equal(q.body_type, TB_TDX_QUOTE_BODY_TYPE_15);
	assert_int_equal(q.body_size, TB_TDX_QUOTE_BODY_15_SIZE);
	assert_memory_equal(q.tee_tcb_svn2, v5 + 54 + 584, 16);
	free(v5);
}

static void test_quote_check(void **state)
{
	size_t len = 0;
	uint8_t *debug_td = attest_load_vector(
		"vectors/attestation/trustee_tdx_quote_4.dat", &len);
	struct tb_tdx_quote q;
	uint8_t rd[64];

	(void)state;
	assert_int_equal(tb_tdx_quote_parse(debug_td, len, &q), 0);
	memcpy(rd, debug_td + 48 + 520, 64);
	/* This TD runs with ATTRIBUTES.DEBUG set. */
	assert_int_equal(q.td.attributes & TB_TDX_ATTRIBUTES_DEBUG, 1);
	assert_int_equal(tb_tdx_quote_check(&q, rd, 0),
			 TPMBOOT_E_ATTEST_REPORT_DEBUG);
	assert_int_equal(tb_tdx_quote_check(&q, rd, 1), 0);
	rd[0] ^= 1;
	assert_int_equal(tb_tdx_quote_check(&q, rd, 1),
			 TPMBOOT_E_ATTEST_REPORT_DATA);
	free(debug_td);
}

static void test_quote_rejects_bad_input(void **state)
{
	size_t len = 0;
	uint8_t *b = attest_load_vector("vectors/attestation/gotdx_quote_v5_sample.dat",
					&len);
	uint8_t *copy = malloc(len);
	struct tb_tdx_quote q;
	size_t signed_len;

	(void)state;
	assert_int_equal(tb_tdx_quote_parse(b, len, &q), 0);
	signed_len = q.signed_len;

#define MUTATED(stmt, expected)                                              \
	do {                                                                 \
		memcpy(copy, b, len);                                        \
		stmt;                                                        \
		assert_int_equal(tb_tdx_quote_parse(copy, len, &q), expected); \
	} while (0)

	MUTATED(tb_store_le16(copy, 3), TPMBOOT_E_ATTEST_TDX_QUOTE_VERSION);
	MUTATED(tb_store_le16(copy, 6), TPMBOOT_E_ATTEST_TDX_QUOTE_VERSION);
	MUTATED(tb_store_le32(copy + 4, 0), TPMBOOT_E_ATTEST_TDX_QUOTE_FORMAT);
	MUTATED(tb_store_le16(copy + 48, 4),
		TPMBOOT_E_ATTEST_TDX_QUOTE_VERSION);
	MUTATED(tb_store_le32(copy + 50, 584),
		TPMBOOT_E_ATTEST_TDX_QUOTE_VERSION);
	MUTATED(tb_store_le32(copy + signed_len, 0xFFFFFFFFu),
		TPMBOOT_E_ATTEST_TDX_QUOTE_FORMAT);
	MUTATED(tb_store_le32(copy + signed_len,
			      (uint32_t)(len - signed_len - 3)),
		TPMBOOT_E_ATTEST_TDX_QUOTE_FORMAT);
	MUTATED(tb_store_le32(copy + signed_len,
			      (uint32_t)(len - signed_len - 4)),
		0);
#undef MUTATED

	assert_int_equal(tb_tdx_quote_parse(b, signed_len + 3, &q),
			 TPMBOOT_E_ATTEST_TDX_QUOTE_FORMAT);
	assert_int_equal(tb_tdx_quote_parse(b, 53, &q),
			 TPMBOOT_E_ATTEST_TDX_QUOTE_FORMAT);
	assert_int_equal(tb_tdx_quote_parse(b, 47, &q),
			 TPMBOOT_E_ATTEST_TDX_QUOTE_FORMAT);
	free(copy);
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
		cmocka_unit_test(test_tdreport_parse),
		cmocka_unit_test(test_tdreport_rejects_bad_input),
		cmocka_unit_test(test_quotes_parse_and_verify),
		cmocka_unit_test(test_quote_trailing_bytes),
		cmocka_unit_test(test_quote_body_types),
		cmocka_unit_test(test_quote_check),
		cmocka_unit_test(test_quote_rejects_bad_input),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

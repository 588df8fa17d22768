/*
 * Public SEV-SNP reports checked with OpenSSL after the module parsed them.
 * Each report signature verifies with its VCEK over the signed bytes. Each
 * VCEK chains to its ARK through the ASK (RSA-PSS). The reported TCB and
 * CHIP_ID match the VCEK's AMD extensions.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "attest/tb_snp_report.h"
#include "attest_test_util.h"
#include "tb_test_platform.h"

struct report_case {
	const char *report;
	const char *vcek;  /* DER */
	const char *chain; /* PEM with ASK and ARK (and maybe ASVK) */
	const char *product;
};

static const struct report_case cases[] = {
	{ "vectors/attestation/virtee_report_milan.hex",
	  "vectors/attestation/virtee_vcek_milan.der",
	  "vectors/attestation/virtee_cert_chain_milan", "Milan" },
	{ "vectors/attestation/gosev_attestation.bin", "vectors/attestation/gosev_vcek.testcer",
	  "vectors/attestation/gosev_milan.testcer", "Milan" },
	{ "vectors/attestation/trustee_test-report.bin",
	  "vectors/attestation/trustee_test-vcek.der",
	  "vectors/attestation/trustee_milan_ask_ark_asvk.pem", "Milan" },
};

static X509 *load_der_cert(const char *rel)
{
	size_t len = 0;
	uint8_t *der = attest_load_vector(rel, &len);
	const unsigned char *p = der;
	X509 *cert;

	assert_non_null(der);
	cert = d2i_X509(NULL, &p, (long)len);
	assert_non_null(cert);
	free(der);
	return cert;
}

/* Returns the certificate in the PEM file whose CN equals cn. */
static X509 *load_pem_cert_by_cn(const char *rel, const char *cn)
{
	BIO *bio = BIO_new_file(tb_test_shared_path(rel), "r");
	X509 *cert, *found = NULL;
	char name[128];

	assert_non_null(bio);
	while ((cert = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		X509_NAME_get_text_by_NID(X509_get_subject_name(cert),
					  NID_commonName, name, sizeof(name));
		if (found == NULL && strcmp(name, cn) == 0)
			found = cert;
		else
			X509_free(cert);
	}
	BIO_free(bio);
	assert_non_null(found);
	return found;
}

static void test_report_signatures(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len = 0;
		uint8_t *b = attest_load_vector(cases[i].report, &len);
		X509 *vcek = load_der_cert(cases[i].vcek);
		EVP_PKEY *key = X509_get0_pubkey(vcek);
		struct tb_snp_report r;

		assert_non_null(b);
		assert_int_equal(tb_snp_report_parse(b, len, &r), 0);
		assert_int_equal(attest_verify_snp_report(b, key), 1);

		/* A changed signed byte (GUEST_SVN) must not verify. */
		b[5] ^= 0x01;
		assert_int_equal(attest_verify_snp_report(b, key), 0);
		X509_free(vcek);
		free(b);
	}
}

static void assert_chain(X509 *leaf, const char *chain, const char *ask_cn,
			 const char *ark_cn)
{
	X509 *ask = load_pem_cert_by_cn(chain, ask_cn);
	X509 *ark = load_pem_cert_by_cn(chain, ark_cn);

	assert_int_equal(X509_verify(ark, X509_get0_pubkey(ark)), 1);
	assert_int_equal(X509_verify(ask, X509_get0_pubkey(ark)), 1);
	assert_int_equal(X509_verify(leaf, X509_get0_pubkey(ask)), 1);
	/* The ARK did not sign the VCEK directly. */
	assert_int_not_equal(X509_verify(leaf, X509_get0_pubkey(ark)), 1);
	/* Certificates are signed with RSASSA-PSS. */
	assert_int_equal(X509_get_signature_nid(ask), NID_rsassaPss);
	X509_free(ask);
	X509_free(ark);
}

static void test_vcek_chains(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		X509 *vcek = load_der_cert(cases[i].vcek);

		assert_chain(vcek, cases[i].chain, "SEV-Milan", "ARK-Milan");
		X509_free(vcek);
	}

	X509 *turin = load_der_cert("vectors/attestation/virtee_vcek_turin.der");

	assert_chain(turin, "vectors/attestation/virtee_cert_chain_turin", "SEV-Turin",
		     "ARK-Turin");
	X509_free(turin);
}

static void test_product_roots(void **state)
{
	static const char *const products[] = { "milan", "genoa", "turin" };
	static const char *const names[] = { "Milan", "Genoa", "Turin" };
	char path[128], cn[64];
	size_t i;

	(void)state;
	for (i = 0; i < 3; i++) {
		X509 *ark, *ask;

		snprintf(path, sizeof(path), "vectors/attestation/%s_ark.pem",
			 products[i]);
		snprintf(cn, sizeof(cn), "ARK-%s", names[i]);
		ark = load_pem_cert_by_cn(path, cn);
		snprintf(path, sizeof(path), "vectors/attestation/%s_ask.pem",
			 products[i]);
		snprintf(cn, sizeof(cn), "SEV-%s", names[i]);
		ask = load_pem_cert_by_cn(path, cn);
		assert_int_equal(X509_verify(ark, X509_get0_pubkey(ark)), 1);
		assert_int_equal(X509_verify(ask, X509_get0_pubkey(ark)), 1);
		X509_free(ark);
		X509_free(ask);
	}
}

/* Returns the INTEGER value of the AMD extension 1.3.6.1.4.1.3704.1.<arc>. */
static long amd_ext_integer(X509 *cert, const char *arc)
{
	char oid[64];
	ASN1_OBJECT *obj;
	X509_EXTENSION *ext;
	const ASN1_OCTET_STRING *data;
	const unsigned char *p;
	ASN1_INTEGER *value;
	long v;
	int idx;

	snprintf(oid, sizeof(oid), "1.3.6.1.4.1.3704.1.%s", arc);
	obj = OBJ_txt2obj(oid, 1);
	idx = X509_get_ext_by_OBJ(cert, obj, -1);
	ASN1_OBJECT_free(obj);
	assert_true(idx >= 0);
	ext = X509_get_ext(cert, idx);
	data = X509_EXTENSION_get_data(ext);
	p = ASN1_STRING_get0_data(data);
	value = d2i_ASN1_INTEGER(NULL, &p, ASN1_STRING_length(data));
	assert_non_null(value);
	v = ASN1_INTEGER_get(value);
	ASN1_INTEGER_free(value);
	return v;
}

/* Returns the 64-byte hwID (raw or wrapped in an OCTET STRING). */
static void amd_ext_hwid(X509 *cert, uint8_t hwid[64])
{
	ASN1_OBJECT *obj = OBJ_txt2obj("1.3.6.1.4.1.3704.1.4", 1);
	int idx = X509_get_ext_by_OBJ(cert, obj, -1);
	const ASN1_OCTET_STRING *data;
	const unsigned char *p;
	int len;

	ASN1_OBJECT_free(obj);
	assert_true(idx >= 0);
	data = X509_EXTENSION_get_data(X509_get_ext(cert, idx));
	p = ASN1_STRING_get0_data(data);
	len = ASN1_STRING_length(data);
	if (len == 66 && p[0] == 0x04 && p[1] == 0x40) {
		p += 2;
		len = 64;
	}
	assert_int_equal(len, 64);
	memcpy(hwid, p, 64);
}

static void test_tcb_matches_vcek(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len = 0;
		uint8_t *b = attest_load_vector(cases[i].report, &len);
		X509 *vcek = load_der_cert(cases[i].vcek);
		struct tb_snp_report r;
		struct tb_snp_tcb tcb;
		uint8_t hwid[64];

		assert_int_equal(tb_snp_report_parse(b, len, &r), 0);
		tb_snp_tcb_decode(r.reported_tcb,
				  tb_snp_report_is_turin_layout(&r), &tcb);
		assert_int_equal(tcb.boot_loader, amd_ext_integer(vcek, "3.1"));
		assert_int_equal(tcb.tee, amd_ext_integer(vcek, "3.2"));
		assert_int_equal(tcb.snp, amd_ext_integer(vcek, "3.3"));
		assert_int_equal(tcb.microcode, amd_ext_integer(vcek, "3.8"));
		amd_ext_hwid(vcek, hwid);
		assert_memory_equal(r.chip_id, hwid, 64);
		X509_free(vcek);
		free(b);
	}
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
		cmocka_unit_test(test_report_signatures),
		cmocka_unit_test(test_vcek_chains),
		cmocka_unit_test(test_product_roots),
		cmocka_unit_test(test_tcb_matches_vcek),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

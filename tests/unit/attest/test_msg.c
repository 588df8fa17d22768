/*
 * SNP guest message sealing and opening: the self-generated vector
 * round-trips, and every header check rejects with its own error code.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "attest/tb_snp_msg.h"
#include "attest_test_util.h"
#include "core/tb_core.h"
#include "tb_test_platform.h"

#define VECTOR "vectors/attestation/snp_guest_msg_selfgen.txt"

struct msg_fixture {
	struct tb_test_platform tp;
	struct tb_gcm_key key;
	uint8_t *vmpck;
	uint8_t *req_plain;
	size_t req_plain_len;
	uint8_t *req_hdr;
	uint8_t *req_ct;
	size_t req_ct_len;
	uint8_t page[TB_SNP_PAGE_SIZE];
	uint8_t plain[TB_SNP_PAGE_SIZE];
};

static int setup(void **state)
{
	struct msg_fixture *f = calloc(1, sizeof(*f));

	tb_test_platform_init(&f->tp);
	assert_int_equal(attest_vector_hex(VECTOR, "VMPCK", &f->vmpck), 32);
	f->req_plain_len = attest_vector_hex(VECTOR, "REQ plaintext",
					     &f->req_plain);
	assert_int_equal(f->req_plain_len, 96);
	assert_int_equal(attest_vector_hex(VECTOR, "REQ hdr", &f->req_hdr),
			 TB_SNP_MSG_HDR_SIZE);
	f->req_ct_len = attest_vector_hex(VECTOR, "REQ ciphertext", &f->req_ct);
	assert_int_equal(f->req_ct_len, f->req_plain_len);
	assert_int_equal(tb_gcm_setkey(&f->key, f->vmpck, 32), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct msg_fixture *f = *state;

	tb_gcm_key_wipe(&f->key);
	free(f->vmpck);
	free(f->req_plain);
	free(f->req_hdr);
	free(f->req_ct);
	assert_int_equal(tb_test_platform_fini(&f->tp), 0);
	free(f);
	return 0;
}

/* Request expectations taken from the vector's own header bytes. */
static struct tb_snp_msg_expect vector_request_expect(const uint8_t *hdr)
{
	struct tb_snp_msg_expect exp = {
		.msg_seqno = tb_load_le64(hdr + 0x20),
		.msg_type = hdr[0x34],
		.msg_version = hdr[0x35],
		.msg_vmpck = hdr[0x3C],
	};
	return exp;
}

static void seal_vector_request(struct msg_fixture *f)
{
	struct tb_snp_msg_expect exp = vector_request_expect(f->req_hdr);

	assert_int_equal(tb_snp_msg_seal(&f->key, exp.msg_seqno, exp.msg_type,
					 exp.msg_version, exp.msg_vmpck,
					 f->req_plain, f->req_plain_len,
					 f->page),
			 0);
}

static void test_seal_matches_vector(void **state)
{
	struct msg_fixture *f = *state;
	size_t i;

	seal_vector_request(f);
	assert_memory_equal(f->page, f->req_hdr, TB_SNP_MSG_HDR_SIZE);
	assert_memory_equal(f->page + TB_SNP_MSG_HDR_SIZE, f->req_ct,
			    f->req_ct_len);
	for (i = TB_SNP_MSG_HDR_SIZE + f->req_ct_len; i < TB_SNP_PAGE_SIZE; i++)
		assert_int_equal(f->page[i], 0);
}

static void test_open_vector_request(void **state)
{
	struct msg_fixture *f = *state;
	struct tb_snp_msg_expect exp = vector_request_expect(f->req_hdr);
	size_t len = 0;

	memset(f->page, 0, sizeof(f->page));
	memcpy(f->page, f->req_hdr, TB_SNP_MSG_HDR_SIZE);
	memcpy(f->page + TB_SNP_MSG_HDR_SIZE, f->req_ct, f->req_ct_len);
	assert_int_equal(exp.msg_seqno, 1);
	assert_int_equal(exp.msg_type, TB_SNP_MSG_REPORT_REQ);
	assert_int_equal(tb_snp_msg_open(&f->key, f->page, sizeof(f->page),
					 &exp, f->plain, sizeof(f->plain),
					 &len),
			 0);
	assert_int_equal(len, f->req_plain_len);
	assert_memory_equal(f->plain, f->req_plain, len);
}

static void test_vector_response_header(void **state)
{
	struct msg_fixture *f = *state;
	struct tb_snp_msg_expect req = vector_request_expect(f->req_hdr);
	struct tb_snp_msg_hdr hdr;
	char *msg_sz_text = attest_vector_value(VECTOR, "RSP msg_sz");
	uint8_t *rsp_hdr = NULL;

	assert_non_null(msg_sz_text);
	assert_int_equal(attest_vector_hex(VECTOR, "RSP hdr", &rsp_hdr),
			 TB_SNP_MSG_HDR_SIZE);
	assert_int_equal(tb_snp_msg_parse_hdr(rsp_hdr, TB_SNP_MSG_HDR_SIZE,
					      &hdr),
			 0);
	assert_int_equal(hdr.msg_seqno, req.msg_seqno + 1);
	assert_int_equal(hdr.msg_type, req.msg_type + 1);
	assert_int_equal(hdr.msg_version, req.msg_version);
	assert_int_equal(hdr.msg_vmpck, req.msg_vmpck);
	assert_int_equal(hdr.algo, TB_SNP_AEAD_AES_256_GCM);
	assert_int_equal(hdr.hdr_version, 1);
	assert_int_equal(hdr.hdr_sz, TB_SNP_MSG_HDR_SIZE);
	assert_int_equal(hdr.msg_sz, strtoul(msg_sz_text, NULL, 0));
	assert_int_equal(hdr.msg_sz, 0x4C0);
	free(msg_sz_text);
	free(rsp_hdr);
}

/* Seals the vector request, XORs xor_mask into the byte at offset and
 * opens the page; a failed open must leave plain zeroed. */
static int open_mutated(struct msg_fixture *f, size_t offset, uint8_t xor_mask,
			const struct tb_snp_msg_expect *exp)
{
	size_t len = 123;
	size_t i;
	int rc;

	seal_vector_request(f);
	f->page[offset] ^= xor_mask;
	memset(f->plain, 0xAA, sizeof(f->plain));
	rc = tb_snp_msg_open(&f->key, f->page, sizeof(f->page), exp, f->plain,
			     sizeof(f->plain), &len);
	if (rc != 0) {
		assert_int_equal(len, 0);
		for (i = 0; i < sizeof(f->plain); i++)
			assert_int_equal(f->plain[i], 0);
	}
	return rc;
}

static void test_open_rejects_header_fields(void **state)
{
	struct msg_fixture *f = *state;
	struct tb_snp_msg_expect exp = vector_request_expect(f->req_hdr);
	struct tb_snp_msg_expect other;

	assert_int_equal(open_mutated(f, 0, 0, &exp), 0);
	assert_int_equal(open_mutated(f, TB_SNP_HDR_ALGO, 0x02, &exp),
			 TPMBOOT_E_ATTEST_MSG_HEADER);
	assert_int_equal(open_mutated(f, TB_SNP_HDR_HDR_VERSION, 0x02, &exp),
			 TPMBOOT_E_ATTEST_MSG_HEADER);
	assert_int_equal(open_mutated(f, TB_SNP_HDR_HDR_SZ, 0x01, &exp),
			 TPMBOOT_E_ATTEST_MSG_HEADER);
	assert_int_equal(open_mutated(f, TB_SNP_HDR_MSG_TYPE, 0x03, &exp),
			 TPMBOOT_E_ATTEST_MSG_TYPE);
	assert_int_equal(open_mutated(f, TB_SNP_HDR_MSG_VERSION, 0x02, &exp),
			 TPMBOOT_E_ATTEST_MSG_VERSION);
	assert_int_equal(open_mutated(f, TB_SNP_HDR_MSG_SEQNO, 0x02, &exp),
			 TPMBOOT_E_ATTEST_MSG_SEQNO);
	assert_int_equal(open_mutated(f, TB_SNP_HDR_MSG_SEQNO + 7, 0x80, &exp),
			 TPMBOOT_E_ATTEST_MSG_SEQNO);
	assert_int_equal(open_mutated(f, TB_SNP_HDR_MSG_VMPCK, 0x01, &exp),
			 TPMBOOT_E_ATTEST_MSG_VMPCK);
	assert_int_equal(open_mutated(f, TB_SNP_HDR_MSG_SZ + 1, 0x10, &exp),
			 TPMBOOT_E_ATTEST_MSG_SIZE);

	/* The same page checked against other expected values. */
	other = exp;
	other.msg_seqno = exp.msg_seqno + 1;
	assert_int_equal(open_mutated(f, 0, 0, &other),
			 TPMBOOT_E_ATTEST_MSG_SEQNO);
	other = exp;
	other.msg_vmpck = 3;
	assert_int_equal(open_mutated(f, 0, 0, &other),
			 TPMBOOT_E_ATTEST_MSG_VMPCK);
}

static void test_open_rejects_tampering(void **state)
{
	struct msg_fixture *f = *state;
	struct tb_snp_msg_expect exp = vector_request_expect(f->req_hdr);

	/* Tag, a reserved AAD byte, ciphertext, and a payload size that
	 * still fits but differs. */
	assert_int_equal(open_mutated(f, TB_SNP_HDR_AUTHTAG + 5, 0x01, &exp),
			 TPMBOOT_E_ATTEST_MSG_AUTH);
	assert_int_equal(open_mutated(f, 0x40, 0x01, &exp),
			 TPMBOOT_E_ATTEST_MSG_AUTH);
	assert_int_equal(open_mutated(f, 0x28, 0x01, &exp), 0);
	assert_int_equal(open_mutated(f, TB_SNP_MSG_HDR_SIZE + 17, 0x40, &exp),
			 TPMBOOT_E_ATTEST_MSG_AUTH);
	assert_int_equal(open_mutated(f, TB_SNP_HDR_MSG_SZ, 0x01, &exp),
			 TPMBOOT_E_ATTEST_MSG_AUTH);
}

static void test_open_rejects_small_output(void **state)
{
	struct msg_fixture *f = *state;
	struct tb_snp_msg_expect exp = vector_request_expect(f->req_hdr);
	size_t len = 7;

	seal_vector_request(f);
	assert_int_equal(tb_snp_msg_open(&f->key, f->page, sizeof(f->page),
					 &exp, f->plain, f->req_plain_len - 1,
					 &len),
			 TPMBOOT_E_ATTEST_MSG_SIZE);
	assert_int_equal(len, 0);
	assert_int_equal(tb_snp_msg_open(&f->key, f->page, 0x5F, &exp,
					 f->plain, sizeof(f->plain), &len),
			 TPMBOOT_E_ATTEST_MSG_SIZE);
}

static void test_seal_rejects_bad_input(void **state)
{
	struct msg_fixture *f = *state;

	assert_int_equal(tb_snp_msg_seal(&f->key, 0, TB_SNP_MSG_REPORT_REQ, 1,
					 0, f->req_plain, 96, f->page),
			 TPMBOOT_E_INVALID_ARGUMENT);
	assert_int_equal(tb_snp_msg_seal(&f->key, 1, TB_SNP_MSG_REPORT_REQ, 1,
					 0, f->plain,
					 TB_SNP_MSG_MAX_PAYLOAD -
						 TB_SNP_AUTHTAG_LEN + 1,
					 f->page),
			 TPMBOOT_E_ATTEST_MSG_SIZE);
	assert_int_equal(tb_snp_msg_seal(&f->key, 1, TB_SNP_MSG_REPORT_REQ, 1,
					 0, f->plain,
					 TB_SNP_MSG_MAX_PAYLOAD -
						 TB_SNP_AUTHTAG_LEN,
					 f->page),
			 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_seal_matches_vector,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_vector_request,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_vector_response_header,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_rejects_header_fields,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_rejects_tampering,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_rejects_small_output,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_seal_rejects_bad_input,
						setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

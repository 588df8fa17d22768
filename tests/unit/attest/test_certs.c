/*
 * Certificate table of the extended guest request: lookups by GUID and
 * rejection of tables a hostile host could return.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "attest/tb_snp_certs.h"
#include "core/tb_core.h"
#include "tb_test_platform.h"

#define BUF_SIZE 4096u

static uint8_t buf[BUF_SIZE];

static void put_entry(size_t index, const uint8_t guid[16], uint32_t offset,
		      uint32_t length)
{
	uint8_t *e = buf + index * TB_SNP_CERT_ENTRY_SIZE;

	memcpy(e, guid, 16);
	tb_store_le32(e + 16, offset);
	tb_store_le32(e + 20, length);
}

/* Three entries (VCEK, ASK, ARK), terminator, then certificate bytes. */
static void build_table(void)
{
	memset(buf, 0, sizeof(buf));
	put_entry(0, tb_snp_guid_vcek, 0x100, 0x20);
	put_entry(1, tb_snp_guid_ask, 0x200, 0x30);
	put_entry(2, tb_snp_guid_ark, 0x300, 0x40);
	memset(buf + 0x100, 0x11, 0x20);
	memset(buf + 0x200, 0x22, 0x30);
	memset(buf + 0x300, 0x33, 0x40);
}

static void test_guid_bytes(void **state)
{
	static const uint8_t vcek[16] = { 0x63, 0xda, 0x75, 0x8d, 0xe6, 0x64,
					  0x45, 0x64, 0xad, 0xc5, 0xf4, 0xb9,
					  0x3b, 0xe8, 0xac, 0xcd };
	static const uint8_t ark[16] = { 0xc0, 0xb4, 0x06, 0xa4, 0xa8, 0x03,
					 0x49, 0x52, 0x97, 0x43, 0x3f, 0xb6,
					 0x01, 0x4c, 0xd0, 0xae };

	(void)state;
	assert_memory_equal(tb_snp_guid_vcek, vcek, 16);
	assert_memory_equal(tb_snp_guid_ark, ark, 16);
	assert_string_equal(tb_snp_cert_guid_name(tb_snp_guid_vlek), "VLEK");
	assert_string_equal(tb_snp_cert_guid_name(tb_snp_guid_ask), "ASK");
	assert_string_equal(tb_snp_cert_guid_name(vcek), "VCEK");
}

static void test_find_each_entry(void **state)
{
	struct tb_snp_cert_entry entries[4];
	const uint8_t *cert;
	size_t len, n;

	(void)state;
	build_table();
	assert_int_equal(tb_snp_cert_table_parse(buf, BUF_SIZE, entries, 4, &n),
			 0);
	assert_int_equal(n, 3);
	assert_int_equal(entries[1].offset, 0x200);
	assert_int_equal(entries[1].length, 0x30);
	assert_memory_equal(entries[2].guid, tb_snp_guid_ark, 16);

	assert_int_equal(tb_snp_cert_table_find(buf, BUF_SIZE,
						tb_snp_guid_ask, &cert, &len),
			 0);
	assert_ptr_equal(cert, buf + 0x200);
	assert_int_equal(len, 0x30);
	assert_int_equal(cert[0], 0x22);
	assert_int_equal(tb_snp_cert_table_find(buf, BUF_SIZE,
						tb_snp_guid_ark, &cert, &len),
			 0);
	assert_int_equal(len, 0x40);
	assert_int_equal(tb_snp_cert_table_find(buf, BUF_SIZE,
						tb_snp_guid_vlek, &cert, &len),
			 TPMBOOT_E_ATTEST_CERT_MISSING);
	assert_null(cert);
	assert_int_equal(len, 0);
}

static void test_empty_table(void **state)
{
	struct tb_snp_cert_entry entries[4];
	const uint8_t *cert;
	size_t len, n = 99;

	(void)state;
	memset(buf, 0, sizeof(buf));
	assert_int_equal(tb_snp_cert_table_parse(buf, BUF_SIZE, entries, 4, &n),
			 0);
	assert_int_equal(n, 0);
	assert_int_equal(tb_snp_cert_table_find(buf, BUF_SIZE,
						tb_snp_guid_vcek, &cert, &len),
			 TPMBOOT_E_ATTEST_CERT_MISSING);
}

static void test_rejects_bad_entries(void **state)
{
	struct tb_snp_cert_entry entries[4];
	size_t n;

	(void)state;
	/* Certificate past the end of the buffer. */
	build_table();
	put_entry(2, tb_snp_guid_ark, BUF_SIZE - 0x10, 0x11);
	assert_int_equal(tb_snp_cert_table_parse(buf, BUF_SIZE, entries, 4, &n),
			 TPMBOOT_E_ATTEST_CERT_TABLE);
	assert_int_equal(n, 0);

	/* Offset + length wrapping 32 bits. */
	build_table();
	put_entry(0, tb_snp_guid_vcek, 0x100, 0xFFFFFFF0u);
	assert_int_equal(tb_snp_cert_table_parse(buf, BUF_SIZE, entries, 4, &n),
			 TPMBOOT_E_ATTEST_CERT_TABLE);

	/* Certificate overlapping the table (offset inside it). */
	build_table();
	put_entry(1, tb_snp_guid_ask, 0x10, 0x20);
	assert_int_equal(tb_snp_cert_table_parse(buf, BUF_SIZE, entries, 4, &n),
			 TPMBOOT_E_ATTEST_CERT_TABLE);

	/* Zero length. */
	build_table();
	put_entry(1, tb_snp_guid_ask, 0x200, 0);
	assert_int_equal(tb_snp_cert_table_parse(buf, BUF_SIZE, entries, 4, &n),
			 TPMBOOT_E_ATTEST_CERT_TABLE);

	/* Null GUID with a nonzero offset is not a terminator. */
	build_table();
	memset(buf, 0, 16);
	assert_int_equal(tb_snp_cert_table_parse(buf, BUF_SIZE, entries, 4, &n),
			 TPMBOOT_E_ATTEST_CERT_TABLE);

	/* More entries than the caller's array. */
	build_table();
	assert_int_equal(tb_snp_cert_table_parse(buf, BUF_SIZE, entries, 2, &n),
			 TPMBOOT_E_ATTEST_CERT_TABLE);
}

static void test_rejects_missing_terminator(void **state)
{
	struct tb_snp_cert_entry entries[4];
	size_t n;

	(void)state;
	build_table();
	/* A 72-byte buffer fits the three entries but no terminator. */
	assert_int_equal(tb_snp_cert_table_parse(buf, 3 * 24, entries, 4, &n),
			 TPMBOOT_E_ATTEST_CERT_TABLE_END);
	assert_int_equal(tb_snp_cert_table_parse(buf, 3 * 24 + 23, entries, 4,
						 &n),
			 TPMBOOT_E_ATTEST_CERT_TABLE_END);
	assert_int_equal(tb_snp_cert_table_parse(buf, 0, entries, 4, &n),
			 TPMBOOT_E_ATTEST_CERT_TABLE_END);
	memset(buf, 0xFF, sizeof(buf));
	assert_int_equal(tb_snp_cert_table_parse(buf, BUF_SIZE, entries, 4, &n),
			 TPMBOOT_E_ATTEST_CERT_TABLE_END);
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
		cmocka_unit_test(test_guid_bytes),
		cmocka_unit_test(test_find_each_entry),
		cmocka_unit_test(test_empty_table),
		cmocka_unit_test(test_rejects_bad_entries),
		cmocka_unit_test(test_rejects_missing_terminator),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

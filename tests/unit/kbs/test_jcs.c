/*
 * RFC 8785 canonicalisation: number forms, string escapes, member order
 * by UTF-16 code units, and the Trustee runtime-data shape.
 */
#define _POSIX_C_SOURCE 200809L

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/tb_core.h"
#include "crypto/tb_crypto.h"
#include "kbs/kbs_json.h"
#include "tb_test_platform.h"

static struct tb_test_platform tp;

struct jcs_case {
	const char *input;
	const char *canonical;
};

/* Expected outputs follow ECMAScript Number::toString and RFC 8785
 * section 3.2.2; several are from RFC 8785 appendix B. */
static const struct jcs_case number_cases[] = {
	{ "0", "0" },
	{ "-0", "0" },
	{ "-0.0e5", "0" },
	{ "0.000", "0" },
	{ "1", "1" },
	{ "-1", "-1" },
	{ "100", "100" },
	{ "1.0", "1" },
	{ "1.50", "1.5" },
	{ "1e0", "1" },
	{ "1E2", "100" },
	{ "1e+2", "100" },
	{ "12.5e-1", "1.25" },
	{ "0.1", "0.1" },
	{ "0.000001", "0.000001" },
	{ "1e-6", "0.000001" },
	{ "1e-7", "1e-7" },
	{ "0.0000001", "1e-7" },
	{ "-1.5e-7", "-1.5e-7" },
	{ "123e-9", "1.23e-7" },
	{ "1e20", "100000000000000000000" },
	{ "1e21", "1e+21" },
	{ "1.5e21", "1.5e+21" },
	{ "100000000000000000000", "100000000000000000000" },
	{ "1000000000000000000000", "1e+21" },
	{ "999999999999999", "999999999999999" },
	{ "4.50", "4.5" },
	{ "2e-3", "0.002" },
	{ "0.00001234", "0.00001234" },
	{ "1e+300", "1e+300" },
	{ "-1e-300", "-1e-300" },
	{ "1e0007", "10000000" },
	{ "333333333.33333329", "333333333.3333333" },  /* rounded to a double */
	{ "9007199254740993", "9007199254740992" },     /* 2^53 + 1, ties to even */
	{ "9007199254740995", "9007199254740996" },
	{ "0.30000000000000004", "0.30000000000000004" },
	{ "1.7976931348623157e308", "1.7976931348623157e+308" },
	{ "1e400", NULL },               /* beyond the double range */
	{ "1e-400", NULL },
	{ "5e-324", NULL },              /* subnormal */
	{ "1e1000000", NULL },
	{ "12345678901234567890123456789012345678901", NULL }, /* 41 digits */
};

static void jcs_number_forms(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < TB_ARRAY_SIZE(number_cases); i++) {
		const struct jcs_case *c = &number_cases[i];
		char *out = NULL;
		size_t len;
		int rc = kbs_jcs_canonicalize(c->input, strlen(c->input), &out, &len);

		if (!c->canonical) {
			if (rc != TPMBOOT_E_KBS_JSON_NUMBER)
				fail_msg("%s: got %d, expected JSON_NUMBER", c->input, rc);
			assert_null(out);
			continue;
		}
		if (rc != 0)
			fail_msg("%s: got error %d", c->input, rc);
		if (strcmp(out, c->canonical) != 0)
			fail_msg("%s: got %s, expected %s", c->input, out, c->canonical);
		assert_int_equal(len, strlen(c->canonical));
		tb_free(out);
	}
}

/* Compares with cases that jcs_number_cases.py computes with Python's
 * correctly rounded float parsing and shortest repr. */
static void jcs_numbers_match_python(void **state)
{
	char cmd[512], line[256], input[128], expected[128];
	FILE *f;
	size_t count = 0, rejected = 0;

	(void)state;
	snprintf(cmd, sizeof(cmd), "/usr/bin/python3 %s/tests/unit/kbs/jcs_number_cases.py",
		 getenv("TPMBOOT_SOURCE_ROOT"));
	f = popen(cmd, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		char *out = NULL;
		size_t len;
		int rc;

		assert_int_equal(sscanf(line, "%127s %127s", input, expected), 2);
		rc = kbs_jcs_canonicalize(input, strlen(input), &out, &len);
		if (strcmp(expected, "-") == 0) {
			if (rc != TPMBOOT_E_KBS_JSON_NUMBER)
				fail_msg("%s: got %d, expected JSON_NUMBER", input, rc);
			rejected++;
		} else if (rc != 0 || strcmp(out, expected) != 0) {
			fail_msg("%s: got %s (rc %d), expected %s", input, out ? out : "-", rc,
				 expected);
		}
		tb_free(out);
		count++;
	}
	assert_int_equal(pclose(f), 0);
	/* The script prints about 6300 cases, a few of them rejected. */
	assert_true(count > 6000);
	assert_true(rejected > 5);
}

static const struct jcs_case structure_cases[] = {
	/* Whitespace removed, literals kept. */
	{ " { \"a\" : [ true , false , null ] } ", "{\"a\":[true,false,null]}" },
	/* Member order: Trustee's unit-test object. */
	{ "{\"b\":1,\"a\":\"test\",\"c\":{\"d\":\"e\"}}",
	  "{\"a\":\"test\",\"b\":1,\"c\":{\"d\":\"e\"}}" },
	/* Nested objects sorted too, arrays keep their order. */
	{ "{\"z\":[{\"y\":1,\"x\":2}],\"a\":{}}", "{\"a\":{},\"z\":[{\"x\":2,\"y\":1}]}" },
	/* Order by code units, so "A" < "a" < "aa" < "b". */
	{ "{\"b\":0,\"aa\":0,\"a\":0,\"A\":0}", "{\"A\":0,\"a\":0,\"aa\":0,\"b\":0}" },
	/* RFC 8785 section 3.2.3 example: U+20AC < U+1F600 (as surrogate
	 * D83D) < U+FB33 by UTF-16 units, not by code points. */
	{ "{\"\\ufb33\":3,\"\\ud83d\\ude00\":2,\"\\u20ac\":1,\"\\r\":0,\"1\":4,"
	  "\"\\u0080\":5,\"\\u00f6\":6}",
	  "{\"\\r\":0,\"1\":4,\"\xc2\x80\":5,\"\xc3\xb6\":6,\"\xe2\x82\xac\":1,"
	  "\"\xf0\x9f\x98\x80\":2,\"\xef\xac\xb3\":3}" },
	/* Escapes: short forms, \u00xx for other controls, "/" and
	 * non-ASCII literal, \u escapes of printable characters undone. */
	{ "\"\\u0041\\/\\u00e9\\u2028\\u001f\\u0000\\b\\f\\n\\r\\t\\\"\\\\\"",
	  "\"A/\xc3\xa9\xe2\x80\xa8\\u001f\\u0000\\b\\f\\n\\r\\t\\\"\\\\\"" },
	{ "\"\\u007f\"", "\"\x7f\"" },
	/* Empty containers and empty name. */
	{ "{\"\":[]}", "{\"\":[]}" },
};

static void jcs_structure_and_escapes(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < TB_ARRAY_SIZE(structure_cases); i++) {
		const struct jcs_case *c = &structure_cases[i];
		char *out = NULL;
		size_t len;

		assert_int_equal(kbs_jcs_canonicalize(c->input, strlen(c->input), &out, &len), 0);
		if (len != strlen(c->canonical) || memcmp(out, c->canonical, len) != 0)
			fail_msg("case %zu: got %s, expected %s", i, out, c->canonical);
		tb_free(out);
	}
}

static void jcs_trustee_unit_vector(void **state)
{
	/* Trustee's attestation-service unit test hashes this object with
	 * SHA-384; the digest starts e71ce8e7 and ends c3. */
	static const char input[] = "{\"b\":1,\"a\":\"test\",\"c\":{\"d\":\"e\"}}";
	uint8_t digest[48];
	char *out;
	size_t len;

	(void)state;
	assert_int_equal(kbs_jcs_canonicalize(input, strlen(input), &out, &len), 0);
	assert_int_equal(tb_hash(TB_HASH_SHA384, out, len, digest), 0);
	assert_int_equal(digest[0], 0xe7);
	assert_int_equal(digest[1], 0x1c);
	assert_int_equal(digest[2], 0xe8);
	assert_int_equal(digest[3], 0xe7);
	assert_int_equal(digest[47], 0xc3);
	tb_free(out);
}

static void jcs_rejects_invalid_input(void **state)
{
	char *out = NULL;
	size_t len;

	(void)state;
	assert_int_equal(kbs_jcs_canonicalize("{\"a\":1,\"a\":1}", 13, &out, &len),
			 TPMBOOT_E_KBS_JSON_DUPLICATE_KEY);
	assert_null(out);
	assert_int_equal(kbs_jcs_canonicalize("[1,]", 4, &out, &len), TPMBOOT_E_KBS_JSON_SYNTAX);
	assert_int_equal(kbs_jcs_canonicalize("[1e999]", 7, &out, &len), TPMBOOT_E_KBS_JSON_NUMBER);
	assert_int_equal(kbs_jcs_canonicalize("[1e-999]", 8, &out, &len), TPMBOOT_E_KBS_JSON_NUMBER);
	assert_null(out);
}

static int setup(void **state)
{
	(void)state;
	tb_test_platform_init(&tp);
	tp.log_echo = 0;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	assert_int_equal(tb_test_platform_fini(&tp), 0);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(jcs_number_forms),
		cmocka_unit_test(jcs_numbers_match_python),
		cmocka_unit_test(jcs_structure_and_escapes),
		cmocka_unit_test(jcs_trustee_unit_vector),
		cmocka_unit_test(jcs_rejects_invalid_input),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

/*
 * JSON parser and writer tables: valid documents, invalid syntax, UTF-8
 * and escapes, limits, duplicate member names, writer escaping.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/tb_core.h"
#include "kbs/kbs_json.h"
#include "tb_test_platform.h"

static struct tb_test_platform tp;

static void json_parses_valid_documents(void **state)
{
	static const char *valid[] = {
		"{}", "[]", "0", "-0", "1.5e-3", "-12.25E+10", "\"\"", "true",
		"false", "null", " \t\r\n{ \"a\" : [ 1 , 2 ] } \n",
		"{\"a\":{\"b\":{\"c\":[]}}}", "[\"\\u00e9\\ud83d\\ude00\"]",
		"\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"", "[0e0, 0.0, 1E5]",
		"{\"a\":1,\"A\":2}", "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"",
	};
	struct kbs_json_doc doc;
	size_t i;

	(void)state;
	for (i = 0; i < TB_ARRAY_SIZE(valid); i++) {
		assert_int_equal(kbs_json_parse(valid[i], strlen(valid[i]), NULL, &doc), 0);
		kbs_json_free(&doc);
	}
}

static void json_tree_values(void **state)
{
	static const char text[] =
		"{\"name\":\"a\\u0000b\",\"list\":[true,false,null,-1.5],"
		"\"nested\":{\"k\":\"\\ud83d\\ude00\"}}";
	struct kbs_json_doc doc;
	kbs_json_ref list, nested, r;
	const char *s;
	size_t len;
	int b;

	(void)state;
	assert_int_equal(kbs_json_parse(text, strlen(text), NULL, &doc), 0);
	assert_int_equal(doc.values[0].type, KBS_JSON_OBJECT);
	assert_int_equal(doc.values[0].count, 3);

	assert_int_equal(kbs_json_get_string(&doc, 0, "name", &s, &len), 0);
	assert_int_equal(len, 3);
	assert_memory_equal(s, "a\0b", 3);

	list = kbs_json_member(&doc, 0, "list");
	assert_int_not_equal(list, KBS_JSON_NONE);
	assert_int_equal(doc.values[list].type, KBS_JSON_ARRAY);
	assert_int_equal(doc.values[list].count, 4);
	r = doc.values[list].first;
	assert_int_equal(doc.values[r].type, KBS_JSON_TRUE);
	r = doc.values[r].next;
	assert_int_equal(doc.values[r].type, KBS_JSON_FALSE);
	r = doc.values[r].next;
	assert_int_equal(doc.values[r].type, KBS_JSON_NULL);
	r = doc.values[r].next;
	assert_int_equal(doc.values[r].type, KBS_JSON_NUMBER);
	assert_string_equal(kbs_json_text(&doc, r), "-1.5");
	assert_int_equal(doc.values[r].next, KBS_JSON_NONE);

	assert_int_equal(kbs_json_get_object(&doc, 0, "nested", &nested), 0);
	assert_int_equal(kbs_json_get_string(&doc, nested, "k", &s, &len), 0);
	assert_int_equal(len, 4);
	assert_memory_equal(s, "\xf0\x9f\x98\x80", 4);

	/* Schema helpers name the problem with one error code. */
	assert_int_equal(kbs_json_get_string(&doc, 0, "missing", &s, &len),
			 TPMBOOT_E_KBS_JSON_SCHEMA);
	assert_int_equal(kbs_json_get_string(&doc, 0, "list", &s, &len),
			 TPMBOOT_E_KBS_JSON_SCHEMA);
	assert_int_equal(kbs_json_get_bool(&doc, 0, "name", &b), TPMBOOT_E_KBS_JSON_SCHEMA);
	assert_int_equal(kbs_json_get_object(&doc, 0, "list", &nested), TPMBOOT_E_KBS_JSON_SCHEMA);
	kbs_json_free(&doc);
}

struct bad_case {
	const char *text;
	size_t len; /* 0: strlen */
	int error;
};

static const struct bad_case bad_cases[] = {
	{ "", 0, TPMBOOT_E_KBS_JSON_SYNTAX },
	{ " ", 0, TPMBOOT_E_KBS_JSON_SYNTAX },
	{ "{", 0, TPMBOOT_E_KBS_JSON_SYNTAX },
	{ "{\"a\"}", 0, TPMBOOT_E_KBS_JSON_SYNTAX },
	{ "{\"a\":}", 0, TPMBOOT_E_KBS_JSON_SYNTAX },
	{ "{\"a\":1,}", 0, TPMBOOT_E_KBS_JSON_SYNTAX },
	{ "[1,]", 0, TPMBOOT_E_KBS_JSON_SYNTAX },
	{ "[1 2]", 0, TPMBOOT_E_KBS_JSON_SYNTAX },
	{ "{a:1}", 0, TPMBOOT_E_KBS_JSON_SYNTAX },
	{ "{'a':1}", 0, TPMBOOT_E_KBS_JSON_SYNTAX },
	{ "01", 0, TPMBOOT_E_KBS_JSON_SYNTAX },
	{ "-", 0, TPMBOOT_E_KBS_JSON_SYNTAX },
	{ "1.", 0, TPMBOOT_E_KBS_JSON_SYNTAX },
	{ ".5", 0, TPMBOOT_E_KBS_JSON_SYNTAX },
	{ "1e", 0, TPMBOOT_E_KBS_JSON_SYNTAX },
	{ "+1", 0, TPMBOOT_E_KBS_JSON_SYNTAX },
	{ "NaN", 0, TPMBOOT_E_KBS_JSON_SYNTAX },
	{ "tru", 0, TPMBOOT_E_KBS_JSON_SYNTAX },
	{ "nulll", 0, TPMBOOT_E_KBS_JSON_SYNTAX },
	{ "{} {}", 0, TPMBOOT_E_KBS_JSON_SYNTAX },
	{ "/* c */ {}", 0, TPMBOOT_E_KBS_JSON_SYNTAX },
	{ "\xef\xbb\xbf{}", 0, TPMBOOT_E_KBS_JSON_SYNTAX },     /* byte order mark */
	{ "\"abc", 0, TPMBOOT_E_KBS_JSON_SYNTAX },
	{ "\"a\tb\"", 0, TPMBOOT_E_KBS_JSON_UTF8 },             /* raw control character */
	{ "\"a\0b\"", 5, TPMBOOT_E_KBS_JSON_UTF8 },
	{ "\"\\x41\"", 0, TPMBOOT_E_KBS_JSON_UTF8 },
	{ "\"\\u12\"", 0, TPMBOOT_E_KBS_JSON_UTF8 },
	{ "\"\\u12g4\"", 0, TPMBOOT_E_KBS_JSON_UTF8 },
	{ "\"\\ud83d\"", 0, TPMBOOT_E_KBS_JSON_UTF8 },          /* lone high surrogate */
	{ "\"\\ude00\"", 0, TPMBOOT_E_KBS_JSON_UTF8 },          /* lone low surrogate */
	{ "\"\\ud83d\\u0041\"", 0, TPMBOOT_E_KBS_JSON_UTF8 },   /* high + non-low */
	{ "\"\\ud83d\\ud83d\"", 0, TPMBOOT_E_KBS_JSON_UTF8 },
	{ "\"\xc0\xaf\"", 0, TPMBOOT_E_KBS_JSON_UTF8 },         /* overlong '/' */
	{ "\"\xe0\x80\xaf\"", 0, TPMBOOT_E_KBS_JSON_UTF8 },     /* overlong */
	{ "\"\xed\xa0\x80\"", 0, TPMBOOT_E_KBS_JSON_UTF8 },     /* encoded surrogate */
	{ "\"\xf4\x90\x80\x80\"", 0, TPMBOOT_E_KBS_JSON_UTF8 }, /* above U+10FFFF */
	{ "\"\xff\"", 0, TPMBOOT_E_KBS_JSON_UTF8 },
	{ "\"\xc3\"", 0, TPMBOOT_E_KBS_JSON_UTF8 },             /* truncated sequence */
	{ "\"\x80\"", 0, TPMBOOT_E_KBS_JSON_UTF8 },             /* lone continuation */
	{ "{\"a\":1,\"a\":2}", 0, TPMBOOT_E_KBS_JSON_DUPLICATE_KEY },
	{ "{\"a\":1,\"\\u0061\":2}", 0, TPMBOOT_E_KBS_JSON_DUPLICATE_KEY },
	{ "{\"x\":{\"b\":1,\"c\":2,\"b\":3}}", 0, TPMBOOT_E_KBS_JSON_DUPLICATE_KEY },
};

static void json_rejects_invalid(void **state)
{
	struct kbs_json_doc doc;
	size_t i;

	(void)state;
	for (i = 0; i < TB_ARRAY_SIZE(bad_cases); i++) {
		const struct bad_case *c = &bad_cases[i];
		size_t len = c->len ? c->len : strlen(c->text);
		int rc = kbs_json_parse(c->text, len, NULL, &doc);

		if (rc != c->error)
			fail_msg("case %zu (%s): got %d, expected %d", i, c->text, rc, c->error);
		assert_null(doc.values);
		assert_null(doc.pool);
	}
}

static char *repeat(const char *open, const char *close, unsigned n)
{
	size_t lo = strlen(open), lc = strlen(close);
	char *s = malloc(n * (lo + lc) + 1);
	unsigned i;

	assert_non_null(s);
	for (i = 0; i < n; i++)
		memcpy(s + i * lo, open, lo);
	for (i = 0; i < n; i++)
		memcpy(s + n * lo + i * lc, close, lc);
	s[n * (lo + lc)] = '\0';
	return s;
}

static void json_limits(void **state)
{
	struct kbs_json_limits limits = kbs_json_default_limits;
	struct kbs_json_doc doc;
	char *text;

	(void)state;
	/* Depth: 16 nested arrays pass, 17 fail. */
	text = repeat("[", "]", 16);
	assert_int_equal(kbs_json_parse(text, strlen(text), NULL, &doc), 0);
	kbs_json_free(&doc);
	free(text);
	text = repeat("[", "]", 17);
	assert_int_equal(kbs_json_parse(text, strlen(text), NULL, &doc), TPMBOOT_E_KBS_JSON_DEPTH);
	free(text);
	text = repeat("{\"a\":", "}", 17);
	assert_int_equal(kbs_json_parse(text, strlen(text), NULL, &doc), TPMBOOT_E_KBS_JSON_DEPTH);
	free(text);
	text = repeat("{\"a\":[", "]}", 9);
	assert_int_equal(kbs_json_parse(text, strlen(text), NULL, &doc), TPMBOOT_E_KBS_JSON_DEPTH);
	free(text);

	/* Input size. */
	limits.max_text = 8;
	assert_int_equal(kbs_json_parse("[1,2,3,4]", 9, &limits, &doc),
			 TPMBOOT_E_KBS_JSON_TOO_LARGE);
	assert_int_equal(kbs_json_parse("[1,2,3,4]", 8, &limits, &doc),
			 TPMBOOT_E_KBS_JSON_SYNTAX);

	/* Value count: the array plus 4 numbers is 5 values. */
	limits = kbs_json_default_limits;
	limits.max_values = 4;
	assert_int_equal(kbs_json_parse("[1,2,3,4]", 9, &limits, &doc),
			 TPMBOOT_E_KBS_JSON_TOO_LARGE);
	limits.max_values = 5;
	assert_int_equal(kbs_json_parse("[1,2,3,4]", 9, &limits, &doc), 0);
	kbs_json_free(&doc);
}

static void json_large_flat_array(void **state)
{
	struct kbs_json_doc doc;
	char *text = malloc(4 * 2000 + 3);
	size_t i, o = 0;

	(void)state;
	assert_non_null(text);
	text[o++] = '[';
	for (i = 0; i < 2000; i++)
		o += (size_t)sprintf(text + o, "%s%zu", i ? "," : "", i % 100);
	text[o++] = ']';
	assert_int_equal(kbs_json_parse(text, o, NULL, &doc), 0);
	assert_int_equal(doc.values[0].count, 2000);
	assert_int_equal(doc.value_count, 2001);
	kbs_json_free(&doc);
	free(text);
}

static void json_writer_output(void **state)
{
	struct kbs_json_writer w;
	static const uint8_t bytes[] = { 0, 255, 16 };
	char *out;
	size_t len;

	(void)state;
	kbs_json_writer_init(&w, 1024);
	kbs_json_begin_object(&w);
	kbs_json_name_put(&w, "s");
	kbs_json_string(&w, "q\"b\\s/\b\f\n\r\t\x01\x1f\x7f\xc3\xa9");
	kbs_json_name_put(&w, "n");
	kbs_json_u64(&w, UINT64_MAX);
	kbs_json_name_put(&w, "z");
	kbs_json_u64(&w, 0);
	kbs_json_name_put(&w, "a");
	kbs_json_begin_array(&w);
	kbs_json_bool(&w, 1);
	kbs_json_bool(&w, 0);
	kbs_json_null(&w);
	kbs_json_byte_array(&w, bytes, 3);
	kbs_json_begin_object(&w);
	kbs_json_end_object(&w);
	kbs_json_end_array(&w);
	kbs_json_name_put(&w, "b64");
	kbs_json_base64(&w, 0, bytes, 3);
	kbs_json_name_put(&w, "b64url");
	kbs_json_base64(&w, 1, bytes, 3);
	kbs_json_end_object(&w);
	assert_int_equal(kbs_json_writer_finish(&w, &out, &len), 0);
	assert_string_equal(out,
		"{\"s\":\"q\\\"b\\\\s/\\b\\f\\n\\r\\t\\u0001\\u001f\x7f\xc3\xa9\","
		"\"n\":18446744073709551615,\"z\":0,"
		"\"a\":[true,false,null,[0,255,16],{}],"
		"\"b64\":\"AP8Q\",\"b64url\":\"AP8Q\"}");
	assert_int_equal(len, strlen(out));
	tb_free(out);
}

static void json_writer_errors(void **state)
{
	struct kbs_json_writer w;
	char *out = NULL;
	size_t len;
	int i;

	(void)state;
	/* Invalid UTF-8 input is rejected, and the error is sticky. */
	kbs_json_writer_init(&w, 1024);
	kbs_json_begin_array(&w);
	kbs_json_string(&w, "\xc3");
	kbs_json_u64(&w, 5);
	kbs_json_end_array(&w);
	assert_int_equal(kbs_json_writer_finish(&w, &out, &len), TPMBOOT_E_KBS_JSON_UTF8);
	assert_null(out);

	/* Output limit. */
	kbs_json_writer_init(&w, 8);
	kbs_json_string(&w, "0123456789");
	assert_int_equal(kbs_json_writer_finish(&w, &out, &len), TPMBOOT_E_KBS_JSON_TOO_LARGE);

	/* Unbalanced containers. */
	kbs_json_writer_init(&w, 64);
	kbs_json_begin_object(&w);
	assert_int_equal(kbs_json_writer_finish(&w, &out, &len), TPMBOOT_E_INTERNAL);
	kbs_json_writer_init(&w, 64);
	kbs_json_end_array(&w);
	assert_int_equal(kbs_json_writer_finish(&w, &out, &len), TPMBOOT_E_INTERNAL);

	/* Nesting limit. */
	kbs_json_writer_init(&w, 1024);
	for (i = 0; i <= KBS_JSON_WRITER_MAX_DEPTH; i++)
		kbs_json_begin_array(&w);
	assert_int_equal(kbs_json_writer_finish(&w, &out, &len), TPMBOOT_E_KBS_JSON_DEPTH);
}

static void json_writer_output_parses(void **state)
{
	struct kbs_json_writer w;
	struct kbs_json_doc doc;
	const char *s;
	char *out;
	size_t len, slen;

	(void)state;
	kbs_json_writer_init(&w, 1024);
	kbs_json_begin_object(&w);
	kbs_json_name_put(&w, "k\x01");
	kbs_json_string_n(&w, "v\0w", 3);
	kbs_json_end_object(&w);
	assert_int_equal(kbs_json_writer_finish(&w, &out, &len), 0);
	assert_int_equal(kbs_json_parse(out, len, NULL, &doc), 0);
	assert_int_equal(kbs_json_get_string(&doc, 0, "k\x01", &s, &slen), 0);
	assert_int_equal(slen, 3);
	assert_memory_equal(s, "v\0w", 3);
	kbs_json_free(&doc);
	tb_free(out);
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
		cmocka_unit_test(json_parses_valid_documents),
		cmocka_unit_test(json_tree_values),
		cmocka_unit_test(json_rejects_invalid),
		cmocka_unit_test(json_limits),
		cmocka_unit_test(json_large_flat_array),
		cmocka_unit_test(json_writer_output),
		cmocka_unit_test(json_writer_errors),
		cmocka_unit_test(json_writer_output_parses),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

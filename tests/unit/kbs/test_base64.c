/*
 * Base64 and base64url tables: RFC 4648 section 10 vectors, URL alphabet,
 * and strictness (padding, alphabet mixing, non-zero trailing bits).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/tb_core.h"
#include "kbs/kbs_base64.h"
#include "tb_test_platform.h"

static struct tb_test_platform tp;

struct vector {
	const char *plain;
	const char *std;
	const char *url;
};

/* RFC 4648 section 10. */
static const struct vector rfc_vectors[] = {
	{ "", "", "" },
	{ "f", "Zg==", "Zg" },
	{ "fo", "Zm8=", "Zm8" },
	{ "foo", "Zm9v", "Zm9v" },
	{ "foob", "Zm9vYg==", "Zm9vYg" },
	{ "fooba", "Zm9vYmE=", "Zm9vYmE" },
	{ "foobar", "Zm9vYmFy", "Zm9vYmFy" },
};

static void base64_rfc4648_vectors(void **state)
{
	char text[64];
	uint8_t out[64];
	size_t i, len;

	(void)state;
	for (i = 0; i < TB_ARRAY_SIZE(rfc_vectors); i++) {
		const struct vector *v = &rfc_vectors[i];
		size_t plen = strlen(v->plain);

		assert_int_equal(kbs_base64_encode(KBS_BASE64_STD, (const uint8_t *)v->plain,
						   plen, text, sizeof(text)), 0);
		assert_string_equal(text, v->std);
		assert_int_equal(kbs_base64_encode(KBS_BASE64_URL, (const uint8_t *)v->plain,
						   plen, text, sizeof(text)), 0);
		assert_string_equal(text, v->url);

		assert_int_equal(kbs_base64_decode(KBS_BASE64_STD, v->std, strlen(v->std),
						   out, sizeof(out), &len), 0);
		assert_int_equal(len, plen);
		assert_memory_equal(out, v->plain, plen);
		assert_int_equal(kbs_base64_decode(KBS_BASE64_URL, v->url, strlen(v->url),
						   out, sizeof(out), &len), 0);
		assert_int_equal(len, plen);
		assert_memory_equal(out, v->plain, plen);
	}
}

static void base64_alphabets_differ(void **state)
{
	static const uint8_t bytes[] = { 0xfb, 0xff, 0xbf };
	char text[16];
	uint8_t out[8];
	size_t len;

	(void)state;
	assert_int_equal(kbs_base64_encode(KBS_BASE64_STD, bytes, 3, text, sizeof(text)), 0);
	assert_string_equal(text, "+/+/");
	assert_int_equal(kbs_base64_encode(KBS_BASE64_URL, bytes, 3, text, sizeof(text)), 0);
	assert_string_equal(text, "-_-_");

	assert_int_equal(kbs_base64_decode(KBS_BASE64_URL, "-_-_", 4, out, sizeof(out), &len), 0);
	assert_int_equal(len, 3);
	assert_memory_equal(out, bytes, 3);
	assert_int_equal(kbs_base64_decode(KBS_BASE64_STD, "-_-_", 4, out, sizeof(out), &len),
			 TPMBOOT_E_KBS_BASE64);
	assert_int_equal(kbs_base64_decode(KBS_BASE64_URL, "+/+/", 4, out, sizeof(out), &len),
			 TPMBOOT_E_KBS_BASE64);
}

struct bad_case {
	enum kbs_base64_alphabet alphabet;
	const char *text;
};

static const struct bad_case bad_cases[] = {
	{ KBS_BASE64_STD, "Zg" },        /* missing padding */
	{ KBS_BASE64_STD, "Zg=" },       /* short padding */
	{ KBS_BASE64_STD, "Zg===" },     /* length not a multiple of 4 */
	{ KBS_BASE64_STD, "Z===" },      /* three pad characters */
	{ KBS_BASE64_STD, "Zh==" },      /* non-zero trailing bits */
	{ KBS_BASE64_STD, "Zm9=" },      /* non-zero trailing bits */
	{ KBS_BASE64_STD, "Zm 9v" },     /* whitespace */
	{ KBS_BASE64_STD, "Zm9v\n" },    /* newline */
	{ KBS_BASE64_STD, "Z=g=" },      /* padding inside */
	{ KBS_BASE64_STD, "=Zg=" },
	{ KBS_BASE64_STD, "Zm9v====" },  /* a whole block of padding */
	{ KBS_BASE64_URL, "Zg==" },      /* padding in base64url */
	{ KBS_BASE64_URL, "Z" },         /* one character cannot hold a byte */
	{ KBS_BASE64_URL, "Zh" },        /* non-zero trailing bits */
	{ KBS_BASE64_URL, "Zm9vY" },
	{ KBS_BASE64_URL, "Zm9v!" },
};

static void base64_rejects_noncanonical(void **state)
{
	uint8_t out[16];
	size_t i, len;

	(void)state;
	for (i = 0; i < TB_ARRAY_SIZE(bad_cases); i++) {
		const struct bad_case *c = &bad_cases[i];

		memset(out, 0xAA, sizeof(out));
		assert_int_equal(kbs_base64_decode(c->alphabet, c->text, strlen(c->text),
						   out, sizeof(out), &len),
				 TPMBOOT_E_KBS_BASE64);
		/* Output is wiped on failure. */
		assert_int_equal(out[0], 0);
		assert_int_equal(out[sizeof(out) - 1], 0);
	}
}

static void base64_buffer_limits(void **state)
{
	char text[8];
	uint8_t out[2];
	size_t len;

	(void)state;
	/* "foo" needs 4 characters and a NUL. */
	assert_int_equal(kbs_base64_encode(KBS_BASE64_STD, (const uint8_t *)"foo", 3, text, 4),
			 TPMBOOT_E_BUFFER_TOO_SMALL);
	assert_int_equal(kbs_base64_encode(KBS_BASE64_STD, (const uint8_t *)"foo", 3, text, 5), 0);
	assert_int_equal(kbs_base64_decode(KBS_BASE64_STD, "Zm9v", 4, out, sizeof(out), &len),
			 TPMBOOT_E_BUFFER_TOO_SMALL);
	assert_int_equal(kbs_base64_encoded_len(KBS_BASE64_STD, 32), 44);
	assert_int_equal(kbs_base64_encoded_len(KBS_BASE64_URL, 32), 43);
	assert_int_equal(kbs_base64_encoded_len(KBS_BASE64_URL, 66), 88);
}

static void base64_roundtrip_all_lengths(void **state)
{
	uint8_t in[70], out[70];
	char text[100];
	size_t n, len, i;
	int a;

	(void)state;
	for (i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(i * 37 + 11);
	for (a = 0; a < 2; a++) {
		for (n = 0; n <= sizeof(in); n++) {
			assert_int_equal(kbs_base64_encode(a, in, n, text, sizeof(text)), 0);
			assert_int_equal(strlen(text), kbs_base64_encoded_len(a, n));
			assert_int_equal(kbs_base64_decode(a, text, strlen(text), out,
							   sizeof(out), &len), 0);
			assert_int_equal(len, n);
			assert_memory_equal(out, in, n);
		}
	}
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
		cmocka_unit_test(base64_rfc4648_vectors),
		cmocka_unit_test(base64_alphabets_differ),
		cmocka_unit_test(base64_rejects_noncanonical),
		cmocka_unit_test(base64_buffer_limits),
		cmocka_unit_test(base64_roundtrip_all_lengths),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

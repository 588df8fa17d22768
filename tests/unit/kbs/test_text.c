/*
 * Printable copies of untrusted strings for log lines.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "kbs/kbs_text.h"

static void printable_keeps_ascii(void **state)
{
	char buf[KBS_PRINTABLE_MAX];

	(void)state;
	assert_string_equal(kbs_printable("A256GCM", 7, buf), "A256GCM");
	assert_string_equal(kbs_printable("", 0, buf), "");
	assert_string_equal(kbs_printable("a b~", 4, buf), "a b~");
}

static void printable_replaces_controls(void **state)
{
	char buf[KBS_PRINTABLE_MAX];

	(void)state;
	assert_string_equal(kbs_printable("x\ny\r\x1b[0m\x7f\xc3\xa9\0z", 13, buf),
			    "x?y??[0m????z");
}

static void printable_cuts_long_text(void **state)
{
	char long_text[200], buf[KBS_PRINTABLE_MAX];

	(void)state;
	memset(long_text, 'q', sizeof(long_text));
	kbs_printable(long_text, sizeof(long_text), buf);
	assert_int_equal(strlen(buf), KBS_PRINTABLE_MAX - 1);
	assert_string_equal(buf + KBS_PRINTABLE_MAX - 4, "...");
	assert_int_equal(buf[KBS_PRINTABLE_MAX - 5], 'q');

	/* Exactly KBS_PRINTABLE_MAX - 1 bytes fit without a cut. */
	kbs_printable(long_text, KBS_PRINTABLE_MAX - 1, buf);
	assert_int_equal(strlen(buf), KBS_PRINTABLE_MAX - 1);
	assert_int_equal(buf[KBS_PRINTABLE_MAX - 2], 'q');
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(printable_keeps_ascii),
		cmocka_unit_test(printable_replaces_controls),
		cmocka_unit_test(printable_cuts_long_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

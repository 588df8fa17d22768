/*
 * Error codes: every code in the include/tpmboot/errors-*.def lists has a
 * unique number inside its area's range, a name and a message of its own,
 * and tpmboot_strerror() / tpmboot_error_name() return them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "tpmboot.h"

struct error_def {
	int code;
	const char *name;
	const char *message;
	int range_min;
	int range_max;
};

static const struct error_def defs[] = {
#define X(name, number, message) { number, #name, message, 1, 99 },
#include "tpmboot/errors-general.def"
#undef X
#define X(name, number, message) { number, #name, message, 100, 199 },
#include "tpmboot/errors-crypto.def"
#undef X
#define X(name, number, message) { number, #name, message, 200, 299 },
#include "tpmboot/errors-cocoonfs.def"
#undef X
#define X(name, number, message) { number, #name, message, 300, 349 },
#include "tpmboot/errors-wrapkey.def"
#undef X
#define X(name, number, message) { number, #name, message, 400, 499 },
#include "tpmboot/errors-attest.def"
#undef X
#define X(name, number, message) { number, #name, message, 500, 599 },
#include "tpmboot/errors-kbs.def"
#undef X
};

#define DEF_COUNT (sizeof(defs) / sizeof(defs[0]))

static void test_codes_in_area_ranges(void **state)
{
	(void)state;
	for (size_t i = 0; i < DEF_COUNT; i++) {
		assert_in_range(defs[i].code, defs[i].range_min,
				defs[i].range_max);
	}
}

static void test_codes_names_messages_unique(void **state)
{
	(void)state;
	for (size_t i = 0; i < DEF_COUNT; i++) {
		for (size_t j = i + 1; j < DEF_COUNT; j++) {
			assert_int_not_equal(defs[i].code, defs[j].code);
			assert_string_not_equal(defs[i].name, defs[j].name);
			assert_string_not_equal(defs[i].message,
						defs[j].message);
		}
	}
}

static void test_strerror_and_name(void **state)
{
	(void)state;
	for (size_t i = 0; i < DEF_COUNT; i++) {
		assert_string_equal(tpmboot_strerror(defs[i].code),
				    defs[i].message);
		assert_string_equal(tpmboot_error_name(defs[i].code),
				    defs[i].name);
		assert_true(strlen(defs[i].message) > 10);
	}
	assert_string_equal(tpmboot_error_name(TPMBOOT_OK), "TPMBOOT_OK");
	assert_string_equal(tpmboot_strerror(TPMBOOT_OK), "success");
	assert_string_equal(tpmboot_strerror(-1), "unknown error code");
	assert_string_equal(tpmboot_error_name(600), "TPMBOOT_E_UNKNOWN");
}

static void test_run_rejects_bad_arguments(void **state)
{
	struct tpmboot_platform platform;
	struct tpmboot_fs *fs = (struct tpmboot_fs *)&platform;

	(void)state;
	memset(&platform, 0, sizeof(platform));
	assert_int_equal(tpmboot_run(NULL, NULL, &fs, NULL),
			 TPMBOOT_E_INVALID_ARGUMENT);
	assert_null(fs);
	assert_int_equal(tpmboot_run(&platform, NULL, NULL, NULL),
			 TPMBOOT_E_INVALID_ARGUMENT);
	platform.api_version = TPMBOOT_API_VERSION + 1;
	assert_int_equal(tpmboot_run(&platform, NULL, &fs, NULL),
			 TPMBOOT_E_API_VERSION);
	platform.api_version = TPMBOOT_API_VERSION;
	assert_int_equal(tpmboot_run(&platform, NULL, &fs, NULL),
			 TPMBOOT_E_MISSING_CALLBACK);
	assert_int_equal(tpmboot_fs_read(NULL, 1, NULL, 0, NULL),
			 TPMBOOT_E_INVALID_ARGUMENT);
	assert_int_equal(tpmboot_fs_size(NULL, 1, NULL),
			 TPMBOOT_E_INVALID_ARGUMENT);
	tpmboot_fs_close(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_codes_in_area_ranges),
		cmocka_unit_test(test_codes_names_messages_unique),
		cmocka_unit_test(test_strerror_and_name),
		cmocka_unit_test(test_run_rejects_bad_arguments),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

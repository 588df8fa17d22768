/*
 * Wycheproof JSON driver (see wycheproof.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tb_test_platform.h"
#include "wycheproof.h"

uint8_t *wp_hex(const json_t *obj, const char *field, size_t *len)
{
	const char *hex = json_string_value(json_object_get(obj, field));
	uint8_t *out = NULL;

	*len = tb_test_hex_decode(hex != NULL ? hex : "", &out);
	if (*len == (size_t)-1) {
		fprintf(stderr, "wycheproof: field %s is not hex\n", field);
		abort();
	}
	return out;
}

long wp_int(const json_t *obj, const char *field)
{
	const json_t *v = json_object_get(obj, field);

	if (json_is_integer(v))
		return (long)json_integer_value(v);
	if (json_is_string(v))
		return strtol(json_string_value(v), NULL, 10);
	return -1;
}

static void count_case(struct wp_counts *c, const char *name, long tc_id,
		       const char *result, enum wp_outcome got)
{
	int expect_pass = strcmp(result, "valid") == 0;
	int expect_fail = strcmp(result, "invalid") == 0;

	if (got == WP_SKIPPED) {
		c->skipped++;
		return;
	}
	if (expect_pass)
		c->valid++;
	else if (expect_fail)
		c->invalid++;
	else
		c->acceptable++;

	if (got == WP_WRONG || (expect_pass && got != WP_ACCEPTED) ||
	    (expect_fail && got != WP_REJECTED)) {
		c->failures++;
		fprintf(stderr, "%s: tcId %ld (%s) gave outcome %d\n", name,
			tc_id, result, (int)got);
	}
}

struct wp_counts wp_run(const char *name, wp_case_fn fn, void *arg)
{
	struct wp_counts c = { 0 };
	json_error_t error;
	json_t *root;
	size_t gi, ti;

	root = json_load_file(tb_test_wycheproof_path(name), 0, &error);
	if (root == NULL) {
		fprintf(stderr, "wycheproof: cannot load %s: %s\n", name,
			error.text);
		c.failures = 1;
		return c;
	}

	for (gi = 0; gi < json_array_size(json_object_get(root, "testGroups")); gi++) {
		const json_t *group = json_array_get(json_object_get(root, "testGroups"), gi);
		const json_t *tests = json_object_get(group, "tests");

		for (ti = 0; ti < json_array_size(tests); ti++) {
			const json_t *test = json_array_get(tests, ti);
			const char *result = json_string_value(
				json_object_get(test, "result"));

			count_case(&c, name, wp_int(test, "tcId"), result,
				   fn(group, test, arg));
		}
	}

	printf("%s: ran %u valid, %u invalid and %u acceptable cases, "
	       "skipped %u, failures %u\n", name, c.valid, c.invalid,
	       c.acceptable, c.skipped, c.failures);
	json_decref(root);
	return c;
}

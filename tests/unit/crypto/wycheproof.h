/*
 * A small driver for Wycheproof JSON test files: it walks every test of
 * every group, asks a callback whether the implementation accepts the case
 * (and produced the expected output), checks that against the case's result
 * ("valid" must pass, "invalid" must fail, "acceptable" may do either) and
 * prints the counts.
 */
#ifndef TB_TEST_WYCHEPROOF_H
#define TB_TEST_WYCHEPROOF_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* Outcome of one case as the callback sees it. */
enum wp_outcome {
	WP_ACCEPTED = 1, /* the operation succeeded with the expected output */
	WP_REJECTED = 0, /* the operation returned an error */
	WP_WRONG = -1,   /* it succeeded but the output differs: always a bug */
	WP_SKIPPED = -2, /* parameters the API does not take (counted) */
};

typedef enum wp_outcome (*wp_case_fn)(const json_t *group, const json_t *test,
				      void *arg);

struct wp_counts {
	unsigned valid;
	unsigned invalid;
	unsigned acceptable;
	unsigned skipped;
	unsigned failures;
};

/* Runs every case of the Wycheproof file name; returns the counts. */
struct wp_counts wp_run(const char *name, wp_case_fn fn, void *arg);

/* Hex field of a JSON object, decoded into a malloc'ed buffer. */
uint8_t *wp_hex(const json_t *obj, const char *field, size_t *len);

/* Integer field that Wycheproof writes as a number or a decimal string. */
long wp_int(const json_t *obj, const char *field);

#endif /* TB_TEST_WYCHEPROOF_H */

/*
 * Wycheproof vectors through the portable crypto tier. aes_gcm_test.json
 * runs for the groups with 96-bit IVs and 128-bit tags, and the other
 * groups are counted as skipped. aes_cbc_pkcs5_test.json runs through
 * tb_portable_aes_cbc_* with a PKCS#7 padding check written here. The JSON
 * files are read from $TPMBOOT_WYCHEPROOF_DIR.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "crypto/portable/tb_portable.h"
#include "tb_test_platform.h"
#include "tpmboot.h"

static struct tb_test_platform test_platform;

static int setup_platform(void **state)
{
	tb_test_platform_init(&test_platform);
	test_platform.log_echo = 0;
	return 0;
}

static int teardown_platform(void **state)
{
	return tb_test_platform_fini(&test_platform) == 0 ? 0 : -1;
}

static json_t *load_wycheproof(const char *name)
{
	const char *path = tb_test_wycheproof_path(name);
	json_error_t error;
	json_t *root = json_load_file(path, 0, &error);

	if (root == NULL)
		fail_msg("cannot read %s: %s (line %d)", path, error.text,
			 error.line);
	return root;
}

/* Decodes the hex string in member name of test into a malloc'ed buffer. */
static uint8_t *test_hex(const json_t *test, const char *name, size_t *len)
{
	const char *hex = json_string_value(json_object_get(test, name));
	uint8_t *out;

	assert_non_null(hex);
	*len = tb_test_hex_decode(hex, &out);
	assert_true(*len != (size_t)-1);
	return out;
}

static int test_id(const json_t *test)
{
	return (int)json_integer_value(json_object_get(test, "tcId"));
}

struct case_counts {
	size_t valid;
	size_t invalid;
	size_t skipped;
	size_t aad_only;      /* valid GCM cases with AAD and no message */
	size_t empty;         /* valid GCM cases with neither AAD nor message */
};

/* Runs one GCM case. A valid case must encrypt to ct || tag and decrypt
 * back, and an invalid one must fail decryption with a zeroed output. */
static void run_gcm_case(const json_t *test, struct case_counts *counts)
{
	const char *result = json_string_value(json_object_get(test, "result"));
	size_t key_len, iv_len, aad_len, msg_len, ct_len, tag_len;
	uint8_t *key_raw = test_hex(test, "key", &key_len);
	uint8_t *iv = test_hex(test, "iv", &iv_len);
	uint8_t *aad = test_hex(test, "aad", &aad_len);
	uint8_t *msg = test_hex(test, "msg", &msg_len);
	uint8_t *ct = test_hex(test, "ct", &ct_len);
	uint8_t *tag = test_hex(test, "tag", &tag_len);
	uint8_t *out = malloc(ct_len + 1);
	uint8_t out_tag[16];
	struct tb_gcm_key key;
	size_t i;
	int ret;

	assert_non_null(result);
	assert_non_null(out);
	assert_int_equal(iv_len, 12);
	assert_int_equal(tag_len, 16);
	assert_int_equal(tb_portable_gcm_setkey(&key, key_raw, key_len), 0);

	memset(out, 0xEE, ct_len + 1);
	ret = tb_portable_gcm_decrypt(&key, iv, aad, aad_len, ct, out, ct_len,
				      tag);
	if (strcmp(result, "valid") == 0) {
		if (ret != 0)
			fail_msg("tcId %d: valid case rejected (%d)",
				 test_id(test), ret);
		assert_int_equal(msg_len, ct_len);
		assert_memory_equal(out, msg, msg_len);

		tb_portable_gcm_encrypt(&key, iv, aad, aad_len, msg, out,
					msg_len, out_tag);
		assert_memory_equal(out, ct, ct_len);
		assert_memory_equal(out_tag, tag, 16);
		counts->valid++;
		if (msg_len == 0 && aad_len > 0)
			counts->aad_only++;
		if (msg_len == 0 && aad_len == 0)
			counts->empty++;
	} else {
		assert_string_equal(result, "invalid");
		if (ret != TPMBOOT_E_CRYPTO_AUTH)
			fail_msg("tcId %d: invalid case returned %d",
				 test_id(test), ret);
		for (i = 0; i < ct_len; i++)
			assert_int_equal(out[i], 0);
		assert_int_equal(out[ct_len], 0xEE);
		counts->invalid++;
	}

	free(key_raw);
	free(iv);
	free(aad);
	free(msg);
	free(ct);
	free(tag);
	free(out);
}

static void wycheproof_aes_gcm(void **state)
{
	json_t *root = load_wycheproof("aes_gcm_test.json");
	json_t *groups = json_object_get(root, "testGroups");
	struct case_counts counts = { 0, 0, 0, 0, 0 };
	size_t g, t;

	assert_true(json_is_array(groups));
	for (g = 0; g < json_array_size(groups); g++) {
		json_t *group = json_array_get(groups, g);
		json_t *tests = json_object_get(group, "tests");
		json_int_t iv_bits, tag_bits;

		iv_bits = json_integer_value(json_object_get(group, "ivSize"));
		tag_bits = json_integer_value(json_object_get(group, "tagSize"));

		if (iv_bits != 96 || tag_bits != 128) {
			counts.skipped += json_array_size(tests);
			continue;
		}
		for (t = 0; t < json_array_size(tests); t++)
			run_gcm_case(json_array_get(tests, t), &counts);
	}
	print_message("Wycheproof AES-GCM: %zu valid, %zu invalid run, "
		      "%zu skipped (IV not 96 bits or tag not 128 bits)\n",
		      counts.valid, counts.invalid, counts.skipped);
	print_message("Wycheproof AES-GCM: %zu valid cases with AAD only, "
		      "%zu with empty AAD and message\n",
		      counts.aad_only, counts.empty);
	assert_int_equal(counts.valid + counts.invalid + counts.skipped,
			 json_integer_value(json_object_get(root, "numberOfTests")));
	assert_true(counts.valid > 0);
	assert_true(counts.invalid > 0);
	assert_true(counts.aad_only > 0);
	assert_true(counts.empty > 0);
	json_decref(root);
}

/*
 * Decrypts AES-CBC and removes the PKCS#7 padding. Returns
 * TPMBOOT_E_CRYPTO_LENGTH when ct_len is zero or not a multiple of 16, or
 * TPMBOOT_E_CRYPTO_PADDING when the last byte n is not 1..16 or the last n
 * bytes are not all n. Only the verdict is branched on, not the padding
 * bytes.
 */
static int cbc_pkcs7_decrypt(const struct tb_aes_key *key, const uint8_t iv[16],
			     const uint8_t *ct, size_t ct_len, uint8_t *out,
			     size_t *out_len)
{
	uint8_t chain[16];
	unsigned pad, bad, i;

	if (ct_len == 0 || ct_len % 16 != 0)
		return TPMBOOT_E_CRYPTO_LENGTH;
	memcpy(chain, iv, 16);
	tb_portable_aes_cbc_decrypt(key, chain, ct, out, ct_len);

	pad = out[ct_len - 1];
	bad = (unsigned)((pad - 1) >> 8) | (unsigned)((16 - pad) >> 8);
	for (i = 1; i <= 16; i++) {
		unsigned in_pad = (unsigned)((i - 1 - pad) >> 8) & 1;

		bad |= in_pad * (out[ct_len - i] ^ pad);
	}
	if (bad != 0)
		return TPMBOOT_E_CRYPTO_PADDING;
	*out_len = ct_len - pad;
	return 0;
}

static void run_cbc_case(const json_t *test, struct case_counts *counts)
{
	const char *result = json_string_value(json_object_get(test, "result"));
	size_t key_len, iv_len, msg_len, ct_len, padded_len, out_len = 0;
	uint8_t *key_raw = test_hex(test, "key", &key_len);
	uint8_t *iv = test_hex(test, "iv", &iv_len);
	uint8_t *msg = test_hex(test, "msg", &msg_len);
	uint8_t *ct = test_hex(test, "ct", &ct_len);
	uint8_t *out = malloc(ct_len + msg_len + 16);
	uint8_t chain[16];
	struct tb_aes_key key;
	int ret, expected;

	assert_non_null(result);
	assert_non_null(out);
	assert_int_equal(iv_len, 16);
	assert_int_equal(tb_portable_aes_setkey(&key, key_raw, key_len), 0);

	ret = cbc_pkcs7_decrypt(&key, iv, ct, ct_len, out, &out_len);
	if (strcmp(result, "valid") == 0) {
		if (ret != 0)
			fail_msg("tcId %d: valid case rejected (%d)",
				 test_id(test), ret);
		assert_int_equal(out_len, msg_len);
		assert_memory_equal(out, msg, msg_len);

		/* Pad and encrypt: the result must be ct. */
		padded_len = (msg_len / 16 + 1) * 16;
		memcpy(out, msg, msg_len);
		memset(out + msg_len, (int)(padded_len - msg_len),
		       padded_len - msg_len);
		memcpy(chain, iv, 16);
		tb_portable_aes_cbc_encrypt(&key, chain, out, out, padded_len);
		assert_int_equal(padded_len, ct_len);
		assert_memory_equal(out, ct, ct_len);
		counts->valid++;
	} else {
		assert_string_equal(result, "invalid");
		expected = (ct_len == 0 || ct_len % 16 != 0) ?
			   TPMBOOT_E_CRYPTO_LENGTH : TPMBOOT_E_CRYPTO_PADDING;
		if (ret != expected)
			fail_msg("tcId %d: invalid case returned %d, expected %d",
				 test_id(test), ret, expected);
		counts->invalid++;
	}

	free(key_raw);
	free(iv);
	free(msg);
	free(ct);
	free(out);
}

static void wycheproof_aes_cbc_pkcs5(void **state)
{
	json_t *root = load_wycheproof("aes_cbc_pkcs5_test.json");
	json_t *groups = json_object_get(root, "testGroups");
	struct case_counts counts = { 0, 0, 0, 0, 0 };
	size_t g, t;

	assert_true(json_is_array(groups));
	for (g = 0; g < json_array_size(groups); g++) {
		json_t *tests = json_object_get(json_array_get(groups, g), "tests");

		for (t = 0; t < json_array_size(tests); t++)
			run_cbc_case(json_array_get(tests, t), &counts);
	}
	print_message("Wycheproof AES-CBC-PKCS5: %zu valid, %zu invalid run\n",
		      counts.valid, counts.invalid);
	assert_int_equal(counts.valid + counts.invalid,
			 json_integer_value(json_object_get(root, "numberOfTests")));
	assert_true(counts.invalid > 0);
	json_decref(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(wycheproof_aes_gcm),
		cmocka_unit_test(wycheproof_aes_cbc_pkcs5),
	};

	return cmocka_run_group_tests_name("crypto-portable-wycheproof", tests,
					   setup_platform, teardown_platform);
}

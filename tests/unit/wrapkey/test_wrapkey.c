/*
 * Wrapped-key entry: encoding, parsing, the tag and the envelope AAD.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/tb_core.h"
#include "crypto/tb_crypto.h"
#include "tb_test_platform.h"
#include "wrapkey/tb_wrapkey.h"

static struct tb_test_platform tp;

static const uint8_t key1[32] = {
	0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a,
	0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25,
	0x26, 0x27, 0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f,
};
static const uint8_t salt[3] = { 0xdd, 0xee, 0xff };

static struct tb_wrapkey_image_id image_id(void)
{
	struct tb_wrapkey_image_id id = { salt, sizeof(salt), { 0 } };

	for (size_t i = 0; i < TB_WRAPKEY_LAYOUT_LEN; i++)
		id.layout[i] = (uint8_t)(0x40 + i);
	return id;
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

/* A kbs-unwrap entry with a recognisable envelope. */
static size_t make_entry(uint8_t *out, size_t cap)
{
	struct tb_wrapkey_image_id id = image_id();
	uint8_t envelope[TB_WRAPKEY_ENVELOPE_LEN(32)];
	struct tb_wrapkey_fields f = {
		.mode = TB_WRAP_MODE_KBS_UNWRAP,
		.key1_len = 32,
		.locator = "tpmboot-unwrap",
		.key_id = "vm-17",
		.wrapped = envelope,
		.wrapped_len = sizeof(envelope),
	};
	size_t len;

	memset(envelope, 0xa5, sizeof(envelope));
	assert_int_equal(tb_wrapkey_encode(&f, &id, key1, sizeof(key1), out,
					   cap, &len),
			 TPMBOOT_OK);
	return len;
}

static void test_encode_parse_roundtrip(void **state)
{
	struct tb_wrapkey_image_id id = image_id();
	struct tb_wrapkey_entry e;
	uint8_t buf[TB_WRAPKEY_MAX_LEN];
	size_t len = make_entry(buf, sizeof(buf));

	(void)state;
	assert_int_equal(len, 20 + 14 + 5 + 60 + 32);
	assert_memory_equal(buf, "TBWRAPKY", 8);
	assert_int_equal(tb_wrapkey_parse(buf, len, &e), TPMBOOT_OK);
	assert_int_equal(e.mode, TB_WRAP_MODE_KBS_UNWRAP);
	assert_int_equal(e.key1_len, 32);
	assert_int_equal(e.locator_len, 14);
	assert_memory_equal(e.locator, "tpmboot-unwrap", 14);
	assert_int_equal(e.key_id_len, 5);
	assert_memory_equal(e.key_id, "vm-17", 5);
	assert_int_equal(e.wrapped_len, 60);
	assert_int_equal(e.wrapped[0], 0xa5);
	assert_int_equal(tb_wrapkey_verify(&e, &id, key1, sizeof(key1)),
			 TPMBOOT_OK);
}

static void test_tag_known_answer(void **state)
{
	struct tb_wrapkey_image_id id = image_id();
	struct tb_wrapkey_entry e;
	uint8_t buf[TB_WRAPKEY_MAX_LEN], zeroed[TB_WRAPKEY_MAX_LEN];
	uint8_t tag_key[32], tag[32], salt_len = sizeof(salt);
	static const uint8_t label[] = "svsm-tpmboot wrapped-key tag";
	struct tb_hmac_ctx h;
	size_t len = make_entry(buf, sizeof(buf));

	(void)state;
	/* Recompute the documented formula step by step. */
	assert_int_equal(tb_kdfa(TB_HASH_SHA256, key1, sizeof(key1), label,
				 sizeof(label) - 1, salt, sizeof(salt), 256,
				 tag_key, sizeof(tag_key)),
			 TPMBOOT_OK);
	memcpy(zeroed, buf, len);
	memset(zeroed + len - 32, 0, 32);
	assert_int_equal(tb_hmac_init(&h, TB_HASH_SHA256, tag_key, 32),
			 TPMBOOT_OK);
	tb_hmac_update(&h, zeroed, len);
	tb_hmac_update(&h, &salt_len, 1);
	tb_hmac_update(&h, salt, sizeof(salt));
	tb_hmac_update(&h, id.layout, TB_WRAPKEY_LAYOUT_LEN);
	tb_hmac_final(&h, tag);
	assert_memory_equal(buf + len - 32, tag, 32);
	assert_int_equal(tb_wrapkey_parse(buf, len, &e), TPMBOOT_OK);
}

static void test_every_byte_change_rejected(void **state)
{
	struct tb_wrapkey_image_id id = image_id();
	struct tb_wrapkey_entry e;
	uint8_t buf[TB_WRAPKEY_MAX_LEN];
	size_t len = make_entry(buf, sizeof(buf));
	size_t i;

	(void)state;
	for (i = 0; i < len; i++) {
		int rc;

		buf[i] ^= 0x01;
		rc = tb_wrapkey_parse(buf, len, &e);
		if (rc == TPMBOOT_OK)
			rc = tb_wrapkey_verify(&e, &id, key1, sizeof(key1));
		assert_int_not_equal(rc, TPMBOOT_OK);
		buf[i] ^= 0x01;
	}
}

static void test_wrong_key1_rejected(void **state)
{
	struct tb_wrapkey_image_id id = image_id();
	struct tb_wrapkey_entry e;
	uint8_t buf[TB_WRAPKEY_MAX_LEN], other[32];
	size_t len = make_entry(buf, sizeof(buf));

	(void)state;
	memcpy(other, key1, sizeof(other));
	other[31] ^= 0x80;
	assert_int_equal(tb_wrapkey_parse(buf, len, &e), TPMBOOT_OK);
	assert_int_equal(tb_wrapkey_verify(&e, &id, other, sizeof(other)),
			 TPMBOOT_E_WRAPKEY_TAG);
	assert_true(tb_test_log_contains(&tp, "entry tag mismatch"));
	assert_int_equal(tb_wrapkey_verify(&e, &id, key1, 16),
			 TPMBOOT_E_WRAPKEY_FIELD);
}

static void test_other_image_rejected(void **state)
{
	struct tb_wrapkey_image_id id = image_id();
	struct tb_wrapkey_entry e;
	uint8_t buf[TB_WRAPKEY_MAX_LEN];
	static const uint8_t other_salt[3] = { 0xdd, 0xee, 0xfe };
	size_t len = make_entry(buf, sizeof(buf));

	(void)state;
	assert_int_equal(tb_wrapkey_parse(buf, len, &e), TPMBOOT_OK);
	id.layout[20] ^= 1;
	assert_int_equal(tb_wrapkey_verify(&e, &id, key1, sizeof(key1)),
			 TPMBOOT_E_WRAPKEY_TAG);
	id = image_id();
	id.salt = other_salt;
	assert_int_equal(tb_wrapkey_verify(&e, &id, key1, sizeof(key1)),
			 TPMBOOT_E_WRAPKEY_TAG);
}

static void test_parse_errors(void **state)
{
	struct tb_wrapkey_entry e;
	uint8_t buf[TB_WRAPKEY_MAX_LEN], bad[TB_WRAPKEY_MAX_LEN];
	size_t len = make_entry(buf, sizeof(buf));

	(void)state;
	assert_int_equal(tb_wrapkey_parse(buf, 51, &e),
			 TPMBOOT_E_WRAPKEY_TRUNCATED);
	assert_int_equal(tb_wrapkey_parse(buf, len - 1, &e),
			 TPMBOOT_E_WRAPKEY_TRUNCATED);

	memcpy(bad, buf, len);
	bad[0] = 'X';
	assert_int_equal(tb_wrapkey_parse(bad, len, &e),
			 TPMBOOT_E_WRAPKEY_MAGIC);

	memcpy(bad, buf, len);
	bad[8] = 2;
	assert_int_equal(tb_wrapkey_parse(bad, len, &e),
			 TPMBOOT_E_WRAPKEY_VERSION);

	memcpy(bad, buf, len);
	bad[10] = 9;
	assert_int_equal(tb_wrapkey_parse(bad, len, &e),
			 TPMBOOT_E_WRAPKEY_MODE);

	memcpy(bad, buf, len);
	bad[18] = 1;
	assert_int_equal(tb_wrapkey_parse(bad, len, &e),
			 TPMBOOT_E_WRAPKEY_FIELD);

	/* Key1 length 24 does not match a 60-byte kbs-unwrap envelope. */
	memcpy(bad, buf, len);
	bad[11] = 24;
	assert_int_equal(tb_wrapkey_parse(bad, len, &e),
			 TPMBOOT_E_WRAPKEY_FIELD);

	/* A control character in the locator. */
	memcpy(bad, buf, len);
	bad[20] = '\n';
	assert_int_equal(tb_wrapkey_parse(bad, len, &e),
			 TPMBOOT_E_WRAPKEY_FIELD);

	/* Resource mode with a wrapped key is invalid. */
	memcpy(bad, buf, len);
	bad[10] = TB_WRAP_MODE_RESOURCE;
	assert_int_equal(tb_wrapkey_parse(bad, len, &e),
			 TPMBOOT_E_WRAPKEY_FIELD);
}

static void test_envelope_aad_layout(void **state)
{
	struct tb_wrapkey_image_id id = image_id();
	struct tb_wrapkey_entry e;
	uint8_t buf[TB_WRAPKEY_MAX_LEN], aad[600];
	size_t len = make_entry(buf, sizeof(buf)), aad_len;

	(void)state;
	assert_int_equal(tb_wrapkey_parse(buf, len, &e), TPMBOOT_OK);
	assert_int_equal(tb_wrapkey_envelope_aad(&e, &id, aad, sizeof(aad),
						 &aad_len),
			 TPMBOOT_OK);
	assert_int_equal(aad_len, 20 + 14 + 5 + 1 + 3 + 21);
	assert_memory_equal(aad, buf, 39);
	assert_int_equal(aad[39], 3);
	assert_memory_equal(aad + 40, salt, 3);
	assert_memory_equal(aad + 43, id.layout, 21);
	assert_int_equal(tb_wrapkey_envelope_aad(&e, &id, aad, aad_len - 1,
						 &aad_len),
			 TPMBOOT_E_BUFFER_TOO_SMALL);
}

static void test_resource_entry(void **state)
{
	struct tb_wrapkey_image_id id = image_id();
	struct tb_wrapkey_fields f = {
		.mode = TB_WRAP_MODE_RESOURCE,
		.key1_len = 32,
		.locator = "default/tpmboot/key1",
	};
	struct tb_wrapkey_entry e;
	uint8_t buf[TB_WRAPKEY_MAX_LEN];
	size_t len;

	(void)state;
	assert_int_equal(tb_wrapkey_encode(&f, &id, key1, 32, buf, sizeof(buf),
					   &len),
			 TPMBOOT_OK);
	assert_int_equal(len, 20 + 20 + 32);
	assert_int_equal(tb_wrapkey_parse(buf, len, &e), TPMBOOT_OK);
	assert_int_equal(e.wrapped_len, 0);
	assert_int_equal(tb_wrapkey_verify(&e, &id, key1, 32), TPMBOOT_OK);
	assert_string_equal(tb_wrap_mode_name(e.mode), "resource");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encode_parse_roundtrip),
		cmocka_unit_test(test_tag_known_answer),
		cmocka_unit_test(test_every_byte_change_rejected),
		cmocka_unit_test(test_wrong_key1_rejected),
		cmocka_unit_test(test_other_image_rejected),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_envelope_aad_layout),
		cmocka_unit_test(test_resource_entry),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

/*
 * Wycheproof vectors for every tier this CPU supports: AES-GCM, AES-CBC with
 * PKCS#7 padding and HMAC-SHA-256 (full and truncated tags). GCM groups
 * with an IV other than 12 bytes or a tag other than 16 bytes are counted
 * as skipped. tb_fast.h has unpadded CBC, so this file checks the padding.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "fast_test_util.h"
#include "tpmboot.h"

struct case_counts {
	unsigned valid;
	unsigned invalid;
	unsigned skipped;
};

static struct tb_test_platform platform;

static int setup(void **state)
{
	tb_test_platform_init(&platform);
	platform.log_echo = 0;
	return 0;
}

static int teardown(void **state)
{
	tb_fast_init(TB_TIER_VAES_AVX2);
	assert_int_equal(tb_test_platform_fini(&platform), 0);
	return 0;
}

static int is_zero(const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] != 0)
			return 0;
	return 1;
}

/* Runs one GCM case; returns 1 when it was valid, 0 when invalid. */
static int run_gcm_case(enum tb_tier tier, const json_t *tc)
{
	const long id = fast_test_json_int(tc, "tcId");
	const char *result = fast_test_json_str(tc, "result");
	const int valid = strcmp(result, "valid") == 0;
	size_t key_len, iv_len, aad_len, msg_len, ct_len, tag_len;
	uint8_t *key = fast_test_json_hex(tc, "key", &key_len);
	uint8_t *iv = fast_test_json_hex(tc, "iv", &iv_len);
	uint8_t *aad = fast_test_json_hex(tc, "aad", &aad_len);
	uint8_t *msg = fast_test_json_hex(tc, "msg", &msg_len);
	uint8_t *ct = fast_test_json_hex(tc, "ct", &ct_len);
	uint8_t *tag = fast_test_json_hex(tc, "tag", &tag_len);
	uint8_t *out = calloc(1, msg_len + ct_len + 1);
	struct tb_gcm_key *gk = fast_test_gcm_key_alloc();
	uint8_t computed_tag[16];
	int rc;

	assert_non_null(out);
	assert_non_null(gk);
	assert_int_equal(iv_len, 12);
	assert_int_equal(tag_len, 16);
	assert_true(strcmp(result, "valid") == 0 ||
		    strcmp(result, "invalid") == 0);

	rc = tb_gcm_setkey(gk, key, key_len);
	if (rc != 0)
		fail_msg("tier %s tcId %ld: setkey returned %d",
			 fast_test_tier_name(tier), id, rc);

	/* Encryption of msg gives (ct, tag) exactly for valid cases. */
	tb_gcm_encrypt(gk, iv, aad, aad_len, msg, out, msg_len, computed_tag);
	if (valid && (ct_len != msg_len || memcmp(out, ct, ct_len) != 0))
		fail_msg("tier %s tcId %ld: ciphertext differs",
			 fast_test_tier_name(tier), id);
	if (valid && memcmp(computed_tag, tag, 16) != 0)
		fail_msg("tier %s tcId %ld: tag differs",
			 fast_test_tier_name(tier), id);

	/* Decryption accepts exactly the valid cases and wipes the output
	 * of the others. */
	memset(out, 0xa5, ct_len);
	rc = tb_gcm_decrypt(gk, iv, aad, aad_len, ct, out, ct_len, tag);
	if (valid) {
		if (rc != 0)
			fail_msg("tier %s tcId %ld: valid case rejected (%d)",
				 fast_test_tier_name(tier), id, rc);
		if (memcmp(out, msg, msg_len) != 0)
			fail_msg("tier %s tcId %ld: plaintext differs",
				 fast_test_tier_name(tier), id);
	} else {
		if (rc != TPMBOOT_E_CRYPTO_AUTH)
			fail_msg("tier %s tcId %ld: invalid case returned %d",
				 fast_test_tier_name(tier), id, rc);
		if (!is_zero(out, ct_len))
			fail_msg("tier %s tcId %ld: output not wiped",
				 fast_test_tier_name(tier), id);
	}

	tb_gcm_key_wipe(gk);
	free(gk);
	free(out);
	free(key);
	free(iv);
	free(aad);
	free(msg);
	free(ct);
	free(tag);
	return valid;
}

static void test_gcm_wycheproof(void **state)
{
	json_t *root = fast_test_load_wycheproof("aes_gcm_test.json");
	const json_t *groups = json_object_get(root, "testGroups");
	size_t t;

	for (t = 0; t < sizeof(fast_test_tiers) / sizeof(fast_test_tiers[0]);
	     t++) {
		struct case_counts n = { 0, 0, 0 };
		size_t g, i;

		if (!fast_test_select_tier(fast_test_tiers[t]))
			continue;
		for (g = 0; g < json_array_size(groups); g++) {
			const json_t *grp = json_array_get(groups, g);
			const json_t *tests = json_object_get(grp, "tests");

			if (fast_test_json_int(grp, "ivSize") != 96 ||
			    fast_test_json_int(grp, "tagSize") != 128) {
				n.skipped += (unsigned)json_array_size(tests);
				continue;
			}
			for (i = 0; i < json_array_size(tests); i++) {
				if (run_gcm_case(fast_test_tiers[t],
						 json_array_get(tests, i)))
					n.valid++;
				else
					n.invalid++;
			}
		}
		printf("aes-gcm tier %s: %u valid passed, %u invalid rejected, "
		       "%u skipped (IV or tag size other than 12/16 bytes)\n",
		       fast_test_tier_name(fast_test_tiers[t]), n.valid,
		       n.invalid, n.skipped);
		assert_true(n.valid > 100);
		assert_true(n.invalid > 30);
	}
	assert_true(tb_test_log_contains(&platform, "gcm decrypt: tag mismatch"));
	json_decref(root);
}

/* Returns the unpadded length, or -1 when the PKCS#7 padding is invalid. */
static long pkcs7_unpad(const uint8_t *p, size_t len)
{
	uint8_t pad;
	size_t i;

	if (len == 0 || len % 16 != 0)
		return -1;
	pad = p[len - 1];
	if (pad == 0 || pad > 16)
		return -1;
	for (i = len - pad; i < len; i++)
		if (p[i] != pad)
			return -1;
	return (long)(len - pad);
}

static int run_cbc_case(enum tb_tier tier, const json_t *tc)
{
	const long id = fast_test_json_int(tc, "tcId");
	const int valid = strcmp(fast_test_json_str(tc, "result"), "valid") == 0;
	size_t key_len, iv_len, msg_len, ct_len, padded_len, i;
	uint8_t *key = fast_test_json_hex(tc, "key", &key_len);
	uint8_t *iv = fast_test_json_hex(tc, "iv", &iv_len);
	uint8_t *msg = fast_test_json_hex(tc, "msg", &msg_len);
	uint8_t *ct = fast_test_json_hex(tc, "ct", &ct_len);
	uint8_t *buf = calloc(1, msg_len + ct_len + 32);
	struct tb_aes_key ak;
	uint8_t chain[16];
	long plain_len;

	assert_non_null(buf);
	assert_int_equal(iv_len, 16);
	assert_int_equal(tb_aes_setkey(&ak, key, key_len), 0);

	if (valid) {
		/* Pad, encrypt, and check the chained IV output. */
		padded_len = (msg_len / 16 + 1) * 16;
		memcpy(buf, msg, msg_len);
		for (i = msg_len; i < padded_len; i++)
			buf[i] = (uint8_t)(padded_len - msg_len);
		memcpy(chain, iv, 16);
		tb_aes_cbc_encrypt(&ak, chain, buf, buf, padded_len);
		if (padded_len != ct_len || memcmp(buf, ct, ct_len) != 0)
			fail_msg("tier %s tcId %ld: CBC ciphertext differs",
				 fast_test_tier_name(tier), id);
		assert_memory_equal(chain, ct + ct_len - 16, 16);
	}

	plain_len = -1;
	if (ct_len > 0 && ct_len % 16 == 0) {
		memcpy(chain, iv, 16);
		tb_aes_cbc_decrypt(&ak, chain, ct, buf, ct_len);
		assert_memory_equal(chain, ct + ct_len - 16, 16);
		plain_len = pkcs7_unpad(buf, ct_len);
	}
	if (valid) {
		if (plain_len != (long)msg_len ||
		    memcmp(buf, msg, msg_len) != 0)
			fail_msg("tier %s tcId %ld: CBC plaintext differs",
				 fast_test_tier_name(tier), id);
	} else if (plain_len >= 0) {
		fail_msg("tier %s tcId %ld: invalid padding accepted",
			 fast_test_tier_name(tier), id);
	}

	tb_aes_key_wipe(&ak);
	free(buf);
	free(key);
	free(iv);
	free(msg);
	free(ct);
	return valid;
}

static void test_cbc_wycheproof(void **state)
{
	json_t *root = fast_test_load_wycheproof("aes_cbc_pkcs5_test.json");
	const json_t *groups = json_object_get(root, "testGroups");
	size_t t;

	for (t = 0; t < sizeof(fast_test_tiers) / sizeof(fast_test_tiers[0]);
	     t++) {
		struct case_counts n = { 0, 0, 0 };
		size_t g, i;

		if (!fast_test_select_tier(fast_test_tiers[t]))
			continue;
		for (g = 0; g < json_array_size(groups); g++) {
			const json_t *tests = json_object_get(
				json_array_get(groups, g), "tests");

			for (i = 0; i < json_array_size(tests); i++) {
				if (run_cbc_case(fast_test_tiers[t],
						 json_array_get(tests, i)))
					n.valid++;
				else
					n.invalid++;
			}
		}
		printf("aes-cbc-pkcs5 tier %s: %u valid passed, %u invalid "
		       "rejected\n", fast_test_tier_name(fast_test_tiers[t]),
		       n.valid, n.invalid);
		assert_int_equal(n.valid, 72);
		assert_int_equal(n.invalid, 144);
	}
	json_decref(root);
}

static int run_hmac_case(enum tb_tier tier, const json_t *tc, long tag_bits)
{
	const long id = fast_test_json_int(tc, "tcId");
	const int valid = strcmp(fast_test_json_str(tc, "result"), "valid") == 0;
	size_t key_len, msg_len, tag_len;
	uint8_t *key = fast_test_json_hex(tc, "key", &key_len);
	uint8_t *msg = fast_test_json_hex(tc, "msg", &msg_len);
	uint8_t *tag = fast_test_json_hex(tc, "tag", &tag_len);
	struct tb_hmac_sha256_ctx ctx;
	uint8_t mac[32];
	int equal;

	assert_int_equal(tag_len * 8, (size_t)tag_bits);

	/* Two updates, so the buffered path runs too. */
	tb_hmac_sha256_init(&ctx, key, key_len);
	tb_hmac_sha256_update(&ctx, msg, msg_len / 3);
	tb_hmac_sha256_update(&ctx, msg + msg_len / 3, msg_len - msg_len / 3);
	tb_hmac_sha256_final(&ctx, mac);

	equal = memcmp(mac, tag, tag_len) == 0;
	if (equal != valid)
		fail_msg("tier %s tcId %ld (%ld-bit tag): MAC %s",
			 fast_test_tier_name(tier), id, tag_bits,
			 valid ? "differs" : "matches an invalid tag");

	free(key);
	free(msg);
	free(tag);
	return valid;
}

static void test_hmac_wycheproof(void **state)
{
	json_t *root = fast_test_load_wycheproof("hmac_sha256_test.json");
	const json_t *groups = json_object_get(root, "testGroups");
	size_t t;

	for (t = 0; t < sizeof(fast_test_tiers) / sizeof(fast_test_tiers[0]);
	     t++) {
		struct case_counts n = { 0, 0, 0 };
		size_t g, i;

		if (!fast_test_select_tier(fast_test_tiers[t]))
			continue;
		for (g = 0; g < json_array_size(groups); g++) {
			const json_t *grp = json_array_get(groups, g);
			const json_t *tests = json_object_get(grp, "tests");
			long tag_bits = fast_test_json_int(grp, "tagSize");

			for (i = 0; i < json_array_size(tests); i++) {
				if (run_hmac_case(fast_test_tiers[t],
						  json_array_get(tests, i),
						  tag_bits))
					n.valid++;
				else
					n.invalid++;
			}
		}
		printf("hmac-sha256 tier %s: %u valid passed, %u invalid "
		       "rejected\n", fast_test_tier_name(fast_test_tiers[t]),
		       n.valid, n.invalid);
		assert_int_equal(n.valid, 66);
		assert_int_equal(n.invalid, 108);
	}
	json_decref(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gcm_wycheproof),
		cmocka_unit_test(test_cbc_wycheproof),
		cmocka_unit_test(test_hmac_wycheproof),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

/*
 * Binding and JWE against a self-generated Trustee vector (P-256 TEE key
 * with d = 0x11...11), with an independent OpenSSL decryption as a
 * cross-check, and JWE negatives.
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
#include <openssl/evp.h>

#include "core/tb_core.h"
#include "kbs/kbs_base64.h"
#include "kbs/kbs_jwe.h"
#include "kbs/kbs_session.h"
#include "tb_test_platform.h"

static struct tb_test_platform tp;

/* Lines of the vector file, by label. */
struct selfgen {
	char nonce[128];
	char jcs[1024];
	uint8_t report_data[64];
	uint8_t d[32];
	uint8_t z[32];
	uint8_t kek[32];
	char jwe[2048];
};

static struct selfgen vec;

static void hex_to(const char *hex, uint8_t *out, size_t len)
{
	uint8_t *buf = NULL;

	assert_int_equal(tb_test_hex_decode(hex, &buf), len);
	memcpy(out, buf, len);
	free(buf);
}

/* Copies the value after the label (columns are separated by spaces). */
static int take(const char *line, const char *label, char *out, size_t cap)
{
	size_t n = strlen(label);
	const char *v;

	if (strncmp(line, label, n) != 0 || line[n] != ' ')
		return 0;
	v = line + n;
	while (*v == ' ')
		v++;
	assert_true(strlen(v) < cap);
	strcpy(out, v);
	out[strcspn(out, "\r\n")] = '\0';
	return 1;
}

static void load_selfgen(void)
{
	const char *path = tb_test_shared_path("vectors/attestation/kbs_selfgen.txt");
	FILE *f = fopen(path, "r");
	char line[4096], value[2048];
	int found = 0;

	if (!f)
		fail_msg("cannot open %s", path);
	while (fgets(line, sizeof(line), f)) {
		if (take(line, "nonce", vec.nonce, sizeof(vec.nonce)) ||
		    take(line, "JCS(runtime)", vec.jcs, sizeof(vec.jcs)) ||
		    (strncmp(line, "JWE ", 4) == 0 && strchr(line, '{') &&
		     take(line, "JWE", vec.jwe, sizeof(vec.jwe)))) {
			found++;
		} else if (take(line, "report_data", value, sizeof(value))) {
			hex_to(value, vec.report_data, 64);
			found++;
		} else if (take(line, "TEE priv d", value, sizeof(value))) {
			hex_to(value, vec.d, 32);
			found++;
		} else if (take(line, "Z (ECDH)", value, sizeof(value))) {
			hex_to(value, vec.z, 32);
			found++;
		} else if (take(line, "KEK (ConcatKDF)", value, sizeof(value))) {
			hex_to(value, vec.kek, 32);
			found++;
		}
	}
	fclose(f);
	assert_int_equal(found, 7);
}

/* The vector's P-256 TEE key: d from the file, x and y from its JWK. */
static void selfgen_key(struct kbs_tee_key *key)
{
	struct kbs_json_doc doc;
	kbs_json_ref jwk;
	const char *s;
	size_t len, got;

	memset(key, 0, sizeof(*key));
	key->type = TPMBOOT_TEE_KEY_EC_P256;
	key->ec.curve = TB_EC_P256;
	memcpy(key->ec.d, vec.d, 32);

	assert_int_equal(kbs_json_parse(vec.jcs, strlen(vec.jcs), NULL, &doc), 0);
	assert_int_equal(kbs_json_get_object(&doc, 0, "tee-pubkey", &jwk), 0);
	assert_int_equal(kbs_json_get_string(&doc, jwk, "x", &s, &len), 0);
	assert_int_equal(kbs_base64_decode(KBS_BASE64_URL, s, len, key->ec.x, 32, &got), 0);
	assert_int_equal(got, 32);
	assert_int_equal(kbs_json_get_string(&doc, jwk, "y", &s, &len), 0);
	assert_int_equal(kbs_base64_decode(KBS_BASE64_URL, s, len, key->ec.y, 32, &got), 0);
	assert_int_equal(got, 32);
	kbs_json_free(&doc);
}

static void binding_selfgen_vector(void **state)
{
	struct tb_kbs_session *s = calloc(1, sizeof(*s));
	uint8_t report_data[64];
	char *canonical;
	size_t len;

	(void)state;
	assert_non_null(s);
	selfgen_key(&s->key);
	strcpy(s->nonce_text, vec.nonce);
	s->binding_hash = TB_HASH_SHA384;

	assert_int_equal(kbs_trustee_runtime_data(s, &canonical, &len), 0);
	assert_string_equal(canonical, vec.jcs);
	assert_int_equal(len, strlen(vec.jcs));
	tb_free(canonical);

	memset(report_data, 0xEE, sizeof(report_data));
	assert_int_equal(kbs_trustee_binding(s, report_data), 0);
	assert_memory_equal(report_data, vec.report_data, 64);
	free(s);
}

/* Returns the member of the vector JWE as a heap string. */
static char *jwe_member(const char *text, const char *name)
{
	struct kbs_json_doc doc;
	const char *s;
	size_t len;
	char *copy;

	assert_int_equal(kbs_json_parse(text, strlen(text), NULL, &doc), 0);
	assert_int_equal(kbs_json_get_string(&doc, 0, name, &s, &len), 0);
	copy = strndup(s, len);
	kbs_json_free(&doc);
	return copy;
}

static size_t b64url_decode_alloc(const char *text, uint8_t **out)
{
	size_t len = 0;

	*out = malloc(strlen(text) + 4);
	assert_int_equal(kbs_base64_decode(KBS_BASE64_URL, text, strlen(text), *out,
					   strlen(text) + 4, &len), 0);
	return len;
}

static void jwe_selfgen_ecdh_and_kdf(void **state)
{
	struct kbs_tee_key key;
	struct kbs_json_doc doc;
	char *protected_b64 = jwe_member(vec.jwe, "protected");
	uint8_t *header, x[32], y[32], z[32], kek[32];
	size_t header_len, got;
	kbs_json_ref epk;
	const char *s;
	size_t len;

	(void)state;
	selfgen_key(&key);
	header_len = b64url_decode_alloc(protected_b64, &header);
	assert_int_equal(kbs_json_parse((char *)header, header_len, NULL, &doc), 0);
	assert_int_equal(kbs_json_get_object(&doc, 0, "epk", &epk), 0);
	assert_int_equal(kbs_json_get_string(&doc, epk, "x", &s, &len), 0);
	assert_int_equal(kbs_base64_decode(KBS_BASE64_URL, s, len, x, 32, &got), 0);
	assert_int_equal(kbs_json_get_string(&doc, epk, "y", &s, &len), 0);
	assert_int_equal(kbs_base64_decode(KBS_BASE64_URL, s, len, y, 32, &got), 0);
	kbs_json_free(&doc);

	assert_int_equal(tb_ecdh(&key.ec, x, y, z), 0);
	assert_memory_equal(z, vec.z, 32);
	kbs_concat_kdf_sha256(z, 32, "ECDH-ES+A256KW", kek);
	assert_memory_equal(kek, vec.kek, 32);

	free(header);
	free(protected_b64);
}

/* Decrypts the vector with OpenSSL from the vector's KEK: AES key unwrap
 * (RFC 3394) of encrypted_key, then AES-256-GCM with the protected string
 * as additional data. */
static size_t openssl_decrypt(uint8_t *plain)
{
	char *prot = jwe_member(vec.jwe, "protected");
	char *ek_b64 = jwe_member(vec.jwe, "encrypted_key");
	char *iv_b64 = jwe_member(vec.jwe, "iv");
	char *ct_b64 = jwe_member(vec.jwe, "ciphertext");
	char *tag_b64 = jwe_member(vec.jwe, "tag");
	uint8_t *ek, *iv, *ct, *tag, cek[40];
	size_t ek_len = b64url_decode_alloc(ek_b64, &ek);
	size_t iv_len = b64url_decode_alloc(iv_b64, &iv);
	size_t ct_len = b64url_decode_alloc(ct_b64, &ct);
	size_t tag_len = b64url_decode_alloc(tag_b64, &tag);
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int n = 0, f = 0;

	assert_int_equal(ek_len, 40);
	assert_int_equal(iv_len, 12);
	assert_int_equal(tag_len, 16);

	EVP_CIPHER_CTX_set_flags(ctx, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
	assert_int_equal(EVP_DecryptInit_ex(ctx, EVP_aes_256_wrap(), NULL, vec.kek, NULL), 1);
	assert_int_equal(EVP_DecryptUpdate(ctx, cek, &n, ek, (int)ek_len), 1);
	assert_int_equal(n, 32);
	EVP_CIPHER_CTX_reset(ctx);

	assert_int_equal(EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, cek, iv), 1);
	assert_int_equal(EVP_DecryptUpdate(ctx, NULL, &n, (uint8_t *)prot, (int)strlen(prot)), 1);
	assert_int_equal(EVP_DecryptUpdate(ctx, plain, &n, ct, (int)ct_len), 1);
	assert_int_equal(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16, tag), 1);
	assert_int_equal(EVP_DecryptFinal_ex(ctx, plain + n, &f), 1);
	EVP_CIPHER_CTX_free(ctx);

	free(ek); free(iv); free(ct); free(tag);
	free(prot); free(ek_b64); free(iv_b64); free(ct_b64); free(tag_b64);
	return (size_t)(n + f);
}

static void jwe_selfgen_decrypts(void **state)
{
	struct kbs_tee_key key;
	uint8_t out[64], expected[64];
	size_t len = 0, expected_len;

	(void)state;
	selfgen_key(&key);
	expected_len = openssl_decrypt(expected);
	assert_int_equal(kbs_jwe_decrypt(&key, vec.jwe, strlen(vec.jwe), out, sizeof(out), &len), 0);
	assert_int_equal(len, 32);
	assert_int_equal(len, expected_len);
	assert_memory_equal(out, expected, len);
}

/* Rebuilds the vector JWE with one member replaced (value NULL drops
 * it); extra is appended as additional members. */
static char *jwe_with(const char *name, const char *value, const char *extra)
{
	static const char *names[] = { "protected", "encrypted_key", "iv", "ciphertext", "tag" };
	char *out = malloc(4096);
	size_t i, o = 0;

	o += (size_t)sprintf(out + o, "{");
	for (i = 0; i < TB_ARRAY_SIZE(names); i++) {
		char *v;

		if (strcmp(names[i], name) == 0) {
			if (!value)
				continue;
			v = strdup(value);
		} else {
			v = jwe_member(vec.jwe, names[i]);
		}
		o += (size_t)sprintf(out + o, "%s\"%s\":\"%s\"", o > 1 ? "," : "", names[i], v);
		free(v);
	}
	if (extra)
		o += (size_t)sprintf(out + o, ",%s", extra);
	sprintf(out + o, "}");
	return out;
}

/* Returns the base64url form of a protected header text. */
static char *protected_of(const char *header)
{
	char *out = malloc(2048);

	assert_int_equal(kbs_base64_encode(KBS_BASE64_URL, (const uint8_t *)header,
					   strlen(header), out, 2048), 0);
	return out;
}

/* The vector header text with from replaced by to. */
static char *header_with(const char *from, const char *to)
{
	char *prot = jwe_member(vec.jwe, "protected");
	uint8_t *header;
	size_t len = b64url_decode_alloc(prot, &header);
	char *text = calloc(1, len + 256), *at, *result;

	memcpy(text, header, len);
	at = strstr(text, from);
	assert_non_null(at);
	result = calloc(1, len + 256);
	memcpy(result, text, (size_t)(at - text));
	strcat(result, to);
	strcat(result, at + strlen(from));
	free(text);
	free(header);
	free(prot);
	return result;
}

static void expect_jwe_error(const struct kbs_tee_key *key, const char *jwe, int error)
{
	uint8_t out[64];
	size_t len = 0;
	int rc;

	memset(out, 0x5A, sizeof(out));
	rc = kbs_jwe_decrypt(key, jwe, strlen(jwe), out, sizeof(out), &len);
	if (rc != error)
		fail_msg("got %d (%s), expected %d for %s", rc, tpmboot_error_name(rc), error, jwe);
	/* No plaintext survives a failure. */
	if (error == TPMBOOT_E_KBS_JWE_DECRYPT) {
		size_t i;

		for (i = 0; i < sizeof(out); i++)
			assert_int_equal(out[i], 0);
	}
}

static void jwe_rejects_tampering(void **state)
{
	struct kbs_tee_key key;
	char *tag = jwe_member(vec.jwe, "tag");
	char *ct = jwe_member(vec.jwe, "ciphertext");
	char *ek = jwe_member(vec.jwe, "encrypted_key");
	char *jwe, *header, *prot, *iv;

	(void)state;
	selfgen_key(&key);

	/* Bad tag: first character changed keeps valid base64url. */
	tag[0] = tag[0] == 'A' ? 'B' : 'A';
	jwe = jwe_with("tag", tag, NULL);
	expect_jwe_error(&key, jwe, TPMBOOT_E_KBS_JWE_DECRYPT);
	free(jwe);

	ct[0] = ct[0] == 'A' ? 'B' : 'A';
	jwe = jwe_with("ciphertext", ct, NULL);
	expect_jwe_error(&key, jwe, TPMBOOT_E_KBS_JWE_DECRYPT);
	free(jwe);

	ek[0] = ek[0] == 'A' ? 'B' : 'A';
	jwe = jwe_with("encrypted_key", ek, NULL);
	expect_jwe_error(&key, jwe, TPMBOOT_E_KBS_JWE_DECRYPT);
	free(jwe);

	/* The same header re-serialised with a space is a different AAD. */
	header = header_with("\"enc\":", "\"enc\": ");
	prot = protected_of(header);
	jwe = jwe_with("protected", prot, NULL);
	expect_jwe_error(&key, jwe, TPMBOOT_E_KBS_JWE_DECRYPT);
	free(jwe); free(prot); free(header);

	/* An aad member changes the additional data too. */
	iv = jwe_member(vec.jwe, "iv");
	jwe = jwe_with("iv", iv, "\"aad\":\"eA\"");
	expect_jwe_error(&key, jwe, TPMBOOT_E_KBS_JWE_DECRYPT);
	free(jwe);
	free(iv);

	free(tag); free(ct); free(ek);
}

static void jwe_wrong_key(void **state)
{
	struct kbs_tee_key key, p521, rsa;

	(void)state;
	selfgen_key(&key);
	key.ec.d[31] ^= 1;
	expect_jwe_error(&key, vec.jwe, TPMBOOT_E_KBS_JWE_DECRYPT);

	assert_int_equal(kbs_tee_key_generate(&p521, TPMBOOT_TEE_KEY_EC_P521), 0);
	expect_jwe_error(&p521, vec.jwe, TPMBOOT_E_KBS_JWE_KEY_MISMATCH);
	kbs_tee_key_wipe(&p521);

	assert_int_equal(kbs_tee_key_generate(&rsa, TPMBOOT_TEE_KEY_RSA_2048), 0);
	expect_jwe_error(&rsa, vec.jwe, TPMBOOT_E_KBS_JWE_KEY_MISMATCH);
	kbs_tee_key_wipe(&rsa);
}

struct header_case {
	const char *from;
	const char *to;
	int error;
};

static const struct header_case header_cases[] = {
	{ "\"alg\":\"ECDH-ES+A256KW\"", "\"alg\":\"A256KW\"", TPMBOOT_E_KBS_JWE_ALG },
	{ "\"alg\":\"ECDH-ES+A256KW\"", "\"alg\":\"RSA1_5\"", TPMBOOT_E_KBS_JWE_ALG },
	{ "\"alg\":\"ECDH-ES+A256KW\"", "\"alg\":\"ECDH-ES\"", TPMBOOT_E_KBS_JWE_ALG },
	{ "\"alg\":\"ECDH-ES+A256KW\"", "\"alg\":\"dir\"", TPMBOOT_E_KBS_JWE_ALG },
	{ "\"enc\":\"A256GCM\"", "\"enc\":\"A128GCM\"", TPMBOOT_E_KBS_JWE_ENC },
	{ "\"enc\":\"A256GCM\"", "\"enc\":\"A256CBC-HS512\"", TPMBOOT_E_KBS_JWE_ENC },
	{ "\"enc\":\"A256GCM\"", "\"enc\":\"A256GCM\",\"zip\":\"DEF\"", TPMBOOT_E_KBS_JWE_MALFORMED },
	{ "\"enc\":\"A256GCM\"", "\"enc\":\"A256GCM\",\"crit\":[\"x\"]", TPMBOOT_E_KBS_JWE_MALFORMED },
	{ "\"enc\":\"A256GCM\"", "\"enc\":\"A256GCM\",\"apu\":\"QQ\"", TPMBOOT_E_KBS_JWE_MALFORMED },
	{ "\"enc\":\"A256GCM\"", "\"enc\":\"A256GCM\",\"enc\":\"A256GCM\"", TPMBOOT_E_KBS_JWE_MALFORMED },
	{ "\"crv\":\"P-256\"", "\"crv\":\"P-521\"", TPMBOOT_E_KBS_JWE_KEY_MISMATCH },
	{ "\"kty\":\"EC\"", "\"kty\":\"OKP\"", TPMBOOT_E_KBS_JWE_MALFORMED },
	{ "\"alg\":", "\"x-alg\":", TPMBOOT_E_KBS_JWE_MALFORMED },
};

static void jwe_rejects_headers(void **state)
{
	struct kbs_tee_key key;
	size_t i;

	(void)state;
	selfgen_key(&key);
	for (i = 0; i < TB_ARRAY_SIZE(header_cases); i++) {
		char *header = header_with(header_cases[i].from, header_cases[i].to);
		char *prot = protected_of(header);
		char *jwe = jwe_with("protected", prot, NULL);

		expect_jwe_error(&key, jwe, header_cases[i].error);
		free(jwe); free(prot); free(header);
	}
}

static void jwe_rejects_structure(void **state)
{
	struct kbs_tee_key key;
	uint8_t out[8];
	size_t len;
	char *jwe, *iv;

	(void)state;
	selfgen_key(&key);
	expect_jwe_error(&key, "not json", TPMBOOT_E_KBS_JWE_MALFORMED);
	expect_jwe_error(&key, "[]", TPMBOOT_E_KBS_JWE_MALFORMED);

	jwe = jwe_with("iv", NULL, NULL);
	expect_jwe_error(&key, jwe, TPMBOOT_E_KBS_JWE_MALFORMED);
	free(jwe);
	jwe = jwe_with("iv", "AAAA", NULL);
	expect_jwe_error(&key, jwe, TPMBOOT_E_KBS_JWE_MALFORMED);
	free(jwe);
	jwe = jwe_with("tag", "AAAAAAAAAAAAAAAAAAAAAA==", NULL);
	expect_jwe_error(&key, jwe, TPMBOOT_E_KBS_JWE_MALFORMED);
	free(jwe);
	jwe = jwe_with("encrypted_key", "AAAA", NULL);
	expect_jwe_error(&key, jwe, TPMBOOT_E_KBS_JWE_MALFORMED);
	free(jwe);
	jwe = jwe_with("protected", "eyJhbGciOiJFQ0RILUVTK0EyNTZLVyJ9!", NULL);
	expect_jwe_error(&key, jwe, TPMBOOT_E_KBS_JWE_MALFORMED);
	free(jwe);
	iv = jwe_member(vec.jwe, "iv");
	jwe = jwe_with("iv", iv, "\"header\":{\"alg\":\"dir\"}");
	expect_jwe_error(&key, jwe, TPMBOOT_E_KBS_JWE_MALFORMED);
	free(jwe);
	free(iv);

	/* Plaintext larger than the caller's buffer. */
	assert_int_equal(kbs_jwe_decrypt(&key, vec.jwe, strlen(vec.jwe), out, sizeof(out), &len),
			 TPMBOOT_E_BUFFER_TOO_SMALL);
}

static int setup(void **state)
{
	(void)state;
	tb_test_platform_init(&tp);
	tp.log_echo = 0;
	load_selfgen();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	tb_rng_wipe(); /* the DRBG state is allocated on first use */
	assert_int_equal(tb_test_platform_fini(&tp), 0);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(binding_selfgen_vector),
		cmocka_unit_test(jwe_selfgen_ecdh_and_kdf),
		cmocka_unit_test(jwe_selfgen_decrypts),
		cmocka_unit_test(jwe_rejects_tampering),
		cmocka_unit_test(jwe_wrong_key),
		cmocka_unit_test(jwe_rejects_headers),
		cmocka_unit_test(jwe_rejects_structure),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

/*
 * The crypto layer (tb_crypto.h, tb_fast.h at the selected tier) against the
 * Wycheproof vectors: AES-GCM, AES-CBC with PKCS#5 padding, AES-KW, AES-KWP,
 * HMAC-SHA-256/512, ECDH on P-256 and P-521, RSA-OAEP-2048 with SHA-256.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/obj_mac.h>

#include "core/tb_core.h"
#include "crypto/tb_crypto.h"
#include "tb_test_platform.h"
#include "wycheproof.h"

static struct tb_test_platform tp;

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
	tb_rng_wipe();
	assert_int_equal(tb_test_platform_fini(&tp), 0);
	return 0;
}

static void expect_run(const char *name, wp_case_fn fn, unsigned min_cases)
{
	struct wp_counts c = wp_run(name, fn, NULL);

	assert_int_equal(c.failures, 0);
	assert_true(c.valid + c.invalid + c.acceptable >= min_cases);
	assert_true(c.valid > 0);
}

static enum wp_outcome gcm_case(const json_t *group, const json_t *test,
				void *arg)
{
	size_t key_len, iv_len, aad_len, msg_len, ct_len, tag_len;
	uint8_t *key = wp_hex(test, "key", &key_len);
	uint8_t *iv = wp_hex(test, "iv", &iv_len);
	uint8_t *aad = wp_hex(test, "aad", &aad_len);
	uint8_t *msg = wp_hex(test, "msg", &msg_len);
	uint8_t *ct = wp_hex(test, "ct", &ct_len);
	uint8_t *tag = wp_hex(test, "tag", &tag_len);
	uint8_t *out = malloc(ct_len + 1);
	uint8_t tag_out[16];
	enum wp_outcome outcome;
	int rc;

	(void)group;
	(void)arg;
	rc = tb_aes_gcm_decrypt_ext(key, key_len, iv, iv_len, aad, aad_len,
				    ct, out, ct_len, tag, tag_len);
	if (rc != TPMBOOT_OK) {
		outcome = WP_REJECTED;
		goto out;
	}
	outcome = memcmp(out, msg, msg_len) == 0 ? WP_ACCEPTED : WP_WRONG;

	/* Encryption of a valid case reproduces ciphertext and tag. */
	rc = tb_aes_gcm_encrypt_ext(key, key_len, iv, iv_len, aad, aad_len,
				    msg, out, msg_len, tag_out, tag_len);
	if (rc != TPMBOOT_OK || memcmp(out, ct, ct_len) != 0 ||
	    memcmp(tag_out, tag, tag_len) != 0)
		outcome = WP_WRONG;
out:
	free(key), free(iv), free(aad), free(msg), free(ct), free(tag);
	free(out);
	return outcome;
}

/* CBC decryption through tb_fast.h, then the PKCS#5 padding check that a
 * caller must do. */
static enum wp_outcome cbc_case(const json_t *group, const json_t *test,
				void *arg)
{
	size_t key_len, iv_len, msg_len, ct_len;
	uint8_t *key = wp_hex(test, "key", &key_len);
	uint8_t *iv = wp_hex(test, "iv", &iv_len);
	uint8_t *msg = wp_hex(test, "msg", &msg_len);
	uint8_t *ct = wp_hex(test, "ct", &ct_len);
	uint8_t *out = malloc(ct_len + 16);
	struct tb_aes_key aes;
	enum wp_outcome outcome = WP_REJECTED;
	size_t pad, i;

	(void)group;
	(void)arg;
	if (ct_len == 0 || ct_len % 16 != 0 ||
	    tb_aes_setkey(&aes, key, key_len) != TPMBOOT_OK)
		goto out;
	tb_aes_cbc_decrypt(&aes, iv, ct, out, ct_len);
	tb_aes_key_wipe(&aes);

	pad = out[ct_len - 1];
	if (pad == 0 || pad > 16)
		goto out;
	for (i = ct_len - pad; i < ct_len; i++) {
		if (out[i] != pad)
			goto out;
	}
	outcome = ct_len - pad == msg_len && memcmp(out, msg, msg_len) == 0 ?
			  WP_ACCEPTED : WP_WRONG;
out:
	free(key), free(iv), free(msg), free(ct), free(out);
	return outcome;
}

static enum wp_outcome kw_case_mode(const json_t *test, int padded)
{
	size_t key_len, msg_len, ct_len, out_len;
	uint8_t *key = wp_hex(test, "key", &key_len);
	uint8_t *msg = wp_hex(test, "msg", &msg_len);
	uint8_t *ct = wp_hex(test, "ct", &ct_len);
	uint8_t *out = malloc(ct_len + msg_len + 16);
	enum wp_outcome outcome;
	int rc;

	rc = padded ? tb_aes_kwp_unwrap(key, key_len, ct, ct_len, out,
					ct_len + 16, &out_len) :
		      tb_aes_kw_unwrap(key, key_len, ct, ct_len, out,
				       ct_len + 16, &out_len);
	if (rc != TPMBOOT_OK) {
		outcome = WP_REJECTED;
		goto out;
	}
	outcome = out_len == msg_len && memcmp(out, msg, msg_len) == 0 ?
			  WP_ACCEPTED : WP_WRONG;

	/* Wrapping the plaintext back gives the same ciphertext. */
	rc = padded ? tb_aes_kwp_wrap(key, key_len, msg, msg_len, out,
				      ct_len + msg_len + 16, &out_len) :
		      tb_aes_kw_wrap(key, key_len, msg, msg_len, out,
				     ct_len + msg_len + 16, &out_len);
	if (rc != TPMBOOT_OK || out_len != ct_len ||
	    memcmp(out, ct, ct_len) != 0)
		outcome = WP_WRONG;
out:
	free(key), free(msg), free(ct), free(out);
	return outcome;
}

static enum wp_outcome kw_case(const json_t *group, const json_t *test,
			       void *arg)
{
	(void)group;
	(void)arg;
	return kw_case_mode(test, 0);
}

static enum wp_outcome kwp_case(const json_t *group, const json_t *test,
				void *arg)
{
	(void)group;
	(void)arg;
	return kw_case_mode(test, 1);
}

static enum wp_outcome hmac_case_alg(const json_t *group, const json_t *test,
				     enum tb_hash_alg alg)
{
	size_t key_len, msg_len, tag_len;
	uint8_t *key = wp_hex(test, "key", &key_len);
	uint8_t *msg = wp_hex(test, "msg", &msg_len);
	uint8_t *tag = wp_hex(test, "tag", &tag_len);
	size_t tag_bytes = (size_t)wp_int(group, "tagSize") / 8;
	uint8_t mac[TB_HASH_MAX_DIGEST];
	enum wp_outcome outcome = WP_REJECTED;

	/* A truncated tag is compared on its length, as a verifier would. */
	if (tb_hmac(alg, key, key_len, msg, msg_len, mac) == TPMBOOT_OK &&
	    tag_len == tag_bytes && tb_ct_memeq(mac, tag, tag_bytes))
		outcome = WP_ACCEPTED;
	free(key), free(msg), free(tag);
	return outcome;
}

static enum wp_outcome hmac256_case(const json_t *group, const json_t *test,
				    void *arg)
{
	(void)arg;
	return hmac_case_alg(group, test, TB_HASH_SHA256);
}

static enum wp_outcome hmac512_case(const json_t *group, const json_t *test,
				    void *arg)
{
	(void)arg;
	return hmac_case_alg(group, test, TB_HASH_SHA512);
}

/*
 * Minimal DER reader for SubjectPublicKeyInfo:
 * SEQUENCE { SEQUENCE { OID id-ecPublicKey, OID curve }, BIT STRING point }.
 * Returns 0 and the curve OID and the point, or -1 on malformed DER.
 */
static int der_item(const uint8_t **p, const uint8_t *end, uint8_t tag,
		    const uint8_t **content, size_t *len)
{
	size_t l;

	if (end - *p < 2 || (*p)[0] != tag)
		return -1;
	l = (*p)[1];
	*p += 2;
	if (l & 0x80) {
		size_t n = l & 0x7f;

		if (n == 0 || n > 2 || (size_t)(end - *p) < n)
			return -1;
		l = 0;
		while (n-- > 0)
			l = l << 8 | *(*p)++;
	}
	if ((size_t)(end - *p) < l)
		return -1;
	*content = *p;
	*len = l;
	*p += l;
	return 0;
}

static int parse_spki(const uint8_t *der, size_t der_len,
		      const uint8_t **curve_oid, size_t *curve_oid_len,
		      const uint8_t **point, size_t *point_len)
{
	const uint8_t *p = der, *end = der + der_len;
	const uint8_t *spki, *alg, *oid, *bits;
	size_t spki_len, alg_len, oid_len, bits_len;

	if (der_item(&p, end, 0x30, &spki, &spki_len) != 0 || p != end)
		return -1;
	p = spki;
	end = spki + spki_len;
	if (der_item(&p, end, 0x30, &alg, &alg_len) != 0 ||
	    der_item(&p, end, 0x03, &bits, &bits_len) != 0 || p != end ||
	    bits_len < 2 || bits[0] != 0)
		return -1;
	p = alg;
	if (der_item(&p, alg + alg_len, 0x06, &oid, &oid_len) != 0 ||
	    der_item(&p, alg + alg_len, 0x06, curve_oid, curve_oid_len) != 0)
		return -1;
	*point = bits + 1;
	*point_len = bits_len - 1;
	return 0;
}

struct ecdh_params {
	enum tb_ec_curve curve;
	int openssl_nid;
	const uint8_t *oid;
	size_t oid_len;
};

/* Decodes a SEC 1 point (uncompressed, or compressed through OpenSSL) into
 * fixed-length x and y. Returns 0, or -1 for an encoding the JWK form
 * cannot carry. */
static int decode_point(const struct ecdh_params *ep, const uint8_t *pt,
			size_t pt_len, uint8_t *x, uint8_t *y)
{
	size_t n = tb_ec_coord_len(ep->curve);
	EC_GROUP *group;
	EC_POINT *point;
	BIGNUM *bx, *by;
	int rc = -1;

	if (pt_len == 1 + 2 * n && pt[0] == 0x04) {
		memcpy(x, pt + 1, n);
		memcpy(y, pt + 1 + n, n);
		return 0;
	}
	if (pt_len != 1 + n || (pt[0] != 0x02 && pt[0] != 0x03))
		return -1;

	group = EC_GROUP_new_by_curve_name(ep->openssl_nid);
	point = EC_POINT_new(group);
	bx = BN_new();
	by = BN_new();
	if (EC_POINT_oct2point(group, point, pt, pt_len, NULL) == 1 &&
	    EC_POINT_get_affine_coordinates(group, point, bx, by, NULL) == 1 &&
	    BN_bn2binpad(bx, x, (int)n) == (int)n &&
	    BN_bn2binpad(by, y, (int)n) == (int)n)
		rc = 0;
	BN_free(bx);
	BN_free(by);
	EC_POINT_free(point);
	EC_GROUP_free(group);
	return rc;
}

static enum wp_outcome ecdh_case(const json_t *group, const json_t *test,
				 void *arg)
{
	const struct ecdh_params *ep = arg;
	size_t pub_len, priv_len, shared_len, oid_len, pt_len;
	size_t n = tb_ec_coord_len(ep->curve);
	uint8_t *pub = wp_hex(test, "public", &pub_len);
	uint8_t *priv = wp_hex(test, "private", &priv_len);
	uint8_t *shared = wp_hex(test, "shared", &shared_len);
	const uint8_t *oid, *pt, *d = priv;
	uint8_t x[TB_EC_MAX_COORD], y[TB_EC_MAX_COORD], z[TB_EC_MAX_COORD];
	struct tb_ec_key key;
	enum wp_outcome outcome = WP_REJECTED;

	(void)group;
	/* Wycheproof writes the scalar as a signed integer: a leading zero
	 * byte may precede it. */
	while (priv_len > n && d[0] == 0) {
		d++;
		priv_len--;
	}
	/* A public key on another curve or in a form a JWK cannot carry is
	 * rejected before it reaches the module. */
	if (parse_spki(pub, pub_len, &oid, &oid_len, &pt, &pt_len) != 0 ||
	    oid_len != ep->oid_len || memcmp(oid, ep->oid, oid_len) != 0 ||
	    decode_point(ep, pt, pt_len, x, y) != 0)
		goto out;

	assert_int_equal(tb_ec_import(&key, ep->curve, d, priv_len), TPMBOOT_OK);
	if (tb_ecdh(&key, x, y, z) == TPMBOOT_OK)
		outcome = shared_len == n && memcmp(z, shared, n) == 0 ?
				  WP_ACCEPTED : WP_WRONG;
	tb_ec_key_wipe(&key);
out:
	free(pub), free(priv), free(shared);
	return outcome;
}

static struct tb_rsa_key *oaep_key;

static enum wp_outcome oaep_case(const json_t *group, const json_t *test,
				 void *arg)
{
	size_t msg_len, ct_len, label_len, out_len;
	uint8_t *msg = wp_hex(test, "msg", &msg_len);
	uint8_t *ct = wp_hex(test, "ct", &ct_len);
	uint8_t *label = wp_hex(test, "label", &label_len);
	uint8_t out[512];
	enum wp_outcome outcome = WP_REJECTED;

	(void)group;
	(void)arg;
	if (tb_rsa_oaep_sha256_decrypt_label(oaep_key, label, label_len, ct,
					     ct_len, out, sizeof(out),
					     &out_len) == TPMBOOT_OK)
		outcome = out_len == msg_len && memcmp(out, msg, msg_len) == 0 ?
				  WP_ACCEPTED : WP_WRONG;
	free(msg), free(ct), free(label);
	return outcome;
}

static void test_aes_gcm(void **state)
{
	(void)state;
	expect_run("aes_gcm_test.json", gcm_case, 200);
}

static void test_aes_cbc_pkcs5(void **state)
{
	(void)state;
	expect_run("aes_cbc_pkcs5_test.json", cbc_case, 150);
}

static void test_aes_wrap(void **state)
{
	(void)state;
	expect_run("aes_wrap_test.json", kw_case, 100);
}

static void test_aes_kwp(void **state)
{
	(void)state;
	expect_run("aes_kwp_test.json", kwp_case, 100);
}

static void test_hmac_sha256(void **state)
{
	(void)state;
	expect_run("hmac_sha256_test.json", hmac256_case, 100);
}

static void test_hmac_sha512(void **state)
{
	(void)state;
	expect_run("hmac_sha512_test.json", hmac512_case, 100);
}

static void test_ecdh_p256(void **state)
{
	static const uint8_t oid[] = { 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03,
				       0x01, 0x07 };
	struct ecdh_params ep = { TB_EC_P256, NID_X9_62_prime256v1, oid,
				  sizeof(oid) };
	struct wp_counts c;

	(void)state;
	c = wp_run("ecdh_secp256r1_test.json", ecdh_case, &ep);
	assert_int_equal(c.failures, 0);
	assert_true(c.valid > 0 && c.invalid > 0);
}

static void test_ecdh_p521(void **state)
{
	static const uint8_t oid[] = { 0x2b, 0x81, 0x04, 0x00, 0x23 };
	struct ecdh_params ep = { TB_EC_P521, NID_secp521r1, oid, sizeof(oid) };
	struct wp_counts c;

	(void)state;
	c = wp_run("ecdh_secp521r1_test.json", ecdh_case, &ep);
	assert_int_equal(c.failures, 0);
	assert_true(c.valid > 0 && c.invalid > 0);
}

static void test_rsa_oaep_2048_sha256(void **state)
{
	json_error_t error;
	json_t *root, *groups;
	struct wp_counts total;

	(void)state;
	root = json_load_file(tb_test_wycheproof_path(
		"rsa_oaep_2048_sha256_mgf1sha256_test.json"), 0, &error);
	assert_non_null(root);
	groups = json_object_get(root, "testGroups");

	/* The file has one group and one key. */
	assert_int_equal(json_array_size(groups), 1);
	{
		const json_t *pk = json_object_get(json_array_get(groups, 0),
						   "privateKey");
		size_t n_len, e_len, d_len, p_len, q_len;
		uint8_t *n = wp_hex(pk, "modulus", &n_len);
		uint8_t *e = wp_hex(pk, "publicExponent", &e_len);
		uint8_t *d = wp_hex(pk, "privateExponent", &d_len);
		uint8_t *p = wp_hex(pk, "prime1", &p_len);
		uint8_t *q = wp_hex(pk, "prime2", &q_len);

		assert_int_equal(tb_rsa_import(&oaep_key, n, n_len, e, e_len,
					       d, d_len, p, p_len, q, q_len),
				 TPMBOOT_OK);
		free(n), free(e), free(d), free(p), free(q);
	}
	json_decref(root);

	total = wp_run("rsa_oaep_2048_sha256_mgf1sha256_test.json", oaep_case,
		       NULL);
	tb_rsa_free(oaep_key);
	oaep_key = NULL;
	assert_int_equal(total.failures, 0);
	assert_true(total.valid > 0 && total.invalid > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_aes_gcm),
		cmocka_unit_test(test_aes_cbc_pkcs5),
		cmocka_unit_test(test_aes_wrap),
		cmocka_unit_test(test_aes_kwp),
		cmocka_unit_test(test_hmac_sha256),
		cmocka_unit_test(test_hmac_sha512),
		cmocka_unit_test(test_ecdh_p256),
		cmocka_unit_test(test_ecdh_p521),
		cmocka_unit_test(test_rsa_oaep_2048_sha256),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

/*
 * TEE key generation and JWK output.
 */
#include <string.h>

#include "core/tb_core.h"
#include "kbs/kbs_teekey.h"

int kbs_tee_key_generate(struct kbs_tee_key *key, enum tpmboot_tee_key type)
{
	int rc;

	memset(key, 0, sizeof(*key));
	key->type = type;

	switch (type) {
	case TPMBOOT_TEE_KEY_EC_P256:
		rc = tb_ec_generate(&key->ec, TB_EC_P256);
		break;
	case TPMBOOT_TEE_KEY_EC_P521:
		rc = tb_ec_generate(&key->ec, TB_EC_P521);
		break;
	case TPMBOOT_TEE_KEY_RSA_2048:
		rc = tb_rsa_generate(&key->rsa, KBS_RSA_BITS);
		if (!rc)
			rc = tb_rsa_public(key->rsa, key->n, sizeof(key->n),
					   &key->n_len, key->e, sizeof(key->e),
					   &key->e_len);
		break;
	default:
		tb_err("kbs: unknown TEE key type %d", (int)type);
		return TPMBOOT_E_UNSUPPORTED;
	}

	if (rc) {
		tb_err("kbs: generating the TEE key (type %d) failed: %s",
		       (int)type, tpmboot_error_name(rc));
		kbs_tee_key_wipe(key);
	}
	return rc;
}

void kbs_tee_key_wipe(struct kbs_tee_key *key)
{
	if (key->rsa)
		tb_rsa_free(key->rsa);
	tb_memzero(key, sizeof(*key));
}

const char *kbs_tee_key_curve_name(const struct kbs_tee_key *key)
{
	switch (key->type) {
	case TPMBOOT_TEE_KEY_EC_P256:
		return "P-256";
	case TPMBOOT_TEE_KEY_EC_P521:
		return "P-521";
	default:
		return NULL;
	}
}

void kbs_tee_key_write_jwk(struct kbs_json_writer *w,
			   const struct kbs_tee_key *key)
{
	kbs_json_begin_object(w);
	if (key->type == TPMBOOT_TEE_KEY_RSA_2048) {
		kbs_json_name_put(w, "alg");
		kbs_json_string(w, "RSA-OAEP-256");
		kbs_json_name_put(w, "e");
		kbs_json_base64(w, 1, key->e, key->e_len);
		kbs_json_name_put(w, "kty");
		kbs_json_string(w, "RSA");
		kbs_json_name_put(w, "n");
		kbs_json_base64(w, 1, key->n, key->n_len);
	} else {
		size_t len = tb_ec_coord_len(key->ec.curve);

		kbs_json_name_put(w, "alg");
		kbs_json_string(w, "ECDH-ES+A256KW");
		kbs_json_name_put(w, "crv");
		kbs_json_string(w, kbs_tee_key_curve_name(key));
		kbs_json_name_put(w, "kty");
		kbs_json_string(w, "EC");
		kbs_json_name_put(w, "x");
		kbs_json_base64(w, 1, key->ec.x, len);
		kbs_json_name_put(w, "y");
		kbs_json_base64(w, 1, key->ec.y, len);
	}
	kbs_json_end_object(w);
}

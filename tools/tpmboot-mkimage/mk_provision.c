/*
 * provision: one command that makes a vTPM image for svsm-tpmboot.
 *
 *   1. Key1 (the CocoonFs key): 32 bytes from getrandom, or given.
 *   2. The wrapped-key entry (docs/wrapped-key-entry.md): encoded once
 *      without a tag to get the kbs-unwrap envelope's additional data,
 *      then Key1 is wrapped (by the KBS admin endpoint, a local KEK, an
 *      RSA public key, or not at all for a KBS resource) and the entry is
 *      encoded again with Key2 and the tag.
 *   3. mkfs with NVChip at inode 0x100000000, "COCONUT-SVSM" at
 *      0x100000001 and the entry under TPMBOOT_WRAPKEY_UUID.
 * Key1 reaches stdout only with --print-key1 and a file only with
 * --key1-out; every copy in memory is wiped.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "kbs/kbs_base64.h"
#include "mk.h"
#include "wrapkey/tb_wrapkey.h"

#define NVCHIP_LEN 16384u
#define KEY1_LEN 32u
#define KEK_LEN 32u

static const uint8_t marker[] = "COCONUT-SVSM";

/* Reads a secret file: raw bytes of exactly want bytes, or that many
 * bytes in hex (surrounding whitespace ignored). */
static int read_secret(const char *path, const char *what, uint8_t *out,
		       size_t want)
{
	uint8_t *data;
	size_t len, n;
	char *text;
	int rc = mk_read_file(path, &data, &len);

	if (rc != MK_OK)
		return rc;
	if (len == want) {
		memcpy(out, data, want);
		mk_wipe(data, len);
		free(data);
		return MK_OK;
	}
	text = calloc(1, len + 1);
	if (text == NULL) {
		mk_wipe(data, len);
		free(data);
		return mk_fail(MK_E_NO_MEMORY, "out of memory");
	}
	memcpy(text, data, len);
	while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r' ||
			   text[len - 1] == ' '))
		text[--len] = '\0';
	rc = len == 2 * want ? mk_parse_hex(text, out, want, &n) : MK_E_USAGE;
	if (rc != MK_OK || n != want)
		rc = mk_fail(MK_E_USAGE, "%s file %s must hold %zu raw bytes or "
			     "%zu hex digits", what, path, want, 2 * want);
	mk_wipe(text, len);
	mk_wipe(data, len);
	free(text);
	free(data);
	return rc;
}

static int read_token(const char *path, char **token)
{
	uint8_t *data;
	size_t len;
	int rc = mk_read_file(path, &data, &len);

	if (rc != MK_OK)
		return rc;
	while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == '\r' ||
			   data[len - 1] == ' '))
		len--;
	*token = calloc(1, len + 1);
	if (*token == NULL) {
		free(data);
		return mk_fail(MK_E_NO_MEMORY, "out of memory");
	}
	memcpy(*token, data, len);
	mk_wipe(data, len);
	free(data);
	if (len == 0)
		return mk_fail(MK_E_USAGE, "admin token file %s is empty", path);
	return MK_OK;
}

static char *b64(const uint8_t *in, size_t len)
{
	size_t cap = kbs_base64_encoded_len(KBS_BASE64_STD, len) + 1;
	char *out = malloc(cap);

	if (out != NULL && kbs_base64_encode(KBS_BASE64_STD, in, len, out, cap))
		out[0] = '\0';
	return out;
}

/* kbs-unwrap through the KBS: POST /kbs/v0/tpmboot-unwrap/wrap with
 * {"key-id", "aad", "key"} and the admin bearer token. */
static int wrap_kbs(const struct mk_provision *pv, const uint8_t *aad,
		    size_t aad_len, const uint8_t *key1, size_t key1_len,
		    uint8_t *wrapped, size_t wrapped_len)
{
	char *token = NULL, *aad64 = b64(aad, aad_len), *key64 = b64(key1, key1_len);
	char *body = NULL, *resp = NULL;
	size_t resp_len, out_len = 0;
	json_t *req = NULL, *doc = NULL, *w;
	int rc;

	if (aad64 == NULL || key64 == NULL) {
		rc = mk_fail(MK_E_NO_MEMORY, "out of memory");
		goto out;
	}
	rc = read_token(pv->kbs_token_file, &token);
	if (rc != MK_OK)
		goto out;
	req = json_pack("{s:s, s:s, s:s}", "key-id", pv->key_id, "aad", aad64,
			"key", key64);
	body = req ? json_dumps(req, JSON_COMPACT) : NULL;
	if (body == NULL) {
		rc = mk_fail(MK_E_NO_MEMORY, "cannot build the wrap request");
		goto out;
	}
	rc = mk_http_post(pv->kbs_url, "/kbs/v0/tpmboot-unwrap/wrap", token,
			  body, &resp, &resp_len);
	if (rc != MK_OK)
		goto out;
	doc = json_loads(resp, 0, NULL);
	w = doc ? json_object_get(doc, "wrapped") : NULL;
	if (!json_is_string(w) ||
	    kbs_base64_decode(KBS_BASE64_STD, json_string_value(w),
			      json_string_length(w), wrapped, wrapped_len,
			      &out_len) != 0 || out_len != wrapped_len)
		rc = mk_fail(MK_E_WRAP, "the KBS wrap response has no \"wrapped\" "
			     "value of %zu bytes in base64", wrapped_len);
out:
	if (key64)
		mk_wipe(key64, strlen(key64));
	if (body)
		mk_wipe(body, strlen(body));
	if (token)
		mk_wipe(token, strlen(token));
	free(token);
	free(aad64);
	free(key64);
	free(body);
	free(resp);
	/* jansson keeps its own copy of the base64 Key1; wipe it too. */
	if (req && json_is_string(json_object_get(req, "key"))) {
		json_t *k = json_object_get(req, "key");

		mk_wipe((char *)json_string_value(k), json_string_length(k));
	}
	json_decref(req);
	json_decref(doc);
	return rc;
}

/* kbs-unwrap with a local KEK: IV (12) || AES-256-GCM(Key1) || tag (16). */
static int wrap_kek(const char *kek_file, const uint8_t *aad, size_t aad_len,
		    const uint8_t *key1, size_t key1_len, uint8_t *wrapped)
{
	uint8_t kek[KEK_LEN];
	int rc = read_secret(kek_file, "KEK", kek, sizeof(kek));

	if (rc == MK_OK)
		rc = mk_random(wrapped, 12);
	if (rc == MK_OK && tb_aes_gcm_encrypt(kek, sizeof(kek), wrapped, aad,
					      aad_len, key1, wrapped + 12,
					      key1_len, wrapped + 12 + key1_len))
		rc = mk_fail(MK_E_CRYPTO, "AES-256-GCM wrap failed");
	mk_wipe(kek, sizeof(kek));
	return rc;
}

/* trustee-pkcs11: RSA-OAEP with SHA-256 and MGF1-SHA-256. */
static int wrap_rsa(const char *pem_file, const uint8_t *key1, size_t key1_len,
		    uint8_t *wrapped, size_t cap, size_t *wrapped_len)
{
	FILE *f = fopen(pem_file, "r");
	EVP_PKEY *pkey = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	size_t out_len = cap;
	int rc = MK_OK;

	if (f == NULL)
		return mk_fail(MK_E_IO, "cannot open RSA public key %s",
			       pem_file);
	pkey = PEM_read_PUBKEY(f, NULL, NULL, NULL);
	fclose(f);
	if (pkey == NULL || EVP_PKEY_base_id(pkey) != EVP_PKEY_RSA) {
		EVP_PKEY_free(pkey);
		return mk_fail(MK_E_USAGE, "%s holds no PEM RSA public key "
			       "(\"-----BEGIN PUBLIC KEY-----\")", pem_file);
	}
	ctx = EVP_PKEY_CTX_new(pkey, NULL);
	if (ctx == NULL || EVP_PKEY_encrypt_init(ctx) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_oaep_md(ctx, EVP_sha256()) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, EVP_sha256()) <= 0 ||
	    EVP_PKEY_encrypt(ctx, wrapped, &out_len, key1, key1_len) <= 0)
		rc = mk_fail(MK_E_WRAP, "RSA-OAEP-SHA256 encryption with %s "
			     "failed (the key must be 2048 to 4096 bits)",
			     pem_file);
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(pkey);
	*wrapped_len = out_len;
	return rc;
}

/* Checks a KBS resource path "repository/type/tag". */
static int check_resource(const char *path)
{
	const char *p = path;
	int parts = 1;

	if (*p == '\0' || *p == '/')
		goto invalid;
	for (; *p; p++) {
		if (*p == '/') {
			if (p[1] == '\0' || p[1] == '/')
				goto invalid;
			parts++;
		}
	}
	if (parts == 3)
		return MK_OK;
invalid:
	return mk_fail(MK_E_USAGE, "KBS resource \"%s\" is not of the form "
		       "repository/type/tag", path);
}

/* Builds the entry: fields, first encoding, wrap, final encoding. */
int mk_build_wrapped_entry(const struct mk_provision *pv,
		       const struct tb_wrapkey_image_id *id,
		       const uint8_t *key1, size_t key1_len, uint8_t *entry,
		       size_t *entry_len)
{
	struct tb_wrapkey_fields f;
	struct tb_wrapkey_entry parsed;
	uint8_t wrapped[TB_WRAPKEY_WRAPPED_MAX];
	uint8_t aad[TB_WRAPKEY_MAX_LEN + 300];
	size_t aad_len = 0;
	int rc = MK_OK;

	memset(&f, 0, sizeof(f));
	memset(wrapped, 0, sizeof(wrapped));
	f.key1_len = (uint8_t)key1_len;
	f.wrapped = wrapped;
	if (strcmp(pv->wrap_mode, "kbs-unwrap") == 0) {
		f.mode = TB_WRAP_MODE_KBS_UNWRAP;
		f.locator = "tpmboot-unwrap";
		f.key_id = pv->key_id;
		f.wrapped_len = TB_WRAPKEY_ENVELOPE_LEN(key1_len);
		if (pv->key_id == NULL || pv->key_id[0] == '\0')
			return mk_fail(MK_E_USAGE, "--wrap kbs-unwrap needs "
				       "--key-id (the KEK's id at the KBS)");
		if ((pv->kek_file == NULL) == (pv->kbs_url == NULL))
			return mk_fail(MK_E_USAGE, "--wrap kbs-unwrap needs either "
				       "--kek-file or --kbs with "
				       "--kbs-admin-token-file");
		if (pv->kbs_url != NULL && pv->kbs_token_file == NULL)
			return mk_fail(MK_E_USAGE, "--kbs needs "
				       "--kbs-admin-token-file");
	} else if (strcmp(pv->wrap_mode, "resource") == 0) {
		f.mode = TB_WRAP_MODE_RESOURCE;
		if (pv->resource == NULL)
			return mk_fail(MK_E_USAGE, "--wrap resource needs "
				       "--resource repository/type/tag");
		if ((rc = check_resource(pv->resource)) != MK_OK)
			return rc;
		f.locator = pv->resource;
	} else if (strcmp(pv->wrap_mode, "trustee-pkcs11") == 0) {
		f.mode = TB_WRAP_MODE_TRUSTEE_PKCS11;
		f.locator = "pkcs11";
		f.key_id = pv->key_id;
		if (pv->rsa_pub_file == NULL)
			return mk_fail(MK_E_USAGE, "--wrap trustee-pkcs11 needs "
				       "--rsa-pub PEM");
		rc = wrap_rsa(pv->rsa_pub_file, key1, key1_len, wrapped,
			      sizeof(wrapped), &f.wrapped_len);
	} else {
		return mk_fail(MK_E_USAGE, "unknown wrap mode \"%s\" (expected "
			       "kbs-unwrap, resource or trustee-pkcs11)",
			       pv->wrap_mode);
	}

	if (rc == MK_OK && f.mode == TB_WRAP_MODE_KBS_UNWRAP) {
		if (tb_wrapkey_encode(&f, id, NULL, 0, entry, TB_WRAPKEY_MAX_LEN,
				      entry_len) != 0 ||
		    tb_wrapkey_parse(entry, *entry_len, &parsed) != 0 ||
		    tb_wrapkey_envelope_aad(&parsed, id, aad, sizeof(aad),
					    &aad_len) != 0)
			return mk_fail(MK_E_USAGE, "invalid wrapped-key entry "
				       "fields (key id \"%s\")", pv->key_id);
		if (pv->kek_file != NULL)
			rc = wrap_kek(pv->kek_file, aad, aad_len, key1, key1_len,
				      wrapped);
		else
			rc = wrap_kbs(pv, aad, aad_len, key1, key1_len, wrapped,
				      f.wrapped_len);
	}
	if (rc == MK_OK && tb_wrapkey_encode(&f, id, key1, key1_len, entry,
					     TB_WRAPKEY_MAX_LEN, entry_len) != 0)
		rc = mk_fail(MK_E_USAGE, "cannot encode the wrapped-key entry "
			     "(mode %s, wrapped key of %zu bytes)", pv->wrap_mode,
			     f.wrapped_len);
	return rc;
}

static void print_key1(const uint8_t *key1, size_t key1_len)
{
	size_t i;

	for (i = 0; i < key1_len; i++)
		printf("%02x", key1[i]);
	printf("\n");
	fflush(stdout);
}

int mk_provision_run(const struct mk_provision *pv)
{
	struct mk_params p = pv->params;
	uint8_t layout[CCFS_LAYOUT_LEN], key1[TB_WRAPKEY_KEY1_MAX];
	uint8_t entry[TB_WRAPKEY_MAX_LEN];
	uint8_t *nvchip = NULL, *image = NULL;
	size_t nvchip_len = NVCHIP_LEN, entry_len = 0, image_len = 0;
	size_t key1_len = pv->key1 ? pv->key1_len : KEY1_LEN;
	struct tb_wrapkey_image_id id;
	struct mk_file files[2];
	struct mk_aux_entry aux;
	static const uint8_t uuid[MK_UUID_LEN] = TPMBOOT_WRAPKEY_UUID;
	struct mk_staged_file key1_file;
	int rc, key1_staged = 0;

	if (key1_len < TB_WRAPKEY_KEY1_MIN || key1_len > TB_WRAPKEY_KEY1_MAX)
		return mk_fail(MK_E_USAGE, "Key1 of %zu bytes is outside %u..%u",
			       key1_len, TB_WRAPKEY_KEY1_MIN, TB_WRAPKEY_KEY1_MAX);
	if ((rc = mk_platform_attach()) != MK_OK)
		return rc;
	if (p.salt_len == 0) {
		p.salt_len = 16;
		rc = mk_random(p.salt, p.salt_len);
	}
	if (rc == MK_OK)
		rc = mk_layout_encode(&p, layout);
	if (rc == MK_OK)
		rc = pv->key1 ? (memcpy(key1, pv->key1, key1_len), MK_OK)
			      : mk_random(key1, key1_len);
	if (rc == MK_OK && pv->nvchip_path != NULL) {
		rc = mk_read_file(pv->nvchip_path, &nvchip, &nvchip_len);
	} else if (rc == MK_OK) {
		nvchip = malloc(NVCHIP_LEN);
		rc = nvchip ? mk_random(nvchip, NVCHIP_LEN)
			    : mk_fail(MK_E_NO_MEMORY, "out of memory");
	}
	if (rc != MK_OK)
		goto out;

	id.salt = p.salt;
	id.salt_len = p.salt_len;
	memcpy(id.layout, layout, CCFS_LAYOUT_LEN);
	rc = mk_build_wrapped_entry(pv, &id, key1, key1_len, entry, &entry_len);
	if (rc != MK_OK)
		goto out;

	files[0].inode = TPMBOOT_INODE_NVCHIP;
	files[0].flags = 0;
	files[0].data = nvchip;
	files[0].len = nvchip_len;
	files[1].inode = TPMBOOT_INODE_MANUFACTURED;
	files[1].flags = 0;
	files[1].data = marker;
	files[1].len = sizeof(marker) - 1;
	memcpy(aux.uuid, uuid, MK_UUID_LEN);
	aux.data = entry;
	aux.len = entry_len;
	rc = mk_mkfs(&p, key1, key1_len, files, 2, &aux, 1, &image, &image_len);

	/* Key1 is staged before the image replaces the old one and renamed
	 * after it, so a failure to write either file changes neither. Only
	 * a failed rename of the staged Key1 comes after the image, and it
	 * leaves Key1 in the temporary file that the error names. */
	if (rc == MK_OK && pv->key1_out != NULL) {
		rc = mk_stage_file(pv->key1_out, key1, key1_len, 1, &key1_file);
		key1_staged = rc == MK_OK;
	}
	if (rc == MK_OK)
		rc = mk_write_file_atomic(pv->image_path, image, image_len, 0);
	if (key1_staged) {
		if (rc == MK_OK)
			rc = mk_commit_file(&key1_file);
		else
			mk_discard_file(&key1_file);
	}
	if (rc == MK_OK && pv->print_key1)
		print_key1(key1, key1_len);
out:
	mk_wipe(key1, sizeof(key1));
	if (nvchip)
		mk_wipe(nvchip, nvchip_len);
	free(nvchip);
	free(image);
	return rc;
}

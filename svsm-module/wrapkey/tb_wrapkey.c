/*
 * Wrapped-key entry parser, writer and tag (see tb_wrapkey.h).
 */
#include <string.h>

#include "core/tb_core.h"
#include "crypto/tb_crypto.h"
#include "wrapkey/tb_wrapkey.h"

static const uint8_t tag_label[] = "svsm-tpmboot wrapped-key tag";

const char *tb_wrap_mode_name(enum tb_wrap_mode mode)
{
	switch (mode) {
	case TB_WRAP_MODE_KBS_UNWRAP:
		return "kbs-unwrap";
	case TB_WRAP_MODE_TRUSTEE_PKCS11:
		return "trustee-pkcs11";
	case TB_WRAP_MODE_RESOURCE:
		return "resource";
	}
	return "unknown";
}

static int is_printable(const uint8_t *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (s[i] < 0x20 || s[i] > 0x7e)
			return 0;
	}
	return 1;
}

/* The wrapped length each mode allows, given the Key1 length. */
static int check_wrapped_len(enum tb_wrap_mode mode, size_t key1_len,
			     size_t wrapped_len)
{
	switch (mode) {
	case TB_WRAP_MODE_KBS_UNWRAP:
		return wrapped_len == TB_WRAPKEY_ENVELOPE_LEN(key1_len);
	case TB_WRAP_MODE_TRUSTEE_PKCS11:
		/* An RSA-OAEP ciphertext of a 2048- to 4096-bit key. */
		return wrapped_len >= 256 && wrapped_len <= 512;
	case TB_WRAP_MODE_RESOURCE:
		return wrapped_len == 0;
	}
	return 0;
}

static int check_fields(enum tb_wrap_mode mode, size_t key1_len,
			const uint8_t *locator, size_t locator_len,
			const uint8_t *key_id, size_t key_id_len,
			size_t wrapped_len)
{
	if (mode != TB_WRAP_MODE_KBS_UNWRAP &&
	    mode != TB_WRAP_MODE_TRUSTEE_PKCS11 &&
	    mode != TB_WRAP_MODE_RESOURCE) {
		tb_err("wrapkey: unknown wrap mode %u", (unsigned)mode);
		return TPMBOOT_E_WRAPKEY_MODE;
	}
	if (key1_len < TB_WRAPKEY_KEY1_MIN || key1_len > TB_WRAPKEY_KEY1_MAX) {
		tb_err("wrapkey: Key1 length %zu outside %u..%u", key1_len,
		       TB_WRAPKEY_KEY1_MIN, TB_WRAPKEY_KEY1_MAX);
		return TPMBOOT_E_WRAPKEY_FIELD;
	}
	if (locator_len == 0 || locator_len > TB_WRAPKEY_LOCATOR_MAX ||
	    !is_printable(locator, locator_len)) {
		tb_err("wrapkey: invalid locator (length %zu)", locator_len);
		return TPMBOOT_E_WRAPKEY_FIELD;
	}
	if (key_id_len > TB_WRAPKEY_KEY_ID_MAX ||
	    !is_printable(key_id, key_id_len)) {
		tb_err("wrapkey: invalid key id (length %zu)", key_id_len);
		return TPMBOOT_E_WRAPKEY_FIELD;
	}
	if (mode == TB_WRAP_MODE_KBS_UNWRAP && key_id_len == 0) {
		tb_err("wrapkey: kbs-unwrap entry without a key id");
		return TPMBOOT_E_WRAPKEY_FIELD;
	}
	if (wrapped_len > TB_WRAPKEY_WRAPPED_MAX ||
	    !check_wrapped_len(mode, key1_len, wrapped_len)) {
		tb_err("wrapkey: wrapped key length %zu invalid for mode %s and "
		       "Key1 length %zu", wrapped_len, tb_wrap_mode_name(mode),
		       key1_len);
		return TPMBOOT_E_WRAPKEY_FIELD;
	}
	return TPMBOOT_OK;
}

int tb_wrapkey_parse(const uint8_t *buf, size_t len,
		     struct tb_wrapkey_entry *entry)
{
	size_t locator_len, key_id_len, wrapped_len, total;
	uint16_t version;
	int rc;

	memset(entry, 0, sizeof(*entry));
	if (len < TB_WRAPKEY_HEADER_LEN + TB_WRAPKEY_TAG_LEN) {
		tb_err("wrapkey: entry of %zu bytes is shorter than the "
		       "minimum %u", len,
		       TB_WRAPKEY_HEADER_LEN + TB_WRAPKEY_TAG_LEN);
		return TPMBOOT_E_WRAPKEY_TRUNCATED;
	}
	if (memcmp(buf, TB_WRAPKEY_MAGIC, 8) != 0) {
		tb_err("wrapkey: entry magic is not \"%s\"", TB_WRAPKEY_MAGIC);
		return TPMBOOT_E_WRAPKEY_MAGIC;
	}
	version = tb_load_le16(buf + 8);
	if (version != TB_WRAPKEY_VERSION) {
		tb_err("wrapkey: entry layout version %u, expected %u",
		       version, TB_WRAPKEY_VERSION);
		return TPMBOOT_E_WRAPKEY_VERSION;
	}

	locator_len = tb_load_le16(buf + 12);
	key_id_len = tb_load_le16(buf + 14);
	wrapped_len = tb_load_le16(buf + 16);
	total = TB_WRAPKEY_HEADER_LEN + locator_len + key_id_len +
		wrapped_len + TB_WRAPKEY_TAG_LEN;
	if (total != len) {
		tb_err("wrapkey: entry is %zu bytes but its fields need %zu",
		       len, total);
		return TPMBOOT_E_WRAPKEY_TRUNCATED;
	}
	if (tb_load_le16(buf + 18) != 0) {
		tb_err("wrapkey: reserved field is 0x%04x, not zero",
		       tb_load_le16(buf + 18));
		return TPMBOOT_E_WRAPKEY_FIELD;
	}

	entry->mode = (enum tb_wrap_mode)buf[10];
	entry->key1_len = buf[11];
	entry->locator = buf + TB_WRAPKEY_HEADER_LEN;
	entry->locator_len = locator_len;
	entry->key_id = entry->locator + locator_len;
	entry->key_id_len = key_id_len;
	entry->wrapped = entry->key_id + key_id_len;
	entry->wrapped_len = wrapped_len;
	entry->tag = entry->wrapped + wrapped_len;
	entry->raw = buf;
	entry->raw_len = len;

	rc = check_fields(entry->mode, entry->key1_len, entry->locator,
			  locator_len, entry->key_id, key_id_len, wrapped_len);
	if (rc != TPMBOOT_OK)
		memset(entry, 0, sizeof(*entry));
	return rc;
}

int tb_wrapkey_envelope_aad(const struct tb_wrapkey_entry *entry,
			    const struct tb_wrapkey_image_id *image,
			    uint8_t *aad, size_t cap, size_t *aad_len)
{
	size_t prefix = TB_WRAPKEY_HEADER_LEN + entry->locator_len +
			entry->key_id_len;
	size_t len = prefix + 1 + image->salt_len + TB_WRAPKEY_LAYOUT_LEN;

	*aad_len = 0;
	if (cap < len)
		return TPMBOOT_E_BUFFER_TOO_SMALL;
	memcpy(aad, entry->raw, prefix);
	aad[prefix] = (uint8_t)image->salt_len;
	memcpy(aad + prefix + 1, image->salt, image->salt_len);
	memcpy(aad + prefix + 1 + image->salt_len, image->layout,
	       TB_WRAPKEY_LAYOUT_LEN);
	*aad_len = len;
	return TPMBOOT_OK;
}

/* HMAC over the entry with its tag zeroed, then the image identity. */
static int compute_tag(const uint8_t *raw, size_t raw_len,
		       const struct tb_wrapkey_image_id *image,
		       const uint8_t *key1, size_t key1_len, uint8_t tag[32])
{
	static const uint8_t zero_tag[TB_WRAPKEY_TAG_LEN];
	uint8_t tag_key[32];
	uint8_t salt_len = (uint8_t)image->salt_len;
	struct tb_hmac_ctx hmac;
	int rc;

	rc = tb_kdfa(TB_HASH_SHA256, key1, key1_len, tag_label,
		     sizeof(tag_label) - 1, image->salt, image->salt_len, 256,
		     tag_key, sizeof(tag_key));
	if (rc == TPMBOOT_OK)
		rc = tb_hmac_init(&hmac, TB_HASH_SHA256, tag_key,
				  sizeof(tag_key));
	tb_memzero(tag_key, sizeof(tag_key));
	if (rc != TPMBOOT_OK)
		return rc;

	tb_hmac_update(&hmac, raw, raw_len - TB_WRAPKEY_TAG_LEN);
	tb_hmac_update(&hmac, zero_tag, sizeof(zero_tag));
	tb_hmac_update(&hmac, &salt_len, 1);
	tb_hmac_update(&hmac, image->salt, image->salt_len);
	tb_hmac_update(&hmac, image->layout, TB_WRAPKEY_LAYOUT_LEN);
	tb_hmac_final(&hmac, tag);
	return TPMBOOT_OK;
}

int tb_wrapkey_verify(const struct tb_wrapkey_entry *entry,
		      const struct tb_wrapkey_image_id *image,
		      const uint8_t *key1, size_t key1_len)
{
	uint8_t tag[TB_WRAPKEY_TAG_LEN];
	int rc;

	if (key1_len != entry->key1_len) {
		tb_err("wrapkey: Key1 is %zu bytes, the entry says %u",
		       key1_len, entry->key1_len);
		return TPMBOOT_E_WRAPKEY_FIELD;
	}
	rc = compute_tag(entry->raw, entry->raw_len, image, key1, key1_len,
			 tag);
	if (rc != TPMBOOT_OK)
		return rc;
	if (!tb_ct_memeq(tag, entry->tag, sizeof(tag))) {
		tb_err("wrapkey: entry tag mismatch (mode %s, key id length "
		       "%zu): entry changed or wrong Key1",
		       tb_wrap_mode_name(entry->mode), entry->key_id_len);
		rc = TPMBOOT_E_WRAPKEY_TAG;
	}
	tb_memzero(tag, sizeof(tag));
	return rc;
}

int tb_wrapkey_encode(const struct tb_wrapkey_fields *fields,
		      const struct tb_wrapkey_image_id *image,
		      const uint8_t *key1, size_t key1_len, uint8_t *out,
		      size_t cap, size_t *out_len)
{
	size_t locator_len = strlen(fields->locator);
	size_t key_id_len = fields->key_id != NULL ? strlen(fields->key_id) : 0;
	size_t total;
	uint8_t *p;
	int rc;

	*out_len = 0;
	rc = check_fields(fields->mode, fields->key1_len,
			  (const uint8_t *)fields->locator, locator_len,
			  (const uint8_t *)fields->key_id, key_id_len,
			  fields->wrapped_len);
	if (rc != TPMBOOT_OK)
		return rc;
	total = TB_WRAPKEY_HEADER_LEN + locator_len + key_id_len +
		fields->wrapped_len + TB_WRAPKEY_TAG_LEN;
	if (cap < total)
		return TPMBOOT_E_BUFFER_TOO_SMALL;

	memcpy(out, TB_WRAPKEY_MAGIC, 8);
	tb_store_le16(out + 8, TB_WRAPKEY_VERSION);
	out[10] = (uint8_t)fields->mode;
	out[11] = fields->key1_len;
	tb_store_le16(out + 12, (uint16_t)locator_len);
	tb_store_le16(out + 14, (uint16_t)key_id_len);
	tb_store_le16(out + 16, (uint16_t)fields->wrapped_len);
	tb_store_le16(out + 18, 0);
	p = out + TB_WRAPKEY_HEADER_LEN;
	memcpy(p, fields->locator, locator_len);
	p += locator_len;
	if (key_id_len > 0)
		memcpy(p, fields->key_id, key_id_len);
	p += key_id_len;
	if (fields->wrapped_len > 0)
		memcpy(p, fields->wrapped, fields->wrapped_len);
	p += fields->wrapped_len;
	memset(p, 0, TB_WRAPKEY_TAG_LEN);

	if (key1 != NULL) {
		if (key1_len != fields->key1_len)
			return TPMBOOT_E_WRAPKEY_FIELD;
		rc = compute_tag(out, total, image, key1, key1_len, p);
		if (rc != TPMBOOT_OK)
			return rc;
	}
	*out_len = total;
	return TPMBOOT_OK;
}

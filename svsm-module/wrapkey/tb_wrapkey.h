/*
 * The wrapped-key entry: Key2 = wrap(Key1) and how to turn it back into
 * Key1, stored as a CocoonFs auxiliary metadata entry under
 * TPMBOOT_WRAPKEY_UUID. Layout version 1 (little-endian integers):
 *
 *   0    8  magic "TBWRAPKY"
 *   8    2  layout version, 1
 *   10   1  wrap mode (enum tb_wrap_mode)
 *   11   1  Key1 length in bytes, 16..64
 *   12   2  locator length L, 1..512
 *   14   2  key id length K, 0..128
 *   16   2  wrapped key length W, 0..1024
 *   18   2  reserved, zero
 *   20   L  locator (printable ASCII)
 *   ..   K  key id (printable ASCII)
 *   ..   W  wrapped key (Key2)
 *   ..  32  tag, HMAC-SHA-256
 *
 * The tag authenticates the entry and the image it belongs to: it is
 * HMAC-SHA-256 under KDFa(SHA-256, Key1, "svsm-tpmboot wrapped-key tag",
 * salt, 256) over the entry with the tag field zeroed, the salt length
 * byte, the salt and the 21-byte encoded image layout. docs/wrapped-key-entry.md
 * has the rationale.
 */
#ifndef TB_WRAPKEY_H
#define TB_WRAPKEY_H

#include <stddef.h>
#include <stdint.h>

#include "tpmboot.h"

#define TB_WRAPKEY_MAGIC "TBWRAPKY"
#define TB_WRAPKEY_VERSION 1u
#define TB_WRAPKEY_HEADER_LEN 20u
#define TB_WRAPKEY_TAG_LEN 32u
#define TB_WRAPKEY_LOCATOR_MAX 512u
#define TB_WRAPKEY_KEY_ID_MAX 128u
#define TB_WRAPKEY_WRAPPED_MAX 1024u
#define TB_WRAPKEY_KEY1_MIN 16u
#define TB_WRAPKEY_KEY1_MAX 64u
#define TB_WRAPKEY_MAX_LEN                                                  \
	(TB_WRAPKEY_HEADER_LEN + TB_WRAPKEY_LOCATOR_MAX +                   \
	 TB_WRAPKEY_KEY_ID_MAX + TB_WRAPKEY_WRAPPED_MAX + TB_WRAPKEY_TAG_LEN)
/* Length of the CocoonFs encoded image layout (static header 9..29). */
#define TB_WRAPKEY_LAYOUT_LEN 21u

enum tb_wrap_mode {
	/* Key2 = IV (12) || AES-256-GCM(KEK, Key1) || tag (16), with
	 * tb_wrapkey_envelope_aad() as AAD. Only the KBS has the KEK. */
	TB_WRAP_MODE_KBS_UNWRAP = 1,
	/* Key2 = RSA-OAEP ciphertext of Key1 from Trustee's pkcs11 plugin. */
	TB_WRAP_MODE_TRUSTEE_PKCS11 = 2,
	/* No Key2: Key1 is the KBS resource named by the locator. */
	TB_WRAP_MODE_RESOURCE = 3,
};

/* Envelope size for kbs-unwrap: IV, ciphertext of Key1, GCM tag. */
#define TB_WRAPKEY_ENVELOPE_LEN(key1_len) (12u + (key1_len) + 16u)

/* A parsed entry. The pointers point into the buffer given to
 * tb_wrapkey_parse(), which must outlive the structure. */
struct tb_wrapkey_entry {
	enum tb_wrap_mode mode;
	uint8_t key1_len;
	const uint8_t *locator;
	size_t locator_len;
	const uint8_t *key_id;
	size_t key_id_len;
	const uint8_t *wrapped;
	size_t wrapped_len;
	const uint8_t *tag;
	const uint8_t *raw; /* the whole entry */
	size_t raw_len;
};

/* The image an entry belongs to: the CocoonFs salt and encoded layout. */
struct tb_wrapkey_image_id {
	const uint8_t *salt;
	size_t salt_len; /* 0..255 */
	uint8_t layout[TB_WRAPKEY_LAYOUT_LEN];
};

/*
 * Parses and checks an entry's structure (magic, version, lengths, mode,
 * printable locator and key id, reserved field, wrapped length fitting the
 * mode). It does not check the tag, which needs Key1.
 */
int tb_wrapkey_parse(const uint8_t *buf, size_t len,
		     struct tb_wrapkey_entry *entry);

/*
 * Writes the additional data of the kbs-unwrap envelope: the entry's
 * header, locator and key id, then the salt length byte, the salt and
 * the layout. Returns TPMBOOT_E_BUFFER_TOO_SMALL when cap is too small.
 */
int tb_wrapkey_envelope_aad(const struct tb_wrapkey_entry *entry,
			    const struct tb_wrapkey_image_id *image,
			    uint8_t *aad, size_t cap, size_t *aad_len);

/*
 * Checks the entry's tag with Key1 in constant time. Returns 0,
 * TPMBOOT_E_WRAPKEY_TAG, or TPMBOOT_E_WRAPKEY_FIELD when key1_len differs
 * from the entry's Key1 length.
 */
int tb_wrapkey_verify(const struct tb_wrapkey_entry *entry,
		      const struct tb_wrapkey_image_id *image,
		      const uint8_t *key1, size_t key1_len);

/* Fields of a new entry for tb_wrapkey_encode(). */
struct tb_wrapkey_fields {
	enum tb_wrap_mode mode;
	uint8_t key1_len;
	const char *locator;
	const char *key_id; /* NULL for none */
	const uint8_t *wrapped;
	size_t wrapped_len;
};

/*
 * Encodes an entry into out (up to cap bytes; TB_WRAPKEY_MAX_LEN always
 * suffices) with the tag computed from Key1. When key1 is NULL the tag is
 * left zero, for the kbs-unwrap builder that needs the envelope's AAD
 * before it has Key2; it calls this again with the final fields.
 */
int tb_wrapkey_encode(const struct tb_wrapkey_fields *fields,
		      const struct tb_wrapkey_image_id *image,
		      const uint8_t *key1, size_t key1_len, uint8_t *out,
		      size_t cap, size_t *out_len);

/* Name of a wrap mode ("kbs-unwrap", "trustee-pkcs11", "resource"). */
const char *tb_wrap_mode_name(enum tb_wrap_mode mode);

#endif /* TB_WRAPKEY_H */

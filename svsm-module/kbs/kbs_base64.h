/*
 * Base64 (RFC 4648 section 4, with '=' padding) and base64url (section 5,
 * without padding, as JOSE uses it in RFC 7515 section 2).
 *
 * Decoding is strict: no whitespace, no characters of the other alphabet,
 * exact padding for base64, no padding for base64url, and the unused low
 * bits of the last character must be zero, so every byte string has exactly
 * one accepted encoding.
 */
#ifndef KBS_BASE64_H
#define KBS_BASE64_H

#include <stddef.h>
#include <stdint.h>

enum kbs_base64_alphabet {
	KBS_BASE64_STD = 0, /* "+/" with padding */
	KBS_BASE64_URL = 1, /* "-_" without padding */
};

/* Returns the encoded length (without a terminating NUL). */
size_t kbs_base64_encoded_len(enum kbs_base64_alphabet alphabet, size_t len);

/* Returns an upper bound of the decoded length of text_len characters. */
static inline size_t kbs_base64_decoded_max(size_t text_len)
{
	return (text_len / 4) * 3 + 3;
}

/*
 * Encodes len bytes into out and appends a NUL. out_cap must be at least
 * kbs_base64_encoded_len() + 1, else TPMBOOT_E_BUFFER_TOO_SMALL.
 */
int kbs_base64_encode(enum kbs_base64_alphabet alphabet, const uint8_t *in,
		      size_t len, char *out, size_t out_cap);

/*
 * Decodes text_len characters. Returns TPMBOOT_E_KBS_BASE64 for any
 * non-canonical or invalid input and TPMBOOT_E_BUFFER_TOO_SMALL when the
 * output does not fit. On error out is wiped, because it may hold key
 * material.
 */
int kbs_base64_decode(enum kbs_base64_alphabet alphabet, const char *text,
		      size_t text_len, uint8_t *out, size_t out_cap,
		      size_t *out_len);

#endif /* KBS_BASE64_H */

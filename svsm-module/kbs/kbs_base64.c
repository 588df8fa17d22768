/*
 * Strict base64 and base64url codecs (RFC 4648 sections 4 and 5).
 */
#include <string.h>

#include "core/tb_core.h"
#include "kbs/kbs_base64.h"

static const char std_chars[64] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char url_chars[64] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t kbs_base64_encoded_len(enum kbs_base64_alphabet alphabet, size_t len)
{
	if (alphabet == KBS_BASE64_STD)
		return ((len + 2) / 3) * 4;
	return (len / 3) * 4 + ((len % 3) ? (len % 3) + 1 : 0);
}

int kbs_base64_encode(enum kbs_base64_alphabet alphabet, const uint8_t *in,
		      size_t len, char *out, size_t out_cap)
{
	const char *chars = alphabet == KBS_BASE64_STD ? std_chars : url_chars;
	size_t need = kbs_base64_encoded_len(alphabet, len);
	size_t i, o = 0;

	if (out_cap < need + 1)
		return TPMBOOT_E_BUFFER_TOO_SMALL;

	for (i = 0; i + 3 <= len; i += 3) {
		uint32_t v = ((uint32_t)in[i] << 16) | ((uint32_t)in[i + 1] << 8) |
			     in[i + 2];

		out[o++] = chars[(v >> 18) & 63];
		out[o++] = chars[(v >> 12) & 63];
		out[o++] = chars[(v >> 6) & 63];
		out[o++] = chars[v & 63];
	}

	if (len - i == 1) {
		uint32_t v = (uint32_t)in[i] << 16;

		out[o++] = chars[(v >> 18) & 63];
		out[o++] = chars[(v >> 12) & 63];
		if (alphabet == KBS_BASE64_STD) {
			out[o++] = '=';
			out[o++] = '=';
		}
	} else if (len - i == 2) {
		uint32_t v = ((uint32_t)in[i] << 16) | ((uint32_t)in[i + 1] << 8);

		out[o++] = chars[(v >> 18) & 63];
		out[o++] = chars[(v >> 12) & 63];
		out[o++] = chars[(v >> 6) & 63];
		if (alphabet == KBS_BASE64_STD)
			out[o++] = '=';
	}

	out[o] = '\0';
	return 0;
}

/* Maps one character to its 6-bit value, or -1 outside the alphabet. */
static int decode_char(enum kbs_base64_alphabet alphabet, unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (alphabet == KBS_BASE64_STD) {
		if (c == '+')
			return 62;
		if (c == '/')
			return 63;
	} else {
		if (c == '-')
			return 62;
		if (c == '_')
			return 63;
	}
	return -1;
}

static int fail(uint8_t *out, size_t out_cap, int error, size_t pos)
{
	if (out)
		tb_memzero(out, out_cap);
	if (error == TPMBOOT_E_KBS_BASE64)
		tb_err("kbs: invalid base64 text at character %zu", pos);
	else
		tb_err("kbs: base64 output buffer of %zu bytes too small", out_cap);
	return error;
}

int kbs_base64_decode(enum kbs_base64_alphabet alphabet, const char *text,
		      size_t text_len, uint8_t *out, size_t out_cap,
		      size_t *out_len)
{
	size_t data_len = text_len, tail, need, i, o = 0;
	uint32_t acc = 0;
	int bits = 0;

	/* Find the data characters: base64 pads to a multiple of 4 with at
	 * most two '='; base64url has no padding. */
	if (alphabet == KBS_BASE64_STD) {
		if (text_len % 4 != 0)
			return fail(out, out_cap, TPMBOOT_E_KBS_BASE64, text_len);
		if (data_len > 0 && text[data_len - 1] == '=')
			data_len--;
		if (data_len > 0 && text[data_len - 1] == '=')
			data_len--;
	}
	tail = data_len % 4;
	if (tail == 1)
		return fail(out, out_cap, TPMBOOT_E_KBS_BASE64, data_len);

	need = (data_len / 4) * 3 + (tail ? tail - 1 : 0);
	if (need > out_cap)
		return fail(out, out_cap, TPMBOOT_E_BUFFER_TOO_SMALL, 0);

	for (i = 0; i < data_len; i++) {
		int v = decode_char(alphabet, (unsigned char)text[i]);

		if (v < 0)
			return fail(out, out_cap, TPMBOOT_E_KBS_BASE64, i);
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (uint8_t)(acc >> bits);
		}
	}

	/* The leftover 2 or 4 bits of the last character must be zero
	 * (RFC 4648 section 3.5), else two texts would decode alike. */
	if (bits > 0 && (acc & ((1u << bits) - 1)) != 0)
		return fail(out, out_cap, TPMBOOT_E_KBS_BASE64, data_len - 1);

	acc = 0;
	*out_len = o;
	return 0;
}

/*
 * RFC 8785 JSON Canonicalization Scheme (JCS) over a parsed document.
 *
 * Trustee computes the REPORT_DATA binding as SHA-384 over the JCS form of
 * the runtime data (serde_json_canonicalizer in its attestation service),
 * so this output must match that implementation byte for byte.
 */
#include <string.h>

#include "core/tb_core.h"
#include "kbs/kbs_jcs_number.h"
#include "kbs/kbs_json.h"

/* Decimal exponents of the first significant digit beyond which no
 * normal double exists (about 2.2e-308 to 1.8e308); checked before any
 * big-integer work. */
#define JCS_MIN_EXP10 (-309)
#define JCS_MAX_EXP10 308

static void set_error(struct kbs_json_writer *w, int error)
{
	if (!w->error)
		w->error = error;
}

/* Logs the first 40 characters of a number that cannot be canonicalised. */
static void show_number(const char *text, size_t len, const char *reason)
{
	char shown[41];

	if (len > 40)
		len = 40;
	memcpy(shown, text, len);
	shown[len] = '\0';
	tb_err("kbs: JSON number %s cannot be canonicalised: %s", shown,
	       reason);
}

/*
 * Reads the number grammar that the parser already checked into sign and
 * decimal (digits without leading or trailing zeros, and exponent).
 * Returns 0 for zero (including negative zero), 1 for a nonzero value,
 * or TPMBOOT_E_KBS_JSON_NUMBER with a reason.
 */
static int read_decimal(const char *text, size_t len, int *negative,
			struct kbs_decimal *d, const char **reason)
{
	size_t i = 0, exp_digits = 0;
	long exp10 = 0, point = 0;
	int after_point = 0, exp_negative = 0;

	memset(d, 0, sizeof(*d));
	*negative = len > 0 && text[0] == '-';
	if (*negative)
		i++;

	/* Digits: skip leading zeros; point counts the integer digits
	 * kept (negative when zeros follow the decimal point). */
	for (; i < len && text[i] != 'e' && text[i] != 'E'; i++) {
		char c = text[i];

		if (c == '.') {
			after_point = 1;
			continue;
		}
		if (c == '0' && d->count == 0) {
			if (after_point)
				point--;
			continue;
		}
		if (!after_point)
			point++;
		if (d->count == KBS_DECIMAL_MAX_DIGITS) {
			if (c != '0') {
				*reason = "more than 40 significant digits";
				return TPMBOOT_E_KBS_JSON_NUMBER;
			}
			continue;
		}
		d->digits[d->count++] = c;
	}

	if (i < len) {
		i++;
		if (text[i] == '+' || text[i] == '-')
			exp_negative = text[i++] == '-';
		for (; i < len; i++) {
			if (exp_digits == 0 && text[i] == '0')
				continue;
			if (++exp_digits > 6) {
				*reason = "outside the normal double range";
				return TPMBOOT_E_KBS_JSON_NUMBER;
			}
			exp10 = exp10 * 10 + (text[i] - '0');
		}
		if (exp_negative)
			exp10 = -exp10;
	}

	if (d->count == 0)
		return 0;
	while (d->digits[d->count - 1] == '0')
		d->count--;

	/* The value is 0.D x 10^(point + exp10), so its first digit has
	 * exponent point + exp10 - 1. */
	if (point + exp10 - 1 < JCS_MIN_EXP10 || point + exp10 - 1 > JCS_MAX_EXP10) {
		*reason = "outside the normal double range";
		return TPMBOOT_E_KBS_JSON_NUMBER;
	}
	d->exp10 = point + exp10 - (long)d->count;
	return 1;
}

/*
 * Writes a JSON number in ECMAScript Number::toString form (ECMA-262,
 * section 6.1.6.1.20, which RFC 8785 section 3.2.2.3 adopts): the shortest
 * decimal that rounds to the same double, with k digits and the value
 * 0.D x 10^n placed as that algorithm describes.
 */
static void write_number(struct kbs_json_writer *w, const char *text,
			 size_t len)
{
	struct kbs_decimal in, d;
	char out[KBS_DECIMAL_MAX_DIGITS + 32];
	const char *reason = "";
	long n, k;
	size_t o = 0;
	int negative, rc;

	rc = read_decimal(text, len, &negative, &in, &reason);
	if (rc == 0) {
		kbs_json_writer_append(w, "0", 1);
		return;
	}
	if (rc == 1) {
		rc = kbs_decimal_shortest(&in, &d);
		reason = "outside the normal double range";
	}
	if (rc) {
		show_number(text, len, reason);
		set_error(w, rc);
		return;
	}

	k = (long)d.count;
	n = d.exp10 + k;
	if (negative)
		out[o++] = '-';
	if (k <= n && n <= 21) {
		memcpy(out + o, d.digits, (size_t)k);
		o += (size_t)k;
		for (; k < n; n--)
			out[o++] = '0';
	} else if (0 < n && n <= 21) {
		memcpy(out + o, d.digits, (size_t)n);
		o += (size_t)n;
		out[o++] = '.';
		memcpy(out + o, d.digits + n, (size_t)(k - n));
		o += (size_t)(k - n);
	} else if (-6 < n && n <= 0) {
		out[o++] = '0';
		out[o++] = '.';
		for (; n < 0; n++)
			out[o++] = '0';
		memcpy(out + o, d.digits, (size_t)k);
		o += (size_t)k;
	} else {
		long e = n - 1;

		out[o++] = d.digits[0];
		if (k > 1) {
			out[o++] = '.';
			memcpy(out + o, d.digits + 1, (size_t)(k - 1));
			o += (size_t)(k - 1);
		}
		o += (size_t)tb_snprintf(out + o, sizeof(out) - o, "e%c%ld",
					 e < 0 ? '-' : '+', e < 0 ? -e : e);
	}
	kbs_json_writer_append(w, out, o);
}

/* Returns the next UTF-16 code unit of s and advances; *pending carries
 * the low surrogate of a supplementary character. */
static uint32_t next_utf16_unit(const uint8_t **s, const uint8_t *end,
				uint32_t *pending)
{
	uint32_t cp;
	size_t n;

	if (*pending) {
		cp = *pending;
		*pending = 0;
		return cp;
	}
	n = kbs_utf8_decode(*s, (size_t)(end - *s), &cp);
	if (n == 0) {
		/* Names come from the parser, which validated them. */
		cp = **s;
		n = 1;
	}
	*s += n;
	if (cp < 0x10000)
		return cp;
	cp -= 0x10000;
	*pending = 0xDC00 + (cp & 0x3FF);
	return 0xD800 + (cp >> 10);
}

/* Compares two member names as UTF-16 code-unit strings (RFC 8785
 * section 3.2.3); returns <0, 0 or >0. */
static int compare_names(const struct kbs_json_doc *doc, kbs_json_ref a,
			 kbs_json_ref b)
{
	const uint8_t *sa = (const uint8_t *)kbs_json_name(doc, a);
	const uint8_t *sb = (const uint8_t *)kbs_json_name(doc, b);
	const uint8_t *ea = sa + doc->values[a].name_len;
	const uint8_t *eb = sb + doc->values[b].name_len;
	uint32_t pa = 0, pb = 0;

	while ((sa < ea || pa) && (sb < eb || pb)) {
		uint32_t ua = next_utf16_unit(&sa, ea, &pa);
		uint32_t ub = next_utf16_unit(&sb, eb, &pb);

		if (ua != ub)
			return ua < ub ? -1 : 1;
	}
	if (sa < ea || pa)
		return 1;
	if (sb < eb || pb)
		return -1;
	return 0;
}

static void write_object(struct kbs_json_writer *w,
			 const struct kbs_json_doc *doc, kbs_json_ref ref)
{
	const struct kbs_json_value *v = &doc->values[ref];
	kbs_json_ref *order, r;
	uint32_t i, j;

	kbs_json_writer_append(w, "{", 1);
	if (v->count == 0) {
		kbs_json_writer_append(w, "}", 1);
		return;
	}

	order = tb_alloc((size_t)v->count * sizeof(*order));
	if (!order) {
		tb_err("kbs: no memory to sort %u JSON members",
		       (unsigned)v->count);
		set_error(w, TPMBOOT_E_NO_MEMORY);
		return;
	}

	/* Insertion sort: objects in KBS messages have a handful of members. */
	for (i = 0, r = v->first; r != KBS_JSON_NONE; r = doc->values[r].next) {
		for (j = i; j > 0 && compare_names(doc, order[j - 1], r) > 0; j--)
			order[j] = order[j - 1];
		order[j] = r;
		i++;
	}

	for (i = 0; i < v->count && !w->error; i++) {
		if (i > 0)
			kbs_json_writer_append(w, ",", 1);
		kbs_json_writer_append_string(w, kbs_json_name(doc, order[i]),
					      doc->values[order[i]].name_len);
		kbs_json_writer_append(w, ":", 1);
		kbs_jcs_write(w, doc, order[i]);
	}
	kbs_json_writer_append(w, "}", 1);
	tb_free(order);
}

void kbs_jcs_write(struct kbs_json_writer *w, const struct kbs_json_doc *doc,
		   kbs_json_ref ref)
{
	const struct kbs_json_value *v = &doc->values[ref];
	kbs_json_ref r;

	if (w->error)
		return;

	switch (v->type) {
	case KBS_JSON_NULL:
		kbs_json_writer_append(w, "null", 4);
		break;
	case KBS_JSON_TRUE:
		kbs_json_writer_append(w, "true", 4);
		break;
	case KBS_JSON_FALSE:
		kbs_json_writer_append(w, "false", 5);
		break;
	case KBS_JSON_NUMBER:
		write_number(w, kbs_json_text(doc, ref), v->text_len);
		break;
	case KBS_JSON_STRING:
		kbs_json_writer_append_string(w, kbs_json_text(doc, ref),
					      v->text_len);
		break;
	case KBS_JSON_ARRAY:
		kbs_json_writer_append(w, "[", 1);
		for (r = v->first; r != KBS_JSON_NONE && !w->error;
		     r = doc->values[r].next) {
			if (r != v->first)
				kbs_json_writer_append(w, ",", 1);
			kbs_jcs_write(w, doc, r);
		}
		kbs_json_writer_append(w, "]", 1);
		break;
	case KBS_JSON_OBJECT:
		write_object(w, doc, ref);
		break;
	}
}

int kbs_jcs_canonicalize(const char *text, size_t len, char **out,
			 size_t *out_len)
{
	struct kbs_json_writer w;
	struct kbs_json_doc doc;
	int rc;

	rc = kbs_json_parse(text, len, NULL, &doc);
	if (rc)
		return rc;

	/* Canonical text can grow past its source (escaped control
	 * characters, expanded exponents); 2x plus slack bounds the growth
	 * except for exponent expansion, which is limited to 21 digits. */
	kbs_json_writer_init(&w, 2 * len + 64);
	kbs_jcs_write(&w, &doc, 0);
	kbs_json_free(&doc);
	return kbs_json_writer_finish(&w, out, out_len);
}

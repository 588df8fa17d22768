/*
 * Compact JSON writer with RFC 8785 string escaping.
 */
#include <string.h>

#include "core/tb_core.h"
#include "kbs/kbs_base64.h"
#include "kbs/kbs_json.h"

void kbs_json_writer_init(struct kbs_json_writer *w, size_t max_len)
{
	memset(w, 0, sizeof(*w));
	w->max_len = max_len;
}

static void set_error(struct kbs_json_writer *w, int error)
{
	if (!w->error)
		w->error = error;
}

/* Makes room for n more bytes plus a NUL. */
static int reserve(struct kbs_json_writer *w, size_t n)
{
	size_t cap;
	char *buf;

	if (w->error)
		return w->error;
	if (n > w->max_len || w->len + n > w->max_len) {
		tb_err("kbs: JSON output exceeds the limit of %zu bytes",
		       w->max_len);
		set_error(w, TPMBOOT_E_KBS_JSON_TOO_LARGE);
		return w->error;
	}
	if (w->len + n + 1 <= w->cap)
		return 0;

	cap = w->cap ? w->cap : 256;
	while (cap < w->len + n + 1)
		cap *= 2;
	buf = tb_alloc(cap);
	if (!buf) {
		tb_err("kbs: no memory for %zu bytes of JSON output", cap);
		set_error(w, TPMBOOT_E_NO_MEMORY);
		return w->error;
	}
	if (w->buf) {
		memcpy(buf, w->buf, w->len);
		tb_free_secret(w->buf, w->cap);
	}
	w->buf = buf;
	w->cap = cap;
	return 0;
}

void kbs_json_writer_append(struct kbs_json_writer *w, const char *s,
			    size_t len)
{
	if (reserve(w, len))
		return;
	memcpy(w->buf + w->len, s, len);
	w->len += len;
	w->buf[w->len] = '\0';
}

static void append_char(struct kbs_json_writer *w, char c)
{
	kbs_json_writer_append(w, &c, 1);
}

void kbs_json_writer_append_string(struct kbs_json_writer *w, const char *s,
				   size_t len)
{
	static const char hex[] = "0123456789abcdef";
	const uint8_t *u = (const uint8_t *)s;
	size_t i = 0;

	append_char(w, '"');
	while (i < len && !w->error) {
		uint32_t cp;
		size_t n;
		char esc[6];

		if (u[i] >= 0x20 && u[i] != '"' && u[i] != '\\') {
			n = kbs_utf8_decode(u + i, len - i, &cp);
			if (n == 0) {
				tb_err("kbs: JSON writer input has invalid UTF-8 at byte %zu",
				       i);
				set_error(w, TPMBOOT_E_KBS_JSON_UTF8);
				return;
			}
			kbs_json_writer_append(w, s + i, n);
			i += n;
			continue;
		}

		/* RFC 8785 section 3.2.2.2: short escapes where JSON has
		 * them, \u00xx in lower case for other control characters. */
		esc[0] = '\\';
		switch (u[i]) {
		case '"': esc[1] = '"'; n = 2; break;
		case '\\': esc[1] = '\\'; n = 2; break;
		case '\b': esc[1] = 'b'; n = 2; break;
		case '\f': esc[1] = 'f'; n = 2; break;
		case '\n': esc[1] = 'n'; n = 2; break;
		case '\r': esc[1] = 'r'; n = 2; break;
		case '\t': esc[1] = 't'; n = 2; break;
		default:
			esc[1] = 'u';
			esc[2] = '0';
			esc[3] = '0';
			esc[4] = hex[u[i] >> 4];
			esc[5] = hex[u[i] & 15];
			n = 6;
			break;
		}
		kbs_json_writer_append(w, esc, n);
		i++;
	}
	append_char(w, '"');
}

/* Writes the separator that precedes a value or member name. */
static void before_value(struct kbs_json_writer *w)
{
	if (w->after_name) {
		w->after_name = 0;
		return;
	}
	if (w->need_comma[w->depth])
		append_char(w, ',');
	w->need_comma[w->depth] = 1;
}

static void open_container(struct kbs_json_writer *w, char c)
{
	before_value(w);
	if (w->depth >= KBS_JSON_WRITER_MAX_DEPTH) {
		tb_err("kbs: JSON writer nesting exceeds %u",
		       KBS_JSON_WRITER_MAX_DEPTH);
		set_error(w, TPMBOOT_E_KBS_JSON_DEPTH);
		return;
	}
	append_char(w, c);
	w->depth++;
	w->need_comma[w->depth] = 0;
}

static void close_container(struct kbs_json_writer *w, char c)
{
	if (w->depth == 0 || w->after_name) {
		tb_err("kbs: JSON writer closed a container it did not open");
		set_error(w, TPMBOOT_E_INTERNAL);
		return;
	}
	w->depth--;
	append_char(w, c);
}

void kbs_json_begin_object(struct kbs_json_writer *w)
{
	open_container(w, '{');
}

void kbs_json_end_object(struct kbs_json_writer *w)
{
	close_container(w, '}');
}

void kbs_json_begin_array(struct kbs_json_writer *w)
{
	open_container(w, '[');
}

void kbs_json_end_array(struct kbs_json_writer *w)
{
	close_container(w, ']');
}

void kbs_json_name_put(struct kbs_json_writer *w, const char *name)
{
	before_value(w);
	kbs_json_writer_append_string(w, name, strlen(name));
	append_char(w, ':');
	w->after_name = 1;
}

void kbs_json_string_n(struct kbs_json_writer *w, const char *s, size_t len)
{
	before_value(w);
	kbs_json_writer_append_string(w, s, len);
}

void kbs_json_string(struct kbs_json_writer *w, const char *s)
{
	kbs_json_string_n(w, s, strlen(s));
}

void kbs_json_u64(struct kbs_json_writer *w, uint64_t v)
{
	char digits[21];
	size_t n = sizeof(digits);

	do {
		digits[--n] = (char)('0' + v % 10);
		v /= 10;
	} while (v);

	before_value(w);
	kbs_json_writer_append(w, digits + n, sizeof(digits) - n);
}

void kbs_json_bool(struct kbs_json_writer *w, int v)
{
	before_value(w);
	if (v)
		kbs_json_writer_append(w, "true", 4);
	else
		kbs_json_writer_append(w, "false", 5);
}

void kbs_json_null(struct kbs_json_writer *w)
{
	before_value(w);
	kbs_json_writer_append(w, "null", 4);
}

void kbs_json_raw(struct kbs_json_writer *w, const char *text, size_t len)
{
	before_value(w);
	kbs_json_writer_append(w, text, len);
}

void kbs_json_base64(struct kbs_json_writer *w, int url, const uint8_t *data,
		     size_t len)
{
	enum kbs_base64_alphabet a = url ? KBS_BASE64_URL : KBS_BASE64_STD;
	size_t n = kbs_base64_encoded_len(a, len);

	before_value(w);
	append_char(w, '"');
	if (reserve(w, n))
		return;
	if (kbs_base64_encode(a, data, len, w->buf + w->len, w->cap - w->len)) {
		set_error(w, TPMBOOT_E_INTERNAL);
		return;
	}
	w->len += n;
	append_char(w, '"');
}

void kbs_json_byte_array(struct kbs_json_writer *w, const uint8_t *data,
			 size_t len)
{
	size_t i;

	kbs_json_begin_array(w);
	for (i = 0; i < len && !w->error; i++)
		kbs_json_u64(w, data[i]);
	kbs_json_end_array(w);
}

int kbs_json_writer_finish(struct kbs_json_writer *w, char **out,
			   size_t *out_len)
{
	if (!w->error && (w->depth != 0 || w->after_name)) {
		tb_err("kbs: JSON writer finished inside an open container");
		set_error(w, TPMBOOT_E_INTERNAL);
	}
	if (!w->error && !w->buf)
		reserve(w, 0);
	if (w->error) {
		int error = w->error;

		kbs_json_writer_abort(w);
		return error;
	}
	*out = w->buf;
	*out_len = w->len;
	w->buf = NULL;
	w->cap = 0;
	return 0;
}

void kbs_json_writer_abort(struct kbs_json_writer *w)
{
	if (w->buf)
		tb_free_secret(w->buf, w->cap);
	w->buf = NULL;
	w->cap = 0;
	w->len = 0;
}

/*
 * Strict JSON parser (RFC 8259) building a flat value array.
 */
#include <string.h>

#include "core/tb_core.h"
#include "kbs/kbs_json.h"
#include "kbs/kbs_text.h"

const struct kbs_json_limits kbs_json_default_limits = {
	.max_text = 64 * 1024,
	.max_depth = 16,
	.max_values = 4096,
};

struct parser {
	const uint8_t *text;
	size_t len;
	size_t pos;
	const struct kbs_json_limits *limits;
	struct kbs_json_doc *doc;
	uint32_t depth;
};

static int parse_value(struct parser *p, kbs_json_ref *out);

static int syntax_error(struct parser *p, const char *problem)
{
	tb_err("kbs: invalid JSON at byte %zu: %s", p->pos, problem);
	return TPMBOOT_E_KBS_JSON_SYNTAX;
}

static void skip_whitespace(struct parser *p)
{
	while (p->pos < p->len) {
		uint8_t c = p->text[p->pos];

		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			break;
		p->pos++;
	}
}

/* Appends a value of type and returns its index in *out. */
static int new_value(struct parser *p, uint8_t type, kbs_json_ref *out)
{
	struct kbs_json_doc *doc = p->doc;
	struct kbs_json_value *v;

	if (doc->value_count >= p->limits->max_values) {
		tb_err("kbs: JSON has more than %u values",
		       (unsigned)p->limits->max_values);
		return TPMBOOT_E_KBS_JSON_TOO_LARGE;
	}

	if (doc->value_count == doc->value_cap) {
		uint32_t cap = doc->value_cap ? doc->value_cap * 2 : 32;
		struct kbs_json_value *values;

		if (cap > p->limits->max_values)
			cap = p->limits->max_values;
		values = tb_alloc((size_t)cap * sizeof(*values));
		if (!values) {
			tb_err("kbs: no memory for %u JSON values", (unsigned)cap);
			return TPMBOOT_E_NO_MEMORY;
		}
		if (doc->values) {
			memcpy(values, doc->values,
			       doc->value_count * sizeof(*values));
			tb_free(doc->values);
		}
		doc->values = values;
		doc->value_cap = cap;
	}

	v = &doc->values[doc->value_count];
	memset(v, 0, sizeof(*v));
	v->type = type;
	v->next = KBS_JSON_NONE;
	v->first = KBS_JSON_NONE;
	*out = doc->value_count++;
	return 0;
}

size_t kbs_utf8_decode(const uint8_t *s, size_t len, uint32_t *cp)
{
	uint32_t c;
	size_t n, i;

	if (len == 0)
		return 0;
	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}

	if ((s[0] & 0xE0) == 0xC0) {
		n = 2;
		c = s[0] & 0x1F;
	} else if ((s[0] & 0xF0) == 0xE0) {
		n = 3;
		c = s[0] & 0x0F;
	} else if ((s[0] & 0xF8) == 0xF0) {
		n = 4;
		c = s[0] & 0x07;
	} else {
		return 0;
	}
	if (len < n)
		return 0;

	for (i = 1; i < n; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3F);
	}

	/* Reject overlong forms, UTF-16 surrogates and values past U+10FFFF
	 * (RFC 3629 section 3). */
	if ((n == 2 && c < 0x80) || (n == 3 && c < 0x800) ||
	    (n == 4 && c < 0x10000) || c > 0x10FFFF ||
	    (c >= 0xD800 && c <= 0xDFFF))
		return 0;

	*cp = c;
	return n;
}

static void pool_put_utf8(struct kbs_json_doc *doc, uint32_t cp)
{
	char *o = doc->pool + doc->pool_len;

	if (cp < 0x80) {
		o[0] = (char)cp;
		doc->pool_len += 1;
	} else if (cp < 0x800) {
		o[0] = (char)(0xC0 | (cp >> 6));
		o[1] = (char)(0x80 | (cp & 0x3F));
		doc->pool_len += 2;
	} else if (cp < 0x10000) {
		o[0] = (char)(0xE0 | (cp >> 12));
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		o[2] = (char)(0x80 | (cp & 0x3F));
		doc->pool_len += 3;
	} else {
		o[0] = (char)(0xF0 | (cp >> 18));
		o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
		o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
		o[3] = (char)(0x80 | (cp & 0x3F));
		doc->pool_len += 4;
	}
}

/* Reads the 4 hex digits of a \u escape at p->pos. */
static int read_hex4(struct parser *p, uint32_t *out)
{
	uint32_t v = 0;
	size_t i;

	if (p->len - p->pos < 4)
		return TPMBOOT_E_KBS_JSON_UTF8;
	for (i = 0; i < 4; i++) {
		uint8_t c = p->text[p->pos + i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (uint32_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (uint32_t)(c - 'A' + 10);
		else
			return TPMBOOT_E_KBS_JSON_UTF8;
	}
	p->pos += 4;
	*out = v;
	return 0;
}

/* Decodes one escape sequence after the backslash into the pool. A high
 * surrogate must be followed by a \u low surrogate (RFC 8259 section 7). */
static int parse_escape(struct parser *p)
{
	struct kbs_json_doc *doc = p->doc;
	uint32_t cp, low;
	uint8_t c;

	if (p->pos >= p->len)
		return TPMBOOT_E_KBS_JSON_UTF8;
	c = p->text[p->pos++];

	switch (c) {
	case '"': doc->pool[doc->pool_len++] = '"'; return 0;
	case '\\': doc->pool[doc->pool_len++] = '\\'; return 0;
	case '/': doc->pool[doc->pool_len++] = '/'; return 0;
	case 'b': doc->pool[doc->pool_len++] = '\b'; return 0;
	case 'f': doc->pool[doc->pool_len++] = '\f'; return 0;
	case 'n': doc->pool[doc->pool_len++] = '\n'; return 0;
	case 'r': doc->pool[doc->pool_len++] = '\r'; return 0;
	case 't': doc->pool[doc->pool_len++] = '\t'; return 0;
	case 'u': break;
	default: return TPMBOOT_E_KBS_JSON_UTF8;
	}

	if (read_hex4(p, &cp))
		return TPMBOOT_E_KBS_JSON_UTF8;
	if (cp >= 0xDC00 && cp <= 0xDFFF)
		return TPMBOOT_E_KBS_JSON_UTF8;
	if (cp >= 0xD800 && cp <= 0xDBFF) {
		if (p->len - p->pos < 2 || p->text[p->pos] != '\\' ||
		    p->text[p->pos + 1] != 'u')
			return TPMBOOT_E_KBS_JSON_UTF8;
		p->pos += 2;
		if (read_hex4(p, &low) || low < 0xDC00 || low > 0xDFFF)
			return TPMBOOT_E_KBS_JSON_UTF8;
		cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
	}

	pool_put_utf8(doc, cp);
	return 0;
}

/* Parses a string at p->pos (the opening quote) into the pool and returns
 * its offset and length. */
static int parse_string_raw(struct parser *p, uint32_t *offset, uint32_t *len)
{
	struct kbs_json_doc *doc = p->doc;
	size_t start = doc->pool_len;
	int rc;

	p->pos++;
	for (;;) {
		uint8_t c;
		uint32_t cp;
		size_t n;

		if (p->pos >= p->len)
			return syntax_error(p, "unterminated string");
		c = p->text[p->pos];

		if (c == '"') {
			p->pos++;
			break;
		}
		if (c == '\\') {
			p->pos++;
			rc = parse_escape(p);
			if (rc) {
				tb_err("kbs: invalid JSON escape near byte %zu",
				       p->pos);
				return rc;
			}
			continue;
		}
		if (c < 0x20) {
			tb_err("kbs: unescaped control character 0x%x in JSON string at byte %zu",
			       c, p->pos);
			return TPMBOOT_E_KBS_JSON_UTF8;
		}

		n = kbs_utf8_decode(p->text + p->pos, p->len - p->pos, &cp);
		if (n == 0) {
			tb_err("kbs: invalid UTF-8 in JSON string at byte %zu",
			       p->pos);
			return TPMBOOT_E_KBS_JSON_UTF8;
		}
		memcpy(doc->pool + doc->pool_len, p->text + p->pos, n);
		doc->pool_len += n;
		p->pos += n;
	}

	doc->pool[doc->pool_len++] = '\0';
	*offset = (uint32_t)start;
	*len = (uint32_t)(doc->pool_len - start - 1);
	return 0;
}

static int is_digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

/* Checks the number grammar of RFC 8259 section 6 and copies the text. */
static int parse_number(struct parser *p, kbs_json_ref ref)
{
	struct kbs_json_doc *doc = p->doc;
	size_t start = p->pos;

	if (p->pos < p->len && p->text[p->pos] == '-')
		p->pos++;
	if (p->pos >= p->len || !is_digit(p->text[p->pos]))
		return syntax_error(p, "number without digits");
	if (p->text[p->pos] == '0') {
		p->pos++;
		if (p->pos < p->len && is_digit(p->text[p->pos]))
			return syntax_error(p, "number with a leading zero");
	} else {
		while (p->pos < p->len && is_digit(p->text[p->pos]))
			p->pos++;
	}

	if (p->pos < p->len && p->text[p->pos] == '.') {
		p->pos++;
		if (p->pos >= p->len || !is_digit(p->text[p->pos]))
			return syntax_error(p, "number without fraction digits");
		while (p->pos < p->len && is_digit(p->text[p->pos]))
			p->pos++;
	}

	if (p->pos < p->len && (p->text[p->pos] == 'e' || p->text[p->pos] == 'E')) {
		p->pos++;
		if (p->pos < p->len &&
		    (p->text[p->pos] == '+' || p->text[p->pos] == '-'))
			p->pos++;
		if (p->pos >= p->len || !is_digit(p->text[p->pos]))
			return syntax_error(p, "number without exponent digits");
		while (p->pos < p->len && is_digit(p->text[p->pos]))
			p->pos++;
	}

	doc->values[ref].text_offset = (uint32_t)doc->pool_len;
	doc->values[ref].text_len = (uint32_t)(p->pos - start);
	memcpy(doc->pool + doc->pool_len, p->text + start, p->pos - start);
	doc->pool_len += p->pos - start;
	doc->pool[doc->pool_len++] = '\0';
	return 0;
}

static int parse_literal(struct parser *p, const char *word)
{
	size_t n = strlen(word);

	if (p->len - p->pos < n || memcmp(p->text + p->pos, word, n) != 0)
		return syntax_error(p, "unexpected character");
	p->pos += n;
	return 0;
}

/* Returns nonzero when object ref already has a member with this name. */
static int has_member(const struct kbs_json_doc *doc, kbs_json_ref object,
		      kbs_json_ref member)
{
	const struct kbs_json_value *m = &doc->values[member];
	kbs_json_ref r;

	for (r = doc->values[object].first; r != KBS_JSON_NONE && r != member;
	     r = doc->values[r].next) {
		const struct kbs_json_value *o = &doc->values[r];

		if (o->name_len == m->name_len &&
		    memcmp(doc->pool + o->name_offset,
			   doc->pool + m->name_offset, m->name_len) == 0)
			return 1;
	}
	return 0;
}

/* Parses an array or object at p->pos; close is ']' or '}'. */
static int parse_container(struct parser *p, kbs_json_ref ref, uint8_t close)
{
	struct kbs_json_doc *doc = p->doc;
	kbs_json_ref last = KBS_JSON_NONE;
	int rc;

	if (++p->depth > p->limits->max_depth) {
		tb_err("kbs: JSON nesting deeper than %u at byte %zu",
		       (unsigned)p->limits->max_depth, p->pos);
		return TPMBOOT_E_KBS_JSON_DEPTH;
	}
	p->pos++;
	skip_whitespace(p);

	if (p->pos < p->len && p->text[p->pos] == close) {
		p->pos++;
		p->depth--;
		return 0;
	}

	for (;;) {
		uint32_t name_offset = 0, name_len = 0;
		kbs_json_ref child;

		if (close == '}') {
			if (p->pos >= p->len || p->text[p->pos] != '"')
				return syntax_error(p, "expected a member name");
			rc = parse_string_raw(p, &name_offset, &name_len);
			if (rc)
				return rc;
			skip_whitespace(p);
			if (p->pos >= p->len || p->text[p->pos] != ':')
				return syntax_error(p, "expected ':'");
			p->pos++;
		}

		rc = parse_value(p, &child);
		if (rc)
			return rc;

		doc->values[child].name_offset = name_offset;
		doc->values[child].name_len = name_len;
		if (last == KBS_JSON_NONE)
			doc->values[ref].first = child;
		else
			doc->values[last].next = child;
		last = child;
		doc->values[ref].count++;

		if (close == '}' && has_member(doc, ref, child)) {
			char shown[KBS_PRINTABLE_MAX];

			tb_err("kbs: duplicate JSON member name \"%s\"",
			       kbs_printable(doc->pool + name_offset, name_len,
					     shown));
			return TPMBOOT_E_KBS_JSON_DUPLICATE_KEY;
		}

		skip_whitespace(p);
		if (p->pos >= p->len)
			return syntax_error(p, "unterminated array or object");
		if (p->text[p->pos] == close) {
			p->pos++;
			break;
		}
		if (p->text[p->pos] != ',')
			return syntax_error(p, "expected ',' or end of container");
		p->pos++;
		skip_whitespace(p);
	}

	p->depth--;
	return 0;
}

static int parse_value(struct parser *p, kbs_json_ref *out)
{
	struct kbs_json_value *v;
	kbs_json_ref ref;
	uint8_t c;
	int rc;

	skip_whitespace(p);
	if (p->pos >= p->len)
		return syntax_error(p, "missing value");
	c = p->text[p->pos];

	switch (c) {
	case '{':
		rc = new_value(p, KBS_JSON_OBJECT, &ref);
		if (!rc)
			rc = parse_container(p, ref, '}');
		break;
	case '[':
		rc = new_value(p, KBS_JSON_ARRAY, &ref);
		if (!rc)
			rc = parse_container(p, ref, ']');
		break;
	case '"':
		rc = new_value(p, KBS_JSON_STRING, &ref);
		if (!rc) {
			v = &p->doc->values[ref];
			rc = parse_string_raw(p, &v->text_offset, &v->text_len);
		}
		break;
	case 't':
		rc = new_value(p, KBS_JSON_TRUE, &ref);
		if (!rc)
			rc = parse_literal(p, "true");
		break;
	case 'f':
		rc = new_value(p, KBS_JSON_FALSE, &ref);
		if (!rc)
			rc = parse_literal(p, "false");
		break;
	case 'n':
		rc = new_value(p, KBS_JSON_NULL, &ref);
		if (!rc)
			rc = parse_literal(p, "null");
		break;
	default:
		if (c != '-' && !is_digit(c))
			return syntax_error(p, "unexpected character");
		rc = new_value(p, KBS_JSON_NUMBER, &ref);
		if (!rc)
			rc = parse_number(p, ref);
		break;
	}

	if (rc)
		return rc;
	*out = ref;
	return 0;
}

void kbs_json_free(struct kbs_json_doc *doc)
{
	if (doc->pool)
		tb_free_secret(doc->pool, doc->pool_cap);
	tb_free(doc->values);
	memset(doc, 0, sizeof(*doc));
}

int kbs_json_parse(const char *text, size_t len,
		   const struct kbs_json_limits *limits,
		   struct kbs_json_doc *doc)
{
	struct parser p;
	kbs_json_ref root;
	int rc;

	memset(doc, 0, sizeof(*doc));
	if (!limits)
		limits = &kbs_json_default_limits;
	if (len > limits->max_text) {
		tb_err("kbs: JSON text of %zu bytes exceeds the limit of %zu",
		       len, limits->max_text);
		return TPMBOOT_E_KBS_JSON_TOO_LARGE;
	}

	/* Every unescaped string or number copied into the pool, plus its
	 * NUL, is no longer than its source text plus one separator, so
	 * len + 2 bytes always suffice. */
	doc->pool_cap = len + 2;
	doc->pool = tb_alloc(doc->pool_cap);
	if (!doc->pool) {
		tb_err("kbs: no memory for a %zu-byte JSON text", len);
		doc->pool_cap = 0;
		return TPMBOOT_E_NO_MEMORY;
	}

	memset(&p, 0, sizeof(p));
	p.text = (const uint8_t *)text;
	p.len = len;
	p.limits = limits;
	p.doc = doc;

	rc = parse_value(&p, &root);
	if (!rc) {
		skip_whitespace(&p);
		if (p.pos != p.len)
			rc = syntax_error(&p, "text after the JSON value");
	}

	if (rc)
		kbs_json_free(doc);
	return rc;
}

kbs_json_ref kbs_json_member(const struct kbs_json_doc *doc, kbs_json_ref ref,
			     const char *name)
{
	size_t len = strlen(name);
	kbs_json_ref r;

	if (ref == KBS_JSON_NONE || doc->values[ref].type != KBS_JSON_OBJECT)
		return KBS_JSON_NONE;

	for (r = doc->values[ref].first; r != KBS_JSON_NONE;
	     r = doc->values[r].next) {
		const struct kbs_json_value *v = &doc->values[r];

		if (v->name_len == len &&
		    memcmp(doc->pool + v->name_offset, name, len) == 0)
			return r;
	}
	return KBS_JSON_NONE;
}

static int schema_member(const struct kbs_json_doc *doc, kbs_json_ref ref,
			 const char *name, kbs_json_ref *out)
{
	*out = kbs_json_member(doc, ref, name);
	if (*out == KBS_JSON_NONE) {
		tb_err("kbs: JSON message lacks member \"%s\"", name);
		return TPMBOOT_E_KBS_JSON_SCHEMA;
	}
	return 0;
}

static int schema_type_error(const char *name, const char *expected)
{
	tb_err("kbs: JSON member \"%s\" is not %s", name, expected);
	return TPMBOOT_E_KBS_JSON_SCHEMA;
}

int kbs_json_get_string(const struct kbs_json_doc *doc, kbs_json_ref ref,
			const char *name, const char **str, size_t *len)
{
	kbs_json_ref m;
	int rc = schema_member(doc, ref, name, &m);

	if (rc)
		return rc;
	if (doc->values[m].type != KBS_JSON_STRING)
		return schema_type_error(name, "a string");
	*str = kbs_json_text(doc, m);
	*len = doc->values[m].text_len;
	return 0;
}

int kbs_json_get_bool(const struct kbs_json_doc *doc, kbs_json_ref ref,
		      const char *name, int *value)
{
	kbs_json_ref m;
	int rc = schema_member(doc, ref, name, &m);

	if (rc)
		return rc;
	if (doc->values[m].type == KBS_JSON_TRUE)
		*value = 1;
	else if (doc->values[m].type == KBS_JSON_FALSE)
		*value = 0;
	else
		return schema_type_error(name, "a boolean");
	return 0;
}

int kbs_json_get_object(const struct kbs_json_doc *doc, kbs_json_ref ref,
			const char *name, kbs_json_ref *out)
{
	int rc = schema_member(doc, ref, name, out);

	if (rc)
		return rc;
	if (doc->values[*out].type != KBS_JSON_OBJECT)
		return schema_type_error(name, "an object");
	return 0;
}

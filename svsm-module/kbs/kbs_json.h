/*
 * Strict JSON (RFC 8259) parser into a flat tree, and a compact writer.
 *
 * The parser accepts only RFC 8259 text: UTF-8 without a byte order mark,
 * no comments, no trailing commas, no leading zeros, no lone surrogates in
 * \u escapes. Duplicate member names (compared after unescaping) are
 * rejected, as RFC 8785 and I-JSON (RFC 7493) require. Limits on input
 * size, nesting depth and value count come from struct kbs_json_limits.
 *
 * The writer emits compact JSON with the string escaping of RFC 8785
 * section 3.2.2.2, so member names and strings it writes are already in
 * canonical form.
 */
#ifndef KBS_JSON_H
#define KBS_JSON_H

#include <stddef.h>
#include <stdint.h>

enum kbs_json_type {
	KBS_JSON_NULL = 0,
	KBS_JSON_FALSE,
	KBS_JSON_TRUE,
	KBS_JSON_NUMBER,
	KBS_JSON_STRING,
	KBS_JSON_ARRAY,
	KBS_JSON_OBJECT,
};

/* Index of a value in a parsed document; the root is value 0. */
typedef uint32_t kbs_json_ref;
#define KBS_JSON_NONE UINT32_MAX

/*
 * One value. Strings hold their unescaped UTF-8 bytes (NUL-terminated,
 * may contain NUL), numbers their source text; both live in the
 * document's text pool. Members of an object carry their unescaped name.
 */
struct kbs_json_value {
	uint8_t type;
	uint32_t next;        /* next element or member, KBS_JSON_NONE at the end */
	uint32_t first;       /* first element or member of an array or object */
	uint32_t count;       /* number of elements or members */
	uint32_t name_offset; /* member name in the pool (objects' children) */
	uint32_t name_len;
	uint32_t text_offset; /* string bytes or number text in the pool */
	uint32_t text_len;
};

struct kbs_json_doc {
	struct kbs_json_value *values;
	uint32_t value_count;
	uint32_t value_cap;
	char *pool;
	size_t pool_len;
	size_t pool_cap;
};

struct kbs_json_limits {
	size_t max_text;      /* bytes of input */
	uint32_t max_depth;   /* nested arrays and objects */
	uint32_t max_values;  /* values in the whole document */
};

/* 64 KiB of text, depth 16, 4096 values: several times the largest KBS
 * message this client parses (a JWE of a 64-byte key is under 1 KiB, with
 * depth 2). Depth 16 bounds the parser's recursion to about 3 KiB of
 * stack. */
extern const struct kbs_json_limits kbs_json_default_limits;

/*
 * Parses text into doc. limits may be NULL for the defaults. On error the
 * document is freed and one of TPMBOOT_E_KBS_JSON_* (or NO_MEMORY) is
 * returned. Free a parsed document with kbs_json_free().
 */
int kbs_json_parse(const char *text, size_t len,
		   const struct kbs_json_limits *limits,
		   struct kbs_json_doc *doc);

/* Frees the document and wipes its string pool (strings may be secrets). */
void kbs_json_free(struct kbs_json_doc *doc);

static inline const struct kbs_json_value *
kbs_json_at(const struct kbs_json_doc *doc, kbs_json_ref ref)
{
	return &doc->values[ref];
}

/* Returns the member named name of object ref, or KBS_JSON_NONE. */
kbs_json_ref kbs_json_member(const struct kbs_json_doc *doc, kbs_json_ref ref,
			     const char *name);

/*
 * Schema helpers for protocol messages: each looks up member name of
 * object ref and checks its type. A missing member or a wrong type logs
 * the name and returns TPMBOOT_E_KBS_JSON_SCHEMA.
 */
int kbs_json_get_string(const struct kbs_json_doc *doc, kbs_json_ref ref,
			const char *name, const char **str, size_t *len);
int kbs_json_get_bool(const struct kbs_json_doc *doc, kbs_json_ref ref,
		      const char *name, int *value);
int kbs_json_get_object(const struct kbs_json_doc *doc, kbs_json_ref ref,
			const char *name, kbs_json_ref *out);

/* Returns the string value bytes of ref (a string). */
static inline const char *kbs_json_text(const struct kbs_json_doc *doc,
					 kbs_json_ref ref)
{
	return doc->pool + doc->values[ref].text_offset;
}

static inline const char *kbs_json_name(const struct kbs_json_doc *doc,
					 kbs_json_ref ref)
{
	return doc->pool + doc->values[ref].name_offset;
}

/*
 * Compact writer into a growing heap buffer. Errors are sticky: after the
 * first failure every call is a no-op and kbs_json_writer_finish()
 * returns the error, so callers check once at the end.
 */
#define KBS_JSON_WRITER_MAX_DEPTH 16

struct kbs_json_writer {
	char *buf;
	size_t len;
	size_t cap;
	size_t max_len;
	int error;
	uint32_t depth;
	uint8_t need_comma[KBS_JSON_WRITER_MAX_DEPTH + 1];
	uint8_t after_name;
};

/* Starts a writer whose output may grow up to max_len bytes. */
void kbs_json_writer_init(struct kbs_json_writer *w, size_t max_len);
void kbs_json_begin_object(struct kbs_json_writer *w);
void kbs_json_end_object(struct kbs_json_writer *w);
void kbs_json_begin_array(struct kbs_json_writer *w);
void kbs_json_end_array(struct kbs_json_writer *w);
/* Writes a member name; the next call writes its value. */
void kbs_json_name_put(struct kbs_json_writer *w, const char *name);
/* Writes a string from UTF-8 bytes (validated; invalid UTF-8 is an error). */
void kbs_json_string_n(struct kbs_json_writer *w, const char *s, size_t len);
void kbs_json_string(struct kbs_json_writer *w, const char *s);
void kbs_json_u64(struct kbs_json_writer *w, uint64_t v);
void kbs_json_bool(struct kbs_json_writer *w, int v);
void kbs_json_null(struct kbs_json_writer *w);
/* Writes text that the caller guarantees to be one valid JSON value. */
void kbs_json_raw(struct kbs_json_writer *w, const char *text, size_t len);
/* Writes bytes as base64 (std) or base64url string. */
void kbs_json_base64(struct kbs_json_writer *w, int url, const uint8_t *data,
		     size_t len);
/* Writes bytes as an array of numbers (serde's form of [u8; N]). */
void kbs_json_byte_array(struct kbs_json_writer *w, const uint8_t *data,
			 size_t len);

/*
 * Ends writing: on success *out receives the NUL-terminated text (owned by
 * the caller, free with tb_free) and *out_len its length. On error the
 * buffer is freed and the first error is returned.
 */
int kbs_json_writer_finish(struct kbs_json_writer *w, char **out,
			   size_t *out_len);
/* Frees the buffer without returning it (error paths). */
void kbs_json_writer_abort(struct kbs_json_writer *w);

/* Appends raw bytes without JSON structure handling (used by JCS). */
void kbs_json_writer_append(struct kbs_json_writer *w, const char *s,
			    size_t len);
/* Appends s as a JSON string with RFC 8785 escaping, no structure handling. */
void kbs_json_writer_append_string(struct kbs_json_writer *w, const char *s,
				   size_t len);

/* Returns the length of the UTF-8 sequence at s (1..4) with *cp set, or 0
 * when the bytes are not a valid, shortest-form UTF-8 scalar value. */
size_t kbs_utf8_decode(const uint8_t *s, size_t len, uint32_t *cp);

/*
 * RFC 8785 (JCS) canonical serialisation of value ref: members sorted by
 * their names as UTF-16 code units, no whitespace, strings escaped per
 * section 3.2.2.2, numbers in ECMAScript Number-to-String form. Writes
 * into w (structure handling bypassed).
 */
void kbs_jcs_write(struct kbs_json_writer *w, const struct kbs_json_doc *doc,
		   kbs_json_ref ref);

/* Canonicalises a whole JSON text; *out is heap text (free with tb_free). */
int kbs_jcs_canonicalize(const char *text, size_t len, char **out,
			 size_t *out_len);

#endif /* KBS_JSON_H */

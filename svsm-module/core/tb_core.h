/*
 * Internal core services shared by every part of the module: the platform
 * table, logging, memory, secret wiping, constant-time comparison and
 * byte-order helpers.
 *
 * The module is single-threaded and called once per boot, so the platform
 * table and configuration are kept in one global pointer pair set by
 * tb_core_attach() (no constructors, no TLS).
 */
#ifndef TB_CORE_H
#define TB_CORE_H

#include <stddef.h>
#include <stdint.h>

#include "tpmboot.h"

#if defined(__GNUC__)
#define TB_PRINTF(fmt_index, arg_index) \
	__attribute__((format(printf, fmt_index, arg_index)))
#else
#define TB_PRINTF(fmt_index, arg_index)
#endif

#define TB_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Attaches the platform table and configuration used by every helper
 * below; config may be NULL (defaults). Returns 0 or TPMBOOT_E_*. */
int tb_core_attach(const struct tpmboot_platform *platform,
		   const struct tpmboot_config *config);
void tb_core_detach(void);
const struct tpmboot_platform *tb_platform(void);
const struct tpmboot_config *tb_config(void);

/* Formats one log line (integer-only printf subset: %s %c %d %i %u %x %X
 * %p %% with l, ll, z and field width / zero padding) and passes it to the
 * platform's log callback. Lines longer than 255 bytes are truncated. */
void tb_log(enum tpmboot_log_level level, const char *fmt, ...) TB_PRINTF(2, 3);

#define tb_err(...) tb_log(TPMBOOT_LOG_ERROR, __VA_ARGS__)
#define tb_warn(...) tb_log(TPMBOOT_LOG_WARN, __VA_ARGS__)
#define tb_info(...) tb_log(TPMBOOT_LOG_INFO, __VA_ARGS__)
#define tb_debug(...) tb_log(TPMBOOT_LOG_DEBUG, __VA_ARGS__)

/* Formats into buf like snprintf (same subset as tb_log). Returns the
 * length the full output would have had. */
int tb_snprintf(char *buf, size_t cap, const char *fmt, ...) TB_PRINTF(3, 4);

/* Platform allocator. tb_alloc returns NULL on failure; tb_calloc zeroes.
 * tb_free(NULL) is a no-op. tb_free_secret wipes len bytes first. */
void *tb_alloc(size_t size);
void *tb_alloc_aligned(size_t size, size_t align);
void *tb_calloc(size_t count, size_t size);
void tb_free(void *ptr);
void tb_free_secret(void *ptr, size_t len);

/* Platform services. */
int tb_random(uint8_t *buf, size_t len);
uint64_t tb_time_ms(void);
void tb_delay_ms(uint32_t ms);

/* Overwrites n bytes with zeros in a way the compiler cannot elide. */
void tb_memzero(void *ptr, size_t n);

/* Returns 1 when the n bytes are equal and 0 otherwise, in time that
 * depends only on n. */
int tb_ct_memeq(const void *a, const void *b, size_t n);

/* Byte-order helpers for unaligned buffers. */
static inline uint16_t tb_load_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static inline uint32_t tb_load_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) |
	       ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static inline uint64_t tb_load_le64(const uint8_t *p)
{
	return (uint64_t)tb_load_le32(p) | ((uint64_t)tb_load_le32(p + 4) << 32);
}

static inline uint16_t tb_load_be16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static inline uint32_t tb_load_be32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
	       ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

static inline uint64_t tb_load_be64(const uint8_t *p)
{
	return ((uint64_t)tb_load_be32(p) << 32) | tb_load_be32(p + 4);
}

static inline void tb_store_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void tb_store_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static inline void tb_store_le64(uint8_t *p, uint64_t v)
{
	tb_store_le32(p, (uint32_t)v);
	tb_store_le32(p + 4, (uint32_t)(v >> 32));
}

static inline void tb_store_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void tb_store_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline void tb_store_be64(uint8_t *p, uint64_t v)
{
	tb_store_be32(p, (uint32_t)(v >> 32));
	tb_store_be32(p + 4, (uint32_t)v);
}

#endif /* TB_CORE_H */

/*
 * Host services for tpmboot-mkimage: error lines, the module's platform
 * table (heap, getrandom, stderr log), files and value parsing.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mk.h"

int mk_fail(int code, const char *fmt, ...)
{
	va_list ap;

	fputs("tpmboot-mkimage: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return code;
}

void mk_wipe(void *p, size_t len)
{
	if (p != NULL)
		tb_memzero(p, len);
}

int mk_random(uint8_t *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = getrandom(buf, len, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return mk_fail(MK_E_IO, "getrandom failed: %s",
				       strerror(errno));
		}
		buf += n;
		len -= (size_t)n;
	}
	return MK_OK;
}

static void platform_log(void *ctx, enum tpmboot_log_level level,
			 const char *line)
{
	(void)ctx;
	(void)level;
	fprintf(stderr, "tpmboot-mkimage: %s\n", line);
}

static void *platform_alloc(void *ctx, size_t size, size_t align)
{
	void *p = NULL;

	(void)ctx;
	if (align < sizeof(void *))
		align = sizeof(void *);
	if (posix_memalign(&p, align, size ? size : 1) != 0)
		return NULL;
	return p;
}

static void platform_free(void *ctx, void *ptr)
{
	(void)ctx;
	free(ptr);
}

static int platform_random(void *ctx, uint8_t *buf, size_t len)
{
	(void)ctx;
	return mk_random(buf, len) == MK_OK ? 0 : -1;
}

static uint64_t platform_time_ms(void *ctx)
{
	struct timespec ts;

	(void)ctx;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void platform_delay_ms(void *ctx, uint32_t ms)
{
	struct timespec ts = { ms / 1000u, (long)(ms % 1000u) * 1000000L };

	(void)ctx;
	nanosleep(&ts, NULL);
}

static struct tpmboot_platform mk_platform = {
	.api_version = TPMBOOT_API_VERSION,
	.log = platform_log,
	.alloc = platform_alloc,
	.free = platform_free,
	.random_bytes = platform_random,
	.time_ms = platform_time_ms,
	.delay_ms = platform_delay_ms,
};

static struct tpmboot_config mk_config = {
	.api_version = TPMBOOT_API_VERSION,
	.simd_cap = TPMBOOT_SIMD_AUTO,
	.log_level = TPMBOOT_LOG_ERROR,
};

/*
 * Attaches the module's core to a host platform table, unless a caller
 * (a unit test with its own platform) attached one already.
 */
int mk_platform_attach(void)
{
	if (tb_platform() != NULL)
		return MK_OK;
	if (tb_core_attach(&mk_platform, &mk_config) != 0)
		return mk_fail(MK_E_CRYPTO, "cannot attach the crypto layer");
	return MK_OK;
}

int mk_read_file(const char *path, uint8_t **data, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t cap = 0, used = 0;

	if (f == NULL)
		return mk_fail(MK_E_IO, "cannot open %s: %s", path,
			       strerror(errno));
	for (;;) {
		size_t n;

		if (used == cap) {
			uint8_t *nb;

			cap = cap ? cap * 2 : 65536;
			nb = realloc(buf, cap);
			if (nb == NULL) {
				free(buf);
				fclose(f);
				return mk_fail(MK_E_NO_MEMORY, "out of memory "
					       "reading %s", path);
			}
			buf = nb;
		}
		n = fread(buf + used, 1, cap - used, f);
		used += n;
		if (n == 0)
			break;
	}
	if (ferror(f)) {
		free(buf);
		fclose(f);
		return mk_fail(MK_E_IO, "cannot read %s", path);
	}
	fclose(f);
	*data = buf;
	*len = used;
	return MK_OK;
}

/*
 * Finds where mk_write_file_atomic() puts path and the mode it gets. An
 * existing path must be a regular file: renaming over a device node or a
 * FIFO would replace it instead of writing it. A symbolic link is
 * followed, so the link stays and its target is replaced, and the
 * existing file keeps its permission bits. *target is heap memory.
 */
static int resolve_target(const char *path, int private_mode, char **target,
			  mode_t *mode)
{
	struct stat st;

	*mode = private_mode ? 0600 : 0644;
	if (stat(path, &st) != 0) {
		if (errno != ENOENT)
			return mk_fail(MK_E_IO, "cannot check %s: %s", path,
				       strerror(errno));
		*target = strdup(path);
		if (*target == NULL)
			return mk_fail(MK_E_NO_MEMORY, "out of memory");
		return MK_OK;
	}
	if (!S_ISREG(st.st_mode))
		return mk_fail(MK_E_IO, "%s is not a regular file; write to a "
			       "regular file and copy it from there", path);

	/* Never loosen the mode of a file made for key material. */
	if (!private_mode)
		*mode = st.st_mode & 07777;
	*target = realpath(path, NULL);
	if (*target == NULL)
		return mk_fail(MK_E_IO, "cannot resolve %s: %s", path,
			       strerror(errno));
	return MK_OK;
}

int mk_stage_file(const char *path, const uint8_t *data, size_t len,
		  int private_mode, struct mk_staged_file *sf)
{
	size_t plen, off = 0;
	mode_t mode;
	int fd, rc;

	sf->target = NULL;
	sf->tmp = NULL;
	rc = resolve_target(path, private_mode, &sf->target, &mode);
	if (rc != MK_OK)
		return rc;
	plen = strlen(sf->target);
	sf->tmp = malloc(plen + 16);
	if (sf->tmp == NULL) {
		mk_discard_file(sf);
		return mk_fail(MK_E_NO_MEMORY, "out of memory");
	}
	snprintf(sf->tmp, plen + 16, "%s.tmp.XXXXXX", sf->target);
	fd = mkstemp(sf->tmp);
	if (fd < 0) {
		rc = mk_fail(MK_E_IO, "cannot create a temporary file next to "
			     "%s: %s", sf->target, strerror(errno));
		free(sf->tmp);
		sf->tmp = NULL;
		mk_discard_file(sf);
		return rc;
	}
	if (mode != 0600 && fchmod(fd, mode) != 0)
		rc = mk_fail(MK_E_IO, "cannot set the mode of %s: %s", sf->tmp,
			     strerror(errno));
	while (off < len && rc == MK_OK) {
		ssize_t n = write(fd, data + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			rc = mk_fail(MK_E_IO, "cannot write %s: %s", sf->tmp,
				     strerror(errno));
		else
			off += (size_t)n;
	}
	if (rc == MK_OK && fsync(fd) != 0)
		rc = mk_fail(MK_E_IO, "cannot sync %s: %s", sf->tmp,
			     strerror(errno));
	close(fd);
	if (rc != MK_OK)
		mk_discard_file(sf);
	return rc;
}

int mk_commit_file(struct mk_staged_file *sf)
{
	int rc = MK_OK;

	/* The temporary file stays after a failed rename, because it may
	 * hold the only copy of a key. */
	if (rename(sf->tmp, sf->target) != 0)
		rc = mk_fail(MK_E_IO, "cannot rename %s to %s: %s; the data "
			     "is left in %s", sf->tmp, sf->target,
			     strerror(errno), sf->tmp);
	free(sf->tmp);
	free(sf->target);
	sf->tmp = NULL;
	sf->target = NULL;
	return rc;
}

void mk_discard_file(struct mk_staged_file *sf)
{
	if (sf->tmp != NULL)
		unlink(sf->tmp);
	free(sf->tmp);
	free(sf->target);
	sf->tmp = NULL;
	sf->target = NULL;
}

int mk_write_file_atomic(const char *path, const uint8_t *data, size_t len,
			 int private_mode)
{
	struct mk_staged_file sf;
	int rc = mk_stage_file(path, data, len, private_mode, &sf);

	if (rc == MK_OK)
		rc = mk_commit_file(&sf);
	return rc;
}

static int hex_nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Decodes a hex string. An odd number of digits gets a leading zero
 * nibble, as the upstream CLI does for -K and -I.
 */
int mk_parse_hex(const char *hex, uint8_t *out, size_t cap, size_t *len)
{
	size_t n = strlen(hex), i, o = 0;
	int odd = (int)(n & 1u);

	if ((n + 1) / 2 > cap)
		return mk_fail(MK_E_USAGE, "hex value of %zu digits is longer "
			       "than %zu bytes", n, cap);
	for (i = 0; i < n; i++) {
		if (hex_nibble(hex[i]) < 0)
			return mk_fail(MK_E_USAGE, "invalid hex digit '%c' in "
				       "\"%s\"", hex[i], hex);
	}
	if (odd)
		out[o++] = (uint8_t)hex_nibble(hex[0]);
	for (i = (size_t)odd; i < n; i += 2)
		out[o++] = (uint8_t)(hex_nibble(hex[i]) << 4 |
				     hex_nibble(hex[i + 1]));
	*len = o;
	return MK_OK;
}

/* Parses the 8-4-4-4-12 text form into bytes in textual order. */
int mk_parse_uuid(const char *text, uint8_t uuid[MK_UUID_LEN])
{
	static const size_t dash_at[] = { 8, 13, 18, 23 };
	size_t i, d = 0, o = 0;

	if (strlen(text) != 36)
		goto invalid;
	for (i = 0; i < 36; i++) {
		if (d < 4 && i == dash_at[d]) {
			if (text[i] != '-')
				goto invalid;
			d++;
			continue;
		}
		if (hex_nibble(text[i]) < 0 || hex_nibble(text[i + 1]) < 0 ||
		    (d < 4 && i + 1 == dash_at[d]))
			goto invalid;
		uuid[o++] = (uint8_t)(hex_nibble(text[i]) << 4 |
				      hex_nibble(text[i + 1]));
		i++;
	}
	if (o != MK_UUID_LEN)
		goto invalid;
	return MK_OK;
invalid:
	return mk_fail(MK_E_USAGE, "invalid UUID \"%s\" (expected the form "
		       "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)", text);
}

void mk_format_uuid(const uint8_t uuid[MK_UUID_LEN], char out[37])
{
	size_t i, o = 0;

	for (i = 0; i < MK_UUID_LEN; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		snprintf(out + o, 3, "%02x", uuid[i]);
		o += 2;
	}
	out[o] = '\0';
}

int mk_parse_u64(const char *text, uint64_t *value)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(text, &end, 0);
	if (errno != 0 || end == text || *end != '\0' || text[0] == '-')
		return mk_fail(MK_E_USAGE, "invalid number \"%s\"", text);
	*value = v;
	return MK_OK;
}

/* Parses a size: a number with an optional unit B, K, M or G (powers of
 * 1024). A bare number is bytes (the upstream CLI doubles bare numbers; this
 * tool does not). */
int mk_parse_size(const char *text, uint64_t *bytes)
{
	char *end;
	unsigned long long v;
	unsigned shift = 0;

	errno = 0;
	v = strtoull(text, &end, 10);
	if (errno != 0 || end == text || text[0] == '-')
		goto invalid;
	if (*end == 'K')
		shift = 10;
	else if (*end == 'M')
		shift = 20;
	else if (*end == 'G')
		shift = 30;
	else if (*end != 'B' && *end != '\0')
		goto invalid;
	if (*end != '\0' && end[1] != '\0')
		goto invalid;
	if (((v << shift) >> shift) != v)
		goto invalid;
	*bytes = (uint64_t)v << shift;
	return MK_OK;
invalid:
	return mk_fail(MK_E_USAGE, "invalid size \"%s\" (expected a number "
		       "with an optional unit B, K, M or G)", text);
}

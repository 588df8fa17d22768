/*
 * Test input helpers: paths of shared vectors and Wycheproof files, whole
 * file reads and hex decoding.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tb_test_platform.h"

static const char *env_path(const char *var, const char *fallback,
			    const char *name)
{
	static char path[4096];
	const char *dir = getenv(var);

	snprintf(path, sizeof(path), "%s/%s", dir != NULL ? dir : fallback,
		 name);
	return path;
}

const char *tb_test_shared_path(const char *rel)
{
	return env_path("TPMBOOT_SHARED_DIR", "../shared", rel);
}

const char *tb_test_wycheproof_path(const char *name)
{
	return env_path("TPMBOOT_WYCHEPROOF_DIR", "build-deps/wycheproof/data",
			name);
}

uint8_t *tb_test_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	long size;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0) {
		buf = malloc((size_t)size + 1);
		if (buf != NULL &&
		    fread(buf, 1, (size_t)size, f) != (size_t)size) {
			free(buf);
			buf = NULL;
		}
		if (buf != NULL) {
			buf[size] = 0;
			*len = (size_t)size;
		}
	}
	fclose(f);
	return buf;
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

size_t tb_test_hex_decode(const char *hex, uint8_t **out)
{
	size_t len = strlen(hex);
	size_t i;

	*out = malloc(len / 2 + 1);
	if (*out == NULL || len % 2 != 0)
		return (size_t)-1;
	for (i = 0; i < len / 2; i++) {
		int hi = hex_nibble(hex[2 * i]);
		int lo = hex_nibble(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return (size_t)-1;
		(*out)[i] = (uint8_t)(hi << 4 | lo);
	}
	return len / 2;
}

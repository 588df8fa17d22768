/*
 * Shared set-up of the CocoonFs fuzz targets: the host test platform with
 * logging off and a block device over a copy of the input, zero-padded to
 * whole 512-byte blocks.
 */
#ifndef FUZZ_COCOONFS_COMMON_H
#define FUZZ_COCOONFS_COMMON_H

#include <stdlib.h>
#include <string.h>

#include "tb_test_platform.h"

static struct tb_test_platform fuzz_platform;

/* Attaches core once and points the block device at a padded copy of
 * data; the caller frees the returned buffer. */
static uint8_t *fuzz_use_image(const uint8_t *data, size_t size)
{
	static int attached;
	size_t len = (size + 511) & ~(size_t)511;
	uint8_t *image;

	if (!attached) {
		tb_test_platform_init(&fuzz_platform);
		fuzz_platform.log_echo = 0;
		fuzz_platform.config.log_level = TPMBOOT_LOG_ERROR;
		fuzz_platform.platform.log = NULL;
		attached = 1;
	}
	if (len == 0)
		len = 512;
	image = calloc(1, len);
	if (image == NULL)
		abort();
	memcpy(image, data, size);
	tb_test_platform_use_image_buffer(&fuzz_platform, image, len);
	fuzz_platform.platform.block_write = NULL;
	return image;
}

/* Aborts when the module leaked heap during one input. */
static void fuzz_check_heap(size_t before)
{
	if (fuzz_platform.heap_in_use != before)
		abort();
}

#endif /* FUZZ_COCOONFS_COMMON_H */

/*
 * libFuzzer target: probe, open with a fixed key, list the inodes and read
 * every file of the input image. The key is that of corpus image p01
 * (read from manifest.json under $TPMBOOT_SHARED_DIR), so mutations of
 * p01 reach the authenticated read path. Without the manifest a constant
 * key is used.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cocoonfs/tb_cocoonfs.h"
#include "fuzz_cocoonfs_common.h"

static uint8_t *fuzz_key;
static size_t fuzz_key_len;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	size_t len;
	char *text = (char *)tb_test_read_file(
		tb_test_shared_path("vectors/cocoonfs/manifest.json"), &len);
	char *at = text ? strstr(text, "p01-default-svsm.img") : NULL;
	char *hex = at ? strstr(at, "\"key_hex\": \"") : NULL;

	(void)argc;
	(void)argv;
	if (hex != NULL) {
		hex += strlen("\"key_hex\": \"");
		*strchr(hex, '"') = '\0';
		fuzz_key_len = tb_test_hex_decode(hex, &fuzz_key);
	}
	if (fuzz_key == NULL || fuzz_key_len == (size_t)-1) {
		fuzz_key_len = 16;
		fuzz_key = calloc(1, 16);
	}
	free(text);
	return 0;
}

static int read_one(void *ctx, uint64_t inode, uint32_t flags)
{
	struct tpmboot_fs *fs = ctx;
	uint8_t buf[4096];
	size_t len;

	(void)flags;
	if (inode > 3)
		(void)tb_cocoonfs_read_file(fs, inode, buf, sizeof(buf), &len);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *image = fuzz_use_image(data, size);
	size_t heap = fuzz_platform.heap_in_use;
	struct tb_cocoonfs_meta *meta = NULL;
	struct tpmboot_fs *fs = NULL;

	if (tb_cocoonfs_probe(&meta) == 0) {
		if (tb_cocoonfs_open(meta, fuzz_key, fuzz_key_len, &fs) == 0) {
			(void)tb_cocoonfs_list_inodes(fs, read_one, fs);
			(void)tb_cocoonfs_read_file(fs, UINT64_C(0x100000000),
						    NULL, 0, &size);
			tb_cocoonfs_close(fs);
		}
		tb_cocoonfs_meta_free(meta);
	}
	fuzz_check_heap(heap);
	free(image);
	return 0;
}

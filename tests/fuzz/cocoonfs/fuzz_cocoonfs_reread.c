/*
 * libFuzzer target for reads that return different bytes each time.
 * The image is always corpus image p01 with its key (from manifest.json
 * under $TPMBOOT_SHARED_DIR). The input is a list of 8-byte records, each
 * LE32 read number, LE16 byte offset and an XOR byte: the device flips
 * that byte in the data it returns for that block_read call (numbers and
 * offsets taken modulo the clean run's count and the read's length).
 *
 * Oracle: whatever the reader accepts after open must equal what it reads
 * from the clean image. An inode list or a file that differs aborts, so
 * does data used from a copy other than the one authenticated.
 */
#define _POSIX_C_SOURCE 200809L

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cocoonfs/tb_cocoonfs.h"
#include "fuzz_cocoonfs_common.h"

#define MAX_FLIPS 16u
#define MAX_INODES 64u
#define FILE_CAP (1u << 20)

struct flip {
	uint32_t read_no;
	uint32_t offset;
	uint8_t xor_mask;
};

static uint8_t *clean_image;
static uint8_t *key;
static size_t key_len;
static int (*plain_read)(void *ctx, uint64_t first, uint32_t count, void *buf);

/* Inodes and file contents from the clean run. */
static uint64_t clean_inodes[MAX_INODES];
static size_t clean_count;
static uint8_t *clean_files[MAX_INODES];
static size_t clean_sizes[MAX_INODES];
static uint32_t clean_reads;

/* State of the current run. */
static struct flip flips[MAX_FLIPS];
static size_t flip_count;
static uint32_t reads;

static int flipping_read(void *ctx, uint64_t first, uint32_t count, void *buf)
{
	size_t len = (size_t)count << fuzz_platform.platform.block_size_log2;
	uint8_t *bytes = buf;
	size_t i;
	int rc;

	rc = plain_read(ctx, first, count, buf);
	for (i = 0; rc == 0 && i < flip_count; i++) {
		if (flips[i].read_no == reads)
			bytes[flips[i].offset % len] ^= flips[i].xor_mask;
	}
	reads++;
	return rc;
}

struct inode_list {
	uint64_t v[MAX_INODES];
	size_t count;
};

static int collect(void *ctx, uint64_t inode, uint32_t flags)
{
	struct inode_list *l = ctx;

	(void)flags;
	if (l->count == MAX_INODES)
		return -1;
	l->v[l->count++] = inode;
	return 0;
}

static char *manifest_key_hex(void)
{
	size_t len;
	char *text = (char *)tb_test_read_file(
		tb_test_shared_path("vectors/cocoonfs/manifest.json"), &len);
	char *at = text ? strstr(text, "p01-default-svsm.img") : NULL;
	char *hex = at ? strstr(at, "\"key_hex\": \"") : NULL;

	if (hex == NULL)
		return NULL;
	hex += strlen("\"key_hex\": \"");
	*strchr(hex, '"') = '\0';
	hex = strdup(hex);
	free(text);
	return hex;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct tb_cocoonfs_meta *meta = NULL;
	struct tpmboot_fs *fs = NULL;
	struct inode_list list = { { 0 }, 0 };
	char *hex = manifest_key_hex();
	uint8_t *image;
	size_t len, i;

	(void)argc;
	(void)argv;
	image = tb_test_read_file(
		tb_test_shared_path("vectors/cocoonfs/p01-default-svsm.img"),
		&len);
	if (image == NULL || hex == NULL) {
		fprintf(stderr, "fuzz-cocoonfs-reread: p01 or its key not found "
				"under $TPMBOOT_SHARED_DIR/vectors/cocoonfs\n");
		abort();
	}
	key_len = tb_test_hex_decode(hex, &key);
	free(hex);
	clean_image = fuzz_use_image(image, len);
	free(image);
	plain_read = fuzz_platform.platform.block_read;
	fuzz_platform.platform.block_read = flipping_read;

	reads = 0;
	if (tb_cocoonfs_probe(&meta) != 0 ||
	    tb_cocoonfs_open(meta, key, key_len, &fs) != 0 ||
	    tb_cocoonfs_list_inodes(fs, collect, &list) != 0)
		abort();
	clean_count = list.count;
	memcpy(clean_inodes, list.v, sizeof(list.v));
	for (i = 0; i < clean_count; i++) {
		if (clean_inodes[i] <= 3)
			continue;
		clean_files[i] = malloc(FILE_CAP);
		if (clean_files[i] == NULL ||
		    tb_cocoonfs_read_file(fs, clean_inodes[i], clean_files[i],
					  FILE_CAP, &clean_sizes[i]) != 0)
			abort();
	}
	tb_cocoonfs_close(fs);
	tb_cocoonfs_meta_free(meta);
	clean_reads = reads;
	return 0;
}

/* Same sequence of calls as the clean run; aborts on accepted data that
 * differs from it. */
static void run_once(uint8_t *buf)
{
	struct tb_cocoonfs_meta *meta = NULL;
	struct tpmboot_fs *fs = NULL;
	struct inode_list list = { { 0 }, 0 };
	size_t i, len;

	if (tb_cocoonfs_probe(&meta) != 0)
		return;
	if (tb_cocoonfs_open(meta, key, key_len, &fs) != 0) {
		tb_cocoonfs_meta_free(meta);
		return;
	}
	if (tb_cocoonfs_list_inodes(fs, collect, &list) == 0 &&
	    (list.count != clean_count ||
	     memcmp(list.v, clean_inodes, clean_count * sizeof(uint64_t)) != 0))
		abort();
	for (i = 0; i < clean_count; i++) {
		if (clean_files[i] == NULL)
			continue;
		if (tb_cocoonfs_read_file(fs, clean_inodes[i], buf, FILE_CAP,
					  &len) == 0 &&
		    (len != clean_sizes[i] ||
		     memcmp(buf, clean_files[i], len) != 0))
			abort();
	}
	tb_cocoonfs_close(fs);
	tb_cocoonfs_meta_free(meta);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t *buf;
	size_t heap = fuzz_platform.heap_in_use;
	size_t i;

	if (buf == NULL && (buf = malloc(FILE_CAP)) == NULL)
		abort();
	flip_count = size / 8 < MAX_FLIPS ? size / 8 : MAX_FLIPS;
	for (i = 0; i < flip_count; i++) {
		const uint8_t *r = data + 8 * i;

		flips[i].read_no = ((uint32_t)r[0] | (uint32_t)r[1] << 8 |
				    (uint32_t)r[2] << 16 |
				    (uint32_t)r[3] << 24) % clean_reads;
		flips[i].offset = (uint32_t)r[4] | (uint32_t)r[5] << 8;
		flips[i].xor_mask = r[6] ? r[6] : 1;
	}
	reads = 0;
	run_once(buf);
	fuzz_check_heap(heap);
	return 0;
}

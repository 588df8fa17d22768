/*
 * Bit-flip sweep over a whole CocoonFs image: for every byte of the image
 * one bit is flipped (bit = byte offset mod 8, so all bit positions are
 * used), then the image is probed, opened and every file and aux entry is
 * read. Each flip must either leave every file and aux entry identical
 * (a byte that no check covers, or a check that ignores it) or make the
 * reader fail. Different contents fail the test. The counts per outcome
 * are printed.
 *
 * COCOONFS_SWEEP_ALL_BITS=1 flips all 8 bits of every byte (slow);
 * COCOONFS_SWEEP_IMAGE selects another corpus image (default p07).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cocoonfs/tb_cocoonfs.h"
#include "tb_test_platform.h"

#define MAX_FILES 8
#define MAX_AUX 8
#define MAX_CODE 300

struct snapshot {
	size_t file_count;
	uint64_t inode[MAX_FILES];
	uint8_t *data[MAX_FILES];
	size_t len[MAX_FILES];
	size_t aux_count;
	uint8_t aux_uuid[MAX_AUX][16];
	uint8_t *aux_data[MAX_AUX];
	size_t aux_len[MAX_AUX];
};

struct walk {
	struct snapshot *s;
};

static int collect(void *ctx, uint64_t inode, uint32_t flags)
{
	struct snapshot *s = ctx;

	(void)flags;
	if (inode <= 3)
		return 0;
	if (s->file_count == MAX_FILES)
		return -1;
	s->inode[s->file_count++] = inode;
	return 0;
}

static void snapshot_free(struct snapshot *s)
{
	size_t i;

	for (i = 0; i < s->file_count; i++)
		free(s->data[i]);
	for (i = 0; i < s->aux_count; i++)
		free(s->aux_data[i]);
	memset(s, 0, sizeof(*s));
}

/* Probes, opens and reads everything; returns the first error. */
static int read_all(const uint8_t *key, size_t key_len, struct snapshot *s)
{
	struct tb_cocoonfs_meta *meta = NULL;
	struct tpmboot_fs *fs = NULL;
	size_t i;
	int rc;

	memset(s, 0, sizeof(*s));
	rc = tb_cocoonfs_probe(&meta);
	for (i = 0; rc == 0 && i < tb_cocoonfs_aux_count(meta) && i < MAX_AUX; i++) {
		struct tb_cocoonfs_aux_entry e;

		rc = tb_cocoonfs_aux_get(meta, i, &e);
		if (rc != 0)
			break;
		memcpy(s->aux_uuid[i], e.uuid, 16);
		s->aux_data[i] = malloc(e.len + 1);
		memcpy(s->aux_data[i], e.data, e.len);
		s->aux_len[i] = e.len;
		s->aux_count = i + 1;
	}
	if (rc == 0)
		rc = tb_cocoonfs_open(meta, key, key_len, &fs);
	if (rc == 0)
		rc = tb_cocoonfs_list_inodes(fs, collect, s);
	for (i = 0; rc == 0 && i < s->file_count; i++) {
		size_t len;

		rc = tb_cocoonfs_file_size(fs, s->inode[i], &len);
		if (rc != 0)
			break;
		s->data[i] = malloc(len + 1);
		rc = tb_cocoonfs_read_file(fs, s->inode[i], s->data[i], len + 1,
					   &s->len[i]);
	}
	tb_cocoonfs_close(fs);
	tb_cocoonfs_meta_free(meta);
	return rc;
}

static int snapshot_equal(const struct snapshot *a, const struct snapshot *b)
{
	size_t i;

	if (a->file_count != b->file_count || a->aux_count != b->aux_count)
		return 0;
	for (i = 0; i < a->file_count; i++) {
		if (a->inode[i] != b->inode[i] || a->len[i] != b->len[i] ||
		    memcmp(a->data[i], b->data[i], a->len[i]) != 0)
			return 0;
	}
	for (i = 0; i < a->aux_count; i++) {
		if (a->aux_len[i] != b->aux_len[i] ||
		    memcmp(a->aux_uuid[i], b->aux_uuid[i], 16) != 0 ||
		    memcmp(a->aux_data[i], b->aux_data[i], a->aux_len[i]) != 0)
			return 0;
	}
	return 1;
}

static const char *image_name(void)
{
	const char *name = getenv("COCOONFS_SWEEP_IMAGE");

	return name != NULL ? name : "p07-aux-none.img";
}

/* Key of the image, from the manifest line "key_hex" after its "file". */
static size_t image_key(const char *name, uint8_t **key)
{
	size_t len;
	char *text = (char *)tb_test_read_file(
		tb_test_shared_path("vectors/cocoonfs/manifest.json"), &len);
	char *at, *hex, *end;
	size_t key_len;

	assert_non_null(text);
	at = strstr(text, name);
	assert_non_null(at);
	hex = strstr(at, "\"key_hex\": \"");
	assert_non_null(hex);
	hex += strlen("\"key_hex\": \"");
	end = strchr(hex, '"');
	assert_non_null(end);
	*end = '\0';
	key_len = tb_test_hex_decode(hex, key);
	free(text);
	return key_len;
}

static void test_bitflip_sweep(void **state)
{
	static unsigned long long by_code[MAX_CODE];
	const char *name = image_name();
	int all_bits = getenv("COCOONFS_SWEEP_ALL_BITS") != NULL;
	struct tb_test_platform tp;
	struct snapshot ref, got;
	unsigned long long unchanged = 0, rejected = 0, different = 0;
	char rel[256];
	uint8_t *image, *pristine, *key;
	size_t len, key_len, off;
	int rc, code;

	(void)state;
	snprintf(rel, sizeof(rel), "vectors/cocoonfs/%s", name);
	image = tb_test_read_file(tb_test_shared_path(rel), &len);
	assert_non_null(image);
	pristine = malloc(len);
	assert_non_null(pristine);
	memcpy(pristine, image, len);
	key_len = image_key(name, &key);

	tb_test_platform_init(&tp);
	tp.log_echo = 0;
	tp.config.log_level = TPMBOOT_LOG_ERROR;
	tb_test_platform_use_image_buffer(&tp, image, len);
	tp.platform.block_write = NULL;
	assert_int_equal(read_all(key, key_len, &ref), 0);
	assert_true(ref.file_count > 0);

	for (off = 0; off < len; off++) {
		unsigned bit, first = all_bits ? 0 : (unsigned)(off & 7);
		unsigned last = all_bits ? 7 : first;

		for (bit = first; bit <= last; bit++) {
			image[off] ^= (uint8_t)(1u << bit);
			tb_test_log_clear(&tp);
			rc = read_all(key, key_len, &got);
			image[off] ^= (uint8_t)(1u << bit);

			if (rc != 0) {
				rejected++;
				by_code[rc > 0 && rc < MAX_CODE ? rc : 0]++;
			} else if (snapshot_equal(&ref, &got)) {
				unchanged++;
			} else {
				different++;
				print_error("byte %zu bit %u: different contents "
					    "without an error\n", off, bit);
			}
			snapshot_free(&got);
		}
	}

	print_message("%s: %zu bytes, %s: unchanged %llu, rejected %llu, "
		      "different %llu\n", name, len,
		      all_bits ? "all bits" : "one bit per byte", unchanged,
		      rejected, different);
	for (code = 0; code < MAX_CODE; code++) {
		if (by_code[code] != 0)
			print_message("  rejected with %s (%d): %llu\n",
				      tpmboot_error_name(code), code,
				      by_code[code]);
	}
	assert_int_equal(different, 0);
	assert_true(rejected > 0);
	assert_int_equal(tp.blocks_written, 0);
	assert_memory_equal(image, pristine, len);
	free(pristine);

	snapshot_free(&ref);
	free(key);
	assert_int_equal(tb_test_platform_fini(&tp), 0);
	free(image);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bitflip_sweep),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

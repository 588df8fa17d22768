/*
 * CocoonFs reader tests against the corpus made by the upstream CLI in
 * $TPMBOOT_SHARED_DIR/vectors/cocoonfs (manifest.json). Every image gives
 * its expected outcome, every file its size, SHA-256 and flags, and every
 * aux entry its UUID, length and SHA-256. Single-byte tampering in each
 * region fails with the exact error. The reader never writes to the device.
 */
#define _POSIX_C_SOURCE 200809L

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <jansson.h>
#include <openssl/sha.h>

#include "cocoonfs/ccfs_internal.h"
#include "cocoonfs/tb_cocoonfs.h"
#include "tb_test_platform.h"

#define CORPUS "vectors/cocoonfs/"

static json_t *manifest;

static json_t *image_entry(const char *prefix)
{
	size_t i;
	json_t *img;

	json_array_foreach(json_object_get(manifest, "images"), i, img) {
		const char *file = json_string_value(json_object_get(img, "file"));

		if (strncmp(file, prefix, strlen(prefix)) == 0)
			return img;
	}
	fail_msg("image %s not in manifest.json", prefix);
	return NULL;
}

static const char *jstr(json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

static long long jnum(json_t *value)
{
	return (long long)json_number_value(value);
}

static uint8_t *load_image(json_t *img, size_t *len)
{
	char rel[256];
	uint8_t *buf;

	snprintf(rel, sizeof(rel), CORPUS "%s", jstr(img, "file"));
	buf = tb_test_read_file(tb_test_shared_path(rel), len);
	assert_non_null(buf);
	return buf;
}

static void sha256_hex(const uint8_t *data, size_t len, char out[65])
{
	uint8_t digest[SHA256_DIGEST_LENGTH];
	size_t i;

	SHA256(data, len, digest);
	for (i = 0; i < sizeof(digest); i++)
		sprintf(out + 2 * i, "%02x", digest[i]);
}

/* Parses "xxxxxxxx-xxxx-..." into 16 bytes in textual order. */
static void parse_uuid(const char *text, uint8_t uuid[16])
{
	size_t n = 0;

	for (; *text != '\0' && n < 16; text++) {
		unsigned v;

		if (*text == '-')
			continue;
		assert_int_equal(sscanf(text, "%2x", &v), 1);
		uuid[n++] = (uint8_t)v;
		text++;
	}
	assert_int_equal(n, 16);
}

/* A test fixture: platform over a private copy of the image, without a
 * block_write callback, plus a pristine copy to compare after the test. */
struct fixture {
	struct tb_test_platform tp;
	uint8_t *image;
	uint8_t *pristine;
	size_t len;
};

static void fixture_init(struct fixture *f, json_t *img)
{
	memset(f, 0, sizeof(*f));
	f->image = load_image(img, &f->len);
	tb_test_platform_init(&f->tp);
	f->tp.log_echo = 0;
	tb_test_platform_use_image_buffer(&f->tp, f->image, f->len);
	f->tp.platform.block_write = NULL;
	f->tp.platform.block_flush = NULL;
}

/* Snapshot after any tampering, so the check covers the reader only. */
static void fixture_snapshot(struct fixture *f)
{
	f->pristine = malloc(f->len);
	assert_non_null(f->pristine);
	memcpy(f->pristine, f->image, f->len);
}

static void fixture_fini(struct fixture *f)
{
	assert_int_equal(f->tp.blocks_written, 0);
	if (f->pristine != NULL)
		assert_memory_equal(f->image, f->pristine, f->len);
	assert_int_equal(tb_test_platform_fini(&f->tp), 0);
	free(f->image);
	free(f->pristine);
}

static uint8_t *key_of(json_t *img, const char *field, size_t *len)
{
	uint8_t *key;

	*len = tb_test_hex_decode(jstr(img, field), &key);
	assert_true(*len != (size_t)-1);
	return key;
}

struct inode_list {
	uint64_t inode[512];
	uint32_t flags[512];
	size_t count;
};

static int collect_inode(void *ctx, uint64_t inode, uint32_t flags)
{
	struct inode_list *l = ctx;

	if (l->count == 512)
		return -1;
	l->inode[l->count] = inode;
	l->flags[l->count++] = flags;
	return 0;
}

static void check_aux(struct tb_cocoonfs_meta *meta, json_t *img)
{
	json_t *entries = json_object_get(json_object_get(img, "aux_metadata"),
					  "entries");
	struct tb_cocoonfs_aux_entry e, found;
	size_t i, dup;
	json_t *want;

	assert_int_equal(tb_cocoonfs_aux_count(meta), json_array_size(entries));
	json_array_foreach(entries, i, want) {
		uint8_t uuid[16];
		char hex[65];

		parse_uuid(jstr(want, "uuid"), uuid);
		assert_int_equal(tb_cocoonfs_aux_get(meta, i, &e), 0);
		assert_memory_equal(e.uuid, uuid, 16);
		assert_int_equal(e.len, jnum(json_object_get(want, "length")));
		sha256_hex(e.data, e.len, hex);
		assert_string_equal(hex, jstr(want, "sha256"));

		/* Find by UUID returns the same record (nth among duplicates). */
		for (dup = 0; i >= dup + 1; dup++) {
			struct tb_cocoonfs_aux_entry prev;

			assert_int_equal(tb_cocoonfs_aux_get(meta, i - dup - 1, &prev), 0);
			if (memcmp(prev.uuid, uuid, 16) != 0)
				break;
		}
		assert_int_equal(tb_cocoonfs_aux_find(meta, uuid, dup, &found), 0);
		assert_ptr_equal(found.data, e.data);
	}
	assert_int_equal(tb_cocoonfs_aux_get(meta, i, &e),
			 TPMBOOT_E_COCOONFS_NO_AUX_ENTRY);
	{
		uint8_t absent[16];

		memset(absent, 0xFF, sizeof(absent));
		assert_int_equal(tb_cocoonfs_aux_find(meta, absent, 0, &found),
				 TPMBOOT_E_COCOONFS_NO_AUX_ENTRY);
	}
}

static void check_files(struct tpmboot_fs *fs, json_t *img)
{
	json_t *files = json_object_get(img, "files");
	json_t *absent = json_object_get(img, "absent_inodes");
	struct inode_list *list = calloc(1, sizeof(*list));
	size_t i, j, len;
	json_t *want;

	assert_non_null(list);
	assert_int_equal(tb_cocoonfs_list_inodes(fs, collect_inode, list), 0);
	/* Inodes 1, 2 and 3 plus the files. */
	assert_int_equal(list->count, json_array_size(files) + 3);
	assert_true(list->inode[0] == 1 && list->inode[1] == 2 &&
		    list->inode[2] == 3);

	json_array_foreach(files, i, want) {
		uint64_t inode = strtoull(jstr(want, "inode_hex"), NULL, 16);
		size_t size = (size_t)jnum(json_object_get(want, "size"));
		uint8_t *buf = malloc(size + 1);
		char hex[65];
		int found = 0;

		assert_non_null(buf);
		assert_int_equal(tb_cocoonfs_file_size(fs, inode, &len), 0);
		assert_int_equal(len, size);
		assert_int_equal(tb_cocoonfs_read_file(fs, inode, buf, size + 1, &len), 0);
		assert_int_equal(len, size);
		sha256_hex(buf, len, hex);
		assert_string_equal(hex, jstr(want, "sha256"));
		for (j = 0; j < list->count; j++) {
			if (list->inode[j] == inode) {
				found = 1;
				assert_int_equal(list->flags[j],
						 jnum(json_object_get(want, "flags")));
			}
		}
		assert_true(found);
		if (size > 0) {
			assert_int_equal(tb_cocoonfs_read_file(fs, inode, buf,
							       size - 1, &len),
					 TPMBOOT_E_BUFFER_TOO_SMALL);
			assert_int_equal(len, size);
		}
		free(buf);
	}
	json_array_foreach(absent, i, want) {
		uint64_t inode = json_is_string(want)
				 ? strtoull(json_string_value(want), NULL, 16)
				 : (uint64_t)jnum(want);

		assert_int_equal(tb_cocoonfs_file_size(fs, inode, &len),
				 TPMBOOT_E_COCOONFS_NO_INODE);
	}
	free(list);
}

/* Opens image `prefix` and checks the manifest's outcome, files and aux. */
static void run_manifest_image(const char *prefix)
{
	json_t *img = image_entry(prefix);
	const char *outcome = jstr(img, "expected_outcome");
	struct tb_cocoonfs_meta *meta = NULL;
	struct tpmboot_fs *fs = NULL;
	struct fixture f;
	uint8_t *key;
	size_t key_len;
	int rc;

	fixture_init(&f, img);
	fixture_snapshot(&f);
	assert_int_equal(tb_cocoonfs_probe(&meta), 0);
	check_aux(meta, img);
	key = key_of(img, "key_hex", &key_len);
	rc = tb_cocoonfs_open(meta, key, key_len, &fs);

	if (strcmp(outcome, "ok") == 0) {
		assert_int_equal(tb_cocoonfs_meta_state(meta), TB_COCOONFS_FORMATTED);
		assert_int_equal(rc, 0);
		check_files(fs, img);
		tb_cocoonfs_close(fs);
	} else if (strcmp(outcome, "unformatted-mkfsinfo-only") == 0) {
		assert_int_equal(tb_cocoonfs_meta_state(meta), TB_COCOONFS_UNFORMATTED);
		assert_int_equal(rc, TPMBOOT_E_COCOONFS_UNFORMATTED);
		assert_null(fs);
	} else if (strcmp(outcome, "journal-active") == 0) {
		assert_int_equal(tb_cocoonfs_meta_state(meta), TB_COCOONFS_JOURNAL_ACTIVE);
		assert_int_equal(rc, TPMBOOT_E_COCOONFS_JOURNAL_ACTIVE);
		assert_true(tb_test_log_contains(&f.tp, "journal"));
	} else {
		assert_int_equal(rc, TPMBOOT_E_COCOONFS_AUTH);
	}
	free(key);

	if (jstr(img, "wrong_key_hex") != NULL) {
		key = key_of(img, "wrong_key_hex", &key_len);
		tb_test_log_clear(&f.tp);
		assert_int_equal(tb_cocoonfs_open(meta, key, key_len, &fs),
				 TPMBOOT_E_COCOONFS_AUTH);
		assert_null(fs);
		assert_true(tb_test_log_contains(&f.tp, "HMAC mismatch"));
		free(key);
	}
	tb_cocoonfs_meta_free(meta);
	fixture_fini(&f);
}

#define IMAGE_TEST(name, prefix) \
	static void name(void **state) { (void)state; run_manifest_image(prefix); }

IMAGE_TEST(test_p01_default, "p01-")
IMAGE_TEST(test_p02_sec192, "p02-")
IMAGE_TEST(test_p03_sec256, "p03-")
IMAGE_TEST(test_p04_many_inodes, "p04-")
IMAGE_TEST(test_p05_file_sizes, "p05-")
IMAGE_TEST(test_p06_fragmented, "p06-")
IMAGE_TEST(test_p07_aux_none, "p07-")
IMAGE_TEST(test_p08_aux_multi, "p08-")
IMAGE_TEST(test_p09_ab256, "p09-")
IMAGE_TEST(test_p10_io4k, "p10-")
IMAGE_TEST(test_p11_mkfsinfo, "p11-")
IMAGE_TEST(test_p12_journal, "p12-")
IMAGE_TEST(test_p13_large, "p13-")
IMAGE_TEST(test_p14_aux_torn, "p14-")

/* Root key of the format reference's worked example (key aabbcc, salt
 * ddeeff, SHA-256 and AES-128 defaults). */
static void test_root_key_vector(void **state)
{
	static const uint8_t layout[CCFS_LAYOUT_LEN] = {
		0x00, 0x02, 0x01, 0x02, 0x02, 0x00, 0x00,
		0x00, 0x0B, 0x00, 0x0B, 0x00, 0x0B, 0x00, 0x0B, 0x00, 0x0B,
		0x00, 0x06, 0x00, 0x80,
	};
	static const uint8_t raw[3] = { 0xaa, 0xbb, 0xcc };
	struct tb_cocoonfs_meta *meta = calloc(1, sizeof(*meta));
	struct tb_test_platform tp;
	uint8_t root[32], *expected;

	(void)state;
	assert_non_null(meta);
	tb_test_platform_init(&tp);
	assert_int_equal(ccfs_layout_decode(&meta->layout, layout), 0);
	meta->salt[0] = 0xdd;
	meta->salt[1] = 0xee;
	meta->salt[2] = 0xff;
	meta->salt_len = 3;
	assert_int_equal(ccfs_root_key(meta, raw, sizeof(raw), root, sizeof(root)), 0);
	assert_int_equal(tb_test_hex_decode("0fc21bbb0c88c98b3d5a77a066a8cdad"
					    "74357612e602d2ec6eac362d919c1064",
					    &expected), 32);
	assert_memory_equal(root, expected, 32);
	free(expected);
	free(meta);
	assert_int_equal(tb_test_platform_fini(&tp), 0);
}

/* Opens p01 (or prefix) cleanly and returns an internal location. */
enum region {
	REGION_TREE_ROOT,
	REGION_TREE_LEAF,
	REGION_BITMAP,
	REGION_ENTRY_LEAF,
	REGION_INDEX_ROOT,
	REGION_TREE_LIST,
};

static uint64_t locate_region(const char *prefix, enum region region)
{
	json_t *img = image_entry(prefix);
	struct tb_cocoonfs_meta *meta = NULL;
	struct tpmboot_fs *fs = NULL;
	struct fixture f;
	uint8_t *key;
	size_t key_len;
	uint64_t offset = 0;

	fixture_init(&f, img);
	key = key_of(img, "key_hex", &key_len);
	assert_int_equal(tb_cocoonfs_probe(&meta), 0);
	assert_int_equal(tb_cocoonfs_open(meta, key, key_len, &fs), 0);
	switch (region) {
	case REGION_TREE_ROOT:
		offset = fs->tree_extents.v[0].begin << fs->layout.ab_log2;
		break;
	case REGION_TREE_LEAF:
		/* DFS index 1 is the first leaf when the tree has 2 levels. */
		assert_int_equal(fs->tree.levels, 2);
		offset = (fs->tree_extents.v[0].begin << fs->layout.ab_log2) +
			 ((uint64_t)1 << fs->layout.node_log2);
		break;
	case REGION_BITMAP:
		offset = fs->bitmap_extents.v[0].begin << fs->layout.ab_log2;
		break;
	case REGION_ENTRY_LEAF:
		offset = fs->entry_leaf_ab << fs->layout.ab_log2;
		break;
	case REGION_INDEX_ROOT:
		offset = (fs->index_root_ptr >> 7) << fs->layout.ab_log2;
		break;
	case REGION_TREE_LIST: {
		uint64_t ptr;
		uint32_t flags;

		/* The tree's extents list (inode 1) is indirect in p01. */
		assert_int_equal(ccfs_index_lookup(fs, 1, &ptr, &flags), 0);
		assert_true(ptr & 1);
		offset = (ptr >> 7) << fs->layout.ab_log2;
		break;
	}
	}
	tb_cocoonfs_close(fs);
	tb_cocoonfs_meta_free(meta);
	free(key);
	fixture_fini(&f);
	return offset;
}

/*
 * Flips one byte of image prefix at offset, then probes, opens and reads
 * every listed file. The first failure must be expected_rc, with a log line
 * containing log_needle.
 */
static void tamper_xor(const char *prefix, uint64_t offset, uint8_t xor,
		       int expected_rc, const char *log_needle)
{
	json_t *img = image_entry(prefix);
	struct tb_cocoonfs_meta *meta = NULL;
	struct tpmboot_fs *fs = NULL;
	json_t *file;
	struct fixture f;
	uint8_t *key, *buf;
	size_t key_len, i, len;
	int rc;

	fixture_init(&f, img);
	assert_true(offset < f.len);
	f.image[offset] ^= xor;
	fixture_snapshot(&f);
	key = key_of(img, "key_hex", &key_len);

	rc = tb_cocoonfs_probe(&meta);
	if (rc == 0)
		rc = tb_cocoonfs_open(meta, key, key_len, &fs);
	json_array_foreach(json_object_get(img, "files"), i, file) {
		uint64_t inode = strtoull(jstr(file, "inode_hex"), NULL, 16);
		size_t size = (size_t)jnum(json_object_get(file, "size"));

		if (rc != 0)
			break;
		buf = malloc(size + 1);
		assert_non_null(buf);
		rc = tb_cocoonfs_read_file(fs, inode, buf, size + 1, &len);
		free(buf);
	}
	print_message("tamper %s byte %llu: rc %d\n", prefix,
		      (unsigned long long)offset, rc);
	assert_int_equal(rc, expected_rc);
	assert_true(tb_test_log_contains(&f.tp, log_needle));

	tb_cocoonfs_close(fs);
	tb_cocoonfs_meta_free(meta);
	free(key);
	fixture_fini(&f);
}

static void tamper_case(const char *prefix, uint64_t offset, int expected_rc,
			const char *log_needle)
{
	tamper_xor(prefix, offset, 0x5A, expected_rc, log_needle);
}

static void test_tamper_static_header(void **state)
{
	(void)state;
	/* Byte 300 is zero padding inside the CRC-covered static header. */
	tamper_case("p01-", 300, TPMBOOT_E_COCOONFS_CHECKSUM, "checksum pair mismatch");
	/* Byte 20 is in the XOR-masked tier 0 region (an algorithm ID). */
	tamper_case("p01-", 20, TPMBOOT_E_COCOONFS_CHECKSUM, "static image header");
}

static void test_tamper_mutable_header(void **state)
{
	(void)state;
	/* Root HMAC starts 16 bytes into the mutable header at 512. */
	tamper_case("p01-", 512 + 16, TPMBOOT_E_COCOONFS_AUTH, "root HMAC mismatch");
	/* Pre-auth HMAC of the entry leaf: after root HMAC and counter. */
	tamper_case("p01-", 512 + 16 + 32 + 16, TPMBOOT_E_COCOONFS_AUTH,
		    "pre-auth HMAC mismatch");
	/* Image size 2048 -> 1024 AB: still a plausible size, but the root
	 * HMAC binds it through the image context. */
	tamper_xor("p01-", 512 + 16 + 32 + 16 + 32 + 8 + 1, 0x0C,
		   TPMBOOT_E_COCOONFS_AUTH, "root HMAC mismatch");
	/* Image size 2048 -> 0x5A08 AB: larger than the device. */
	tamper_case("p01-", 512 + 16 + 32 + 16 + 32 + 8 + 1,
		    TPMBOOT_E_COCOONFS_DEVICE, "exceeds the device");
}

static void test_tamper_aux_metadata(void **state)
{
	(void)state;
	/* The p01 group 0 head at AB 176 contains the entries. Group 1 is
	 * inactive, so no intact active group remains. */
	tamper_case("p01-", 176 * 128 + 200, TPMBOOT_E_COCOONFS_AUX_TORN,
		    "CRC-32 checksum pair mismatch");
}

static void test_tamper_auth_tree(void **state)
{
	(void)state;
	tamper_case("p01-", locate_region("p01-", REGION_TREE_ROOT) + 5,
		    TPMBOOT_E_COCOONFS_AUTH, "root HMAC mismatch");
	tamper_case("p01-", locate_region("p01-", REGION_TREE_LEAF) + 40,
		    TPMBOOT_E_COCOONFS_AUTH, "does not match its parent entry");
}

static void test_tamper_tree_extents_list(void **state)
{
	(void)state;
	/* Byte 100 lies in the ciphertext after the inline tag and IV. */
	tamper_case("p01-", locate_region("p01-", REGION_TREE_LIST) + 100,
		    TPMBOOT_E_COCOONFS_AUTH, "inline HMAC mismatch");
}

/* A journal head that fails its integrity check is a torn write and
 * counts as absent, so p12 then opens with the state from before the
 * committed transaction, as upstream would read it. */
static void test_journal_torn_head(void **state)
{
	json_t *img = image_entry("p12-");
	json_t *before = json_array_get(json_object_get(json_object_get(img,
		"journal_state"), "files_before_transaction"), 0);
	uint64_t offset = (uint64_t)jnum(json_object_get(json_object_get(img,
		"structure"), "journal_head_byte_offset"));
	struct tb_cocoonfs_meta *meta = NULL;
	struct tpmboot_fs *fs = NULL;
	uint8_t *key, *buf = malloc(16384);
	struct fixture f;
	size_t key_len, len;
	char hex[65];

	(void)state;
	assert_non_null(buf);
	fixture_init(&f, img);
	f.image[offset + 200] ^= 0x01;
	fixture_snapshot(&f);
	key = key_of(img, "key_hex", &key_len);
	assert_int_equal(tb_cocoonfs_probe(&meta), 0);
	assert_int_equal(tb_cocoonfs_meta_state(meta), TB_COCOONFS_FORMATTED);
	assert_true(tb_test_log_contains(&f.tp, "journal log head at AB 8 is torn"));
	assert_int_equal(tb_cocoonfs_open(meta, key, key_len, &fs), 0);
	assert_int_equal(tb_cocoonfs_read_file(fs, TPMBOOT_INODE_NVCHIP, buf,
					       16384, &len), 0);
	sha256_hex(buf, len, hex);
	assert_string_equal(hex, jstr(before, "sha256"));
	tb_cocoonfs_close(fs);
	tb_cocoonfs_meta_free(meta);
	free(key);
	free(buf);
	fixture_fini(&f);
}

/* With the header at the start wiped, as after an interrupted online
 * mkfs, the mkfsinfo backup near the end still marks p11 unformatted. The
 * backup's aux blob is from the time of write-mkfs-info-header, before the
 * entry was added offline, so it decodes to no entries. */
static void test_mkfsinfo_backup_header(void **state)
{
	json_t *img = image_entry("p11-");
	struct tb_cocoonfs_meta *meta = NULL;
	struct fixture f;

	(void)state;
	fixture_init(&f, img);
	memset(f.image, 0, 512);
	fixture_snapshot(&f);
	assert_int_equal(tb_cocoonfs_probe(&meta), 0);
	assert_int_equal(tb_cocoonfs_meta_state(meta), TB_COCOONFS_UNFORMATTED);
	assert_true(tb_test_log_contains(&f.tp, "mkfsinfo backup header at byte 245760"));
	assert_int_equal(tb_cocoonfs_aux_count(meta), 0);
	tb_cocoonfs_meta_free(meta);
	fixture_fini(&f);

	/* Without the backup either, nothing is found. */
	fixture_init(&f, img);
	memset(f.image, 0, 512);
	memset(f.image + 245760, 0, 512);
	fixture_snapshot(&f);
	assert_int_equal(tb_cocoonfs_probe(&meta), TPMBOOT_E_COCOONFS_BAD_MAGIC);
	assert_null(meta);
	fixture_fini(&f);
}

static void test_tamper_data_block(void **state)
{
	(void)state;
	/* p01 NVChip data starts at AB 192 (manifest structure). */
	tamper_case("p01-", 192 * 128 + 1000, TPMBOOT_E_COCOONFS_AUTH,
		    "digest does not match the authentication tree leaf entry");
}

static void test_tamper_index_node(void **state)
{
	(void)state;
	tamper_case("p01-", locate_region("p01-", REGION_ENTRY_LEAF) + 50,
		    TPMBOOT_E_COCOONFS_AUTH, "pre-auth HMAC mismatch");
	/* p04 has a 4-level index; its root is an internal node read
	 * through the tree. */
	tamper_case("p04-", locate_region("p04-", REGION_INDEX_ROOT) + 50,
		    TPMBOOT_E_COCOONFS_AUTH,
		    "digest does not match the authentication tree leaf entry");
}

static void test_tamper_bitmap(void **state)
{
	(void)state;
	tamper_case("p01-", locate_region("p01-", REGION_BITMAP) + 100,
		    TPMBOOT_E_COCOONFS_AUTH,
		    "digest does not match the authentication tree leaf entry");
}

/*
 * p09 has 256-byte ABs and 512-byte leaf nodes. An entry leaf pointer at
 * the last AB passes the mutable header's range check, but the leaf would
 * end past the image: open rejects it with a log line naming the leaf.
 */
static void test_entry_leaf_past_image_end(void **state)
{
	json_t *img = image_entry("p09-");
	struct tb_cocoonfs_meta *meta = NULL;
	struct tpmboot_fs *fs = NULL;
	const size_t mutable_header = 1024, leaf_ptr = mutable_header + 96;
	uint64_t image_ab;
	struct fixture f;
	uint8_t *key;
	size_t key_len, i;

	(void)state;
	fixture_init(&f, img);
	image_ab = 0;
	for (i = 0; i < 8; i++)
		image_ab |= (uint64_t)f.image[leaf_ptr + 8 + i] << (8 * i);
	assert_int_equal(image_ab, f.len / 256);
	for (i = 0; i < 8; i++)
		f.image[leaf_ptr + i] = (uint8_t)(((image_ab - 1) << 7) >> (8 * i));
	fixture_snapshot(&f);
	key = key_of(img, "key_hex", &key_len);

	assert_int_equal(tb_cocoonfs_probe(&meta), 0);
	assert_int_equal(tb_cocoonfs_open(meta, key, key_len, &fs),
			 TPMBOOT_E_COCOONFS_MUTABLE_HEADER);
	assert_null(fs);
	assert_true(tb_test_log_contains(&f.tp, "entry leaf at AB 2047"));

	tb_cocoonfs_meta_free(meta);
	free(key);
	fixture_fini(&f);
}

/* A device whose blocks are larger than the image's IO block is refused. */
static struct fixture *big_block_fixture;

static int big_block_read(void *ctx, uint64_t first, uint32_t count, void *buf)
{
	(void)ctx;
	memcpy(buf, big_block_fixture->image + (first << 12), (size_t)count << 12);
	return 0;
}

static void test_device_block_too_large(void **state)
{
	struct tb_cocoonfs_meta *meta = NULL;
	struct fixture f;

	(void)state;
	fixture_init(&f, image_entry("p01-"));
	fixture_snapshot(&f);
	big_block_fixture = &f;
	f.tp.platform.block_size_log2 = 12;
	f.tp.platform.block_count = f.len >> 12;
	f.tp.platform.block_read = big_block_read;
	assert_int_equal(tb_cocoonfs_probe(&meta), TPMBOOT_E_COCOONFS_DEVICE);
	assert_null(meta);
	assert_true(tb_test_log_contains(&f.tp, "exceeds the image IO block size"));
	fixture_fini(&f);
}

/* p10 has 4 KiB IO blocks, so a 4 KiB-block device reads it. */
static void test_device_block_4k(void **state)
{
	json_t *img = image_entry("p10-");
	struct tb_cocoonfs_meta *meta = NULL;
	struct tpmboot_fs *fs = NULL;
	struct fixture f;
	uint8_t *key;
	size_t key_len;

	(void)state;
	fixture_init(&f, img);
	fixture_snapshot(&f);
	big_block_fixture = &f;
	f.tp.platform.block_size_log2 = 12;
	f.tp.platform.block_count = f.len >> 12;
	f.tp.platform.block_read = big_block_read;
	key = key_of(img, "key_hex", &key_len);
	assert_int_equal(tb_cocoonfs_probe(&meta), 0);
	assert_int_equal(tb_cocoonfs_open(meta, key, key_len, &fs), 0);
	check_files(fs, img);
	tb_cocoonfs_close(fs);
	tb_cocoonfs_meta_free(meta);
	free(key);
	fixture_fini(&f);
}

/* Algorithm IDs other than SHA-256/384/512 and AES are refused by name. */
static void test_unsupported_algorithm(void **state)
{
	static const uint8_t base[CCFS_LAYOUT_LEN] = {
		0x00, 0x02, 0x01, 0x02, 0x02, 0x00, 0x00,
		0x00, 0x0B, 0x00, 0x0B, 0x00, 0x0B, 0x00, 0x0B, 0x00, 0x0B,
		0x00, 0x06, 0x00, 0x80,
	};
	struct ccfs_layout layout;
	struct tb_test_platform tp;
	uint8_t enc[CCFS_LAYOUT_LEN];

	(void)state;
	tb_test_platform_init(&tp);
	tp.log_echo = 0;
	assert_int_equal(ccfs_layout_decode(&layout, base), 0);

	memcpy(enc, base, sizeof(enc));
	enc[8] = 0x04; /* SHA-1 as the auth tree node hash */
	assert_int_equal(ccfs_layout_decode(&layout, enc), TPMBOOT_E_COCOONFS_ALGORITHM);
	assert_true(tb_test_log_contains(&tp, "unsupported algorithm 0x0004"));

	memcpy(enc, base, sizeof(enc));
	enc[16] = 0x12; /* SM3 as the KDF hash */
	assert_int_equal(ccfs_layout_decode(&layout, enc), TPMBOOT_E_COCOONFS_ALGORITHM);
	assert_true(tb_test_log_contains(&tp, "unsupported algorithm 0x0012"));

	memcpy(enc, base, sizeof(enc));
	enc[18] = 0x26; /* Camellia */
	assert_int_equal(ccfs_layout_decode(&layout, enc), TPMBOOT_E_COCOONFS_ALGORITHM);
	assert_true(tb_test_log_contains(&tp, "unsupported algorithm 0x0026"));

	memcpy(enc, base, sizeof(enc));
	enc[20] = 0x40; /* AES with 64-bit keys */
	assert_int_equal(ccfs_layout_decode(&layout, enc), TPMBOOT_E_COCOONFS_ALGORITHM);

	assert_int_equal(tb_test_platform_fini(&tp), 0);
}

/* Open + read of the 16 KiB NVChip stays within 64 KiB of heap. */
static void test_nvchip_heap_peak(void **state)
{
	json_t *img = image_entry("p01-");
	struct tb_cocoonfs_meta *meta = NULL;
	struct tpmboot_fs *fs = NULL;
	struct fixture f;
	uint8_t *key, *buf = malloc(16384);
	size_t key_len, len;

	(void)state;
	assert_non_null(buf);
	fixture_init(&f, img);
	fixture_snapshot(&f);
	key = key_of(img, "key_hex", &key_len);
	f.tp.heap_peak = f.tp.heap_in_use;
	assert_int_equal(tb_cocoonfs_probe(&meta), 0);
	assert_int_equal(tb_cocoonfs_open(meta, key, key_len, &fs), 0);
	assert_int_equal(tb_cocoonfs_read_file(fs, TPMBOOT_INODE_NVCHIP, buf,
					       16384, &len), 0);
	assert_int_equal(len, 16384);
	print_message("probe + open + read NVChip: heap peak %zu bytes\n",
		      f.tp.heap_peak);
	assert_true(f.tp.heap_peak <= 64 * 1024);
	tb_cocoonfs_close(fs);
	tb_cocoonfs_meta_free(meta);
	free(key);
	free(buf);
	fixture_fini(&f);
}

/* Reads p13's 4 MiB file and prints the rate (informative; the benchmark
 * target measures it properly). */
static void test_large_file_rate(void **state)
{
	json_t *img = image_entry("p13-");
	json_t *want = json_array_get(json_object_get(img, "files"), 1);
	size_t size = (size_t)jnum(json_object_get(want, "size"));
	struct tb_cocoonfs_meta *meta = NULL;
	struct tpmboot_fs *fs = NULL;
	uint8_t *key, *buf = malloc(size);
	struct timespec t0, t1;
	struct fixture f;
	size_t key_len, len;
	double seconds;
	char hex[65];

	(void)state;
	assert_non_null(buf);
	fixture_init(&f, img);
	key = key_of(img, "key_hex", &key_len);
	assert_int_equal(tb_cocoonfs_probe(&meta), 0);
	assert_int_equal(tb_cocoonfs_open(meta, key, key_len, &fs), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(tb_cocoonfs_read_file(fs, strtoull(jstr(want, "inode_hex"),
							     NULL, 16),
					       buf, size, &len), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_int_equal(len, size);
	sha256_hex(buf, len, hex);
	assert_string_equal(hex, jstr(want, "sha256"));
	seconds = (double)(t1.tv_sec - t0.tv_sec) +
		  (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	print_message("read %zu bytes in %.3f s: %.1f MB/s\n", len, seconds,
		      (double)len / seconds / 1e6);
	tb_cocoonfs_close(fs);
	tb_cocoonfs_meta_free(meta);
	free(key);
	free(buf);
	fixture_fini(&f);
}

static int setup(void **state)
{
	json_error_t err;

	(void)state;
	/* Inodes up to 2^64 - 1 overflow json_int_t: decode numbers as reals
	 * and use the inode_hex strings for inodes. */
	manifest = json_load_file(tb_test_shared_path(CORPUS "manifest.json"),
				  JSON_DECODE_INT_AS_REAL, &err);
	if (manifest == NULL)
		print_error("manifest.json: %s (line %d)\n", err.text, err.line);
	return manifest == NULL ? -1 : 0;
}

static int teardown(void **state)
{
	(void)state;
	json_decref(manifest);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_root_key_vector),
		cmocka_unit_test(test_p01_default),
		cmocka_unit_test(test_p02_sec192),
		cmocka_unit_test(test_p03_sec256),
		cmocka_unit_test(test_p04_many_inodes),
		cmocka_unit_test(test_p05_file_sizes),
		cmocka_unit_test(test_p06_fragmented),
		cmocka_unit_test(test_p07_aux_none),
		cmocka_unit_test(test_p08_aux_multi),
		cmocka_unit_test(test_p09_ab256),
		cmocka_unit_test(test_p10_io4k),
		cmocka_unit_test(test_p11_mkfsinfo),
		cmocka_unit_test(test_p12_journal),
		cmocka_unit_test(test_p13_large),
		cmocka_unit_test(test_p14_aux_torn),
		cmocka_unit_test(test_tamper_static_header),
		cmocka_unit_test(test_tamper_mutable_header),
		cmocka_unit_test(test_tamper_aux_metadata),
		cmocka_unit_test(test_tamper_auth_tree),
		cmocka_unit_test(test_tamper_tree_extents_list),
		cmocka_unit_test(test_journal_torn_head),
		cmocka_unit_test(test_mkfsinfo_backup_header),
		cmocka_unit_test(test_tamper_data_block),
		cmocka_unit_test(test_tamper_index_node),
		cmocka_unit_test(test_tamper_bitmap),
		cmocka_unit_test(test_entry_leaf_past_image_end),
		cmocka_unit_test(test_device_block_too_large),
		cmocka_unit_test(test_device_block_4k),
		cmocka_unit_test(test_unsupported_algorithm),
		cmocka_unit_test(test_nvchip_heap_peak),
		cmocka_unit_test(test_large_file_rate),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

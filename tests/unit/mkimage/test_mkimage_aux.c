/*
 * Keyless aux metadata updates (tpmboot-mkimage aux add / remove) on
 * copies of the upstream-made corpus images and on images made by mkfs.
 * Afterwards the reader still opens them with their key, lists the new
 * entries next to the old ones, and reads every file unchanged. Failed
 * updates leave the image byte-identical.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mkimage_test_util.h"

static const uint8_t last_uuid[MK_UUID_LEN] = {
	0xff, 0xee, 0xdd, 0xcc, 0xbb, 0xaa, 0x49, 0x88,
	0x97, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, 0x00,
};
static const uint8_t first_uuid[MK_UUID_LEN] = {
	0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x40, 0x00,
	0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
};

/* Checks the image against its manifest entry: the old aux entries
 * (plus extra, which sorts last or first), and every file's hash. */
static void check_image(uint8_t *image, size_t len, json_t *img,
			const uint8_t *extra_uuid, const uint8_t *extra,
			size_t extra_len)
{
	json_t *entries = json_object_get(json_object_get(img, "aux_metadata"),
					  "entries");
	json_t *files = json_object_get(img, "files"), *f;
	struct tb_test_platform tp;
	struct tb_cocoonfs_meta *meta;
	struct tpmboot_fs *fs;
	struct tb_cocoonfs_aux_entry e;
	size_t key_len, i, old = json_array_size(entries), at = 0;
	uint8_t *key = mt_key(img, &key_len);
	int extra_first = extra_uuid != NULL && extra_uuid[0] == 0;

	tb_test_platform_init(&tp);
	tp.log_echo = 0;
	assert_int_equal(mt_open(&tp, image, len, key, key_len, &meta, &fs), 0);
	assert_int_equal(tb_cocoonfs_aux_count(meta), old + (extra ? 1 : 0));
	if (extra_first) {
		assert_int_equal(tb_cocoonfs_aux_get(meta, 0, &e), 0);
		assert_memory_equal(e.uuid, extra_uuid, MK_UUID_LEN);
		at = 1;
	}
	for (i = 0; i < old; i++) {
		json_t *want = json_array_get(entries, i);
		uint8_t uuid[MK_UUID_LEN];
		char hash[65];

		assert_int_equal(tb_cocoonfs_aux_get(meta, at + i, &e), 0);
		mk_parse_uuid(json_string_value(json_object_get(want, "uuid")),
			      uuid);
		assert_memory_equal(e.uuid, uuid, MK_UUID_LEN);
		mt_sha256_hex(e.data, e.len, hash);
		assert_string_equal(hash, json_string_value(json_object_get(want,
								  "sha256")));
	}
	if (extra && !extra_first) {
		assert_int_equal(tb_cocoonfs_aux_get(meta, old, &e), 0);
		assert_memory_equal(e.uuid, extra_uuid, MK_UUID_LEN);
		assert_int_equal(e.len, extra_len);
		assert_memory_equal(e.data, extra, extra_len);
	}
	json_array_foreach(files, i, f) {
		uint64_t inode = strtoull(json_string_value(json_object_get(f,
							    "inode_hex")),
					  NULL, 16);
		size_t flen = 0;
		uint8_t *data = mt_read(fs, inode, &flen);
		char hash[65];

		assert_non_null(data);
		mt_sha256_hex(data, flen, hash);
		assert_string_equal(hash, json_string_value(json_object_get(f,
								  "sha256")));
		free(data);
	}
	tb_cocoonfs_close(fs);
	tb_cocoonfs_meta_free(meta);
	assert_int_equal(tb_test_platform_fini(&tp), 0);
	free(key);
}

/* Every byte outside [begin, end) ABs of aux extents must be unchanged:
 * compares with the original and returns the number of changed ABs. */
static size_t changed_abs(const uint8_t *a, const uint8_t *b, size_t len)
{
	size_t i, n = 0;

	for (i = 0; i < len; i += 128)
		n += memcmp(a + i, b + i, 128) != 0;
	return n;
}

static const char *const updatable[] = {
	"p01-default-svsm.img", "p02-sec192-svsm.img", "p03-sec256-svsm.img",
	"p04-many-inodes.img", "p05-file-sizes.img", "p06-history-fragmented.img",
	"p08-aux-multi.img", "p09-geom-ab256.img", "p10-geom-io4k.img",
	"p13-large-4mib.img", "p14-aux-torn-update.img",
};

static void test_add_on_corpus(void **state)
{
	static const uint8_t data[] = "entry added without the key";
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(updatable) / sizeof(updatable[0]); i++) {
		json_t *img = mt_image(updatable[i]);
		size_t len;
		uint8_t *orig = mt_load_image(updatable[i], &len);
		uint8_t *copy = malloc(len);

		assert_non_null(orig);
		memcpy(copy, orig, len);
		assert_int_equal(mk_aux_offline_update(copy, len, MK_AUX_ADD,
						       last_uuid, data,
						       sizeof(data), 0), MK_OK);
		check_image(copy, len, img, last_uuid, data, sizeof(data));
		/* Only the aux extents change: a few dozen ABs at most. */
		assert_in_range(changed_abs(copy, orig, len), 1, 160);

		/* A second update sorts an entry in front of the others. */
		assert_int_equal(mk_aux_offline_update(copy, len, MK_AUX_REMOVE,
						       last_uuid, NULL, 0, 0),
				 MK_OK);
		check_image(copy, len, img, NULL, NULL, 0);
		assert_int_equal(mk_aux_offline_update(copy, len, MK_AUX_ADD,
						       first_uuid, data, 1, 0),
				 MK_OK);
		check_image(copy, len, img, first_uuid, data, 1);
		free(copy);
		free(orig);
	}
}

/* After an offline update both group heads are intact and active: group
 * 1 contains the old metadata with its old state, group 0 the new one. The
 * new encoding plus the 1 KiB reserve still fits p01's groups with less
 * than a journal block to spare, so no reallocation is asked for (state
 * 1, not 2). */
static void test_group_states_after_add(void **state)
{
	size_t len;
	uint8_t *image = mt_load_image("p01-default-svsm.img", &len);
	struct tb_test_platform tp;
	struct tb_cocoonfs_meta *meta;
	uint64_t g0, g1;
	uint8_t copy[1536];

	(void)state;
	assert_int_equal(mk_aux_offline_update(image, len, MK_AUX_ADD, last_uuid,
					       (const uint8_t *)"x", 1, 0), MK_OK);
	g0 = tb_load_le64(image + 512) >> 7;
	g1 = tb_load_le64(image + 520) >> 7;
	assert_int_equal(g0, 176);
	assert_int_equal(g1, 320);
	memcpy(copy, image + g0 * 128, sizeof(copy));
	assert_int_equal(ccfs_integrity_verify(copy, sizeof(copy), 0, 17, 2,
					       TPMBOOT_LOG_ERROR, "g0", g0), 0);
	assert_int_equal(copy[16], 1);
	memcpy(copy, image + g1 * 128, sizeof(copy));
	assert_int_equal(ccfs_integrity_verify(copy, sizeof(copy), 0, 17, 2,
					       TPMBOOT_LOG_ERROR, "g1", g1), 0);
	assert_int_equal(copy[16], 1);
	tb_test_platform_init(&tp);
	tp.log_echo = 0;
	tb_test_platform_use_image_buffer(&tp, image, len);
	assert_int_equal(tb_cocoonfs_probe(&meta), 0);
	assert_int_equal(tb_cocoonfs_aux_count(meta), 2);
	tb_cocoonfs_meta_free(meta);
	assert_int_equal(tb_test_platform_fini(&tp), 0);
	free(image);
}

/* An entry beyond the reserve fails and changes nothing. */
static void test_add_beyond_reserve(void **state)
{
	size_t len;
	uint8_t *orig = mt_load_image("p01-default-svsm.img", &len);
	uint8_t *copy = malloc(len);
	uint8_t *big = calloc(1, 1400);

	(void)state;
	memcpy(copy, orig, len);
	assert_int_equal(mk_aux_offline_update(copy, len, MK_AUX_ADD, last_uuid,
					       big, 1400, 0), MK_E_NOSPACE);
	assert_memory_equal(copy, orig, len);
	/* 1300 bytes still fit the 1494-byte groups next to the old entry. */
	assert_int_equal(mk_aux_offline_update(copy, len, MK_AUX_ADD, last_uuid,
					       big, 1300, 0), MK_OK);
	memcpy(orig, copy, len);
	assert_int_equal(mk_aux_offline_update(copy, len, MK_AUX_ADD, first_uuid,
					       big, 100, 0), MK_E_NOSPACE);
	assert_memory_equal(copy, orig, len);
	free(big);
	free(copy);
	free(orig);
}

static void test_update_refusals(void **state)
{
	static const uint8_t zero[MK_UUID_LEN];
	const char *names[] = { "p07-aux-none.img", "p11-mkfsinfo-only.img",
				"p12-journal-active.img" };
	const int want[] = { MK_E_NOSPACE, MK_E_FORMAT, MK_E_FORMAT };
	size_t i, len;

	(void)state;
	for (i = 0; i < 3; i++) {
		uint8_t *orig = mt_load_image(names[i], &len);
		uint8_t *copy = malloc(len);

		memcpy(copy, orig, len);
		assert_int_equal(mk_aux_offline_update(copy, len, MK_AUX_ADD,
						       last_uuid,
						       (const uint8_t *)"a", 1, 0),
				 want[i]);
		assert_memory_equal(copy, orig, len);
		free(copy);
		free(orig);
	}
	{
		uint8_t *orig = mt_load_image("p08-aux-multi.img", &len);

		assert_int_equal(mk_aux_offline_update(orig, len, MK_AUX_REMOVE,
						       last_uuid, NULL, 0, 0),
				 MK_E_NOT_FOUND);
		assert_int_equal(mk_aux_offline_update(orig, len, MK_AUX_ADD,
						       zero, NULL, 0, 0),
				 MK_E_USAGE);
		free(orig);
	}
}

/* Removing the second of two entries with the same UUID keeps the first. */
static void test_remove_duplicate(void **state)
{
	json_t *img = mt_image("p08-aux-multi.img");
	struct tb_test_platform tp;
	struct tb_cocoonfs_meta *meta;
	struct tb_cocoonfs_aux_entry e;
	uint8_t uuid[MK_UUID_LEN];
	size_t len;
	uint8_t *image = mt_load_image("p08-aux-multi.img", &len);

	(void)state;
	mk_parse_uuid("692df041-8d1a-440c-a975-5cf66ea4a299", uuid);
	assert_int_equal(mk_aux_offline_update(image, len, MK_AUX_REMOVE, uuid,
					       NULL, 0, 1), MK_OK);
	tb_test_platform_init(&tp);
	tp.log_echo = 0;
	tb_test_platform_use_image_buffer(&tp, image, len);
	assert_int_equal(tb_cocoonfs_probe(&meta), 0);
	assert_int_equal(tb_cocoonfs_aux_count(meta),
			 json_array_size(json_object_get(json_object_get(img,
						"aux_metadata"), "entries")) - 1);
	assert_int_equal(tb_cocoonfs_aux_find(meta, uuid, 0, &e), 0);
	assert_int_equal(e.len, 64);
	assert_int_equal(tb_cocoonfs_aux_find(meta, uuid, 1, &e),
			 TPMBOOT_E_COCOONFS_NO_AUX_ENTRY);
	tb_cocoonfs_meta_free(meta);
	assert_int_equal(tb_test_platform_fini(&tp), 0);
	free(image);
}

/* On an mkfs image: updates until the reserve is used up, then NoSpace. */
static void test_mkfs_image_reserve(void **state)
{
	static const uint8_t key[] = { 0x42 };
	struct mk_file f = { 0x100000000ull, 0, (const uint8_t *)"nv", 2 };
	struct tb_test_platform tp;
	struct tb_cocoonfs_meta *meta;
	struct tpmboot_fs *fs;
	struct mk_params p;
	uint8_t *image, uuid[MK_UUID_LEN] = { 0x50 }, blob[200] = { 7 };
	size_t len, added = 0;
	int rc;

	(void)state;
	mk_params_init(&p);
	p.image_size = 128u << 10;
	p.aux_reserve = 1000;
	assert_int_equal(mk_mkfs(&p, key, 1, &f, 1, NULL, 0, &image, &len), MK_OK);
	while ((rc = mk_aux_offline_update(image, len, MK_AUX_ADD, uuid, blob,
					   sizeof(blob), 0)) == MK_OK) {
		added++;
		uuid[1]++;
	}
	assert_int_equal(rc, MK_E_NOSPACE);
	/* 28 bytes of terminator plus 1000 of reserve round up to 1536-byte
	 * groups with 1494 payload bytes: six 220-byte records fit. */
	assert_int_equal(added, 6);
	tb_test_platform_init(&tp);
	tp.log_echo = 0;
	assert_int_equal(mt_open(&tp, image, len, key, 1, &meta, &fs), 0);
	assert_int_equal(tb_cocoonfs_aux_count(meta), 6);
	tb_cocoonfs_close(fs);
	tb_cocoonfs_meta_free(meta);
	assert_int_equal(tb_test_platform_fini(&tp), 0);
	free(image);
}

/* Rewrites the chain pointers of the aux extent at AB ab (len_ab ABs,
 * a group head when head is set) and re-applies its integrity data, as a
 * hostile image would carry them. */
static void set_chain_pointers(uint8_t *image, uint64_t ab, size_t len_ab,
			       int head, uint64_t next, uint64_t next2)
{
	size_t len = len_ab * 128;
	uint8_t *copy = malloc(len);

	memcpy(copy, image + ab * 128, len);
	assert_int_equal(ccfs_integrity_verify(copy, len, 0, head ? 17 : 16, 2,
					       TPMBOOT_LOG_ERROR, "aux", ab), 0);
	tb_store_le64(copy, next);
	tb_store_le64(copy + 8, next2);
	mk_integrity_apply(copy, len, 0, head ? 17 : 16, 2);
	memcpy(image + ab * 128, copy, len);
	free(copy);
}

/* Hostile chain pointers in an intact group head: every one is rejected
 * with MK_E_FORMAT (or, for a head that points at itself, with a group 1
 * that is empty), and a failed update leaves the image byte-identical. */
static void test_hostile_chain_pointers(void **state)
{
	/* p01: group heads at ABs 176 and 320, 12-AB extents, 4-AB
	 * alignment, 2 KiB of static and mutable header before AB 16. */
	const uint64_t g0 = 176, g1 = 320, len_ab = 12;
	const uint64_t ptr_g0 = g0 << 7 | (len_ab - 1) << 1;
	const uint64_t ptr_g1 = g1 << 7 | (len_ab - 1) << 1;
	const struct {
		uint64_t next, next2;
		int want;
	} cases[] = {
		{ (uint64_t)8 << 7 | 3 << 1, ptr_g1, MK_E_FORMAT },   /* header */
		{ (uint64_t)178 << 7 | 3 << 1, ptr_g1, MK_E_FORMAT }, /* unaligned */
		{ ptr_g1 | 1, ptr_g1, MK_E_FORMAT },                  /* flag bit */
		{ (uint64_t)1 << 40 | 3 << 1, ptr_g1, MK_E_FORMAT },  /* beyond */
		{ (uint64_t)180 << 7 | 3 << 1, ptr_g1, MK_E_FORMAT }, /* overlap */
		{ UINT64_MAX, ptr_g1, MK_E_FORMAT },                  /* nil */
		{ ptr_g0, ptr_g0, MK_E_NOSPACE },                     /* self */
	};
	size_t i, len;
	uint8_t *orig = mt_load_image("p01-default-svsm.img", &len);

	(void)state;
	assert_int_equal(tb_load_le64(orig + 512), ptr_g0);
	assert_int_equal(tb_load_le64(orig + 520), ptr_g1);
	for (i = 0; i < TB_ARRAY_SIZE(cases); i++) {
		uint8_t *image = malloc(len), *before = malloc(len);
		struct mk_aux aux = { 0 };
		int unformatted = 0, rc;

		memcpy(image, orig, len);
		set_chain_pointers(image, g0, len_ab, 1, cases[i].next,
				   cases[i].next2);
		memcpy(before, image, len);

		rc = mk_aux_read_image(image, len, &aux, &unformatted);
		if (cases[i].want == MK_E_FORMAT)
			assert_int_equal(rc, MK_E_FORMAT);
		mk_aux_free(&aux);
		assert_int_equal(mk_aux_offline_update(image, len, MK_AUX_ADD,
						       last_uuid,
						       (const uint8_t *)"x", 1, 0),
				 cases[i].want);
		assert_memory_equal(image, before, len);
		free(before);
		free(image);
	}
	free(orig);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_on_corpus),
		cmocka_unit_test(test_group_states_after_add),
		cmocka_unit_test(test_add_beyond_reserve),
		cmocka_unit_test(test_update_refusals),
		cmocka_unit_test(test_remove_duplicate),
		cmocka_unit_test(test_mkfs_image_reserve),
		cmocka_unit_test(test_hostile_chain_pointers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * tpmboot-mkimage mkfs and write-mkfs-info: headers byte-identical to the
 * upstream-made corpus, the same placement of the tree and bitmap, and
 * images that the module's reader opens with every file byte-exact.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mkimage_test_util.h"

static const char *const formatted_images[] = {
	"p01-default-svsm.img", "p02-sec192-svsm.img", "p03-sec256-svsm.img",
	"p04-many-inodes.img", "p05-file-sizes.img", "p06-history-fragmented.img",
	"p07-aux-none.img", "p08-aux-multi.img", "p09-geom-ab256.img",
	"p10-geom-io4k.img", "p12-journal-active.img", "p13-large-4mib.img",
	"p14-aux-torn-update.img",
};

/* The static header depends only on the parameters and the salt. */
static void test_static_header_matches_corpus(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(formatted_images) / sizeof(formatted_images[0]);
	     i++) {
		json_t *img = mt_image(formatted_images[i]);
		struct mk_params p;
		struct mk_geometry g;
		uint8_t layout[CCFS_LAYOUT_LEN], *golden, *mine;
		size_t golden_len;

		assert_non_null(img);
		mt_params(img, &p);
		assert_int_equal(mk_layout_encode(&p, layout), MK_OK);
		assert_int_equal(mk_geometry_init(&g, layout, p.salt, p.salt_len),
				 MK_OK);
		golden = mt_load_image(formatted_images[i], &golden_len);
		assert_non_null(golden);
		mine = malloc(g.static_len);
		assert_int_equal(mk_static_header(&g, mine), MK_OK);
		if (memcmp(mine, golden, g.static_len) != 0)
			fail_msg("static header of %s differs",
				 formatted_images[i]);
		free(mine);
		free(golden);
	}
}

/* mkfs with a corpus image's parameters sizes the image, the journal
 * head, the auth tree and the bitmap as upstream's mkfs did, and puts the
 * tree at the same place. (Upstream transactions move the bitmap file
 * later, so only its length is compared.) */
static void test_placement_matches_corpus(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(formatted_images) / sizeof(formatted_images[0]);
	     i++) {
		struct tb_test_platform tp;
		struct tb_cocoonfs_meta *gm, *mm;
		struct tpmboot_fs *gfs, *mfs;
		json_t *img = mt_image(formatted_images[i]);
		struct mk_params p;
		uint8_t *golden, *mine, *key;
		size_t golden_len, mine_len, key_len;

		if (strcmp(formatted_images[i], "p12-journal-active.img") == 0)
			continue; /* the reader refuses to open it */
		mt_params(img, &p);
		key = mt_key(img, &key_len);
		golden = mt_load_image(formatted_images[i], &golden_len);
		tb_test_platform_init(&tp);
		tp.log_echo = 0;
		assert_int_equal(mk_mkfs(&p, key, key_len, NULL, 0, NULL, 0,
					 &mine, &mine_len), MK_OK);
		assert_int_equal(mine_len, golden_len);

		assert_int_equal(mt_open(&tp, golden, golden_len, key, key_len,
					 &gm, &gfs), 0);
		assert_int_equal(mt_open(&tp, mine, mine_len, key, key_len,
					 &mm, &mfs), 0);
		assert_int_equal(mfs->image_ab, gfs->image_ab);
		assert_int_equal(mfs->tree_extents.count, gfs->tree_extents.count);
		assert_int_equal(mfs->tree_extents.v[0].begin,
				 gfs->tree_extents.v[0].begin);
		assert_int_equal(mfs->tree_extents.v[0].len,
				 gfs->tree_extents.v[0].len);
		assert_int_equal(mfs->bitmap_extents.v[0].len,
				 gfs->bitmap_extents.v[0].len);
		assert_int_equal(mfs->tree.levels, gfs->tree.levels);
		assert_int_equal(mfs->journal_ab, gfs->journal_ab);
		tb_cocoonfs_close(gfs);
		tb_cocoonfs_close(mfs);
		tb_cocoonfs_meta_free(gm);
		tb_cocoonfs_meta_free(mm);
		assert_int_equal(tb_test_platform_fini(&tp), 0);
		free(mine);
		free(golden);
		free(key);
	}
}

struct geometry_case {
	const char *name;
	uint32_t ab, iob, atdb, node, bitmap, leaf, internal;
};

static const struct geometry_case geometries[] = {
	{ "default", 7, 9, 9, 10, 9, 7, 7 },
	{ "ab256", 8, 10, 10, 11, 10, 9, 10 },   /* corpus p09 */
	{ "io4k", 7, 12, 9, 12, 9, 8, 9 },       /* corpus p10 */
};

static const size_t file_sizes[] = {
	0, 1, 15, 16, 17, 111, 112, 8191, 8192, 8193, 1u << 20,
};

/* Fills buf with bytes derived from seed, so each file differs. */
static void pattern(uint8_t *buf, size_t len, uint32_t seed)
{
	size_t i;

	for (i = 0; i < len; i++) {
		seed = seed * 1103515245u + 12345u;
		buf[i] = (uint8_t)(seed >> 16);
	}
}

/* Builds an image, opens it and compares every file and aux entry. */
static void roundtrip(const struct mk_params *p, const struct mk_file *files,
		      size_t count, const struct mk_aux_entry *aux,
		      size_t aux_count)
{
	static const uint8_t key[] = "roundtrip key of 33 bytes here!!";
	struct tb_test_platform tp;
	struct tb_cocoonfs_meta *meta;
	struct tpmboot_fs *fs;
	uint8_t *image;
	size_t image_len, i;

	tb_test_platform_init(&tp);
	tp.log_echo = 0;
	assert_int_equal(mk_mkfs(p, key, sizeof(key), files, count, aux,
				 aux_count, &image, &image_len), MK_OK);
	assert_int_equal(mt_open(&tp, image, image_len, key, sizeof(key), &meta,
				 &fs), 0);
	for (i = 0; i < count; i++) {
		size_t len = 0;
		uint8_t *data = mt_read(fs, files[i].inode, &len);

		if (data == NULL)
			fail_msg("inode 0x%llx of %zu bytes does not read back",
				 (unsigned long long)files[i].inode, files[i].len);
		assert_int_equal(len, files[i].len);
		if (len > 0)
			assert_memory_equal(data, files[i].data, len);
		free(data);
	}
	assert_int_equal(tb_cocoonfs_aux_count(meta), aux_count);
	tb_cocoonfs_close(fs);
	tb_cocoonfs_meta_free(meta);
	assert_int_equal(tb_test_platform_fini(&tp), 0);
	free(image);
}

/* Every strength and geometry with files of boundary sizes. */
static void test_roundtrip_sizes(void **state)
{
	size_t n = sizeof(file_sizes) / sizeof(file_sizes[0]);
	struct mk_file files[sizeof(file_sizes) / sizeof(file_sizes[0])];
	uint8_t *bufs[sizeof(file_sizes) / sizeof(file_sizes[0])];
	unsigned strengths[] = { 128, 192, 256 };
	size_t s, g, i;

	(void)state;
	for (i = 0; i < n; i++) {
		bufs[i] = malloc(file_sizes[i] + 1);
		pattern(bufs[i], file_sizes[i], (uint32_t)i + 1);
		files[i].inode = 0x200000000ull + i;
		files[i].flags = (uint32_t)i;
		files[i].data = bufs[i];
		files[i].len = file_sizes[i];
	}
	for (s = 0; s < 3; s++) {
		for (g = 0; g < sizeof(geometries) / sizeof(geometries[0]); g++) {
			struct mk_params p;

			mk_params_init(&p);
			p.image_size = 4u << 20;
			p.strength = strengths[s];
			p.ab_log2 = geometries[g].ab;
			p.iob_log2 = geometries[g].iob;
			p.atdb_log2 = geometries[g].atdb;
			p.node_log2 = geometries[g].node;
			p.bitmap_log2 = geometries[g].bitmap;
			p.leaf_log2 = geometries[g].leaf;
			p.internal_log2 = geometries[g].internal;
			p.salt_len = 3;
			memcpy(p.salt, "\x01\x02\x03", 3);
			roundtrip(&p, files, n, NULL, 0);
		}
	}
	for (i = 0; i < n; i++)
		free(bufs[i]);
}

/* 300 small files: the inode index gets four levels with 128 B nodes. */
static void test_roundtrip_many_inodes(void **state)
{
	enum { COUNT = 300 };
	struct mk_file *files = calloc(COUNT, sizeof(*files));
	uint8_t *data = malloc(COUNT * 40);
	struct mk_params p;
	size_t i;

	(void)state;
	for (i = 0; i < COUNT; i++) {
		/* Spread inodes, including the largest possible one. */
		files[i].inode = i == COUNT - 1 ? UINT64_MAX
					       : 16 + i * 7919ull * 104729ull;
		files[i].flags = (uint32_t)(i % 256);
		files[i].data = data + i * 40;
		files[i].len = i % 41;
		pattern(data + i * 40, 40, (uint32_t)i);
	}
	mk_params_init(&p);
	p.image_size = 512u << 10;
	roundtrip(&p, files, COUNT, NULL, 0);
	p.strength = 256;
	roundtrip(&p, files, COUNT, NULL, 0);
	free(files);
	free(data);
}

/* Aux entries given to mkfs come back sorted, duplicates in order. */
static void test_mkfs_aux_entries(void **state)
{
	static const uint8_t u1[MK_UUID_LEN] = { 0x90, 1 }, u2[MK_UUID_LEN] = { 0x10, 2 };
	struct mk_aux_entry aux[3] = {
		{ { 0 }, (const uint8_t *)"first", 5 },
		{ { 0 }, (const uint8_t *)"second", 6 },
		{ { 0 }, (const uint8_t *)"", 0 },
	};
	static const uint8_t key[] = { 1, 2, 3 };
	struct tb_test_platform tp;
	struct tb_cocoonfs_meta *meta;
	struct tpmboot_fs *fs;
	struct tb_cocoonfs_aux_entry e;
	struct mk_params p;
	uint8_t *image;
	size_t len;

	(void)state;
	memcpy(aux[0].uuid, u1, MK_UUID_LEN);
	memcpy(aux[1].uuid, u1, MK_UUID_LEN);
	memcpy(aux[2].uuid, u2, MK_UUID_LEN);
	mk_params_init(&p);
	p.image_size = 128u << 10;
	tb_test_platform_init(&tp);
	tp.log_echo = 0;
	assert_int_equal(mk_mkfs(&p, key, sizeof(key), NULL, 0, aux, 3, &image,
				 &len), MK_OK);
	assert_int_equal(mt_open(&tp, image, len, key, sizeof(key), &meta, &fs),
			 0);
	assert_int_equal(tb_cocoonfs_aux_count(meta), 3);
	assert_int_equal(tb_cocoonfs_aux_get(meta, 0, &e), 0);
	assert_memory_equal(e.uuid, u2, MK_UUID_LEN);
	assert_int_equal(e.len, 0);
	assert_int_equal(tb_cocoonfs_aux_get(meta, 1, &e), 0);
	assert_int_equal(e.len, 5);
	assert_memory_equal(e.data, "first", 5);
	assert_int_equal(tb_cocoonfs_aux_get(meta, 2, &e), 0);
	assert_memory_equal(e.data, "second", 6);
	tb_cocoonfs_close(fs);
	tb_cocoonfs_meta_free(meta);
	assert_int_equal(tb_test_platform_fini(&tp), 0);
	free(image);
}

static void test_mkfs_rejects_bad_input(void **state)
{
	static const uint8_t key[] = { 9 };
	struct mk_file f[2] = {
		{ 20, 0, (const uint8_t *)"a", 1 },
		{ 20, 0, (const uint8_t *)"b", 1 },
	};
	struct mk_params p;
	uint8_t *image = NULL;
	size_t len;

	(void)state;
	mk_params_init(&p);
	p.image_size = 128u << 10;
	assert_int_equal(mk_mkfs(&p, key, 1, f, 2, NULL, 0, &image, &len),
			 MK_E_USAGE);
	f[1].inode = 15;
	assert_int_equal(mk_mkfs(&p, key, 1, f, 2, NULL, 0, &image, &len),
			 MK_E_USAGE);
	f[1].inode = 21;
	f[1].len = 200000;
	f[1].data = calloc(1, 200000);
	assert_int_equal(mk_mkfs(&p, key, 1, f, 2, NULL, 0, &image, &len),
			 MK_E_NOSPACE);
	free((void *)f[1].data);
	p.image_size = 2048;
	assert_int_equal(mk_mkfs(&p, key, 1, NULL, 0, NULL, 0, &image, &len),
			 MK_E_NOSPACE);
	p.image_size = 128u << 10;
	p.strength = 100;
	assert_int_equal(mk_mkfs(&p, key, 1, NULL, 0, NULL, 0, &image, &len),
			 MK_E_USAGE);
	p.strength = 128;
	p.iob_log2 = 6;
	assert_int_equal(mk_mkfs(&p, key, 1, NULL, 0, NULL, 0, &image, &len),
			 MK_E_USAGE);
	assert_null(image);
}

/*
 * write-mkfs-info with p11's parameters and its aux entry gives the corpus
 * image's header and aux blob byte for byte. The corpus entry was added
 * offline after the header was written, and upstream's offline update
 * rewrites only the primary copy, so the backup copy at the end of the
 * volume equals what write-mkfs-info writes without entries.
 */
static void test_mkfsinfo_matches_corpus(void **state)
{
	json_t *img = mt_image("p11-mkfsinfo-only.img");
	json_t *entry = json_array_get(json_object_get(json_object_get(img,
						"aux_metadata"), "entries"), 0);
	const size_t backup_blob = 245248, backup_end = 246272;
	struct mk_aux_entry aux;
	struct mk_params p;
	uint8_t *golden, *mine, *empty, *data;
	size_t golden_len, mine_len, empty_len, data_len;

	(void)state;
	mt_params(img, &p);
	assert_int_equal(mk_parse_uuid(json_string_value(json_object_get(entry,
								"uuid")),
				       aux.uuid), MK_OK);
	data_len = tb_test_hex_decode(json_string_value(json_object_get(entry,
								"data_hex")),
				      &data);
	aux.data = data;
	aux.len = data_len;
	golden = mt_load_image("p11-mkfsinfo-only.img", &golden_len);
	assert_int_equal(mk_mkfsinfo(&p, &aux, 1, &mine, &mine_len), MK_OK);
	assert_int_equal(mk_mkfsinfo(&p, NULL, 0, &empty, &empty_len), MK_OK);
	assert_int_equal(mine_len, golden_len);
	assert_int_equal(empty_len, golden_len);
	assert_memory_equal(mine, golden, backup_blob);
	assert_memory_equal(empty + backup_blob, golden + backup_blob,
			    backup_end - backup_blob);
	assert_memory_equal(mine + backup_end, golden + backup_end,
			    golden_len - backup_end);
	free(mine);
	free(empty);
	free(golden);
	free(data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_static_header_matches_corpus),
		cmocka_unit_test(test_placement_matches_corpus),
		cmocka_unit_test(test_roundtrip_sizes),
		cmocka_unit_test(test_roundtrip_many_inodes),
		cmocka_unit_test(test_mkfs_aux_entries),
		cmocka_unit_test(test_mkfs_rejects_bad_input),
		cmocka_unit_test(test_mkfsinfo_matches_corpus),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

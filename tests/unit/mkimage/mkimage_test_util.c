/* Helpers for the tpmboot-mkimage tests (see mkimage_test_util.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mkimage_test_util.h"

json_t *mt_manifest(void)
{
	static json_t *manifest;

	if (manifest == NULL)
		manifest = json_load_file(
			tb_test_shared_path("vectors/cocoonfs/manifest.json"),
			/* Inode numbers reach 2^64 - 1, beyond json_int_t. */
			JSON_DECODE_INT_AS_REAL, NULL);
	return manifest;
}

json_t *mt_image(const char *file)
{
	json_t *images = json_object_get(mt_manifest(), "images"), *img;
	size_t i;

	json_array_foreach(images, i, img) {
		if (strcmp(json_string_value(json_object_get(img, "file")),
			   file) == 0)
			return img;
	}
	return NULL;
}

static void opt_size(json_t *opts, const char *name, uint32_t *log2)
{
	json_t *v = json_object_get(opts, name);
	uint64_t bytes;

	if (!json_is_string(v) || mk_parse_size(json_string_value(v),
						&bytes) != MK_OK)
		return;
	*log2 = 0;
	while (((uint64_t)1 << *log2) < bytes)
		(*log2)++;
}

void mt_params(json_t *img, struct mk_params *p)
{
	json_t *opts = json_object_get(img, "options");
	const char *salt = json_string_value(json_object_get(img, "salt_hex"));
	const char *reserve = json_string_value(
		json_object_get(opts, "aux_fs_metadata_extra_reserve_capacity"));

	mk_params_init(p);
	mk_parse_size(json_string_value(json_object_get(opts, "image_size")),
		      &p->image_size);
	p->strength = (unsigned)json_number_value(
		json_object_get(opts, "target_security_strength"));
	mk_parse_hex(salt, p->salt, sizeof(p->salt), &p->salt_len);
	opt_size(opts, "allocation_block_size", &p->ab_log2);
	opt_size(opts, "io_block_size", &p->iob_log2);
	opt_size(opts, "auth_tree_data_block_size", &p->atdb_log2);
	opt_size(opts, "auth_tree_node_size", &p->node_log2);
	opt_size(opts, "allocation_bitmap_file_block_size", &p->bitmap_log2);
	opt_size(opts, "inode_index_tree_leaf_node_size", &p->leaf_log2);
	opt_size(opts, "inode_index_tree_internal_node_size", &p->internal_log2);
	if (reserve != NULL && strcmp(reserve, "disabled") == 0) {
		p->aux_reserve = MK_RESERVE_DISABLED;
	} else if (reserve != NULL && strstr(reserve, "default") == NULL) {
		mk_parse_size(reserve, &p->aux_reserve);
	}
}

uint8_t *mt_key(json_t *img, size_t *len)
{
	uint8_t *key = NULL;

	*len = tb_test_hex_decode(json_string_value(json_object_get(img,
								     "key_hex")),
				  &key);
	return key;
}

uint8_t *mt_load_image(const char *file, size_t *len)
{
	char rel[256];

	snprintf(rel, sizeof(rel), "vectors/cocoonfs/%s", file);
	return tb_test_read_file(tb_test_shared_path(rel), len);
}

void mt_sha256_hex(const uint8_t *data, size_t len, char out[65])
{
	uint8_t d[32];
	size_t i;

	tb_hash(TB_HASH_SHA256, data, len, d);
	for (i = 0; i < 32; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

int mt_open(struct tb_test_platform *tp, uint8_t *buf, size_t len,
	    const uint8_t *key, size_t key_len, struct tb_cocoonfs_meta **meta,
	    struct tpmboot_fs **fs)
{
	int rc;

	*meta = NULL;
	*fs = NULL;
	tb_test_platform_use_image_buffer(tp, buf, len);
	rc = tb_cocoonfs_probe(meta);
	if (rc == 0 && key != NULL)
		rc = tb_cocoonfs_open(*meta, key, key_len, fs);
	return rc;
}

uint8_t *mt_read(struct tpmboot_fs *fs, uint64_t inode, size_t *len)
{
	size_t size = 0;
	uint8_t *buf;

	if (tb_cocoonfs_file_size(fs, inode, &size) != 0)
		return NULL;
	buf = malloc(size + 1);
	if (buf != NULL &&
	    tb_cocoonfs_read_file(fs, inode, buf, size + 1, len) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

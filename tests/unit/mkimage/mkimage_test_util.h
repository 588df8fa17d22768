/*
 * Helpers for the tpmboot-mkimage tests: the golden corpus manifest, and
 * opening an in-memory image with the module's CocoonFs reader.
 */
#ifndef MKIMAGE_TEST_UTIL_H
#define MKIMAGE_TEST_UTIL_H

#include <jansson.h>

#include "mk.h"
#include "tb_test_platform.h"

/* The corpus manifest (loaded once) and one image's object by file name. */
json_t *mt_manifest(void);
json_t *mt_image(const char *file);

/* Format parameters of a corpus image from its manifest options. */
void mt_params(json_t *img, struct mk_params *p);

/* The image's key (malloc'ed) and length. */
uint8_t *mt_key(json_t *img, size_t *len);

/* Reads a corpus image into a malloc'ed buffer. */
uint8_t *mt_load_image(const char *file, size_t *len);

/* Hex SHA-256 of data. */
void mt_sha256_hex(const uint8_t *data, size_t len, char out[65]);

/* Uses buf as the test platform's device and probes and opens it.
 * Returns the reader's result; on success *meta and *fs are set. */
int mt_open(struct tb_test_platform *tp, uint8_t *buf, size_t len,
	    const uint8_t *key, size_t key_len, struct tb_cocoonfs_meta **meta,
	    struct tpmboot_fs **fs);

/* Reads a whole file (malloc'ed, *len its size); NULL on error. */
uint8_t *mt_read(struct tpmboot_fs *fs, uint64_t inode, size_t *len);

#endif /* MKIMAGE_TEST_UTIL_H */

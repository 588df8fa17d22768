/*
 * libFuzzer target for the CocoonFs parsers that run on authenticated,
 * decrypted data and on plaintext extents. The first input byte selects
 * the parser: the extents list decoder (with an encode/decode round trip),
 * the aux metadata decoder, the inode index leaf or internal node checks,
 * the CBC padding check or the extent integrity protections.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cocoonfs/ccfs_internal.h"
#include "fuzz_cocoonfs_common.h"

static void fuzz_extents(const uint8_t *data, size_t size)
{
	struct ccfs_extents ext, again;
	uint8_t *enc, one[20];
	uint64_t prev_end = 0;
	size_t i, n = 0;

	if (ccfs_extents_decode(data, size, &ext) != 0)
		return;
	/* Re-encoding gives a list that decodes to the same extents. */
	enc = malloc(ext.count * 20 + 2);
	if (enc == NULL)
		abort();
	for (i = 0; i < ext.count; i++) {
		size_t len = ccfs_extent_encode_one(&ext.v[i], &prev_end, one);

		memcpy(enc + n, one, len);
		n += len;
	}
	enc[n++] = 0;
	enc[n++] = 0;
	if (ccfs_extents_decode(enc, n, &again) != 0 ||
	    again.count != ext.count ||
	    memcmp(again.v, ext.v, ext.count * sizeof(*ext.v)) != 0)
		abort();
	(void)ccfs_extents_check(&ext, UINT64_MAX >> 8, 16);
	ccfs_extents_free(&again);
	ccfs_extents_free(&ext);
	free(enc);
}

static void fuzz_aux(const uint8_t *data, size_t size)
{
	struct tb_cocoonfs_meta *meta = calloc(1, sizeof(*meta));
	uint8_t *payload = malloc(size ? size : 1);
	struct tb_cocoonfs_aux_entry e;
	size_t i;

	if (meta == NULL || payload == NULL)
		abort();
	memcpy(payload, data, size);
	if (ccfs_aux_decode(meta, payload, size) == 0) {
		for (i = 0; i < tb_cocoonfs_aux_count(meta); i++) {
			if (tb_cocoonfs_aux_get(meta, i, &e) != 0 ||
			    e.data + e.len > payload + size)
				abort();
		}
		/* The meta owns payload now. */
		tb_free(meta->aux);
		free(payload);
	} else {
		free(payload);
	}
	free(meta);
}

static void fuzz_integrity(const uint8_t *data, size_t size)
{
	uint8_t *copy;
	uint32_t n;

	if (size < 2)
		return;
	n = data[0] % 4;
	size--;
	data++;
	copy = malloc(size ? size : 1);
	if (copy == NULL)
		abort();
	memcpy(copy, data, size);
	(void)ccfs_integrity_verify(copy, size, 8, 0, n, TPMBOOT_LOG_DEBUG,
				    "fuzz", 0);
	memcpy(copy, data, size);
	(void)ccfs_integrity_verify(copy, size, 0, 17, n, TPMBOOT_LOG_DEBUG,
				    "fuzz", 0);
	free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *image = fuzz_use_image(data, 0);
	size_t heap = fuzz_platform.heap_in_use;
	size_t unpadded;

	if (size == 0)
		goto out;
	switch (data[0] % 6) {
	case 0:
		fuzz_extents(data + 1, size - 1);
		break;
	case 1:
		fuzz_aux(data + 1, size - 1);
		break;
	case 2:
		(void)ccfs_index_parse_node(data + 1, size - 1, 1);
		break;
	case 3:
		(void)ccfs_index_parse_node(data + 1, size - 1, 0);
		break;
	case 4:
		if ((size - 1) % 16 == 0 &&
		    ccfs_cbc_unpad(data + 1, size - 1, &unpadded) == 0 &&
		    unpadded >= size)
			abort();
		break;
	default:
		fuzz_integrity(data + 1, size - 1);
		break;
	}
out:
	fuzz_check_heap(heap);
	free(image);
	return 0;
}

/*
 * libFuzzer target: keyless probe of an image (static or mkfsinfo header
 * with its integrity checks, journal head check, aux metadata chain and
 * encoding), then every aux entry is read.
 */
#include <stddef.h>
#include <stdint.h>

#include "cocoonfs/tb_cocoonfs.h"
#include "fuzz_cocoonfs_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *image = fuzz_use_image(data, size);
	size_t heap = fuzz_platform.heap_in_use;
	struct tb_cocoonfs_meta *meta = NULL;
	struct tb_cocoonfs_aux_entry e;
	volatile uint8_t sink = 0;
	size_t i, j;

	if (tb_cocoonfs_probe(&meta) == 0) {
		for (i = 0; i < tb_cocoonfs_aux_count(meta); i++) {
			if (tb_cocoonfs_aux_get(meta, i, &e) != 0)
				abort();
			for (j = 0; j < e.len; j++)
				sink ^= e.data[j];
		}
		(void)tb_cocoonfs_aux_find(meta, e.uuid, 0, &e);
		tb_cocoonfs_meta_free(meta);
	}
	(void)sink;
	fuzz_check_heap(heap);
	free(image);
	return 0;
}

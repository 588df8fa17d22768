/*
 * CocoonFs reader against a hostile block device: the host returns
 * different bytes for two reads of the same blocks. The headers are built
 * here, with their own CRC-32 pair and integrity protections, so that each
 * case reaches the code it targets.
 */
#define _POSIX_C_SOURCE 200809L

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cocoonfs/tb_cocoonfs.h"
#include "tb_test_platform.h"

/* A 2 MiB device of 128-byte blocks: no larger than the image's IO
 * block, and room for an aux metadata chain above the 1 MiB limit. */
#define DEVICE_BLOCKS 16384u
#define BLOCK_LEN 128u
#define HEADER_LEN 128u

/* Static header (magic COCOONFS) and mkfsinfo header (CCFSMKFS) offsets. */
#define STATIC_SALT_LEN_OFFSET 30u
#define STATIC_INTEGRITY_OFFSET 31u
#define MKFS_AUX_LEN_OFFSET 30u
#define MKFS_SALT_LEN_OFFSET 46u
#define MKFS_INTEGRITY_OFFSET 47u

/* AB and IO block of 128 bytes, SHA-256 everywhere, AES-128. */
static const uint8_t small_layout[21] = {
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x0B, 0x00, 0x0B, 0x00, 0x0B, 0x00, 0x0B, 0x00, 0x0B,
	0x00, 0x06, 0x00, 0x80,
};

/*
 * A device of DEVICE_BLOCKS blocks whose block 0 reads as first[] the
 * first time and as later[] every time after. Other blocks come from
 * image[].
 */
static struct {
	uint8_t image[DEVICE_BLOCKS * BLOCK_LEN];
	uint8_t first[BLOCK_LEN];
	uint8_t later[BLOCK_LEN];
	unsigned block0_reads;
} dev;

static int two_faced_read(void *ctx, uint64_t first, uint32_t count, void *buf)
{
	uint8_t *out = buf;
	uint32_t i;

	(void)ctx;
	if (first + count > DEVICE_BLOCKS)
		return -1;
	for (i = 0; i < count; i++) {
		const uint8_t *src = dev.image + (first + i) * BLOCK_LEN;

		if (first + i == 0)
			src = dev.block0_reads++ == 0 ? dev.first : dev.later;
		memcpy(out + (size_t)i * BLOCK_LEN, src, BLOCK_LEN);
	}
	return 0;
}

/* Reflected IEEE CRC-32, as zlib computes it. */
static uint32_t crc32_ieee(uint32_t crc, uint8_t b)
{
	int k;

	crc ^= b;
	for (k = 0; k < 8; k++)
		crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
	return crc;
}

/* CocoonFs checksum: CRC-32 of the bytes, then of the bytes with each
 * pair of adjacent bits swapped, both little-endian. */
static void checksum_pair(const uint8_t *data, size_t len, uint8_t out[8])
{
	uint32_t a = 0xFFFFFFFFu, b = 0xFFFFFFFFu;
	size_t i;

	for (i = 0; i < len; i++) {
		uint8_t swapped = (uint8_t)(((data[i] & 0x55u) << 1) |
					    ((data[i] & 0xAAu) >> 1));

		a = crc32_ieee(a, data[i]);
		b = crc32_ieee(b, swapped);
	}
	a = ~a;
	b = ~b;
	for (i = 0; i < 4; i++) {
		out[i] = (uint8_t)(a >> (8 * i));
		out[4 + i] = (uint8_t)(b >> (8 * i));
	}
}

/*
 * Applies the integrity protections to an extent of len bytes whose IO
 * block is 128 bytes, so there are no tier 1 markers. The commit ID and
 * mask go at integ. Every byte in [head_skip, 128) outside them is XORed
 * with a mask that makes it non-zero.
 */
static void protect_extent(uint8_t *h, size_t len, size_t head_skip,
			   size_t integ)
{
	uint8_t sum[8];
	unsigned mask;
	size_t i;

	memset(h + integ, 0, 9);
	checksum_pair(h, len, sum);
	for (mask = 1; mask < 256; mask++) {
		int ok = 1;

		for (i = head_skip; i < HEADER_LEN && ok; i++) {
			if ((i < integ || i >= integ + 9) && h[i] == mask)
				ok = 0;
		}
		for (i = 0; i < 8 && ok; i++) {
			if (sum[i] == mask)
				ok = 0;
		}
		if (ok)
			break;
	}
	assert_true(mask < 256);
	for (i = head_skip; i < HEADER_LEN; i++) {
		if (i < integ || i >= integ + 9)
			h[i] ^= (uint8_t)mask;
	}
	for (i = 0; i < 8; i++)
		h[integ + i] = sum[i] ^ (uint8_t)mask;
	h[integ + 8] = (uint8_t)mask;
}

static void protect_header(uint8_t *h, size_t integ)
{
	protect_extent(h, HEADER_LEN, 8, integ);
}

/* Builds a 128-byte header in the static header format with the given
 * magic, the layout and a salt length byte of salt_len. Salt bytes that
 * fit are 0xA5. */
static void build_static_magic(uint8_t *out, const char *magic,
			       const uint8_t layout[21], unsigned salt_len)
{
	size_t salt_off = STATIC_INTEGRITY_OFFSET + 9, i;

	memset(out, 0, BLOCK_LEN);
	memcpy(out, magic, 8);
	out[8] = 1;
	memcpy(out + 9, layout, 21);
	out[STATIC_SALT_LEN_OFFSET] = (uint8_t)salt_len;
	for (i = 0; i < salt_len && salt_off + i < HEADER_LEN; i++)
		out[salt_off + i] = 0xA5;
	protect_header(out, STATIC_INTEGRITY_OFFSET);
}

static void build_static(uint8_t *out, const uint8_t layout[21],
			 unsigned salt_len)
{
	build_static_magic(out, "COCOONFS", layout, salt_len);
}

/* Builds a 128-byte mkfsinfo header without aux metadata. */
static void build_mkfsinfo(uint8_t *out, const uint8_t layout[21],
			   unsigned salt_len)
{
	size_t salt_off = MKFS_INTEGRITY_OFFSET + 9, i;

	memset(out, 0, BLOCK_LEN);
	memcpy(out, "CCFSMKFS", 8);
	out[8] = 1;
	memcpy(out + 9, layout, 21);
	/* Aux metadata length 0, image size 64 AB. */
	out[MKFS_AUX_LEN_OFFSET + 8] = 64;
	out[MKFS_SALT_LEN_OFFSET] = (uint8_t)salt_len;
	for (i = 0; i < salt_len && salt_off + i < HEADER_LEN; i++)
		out[salt_off + i] = 0xA5;
	protect_header(out, MKFS_INTEGRITY_OFFSET);
}

static void device_init(struct tb_test_platform *tp)
{
	memset(&dev, 0, sizeof(dev));
	tb_test_platform_init(tp);
	tp->log_echo = 0;
	tp->platform.block_size_log2 = 7;
	tp->platform.block_count = DEVICE_BLOCKS;
	tp->platform.block_read = two_faced_read;
	tp->platform.block_write = NULL;
	tp->platform.block_flush = NULL;
	/* Mutable header in block 1: both aux metadata group heads NIL. */
	memset(dev.image + BLOCK_LEN, 0xFF, 16);
}

/* The builders give headers that probe accepts when both reads agree. */
static void test_built_headers_probe(void **state)
{
	struct tb_test_platform tp;
	struct tb_cocoonfs_meta *meta = NULL;
	const uint8_t *salt;
	uint8_t layout[21];
	size_t salt_len;

	(void)state;
	device_init(&tp);
	build_static(dev.first, small_layout, 40);
	memcpy(dev.later, dev.first, BLOCK_LEN);
	assert_int_equal(tb_cocoonfs_probe(&meta), 0);
	assert_int_equal(tb_cocoonfs_meta_state(meta), TB_COCOONFS_FORMATTED);
	tb_cocoonfs_image_id(meta, &salt, &salt_len, layout);
	assert_int_equal(salt_len, 40);
	assert_int_equal(salt[0], 0xA5);
	assert_int_equal(salt[39], 0xA5);
	assert_memory_equal(layout, small_layout, 21);
	tb_cocoonfs_meta_free(meta);
	assert_int_equal(tb_test_platform_fini(&tp), 0);

	device_init(&tp);
	build_mkfsinfo(dev.first, small_layout, 24);
	memcpy(dev.later, dev.first, BLOCK_LEN);
	meta = NULL;
	assert_int_equal(tb_cocoonfs_probe(&meta), 0);
	assert_int_equal(tb_cocoonfs_meta_state(meta), TB_COCOONFS_UNFORMATTED);
	tb_cocoonfs_image_id(meta, &salt, &salt_len, layout);
	assert_int_equal(salt_len, 24);
	tb_cocoonfs_meta_free(meta);
	assert_int_equal(tb_test_platform_fini(&tp), 0);
}

/*
 * The first read of the static header gives a short salt, so the header
 * buffer is 128 bytes. The second read, which the integrity check covers,
 * claims 255 salt bytes: copying them would read past the buffer.
 */
static void test_static_header_salt_changes(void **state)
{
	struct tb_test_platform tp;
	struct tb_cocoonfs_meta *meta = NULL;

	(void)state;
	device_init(&tp);
	build_static(dev.first, small_layout, 0);
	build_static(dev.later, small_layout, 255);
	assert_int_equal(tb_cocoonfs_probe(&meta), TPMBOOT_E_COCOONFS_TORN);
	assert_null(meta);
	assert_true(dev.block0_reads >= 2);
	assert_true(tb_test_log_contains(&tp, "changed between two reads"));
	assert_int_equal(tb_test_platform_fini(&tp), 0);
}

/* The second read of the static header has a larger Allocation Block,
 * so the verified size no longer matches the buffer. */
static void test_static_header_layout_changes(void **state)
{
	struct tb_test_platform tp;
	struct tb_cocoonfs_meta *meta = NULL;
	uint8_t bigger[21];

	(void)state;
	memcpy(bigger, small_layout, sizeof(bigger));
	bigger[0] = 1;
	device_init(&tp);
	build_static(dev.first, small_layout, 0);
	build_static(dev.later, bigger, 0);
	assert_int_equal(tb_cocoonfs_probe(&meta), TPMBOOT_E_COCOONFS_TORN);
	assert_null(meta);
	assert_true(tb_test_log_contains(&tp, "changed between two reads"));
	assert_int_equal(tb_test_platform_fini(&tp), 0);
}

/* The second read returns a valid static header whose magic is the
 * mkfsinfo one, so the magic that selected the parser has changed. */
static void test_static_header_magic_changes(void **state)
{
	struct tb_test_platform tp;
	struct tb_cocoonfs_meta *meta = NULL;

	(void)state;
	device_init(&tp);
	build_static(dev.first, small_layout, 0);
	build_static_magic(dev.later, "CCFSMKFS", small_layout, 0);
	assert_int_equal(tb_cocoonfs_probe(&meta), TPMBOOT_E_COCOONFS_TORN);
	assert_null(meta);
	assert_true(tb_test_log_contains(&tp, "magic changed between two reads"));
	assert_int_equal(tb_test_platform_fini(&tp), 0);
}

/* The same salt length change on a mkfsinfo header. */
static void test_mkfsinfo_salt_changes(void **state)
{
	struct tb_test_platform tp;
	struct tb_cocoonfs_meta *meta = NULL;

	(void)state;
	device_init(&tp);
	build_mkfsinfo(dev.first, small_layout, 0);
	build_mkfsinfo(dev.later, small_layout, 255);
	assert_int_equal(tb_cocoonfs_probe(&meta), TPMBOOT_E_COCOONFS_TORN);
	assert_null(meta);
	assert_true(tb_test_log_contains(&tp, "changed between two reads"));
	assert_int_equal(tb_test_platform_fini(&tp), 0);
}

/*
 * Writes a circular aux metadata chain of count extents of 64 ABs (8 KiB)
 * from AB first_ab, each with valid integrity protections, and points
 * update group 0 of the mutable header at it.
 */
static void build_aux_chain(uint64_t first_ab, unsigned count)
{
	const uint64_t len_ab = 64, ext_len = len_ab * 128;
	unsigned i;

	for (i = 0; i < count; i++) {
		uint8_t *x = dev.image + (first_ab + len_ab * i) * 128;
		uint64_t next = first_ab + len_ab * ((i + 1) % count);
		uint64_t after = first_ab + len_ab * ((i + 2) % count);
		size_t k;

		assert_true((first_ab + len_ab * (i + 1)) * 128 <=
			    sizeof(dev.image));
		memset(x, 0, ext_len);
		for (k = 0; k < 8; k++) {
			x[k] = (uint8_t)(((next << 7) | (63u << 1)) >> (8 * k));
			x[8 + k] = (uint8_t)(((after << 7) | (63u << 1)) >>
					     (8 * k));
		}
		if (i == 0)
			x[16] = 1; /* group head state: active */
		protect_extent(x, ext_len, 0, i == 0 ? 17 : 16);
	}
	memset(dev.image + BLOCK_LEN, 0xFF, 16);
	for (i = 0; i < 8; i++)
		dev.image[BLOCK_LEN + i] =
			(uint8_t)(((first_ab << 7) | (63u << 1)) >> (8 * i));
}

/* A chain of 129 extents carries more than 1 MiB of aux payload: probe
 * rejects it with the limit error and a log line. */
static void test_aux_chain_over_limit(void **state)
{
	struct tb_test_platform tp;
	struct tb_cocoonfs_meta *meta = NULL;

	(void)state;
	device_init(&tp);
	build_static(dev.first, small_layout, 0);
	memcpy(dev.later, dev.first, BLOCK_LEN);
	build_aux_chain(8, 129);
	assert_int_equal(tb_cocoonfs_probe(&meta), TPMBOOT_E_COCOONFS_LIMIT);
	assert_null(meta);
	assert_true(tb_test_log_contains(&tp, "aux metadata payload of"));
	assert_int_equal(tb_test_platform_fini(&tp), 0);
}

/* The same chain with 120 extents stays under the limit. Its all-zero
 * payload decodes as an empty list of aux entries. */
static void test_aux_chain_under_limit(void **state)
{
	struct tb_test_platform tp;
	struct tb_cocoonfs_meta *meta = NULL;

	(void)state;
	device_init(&tp);
	build_static(dev.first, small_layout, 0);
	memcpy(dev.later, dev.first, BLOCK_LEN);
	build_aux_chain(8, 120);
	assert_int_equal(tb_cocoonfs_probe(&meta), 0);
	assert_non_null(meta);
	assert_int_equal(tb_cocoonfs_aux_count(meta), 0);
	tb_cocoonfs_meta_free(meta);
	assert_int_equal(tb_test_platform_fini(&tp), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_built_headers_probe),
		cmocka_unit_test(test_static_header_salt_changes),
		cmocka_unit_test(test_static_header_layout_changes),
		cmocka_unit_test(test_static_header_magic_changes),
		cmocka_unit_test(test_mkfsinfo_salt_changes),
		cmocka_unit_test(test_aux_chain_over_limit),
		cmocka_unit_test(test_aux_chain_under_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * Self-test mode (mode=selftest): checks the kernel's own services
 * without the module, so the harness can be tested before libtpmboot.a
 * exists. qemu/selftest.sh checks the printed digests against the host.
 *
 * Options on the command line:
 *   disk_sectors=N   hash the first N sectors (default 128)
 *   disk_write=SEED  write a SEED-derived pattern to the last sector
 *   echo=LIST        streams to echo-test: com2, com3 or com2,com3
 *   echo_bytes=N     bytes per echo test (default 65536)
 */
#include <string.h>

#include "kernel.h"

#define ECHO_TIMEOUT_MS 10000u
#define ECHO_CHUNK 4096u
#define SECTOR_SIZE 512u

static int failures;

static void report(const char *name, int ok, const char *detail)
{
	if (ok)
		kprintf("selftest: %s ok%s%s\n", name, detail[0] ? ": " : "",
			detail);
	else
		kprintf("selftest: %s FAILED: %s\n", name, detail);
	if (!ok)
		failures++;
}

static void test_sha256(void)
{
	/* FIPS 180-4 example "abc" (NIST CSRC example values). */
	static const uint8_t expected[32] = {
		0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea,
		0x41, 0x41, 0x40, 0xde, 0x5d, 0xae, 0x22, 0x23,
		0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c,
		0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad,
	};
	uint8_t digest[32];

	sha256("abc", 3, digest);
	report("sha256-abc", memcmp(digest, expected, 32) == 0,
	       "digest of \"abc\"");
}

static void test_sha384(void)
{
	/* FIPS 180-4 example "abc" for SHA-384. */
	static const uint8_t expected[48] = {
		0xcb, 0x00, 0x75, 0x3f, 0x45, 0xa3, 0x5e, 0x8b,
		0xb5, 0xa0, 0x3d, 0x69, 0x9a, 0xc6, 0x50, 0x07,
		0x27, 0x2c, 0x32, 0xab, 0x0e, 0xde, 0xd1, 0x63,
		0x1a, 0x8b, 0x60, 0x5a, 0x43, 0xff, 0x5b, 0xed,
		0x80, 0x86, 0x07, 0x2b, 0xa1, 0xe7, 0xcc, 0x23,
		0x58, 0xba, 0xec, 0xa1, 0x34, 0xc8, 0x25, 0xa7,
	};
	uint8_t digest[48];

	sha384("abc", 3, digest);
	report("sha384-abc", memcmp(digest, expected, 48) == 0,
	       "digest of \"abc\"");
}

static void test_heap(void)
{
	static const size_t sizes[] = { 1, 31, 32, 100, 4096, 5000, 70000 };
	static const size_t aligns[] = { 1, 16, 64, 4096 };
	void *blocks[ARRAY_SIZE(sizes) * ARRAY_SIZE(aligns)];
	size_t before = heap_in_use();
	size_t i, j, n = 0;
	void *big;
	int ok = 1;

	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		for (j = 0; j < ARRAY_SIZE(aligns); j++) {
			uint8_t *p = heap_alloc(sizes[i], aligns[j]);

			if (p == NULL || ((uintptr_t)p & (aligns[j] - 1)) != 0)
				ok = 0;
			else
				memset(p, (int)n, sizes[i]);
			blocks[n++] = p;
		}
	}
	/* Free every other block first so that coalescing is exercised in
	 * both directions. */
	for (i = 0; i < n; i += 2)
		heap_free(blocks[i]);
	for (i = 1; i < n; i += 2)
		heap_free(blocks[i]);
	if (heap_in_use() != before)
		ok = 0;

	/* After full coalescing one block of nearly the whole heap fits. */
	big = heap_alloc(heap_size() - (1u << 20), 4096);
	if (big == NULL)
		ok = 0;
	heap_free(big);
	heap_reset_peak();
	report("heap", ok, "alignment, free, coalescing");
}

static void test_random(void)
{
	uint8_t a[32], b[32];
	uint8_t zero[32] = { 0 };
	int ok;

	ok = random_fill(a, sizeof(a)) == 0 && random_fill(b, sizeof(b)) == 0 &&
	     memcmp(a, b, sizeof(a)) != 0 && memcmp(a, zero, sizeof(a)) != 0;
	report("random", ok, random_source_name());
}

static void test_timer(void)
{
	uint64_t start = timer_now_us();
	uint64_t elapsed;
	char detail[64];

	timer_delay_ms(20);
	elapsed = timer_now_us() - start;
	ksnprintf(detail, sizeof(detail), "20 ms delay took %llu us",
		  (unsigned long long)elapsed);
	report("timer", elapsed >= 20000 && elapsed < 40000, detail);
}

static void test_disk_read(const struct boot_info *info,
			   struct virtio_blk *blk)
{
	uint64_t sectors = 128;
	uint8_t digest[32];
	uint8_t *buf;
	uint64_t t0;
	char detail[64];

	cmdline_get_u64(info->cmdline, "disk_sectors", &sectors);
	if (sectors > virtio_blk_sectors(blk))
		sectors = virtio_blk_sectors(blk);
	buf = heap_alloc((size_t)sectors * SECTOR_SIZE, 4096);
	if (buf == NULL) {
		report("disk-read", 0, "no memory for the buffer");
		return;
	}
	t0 = timer_now_us();
	if (virtio_blk_read(blk, 0, (uint32_t)sectors, buf) != 0) {
		report("disk-read", 0, "virtio-blk read failed");
		heap_free(buf);
		return;
	}
	sha256(buf, (size_t)sectors * SECTOR_SIZE, digest);
	kprintf("selftest: disk sectors %llu\n", (unsigned long long)sectors);
	kprint_hex("selftest: disk sha256", digest, sizeof(digest));
	ksnprintf(detail, sizeof(detail), "%llu sectors in %llu us",
		  (unsigned long long)sectors,
		  (unsigned long long)(timer_now_us() - t0));
	report("disk-read", 1, detail);
	heap_free(buf);
}

/* Fills a sector with bytes of a simple generator seeded by seed. */
static void fill_pattern(uint8_t *buf, uint64_t seed)
{
	uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;
	size_t i;

	for (i = 0; i < SECTOR_SIZE; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		buf[i] = (uint8_t)x;
	}
}

static void test_disk_write(const struct boot_info *info,
			    struct virtio_blk *blk)
{
	uint64_t seed;
	uint64_t last;
	uint8_t *out, *in;
	uint8_t digest[32];
	int ok;

	if (cmdline_get_u64(info->cmdline, "disk_write", &seed) != 0)
		return;
	last = virtio_blk_sectors(blk) - 1;
	out = heap_alloc(SECTOR_SIZE, 512);
	in = heap_alloc(SECTOR_SIZE, 512);
	if (out == NULL || in == NULL) {
		report("disk-write", 0, "no memory for the buffers");
		return;
	}
	fill_pattern(out, seed);
	ok = virtio_blk_write(blk, last, 1, out) == 0 &&
	     virtio_blk_flush(blk) == 0 &&
	     virtio_blk_read(blk, last, 1, in) == 0 &&
	     memcmp(in, out, SECTOR_SIZE) == 0;
	sha256(out, SECTOR_SIZE, digest);
	kprint_hex("selftest: written sector sha256", digest, sizeof(digest));
	report("disk-write", ok, "write, flush and read back the last sector");
	heap_free(out);
	heap_free(in);
}

static void test_echo(const char *name, uint16_t port, size_t total)
{
	uint8_t *out = heap_alloc(ECHO_CHUNK, 16);
	uint8_t *in = heap_alloc(ECHO_CHUNK, 16);
	uint64_t t0 = timer_now_us();
	uint64_t elapsed_us;
	size_t done = 0;
	const char *failure = "";
	char detail[128];
	int ok = 1;

	if (out == NULL || in == NULL || uart_init(port) != 0) {
		report(name, 0, "UART missing or no memory");
		heap_free(out);
		heap_free(in);
		return;
	}
	uart_drain_input(port);
	while (ok && done < total) {
		size_t n = total - done < ECHO_CHUNK ? total - done : ECHO_CHUNK;

		if (random_fill(out, n) != 0) {
			failure = "random_fill failed";
			ok = 0;
		} else if (uart_write_all(port, out, n, ECHO_TIMEOUT_MS) != 0) {
			failure = "write timed out";
			ok = 0;
		} else if (uart_read_exact(port, in, n, ECHO_TIMEOUT_MS) != 0) {
			failure = "read timed out";
			ok = 0;
		} else if (memcmp(in, out, n) != 0) {
			failure = "echo differs";
			ok = 0;
		} else {
			done += n;
		}
	}
	elapsed_us = timer_now_us() - t0;
	ksnprintf(detail, sizeof(detail),
		  "%zu of %zu bytes echoed in %llu us (%llu KiB/s) %s", done,
		  total, (unsigned long long)elapsed_us,
		  (unsigned long long)(elapsed_us
					       ? (uint64_t)done * 1000000u /
							 1024u / elapsed_us
					       : 0),
		  failure);
	report(name, ok, detail);
	heap_free(out);
	heap_free(in);
}

/* Returns 1 when word is an element of the comma-separated list. */
static int list_contains(const char *list, const char *word)
{
	size_t len = strlen(word);

	while (*list != '\0') {
		if (strncmp(list, word, len) == 0 &&
		    (list[len] == ',' || list[len] == '\0'))
			return 1;
		while (*list != '\0' && *list != ',')
			list++;
		if (*list == ',')
			list++;
	}
	return 0;
}

int selftest_run(const struct boot_info *info, struct virtio_blk *blk)
{
	char echo[32] = "";
	uint64_t echo_bytes = 65536;

	failures = 0;
	test_sha256();
	test_sha384();
	test_heap();
	test_random();
	test_timer();
	if (blk != NULL) {
		test_disk_read(info, blk);
		test_disk_write(info, blk);
	} else {
		report("disk-read", 0, "no virtio-blk device");
	}

	cmdline_get(info->cmdline, "echo", echo, sizeof(echo));
	cmdline_get_u64(info->cmdline, "echo_bytes", &echo_bytes);
	if (list_contains(echo, "com2"))
		test_echo("echo-com2", UART_COM2, (size_t)echo_bytes);
	if (list_contains(echo, "com3"))
		test_echo("echo-com3", UART_COM3, (size_t)echo_bytes);

	kprintf("selftest: %d failures\n", failures);
	return failures == 0 ? 0 : -1;
}

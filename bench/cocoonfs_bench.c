/*
 * CocoonFs read benchmark, not a test of speed. It opens an upstream-made
 * image with full authentication and reads a 4 MiB file, printing MB/s
 * (median of several runs). Then it measures probe + open + read of the
 * 16 KiB NVChip for heap peak and stack peak.
 *
 * usage: cocoonfs_bench [--quick] [VECTORS_DIR]
 *   VECTORS_DIR defaults to $TPMBOOT_SHARED_DIR/vectors/cocoonfs and must
 *   hold manifest.json with p13-large-4mib.img and p01-default-svsm.img.
 */
#define _GNU_SOURCE
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cocoonfs/tb_cocoonfs.h"
#include "core/tb_core.h"
#include "crypto/tb_fast.h"
#include "tb_test_platform.h"

#define LARGE_IMAGE "p13-large-4mib.img"
#define LARGE_INODE UINT64_C(0x300000000)
#define NVCHIP_IMAGE "p01-default-svsm.img"
#define RUNS 7

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Raw key of an image from the manifest; returns its length or 0. */
static size_t manifest_key(const char *dir, const char *file, uint8_t *key)
{
	char path[8192];
	json_t *root, *images;
	size_t i, len = 0;

	snprintf(path, sizeof(path), "%s/manifest.json", dir);
	/* Inode numbers up to 2^64 - 1 overflow jansson's integers. */
	root = json_load_file(path, JSON_DECODE_INT_AS_REAL, NULL);
	images = json_object_get(root, "images");
	for (i = 0; i < json_array_size(images); i++) {
		json_t *e = json_array_get(images, i);
		const char *hex;
		uint8_t *raw;

		if (strcmp(json_string_value(json_object_get(e, "file")), file))
			continue;
		hex = json_string_value(json_object_get(e, "key_hex"));
		len = tb_test_hex_decode(hex, &raw);
		if (len != (size_t)-1 && len <= 64)
			memcpy(key, raw, len);
		else
			len = 0;
		free(raw);
	}
	json_decref(root);
	return len;
}

/* The image is read into memory, so the benchmark times the module and
 * not the host's file reads. */
static uint8_t *image_copy;

static int use_image(struct tb_test_platform *tp, const char *path)
{
	size_t len;

	free(image_copy);
	image_copy = tb_test_read_file(path, &len);
	if (image_copy == NULL) {
		fprintf(stderr, "cannot read %s\n", path);
		return 1;
	}
	tb_test_platform_use_image_buffer(tp, image_copy, len);
	return 0;
}

struct read_job {
	const char *image;
	const uint8_t *key;
	size_t key_len;
	uint64_t inode;
	uint8_t *buf;
	size_t cap;
	size_t len;
	int rc;
};

/* Probe, open and read one file; the platform's device is already set. */
static void run_job(struct read_job *job)
{
	struct tb_cocoonfs_meta *meta = NULL;
	struct tpmboot_fs *fs = NULL;

	job->rc = tb_cocoonfs_probe(&meta);
	if (job->rc == TPMBOOT_OK)
		job->rc = tb_cocoonfs_open(meta, job->key, job->key_len, &fs);
	if (job->rc == TPMBOOT_OK)
		job->rc = tb_cocoonfs_read_file(fs, job->inode, job->buf,
						job->cap, &job->len);
	tb_cocoonfs_close(fs);
	tb_cocoonfs_meta_free(meta);
}

static void run_job_on_stack(void *arg)
{
	run_job(arg);
}

static int bench_large(const char *dir, int runs)
{
	struct tb_test_platform tp;
	struct read_job job = { 0 };
	uint8_t key[64];
	char path[8192];
	double mbps[RUNS];
	int i;

	snprintf(path, sizeof(path), "%s/%s", dir, LARGE_IMAGE);
	tb_test_platform_init(&tp);
	tp.config.log_level = TPMBOOT_LOG_ERROR;
	if (use_image(&tp, path) != 0)
		return 1;
	job.key_len = manifest_key(dir, LARGE_IMAGE, key);
	job.key = key;
	job.inode = LARGE_INODE;
	job.cap = 4u << 20;
	job.buf = malloc(job.cap);

	for (i = 0; i < runs; i++) {
		double t0 = now_s();

		run_job(&job);
		mbps[i] = (double)job.len / (now_s() - t0) / 1e6;
		if (job.rc != TPMBOOT_OK || job.len != job.cap) {
			fprintf(stderr, "read failed: %s\n",
				tpmboot_error_name(job.rc));
			return 1;
		}
	}
	qsort(mbps, (size_t)runs, sizeof(mbps[0]), cmp_double);
	printf("4 MiB file (%s), probe + open + read, full authentication: "
	       "median %.0f MB/s, best %.0f MB/s over %d runs\n", LARGE_IMAGE,
	       mbps[runs / 2], mbps[runs - 1], runs);
	free(job.buf);
	return tb_test_platform_fini(&tp) == 0 ? 0 : 1;
}

static int bench_nvchip(const char *dir)
{
	struct tb_test_platform tp;
	struct read_job job = { 0 };
	uint8_t key[64], nvchip[16384];
	char path[8192];
	size_t stack_peak;

	snprintf(path, sizeof(path), "%s/%s", dir, NVCHIP_IMAGE);
	tb_test_platform_init(&tp);
	tp.config.log_level = TPMBOOT_LOG_ERROR;
	if (use_image(&tp, path) != 0)
		return 1;
	job.key_len = manifest_key(dir, NVCHIP_IMAGE, key);
	job.key = key;
	job.inode = TPMBOOT_INODE_NVCHIP;
	job.buf = nvchip;
	job.cap = sizeof(nvchip);
	stack_peak = tb_test_run_on_painted_stack(run_job_on_stack, &job);
	if (job.rc != TPMBOOT_OK || job.len != sizeof(nvchip)) {
		fprintf(stderr, "NVChip read failed: %s\n",
			tpmboot_error_name(job.rc));
		return 1;
	}
	printf("NVChip (%s), probe + open + read 16 KiB: heap peak %zu B "
	       "(target <= 65536), stack peak %zu B (target <= 16384)\n",
	       NVCHIP_IMAGE, tp.heap_peak, stack_peak);
	return tb_test_platform_fini(&tp) == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	const char *shared = getenv("TPMBOOT_SHARED_DIR");
	char dir[4096];
	int quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
	int argi = quick ? 2 : 1;

	if (argi < argc)
		snprintf(dir, sizeof(dir), "%s", argv[argi]);
	else
		snprintf(dir, sizeof(dir), "%s/vectors/cocoonfs",
			 shared != NULL ? shared : "../shared");

	tb_fast_init(TB_TIER_VAES_AVX2);
	printf("crypto tier %d (0 portable, 1 AES-NI, 2 VAES-AVX2)\n",
	       (int)tb_fast_tier());
	if (bench_large(dir, quick ? 1 : RUNS) != 0 || bench_nvchip(dir) != 0)
		return 1;
	return 0;
}

/*
 * Host benchmark of the crypto fast paths. It runs every tier this CPU
 * supports, OpenSSL's EVP code, the project's mbedTLS build (AES-NI
 * disabled in its configuration) and an unmodified mbedTLS 3.6.6 build
 * (AES-NI on) in one process. Each trial runs every implementation on the
 * same cell in turn, so that load changes on a shared machine hit all of
 * them alike.
 *
 * Cells: AES-256-GCM encrypt and decrypt at 64 B, 1 KiB, 4 KiB, 16 KiB and
 * 1 MiB (12-byte IV, no AAD, 16-byte tag, decryption checks the tag).
 * AES-128-CBC decrypt at 4 KiB. SHA-256 and HMAC-SHA-256 at 512 B and
 * 4 KiB (32-byte key, key setup included in every message).
 *
 * Output: TSC ticks per byte (median and minimum over the trials), median
 * throughput, and OpenSSL's median divided by the implementation's (above
 * 1 means faster than OpenSSL). TSC ticks are not core cycles when the core
 * clock differs from the TSC frequency.
 *
 * usage: crypto_bench [--quick] [--trials N]
 *   --quick     one trial of one iteration per cell: checks that every
 *               implementation runs and agrees, measures nothing useful
 *   --trials N  trials per cell and implementation (default 31)
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <x86intrin.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "mbedtls/aes.h"
#include "mbedtls/gcm.h"
#include "mbedtls/md.h"
#include "mbedtls/sha256.h"

#include "crypto/tb_fast.h"
#include "stock_mbedtls.h"
#include "tb_test_platform.h"

#define MAX_LEN (1u << 20)
#define TRIAL_BYTES (2u << 20)
#define MAX_ITERATIONS 8192u

enum op { OP_GCM_ENC, OP_GCM_DEC, OP_CBC_DEC, OP_SHA256, OP_HMAC };

static const char *const op_names[] = {
	"AES-256-GCM encrypt", "AES-256-GCM decrypt", "AES-128-CBC decrypt",
	"SHA-256", "HMAC-SHA-256",
};

struct cell {
	enum op op;
	size_t len;
};

static const struct cell cells[] = {
	{ OP_GCM_ENC, 64 },    { OP_GCM_ENC, 1024 },  { OP_GCM_ENC, 4096 },
	{ OP_GCM_ENC, 16384 }, { OP_GCM_ENC, MAX_LEN },
	{ OP_GCM_DEC, 64 },    { OP_GCM_DEC, 1024 },  { OP_GCM_DEC, 4096 },
	{ OP_GCM_DEC, 16384 }, { OP_GCM_DEC, MAX_LEN },
	{ OP_CBC_DEC, 4096 },  { OP_SHA256, 512 },    { OP_SHA256, 4096 },
	{ OP_HMAC, 512 },      { OP_HMAC, 4096 },
};
#define CELL_COUNT (sizeof(cells) / sizeof(cells[0]))

enum impl {
	IMPL_VAES,
	IMPL_AESNI,
	IMPL_PORTABLE,
	IMPL_OPENSSL,
	IMPL_MBEDTLS,
	IMPL_MBEDTLS_STOCK,
	IMPL_COUNT
};

static const char *const impl_names[] = {
	"tb vaes-avx2", "tb aesni", "tb portable", "OpenSSL EVP",
	"mbedTLS (project config)", "mbedTLS (stock, AES-NI)",
};

static const enum tb_tier impl_tiers[] = {
	TB_TIER_VAES_AVX2, TB_TIER_AESNI, TB_TIER_PORTABLE,
};

/* Everything the measured calls use, prepared once. */
struct bench {
	uint8_t *plain;
	uint8_t *cipher; /* GCM ciphertext of plain (a prefix per length) */
	uint8_t *out;
	uint8_t key[32];
	uint8_t iv[12];
	uint8_t cbc_iv[16];
	uint8_t tags[CELL_COUNT][16]; /* GCM tag of cells[i].len bytes */

	struct tb_gcm_key *tb_gcm[3];
	struct tb_aes_key tb_cbc[3];
	int tier_ok[3];

	EVP_CIPHER_CTX *ossl_gcm_enc;
	EVP_CIPHER_CTX *ossl_gcm_dec;
	EVP_CIPHER_CTX *ossl_cbc;
	EVP_MD_CTX *ossl_md;
	EVP_MAC_CTX *ossl_hmac;

	mbedtls_gcm_context mbed_gcm;
	mbedtls_aes_context mbed_cbc;
	const mbedtls_md_info_t *mbed_sha256;

	void *stock_gcm;
	void *stock_cbc;
};

static void die(const char *message)
{
	fprintf(stderr, "crypto_bench: %s\n", message);
	exit(1);
}

static int tag_index(size_t len)
{
	size_t i;

	for (i = 0; i < CELL_COUNT; i++)
		if (cells[i].op == OP_GCM_ENC && cells[i].len == len)
			return (int)i;
	die("no GCM tag for this length");
	return -1;
}

/* Reference GCM ciphertext and the tags for every GCM length, from
 * OpenSSL. */
static void openssl_gcm(struct bench *b, size_t len, uint8_t *out,
			uint8_t tag[16])
{
	EVP_CIPHER_CTX *ctx = b->ossl_gcm_enc;
	int n;

	if (EVP_EncryptInit_ex(ctx, NULL, NULL, NULL, b->iv) != 1 ||
	    EVP_EncryptUpdate(ctx, out, &n, b->plain, (int)len) != 1 ||
	    EVP_EncryptFinal_ex(ctx, out + n, &n) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, tag) != 1)
		die("OpenSSL GCM encryption failed");
}

static void setup_openssl(struct bench *b)
{
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	OSSL_PARAM params[2];

	b->ossl_gcm_enc = EVP_CIPHER_CTX_new();
	b->ossl_gcm_dec = EVP_CIPHER_CTX_new();
	b->ossl_cbc = EVP_CIPHER_CTX_new();
	b->ossl_md = EVP_MD_CTX_new();
	if (b->ossl_gcm_enc == NULL || b->ossl_gcm_dec == NULL ||
	    b->ossl_cbc == NULL || b->ossl_md == NULL || mac == NULL)
		die("OpenSSL context allocation failed");
	if (EVP_EncryptInit_ex(b->ossl_gcm_enc, EVP_aes_256_gcm(), NULL,
			       b->key, b->iv) != 1 ||
	    EVP_DecryptInit_ex(b->ossl_gcm_dec, EVP_aes_256_gcm(), NULL,
			       b->key, b->iv) != 1 ||
	    EVP_DecryptInit_ex(b->ossl_cbc, EVP_aes_128_cbc(), NULL, b->key,
			       b->cbc_iv) != 1)
		die("OpenSSL cipher setup failed");
	EVP_CIPHER_CTX_set_padding(b->ossl_cbc, 0);

	b->ossl_hmac = EVP_MAC_CTX_new(mac);
	EVP_MAC_free(mac);
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
						     "SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	if (b->ossl_hmac == NULL ||
	    EVP_MAC_CTX_set_params(b->ossl_hmac, params) != 1)
		die("OpenSSL HMAC setup failed");
}

static void setup(struct bench *b)
{
	size_t i;
	int t;

	b->plain = aligned_alloc(64, MAX_LEN + 64);
	b->cipher = aligned_alloc(64, MAX_LEN + 64);
	b->out = aligned_alloc(64, MAX_LEN + 64);
	if (b->plain == NULL || b->cipher == NULL || b->out == NULL)
		die("buffer allocation failed");
	for (i = 0; i < MAX_LEN; i++)
		b->plain[i] = (uint8_t)(i * 131 + 7);
	for (i = 0; i < sizeof(b->key); i++)
		b->key[i] = (uint8_t)(i * 29 + 3);
	for (i = 0; i < sizeof(b->iv); i++)
		b->iv[i] = (uint8_t)(i * 17 + 5);
	for (i = 0; i < sizeof(b->cbc_iv); i++)
		b->cbc_iv[i] = (uint8_t)(i * 13 + 1);

	setup_openssl(b);
	openssl_gcm(b, MAX_LEN, b->cipher, b->tags[0]);
	for (i = 0; i < CELL_COUNT; i++)
		if (cells[i].op == OP_GCM_ENC)
			openssl_gcm(b, cells[i].len, b->out, b->tags[i]);

	for (t = 0; t < 3; t++) {
		b->tier_ok[t] = impl_tiers[t] <= tb_fast_tier_supported();
		if (!b->tier_ok[t])
			continue;
		tb_fast_init(impl_tiers[t]);
		b->tb_gcm[t] = aligned_alloc(64, sizeof(*b->tb_gcm[t]));
		if (b->tb_gcm[t] == NULL ||
		    tb_gcm_setkey(b->tb_gcm[t], b->key, 32) != 0 ||
		    tb_aes_setkey(&b->tb_cbc[t], b->key, 16) != 0)
			die("tb key setup failed");
	}

	mbedtls_gcm_init(&b->mbed_gcm);
	mbedtls_aes_init(&b->mbed_cbc);
	b->mbed_sha256 = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
	if (mbedtls_gcm_setkey(&b->mbed_gcm, MBEDTLS_CIPHER_ID_AES, b->key,
			       256) != 0 ||
	    mbedtls_aes_setkey_dec(&b->mbed_cbc, b->key, 128) != 0 ||
	    b->mbed_sha256 == NULL)
		die("mbedTLS (project config) setup failed");

	b->stock_gcm = stock_gcm_new(b->key, 256);
	b->stock_cbc = stock_aes_dec_new(b->key, 128);
	if (b->stock_gcm == NULL || b->stock_cbc == NULL)
		die("mbedTLS (stock) setup failed");
}

static int impl_available(const struct bench *b, enum impl impl,
			  enum op op)
{
	if (impl <= IMPL_PORTABLE)
		return b->tier_ok[impl];
	if (impl == IMPL_MBEDTLS_STOCK)
		return op == OP_GCM_ENC || op == OP_GCM_DEC || op == OP_CBC_DEC;
	return 1;
}

/* One message; returns 0 or nonzero when the implementation failed. */
static int run_tb(struct bench *b, int t, enum op op, size_t len)
{
	struct tb_hmac_sha256_ctx hmac;
	uint8_t tag[16], iv[16];

	switch (op) {
	case OP_GCM_ENC:
		tb_gcm_encrypt(b->tb_gcm[t], b->iv, NULL, 0, b->plain, b->out,
			       len, tag);
		return memcmp(tag, b->tags[tag_index(len)], 16) != 0;
	case OP_GCM_DEC:
		return tb_gcm_decrypt(b->tb_gcm[t], b->iv, NULL, 0, b->cipher,
				      b->out, len, b->tags[tag_index(len)]);
	case OP_CBC_DEC:
		memcpy(iv, b->cbc_iv, 16);
		tb_aes_cbc_decrypt(&b->tb_cbc[t], iv, b->plain, b->out, len);
		return 0;
	case OP_SHA256:
		tb_sha256(b->plain, len, b->out);
		return 0;
	case OP_HMAC:
		tb_hmac_sha256_init(&hmac, b->key, 32);
		tb_hmac_sha256_update(&hmac, b->plain, len);
		tb_hmac_sha256_final(&hmac, b->out);
		return 0;
	}
	return 1;
}

static int run_openssl(struct bench *b, enum op op, size_t len)
{
	uint8_t tag[16];
	size_t mac_len;
	int n;

	switch (op) {
	case OP_GCM_ENC:
		openssl_gcm(b, len, b->out, tag);
		return 0;
	case OP_GCM_DEC:
		memcpy(tag, b->tags[tag_index(len)], 16);
		if (EVP_DecryptInit_ex(b->ossl_gcm_dec, NULL, NULL, NULL,
				       b->iv) != 1 ||
		    EVP_DecryptUpdate(b->ossl_gcm_dec, b->out, &n, b->cipher,
				      (int)len) != 1 ||
		    EVP_CIPHER_CTX_ctrl(b->ossl_gcm_dec, EVP_CTRL_GCM_SET_TAG,
					16, tag) != 1)
			return 1;
		return EVP_DecryptFinal_ex(b->ossl_gcm_dec, b->out + n, &n) != 1;
	case OP_CBC_DEC:
		if (EVP_DecryptInit_ex(b->ossl_cbc, NULL, NULL, NULL,
				       b->cbc_iv) != 1)
			return 1;
		return EVP_DecryptUpdate(b->ossl_cbc, b->out, &n, b->plain,
					 (int)len) != 1;
	case OP_SHA256:
		return EVP_DigestInit_ex(b->ossl_md, EVP_sha256(), NULL) != 1 ||
		       EVP_DigestUpdate(b->ossl_md, b->plain, len) != 1 ||
		       EVP_DigestFinal_ex(b->ossl_md, b->out, NULL) != 1;
	case OP_HMAC:
		return EVP_MAC_init(b->ossl_hmac, b->key, 32, NULL) != 1 ||
		       EVP_MAC_update(b->ossl_hmac, b->plain, len) != 1 ||
		       EVP_MAC_final(b->ossl_hmac, b->out, &mac_len, 32) != 1;
	}
	return 1;
}

static int run_mbedtls(struct bench *b, enum op op, size_t len)
{
	uint8_t tag[16], iv[16];

	switch (op) {
	case OP_GCM_ENC:
		return mbedtls_gcm_crypt_and_tag(&b->mbed_gcm,
						 MBEDTLS_GCM_ENCRYPT, len,
						 b->iv, 12, NULL, 0, b->plain,
						 b->out, 16, tag);
	case OP_GCM_DEC:
		return mbedtls_gcm_auth_decrypt(&b->mbed_gcm, len, b->iv, 12,
						NULL, 0,
						b->tags[tag_index(len)], 16,
						b->cipher, b->out);
	case OP_CBC_DEC:
		memcpy(iv, b->cbc_iv, 16);
		return mbedtls_aes_crypt_cbc(&b->mbed_cbc, MBEDTLS_AES_DECRYPT,
					     len, iv, b->plain, b->out);
	case OP_SHA256:
		return mbedtls_sha256(b->plain, len, b->out, 0);
	case OP_HMAC:
		return mbedtls_md_hmac(b->mbed_sha256, b->key, 32, b->plain,
				       len, b->out);
	}
	return 1;
}

static int run_stock(struct bench *b, enum op op, size_t len)
{
	uint8_t tag[16], iv[16];

	switch (op) {
	case OP_GCM_ENC:
		return stock_gcm_encrypt(b->stock_gcm, b->iv, b->plain, b->out,
					 len, tag);
	case OP_GCM_DEC:
		return stock_gcm_decrypt(b->stock_gcm, b->iv, b->cipher,
					 b->out, len, b->tags[tag_index(len)]);
	case OP_CBC_DEC:
		memcpy(iv, b->cbc_iv, 16);
		return stock_aes_cbc_decrypt(b->stock_cbc, iv, b->plain, b->out,
					     len);
	default:
		return 1;
	}
}

static int run_once(struct bench *b, enum impl impl, enum op op, size_t len)
{
	switch (impl) {
	case IMPL_VAES:
	case IMPL_AESNI:
	case IMPL_PORTABLE:
		return run_tb(b, (int)impl, op, len);
	case IMPL_OPENSSL:
		return run_openssl(b, op, len);
	case IMPL_MBEDTLS:
		return run_mbedtls(b, op, len);
	case IMPL_MBEDTLS_STOCK:
		return run_stock(b, op, len);
	case IMPL_COUNT:
		break;
	}
	return 1;
}

/* Runs iterations messages after one warm-up message; returns TSC ticks
 * per byte. */
static double measure(struct bench *b, enum impl impl, const struct cell *c,
		      unsigned iterations)
{
	uint64_t start, ticks;
	unsigned i;

	if (impl <= IMPL_PORTABLE)
		tb_fast_init(impl_tiers[impl]);
	if (run_once(b, impl, c->op, c->len) != 0) {
		fprintf(stderr, "crypto_bench: %s failed on %s of %zu bytes\n",
			impl_names[impl], op_names[c->op], c->len);
		exit(1);
	}

	start = __rdtsc();
	for (i = 0; i < iterations; i++)
		run_once(b, impl, c->op, c->len);
	ticks = __rdtsc() - start;
	return (double)ticks / ((double)iterations * (double)c->len);
}

/* TSC ticks per second, from CLOCK_MONOTONIC over about 100 ms. */
static double tsc_hz(void)
{
	struct timespec t0, t1;
	uint64_t c0, c1;
	double seconds;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	c0 = __rdtsc();
	do {
		clock_gettime(CLOCK_MONOTONIC, &t1);
		seconds = (double)(t1.tv_sec - t0.tv_sec) +
			  (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
	} while (seconds < 0.1);
	c1 = __rdtsc();
	return (double)(c1 - c0) / seconds;
}

static int compare_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static void print_cpu(void)
{
	char line[256];
	FILE *f = fopen("/proc/cpuinfo", "r");

	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "model name", 10) == 0) {
			printf("cpu: %s", strchr(line, ':') + 2);
			break;
		}
	}
	fclose(f);
}

int main(int argc, char **argv)
{
	static double results[CELL_COUNT][IMPL_COUNT][1024];
	struct tb_test_platform tp;
	struct bench b;
	unsigned trials = 31, trial;
	int quick = 0, i;
	double hz;
	size_t c;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--quick") == 0) {
			quick = 1;
		} else if (strcmp(argv[i], "--trials") == 0 && i + 1 < argc) {
			trials = (unsigned)strtoul(argv[++i], NULL, 10);
			if (trials == 0 || trials > 1024)
				die("--trials must be 1..1024");
		} else {
			fprintf(stderr, "usage: %s [--quick] [--trials N]\n",
				argv[0]);
			return 2;
		}
	}
	if (quick)
		trials = 1;

	tb_test_platform_init(&tp);
	tp.log_echo = 0;
	memset(&b, 0, sizeof(b));
	setup(&b);
	hz = tsc_hz();
	print_cpu();
	printf("tsc: %.1f MHz; best tier: %d; trials per cell: %u%s\n",
	       hz / 1e6, (int)tb_fast_tier_supported(), trials,
	       quick ? " (--quick: one iteration, numbers meaningless)" : "");

	/* Interleaved: every trial visits every cell and implementation. */
	for (trial = 0; trial < trials; trial++) {
		for (c = 0; c < CELL_COUNT; c++) {
			unsigned iterations = quick ? 1 :
					      TRIAL_BYTES / (unsigned)cells[c].len;
			enum impl impl;

			if (iterations > MAX_ITERATIONS)
				iterations = MAX_ITERATIONS;
			if (iterations < 2 && !quick)
				iterations = 2;
			for (impl = 0; impl < IMPL_COUNT; impl++)
				if (impl_available(&b, impl, cells[c].op))
					results[c][impl][trial] =
						measure(&b, impl, &cells[c],
							iterations);
		}
	}

	printf("\n| operation | size | implementation | median ticks/B | "
	       "min ticks/B | median MB/s | OpenSSL median / median |\n");
	printf("|---|---|---|---|---|---|---|\n");
	for (c = 0; c < CELL_COUNT; c++) {
		double ossl_median;
		enum impl impl;

		qsort(results[c][IMPL_OPENSSL], trials, sizeof(double),
		      compare_double);
		ossl_median = results[c][IMPL_OPENSSL][trials / 2];
		for (impl = 0; impl < IMPL_COUNT; impl++) {
			double *r = results[c][impl];
			double median;

			if (!impl_available(&b, impl, cells[c].op))
				continue;
			if (impl != IMPL_OPENSSL)
				qsort(r, trials, sizeof(double), compare_double);
			median = r[trials / 2];
			printf("| %s | %zu | %s | %.3f | %.3f | %.0f | %.2f |\n",
			       op_names[cells[c].op], cells[c].len,
			       impl_names[impl], median, r[0],
			       hz / median / 1e6, ossl_median / median);
		}
	}

	tb_test_platform_fini(&tp);
	return 0;
}

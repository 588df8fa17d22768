/*
 * Helpers shared by the KBS client end-to-end tests.
 */
#define _POSIX_C_SOURCE 200809L

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/core_names.h>
#include <openssl/pem.h>

#include "core/tb_core.h"
#include "kbs_e2e_util.h"
#include "tb_test_platform.h"

struct e2e_inputs e2e;

const struct e2e_report_opts e2e_good_report = {
	.measurement_byte = E2E_MEASUREMENT_BYTE,
	.policy = 0x30000,
};

const char *e2e_path(const char *name)
{
	static char path[512];

	snprintf(path, sizeof(path), "%s/%s", e2e.workdir, name);
	return path;
}

const char *e2e_source_path(const char *rel)
{
	static char path[512];
	const char *root = getenv("TPMBOOT_SOURCE_ROOT");

	if (!root)
		fail_msg("TPMBOOT_SOURCE_ROOT is not set");
	snprintf(path, sizeof(path), "%s/%s", root, rel);
	return path;
}

uint8_t *e2e_read(const char *name, size_t *len)
{
	uint8_t *data = tb_test_read_file(e2e_path(name), len);

	if (!data)
		fail_msg("cannot read %s", e2e_path(name));
	return data;
}

int e2e_setup(void)
{
	char cmd[1024];
	uint8_t *key1;
	size_t len;
	FILE *f;

	snprintf(e2e.workdir, sizeof(e2e.workdir), "/tmp/tb-kbs-e2e-XXXXXX");
	if (!getenv("TPMBOOT_SOURCE_ROOT") || !mkdtemp(e2e.workdir))
		return -1;
	snprintf(cmd, sizeof(cmd), "/usr/bin/python3 %s %s",
		 e2e_source_path("tests/unit/kbs/kbs_e2e_setup.py"), e2e.workdir);
	if (system(cmd) != 0)
		return -1;

	key1 = e2e_read("key1.bin", &len);
	memcpy(e2e.key1, key1, sizeof(e2e.key1));
	free(key1);
	e2e.key2_unwrap = e2e_read("key2_unwrap.bin", &e2e.key2_unwrap_len);
	e2e.key2_pkcs11 = e2e_read("key2_pkcs11.bin", &e2e.key2_pkcs11_len);
	e2e.aad = e2e_read("aad.bin", &e2e.aad_len);

	f = fopen(e2e_path("vcek_key.pem"), "r");
	if (!f)
		return -1;
	e2e.vcek_key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (!e2e.vcek_key)
		return -1;

	signal(SIGPIPE, SIG_IGN);
	return 0;
}

void e2e_teardown(void)
{
	char cmd[512];

	EVP_PKEY_free(e2e.vcek_key);
	free(e2e.key2_unwrap);
	free(e2e.key2_pkcs11);
	free(e2e.aad);
	if (!getenv("TB_KBS_KEEP_WORKDIR") && e2e.workdir[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", e2e.workdir);
		if (system(cmd) != 0)
			fprintf(stderr, "cannot remove %s\n", e2e.workdir);
	}
}

void e2e_peer_start(struct e2e_peer *peer, char *const argv[],
		    const char *log_name)
{
	char line[512] = "";
	struct pollfd pfd;
	size_t used = 0;
	int out[2];

	assert_int_equal(pipe(out), 0);
	peer->pid = fork();
	assert_true(peer->pid >= 0);
	if (peer->pid == 0) {
		int log_fd = open(e2e_path(log_name), O_WRONLY | O_CREAT | O_APPEND, 0600);

		dup2(out[1], 1);
		if (log_fd >= 0)
			dup2(log_fd, 2);
		close(out[0]);
		execv(argv[0], argv);
		_exit(127);
	}
	close(out[1]);

	pfd.fd = out[0];
	pfd.events = POLLIN;
	while (!strchr(line, '\n')) {
		ssize_t n;

		if (poll(&pfd, 1, 20000) != 1)
			fail_msg("%s did not start; see %s", argv[1], e2e_path(log_name));
		n = read(out[0], line + used, sizeof(line) - 1 - used);
		if (n <= 0)
			fail_msg("%s exited; see %s", argv[1], e2e_path(log_name));
		used += (size_t)n;
		line[used] = '\0';
	}
	close(out[0]);
	if (strncmp(line, "listening on ", 13) != 0)
		fail_msg("unexpected output from %s: %s", argv[1], line);
	snprintf(peer->address, sizeof(peer->address), "%s", line + 13);
	peer->address[strcspn(peer->address, "\r\n")] = '\0';
}

void e2e_peer_stop(struct e2e_peer *peer)
{
	if (peer->pid > 0) {
		kill(peer->pid, SIGTERM);
		waitpid(peer->pid, NULL, 0);
		peer->pid = -1;
	}
}

/* TCB_VERSION in the Milan layout: bootloader 3, tee 0, snp 8,
 * microcode 115, as the test VCEK certifies. */
static void put_tcb(uint8_t *p)
{
	static const uint8_t tcb[8] = { 3, 0, 0, 0, 0, 0, 8, 115 };

	memcpy(p, tcb, 8);
}

static EVP_PKEY *fresh_key(int nid);

/* Signs bytes 0..0x29F with ECDSA P-384 / SHA-384 and stores R and S as
 * 72-byte little-endian integers (SEV-SNP ABI signature format). */
static void sign_report(EVP_PKEY *key, uint8_t report[1184])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint8_t der[160];
	const uint8_t *p = der;
	size_t der_len = sizeof(der);
	const BIGNUM *r, *s;
	ECDSA_SIG *sig;

	assert_int_equal(EVP_DigestSignInit(md, NULL, EVP_sha384(), NULL, key), 1);
	assert_int_equal(EVP_DigestSign(md, der, &der_len, report, 0x2A0), 1);
	EVP_MD_CTX_free(md);

	sig = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
	assert_non_null(sig);
	ECDSA_SIG_get0(sig, &r, &s);
	assert_int_equal(BN_bn2lebinpad(r, report + 0x2A0, 72), 72);
	assert_int_equal(BN_bn2lebinpad(s, report + 0x2E8, 72), 72);
	ECDSA_SIG_free(sig);
}

void e2e_build_report(const struct e2e_report_opts *o,
		      const uint8_t report_data[64], uint8_t report[1184])
{
	int i;

	memset(report, 0, 1184);
	tb_store_le32(report + 0x000, 3);        /* VERSION */
	tb_store_le32(report + 0x004, 1);        /* GUEST_SVN */
	tb_store_le64(report + 0x008, o->policy);
	tb_store_le32(report + 0x030, o->vmpl);
	tb_store_le32(report + 0x034, 1);        /* SIGNATURE_ALGO */
	put_tcb(report + 0x038);                 /* CURRENT_TCB */
	tb_store_le64(report + 0x040, 1);        /* PLATFORM_INFO */
	memcpy(report + 0x050, report_data, 64);
	if (o->corrupt_binding)
		report[0x050] ^= 1;
	memset(report + 0x090, o->measurement_byte, 48);
	for (i = 0; i < 32; i++)
		report[0x140 + i] = (uint8_t)i;  /* REPORT_ID */
	memset(report + 0x160, 0xFF, 32);        /* REPORT_ID_MA */
	put_tcb(report + 0x180);                 /* REPORTED_TCB */
	report[0x188] = 0x19;                    /* CPUID family, model, stepping */
	report[0x189] = 0x01;
	report[0x18A] = 0x01;
	for (i = 0; i < 64; i++)
		report[0x1A0 + i] = (uint8_t)i;  /* CHIP_ID = the VCEK hwID */
	put_tcb(report + 0x1E0);                 /* COMMITTED_TCB */
	report[0x1E8] = 21;                      /* CURRENT build, minor, major */
	report[0x1E9] = 55;
	report[0x1EA] = 1;
	report[0x1EC] = 21;                      /* COMMITTED build, minor, major */
	report[0x1ED] = 55;
	report[0x1EE] = 1;
	put_tcb(report + 0x1F0);                 /* LAUNCH_TCB */

	if (o->bad_signature) {
		EVP_PKEY *other = fresh_key(NID_secp384r1);

		sign_report(other, report);
		EVP_PKEY_free(other);
	} else {
		sign_report(e2e.vcek_key, report);
	}
}

static EVP_PKEY *fresh_key(int nid)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_EC, NULL);
	EVP_PKEY *key = NULL;

	assert_int_equal(EVP_PKEY_keygen_init(ctx), 1);
	assert_int_equal(EVP_PKEY_CTX_set_ec_paramgen_curve_nid(ctx, nid), 1);
	assert_int_equal(EVP_PKEY_keygen(ctx, &key), 1);
	EVP_PKEY_CTX_free(ctx);
	return key;
}

void e2e_build_tdx_quote(const uint8_t report_data[64], int debug,
			 uint8_t quote[E2E_TDX_QUOTE_LEN])
{
	static const uint8_t intel_qe_vendor[16] = {
		0x93, 0x9a, 0x72, 0x33, 0xf7, 0x9c, 0x4c, 0xa9,
		0x94, 0x0a, 0x0d, 0xb3, 0x95, 0x7f, 0x06, 0x07,
	};
	EVP_PKEY *key = fresh_key(NID_X9_62_prime256v1);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint8_t der[80], *body = quote + 48, *sig = quote + 48 + 584 + 4;
	const uint8_t *p = der;
	size_t der_len = sizeof(der), pub_len = 65;
	uint8_t pub[65];
	const BIGNUM *r, *s;
	ECDSA_SIG *ecdsa;

	memset(quote, 0, E2E_TDX_QUOTE_LEN);
	tb_store_le16(quote + 0, 4);              /* version */
	tb_store_le16(quote + 2, 2);              /* attestation key type: ECDSA P-256 */
	tb_store_le32(quote + 4, 0x81);           /* TEE type: TDX */
	memcpy(quote + 12, intel_qe_vendor, 16);
	tb_store_le64(body + 0x78, debug ? 0x10000001ull : 0x10000000ull);
	memset(body + 0x88, E2E_MEASUREMENT_BYTE, 48); /* MRTD */
	memcpy(body + 0x208, report_data, 64);
	tb_store_le32(quote + 48 + 584, 134);     /* signature data length */

	assert_int_equal(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key), 1);
	assert_int_equal(EVP_DigestSign(md, der, &der_len, quote, 48 + 584), 1);
	EVP_MD_CTX_free(md);
	ecdsa = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
	assert_non_null(ecdsa);
	ECDSA_SIG_get0(ecdsa, &r, &s);
	assert_int_equal(BN_bn2binpad(r, sig, 32), 32);
	assert_int_equal(BN_bn2binpad(s, sig + 32, 32), 32);
	ECDSA_SIG_free(ecdsa);

	/* Attestation public key x || y, then certification data type 6
	 * with no data. */
	assert_int_equal(EVP_PKEY_get_octet_string_param(key, "encoded-pub-key", pub,
							 sizeof(pub), &pub_len), 1);
	assert_int_equal(pub_len, 65);
	memcpy(sig + 64, pub + 1, 64);
	tb_store_le16(sig + 128, 6);
	EVP_PKEY_free(key);
}

uint8_t *e2e_build_cert_table(size_t *len)
{
	static const uint8_t guids[3][16] = {
		{ 0x63, 0xda, 0x75, 0x8d, 0xe6, 0x64, 0x45, 0x64,
		  0xad, 0xc5, 0xf4, 0xb9, 0x3b, 0xe8, 0xac, 0xcd },
		{ 0x4a, 0xb7, 0xb3, 0x79, 0xbb, 0xac, 0x4f, 0xe4,
		  0xa0, 0x2f, 0x05, 0xae, 0xf3, 0x27, 0xc7, 0x82 },
		{ 0xc0, 0xb4, 0x06, 0xa4, 0xa8, 0x03, 0x49, 0x52,
		  0x97, 0x43, 0x3f, 0xb6, 0x01, 0x4c, 0xd0, 0xae },
	};
	static const char *files[3] = { "vcek.der", "ask.der", "ark.der" };
	uint8_t *table = calloc(1, 16384);
	size_t offset = 4 * 24, i;

	assert_non_null(table);
	for (i = 0; i < 3; i++) {
		size_t n;
		uint8_t *der = e2e_read(files[i], &n);

		assert_true(offset + n <= 16384);
		memcpy(table + i * 24, guids[i], 16);
		tb_store_le32(table + i * 24 + 16, (uint32_t)offset);
		tb_store_le32(table + i * 24 + 20, (uint32_t)n);
		memcpy(table + offset, der, n);
		offset += n;
		free(der);
	}
	*len = offset;
	return table;
}

/*
 * tpmboot-mkimage provision: the image opens with Key1 and contains the
 * NVChip and marker files, and the wrapped-key entry verifies with Key1
 * and unwraps to Key1 for each wrap mode. The kbs-unwrap mode with --kbs
 * talks to a small in-process HTTP server on 127.0.0.1 that plays the
 * KBS admin wrap endpoint.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "kbs/kbs_base64.h"
#include "mkimage_test_util.h"
#include "wrapkey/tb_wrapkey.h"

static const uint8_t kek[32] = {
	1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
	17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32,
};
static const uint8_t wrapkey_uuid[MK_UUID_LEN] = TPMBOOT_WRAPKEY_UUID;

static char dir[64];

static const char *path_in(const char *name)
{
	static char buf[4][128];
	static int next;

	next = (next + 1) % 4;
	snprintf(buf[next], sizeof(buf[next]), "%s/%s", dir, name);
	return buf[next];
}

static void write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	fclose(f);
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/mkimage-provision-XXXXXX");
	return mkdtemp(dir) == NULL;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) != 0;
}

/*
 * Opens the provisioned image with key1, checks NVChip against nvchip
 * (or its length when NULL) and the marker, parses the entry, checks its
 * tag and returns the parsed entry (pointing into *raw, caller frees).
 */
static void check_provisioned(struct tb_test_platform *tp,
			      const char *image_path, const uint8_t *key1,
			      size_t key1_len, const uint8_t *nvchip,
			      size_t nvchip_len, struct tb_wrapkey_entry *entry,
			      uint8_t **raw, struct tb_wrapkey_image_id *id,
			      uint8_t *salt)
{
	struct tb_cocoonfs_meta *meta;
	struct tpmboot_fs *fs;
	struct tb_cocoonfs_aux_entry e;
	size_t len, flen = 0;
	uint8_t *image = tb_test_read_file(image_path, &len), *data;

	assert_non_null(image);
	assert_int_equal(mt_open(tp, image, len, key1, key1_len, &meta, &fs), 0);
	data = mt_read(fs, TPMBOOT_INODE_NVCHIP, &flen);
	assert_non_null(data);
	assert_int_equal(flen, nvchip_len);
	if (nvchip != NULL)
		assert_memory_equal(data, nvchip, flen);
	free(data);
	data = mt_read(fs, TPMBOOT_INODE_MANUFACTURED, &flen);
	assert_non_null(data);
	assert_int_equal(flen, 12);
	assert_memory_equal(data, "COCONUT-SVSM", 12);
	free(data);

	assert_int_equal(tb_cocoonfs_aux_count(meta), 1);
	assert_int_equal(tb_cocoonfs_aux_find(meta, wrapkey_uuid, 0, &e), 0);
	*raw = malloc(e.len);
	memcpy(*raw, e.data, e.len);
	assert_int_equal(tb_wrapkey_parse(*raw, e.len, entry), 0);
	memcpy(salt, meta->salt, meta->salt_len);
	id->salt = salt;
	id->salt_len = meta->salt_len;
	memcpy(id->layout, meta->layout.encoded, TB_WRAPKEY_LAYOUT_LEN);
	assert_int_equal(tb_wrapkey_verify(entry, id, key1, key1_len), 0);
	tb_cocoonfs_close(fs);
	tb_cocoonfs_meta_free(meta);
	free(image);
}

/* Unwraps a kbs-unwrap envelope with the KEK as the KBS would. */
static void unwrap_envelope(const struct tb_wrapkey_entry *entry,
			    const struct tb_wrapkey_image_id *id, uint8_t *key1)
{
	uint8_t aad[TB_WRAPKEY_MAX_LEN + 300];
	size_t aad_len, n = entry->key1_len;

	assert_int_equal(entry->wrapped_len, 12 + n + 16);
	assert_int_equal(tb_wrapkey_envelope_aad(entry, id, aad, sizeof(aad),
						 &aad_len), 0);
	assert_int_equal(tb_aes_gcm_decrypt(kek, sizeof(kek), entry->wrapped, aad,
					    aad_len, entry->wrapped + 12, key1,
					    n, entry->wrapped + 12 + n), 0);
}

static void base_provision(struct mk_provision *pv, const char *image)
{
	memset(pv, 0, sizeof(*pv));
	mk_params_init(&pv->params);
	pv->params.image_size = 256u << 10;
	pv->image_path = image;
	pv->key1_out = path_in("key1.bin");
}

static void test_kek_file(void **state)
{
	struct tb_test_platform tp;
	struct mk_provision pv;
	struct tb_wrapkey_entry entry;
	struct tb_wrapkey_image_id id;
	uint8_t nvchip[16384], *raw, salt[255], unwrapped[32], *key1;
	size_t key1_len;

	(void)state;
	tb_test_platform_init(&tp);
	tp.log_echo = 0;
	memset(nvchip, 0xa5, sizeof(nvchip));
	write_file(path_in("nvchip"), nvchip, sizeof(nvchip));
	write_file(path_in("kek"), kek, sizeof(kek));
	base_provision(&pv, path_in("kek.img"));
	pv.nvchip_path = path_in("nvchip");
	pv.wrap_mode = "kbs-unwrap";
	pv.kek_file = path_in("kek");
	pv.key_id = "disk-kek-1";
	assert_int_equal(mk_provision_run(&pv), MK_OK);

	key1 = tb_test_read_file(path_in("key1.bin"), &key1_len);
	assert_non_null(key1);
	assert_int_equal(key1_len, 32);
	check_provisioned(&tp, path_in("kek.img"), key1, key1_len, nvchip,
			  sizeof(nvchip), &entry, &raw, &id, salt);
	assert_int_equal(entry.mode, TB_WRAP_MODE_KBS_UNWRAP);
	assert_int_equal(entry.key_id_len, 10);
	assert_memory_equal(entry.key_id, "disk-kek-1", 10);
	assert_int_equal(id.salt_len, 16);
	unwrap_envelope(&entry, &id, unwrapped);
	assert_memory_equal(unwrapped, key1, 32);

	/* A changed byte of the entry fails the tag check. */
	raw[entry.raw_len - 40] ^= 1;
	assert_int_equal(tb_wrapkey_verify(&entry, &id, key1, key1_len),
			 TPMBOOT_E_WRAPKEY_TAG);
	free(raw);
	free(key1);
	assert_int_equal(tb_test_platform_fini(&tp), 0);
}

/* Without --key1-out and --print-key1, Key1 is written nowhere. */
static void test_key1_not_written(void **state)
{
	struct tb_test_platform tp;
	struct mk_provision pv;
	FILE *f;

	(void)state;
	tb_test_platform_init(&tp);
	tp.log_echo = 0;
	write_file(path_in("kek"), kek, sizeof(kek));
	base_provision(&pv, path_in("quiet.img"));
	pv.key1_out = NULL;
	pv.wrap_mode = "kbs-unwrap";
	pv.kek_file = path_in("kek");
	pv.key_id = "k";
	unlink(path_in("key1.bin"));
	assert_int_equal(mk_provision_run(&pv), MK_OK);
	f = fopen(path_in("key1.bin"), "rb");
	assert_null(f);
	assert_int_equal(tb_test_platform_fini(&tp), 0);
}

static void test_resource(void **state)
{
	struct tb_test_platform tp;
	struct mk_provision pv;
	struct tb_wrapkey_entry entry;
	struct tb_wrapkey_image_id id;
	uint8_t key1[24], *raw, salt[255];

	(void)state;
	tb_test_platform_init(&tp);
	tp.log_echo = 0;
	memset(key1, 0x3c, sizeof(key1));
	base_provision(&pv, path_in("res.img"));
	pv.key1 = key1;
	pv.key1_len = sizeof(key1);
	pv.wrap_mode = "resource";
	pv.resource = "default/tpmboot/disk1";
	pv.params.strength = 192;
	assert_int_equal(mk_provision_run(&pv), MK_OK);
	check_provisioned(&tp, path_in("res.img"), key1, sizeof(key1), NULL, 16384,
			  &entry, &raw, &id, salt);
	assert_int_equal(entry.mode, TB_WRAP_MODE_RESOURCE);
	assert_int_equal(entry.wrapped_len, 0);
	assert_memory_equal(entry.locator, "default/tpmboot/disk1", 21);
	free(raw);

	pv.resource = "default/tpmboot";
	assert_int_equal(mk_provision_run(&pv), MK_E_USAGE);
	assert_int_equal(tb_test_platform_fini(&tp), 0);
}

static void test_trustee_pkcs11(void **state)
{
	struct tb_test_platform tp;
	struct mk_provision pv;
	struct tb_wrapkey_entry entry;
	struct tb_wrapkey_image_id id;
	EVP_PKEY *pkey = EVP_RSA_gen(2048);
	EVP_PKEY_CTX *ctx;
	uint8_t *raw, salt[255], *key1, out[512];
	size_t key1_len, out_len = sizeof(out);
	FILE *f;

	(void)state;
	tb_test_platform_init(&tp);
	tp.log_echo = 0;
	assert_non_null(pkey);
	f = fopen(path_in("rsa.pem"), "w");
	assert_non_null(f);
	assert_int_equal(PEM_write_PUBKEY(f, pkey), 1);
	fclose(f);
	base_provision(&pv, path_in("rsa.img"));
	pv.wrap_mode = "trustee-pkcs11";
	pv.rsa_pub_file = path_in("rsa.pem");
	pv.params.strength = 256;
	assert_int_equal(mk_provision_run(&pv), MK_OK);
	key1 = tb_test_read_file(path_in("key1.bin"), &key1_len);
	check_provisioned(&tp, path_in("rsa.img"), key1, key1_len, NULL, 16384,
			  &entry, &raw, &id, salt);
	assert_int_equal(entry.mode, TB_WRAP_MODE_TRUSTEE_PKCS11);
	assert_int_equal(entry.wrapped_len, 256);

	ctx = EVP_PKEY_CTX_new(pkey, NULL);
	assert_int_equal(EVP_PKEY_decrypt_init(ctx), 1);
	assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING), 1);
	assert_int_equal(EVP_PKEY_CTX_set_rsa_oaep_md(ctx, EVP_sha256()), 1);
	assert_int_equal(EVP_PKEY_decrypt(ctx, out, &out_len, entry.wrapped,
					  entry.wrapped_len), 1);
	assert_int_equal(out_len, key1_len);
	assert_memory_equal(out, key1, key1_len);
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(pkey);
	free(raw);
	free(key1);
	assert_int_equal(tb_test_platform_fini(&tp), 0);
}

/* A one-shot stand-in for the KBS admin wrap endpoint. */
struct fake_kbs {
	int listen_fd;
	uint16_t port;
	char request[8192];
	int status; /* HTTP status of the response */
};

static void *fake_kbs_run(void *arg)
{
	struct fake_kbs *k = arg;
	char *body, *aad64, *key64, resp[2048], wrapped64[512];
	uint8_t aad[2048], key1[64], env[12 + 64 + 16];
	size_t aad_len = 0, key1_len = 0, used = 0;
	int fd = accept(k->listen_fd, NULL, NULL);

	if (fd < 0)
		return NULL;
	for (;;) {
		ssize_t n = recv(fd, k->request + used,
				 sizeof(k->request) - 1 - used, 0);

		if (n <= 0)
			break;
		used += (size_t)n;
		k->request[used] = '\0';
		body = strstr(k->request, "\r\n\r\n");
		if (body != NULL && strchr(body, '}') != NULL)
			break;
	}
	body = strstr(k->request, "\r\n\r\n");
	aad64 = body ? strstr(body, "\"aad\":\"") : NULL;
	key64 = body ? strstr(body, "\"key\":\"") : NULL;
	if (k->status == 200 && aad64 && key64 &&
	    kbs_base64_decode(KBS_BASE64_STD, aad64 + 7,
			      strcspn(aad64 + 7, "\""), aad, sizeof(aad),
			      &aad_len) == 0 &&
	    kbs_base64_decode(KBS_BASE64_STD, key64 + 7,
			      strcspn(key64 + 7, "\""), key1, sizeof(key1),
			      &key1_len) == 0) {
		memset(env, 0x11, 12);
		tb_aes_gcm_encrypt(kek, sizeof(kek), env, aad, aad_len, key1,
				   env + 12, key1_len, env + 12 + key1_len);
		kbs_base64_encode(KBS_BASE64_STD, env, 28 + key1_len, wrapped64,
				  sizeof(wrapped64));
		snprintf(resp, sizeof(resp), "{\"key-id\":\"disk-kek-1\","
			 "\"wrapped\":\"%s\"}", wrapped64);
	} else {
		snprintf(resp, sizeof(resp), "{\"type\":\"AdminAuthAccess\"}");
	}
	dprintf(fd, "HTTP/1.1 %d X\r\nContent-Type: application/json\r\n"
		"Content-Length: %zu\r\n\r\n%s", k->status, strlen(resp), resp);
	close(fd);
	return NULL;
}

static void fake_kbs_start(struct fake_kbs *k, pthread_t *thread)
{
	struct sockaddr_in addr;
	socklen_t alen = sizeof(addr);

	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	k->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(k->listen_fd >= 0);
	assert_int_equal(bind(k->listen_fd, (struct sockaddr *)&addr,
			      sizeof(addr)), 0);
	assert_int_equal(listen(k->listen_fd, 1), 0);
	getsockname(k->listen_fd, (struct sockaddr *)&addr, &alen);
	k->port = ntohs(addr.sin_port);
	assert_int_equal(pthread_create(thread, NULL, fake_kbs_run, k), 0);
}

static void test_kbs_wrap_endpoint(void **state)
{
	struct tb_test_platform tp;
	struct fake_kbs k;
	pthread_t thread;
	struct mk_provision pv;
	struct tb_wrapkey_entry entry;
	struct tb_wrapkey_image_id id;
	uint8_t *raw, salt[255], *key1, unwrapped[32];
	size_t key1_len;
	char url[64];

	(void)state;
	tb_test_platform_init(&tp);
	tp.log_echo = 0;
	memset(&k, 0, sizeof(k));
	k.status = 200;
	fake_kbs_start(&k, &thread);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u", k.port);
	write_file(path_in("token"), "s3cret\n", 7);
	base_provision(&pv, path_in("kbs.img"));
	pv.wrap_mode = "kbs-unwrap";
	pv.kbs_url = url;
	pv.kbs_token_file = path_in("token");
	pv.key_id = "disk-kek-1";
	assert_int_equal(mk_provision_run(&pv), MK_OK);
	pthread_join(thread, NULL);
	close(k.listen_fd);
	assert_non_null(strstr(k.request, "POST /kbs/v0/tpmboot-unwrap/wrap "
				"HTTP/1.1\r\n"));
	assert_non_null(strstr(k.request, "Authorization: Bearer s3cret\r\n"));
	assert_non_null(strstr(k.request, "\"key-id\":\"disk-kek-1\""));

	key1 = tb_test_read_file(path_in("key1.bin"), &key1_len);
	check_provisioned(&tp, path_in("kbs.img"), key1, key1_len, NULL, 16384,
			  &entry, &raw, &id, salt);
	unwrap_envelope(&entry, &id, unwrapped);
	assert_memory_equal(unwrapped, key1, 32);
	free(raw);
	free(key1);

	/* A refused request fails the command and writes no image. */
	memset(&k, 0, sizeof(k));
	k.status = 401;
	fake_kbs_start(&k, &thread);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u", k.port);
	pv.image_path = path_in("refused.img");
	assert_int_equal(mk_provision_run(&pv), MK_E_WRAP);
	pthread_join(thread, NULL);
	close(k.listen_fd);
	assert_null(fopen(path_in("refused.img"), "rb"));
	assert_int_equal(tb_test_platform_fini(&tp), 0);
}

static void test_bad_options(void **state)
{
	struct tb_test_platform tp;
	struct mk_provision pv;

	(void)state;
	tb_test_platform_init(&tp);
	tp.log_echo = 0;
	base_provision(&pv, path_in("bad.img"));
	pv.wrap_mode = "kbs-unwrap";
	pv.kek_file = path_in("kek");
	assert_int_equal(mk_provision_run(&pv), MK_E_USAGE); /* no key id */
	pv.wrap_mode = "sealed";
	assert_int_equal(mk_provision_run(&pv), MK_E_USAGE);
	pv.wrap_mode = "trustee-pkcs11";
	assert_int_equal(mk_provision_run(&pv), MK_E_USAGE); /* no --rsa-pub */
	assert_null(fopen(path_in("bad.img"), "rb"));
	assert_int_equal(tb_test_platform_fini(&tp), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kek_file),
		cmocka_unit_test(test_key1_not_written),
		cmocka_unit_test(test_resource),
		cmocka_unit_test(test_trustee_pkcs11),
		cmocka_unit_test(test_kbs_wrap_endpoint),
		cmocka_unit_test(test_bad_options),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

/*
 * Release signature end to end: the client with a pinned KBS release key
 * (config->kbs_release_key) against the test KBS started with
 * --release-key. The test KBS's release-* faults play a host that strips,
 * replays or forges the signature, or a fake KBS with its own key.
 */
#define _POSIX_C_SOURCE 200809L

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include "core/tb_core.h"
#include "crypto/tb_crypto.h"
#include "kbs/tb_kbs.h"
#include "kbs_e2e_util.h"
#include "tb_test_platform.h"

/* Byte that fills the Key1 which the test KBS's fake-KBS faults send. */
#define FAKE_KEY_BYTE 0x5A

static struct tb_test_platform tp;
static struct e2e_peer kbs;
static uint16_t kbs_port;

/* The test KBS's release key (release.pem.pub) and an unrelated P-256 key. */
static uint8_t release_pub[65];
static uint8_t other_pub[65];

static void start_kbs(void)
{
	char server[512], anchor[512], policy[512], resource[512], kek[512];
	char pkcs11[512], release[512], decisions[512];
	char *argv[] = { "/usr/bin/python3", server, "--listen", "127.0.0.1:0",
			 "--trust-anchor", anchor, "--policy", policy,
			 "--resource", resource, "--kek", kek, "--pkcs11-key", pkcs11,
			 "--release-key", release, "--decision-log", decisions,
			 "--test-control", NULL };

	snprintf(server, sizeof(server), "%s", e2e_source_path("tests/peers/kbs/kbs_server.py"));
	snprintf(anchor, sizeof(anchor), "%s", e2e_path("anchor"));
	snprintf(policy, sizeof(policy), "%s", e2e_path("policy.json"));
	snprintf(resource, sizeof(resource), E2E_RESOURCE "=%s", e2e_path("key1.bin"));
	snprintf(kek, sizeof(kek), E2E_KEY_ID "=%s", e2e_path("kek.hex"));
	snprintf(pkcs11, sizeof(pkcs11), "%s", e2e_path("pkcs11.pem"));
	snprintf(release, sizeof(release), "%s", e2e_path("release.pem"));
	snprintf(decisions, sizeof(decisions), "%s", e2e_path("decisions.jsonl"));

	e2e_peer_start(&kbs, argv, "kbs.log");
	if (sscanf(kbs.address, "127.0.0.1:%hu", &kbs_port) != 1)
		fail_msg("unexpected KBS address %s", kbs.address);
}

/* Writes the SEC 1 uncompressed public key of a fresh P-256 key. */
static void fresh_public_key(uint8_t pub[65])
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	size_t len = 0;

	assert_non_null(key);
	assert_int_equal(EVP_PKEY_get_octet_string_param(key, "encoded-pub-key", pub, 65, &len), 1);
	assert_int_equal(len, 65);
	EVP_PKEY_free(key);
}

/* Replaces the test KBS's faults with one fault on the unwrap path, or
 * clears them when name is NULL. */
static void set_fault(const char *name)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	char body[256], request[1024], response[1024];
	int fd = socket(AF_INET, SOCK_STREAM, 0), status = 0;
	ssize_t n;
	size_t len;

	if (name)
		snprintf(body, sizeof(body),
			 "{\"faults\":[{\"name\":\"%s\",\"path\":\"/kbs/v0/tpmboot-unwrap/unwrap\"}]}",
			 name);
	else
		snprintf(body, sizeof(body), "{\"faults\":[]}");
	len = (size_t)snprintf(request, sizeof(request),
			       "POST /_test/faults HTTP/1.1\r\nHost: kbs\r\nConnection: close\r\n"
			       "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
			       strlen(body), body);

	sin.sin_port = htons(kbs_port);
	inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
	assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(send(fd, request, len, 0), (ssize_t)len);
	n = recv(fd, response, sizeof(response) - 1, MSG_WAITALL);
	close(fd);
	assert_true(n > 12);
	response[n] = '\0';
	sscanf(response, "HTTP/1.1 %d", &status);
	assert_int_equal(status, 200);
}

/* Counts lines of the KBS decision log that contain text. */
static int count_decisions(const char *text)
{
	char line[4096];
	int count = 0;
	FILE *f = fopen(e2e_path("decisions.jsonl"), "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		count += strstr(line, text) != NULL;
	fclose(f);
	return count;
}

static void key_request(enum tb_kbs_wrap_mode mode, struct tb_kbs_key_request *req)
{
	memset(req, 0, sizeof(*req));
	req->mode = mode;
	if (mode == TB_KBS_WRAP_RESOURCE) {
		req->locator = E2E_RESOURCE;
	} else if (mode == TB_KBS_WRAP_KBS_UNWRAP) {
		req->locator = E2E_KEY_ID;
		req->key2 = e2e.key2_unwrap;
		req->key2_len = e2e.key2_unwrap_len;
		req->aad = e2e.aad;
		req->aad_len = e2e.aad_len;
	} else {
		req->key2 = e2e.key2_pkcs11;
		req->key2_len = e2e.key2_pkcs11_len;
	}
}

struct fetch_result {
	int rc;
	uint8_t key1[64];
	size_t key1_len;
};

/*
 * Runs open, binding, a signed report and attest, which must succeed,
 * then the key request for mode with pinned_key as the configured release
 * key (NULL for none). Leaves the platform initialised for log checks.
 */
static void run_fetch(enum tpmboot_tee_key tee_key, const uint8_t *pinned_key,
		      enum tb_kbs_wrap_mode mode, struct fetch_result *res)
{
	struct tb_kbs_session *s = NULL;
	struct tb_kbs_evidence ev = { 0 };
	struct tb_kbs_key_request req;
	uint8_t report_data[64], report[1184];

	tb_test_platform_init(&tp);
	tp.log_echo = 0;
	tp.config.tee = TPMBOOT_TEE_SNP;
	tp.config.kbs_protocol = TPMBOOT_KBS_TRUSTEE;
	tp.config.tee_key = tee_key;
	tp.config.kbs_timeout_ms = 10000;
	tp.config.kbs_max_retries = 1;
	tp.config.kbs_release_key = pinned_key;
	tb_test_platform_use_stream_tcp(&tp, "127.0.0.1", kbs_port);

	assert_int_equal(tb_kbs_session_open(&s, NULL, 0, NULL), 0);
	assert_int_equal(tb_kbs_binding(s, report_data), 0);
	e2e_build_report(&e2e_good_report, report_data, report);
	ev.report = report;
	ev.report_len = sizeof(report);
	assert_int_equal(tb_kbs_attest(s, &ev), 0);

	memset(res, 0x77, sizeof(*res));
	key_request(mode, &req);
	res->rc = tb_kbs_fetch_key(s, &req, res->key1, sizeof(res->key1), &res->key1_len);
	tb_kbs_session_close(s);
}

static void client_fini(void)
{
	tb_rng_wipe();
	assert_int_equal(tb_test_platform_fini(&tp), 0);
}

static void assert_no_key(const struct fetch_result *res)
{
	size_t i;

	assert_int_equal(res->key1_len, 0);
	for (i = 0; i < sizeof(res->key1); i++)
		assert_int_equal(res->key1[i], 0);
}

/* Runs a pinned kbs-unwrap fetch under fault and expects error. */
static void expect_rejected(const char *fault, const uint8_t *pinned_key, int error,
			    const char *log_text)
{
	struct fetch_result res;

	set_fault(fault);
	run_fetch(TPMBOOT_TEE_KEY_EC_P256, pinned_key, TB_KBS_WRAP_KBS_UNWRAP, &res);
	set_fault(NULL);
	if (res.rc != error)
		fail_msg("fault %s: fetch returned %s, expected %s", fault ? fault : "none",
			 tpmboot_error_name(res.rc), tpmboot_error_name(error));
	assert_no_key(&res);
	if (!tb_test_log_contains(&tp, log_text))
		fail_msg("log lacks \"%s\":\n%s", log_text, tp.log_text);
	client_fini();
}

static void signed_release_accepted(void **state)
{
	static const enum tpmboot_tee_key keys[] = {
		TPMBOOT_TEE_KEY_EC_P256, TPMBOOT_TEE_KEY_EC_P521, TPMBOOT_TEE_KEY_RSA_2048,
	};
	struct fetch_result res;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		run_fetch(keys[i], release_pub, TB_KBS_WRAP_KBS_UNWRAP, &res);
		if (res.rc != 0)
			fail_msg("TEE key type %d: fetch failed with %s", keys[i],
				 tpmboot_error_name(res.rc));
		assert_int_equal(res.key1_len, 32);
		assert_memory_equal(res.key1, e2e.key1, 32);
		assert_true(tb_test_log_contains(&tp, "release signature of the KBS verified"));
		assert_false(tb_test_log_contains(&tp, "not authenticated"));
		client_fini();
	}
}

static void wrong_pinned_key_rejected(void **state)
{
	(void)state;
	expect_rejected(NULL, other_pub, TPMBOOT_E_KBS_RELEASE_SIGNATURE,
			"does not verify under the pinned KBS release key");
}

static void other_nonce_rejected(void **state)
{
	(void)state;
	expect_rejected("release-other-nonce", release_pub, TPMBOOT_E_KBS_RELEASE_SIGNATURE,
			"does not verify under the pinned KBS release key");
}

static void stripped_signature_rejected(void **state)
{
	(void)state;
	expect_rejected("release-strip", release_pub, TPMBOOT_E_KBS_RELEASE_SIGNATURE,
			"has no release-signature");
}

static void fake_kbs_rejected(void **state)
{
	(void)state;
	expect_rejected("release-fake-kbs", release_pub, TPMBOOT_E_KBS_RELEASE_SIGNATURE,
			"does not verify under the pinned KBS release key");
}

static void swapped_jwe_rejected(void **state)
{
	(void)state;
	expect_rejected("release-swap-jwe", release_pub, TPMBOOT_E_KBS_RELEASE_SIGNATURE,
			"does not verify under the pinned KBS release key");
}

/* A bit flipped in transit is caught by the signature, before the GCM
 * tag check would see it. */
static void changed_tag_rejected(void **state)
{
	(void)state;
	expect_rejected("bad-jwe-tag", release_pub, TPMBOOT_E_KBS_RELEASE_SIGNATURE,
			"does not verify under the pinned KBS release key");
}

/* The threat itself: without a pinned key the client takes the fake
 * KBS's key, and warns that the release is not authenticated. */
static void unpinned_accepts_fake_kbs(void **state)
{
	struct fetch_result res;
	uint8_t fake[32];

	(void)state;
	memset(fake, FAKE_KEY_BYTE, sizeof(fake));
	set_fault("release-fake-kbs");
	run_fetch(TPMBOOT_TEE_KEY_EC_P256, NULL, TB_KBS_WRAP_KBS_UNWRAP, &res);
	set_fault(NULL);
	assert_int_equal(res.rc, 0);
	assert_int_equal(res.key1_len, 32);
	assert_memory_equal(res.key1, fake, 32);
	assert_true(tb_test_log_contains(&tp, "key release is not authenticated"));
	client_fini();
}

static void invalid_pinned_key_rejected(void **state)
{
	uint8_t key[65];

	(void)state;
	memcpy(key, release_pub, sizeof(key));
	key[0] = 0x02;
	expect_rejected(NULL, key, TPMBOOT_E_INVALID_ARGUMENT, "not 0x04");

	memcpy(key, release_pub, sizeof(key));
	key[64] ^= 0x01;
	expect_rejected(NULL, key, TPMBOOT_E_INVALID_ARGUMENT, "is not a point on P-256");
}

/* With a pinned key, modes without a signature fail before any request. */
static void unsigned_modes_rejected(void **state)
{
	static const enum tb_kbs_wrap_mode modes[] = {
		TB_KBS_WRAP_RESOURCE, TB_KBS_WRAP_TRUSTEE_PKCS11,
	};
	struct fetch_result res;
	int resources = count_decisions("\"event\": \"resource\"");
	int pkcs11 = count_decisions("\"event\": \"pkcs11-unwrap\"");
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		run_fetch(TPMBOOT_TEE_KEY_EC_P256, release_pub, modes[i], &res);
		assert_int_equal(res.rc, TPMBOOT_E_KBS_RELEASE_UNAUTHENTICATED);
		assert_no_key(&res);
		assert_true(tb_test_log_contains(&tp, "cannot be authenticated"));
		client_fini();
	}
	assert_int_equal(count_decisions("\"event\": \"resource\""), resources);
	assert_int_equal(count_decisions("\"event\": \"pkcs11-unwrap\""), pkcs11);

	/* The same modes still work without a pinned key. */
	run_fetch(TPMBOOT_TEE_KEY_EC_P256, NULL, TB_KBS_WRAP_RESOURCE, &res);
	assert_int_equal(res.rc, 0);
	assert_memory_equal(res.key1, e2e.key1, 32);
	client_fini();
	assert_int_equal(count_decisions("\"event\": \"resource\""), resources + 1);
}

static int group_setup(void **state)
{
	uint8_t *pub;
	size_t len;

	(void)state;
	if (e2e_setup() != 0)
		return -1;
	start_kbs();
	pub = e2e_read("release.pem.pub", &len);
	if (len != sizeof(release_pub)) {
		free(pub);
		return -1;
	}
	memcpy(release_pub, pub, sizeof(release_pub));
	free(pub);
	fresh_public_key(other_pub);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	e2e_peer_stop(&kbs);
	e2e_teardown();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(signed_release_accepted),
		cmocka_unit_test(wrong_pinned_key_rejected),
		cmocka_unit_test(other_nonce_rejected),
		cmocka_unit_test(stripped_signature_rejected),
		cmocka_unit_test(fake_kbs_rejected),
		cmocka_unit_test(swapped_jwe_rejected),
		cmocka_unit_test(changed_tag_rejected),
		cmocka_unit_test(unpinned_accepts_fake_kbs),
		cmocka_unit_test(invalid_pinned_key_rejected),
		cmocka_unit_test(unsigned_modes_rejected),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

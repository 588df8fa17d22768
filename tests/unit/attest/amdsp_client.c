/*
 * AMD-SP simulator client for the attestation tests (see amdsp_client.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "amdsp_client.h"
#include "core/tb_core.h"

#define START_TIMEOUT_MS 100000
#define PAGE_SIZE 4096u

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static int try_connect(const char *path)
{
	struct sockaddr_un addr;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	if (fd < 0)
		return -1;
	memset(&addr, 0, sizeof(addr));
	addr.sun_family = AF_UNIX;
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void exec_simulator(struct amdsp *sim, const char *const *extra_args)
{
	const char *root = getenv("TPMBOOT_SOURCE_ROOT");
	char script[4096], pki[128], log[128], keys[4][80];
	const char *argv[64];
	int argc = 0, i, k;

	snprintf(script, sizeof(script), "%s/tests/peers/amdsp/amdsp.py",
		 root != NULL ? root : ".");
	snprintf(pki, sizeof(pki), "%s/pki", sim->dir);
	snprintf(log, sizeof(log), "%s/amdsp.log", sim->dir);
	argv[argc++] = "/usr/bin/python3";
	argv[argc++] = script;
	argv[argc++] = "--unix";
	argv[argc++] = sim->socket_path;
	argv[argc++] = "--pki-dir";
	argv[argc++] = pki;
	argv[argc++] = "--log";
	argv[argc++] = log;
	for (i = 0; i < 4; i++) {
		k = snprintf(keys[i], sizeof(keys[i]), "%d:", i);
		for (int j = 0; j < 32; j++)
			k += snprintf(keys[i] + k, sizeof(keys[i]) - (size_t)k,
				      "%02x", sim->vmpck[i][j]);
		argv[argc++] = "--vmpck";
		argv[argc++] = keys[i];
	}
	for (i = 0; extra_args != NULL && extra_args[i] != NULL && argc < 62;
	     i++)
		argv[argc++] = extra_args[i];
	argv[argc] = NULL;
	execv(argv[0], (char *const *)argv);
	_exit(127);
}

int amdsp_start(struct amdsp *sim, const char *const *extra_args)
{
	int waited, status;

	memset(sim, 0, sizeof(*sim));
	sim->fd = -1;
	for (int i = 0; i < 4; i++)
		for (int j = 0; j < 32; j++)
			sim->vmpck[i][j] = (uint8_t)(0x40 * i + j + 1);
	snprintf(sim->dir, sizeof(sim->dir), "/tmp/tb-attest-XXXXXX");
	if (mkdtemp(sim->dir) == NULL)
		return -1;
	snprintf(sim->socket_path, sizeof(sim->socket_path), "%s/amdsp.sock",
		 sim->dir);

	sim->pid = fork();
	if (sim->pid < 0)
		return -1;
	if (sim->pid == 0) {
		/* A test that aborts must not leave the simulator running. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		exec_simulator(sim, extra_args);
	}

	/* The first start generates RSA-4096 keys, which takes seconds. */
	for (waited = 0; waited < START_TIMEOUT_MS; waited += 50) {
		sim->fd = try_connect(sim->socket_path);
		if (sim->fd >= 0)
			return 0;
		if (waitpid(sim->pid, &status, WNOHANG) == sim->pid) {
			fprintf(stderr, "amdsp simulator exited with status %d\n",
				status);
			sim->pid = 0;
			return -1;
		}
		sleep_ms(50);
	}
	fprintf(stderr, "amdsp simulator did not listen within %d ms\n",
		START_TIMEOUT_MS);
	return -1;
}

void amdsp_stop(struct amdsp *sim)
{
	char cmd[256];

	if (sim->fd >= 0)
		close(sim->fd);
	sim->fd = -1;
	if (sim->pid > 0) {
		kill(sim->pid, SIGTERM);
		waitpid(sim->pid, NULL, 0);
		sim->pid = 0;
	}
	if (sim->dir[0] != '\0' && getenv("AMDSP_KEEP_DIR") == NULL) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", sim->dir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", sim->dir);
	}
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int read_all(int fd, uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t r = read(fd, p, n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

int amdsp_exchange(struct amdsp *sim, uint16_t kind, uint32_t certs_pages,
		   const uint8_t *payload, size_t payload_len, uint8_t *out,
		   size_t out_cap, size_t *out_len, uint64_t *exit_info2,
		   uint32_t *certs_pages_out)
{
	uint8_t hdr[24], drop[512];
	uint32_t len;
	size_t keep;

	memcpy(hdr, "TBSQ", 4);
	tb_store_le16(hdr + 4, 1);
	tb_store_le16(hdr + 6, kind);
	tb_store_le32(hdr + 8, certs_pages);
	tb_store_le32(hdr + 12, (uint32_t)payload_len);
	if (write_all(sim->fd, hdr, 16) != 0 ||
	    write_all(sim->fd, payload, payload_len) != 0)
		return -1;

	if (read_all(sim->fd, hdr, 24) != 0 || memcmp(hdr, "TBSR", 4) != 0 ||
	    tb_load_le16(hdr + 4) != 1 || tb_load_le16(hdr + 6) != kind)
		return -1;
	*certs_pages_out = tb_load_le32(hdr + 8);
	len = tb_load_le32(hdr + 12);
	*exit_info2 = tb_load_le64(hdr + 16);
	*out_len = len;
	keep = len < out_cap ? len : out_cap;
	if (read_all(sim->fd, out, keep) != 0)
		return -1;
	for (len -= (uint32_t)keep; len > 0;) {
		size_t chunk = len < sizeof(drop) ? len : sizeof(drop);

		if (read_all(sim->fd, drop, chunk) != 0)
			return -1;
		len -= (uint32_t)chunk;
	}
	return 0;
}

char *amdsp_control(struct amdsp *sim, const char *json)
{
	size_t cap = 64 * 1024, len = 0;
	char *reply = malloc(cap + 1);
	uint64_t exit_info2;
	uint32_t pages;

	if (reply == NULL)
		return NULL;
	if (amdsp_exchange(sim, AMDSP_KIND_CONTROL, 0, (const uint8_t *)json,
			   strlen(json), (uint8_t *)reply, cap, &len,
			   &exit_info2, &pages) != 0 || len > cap) {
		free(reply);
		return NULL;
	}
	reply[len] = '\0';
	return reply;
}

void amdsp_control_ok(struct amdsp *sim, const char *json)
{
	char *reply = amdsp_control(sim, json);
	json_t *root = reply != NULL ? json_loads(reply, 0, NULL) : NULL;

	if (root == NULL || !json_is_true(json_object_get(root, "ok"))) {
		fprintf(stderr, "amdsp control %s failed: %s\n", json,
			reply != NULL ? reply : "(no reply)");
		abort();
	}
	json_decref(root);
	free(reply);
}

uint64_t amdsp_expected_seqno(struct amdsp *sim, unsigned vmpck)
{
	char *reply = amdsp_control(sim, "{\"get\":\"state\"}");
	json_t *root = reply != NULL ? json_loads(reply, 0, NULL) : NULL;
	json_t *list = json_object_get(root, "expected_seqno");
	uint64_t value;

	if (!json_is_array(list) || !json_is_integer(json_array_get(list,
								    vmpck))) {
		fprintf(stderr, "amdsp state has no expected_seqno: %s\n",
			reply != NULL ? reply : "(no reply)");
		abort();
	}
	value = (uint64_t)json_integer_value(json_array_get(list, vmpck));
	json_decref(root);
	free(reply);
	return value;
}

int amdsp_snp_guest_request(void *ctx, int extended, const uint8_t *req_page,
			    uint8_t *resp_page, uint8_t *certs_buf,
			    uint32_t *certs_pages, uint64_t *fw_error)
{
	struct amdsp *sim = ctx;
	uint32_t pages = extended ? *certs_pages : 0;
	size_t cap = PAGE_SIZE + (size_t)pages * PAGE_SIZE;
	uint8_t *buf = calloc(1, cap);
	uint32_t pages_out = 0;
	size_t len = 0;
	int rc;

	if (buf == NULL)
		return -1;
	sim->requests++;
	rc = amdsp_exchange(sim, extended ? AMDSP_KIND_EXT_GUEST_REQUEST :
					    AMDSP_KIND_GUEST_REQUEST,
			    pages, req_page, PAGE_SIZE, buf, cap, &len,
			    fw_error, &pages_out);
	if (rc == 0) {
		/* A short (truncated) response leaves the rest zero. */
		memcpy(resp_page, buf, PAGE_SIZE);
		if (extended && len > PAGE_SIZE)
			memcpy(certs_buf, buf + PAGE_SIZE,
			       (len < cap ? len : cap) - PAGE_SIZE);
		if (extended)
			*certs_pages = pages_out != 0 ? pages_out : pages;
	}
	free(buf);
	return rc;
}

/*
 * Host platform callbacks for unit tests (see tb_test_platform.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "core/tb_core.h"
#include "tb_test_platform.h"

#define TEST_BLOCK_SIZE_LOG2 9u

/* Each allocation carries its size in a header of one alignment unit. */
struct alloc_header {
	size_t size;
	size_t offset;
};

static void *test_alloc(void *ctx, size_t size, size_t align)
{
	struct tb_test_platform *tp = ctx;
	size_t unit = align < sizeof(struct alloc_header) ?
			      sizeof(struct alloc_header) : align;
	uint8_t *raw;
	struct alloc_header *h;

	if (posix_memalign((void **)&raw, unit, unit + size) != 0)
		return NULL;
	h = (struct alloc_header *)(void *)(raw + unit - sizeof(*h));
	h->size = size;
	h->offset = unit;
	tp->heap_in_use += size;
	tp->alloc_count++;
	if (tp->heap_in_use > tp->heap_peak)
		tp->heap_peak = tp->heap_in_use;
	return raw + unit;
}

static void test_free(void *ctx, void *ptr)
{
	struct tb_test_platform *tp = ctx;
	struct alloc_header *h;

	if (ptr == NULL)
		return;
	h = (struct alloc_header *)(void *)((uint8_t *)ptr - sizeof(*h));
	tp->heap_in_use -= h->size;
	free((uint8_t *)ptr - h->offset);
}

static void test_log(void *ctx, enum tpmboot_log_level level, const char *line)
{
	static const char *const names[] = { "error", "warn", "info", "debug" };
	struct tb_test_platform *tp = ctx;
	size_t len = strlen(line);

	if (tp->log_echo)
		fprintf(stderr, "tpmboot %s: %s\n",
			(unsigned)level < 4 ? names[level] : "?", line);
	if (tp->log_len + len + 2 > TB_TEST_LOG_CAP)
		return;
	memcpy(tp->log_text + tp->log_len, line, len);
	tp->log_len += len;
	tp->log_text[tp->log_len++] = '\n';
	tp->log_text[tp->log_len] = '\0';
}

static int test_random(void *ctx, uint8_t *buf, size_t len)
{
	(void)ctx;
	while (len > 0) {
		ssize_t n = getrandom(buf, len, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static uint64_t test_time_ms(void *ctx)
{
	struct timespec ts;

	(void)ctx;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void test_delay_ms(void *ctx, uint32_t ms)
{
	struct timespec ts = { ms / 1000u, (long)(ms % 1000u) * 1000000L };

	(void)ctx;
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static int test_block_read(void *ctx, uint64_t first, uint32_t count, void *buf)
{
	struct tb_test_platform *tp = ctx;
	uint64_t off = first << TEST_BLOCK_SIZE_LOG2;
	size_t len = (size_t)count << TEST_BLOCK_SIZE_LOG2;

	if (first + count > tp->platform.block_count)
		return -1;
	if (tp->image_buf != NULL) {
		memcpy(buf, tp->image_buf + off, len);
		return 0;
	}
	return pread(tp->image_fd, buf, len, (off_t)off) == (ssize_t)len ? 0 : -1;
}

static int test_block_write(void *ctx, uint64_t first, uint32_t count,
			    const void *buf)
{
	struct tb_test_platform *tp = ctx;
	uint64_t off = first << TEST_BLOCK_SIZE_LOG2;
	size_t len = (size_t)count << TEST_BLOCK_SIZE_LOG2;

	if (!tp->image_writable || first + count > tp->platform.block_count)
		return -1;
	tp->blocks_written += count;
	if (tp->image_buf != NULL) {
		memcpy(tp->image_buf + off, buf, len);
		return 0;
	}
	return pwrite(tp->image_fd, buf, len, (off_t)off) == (ssize_t)len ? 0 : -1;
}

static int test_block_flush(void *ctx)
{
	struct tb_test_platform *tp = ctx;

	if (tp->image_buf != NULL)
		return 0;
	return fsync(tp->image_fd) == 0 ? 0 : -1;
}

static int connect_stream(struct tb_test_platform *tp)
{
	int fd;

	if (tp->stream_unix_path[0] != '\0') {
		struct sockaddr_un sun = { .sun_family = AF_UNIX };

		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -1;
		snprintf(sun.sun_path, sizeof(sun.sun_path), "%s",
			 tp->stream_unix_path);
		if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0)
			return fd;
	} else {
		struct sockaddr_in sin = { .sin_family = AF_INET };
		int one = 1;

		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -1;
		sin.sin_port = htons(tp->stream_tcp_port);
		inet_pton(AF_INET, tp->stream_tcp_host, &sin.sin_addr);
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0)
			return fd;
	}
	close(fd);
	return -1;
}

static int test_stream_connect(void *ctx, void **stream)
{
	struct tb_test_platform *tp = ctx;
	int fd = connect_stream(tp);

	if (fd < 0)
		return -1;
	tp->streams_opened++;
	*stream = (void *)(intptr_t)(fd + 1);
	return 0;
}

static int stream_fd(void *stream)
{
	return (int)(intptr_t)stream - 1;
}

static int test_stream_send(void *ctx, void *stream, const uint8_t *buf,
			    size_t len)
{
	(void)ctx;
	while (len > 0) {
		ssize_t n = send(stream_fd(stream), buf, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static long test_stream_recv(void *ctx, void *stream, uint8_t *buf, size_t cap,
			     uint32_t timeout_ms)
{
	struct pollfd pfd = { .fd = stream_fd(stream), .events = POLLIN };
	ssize_t n;
	int rc;

	(void)ctx;
	do {
		rc = poll(&pfd, 1, (int)timeout_ms);
	} while (rc < 0 && errno == EINTR);
	if (rc <= 0)
		return -1;
	n = recv(pfd.fd, buf, cap, 0);
	return n < 0 ? -1 : (long)n;
}

static void test_stream_close(void *ctx, void *stream)
{
	(void)ctx;
	close(stream_fd(stream));
}

void tb_test_platform_init(struct tb_test_platform *tp)
{
	memset(tp, 0, sizeof(*tp));
	tp->image_fd = -1;
	tp->log_echo = 1;
	tp->log_text = calloc(1, TB_TEST_LOG_CAP);
	snprintf(tp->stream_tcp_host, sizeof(tp->stream_tcp_host), "127.0.0.1");

	tp->platform.api_version = TPMBOOT_API_VERSION;
	tp->platform.ctx = tp;
	tp->platform.log = test_log;
	tp->platform.alloc = test_alloc;
	tp->platform.free = test_free;
	tp->platform.random_bytes = test_random;
	tp->platform.time_ms = test_time_ms;
	tp->platform.delay_ms = test_delay_ms;
	tp->platform.block_size_log2 = TEST_BLOCK_SIZE_LOG2;
	tp->platform.stream_connect = test_stream_connect;
	tp->platform.stream_send = test_stream_send;
	tp->platform.stream_recv = test_stream_recv;
	tp->platform.stream_close = test_stream_close;

	tp->config.api_version = TPMBOOT_API_VERSION;
	tp->config.kbs_timeout_ms = 5000;
	tp->config.kbs_max_retries = 2;
	tp->config.log_level = TPMBOOT_LOG_DEBUG;

	tb_core_attach(&tp->platform, &tp->config);
}

int tb_test_platform_use_image_file(struct tb_test_platform *tp,
				    const char *path, int writable)
{
	struct stat st;

	tp->image_fd = open(path, (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	if (tp->image_fd < 0 || fstat(tp->image_fd, &st) != 0)
		return -1;
	tp->image_writable = writable;
	tp->image_buf = NULL;
	tp->platform.block_count = (uint64_t)st.st_size >> TEST_BLOCK_SIZE_LOG2;
	tp->platform.block_read = test_block_read;
	tp->platform.block_write = test_block_write;
	tp->platform.block_flush = test_block_flush;
	return 0;
}

void tb_test_platform_use_image_buffer(struct tb_test_platform *tp,
				       uint8_t *buf, size_t len)
{
	tp->image_buf = buf;
	tp->image_len = len;
	tp->image_writable = 1;
	tp->platform.block_count = len >> TEST_BLOCK_SIZE_LOG2;
	tp->platform.block_read = test_block_read;
	tp->platform.block_write = test_block_write;
	tp->platform.block_flush = test_block_flush;
}

void tb_test_platform_use_stream_unix(struct tb_test_platform *tp,
				      const char *path)
{
	snprintf(tp->stream_unix_path, sizeof(tp->stream_unix_path), "%s", path);
}

void tb_test_platform_use_stream_tcp(struct tb_test_platform *tp,
				     const char *host, uint16_t port)
{
	tp->stream_unix_path[0] = '\0';
	snprintf(tp->stream_tcp_host, sizeof(tp->stream_tcp_host), "%s", host);
	tp->stream_tcp_port = port;
}

int tb_test_log_contains(const struct tb_test_platform *tp, const char *needle)
{
	return tp->log_text != NULL && strstr(tp->log_text, needle) != NULL;
}

void tb_test_log_clear(struct tb_test_platform *tp)
{
	tp->log_len = 0;
	if (tp->log_text != NULL)
		tp->log_text[0] = '\0';
}

size_t tb_test_platform_fini(struct tb_test_platform *tp)
{
	size_t leaked = tp->heap_in_use;

	tb_core_detach();
	if (tp->image_fd >= 0)
		close(tp->image_fd);
	tp->image_fd = -1;
	free(tp->log_text);
	tp->log_text = NULL;
	return leaked;
}

/*
 * Host implementation of the platform callbacks for unit tests: a tracked
 * heap, getrandom, CLOCK_MONOTONIC, a block device over a file or a memory
 * buffer, byte streams over Unix or TCP sockets, and a captured log.
 */
#ifndef TB_TEST_PLATFORM_H
#define TB_TEST_PLATFORM_H

#include <stddef.h>
#include <stdint.h>

#include "tpmboot.h"

#define TB_TEST_LOG_CAP (256 * 1024)

struct tb_test_platform {
	struct tpmboot_platform platform;
	struct tpmboot_config config;

	/* Heap accounting (bytes requested by the module). */
	size_t heap_in_use;
	size_t heap_peak;
	size_t alloc_count;

	/* Block device: a file descriptor or a memory buffer. */
	int image_fd;
	uint8_t *image_buf;
	size_t image_len;
	int image_writable;
	uint64_t blocks_written;

	/* Byte stream endpoint. */
	char stream_unix_path[108];
	char stream_tcp_host[64];
	uint16_t stream_tcp_port;
	uint32_t streams_opened;

	/* Captured log: every line, newline separated. */
	char *log_text;
	size_t log_len;
	int log_echo; /* also print lines on stderr (default 1) */
};

/* Fills the callbacks with defaults (log level DEBUG) and attaches core. */
void tb_test_platform_init(struct tb_test_platform *tp);

/* Uses the file at path as the block device (512-byte blocks). Returns 0 or
 * -1 when the file cannot be opened. */
int tb_test_platform_use_image_file(struct tb_test_platform *tp,
				    const char *path, int writable);

/* Uses len bytes at buf as a writable block device; len is a multiple of
 * 512. The buffer stays the caller's. */
void tb_test_platform_use_image_buffer(struct tb_test_platform *tp,
				       uint8_t *buf, size_t len);

void tb_test_platform_use_stream_unix(struct tb_test_platform *tp,
				      const char *path);
void tb_test_platform_use_stream_tcp(struct tb_test_platform *tp,
				     const char *host, uint16_t port);

/* Returns 1 when some captured log line contains needle. */
int tb_test_log_contains(const struct tb_test_platform *tp, const char *needle);

/* Clears the captured log. */
void tb_test_log_clear(struct tb_test_platform *tp);

/* Detaches core, closes the device, frees the log. Returns the number of
 * heap bytes the module did not free. */
size_t tb_test_platform_fini(struct tb_test_platform *tp);

/* Paths of test inputs: $TPMBOOT_SHARED_DIR/rel and
 * $TPMBOOT_WYCHEPROOF_DIR/name. The result is a static buffer. */
const char *tb_test_shared_path(const char *rel);
const char *tb_test_wycheproof_path(const char *name);

/* Runs fn(arg) on its own painted 256 KiB stack and returns the stack
 * peak in bytes (the deepest byte fn changed). */
size_t tb_test_run_on_painted_stack(void (*fn)(void *arg), void *arg);

/* Reads a whole file into a malloc'ed buffer; NULL on error. */
uint8_t *tb_test_read_file(const char *path, size_t *len);

/* Decodes hex into a malloc'ed buffer (at least one byte allocated).
 * Returns the decoded length, or (size_t)-1 on invalid hex. */
size_t tb_test_hex_decode(const char *hex, uint8_t **out);

#endif /* TB_TEST_PLATFORM_H */

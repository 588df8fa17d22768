/*
 * Platform callbacks for the module: console log with timestamps, the
 * kernel heap, RDSEED/RDRAND, the TSC clock, the virtio-blk image and the
 * UART byte stream to the host proxy.
 */
#include <string.h>

#include "platform.h"

#define SECTOR_SIZE_LOG2 9

static const char *level_name(enum tpmboot_log_level level)
{
	switch (level) {
	case TPMBOOT_LOG_ERROR:
		return "error";
	case TPMBOOT_LOG_WARN:
		return "warn";
	case TPMBOOT_LOG_INFO:
		return "info";
	default:
		return "debug";
	}
}

static void cb_log(void *ctx, enum tpmboot_log_level level, const char *line)
{
	struct harness_platform *hp = ctx;
	uint64_t ms = timer_now_ms();

	if (level > hp->log_level)
		return;
	kprintf("[%5llu.%03llu] tpmboot %s: %s\n",
		(unsigned long long)(ms / 1000), (unsigned long long)(ms % 1000),
		level_name(level), line);
}

static void *cb_alloc(void *ctx, size_t size, size_t align)
{
	(void)ctx;
	return heap_alloc(size, align);
}

static void cb_free(void *ctx, void *ptr)
{
	(void)ctx;
	heap_free(ptr);
}

static int cb_random_bytes(void *ctx, uint8_t *buf, size_t len)
{
	(void)ctx;
	return random_fill(buf, len);
}

static uint64_t cb_time_ms(void *ctx)
{
	(void)ctx;
	return timer_now_ms();
}

static void cb_delay_ms(void *ctx, uint32_t ms)
{
	(void)ctx;
	timer_delay_ms(ms);
}

static int cb_block_read(void *ctx, uint64_t first_block, uint32_t count,
			 void *buf)
{
	struct harness_platform *hp = ctx;

	return virtio_blk_read(hp->blk, first_block, count, buf) == 0 ? 0 : -1;
}

static int cb_block_write(void *ctx, uint64_t first_block, uint32_t count,
			  const void *buf)
{
	struct harness_platform *hp = ctx;

	return virtio_blk_write(hp->blk, first_block, count, buf) == 0 ? 0 : -1;
}

static int cb_block_flush(void *ctx)
{
	struct harness_platform *hp = ctx;

	return virtio_blk_flush(hp->blk) == 0 ? 0 : -1;
}

/*
 * Opens the stream to the host proxy. The UART line stays up across
 * connections, so stale bytes from an earlier connection are discarded.
 * A reconnect first waits reconnect_wait_ms, because the proxy may have
 * closed its end and QEMU's chardev then has to reconnect.
 */
static int cb_stream_connect(void *ctx, void **stream)
{
	struct harness_platform *hp = ctx;
	struct uart_stream *s = &hp->proxy;

	if (!s->present) {
		kprintf("platform: stream_connect failed: no UART at port 0x%x "
			"for the %s (run-vm.sh --proxy-socket)\n", s->port,
			s->name);
		return -1;
	}
	if (s->connected) {
		kprintf("platform: stream_connect failed: the %s stream is "
			"already open\n", s->name);
		return -1;
	}
	if (s->connects > 0 && hp->reconnect_wait_ms > 0)
		timer_delay_ms(hp->reconnect_wait_ms);
	uart_drain_input(s->port);
	s->connected = 1;
	s->connects++;
	*stream = s;
	return 0;
}

static int cb_stream_send(void *ctx, void *stream, const uint8_t *buf,
			  size_t len)
{
	struct harness_platform *hp = ctx;
	struct uart_stream *s = stream;

	if (s != &hp->proxy || !s->connected)
		return -1;
	if (uart_write_all(s->port, buf, len, hp->send_timeout_ms) != 0) {
		kprintf("platform: sending %zu bytes to the %s timed out after "
			"%u ms\n", len, s->name, hp->send_timeout_ms);
		return -1;
	}
	s->bytes_sent += len;
	return 0;
}

static long cb_stream_recv(void *ctx, void *stream, uint8_t *buf, size_t cap,
			   uint32_t timeout_ms)
{
	struct harness_platform *hp = ctx;
	struct uart_stream *s = stream;
	long n;

	if (s != &hp->proxy || !s->connected)
		return -1;
	n = uart_read_some(s->port, buf, cap, timeout_ms);
	if (n > 0)
		s->bytes_received += (uint64_t)n;
	return n;
}

static void cb_stream_close(void *ctx, void *stream)
{
	struct harness_platform *hp = ctx;
	struct uart_stream *s = stream;

	if (s == &hp->proxy)
		s->connected = 0;
}

static void stream_init(struct uart_stream *s, const char *name,
			uint16_t port)
{
	memset(s, 0, sizeof(*s));
	s->name = name;
	s->port = port;
	s->present = uart_init(port) == 0;
}

void harness_platform_init(struct harness_platform *hp,
			   struct tpmboot_platform *platform,
			   struct virtio_blk *blk)
{
	hp->blk = blk;
	stream_init(&hp->proxy, "host proxy", UART_COM3);
	stream_init(&hp->amdsp, "AMD-SP simulator", UART_COM2);

	memset(platform, 0, sizeof(*platform));
	platform->api_version = TPMBOOT_API_VERSION;
	platform->ctx = hp;
	platform->log = cb_log;
	platform->alloc = cb_alloc;
	platform->free = cb_free;
	platform->random_bytes = cb_random_bytes;
	platform->time_ms = cb_time_ms;
	platform->delay_ms = cb_delay_ms;
	if (blk != NULL) {
		platform->block_size_log2 = SECTOR_SIZE_LOG2;
		platform->block_count = virtio_blk_sectors(blk);
		platform->block_read = cb_block_read;
		if (!virtio_blk_read_only(blk))
			platform->block_write = cb_block_write;
		platform->block_flush = cb_block_flush;
	}
	platform->stream_connect = cb_stream_connect;
	platform->stream_send = cb_stream_send;
	platform->stream_recv = cb_stream_recv;
	platform->stream_close = cb_stream_close;
	if (hp->amdsp.present) {
		platform->snp_guest_request = harness_snp_guest_request;
		platform->tdx_get_quote = harness_tdx_get_quote;
	}
}

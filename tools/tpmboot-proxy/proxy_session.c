/*
 * One proxied session: guest stream <-> KBS (TCP or TLS), byte for byte.
 *
 * Each direction has one bounded buffer of cfg->buffer_size bytes; the
 * proxy stops reading from a side while the buffer towards the other side
 * is full. An end of stream from one side is passed on as a half-close
 * (shutdown(SHUT_WR), or a TLS close_notify) once its buffer has drained.
 * The session ends when both directions are closed, on the first read or
 * write error, when no byte has moved for cfg->idle_timeout_ms, when it
 * has been open for cfg->session_timeout_ms (so a peer that trickles
 * bytes cannot hold one of the --max-sessions slots for ever), or
 * PROXY_STOP_GRACE_MS after SIGTERM or SIGINT.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>

#include "proxy.h"

enum {
	IO_WOULD_BLOCK = -1,
	IO_FAILED = -2,
};

/* Longest single poll, so that the session deadline and the stop signal
 * are noticed while both sides are quiet. */
#define RELAY_POLL_SLICE_MS 200

struct relay_buffer {
	unsigned char *data;
	size_t capacity;
	size_t start;
	size_t length;
};

struct relay {
	const struct proxy_config *cfg;
	unsigned long id;
	uint64_t started;		/* proxy_now_ms() at the session start */
	uint64_t stop_seen;		/* when the loop first saw a stop signal, or 0 */
	int guest_fd;
	int kbs_fd;
	SSL *ssl;
	struct relay_buffer to_kbs;
	struct relay_buffer to_guest;
	int guest_eof;
	int kbs_eof;
	int guest_write_closed;
	int kbs_write_closed;
	short kbs_read_events;		/* what SSL_read last waited for */
	short kbs_write_events;		/* what SSL_write last waited for */
	const char *end_reason;
	struct proxy_session_result *result;
};

static size_t buffer_space(const struct relay_buffer *b)
{
	return b->capacity - b->length;
}

/* Return a pointer to the free tail, moving pending bytes to the front if needed. */
static unsigned char *buffer_tail(struct relay_buffer *b)
{
	if (b->start + b->length == b->capacity && b->start > 0) {
		memmove(b->data, b->data + b->start, b->length);
		b->start = 0;
	}
	return b->data + b->start + b->length;
}

static size_t buffer_tail_space(const struct relay_buffer *b)
{
	return b->capacity - b->start - b->length;
}

static void buffer_consume(struct relay_buffer *b, size_t n)
{
	b->start += n;
	b->length -= n;
	if (b->length == 0)
		b->start = 0;
}

/* Plain socket read/write: bytes moved, 0 for end of stream, or IO_WOULD_BLOCK / IO_FAILED. */
static long fd_read(int fd, void *buf, size_t len)
{
	ssize_t n = recv(fd, buf, len, 0);

	if (n >= 0)
		return (long)n;
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return IO_WOULD_BLOCK;
	return IO_FAILED;
}

static long fd_write(int fd, const void *buf, size_t len)
{
	ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

	if (n >= 0)
		return (long)n;
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return IO_WOULD_BLOCK;
	return IO_FAILED;
}

/* KBS side read through TLS when configured; records which poll event TLS waits for. */
static long kbs_read(struct relay *r, void *buf, size_t len)
{
	int n, err;

	if (r->ssl == NULL)
		return fd_read(r->kbs_fd, buf, len);

	n = SSL_read(r->ssl, buf, (int)(len > 1u << 30 ? 1u << 30 : len));
	if (n > 0)
		return n;
	err = SSL_get_error(r->ssl, n);
	if (err == SSL_ERROR_ZERO_RETURN)
		return 0;
	if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
		r->kbs_read_events = err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT;
		return IO_WOULD_BLOCK;
	}
	proxy_tls_log_errors(r->id, "TLS read from the KBS failed");
	return IO_FAILED;
}

static long kbs_write(struct relay *r, const void *buf, size_t len)
{
	int n, err;

	if (r->ssl == NULL)
		return fd_write(r->kbs_fd, buf, len);

	n = SSL_write(r->ssl, buf, (int)(len > 1u << 30 ? 1u << 30 : len));
	if (n > 0)
		return n;
	err = SSL_get_error(r->ssl, n);
	if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
		r->kbs_write_events = err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT;
		return IO_WOULD_BLOCK;
	}
	proxy_tls_log_errors(r->id, "TLS write to the KBS failed");
	return IO_FAILED;
}

static void close_kbs_write(struct relay *r)
{
	if (r->ssl != NULL)
		SSL_shutdown(r->ssl);	/* sends close_notify; reading stays possible */
	else
		shutdown(r->kbs_fd, SHUT_WR);
	r->kbs_write_closed = 1;
	if (r->cfg->verbose)
		proxy_info("session %lu: guest closed its stream; half-closed the KBS side", r->id);
}

static void close_guest_write(struct relay *r)
{
	shutdown(r->guest_fd, SHUT_WR);
	r->guest_write_closed = 1;
	if (r->cfg->verbose)
		proxy_info("session %lu: KBS closed its stream; half-closed the guest side", r->id);
}

/* Fail the session with a reason that names the side; errno is logged for plain sockets. */
static int relay_fail(struct relay *r, const char *reason)
{
	int saved = errno;

	r->end_reason = reason;
	r->result->error = 1;
	if (saved != 0)
		proxy_error("session %lu: %s: %s", r->id, reason, strerror(saved));
	else
		proxy_error("session %lu: %s", r->id, reason);
	return -1;
}

/* Move what can move without blocking; returns bytes moved, or -1 when the session failed. */
static long relay_step(struct relay *r)
{
	unsigned char *tail;
	long moved = 0;
	long n;

	if (!r->guest_eof && buffer_space(&r->to_kbs) > 0) {
		tail = buffer_tail(&r->to_kbs);
		errno = 0;
		n = fd_read(r->guest_fd, tail, buffer_tail_space(&r->to_kbs));
		if (n == IO_FAILED)
			return relay_fail(r, "reading from the guest failed");
		if (n == 0)
			r->guest_eof = 1;
		if (n > 0) {
			r->to_kbs.length += (size_t)n;
			moved += n;
		}
	}

	if (r->to_kbs.length > 0) {
		errno = 0;
		n = kbs_write(r, r->to_kbs.data + r->to_kbs.start, r->to_kbs.length);
		if (n == IO_FAILED)
			return relay_fail(r, "writing to the KBS failed");
		if (n > 0) {
			buffer_consume(&r->to_kbs, (size_t)n);
			r->result->guest_to_kbs += (uint64_t)n;
			moved += n;
		}
	}
	if (r->guest_eof && r->to_kbs.length == 0 && !r->kbs_write_closed)
		close_kbs_write(r);

	if (!r->kbs_eof && buffer_space(&r->to_guest) > 0) {
		tail = buffer_tail(&r->to_guest);
		errno = 0;
		n = kbs_read(r, tail, buffer_tail_space(&r->to_guest));
		if (n == IO_FAILED)
			return relay_fail(r, "reading from the KBS failed");
		if (n == 0)
			r->kbs_eof = 1;
		if (n > 0) {
			r->to_guest.length += (size_t)n;
			moved += n;
		}
	}

	if (r->to_guest.length > 0) {
		errno = 0;
		n = fd_write(r->guest_fd, r->to_guest.data + r->to_guest.start, r->to_guest.length);
		if (n == IO_FAILED)
			return relay_fail(r, "writing to the guest failed");
		if (n > 0) {
			buffer_consume(&r->to_guest, (size_t)n);
			r->result->kbs_to_guest += (uint64_t)n;
			moved += n;
		}
	}
	if (r->kbs_eof && r->to_guest.length == 0 && !r->guest_write_closed)
		close_guest_write(r);

	return moved;
}

/*
 * Wait until a side is ready, the idle deadline passes or one poll slice
 * ends; returns 0, or -1 when the idle deadline has passed.
 */
static int relay_wait(struct relay *r, uint64_t last_activity)
{
	struct pollfd pfd[2];
	uint64_t now = proxy_now_ms();
	uint64_t deadline = last_activity + r->cfg->idle_timeout_ms;
	uint64_t wait_ms;

	if (r->ssl != NULL && SSL_pending(r->ssl) > 0 && buffer_space(&r->to_guest) > 0)
		return 0;
	if (now >= deadline)
		return -1;
	wait_ms = deadline - now;
	if (wait_ms > RELAY_POLL_SLICE_MS)
		wait_ms = RELAY_POLL_SLICE_MS;

	pfd[0].fd = r->guest_fd;
	pfd[0].events = 0;
	if (!r->guest_eof && buffer_space(&r->to_kbs) > 0)
		pfd[0].events |= POLLIN;
	if (r->to_guest.length > 0)
		pfd[0].events |= POLLOUT;

	pfd[1].fd = r->kbs_fd;
	pfd[1].events = 0;
	if (!r->kbs_eof && buffer_space(&r->to_guest) > 0)
		pfd[1].events |= r->ssl != NULL ? r->kbs_read_events : POLLIN;
	if (r->to_kbs.length > 0)
		pfd[1].events |= r->ssl != NULL ? r->kbs_write_events : POLLOUT;

	/* A side with nothing to do is left out, so its POLLHUP cannot spin the loop. */
	if (pfd[0].events == 0)
		pfd[0].fd = -1;
	if (pfd[1].events == 0)
		pfd[1].fd = -1;

	/* A timeout or a signal (EINTR) returns to relay_loop, which checks
	 * the deadlines and the stop flag before it waits again. */
	poll(pfd, 2, (int)wait_ms);
	return 0;
}

/* Returns nonzero, with the reason logged, when the session has run for
 * its session timeout or a stop signal's grace period is over. */
static int relay_expired(struct relay *r)
{
	uint64_t now = proxy_now_ms();

	if (now - r->started >= r->cfg->session_timeout_ms) {
		r->end_reason = "session timeout";
		r->result->error = 1;
		proxy_warn("session %lu: open for %u ms, closing (session timeout)",
			   r->id, r->cfg->session_timeout_ms);
		return 1;
	}
	if (!proxy_stop_requested())
		return 0;
	if (r->stop_seen == 0)
		r->stop_seen = now;
	if (now - r->stop_seen < PROXY_STOP_GRACE_MS)
		return 0;
	r->end_reason = "stopped by a signal";
	r->result->error = 1;
	proxy_warn("session %lu: still open %u ms after the stop signal, closing",
		   r->id, PROXY_STOP_GRACE_MS);
	return 1;
}

static void relay_loop(struct relay *r)
{
	uint64_t last_activity = proxy_now_ms();
	long moved;

	for (;;) {
		if (relay_expired(r))
			return;
		moved = relay_step(r);
		if (moved < 0)
			return;
		if (r->guest_write_closed && r->kbs_write_closed) {
			r->end_reason = "both sides closed";
			return;
		}
		if (moved > 0) {
			last_activity = proxy_now_ms();
			continue;
		}
		if (relay_wait(r, last_activity) < 0) {
			r->end_reason = "idle timeout";
			r->result->error = 1;
			proxy_warn("session %lu: no data for %u ms, closing (idle timeout)",
				   r->id, r->cfg->idle_timeout_ms);
			return;
		}
	}
}

void proxy_session_run(const struct proxy_config *cfg, int guest_fd, unsigned long id,
		       const char *guest_desc, struct proxy_session_result *result)
{
	struct relay r;
	uint64_t started = proxy_now_ms();

	memset(result, 0, sizeof(*result));
	memset(&r, 0, sizeof(r));
	r.cfg = cfg;
	r.id = id;
	r.started = started;
	r.guest_fd = guest_fd;
	r.kbs_fd = -1;
	r.result = result;
	r.kbs_read_events = POLLIN;
	r.kbs_write_events = POLLOUT;
	r.end_reason = "not started";

	proxy_info("session %lu: start, guest %s, KBS %s:%s%s", id, guest_desc,
		   cfg->kbs_host, cfg->kbs_port, cfg->use_tls ? " (TLS)" : "");

	r.to_kbs.data = malloc(cfg->buffer_size);
	r.to_guest.data = malloc(cfg->buffer_size);
	r.to_kbs.capacity = cfg->buffer_size;
	r.to_guest.capacity = cfg->buffer_size;
	if (r.to_kbs.data == NULL || r.to_guest.data == NULL) {
		errno = ENOMEM;
		relay_fail(&r, "allocating the relay buffers failed");
		goto out;
	}

	r.kbs_fd = proxy_connect_kbs(cfg, id);
	if (r.kbs_fd < 0) {
		r.end_reason = "KBS connection failed";
		result->error = 1;
		goto out;
	}
	if (cfg->use_tls) {
		r.ssl = proxy_tls_connect(cfg, r.kbs_fd, id);
		if (r.ssl == NULL) {
			r.end_reason = "TLS handshake failed";
			result->error = 1;
			goto out;
		}
	}

	relay_loop(&r);

out:
	proxy_info("session %lu: end (%s), guest->KBS %llu bytes, KBS->guest %llu bytes, %llu ms",
		   id, r.end_reason, (unsigned long long)result->guest_to_kbs,
		   (unsigned long long)result->kbs_to_guest,
		   (unsigned long long)(proxy_now_ms() - started));
	if (r.ssl != NULL)
		SSL_free(r.ssl);
	if (r.kbs_fd >= 0)
		close(r.kbs_fd);
	close(guest_fd);
	free(r.to_kbs.data);
	free(r.to_guest.data);
}

/*
 * TCP connection to the KBS with a connect timeout.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proxy.h"

/* Start a non-blocking connect and wait up to timeout_ms for it; returns 0 or an errno value. */
static int connect_with_timeout(int fd, const struct sockaddr *addr, socklen_t len,
				unsigned int timeout_ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };
	int err = 0;
	socklen_t err_len = sizeof(err);
	int rc;

	if (connect(fd, addr, len) == 0)
		return 0;
	if (errno != EINPROGRESS)
		return errno;

	do {
		rc = poll(&pfd, 1, (int)timeout_ms);
	} while (rc < 0 && errno == EINTR);
	if (rc < 0)
		return errno;
	if (rc == 0)
		return ETIMEDOUT;

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &err_len) < 0)
		return errno;
	return err;
}

int proxy_connect_kbs(const struct proxy_config *cfg, unsigned long id)
{
	struct addrinfo hints, *list = NULL, *ai;
	int fd = -1;
	int err = 0;
	int enable = 1;
	int rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	rc = getaddrinfo(cfg->kbs_host, cfg->kbs_port, &hints, &list);
	if (rc != 0) {
		proxy_error("session %lu: cannot resolve KBS host %s port %s: %s",
			    id, cfg->kbs_host, cfg->kbs_port, gai_strerror(rc));
		return -1;
	}

	for (ai = list; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
			    ai->ai_protocol);
		if (fd < 0) {
			err = errno;
			continue;
		}
		err = connect_with_timeout(fd, ai->ai_addr, ai->ai_addrlen, cfg->connect_timeout_ms);
		if (err == 0)
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(list);

	if (fd < 0) {
		proxy_error("session %lu: connecting to KBS %s:%s failed: %s",
			    id, cfg->kbs_host, cfg->kbs_port,
			    err == ETIMEDOUT ? "timed out" : strerror(err));
		return -1;
	}

	/* Small request/response messages: do not wait to fill segments. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &enable, sizeof(enable));
	return fd;
}

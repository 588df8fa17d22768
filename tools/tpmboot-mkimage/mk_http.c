/*
 * Minimal HTTP/1.1 client over plain TCP for the KBS admin endpoint: one
 * POST with a JSON body and "Connection: close", response read to the end.
 * Only http:// URLs; there is no TLS (run the admin call on a trusted
 * network or through a local tunnel).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "mk.h"

#define MK_HTTP_MAX_RESPONSE (1u << 20)
#define MK_HTTP_TIMEOUT_S 30

struct url {
	char host[256];
	char port[8];
	char prefix[512];
};

static int parse_url(const char *text, struct url *u)
{
	const char *p = text + 7, *slash, *colon;
	size_t host_len;

	if (strncmp(text, "http://", 7) != 0)
		return mk_fail(MK_E_USAGE, "KBS URL \"%s\" must start with "
			       "http://", text);
	slash = strchr(p, '/');
	if (slash == NULL)
		slash = p + strlen(p);
	colon = memchr(p, ':', (size_t)(slash - p));
	host_len = (size_t)((colon ? colon : slash) - p);
	if (host_len == 0 || host_len >= sizeof(u->host))
		return mk_fail(MK_E_USAGE, "KBS URL \"%s\" has no valid host",
			       text);
	memcpy(u->host, p, host_len);
	u->host[host_len] = '\0';
	if (colon) {
		size_t n = (size_t)(slash - colon - 1);

		if (n == 0 || n >= sizeof(u->port))
			return mk_fail(MK_E_USAGE, "KBS URL \"%s\" has an invalid "
				       "port", text);
		memcpy(u->port, colon + 1, n);
		u->port[n] = '\0';
	} else {
		strcpy(u->port, "80");
	}
	if (strlen(slash) >= sizeof(u->prefix))
		return mk_fail(MK_E_USAGE, "KBS URL path is too long");
	strcpy(u->prefix, slash);
	/* Drop a trailing slash so that prefix + "/kbs/..." has one. */
	if (u->prefix[0] && u->prefix[strlen(u->prefix) - 1] == '/')
		u->prefix[strlen(u->prefix) - 1] = '\0';
	return MK_OK;
}

static int connect_to(const struct url *u, int *fd_out)
{
	struct addrinfo hints, *res, *ai;
	struct timeval tv = { MK_HTTP_TIMEOUT_S, 0 };
	int fd = -1, err;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	err = getaddrinfo(u->host, u->port, &hints, &res);
	if (err != 0)
		return mk_fail(MK_E_WRAP, "cannot resolve KBS host %s: %s",
			       u->host, gai_strerror(err));
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
		if (fd < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		return mk_fail(MK_E_WRAP, "cannot connect to the KBS at %s:%s: "
			       "%s", u->host, u->port, strerror(errno));
	*fd_out = fd;
	return MK_OK;
}

static int send_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return mk_fail(MK_E_WRAP, "sending to the KBS failed: %s",
				       strerror(errno));
		buf += n;
		len -= (size_t)n;
	}
	return MK_OK;
}

static int recv_all(int fd, char **out, size_t *out_len)
{
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap + 1);

	if (buf == NULL)
		return mk_fail(MK_E_NO_MEMORY, "out of memory");
	for (;;) {
		ssize_t n;

		if (len == cap) {
			char *nb;

			if (cap >= MK_HTTP_MAX_RESPONSE) {
				free(buf);
				return mk_fail(MK_E_WRAP, "KBS response exceeds "
					       "%u bytes", MK_HTTP_MAX_RESPONSE);
			}
			cap *= 2;
			nb = realloc(buf, cap + 1);
			if (nb == NULL) {
				free(buf);
				return mk_fail(MK_E_NO_MEMORY, "out of memory");
			}
			buf = nb;
		}
		n = recv(fd, buf + len, cap - len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			free(buf);
			return mk_fail(MK_E_WRAP, "reading the KBS response "
				       "failed: %s", errno == EAGAIN
				       ? "timed out" : strerror(errno));
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	*out = buf;
	*out_len = len;
	return MK_OK;
}

/* Splits a response into status and body (Content-Length or to EOF). */
static int parse_response(char *resp, size_t len, int *status, char **body,
			  size_t *body_len)
{
	char *end = strstr(resp, "\r\n\r\n");
	char *cl;

	if (strncmp(resp, "HTTP/1.", 7) != 0 || end == NULL ||
	    sscanf(resp + 8, " %d", status) != 1)
		return mk_fail(MK_E_WRAP, "the KBS sent no valid HTTP response");
	*body = end + 4;
	*body_len = len - (size_t)(*body - resp);
	*end = '\0';
	cl = strcasestr(resp, "\r\ncontent-length:");
	if (cl != NULL) {
		unsigned long v = strtoul(cl + 17, NULL, 10);

		if (v > *body_len)
			return mk_fail(MK_E_WRAP, "KBS response body truncated "
				       "(%lu of %zu bytes)", v, *body_len);
		*body_len = v;
	}
	(*body)[*body_len] = '\0';
	return MK_OK;
}

/* Copies up to cap - 1 bytes of an untrusted body into out and replaces
 * every byte outside printable ASCII with '?'. A KBS, or anyone on the
 * plain HTTP path, thus cannot send control sequences to the terminal. */
static const char *printable(const char *body, size_t len, char *out,
			     size_t cap)
{
	size_t i;

	if (len > cap - 1)
		len = cap - 1;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)body[i];

		out[i] = c >= 0x20 && c <= 0x7E ? (char)c : '?';
	}
	out[len] = '\0';
	return out;
}

/*
 * POSTs body (JSON) to url's prefix + path with a bearer token and
 * returns the body of a 200 response in a malloc'ed string.
 */
int mk_http_post(const char *url, const char *path, const char *bearer,
		 const char *body, char **response, size_t *response_len)
{
	struct url u;
	char *req = NULL, *resp = NULL, *rbody = NULL;
	size_t resp_len = 0, rbody_len = 0, req_cap;
	char shown[201];
	int fd = -1, status = 0, rc;

	if ((rc = parse_url(url, &u)) != MK_OK || (rc = connect_to(&u, &fd)) != MK_OK)
		return rc;
	req_cap = strlen(body) + strlen(bearer) + strlen(u.prefix) +
		  strlen(path) + strlen(u.host) + 256;
	req = malloc(req_cap);
	if (req == NULL) {
		close(fd);
		return mk_fail(MK_E_NO_MEMORY, "out of memory");
	}
	snprintf(req, req_cap, "POST %s%s HTTP/1.1\r\nHost: %s\r\n"
		 "Authorization: Bearer %s\r\nContent-Type: application/json\r\n"
		 "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
		 u.prefix, path, u.host, bearer, strlen(body), body);
	rc = send_all(fd, req, strlen(req));
	mk_wipe(req, req_cap);
	free(req);
	if (rc == MK_OK)
		rc = recv_all(fd, &resp, &resp_len);
	close(fd);
	if (rc == MK_OK)
		rc = parse_response(resp, resp_len, &status, &rbody, &rbody_len);
	if (rc == MK_OK && status != 200)
		rc = mk_fail(MK_E_WRAP, "the KBS answered %s%s with HTTP %d: "
			     "%s", u.prefix, path, status,
			     printable(rbody, rbody_len, shown, sizeof(shown)));
	if (rc == MK_OK) {
		*response = strdup(rbody);
		*response_len = rbody_len;
		if (*response == NULL)
			rc = mk_fail(MK_E_NO_MEMORY, "out of memory");
	}
	free(resp);
	return rc;
}

/*
 * tpmboot-proxy: command line, guest-side listeners and the session threads.
 */
#define _GNU_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <linux/vm_sockets.h>

#include <openssl/crypto.h>

#include "proxy.h"

static volatile sig_atomic_t stop_requested;

static pthread_mutex_t sessions_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned int active_sessions;

struct session_arg {
	const struct proxy_config *cfg;
	int guest_fd;
	unsigned long id;
	char guest_desc[128];
};

static void usage(FILE *out)
{
	fprintf(out,
"Usage: tpmboot-proxy --kbs HOST:PORT [guest side] [options]\n"
"\n"
"Forward the guest's byte stream to a Key Broker Service over TCP, optionally\n"
"TLS, without parsing it. Each guest connection is one session with its own\n"
"KBS connection.\n"
"\n"
"Guest side (one of):\n"
"  --vsock-port PORT      listen on AF_VSOCK, any CID, port PORT (default %u)\n"
"  --unix PATH            listen on the Unix socket PATH (QEMU chardev in client\n"
"                         mode, e.g. -serial unix:PATH); a stale socket is replaced\n"
"  --unix-connect PATH    connect to the Unix socket PATH that QEMU listens on\n"
"                         (chardev server=on); serves that one session\n"
"\n"
"KBS side:\n"
"  --kbs HOST:PORT        KBS address (required; IPv6 as [ADDR]:PORT)\n"
"  --tls                  use TLS 1.2 or newer towards the KBS\n"
"  --ca-file FILE         PEM CA certificates for the KBS certificate (implies --tls;\n"
"                         without it, the system CA store is used)\n"
"  --tls-server-name NAME name expected in the KBS certificate and sent as SNI\n"
"                         (default: HOST)\n"
"\n"
"Limits:\n"
"  --connect-timeout MS   TCP connect plus TLS handshake limit in ms (default %u)\n"
"  --idle-timeout MS      close a session after MS ms without data (default %u)\n"
"  --session-timeout MS   close a session MS ms after it started, even while data\n"
"                         still flows (default %u)\n"
"  --buffer-size BYTES    buffer per direction and session, %u to %u (default %u)\n"
"  --max-sessions N       concurrent sessions; more are closed at once (default %u)\n"
"  --once                 serve one session, then exit with 0 if it ended cleanly\n"
"\n"
"Other:\n"
"  --verbose              also log half-closes and TLS parameters\n"
"  --help                 show this text\n"
"\n"
"Logs go to stderr, one timestamped line per session start, end (with byte\n"
"counts) and error. Once listening, \"listening on <address>\" is printed on stdout.\n",
		PROXY_DEFAULT_VSOCK_PORT, PROXY_DEFAULT_CONNECT_MS, PROXY_DEFAULT_IDLE_MS,
		PROXY_DEFAULT_SESSION_MS,
		PROXY_MIN_BUFFER, PROXY_MAX_BUFFER, PROXY_DEFAULT_BUFFER,
		PROXY_DEFAULT_MAX_SESSIONS);
}

/* Parse an unsigned decimal in [min, max]; returns 0 or -1 after logging the option name. */
static int parse_number(const char *option, const char *text, unsigned long min,
			unsigned long max, unsigned long *value)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(text, &end, 10);
	if (errno != 0 || end == text || *end != '\0' || text[0] == '-' || v < min || v > max) {
		fprintf(stderr, "tpmboot-proxy: invalid %s %s: expected a number from %lu to %lu\n",
			option, text, min, max);
		return -1;
	}
	*value = v;
	return 0;
}

/* Split HOST:PORT or [HOST]:PORT in place; returns 0 or -1. */
static int parse_kbs(char *text, struct proxy_config *cfg)
{
	char *colon = strrchr(text, ':');
	unsigned long port;

	if (colon == NULL || colon == text || colon[1] == '\0') {
		fprintf(stderr, "tpmboot-proxy: invalid --kbs %s: expected HOST:PORT\n", text);
		return -1;
	}
	*colon = '\0';
	if (parse_number("--kbs port", colon + 1, 1, 65535, &port) < 0)
		return -1;
	if (text[0] == '[') {
		size_t len = strlen(text);

		if (len < 3 || text[len - 1] != ']') {
			fprintf(stderr, "tpmboot-proxy: invalid --kbs host %s: unbalanced brackets\n", text);
			return -1;
		}
		text[len - 1] = '\0';
		text++;
	}
	cfg->kbs_host = text;
	cfg->kbs_port = colon + 1;
	return 0;
}

enum {
	OPT_VSOCK_PORT = 256,
	OPT_UNIX,
	OPT_UNIX_CONNECT,
	OPT_KBS,
	OPT_TLS,
	OPT_CA_FILE,
	OPT_TLS_SERVER_NAME,
	OPT_CONNECT_TIMEOUT,
	OPT_IDLE_TIMEOUT,
	OPT_SESSION_TIMEOUT,
	OPT_BUFFER_SIZE,
	OPT_MAX_SESSIONS,
	OPT_ONCE,
	OPT_VERBOSE,
	OPT_HELP,
};

static const struct option long_options[] = {
	{ "vsock-port", required_argument, NULL, OPT_VSOCK_PORT },
	{ "unix", required_argument, NULL, OPT_UNIX },
	{ "unix-connect", required_argument, NULL, OPT_UNIX_CONNECT },
	{ "kbs", required_argument, NULL, OPT_KBS },
	{ "tls", no_argument, NULL, OPT_TLS },
	{ "ca-file", required_argument, NULL, OPT_CA_FILE },
	{ "tls-server-name", required_argument, NULL, OPT_TLS_SERVER_NAME },
	{ "connect-timeout", required_argument, NULL, OPT_CONNECT_TIMEOUT },
	{ "idle-timeout", required_argument, NULL, OPT_IDLE_TIMEOUT },
	{ "session-timeout", required_argument, NULL, OPT_SESSION_TIMEOUT },
	{ "buffer-size", required_argument, NULL, OPT_BUFFER_SIZE },
	{ "max-sessions", required_argument, NULL, OPT_MAX_SESSIONS },
	{ "once", no_argument, NULL, OPT_ONCE },
	{ "verbose", no_argument, NULL, OPT_VERBOSE },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

/* Fill cfg from argv; returns 0, 1 after --help, or -1 on a usage error (already reported). */
static int parse_options(int argc, char **argv, struct proxy_config *cfg)
{
	unsigned long v;
	int guest_modes = 0;
	int opt;

	memset(cfg, 0, sizeof(*cfg));
	cfg->guest_mode = PROXY_GUEST_VSOCK;
	cfg->vsock_port = PROXY_DEFAULT_VSOCK_PORT;
	cfg->connect_timeout_ms = PROXY_DEFAULT_CONNECT_MS;
	cfg->idle_timeout_ms = PROXY_DEFAULT_IDLE_MS;
	cfg->session_timeout_ms = PROXY_DEFAULT_SESSION_MS;
	cfg->buffer_size = PROXY_DEFAULT_BUFFER;
	cfg->max_sessions = PROXY_DEFAULT_MAX_SESSIONS;

	while ((opt = getopt_long(argc, argv, "", long_options, NULL)) != -1) {
		switch (opt) {
		case OPT_VSOCK_PORT:
			if (parse_number("--vsock-port", optarg, 1, UINT_MAX - 1, &v) < 0)
				return -1;
			cfg->guest_mode = PROXY_GUEST_VSOCK;
			cfg->vsock_port = (unsigned int)v;
			guest_modes++;
			break;
		case OPT_UNIX:
		case OPT_UNIX_CONNECT:
			if (strlen(optarg) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
				fprintf(stderr, "tpmboot-proxy: Unix socket path %s is longer than %zu bytes\n",
					optarg, sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
				return -1;
			}
			cfg->guest_mode = opt == OPT_UNIX ? PROXY_GUEST_UNIX_LISTEN : PROXY_GUEST_UNIX_CONNECT;
			cfg->unix_path = optarg;
			guest_modes++;
			break;
		case OPT_KBS:
			if (parse_kbs(optarg, cfg) < 0)
				return -1;
			break;
		case OPT_TLS:
			cfg->use_tls = 1;
			break;
		case OPT_CA_FILE:
			cfg->use_tls = 1;
			cfg->ca_file = optarg;
			break;
		case OPT_TLS_SERVER_NAME:
			cfg->tls_server_name = optarg;
			break;
		case OPT_CONNECT_TIMEOUT:
			if (parse_number("--connect-timeout", optarg, 1, INT_MAX, &v) < 0)
				return -1;
			cfg->connect_timeout_ms = (unsigned int)v;
			break;
		case OPT_IDLE_TIMEOUT:
			if (parse_number("--idle-timeout", optarg, 1, INT_MAX, &v) < 0)
				return -1;
			cfg->idle_timeout_ms = (unsigned int)v;
			break;
		case OPT_SESSION_TIMEOUT:
			if (parse_number("--session-timeout", optarg, 1, INT_MAX, &v) < 0)
				return -1;
			cfg->session_timeout_ms = (unsigned int)v;
			break;
		case OPT_BUFFER_SIZE:
			if (parse_number("--buffer-size", optarg, PROXY_MIN_BUFFER, PROXY_MAX_BUFFER, &v) < 0)
				return -1;
			cfg->buffer_size = v;
			break;
		case OPT_MAX_SESSIONS:
			if (parse_number("--max-sessions", optarg, 1, 1024, &v) < 0)
				return -1;
			cfg->max_sessions = (unsigned int)v;
			break;
		case OPT_ONCE:
			cfg->once = 1;
			break;
		case OPT_VERBOSE:
			cfg->verbose = 1;
			break;
		case OPT_HELP:
			usage(stdout);
			return 1;
		default:
			usage(stderr);
			return -1;
		}
	}

	if (optind < argc) {
		fprintf(stderr, "tpmboot-proxy: unexpected argument %s\n", argv[optind]);
		return -1;
	}
	if (cfg->kbs_host == NULL) {
		fprintf(stderr, "tpmboot-proxy: --kbs HOST:PORT is required (there is no default KBS)\n");
		return -1;
	}
	if (guest_modes > 1) {
		fprintf(stderr, "tpmboot-proxy: give only one of --vsock-port, --unix and --unix-connect\n");
		return -1;
	}
	if (cfg->tls_server_name != NULL && !cfg->use_tls) {
		fprintf(stderr, "tpmboot-proxy: --tls-server-name needs --tls or --ca-file\n");
		return -1;
	}
	return 0;
}

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

int proxy_stop_requested(void)
{
	return stop_requested != 0;
}

/* Create the listening socket for the configured guest side; returns fd or -1. */
static int open_listener(const struct proxy_config *cfg)
{
	int fd;

	if (cfg->guest_mode == PROXY_GUEST_VSOCK) {
		struct sockaddr_vm addr;

		fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			proxy_error("creating an AF_VSOCK socket failed: %s (is the vsock module loaded?)",
				    strerror(errno));
			return -1;
		}
		memset(&addr, 0, sizeof(addr));
		addr.svm_family = AF_VSOCK;
		addr.svm_cid = VMADDR_CID_ANY;
		addr.svm_port = cfg->vsock_port;
		if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(fd, 16) < 0) {
			proxy_error("listening on vsock port %u failed: %s", cfg->vsock_port, strerror(errno));
			close(fd);
			return -1;
		}
		printf("listening on vsock:%u\n", cfg->vsock_port);
	} else {
		struct sockaddr_un addr;
		struct stat st;

		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			proxy_error("creating a Unix socket failed: %s", strerror(errno));
			return -1;
		}
		memset(&addr, 0, sizeof(addr));
		addr.sun_family = AF_UNIX;
		strcpy(addr.sun_path, cfg->unix_path);
		/* Replace a socket left by an earlier run, but never another kind of file. */
		if (lstat(cfg->unix_path, &st) == 0 && S_ISSOCK(st.st_mode))
			unlink(cfg->unix_path);
		if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(fd, 16) < 0) {
			proxy_error("listening on Unix socket %s failed: %s", cfg->unix_path, strerror(errno));
			close(fd);
			return -1;
		}
		printf("listening on unix:%s\n", cfg->unix_path);
	}
	fflush(stdout);
	return fd;
}

/* Connect to the guest's listening Unix socket (QEMU chardev server); returns fd or -1. */
static int connect_guest_unix(const struct proxy_config *cfg)
{
	struct sockaddr_un addr;
	int fd;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		proxy_error("creating a Unix socket failed: %s", strerror(errno));
		return -1;
	}
	memset(&addr, 0, sizeof(addr));
	addr.sun_family = AF_UNIX;
	strcpy(addr.sun_path, cfg->unix_path);
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		proxy_error("connecting to the guest socket %s failed: %s", cfg->unix_path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static int set_nonblocking(int fd)
{
	int flags = fcntl(fd, F_GETFL);

	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
		proxy_error("making the guest socket non-blocking failed: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static void *session_thread(void *p)
{
	struct session_arg *arg = p;
	struct proxy_session_result result;

	proxy_session_run(arg->cfg, arg->guest_fd, arg->id, arg->guest_desc, &result);
	/* Free OpenSSL's per-thread state (DRBG contexts, error queue). */
	OPENSSL_thread_stop();
	pthread_mutex_lock(&sessions_lock);
	active_sessions--;
	pthread_mutex_unlock(&sessions_lock);
	free(arg);
	return NULL;
}

static void describe_peer(int fd, const struct proxy_config *cfg, char *out, size_t len)
{
	if (cfg->guest_mode == PROXY_GUEST_VSOCK) {
		struct sockaddr_vm addr;
		socklen_t alen = sizeof(addr);

		if (getpeername(fd, (struct sockaddr *)&addr, &alen) == 0) {
			snprintf(out, len, "vsock cid %u port %u", addr.svm_cid, addr.svm_port);
			return;
		}
	}
	if (cfg->guest_mode == PROXY_GUEST_UNIX_LISTEN) {
		struct ucred cred;
		socklen_t clen = sizeof(cred);

		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) == 0) {
			snprintf(out, len, "unix:%s pid %d", cfg->unix_path, (int)cred.pid);
			return;
		}
	}
	snprintf(out, len, "unix:%s", cfg->unix_path);
}

/* Accept guests until a signal (or one session with --once); returns the exit status. */
static int serve(const struct proxy_config *cfg, int listen_fd)
{
	unsigned long next_id = 1;
	struct pollfd pfd = { .fd = listen_fd, .events = POLLIN };
	pthread_attr_t attr;

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);

	while (!stop_requested) {
		struct session_arg *arg;
		pthread_t thread;
		int fd;

		if (poll(&pfd, 1, 500) <= 0)
			continue;
		fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EINTR && errno != EAGAIN)
				proxy_error("accepting a guest connection failed: %s", strerror(errno));
			continue;
		}

		if (cfg->once) {
			struct proxy_session_result result;
			char desc[128];

			describe_peer(fd, cfg, desc, sizeof(desc));
			proxy_session_run(cfg, fd, next_id, desc, &result);
			pthread_attr_destroy(&attr);
			return result.error ? 1 : 0;
		}

		pthread_mutex_lock(&sessions_lock);
		if (active_sessions >= cfg->max_sessions) {
			pthread_mutex_unlock(&sessions_lock);
			proxy_warn("session %lu: rejected, %u sessions already active (--max-sessions)",
				   next_id++, cfg->max_sessions);
			close(fd);
			continue;
		}
		active_sessions++;
		pthread_mutex_unlock(&sessions_lock);

		arg = calloc(1, sizeof(*arg));
		if (arg == NULL) {
			proxy_error("session %lu: out of memory", next_id);
			close(fd);
			pthread_mutex_lock(&sessions_lock);
			active_sessions--;
			pthread_mutex_unlock(&sessions_lock);
			continue;
		}
		arg->cfg = cfg;
		arg->guest_fd = fd;
		arg->id = next_id++;
		describe_peer(fd, cfg, arg->guest_desc, sizeof(arg->guest_desc));
		if (pthread_create(&thread, &attr, session_thread, arg) != 0) {
			proxy_error("session %lu: creating the session thread failed", arg->id);
			close(fd);
			free(arg);
			pthread_mutex_lock(&sessions_lock);
			active_sessions--;
			pthread_mutex_unlock(&sessions_lock);
		}
	}
	pthread_attr_destroy(&attr);
	return 0;
}

/* On stop, give running sessions up to grace_ms to finish; log how many are cut off. */
static void wait_for_sessions(unsigned int grace_ms)
{
	uint64_t deadline = proxy_now_ms() + grace_ms;
	unsigned int active;

	for (;;) {
		pthread_mutex_lock(&sessions_lock);
		active = active_sessions;
		pthread_mutex_unlock(&sessions_lock);
		if (active == 0)
			return;
		if (proxy_now_ms() >= deadline)
			break;
		usleep(10000);
	}
	proxy_warn("stopping with %u sessions still active; they are closed", active);
}

int main(int argc, char **argv)
{
	struct proxy_config cfg;
	struct sigaction sa;
	int listen_fd, rc;

	rc = parse_options(argc, argv, &cfg);
	if (rc != 0)
		return rc > 0 ? 0 : 2;

	signal(SIGPIPE, SIG_IGN);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	if (cfg.use_tls && proxy_tls_init(&cfg) < 0)
		return 1;

	if (cfg.guest_mode == PROXY_GUEST_UNIX_CONNECT) {
		struct proxy_session_result result;
		char desc[128];
		int fd = connect_guest_unix(&cfg);

		if (fd < 0 || set_nonblocking(fd) < 0)
			return 1;
		snprintf(desc, sizeof(desc), "unix-connect:%s", cfg.unix_path);
		proxy_session_run(&cfg, fd, 1, desc, &result);
		return result.error ? 1 : 0;
	}

	listen_fd = open_listener(&cfg);
	if (listen_fd < 0)
		return 1;
	proxy_info("started: guest side %s, KBS %s:%s%s, idle timeout %u ms, session timeout %u ms, buffer %zu bytes",
		   cfg.guest_mode == PROXY_GUEST_VSOCK ? "vsock" : cfg.unix_path,
		   cfg.kbs_host, cfg.kbs_port, cfg.use_tls ? " over TLS" : "",
		   cfg.idle_timeout_ms, cfg.session_timeout_ms, cfg.buffer_size);

	rc = serve(&cfg, listen_fd);

	close(listen_fd);
	wait_for_sessions(PROXY_STOP_GRACE_MS);
	if (cfg.guest_mode == PROXY_GUEST_UNIX_LISTEN)
		unlink(cfg.unix_path);
	proxy_info("stopped");
	if (cfg.tls_ctx != NULL)
		SSL_CTX_free(cfg.tls_ctx);
	return rc;
}

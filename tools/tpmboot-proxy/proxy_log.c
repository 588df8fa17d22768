/*
 * Timestamped logging to stderr and the monotonic clock.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "proxy.h"

/* Format one line "2026-12-04T21:30:00.123Z LEVEL message" and write it at once. */
void proxy_log(const char *level, const char *fmt, ...)
{
	struct timespec ts;
	struct tm tm;
	char line[1024];
	int n;
	va_list ap;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ tpmboot-proxy %s: ",
		     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		     tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000, level);
	if (n < 0 || (size_t)n >= sizeof(line))
		n = 0;

	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);

	/* One fprintf per line keeps lines from concurrent sessions whole. */
	fprintf(stderr, "%s\n", line);
}

uint64_t proxy_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

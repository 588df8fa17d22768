/*
X
 * integer-only vsnprintf in the freestanding build (no floating point), the
 * host C library's in the host build; callers use only integer conversions.
 */
#include <stdarg.h>
#include <stdio.h>

#include "core/tb_core.h"

#define TB_LOG_LINE_MAX 256

int tb_snprintf(char *buf, size_t cap, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, cap, fmt, ap);
	va_end(ap);
	return n;
}

void tb_log(enum tpmboot_log_level level, const char *fmt, ...)
{
	const struct tpmboot_platform *p = tb_platform();
	char line[TB_LOG_LINE_MAX];
	va_list ap;

	if (p == NULL || p->log == NULL || level > tb_config()->log_level)
		return;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	p->log(p->ctx, level, line);
}

/*
 * Shared set-up of the KBS fuzz targets: the host test platform attached
 * once, with logging switched off so that rejected inputs cost nothing.
 */
#ifndef FUZZ_KBS_COMMON_H
#define FUZZ_KBS_COMMON_H

#include "tb_test_platform.h"

static void fuzz_log_nothing(void *ctx, enum tpmboot_log_level level,
			     const char *line)
{
	(void)ctx;
	(void)level;
	(void)line;
}

/* Attaches the platform on the first call. */
static inline void fuzz_platform_init(void)
{
	static struct tb_test_platform tp;
	static int ready;

	if (ready)
		return;
	tb_test_platform_init(&tp);
	tp.log_echo = 0;
	tp.platform.log = fuzz_log_nothing;
	ready = 1;
}

#endif /* FUZZ_KBS_COMMON_H */

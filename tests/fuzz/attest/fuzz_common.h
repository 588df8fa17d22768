/*
 * Shared set-up of the attestation fuzz targets: attaches core once to the
 * host test platform with logging off, so error paths run their tb_err
 * calls without filling the captured log.
 */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

#include "tb_test_platform.h"

static struct tb_test_platform fuzz_platform;

static void fuzz_attach_once(void)
{
	static int attached;

	if (!attached) {
		tb_test_platform_init(&fuzz_platform);
		fuzz_platform.log_echo = 0;
		fuzz_platform.config.log_level = TPMBOOT_LOG_ERROR;
		fuzz_platform.platform.log = NULL;
		attached = 1;
	}
}

#endif /* FUZZ_COMMON_H */

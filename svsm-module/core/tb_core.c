/*
 * Platform table, configuration and the platform services every part of the
 * module uses (random bytes, time, delay).
 */
#include "core/tb_core.h"

/* The module is single-threaded and runs once per boot; these two pointers
 * are its only global state outside the crypto fast-path tier cache. */
static const struct tpmboot_platform *attached_platform;
static const struct tpmboot_config *attached_config;

static const struct tpmboot_config default_config = {
	.api_version = TPMBOOT_API_VERSION,
	.tee = TPMBOOT_TEE_SNP,
	.kbs_protocol = TPMBOOT_KBS_TRUSTEE,
	.tee_key = TPMBOOT_TEE_KEY_EC_P256,
	.simd_cap = TPMBOOT_SIMD_AUTO,
	.kbs_timeout_ms = 10000,
	.kbs_max_retries = 3,
	.log_level = TPMBOOT_LOG_INFO,
};

int tb_core_attach(const struct tpmboot_platform *platform,
		   const struct tpmboot_config *config)
{
	if (platform == NULL)
		return TPMBOOT_E_INVALID_ARGUMENT;
	if (platform->api_version != TPMBOOT_API_VERSION)
		return TPMBOOT_E_API_VERSION;
	if (config != NULL && config->api_version != TPMBOOT_API_VERSION)
		return TPMBOOT_E_API_VERSION;
	if (platform->alloc == NULL || platform->free == NULL ||
	    platform->random_bytes == NULL)
		return TPMBOOT_E_MISSING_CALLBACK;

	attached_platform = platform;
	attached_config = config != NULL ? config : &default_config;
	return TPMBOOT_OK;
}

void tb_core_detach(void)
{
	attached_platform = NULL;
	attached_config = NULL;
}

const struct tpmboot_platform *tb_platform(void)
{
	return attached_platform;
}

const struct tpmboot_config *tb_config(void)
{
	return attached_config != NULL ? attached_config : &default_config;
}

int tb_random(uint8_t *buf, size_t len)
{
	const struct tpmboot_platform *p = attached_platform;

	if (p == NULL || p->random_bytes == NULL)
		return TPMBOOT_E_MISSING_CALLBACK;
	if (p->random_bytes(p->ctx, buf, len) != 0) {
		tb_err("core: platform random_bytes failed for %zu bytes", len);
		return TPMBOOT_E_RANDOM;
	}
	return TPMBOOT_OK;
}

uint64_t tb_time_ms(void)
{
	const struct tpmboot_platform *p = attached_platform;

	if (p == NULL || p->time_ms == NULL)
		return 0;
	return p->time_ms(p->ctx);
}

void tb_delay_ms(uint32_t ms)
{
	const struct tpmboot_platform *p = attached_platform;

	if (p != NULL && p->delay_ms != NULL)
		p->delay_ms(p->ctx, ms);
}

/*
 * The module's random number generator: HMAC-DRBG (NIST SP 800-90A) with
 * SHA-256 on mbedTLS, seeded from the platform's random_bytes callback.
 * The DRBG state is a documented global (allocated on first use, wiped by
 * tb_rng_wipe()), because the module runs single-threaded once per boot.
 */
#include "core/tb_core.h"
#include "crypto/tb_crypto.h"
#include "mbedtls/hmac_drbg.h"

static mbedtls_hmac_drbg_context *drbg;

static int drbg_entropy(void *unused, unsigned char *buf, size_t len)
{
	(void)unused;
	return tb_random(buf, len) == TPMBOOT_OK ? 0 : -1;
}

static int drbg_seed(void)
{
	static const uint8_t personalization[] = "svsm-tpmboot HMAC-DRBG";
	int ret;

	drbg = tb_calloc(1, sizeof(*drbg));
	if (drbg == NULL)
		return TPMBOOT_E_NO_MEMORY;

	mbedtls_hmac_drbg_init(drbg);
	ret = mbedtls_hmac_drbg_seed(drbg,
				     mbedtls_md_info_from_type(MBEDTLS_MD_SHA256),
				     drbg_entropy, NULL, personalization,
				     sizeof(personalization) - 1);
	if (ret != 0) {
		tb_err("crypto: HMAC-DRBG seeding failed (mbedTLS -0x%04x)",
		       (unsigned)-ret);
		tb_rng_wipe();
		return TPMBOOT_E_CRYPTO_DRBG;
	}
	mbedtls_hmac_drbg_set_reseed_interval(drbg, 1 << 16);
	return TPMBOOT_OK;
}

int tb_rng_bytes(uint8_t *out, size_t len)
{
	int rc;

	if (drbg == NULL) {
		rc = drbg_seed();
		if (rc != TPMBOOT_OK)
			return rc;
	}

	while (len > 0) {
		size_t chunk = len < MBEDTLS_HMAC_DRBG_MAX_REQUEST ?
				       len : MBEDTLS_HMAC_DRBG_MAX_REQUEST;

		if (mbedtls_hmac_drbg_random(drbg, out, chunk) != 0) {
			tb_err("crypto: HMAC-DRBG generate failed for %zu bytes",
			       chunk);
			return TPMBOOT_E_CRYPTO_DRBG;
		}
		out += chunk;
		len -= chunk;
	}
	return TPMBOOT_OK;
}

/* mbedTLS's f_rng signature, for key generation and blinding. */
int tb_rng_mbedtls(void *unused, unsigned char *out, size_t len)
{
	(void)unused;
	return tb_rng_bytes(out, len) == TPMBOOT_OK ? 0 : -1;
}

void tb_rng_wipe(void)
{
	if (drbg == NULL)
		return;
	mbedtls_hmac_drbg_free(drbg);
	tb_free_secret(drbg, sizeof(*drbg));
	drbg = NULL;
}

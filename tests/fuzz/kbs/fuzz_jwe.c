/*
 * libFuzzer target: JWE parsing and decryption with a fixed P-256 TEE
 * key. Inputs almost never authenticate, so this exercises the JSON,
 * header, base64url and length checks before the AES-GCM tag check.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kbs/kbs_jwe.h"
#include "fuzz_kbs_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct kbs_tee_key key;
	uint8_t out[256];
	size_t out_len = 0;

	fuzz_platform_init();
	if (key.type != TPMBOOT_TEE_KEY_EC_P256 || key.ec.d[0] == 0) {
		memset(&key, 0, sizeof(key));
		key.type = TPMBOOT_TEE_KEY_EC_P256;
		key.ec.curve = TB_EC_P256;
		memset(key.ec.d, 0x11, 32);
	}
	if (kbs_jwe_decrypt(&key, (const char *)data, size, out, sizeof(out),
			    &out_len) == 0 && out_len > sizeof(out))
		abort();
	return 0;
}

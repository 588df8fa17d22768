/*
 * libFuzzer target for the wrapped-key entry parser: any input either
 * fails with an error code or parses into fields that lie inside the
 * input, and a parsed entry re-encodes to the same bytes (tag aside).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tb_test_platform.h"
#include "wrapkey/tb_wrapkey.h"

static struct tb_test_platform tp;
static int attached;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t salt[4] = { 1, 2, 3, 4 };
	struct tb_wrapkey_image_id id = { salt, sizeof(salt), { 0 } };
	struct tb_wrapkey_fields f;
	struct tb_wrapkey_entry e;
	uint8_t out[TB_WRAPKEY_MAX_LEN], aad[TB_WRAPKEY_MAX_LEN + 300];
	char locator[TB_WRAPKEY_LOCATOR_MAX + 1];
	char key_id[TB_WRAPKEY_KEY_ID_MAX + 1];
	size_t out_len, aad_len;

	if (!attached) {
		tb_test_platform_init(&tp);
		tp.log_echo = 0;
		attached = 1;
	}
	tb_test_log_clear(&tp);
	if (tb_wrapkey_parse(data, size, &e) != TPMBOOT_OK)
		return 0;

	if (e.raw != data || e.raw_len != size ||
	    e.tag + TB_WRAPKEY_TAG_LEN != data + size)
		abort();
	if (tb_wrapkey_envelope_aad(&e, &id, aad, sizeof(aad), &aad_len) !=
	    TPMBOOT_OK)
		abort();

	memcpy(locator, e.locator, e.locator_len);
	locator[e.locator_len] = '\0';
	memcpy(key_id, e.key_id, e.key_id_len);
	key_id[e.key_id_len] = '\0';
	f.mode = e.mode;
	f.key1_len = e.key1_len;
	f.locator = locator;
	f.key_id = e.key_id_len > 0 ? key_id : NULL;
	f.wrapped = e.wrapped;
	f.wrapped_len = e.wrapped_len;
	if (tb_wrapkey_encode(&f, &id, NULL, 0, out, sizeof(out), &out_len) !=
	    TPMBOOT_OK || out_len != size ||
	    memcmp(out, data, size - TB_WRAPKEY_TAG_LEN) != 0)
		abort();
	return 0;
}

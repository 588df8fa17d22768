/*
 * add-wrapped-key: puts a wrapped-key entry for Key1 into an existing
 * image without the image's key, for images made elsewhere (for example by
 * the upstream cocoonfs tool). The entry is bound to the image's salt and
 * layout, then written through the keyless aux update path.
 */
#include <stdlib.h>
#include <string.h>

#include "mk.h"
#include "wrapkey/tb_wrapkey.h"

int mk_add_wrapped_key_run(const struct mk_provision *pv)
{
	static const uint8_t uuid[MK_UUID_LEN] = TPMBOOT_WRAPKEY_UUID;
	struct tb_wrapkey_image_id id;
	uint8_t entry[TB_WRAPKEY_MAX_LEN], salt[255];
	uint8_t *image = NULL;
	size_t image_len = 0, entry_len = 0;
	int rc;

	if (pv->key1 == NULL)
		return mk_fail(MK_E_USAGE, "add-wrapped-key needs --key1-file "
			       "(the image's raw key, which becomes Key1)");
	rc = mk_platform_attach();
	if (rc == MK_OK)
		rc = mk_read_file(pv->image_path, &image, &image_len);
	if (rc == MK_OK)
		rc = mk_image_identity(image, image_len, &id, salt);
	if (rc == MK_OK)
		rc = mk_build_wrapped_entry(pv, &id, pv->key1, pv->key1_len,
					    entry, &entry_len);
	if (rc == MK_OK)
		rc = mk_aux_offline_update(image, image_len, MK_AUX_ADD, uuid,
					   entry, entry_len, 0);
	if (rc == MK_OK)
		rc = mk_write_file_atomic(pv->image_path, image, image_len, 0);
	free(image);
	return rc;
}

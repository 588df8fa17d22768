/*
 * Filesystem-creation ("mkfsinfo") header: an unformatted volume that the
 * first opener with the key formats (upstream image_header.rs
 * MkFsInfoHeader, mkfs.rs WriteMkFsInfoHeaderFuture).
 *
 * Header: "CCFSMKFS" || version 1 || layout (21) || LE64 aux metadata
 * length || LE64 image size in ABs || salt length || integrity data at
 * byte 47 (head skip 8) || salt, padded to the IO block. The aux blob
 * follows at the next IO block: checksum (8) over the rest of the blob ||
 * encoding || zeros to an IO block multiple. A backup copy of both sits
 * in the last of the 16 largest aligned blocks of the volume, blob first.
 */
#include <stdlib.h>
#include <string.h>

#include "mk.h"

/* Start (bytes) of the backup header: the volume is cut into at least 16
 * blocks of the largest power-of-two size, and the last full one is used
 * (upstream MkFsInfoHeader::physical_backup_location_begin_128b()). */
static int backup_begin(uint64_t volume_bytes, uint64_t *begin)
{
	uint64_t units = volume_bytes >> 7, align;
	uint32_t log2 = 0;

	while (log2 < 63 && ((uint64_t)1 << (log2 + 1)) <= units)
		log2++;
	if (units == 0 || log2 < 6)
		return mk_fail(MK_E_NOSPACE, "volume of %llu bytes is too small "
			       "for a filesystem creation header",
			       (unsigned long long)volume_bytes);
	align = (uint64_t)1 << (log2 - 4);
	*begin = (((units / align) - 1) * align) << 7;
	return MK_OK;
}

int mk_mkfsinfo(const struct mk_params *p, const struct mk_aux_entry *aux,
		size_t aux_count, uint8_t **image_out, size_t *image_len)
{
	uint8_t layout[CCFS_LAYOUT_LEN];
	struct mk_geometry g;
	struct mk_aux enc = { 0 };
	uint64_t header_len, blob_len = 0, aux_len = 0, backup = 0, iob;
	uint8_t *img = NULL, *hdr, *blob = NULL;
	int rc;

	if ((rc = mk_platform_attach()) != MK_OK ||
	    (rc = mk_layout_encode(p, layout)) != MK_OK ||
	    (rc = mk_geometry_init(&g, layout, p->salt, p->salt_len)) != MK_OK ||
	    (rc = mk_aux_build(&enc, aux, aux_count, p->aux_reserve)) != MK_OK)
		return rc;
	iob = (uint64_t)1 << g.layout.iob_log2;
	header_len = ccfs_roundup(47 + ccfs_integrity_len(&g.layout) +
				  p->salt_len, g.layout.iob_log2);
	if (!mk_aux_is_trivial(&enc)) {
		aux_len = enc.len;
		blob_len = ccfs_roundup(aux_len + CCFS_CHECKSUM_LEN,
					g.layout.iob_log2);
	}
	rc = backup_begin(p->image_size, &backup);
	if (rc == MK_OK && (backup < header_len + 2 * blob_len ||
			    backup + header_len > p->image_size ||
			    (p->image_size & (iob - 1)) != 0))
		rc = mk_fail(MK_E_NOSPACE, "volume of %llu bytes cannot hold the "
			     "header, its backup and %llu bytes of aux metadata "
			     "(the size must also be an IO block multiple)",
			     (unsigned long long)p->image_size,
			     (unsigned long long)blob_len);
	if (rc == MK_OK) {
		img = calloc(1, (size_t)p->image_size);
		hdr = malloc((size_t)header_len);
		blob = calloc(1, (size_t)blob_len + 1);
		if (img == NULL || hdr == NULL || blob == NULL)
			rc = mk_fail(MK_E_NO_MEMORY, "out of memory");
	}
	if (rc != MK_OK) {
		free(img);
		free(blob);
		mk_aux_free(&enc);
		return rc;
	}

	memset(hdr, 0, (size_t)header_len);
	memcpy(hdr, "CCFSMKFS", 8);
	hdr[8] = 1;
	memcpy(hdr + CCFS_LAYOUT_OFFSET, layout, CCFS_LAYOUT_LEN);
	tb_store_le64(hdr + 30, aux_len);
	tb_store_le64(hdr + 38, p->image_size >> g.layout.ab_log2);
	hdr[46] = (uint8_t)p->salt_len;
	memcpy(hdr + 47 + ccfs_integrity_len(&g.layout), p->salt, p->salt_len);
	mk_integrity_apply(hdr, (size_t)header_len, 8, 39, g.layout.n);
	if (blob_len) {
		memcpy(blob + CCFS_CHECKSUM_LEN, enc.enc, enc.len);
		ccfs_checksum(blob + CCFS_CHECKSUM_LEN,
			      (size_t)blob_len - CCFS_CHECKSUM_LEN, blob);
	}

	memcpy(img, hdr, (size_t)header_len);
	memcpy(img + header_len, blob, (size_t)blob_len);
	memcpy(img + backup, hdr, (size_t)header_len);
	memcpy(img + (backup & ~(iob - 1)) - blob_len, blob, (size_t)blob_len);
	free(hdr);
	free(blob);
	mk_aux_free(&enc);
	*image_out = img;
	*image_len = (size_t)p->image_size;
	return MK_OK;
}

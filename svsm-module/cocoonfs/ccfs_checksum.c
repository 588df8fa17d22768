/*
 * CocoonFs checksums and extent integrity protections (upstream
 * checksum.rs, crc32.rs, integrity.rs).
 *
 * The checksum is LE32(crc32(data)) || LE32(crc32(snb(data))), where crc32
 * is the reflected IEEE CRC-32 (as in zlib) and snb swaps the bits 0<->1,
 * 2<->3, 4<->5 and 6<->7 of every byte. The integrity protections detect
 * torn writes of plaintext extents (headers, aux metadata, journal head).
 *   Tier 0: every byte in [head_skip, 128) is non-zero, because the writer
 *           XORed them with a mask byte chosen to make them so.
 *   Tier 1: the 8 bytes before each power-of-two boundary 256, 512, ...,
 *           IO block contain the commit ID. The data they replaced is in a
 *           save area after the commit ID and mask.
 *   Commit ID: checksum over the restored extent with the integrity data
 *           zeroed, XOR the mask byte.
 */
#include <string.h>

#include "cocoonfs/ccfs_internal.h"

#define CCFS_CRC32_POLY 0xEDB88320u

static uint32_t crc32_byte(uint32_t crc, uint8_t b)
{
	int i;

	crc ^= b;
	for (i = 0; i < 8; i++)
		crc = (crc >> 1) ^ (CCFS_CRC32_POLY & (0u - (crc & 1u)));
	return crc;
}

/* Feeds data into the running pair; crc[] starts at 0xFFFFFFFF each. */
void ccfs_checksum_update(uint32_t crc[2], const uint8_t *data, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		uint8_t b = data[i];
		uint8_t swapped = (uint8_t)(((b & 0x55u) << 1) | ((b & 0xAAu) >> 1));

		crc[0] = crc32_byte(crc[0], b);
		crc[1] = crc32_byte(crc[1], swapped);
	}
}

void ccfs_checksum(const uint8_t *data, size_t len, uint8_t out[CCFS_CHECKSUM_LEN])
{
	uint32_t crc[2] = { 0xFFFFFFFFu, 0xFFFFFFFFu };

	ccfs_checksum_update(crc, data, len);
	tb_store_le32(out, ~crc[0]);
	tb_store_le32(out + 4, ~crc[1]);
}

/*
 * Verifies and removes the integrity protections of the extent in
 * extent[0..len). The integrity data (commit ID, mask, n save slots) starts
 * at head_skip + offset, and n is log2 of the IO block size in 128 B units.
 * On success the buffer contains the plain data with the integrity data
 * zeroed.
 * what and where_ab name the extent in the log line, logged at level
 * (torn aux or journal extents are expected after a crash).
 */
int ccfs_integrity_verify(uint8_t *extent, size_t len, size_t head_skip,
			  size_t offset, uint32_t n,
			  enum tpmboot_log_level level, const char *what,
			  uint64_t where_ab)
{
	size_t pos = head_skip + offset;
	uint8_t commit_id[CCFS_CHECKSUM_LEN];
	uint8_t sum[CCFS_CHECKSUM_LEN];
	uint8_t mask;
	size_t i;
	uint32_t slot;

	if (pos + 9 > 128 || pos + 9 + 8 * (size_t)n > 248 || n > 24 ||
	    len < ((size_t)128 << n)) {
		tb_err("cocoonfs: %s at AB %llu: integrity data does not fit "
		       "(offset %u, n %u, extent %u bytes)", what,
		       (unsigned long long)where_ab, (unsigned)pos, n,
		       (unsigned)len);
		return TPMBOOT_E_COCOONFS_LAYOUT;
	}

	/* Tier 0: a zero byte means the first 128 bytes were torn. */
	for (i = head_skip; i < 128; i++) {
		if (extent[i] == 0) {
			tb_log(level, "cocoonfs: %s at AB %llu: torn write (tier 0 "
			       "byte %u is zero)", what,
			       (unsigned long long)where_ab, (unsigned)i);
			return TPMBOOT_E_COCOONFS_TORN;
		}
	}
	memcpy(commit_id, extent + pos, CCFS_CHECKSUM_LEN);
	mask = extent[pos + CCFS_CHECKSUM_LEN];
	for (i = head_skip; i < 128; i++) {
		if (i < pos || i >= pos + 9)
			extent[i] ^= mask;
	}
	memset(extent + pos, 0, 9);

	/* Tier 1: markers before each power-of-two boundary up to the IOB. */
	for (slot = 1; slot <= n; slot++) {
		size_t marker = ((size_t)1 << (slot + 7)) - CCFS_CHECKSUM_LEN;
		uint8_t *save = extent + pos + 9 + 8 * (size_t)(slot - 1);

		if (memcmp(extent + marker, commit_id, CCFS_CHECKSUM_LEN) != 0) {
			tb_log(level, "cocoonfs: %s at AB %llu: torn write (tier 1 "
			       "marker at byte %u differs from the commit ID)",
			       what, (unsigned long long)where_ab,
			       (unsigned)marker);
			return TPMBOOT_E_COCOONFS_TORN;
		}
		memcpy(extent + marker, save, CCFS_CHECKSUM_LEN);
		memset(save, 0, CCFS_CHECKSUM_LEN);
	}

	ccfs_checksum(extent, len, sum);
	for (i = 0; i < CCFS_CHECKSUM_LEN; i++)
		sum[i] ^= mask;
	if (memcmp(sum, commit_id, CCFS_CHECKSUM_LEN) != 0) {
		tb_log(level, "cocoonfs: %s at AB %llu: CRC-32 checksum pair mismatch "
		       "over %u bytes", what, (unsigned long long)where_ab,
		       (unsigned)len);
		return TPMBOOT_E_COCOONFS_CHECKSUM;
	}
	return 0;
}

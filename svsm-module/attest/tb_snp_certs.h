/*
 * Certificate table returned by the extended guest request
 * (SNP_EXT_GUEST_REQUEST): 24-byte entries {GUID[16], u32 offset,
 * u32 length}, little-endian, ended by an all-zero entry; offsets count
 * from the start of the buffer. GUID bytes are in RFC 4122 (string)
 * order. Source: GHCB specification, "SNP Extended Guest Request";
 * Linux struct snp_msg_cert_entry.
 */
#ifndef TB_SNP_CERTS_H
#define TB_SNP_CERTS_H

#include <stddef.h>
#include <stdint.h>

#define TB_SNP_CERT_ENTRY_SIZE 24u

extern const uint8_t tb_snp_guid_vcek[16]; /* 63da758d-e664-4564-adc5-f4b93be8accd */
extern const uint8_t tb_snp_guid_vlek[16]; /* a8074bc2-a25a-483e-aae6-39c045a0b8a1 */
extern const uint8_t tb_snp_guid_ask[16];  /* 4ab7b379-bbac-4fe4-a02f-05aef327c782 */
extern const uint8_t tb_snp_guid_ark[16];  /* c0b406a4-a803-4952-9743-3fb6014cd0ae */

struct tb_snp_cert_entry {
	uint8_t guid[16];
	uint32_t offset;
	uint32_t length;
};

/*
 * Parses the table at the start of buf (len bytes) into entries (at most
 * max_entries) and stores the entry count in *count. Every entry must lie
 * after the table (including its terminator) and inside buf, and must not
 * have length 0. A buffer that starts with the terminator is an empty
 * table. Returns 0, TPMBOOT_E_ATTEST_CERT_TABLE (entry out of range, or
 * more than max_entries) or TPMBOOT_E_ATTEST_CERT_TABLE_END.
 */
int tb_snp_cert_table_parse(const uint8_t *buf, size_t len,
			    struct tb_snp_cert_entry *entries,
			    size_t max_entries, size_t *count);

/*
 * Finds the certificate with guid in the table in buf and points *cert
 * and *cert_len at it (inside buf). Returns 0, a parse error, or
 * TPMBOOT_E_ATTEST_CERT_MISSING.
 */
int tb_snp_cert_table_find(const uint8_t *buf, size_t len,
			   const uint8_t guid[16], const uint8_t **cert,
			   size_t *cert_len);

/* Returns the short name of a known GUID ("VCEK", "ASK", ...) or "other". */
const char *tb_snp_cert_guid_name(const uint8_t guid[16]);

#endif /* TB_SNP_CERTS_H */

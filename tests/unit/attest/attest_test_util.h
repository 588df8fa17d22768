/*
 * Helpers shared by the attestation unit tests: reading labelled lines of
 * the self-generated vector files and loading report files.
 */
#ifndef ATTEST_TEST_UTIL_H
#define ATTEST_TEST_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

/*
 * Returns the last whitespace-separated token of the line in the shared
 * vector file rel that starts with label, as a malloc'ed string, or NULL
 * when the file or the line is missing.
 */
char *attest_vector_value(const char *rel, const char *label);

/* Decodes the hex value of label in rel; returns its length or
 * (size_t)-1. */
size_t attest_vector_hex(const char *rel, const char *label, uint8_t **out);

/*
 * Loads a shared vector file; files ending in ".hex" are decoded from hex
 * text (whitespace ignored). Returns a malloc'ed buffer or NULL.
 */
uint8_t *attest_load_vector(const char *rel, size_t *len);

/*
 * Verifies the ECDSA P-384 signature of the SEV-SNP report in report
 * (1184 bytes; R and S little-endian at 0x2A0 and 0x2E8) over bytes
 * 0x000..0x29F with key. Returns 1 when it verifies, else 0.
 */
int attest_verify_snp_report(const uint8_t *report, EVP_PKEY *key);

/* Reads the first certificate of a PEM or DER file at an absolute path. */
X509 *attest_load_cert_path(const char *path);

#endif /* ATTEST_TEST_UTIL_H */

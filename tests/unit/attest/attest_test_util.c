/*
 * Helpers shared by the attestation unit tests (see attest_test_util.h).
 */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/pem.h>

#include "attest_test_util.h"
#include "tb_test_platform.h"

char *attest_vector_value(const char *rel, const char *label)
{
	size_t len, label_len = strlen(label);
	uint8_t *text = tb_test_read_file(tb_test_shared_path(rel), &len);
	char *line, *save = NULL, *result = NULL;

	if (text == NULL)
		return NULL;
	for (line = strtok_r((char *)text, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		char *end, *start;

		if (strncmp(line, label, label_len) != 0)
			continue;
		end = line + strlen(line);
		while (end > line && isspace((unsigned char)end[-1]))
			end--;
		start = end;
		while (start > line && !isspace((unsigned char)start[-1]))
			start--;
		result = strndup(start, (size_t)(end - start));
		break;
	}
	free(text);
	return result;
}

size_t attest_vector_hex(const char *rel, const char *label, uint8_t **out)
{
	char *hex = attest_vector_value(rel, label);
	size_t n;

	*out = NULL;
	if (hex == NULL)
		return (size_t)-1;
	n = tb_test_hex_decode(hex, out);
	free(hex);
	return n;
}

uint8_t *attest_load_vector(const char *rel, size_t *len)
{
	size_t raw_len, rel_len = strlen(rel), i, j = 0;
	uint8_t *raw = tb_test_read_file(tb_test_shared_path(rel), &raw_len);
	uint8_t *decoded = NULL;
	char *hex;

	if (raw == NULL || rel_len < 4 || strcmp(rel + rel_len - 4, ".hex") != 0) {
		if (raw != NULL)
			*len = raw_len;
		return raw;
	}

	/* Hex text: drop whitespace, then decode. */
	hex = malloc(raw_len + 1);
	for (i = 0; hex != NULL && i < raw_len; i++) {
		if (!isspace(raw[i]))
			hex[j++] = (char)raw[i];
	}
	if (hex != NULL) {
		hex[j] = '\0';
		*len = tb_test_hex_decode(hex, &decoded);
		if (*len == (size_t)-1) {
			free(decoded);
			decoded = NULL;
		}
	}
	free(hex);
	free(raw);
	return decoded;
}

int attest_verify_snp_report(const uint8_t *report, EVP_PKEY *key)
{
	uint8_t r_be[48], s_be[48];
	ECDSA_SIG *sig = ECDSA_SIG_new();
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char *der = NULL;
	int der_len, ok = 0;
	size_t i;

	/* Only the low 48 bytes of each 72-byte component are significant. */
	for (i = 0; i < 48; i++) {
		r_be[i] = report[0x2A0 + 47 - i];
		s_be[i] = report[0x2E8 + 47 - i];
	}
	if (sig == NULL || ctx == NULL ||
	    ECDSA_SIG_set0(sig, BN_bin2bn(r_be, 48, NULL),
			   BN_bin2bn(s_be, 48, NULL)) != 1)
		goto out;
	der_len = i2d_ECDSA_SIG(sig, &der);
	if (der_len > 0 &&
	    EVP_DigestVerifyInit(ctx, NULL, EVP_sha384(), NULL, key) == 1)
		ok = EVP_DigestVerify(ctx, der, (size_t)der_len, report,
				      0x2A0) == 1;
out:
	EVP_MD_CTX_free(ctx);
	OPENSSL_free(der);
	ECDSA_SIG_free(sig);
	return ok;
}

X509 *attest_load_cert_path(const char *path)
{
	size_t len = 0;
	uint8_t *data = tb_test_read_file(path, &len);
	const unsigned char *p = data;
	X509 *cert = NULL;
	BIO *bio;

	if (data == NULL)
		return NULL;
	bio = BIO_new_mem_buf(data, (int)len);
	if (bio != NULL)
		cert = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (cert == NULL)
		cert = d2i_X509(NULL, &p, (long)len);
	free(data);
	return cert;
}

/*
 * mbedTLS 3.6 configuration for svsm-tpmboot (bare metal and host builds).
 *
 * No file system, sockets, time or platform entropy: the DRBG is seeded from
 * the platform's random_bytes callback, memory comes from the platform
 * allocator through tb_mbedtls_calloc / tb_mbedtls_free (svsm-module/core).
 * Only what the module uses is enabled: AES (ECB/CBC/GCM) and NIST key wrap,
 * SHA-256/384/512, HMAC, HMAC-DRBG, bignum, ECP P-256/P-384/P-521, ECDH,
 * ECDSA verify, RSA with OAEP (PKCS#1 v2.1).
 */
#ifndef TPMBOOT_MBEDTLS_CONFIG_H
#define TPMBOOT_MBEDTLS_CONFIG_H

#include <stddef.h>

/* System support: x86_64 inline assembly in bignum uses only general
 * registers. MBEDTLS_AESNI_C stays off: the module has its own AES-NI and
 * VAES code in arch/, and mbedTLS's aesni.c needs -maes, which the
 * general-register-only build of this library must not have. */
#define MBEDTLS_HAVE_ASM
#define MBEDTLS_NO_PLATFORM_ENTROPY
#define MBEDTLS_DEPRECATED_REMOVED

/* Memory from the platform allocator. */
void *tb_mbedtls_calloc(size_t count, size_t size);
void tb_mbedtls_free(void *ptr);
#define MBEDTLS_PLATFORM_C
#define MBEDTLS_PLATFORM_MEMORY
#define MBEDTLS_PLATFORM_CALLOC_MACRO tb_mbedtls_calloc
#define MBEDTLS_PLATFORM_FREE_MACRO tb_mbedtls_free

/* Symmetric primitives. ROM tables: no run-time table generation, so no
 * mutable global state. */
#define MBEDTLS_AES_C
#define MBEDTLS_AES_ROM_TABLES
#define MBEDTLS_CIPHER_C
#define MBEDTLS_CIPHER_MODE_CBC
#define MBEDTLS_GCM_C
#define MBEDTLS_NIST_KW_C

/* Hashes and MACs. */
#define MBEDTLS_MD_C
#define MBEDTLS_SHA256_C
#define MBEDTLS_SHA384_C
#define MBEDTLS_SHA512_C
#define MBEDTLS_HMAC_DRBG_C

/* Public key: bignum, NIST curves, ECDH, ECDSA, RSA-OAEP. */
#define MBEDTLS_BIGNUM_C
#define MBEDTLS_GENPRIME
#define MBEDTLS_ECP_C
#define MBEDTLS_ECP_NIST_OPTIM
#define MBEDTLS_ECP_DP_SECP256R1_ENABLED
#define MBEDTLS_ECP_DP_SECP384R1_ENABLED
#define MBEDTLS_ECP_DP_SECP521R1_ENABLED
#define MBEDTLS_ECDH_C
#define MBEDTLS_ECDSA_C
#define MBEDTLS_ASN1_PARSE_C
#define MBEDTLS_ASN1_WRITE_C
#define MBEDTLS_OID_C
#define MBEDTLS_RSA_C
#define MBEDTLS_PKCS1_V21

#endif /* TPMBOOT_MBEDTLS_CONFIG_H */

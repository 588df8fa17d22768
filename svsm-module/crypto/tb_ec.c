/*
 * NIST P-256/P-384/P-521 on mbedTLS: TEE key generation, ECDH with peer
 * point validation, ECDSA verification. Coordinates cross this API as
 * fixed-length big-endian byte strings.
 */
#include <string.h>

#include "core/tb_core.h"
#include "crypto/tb_crypto.h"
#include "mbedtls/ecdh.h"
#include "mbedtls/ecdsa.h"
#include "mbedtls/ecp.h"

size_t tb_ec_coord_len(enum tb_ec_curve curve)
{
	switch (curve) {
	case TB_EC_P256:
		return 32;
	case TB_EC_P384:
		return 48;
	case TB_EC_P521:
		return 66;
	}
	return 0;
}

static int load_group(mbedtls_ecp_group *grp, enum tb_ec_curve curve)
{
	mbedtls_ecp_group_id id;

	switch (curve) {
	case TB_EC_P256:
		id = MBEDTLS_ECP_DP_SECP256R1;
		break;
	case TB_EC_P384:
		id = MBEDTLS_ECP_DP_SECP384R1;
		break;
	case TB_EC_P521:
		id = MBEDTLS_ECP_DP_SECP521R1;
		break;
	default:
		return TPMBOOT_E_CRYPTO_UNSUPPORTED;
	}
	mbedtls_ecp_group_init(grp);
	if (mbedtls_ecp_group_load(grp, id) != 0)
		return TPMBOOT_E_CRYPTO_BACKEND;
	return TPMBOOT_OK;
}

/* Reads an affine point and checks that it lies on the curve. */
static int read_point(const mbedtls_ecp_group *grp, mbedtls_ecp_point *pt,
		      const uint8_t *x, const uint8_t *y, size_t coord_len)
{
	uint8_t encoded[1 + 2 * TB_EC_MAX_COORD];

	encoded[0] = 0x04; /* SEC 1 uncompressed form */
	memcpy(encoded + 1, x, coord_len);
	memcpy(encoded + 1 + coord_len, y, coord_len);
	if (mbedtls_ecp_point_read_binary(grp, pt, encoded, 1 + 2 * coord_len) != 0)
		return TPMBOOT_E_CRYPTO_INVALID_KEY;
	if (mbedtls_ecp_check_pubkey(grp, pt) != 0)
		return TPMBOOT_E_CRYPTO_INVALID_KEY;
	return TPMBOOT_OK;
}

int tb_ec_generate(struct tb_ec_key *key, enum tb_ec_curve curve)
{
	uint8_t encoded[1 + 2 * TB_EC_MAX_COORD];
	size_t coord_len = tb_ec_coord_len(curve);
	mbedtls_ecp_group grp;
	mbedtls_ecp_point q;
	mbedtls_mpi d;
	size_t olen;
	int rc;

	memset(key, 0, sizeof(*key));
	rc = load_group(&grp, curve);
	if (rc != TPMBOOT_OK)
		return rc;
	mbedtls_ecp_point_init(&q);
	mbedtls_mpi_init(&d);

	rc = TPMBOOT_E_CRYPTO_BACKEND;
	if (mbedtls_ecp_gen_keypair(&grp, &d, &q, tb_rng_mbedtls, NULL) == 0 &&
	    mbedtls_mpi_write_binary(&d, key->d, coord_len) == 0 &&
	    mbedtls_ecp_point_write_binary(&grp, &q, MBEDTLS_ECP_PF_UNCOMPRESSED,
					   &olen, encoded, sizeof(encoded)) == 0 &&
	    olen == 1 + 2 * coord_len) {
		memcpy(key->x, encoded + 1, coord_len);
		memcpy(key->y, encoded + 1 + coord_len, coord_len);
		key->curve = curve;
		rc = TPMBOOT_OK;
	}

	mbedtls_mpi_free(&d);
	mbedtls_ecp_point_free(&q);
	mbedtls_ecp_group_free(&grp);
	if (rc != TPMBOOT_OK) {
		tb_err("crypto: EC key generation failed on curve %d", (int)curve);
		tb_ec_key_wipe(key);
	}
	return rc;
}

void tb_ec_key_wipe(struct tb_ec_key *key)
{
	tb_memzero(key, sizeof(*key));
}

int tb_ec_import(struct tb_ec_key *key, enum tb_ec_curve curve,
		 const uint8_t *d, size_t d_len)
{
	uint8_t encoded[1 + 2 * TB_EC_MAX_COORD];
	size_t coord_len = tb_ec_coord_len(curve);
	mbedtls_ecp_group grp;
	mbedtls_ecp_point q;
	mbedtls_mpi dm;
	size_t olen;
	int rc;

	memset(key, 0, sizeof(*key));
	rc = load_group(&grp, curve);
	if (rc != TPMBOOT_OK)
		return rc;
	mbedtls_ecp_point_init(&q);
	mbedtls_mpi_init(&dm);

	rc = TPMBOOT_E_CRYPTO_INVALID_KEY;
	if (mbedtls_mpi_read_binary(&dm, d, d_len) == 0 &&
	    mbedtls_ecp_check_privkey(&grp, &dm) == 0 &&
	    mbedtls_ecp_mul(&grp, &q, &dm, &grp.G, tb_rng_mbedtls, NULL) == 0 &&
	    mbedtls_mpi_write_binary(&dm, key->d, coord_len) == 0 &&
	    mbedtls_ecp_point_write_binary(&grp, &q, MBEDTLS_ECP_PF_UNCOMPRESSED,
					   &olen, encoded, sizeof(encoded)) == 0) {
		memcpy(key->x, encoded + 1, coord_len);
		memcpy(key->y, encoded + 1 + coord_len, coord_len);
		key->curve = curve;
		rc = TPMBOOT_OK;
	}

	mbedtls_mpi_free(&dm);
	mbedtls_ecp_point_free(&q);
	mbedtls_ecp_group_free(&grp);
	if (rc != TPMBOOT_OK)
		tb_ec_key_wipe(key);
	return rc;
}

int tb_ecdh(const struct tb_ec_key *key, const uint8_t *peer_x,
	    const uint8_t *peer_y, uint8_t *z)
{
	size_t coord_len = tb_ec_coord_len(key->curve);
	mbedtls_ecp_group grp;
	mbedtls_ecp_point peer;
	mbedtls_mpi d, shared;
	int rc;

	rc = load_group(&grp, key->curve);
	if (rc != TPMBOOT_OK)
		return rc;
	mbedtls_ecp_point_init(&peer);
	mbedtls_mpi_init(&d);
	mbedtls_mpi_init(&shared);

	rc = read_point(&grp, &peer, peer_x, peer_y, coord_len);
	if (rc != TPMBOOT_OK) {
		tb_err("crypto: ECDH peer point is not on curve %d",
		       (int)key->curve);
	} else if (mbedtls_mpi_read_binary(&d, key->d, coord_len) != 0 ||
		   mbedtls_ecdh_compute_shared(&grp, &shared, &peer, &d,
					       tb_rng_mbedtls, NULL) != 0 ||
		   mbedtls_mpi_write_binary(&shared, z, coord_len) != 0) {
		rc = TPMBOOT_E_CRYPTO_BACKEND;
	}

	mbedtls_mpi_free(&shared);
	mbedtls_mpi_free(&d);
	mbedtls_ecp_point_free(&peer);
	mbedtls_ecp_group_free(&grp);
	if (rc != TPMBOOT_OK)
		tb_memzero(z, coord_len);
	return rc;
}

int tb_ecdsa_verify(enum tb_ec_curve curve, const uint8_t *pub_x,
		    const uint8_t *pub_y, const uint8_t *digest,
		    size_t digest_len, const uint8_t *r, const uint8_t *s)
{
	size_t coord_len = tb_ec_coord_len(curve);
	mbedtls_ecp_group grp;
	mbedtls_ecp_point q;
	mbedtls_mpi mr, ms;
	int rc;

	rc = load_group(&grp, curve);
	if (rc != TPMBOOT_OK)
		return rc;
	mbedtls_ecp_point_init(&q);
	mbedtls_mpi_init(&mr);
	mbedtls_mpi_init(&ms);

	rc = read_point(&grp, &q, pub_x, pub_y, coord_len);
	if (rc == TPMBOOT_OK &&
	    (mbedtls_mpi_read_binary(&mr, r, coord_len) != 0 ||
	     mbedtls_mpi_read_binary(&ms, s, coord_len) != 0))
		rc = TPMBOOT_E_CRYPTO_BACKEND;
	if (rc == TPMBOOT_OK &&
	    mbedtls_ecdsa_verify(&grp, digest, digest_len, &q, &mr, &ms) != 0)
		rc = TPMBOOT_E_CRYPTO_AUTH;

	mbedtls_mpi_free(&ms);
	mbedtls_mpi_free(&mr);
	mbedtls_ecp_point_free(&q);
	mbedtls_ecp_group_free(&grp);
	return rc;
}

/*
 * Helpers shared by the KBS client end-to-end tests: the inputs that
 * kbs_e2e_setup.py writes, starting and stopping Python peers, and SEV-SNP
 * reports signed with the test VCEK.
 */
#ifndef KBS_E2E_UTIL_H
#define KBS_E2E_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <openssl/evp.h>

#define E2E_MEASUREMENT_BYTE 0xAB
#define E2E_KEY_ID "tpmboot-test"
#define E2E_RESOURCE "default/tpmboot/key1"

struct e2e_inputs {
	char workdir[256];
	EVP_PKEY *vcek_key;
	uint8_t key1[32];
	uint8_t *key2_unwrap;
	size_t key2_unwrap_len;
	uint8_t *key2_pkcs11;
	size_t key2_pkcs11_len;
	uint8_t *aad;
	size_t aad_len;
};

extern struct e2e_inputs e2e;

/* Creates a temporary directory, runs kbs_e2e_setup.py and loads its
 * outputs. Returns 0 or -1. */
int e2e_setup(void);
/* Frees the inputs and removes the directory (kept when the environment
 * has TB_KBS_KEEP_WORKDIR). */
void e2e_teardown(void);

/* Returns workdir/name in a static buffer. */
const char *e2e_path(const char *name);
/* Reads workdir/name; fails the test when missing. */
uint8_t *e2e_read(const char *name, size_t *len);
/* Returns $TPMBOOT_SOURCE_ROOT/rel in a static buffer. */
const char *e2e_source_path(const char *rel);

struct e2e_peer {
	pid_t pid;
	char address[512]; /* what follows "listening on " */
};

/* Starts argv (NULL-terminated, argv[0] an absolute path) with stderr in
 * workdir/log_name and waits up to 20 s for "listening on ADDRESS". */
void e2e_peer_start(struct e2e_peer *peer, char *const argv[],
		    const char *log_name);
void e2e_peer_stop(struct e2e_peer *peer);

/* What a test changes in the report it signs. */
struct e2e_report_opts {
	uint8_t measurement_byte;
	uint64_t policy;
	uint32_t vmpl;
	int corrupt_binding;
	int bad_signature;
};

extern const struct e2e_report_opts e2e_good_report;

/* Builds a version 3 Milan ATTESTATION_REPORT over report_data and signs
 * it with the test VCEK (or a fresh key when bad_signature is set). */
void e2e_build_report(const struct e2e_report_opts *o,
		      const uint8_t report_data[64], uint8_t report[1184]);

/* Size of the quotes e2e_build_tdx_quote() writes. */
#define E2E_TDX_QUOTE_LEN (48 + 584 + 4 + 134)

/* Builds a version 4 TDX quote (ECDSA P-256 attestation key made for it)
 * with MRTD of the test measurement, report_data and, when debug is set,
 * the DEBUG TD attribute. The QE certification data is empty, which the
 * test KBS does not check. */
void e2e_build_tdx_quote(const uint8_t report_data[64], int debug,
			 uint8_t quote[E2E_TDX_QUOTE_LEN]);

/* Returns a GHCB certificate table with the test VCEK, ASK and ARK. */
uint8_t *e2e_build_cert_table(size_t *len);

#endif /* KBS_E2E_UTIL_H */

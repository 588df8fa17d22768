/*
 * Test client of the AMD-SP simulator (tests/peers/amdsp/amdsp.py): starts
 * it on a Unix socket in a temporary directory, exchanges framed requests
 * and implements the platform's snp_guest_request callback over it.
 *
 * Framing, little-endian:
 *   request:  "TBSQ", u16 version 1, u16 kind, u32 certs_pages,
 *             u32 payload_len, payload
 *   response: "TBSR", u16 version, u16 kind, u32 certs_pages,
 *             u32 payload_len, u64 exit_info2, payload
 */
#ifndef AMDSP_CLIENT_H
#define AMDSP_CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define AMDSP_KIND_GUEST_REQUEST 1u
#define AMDSP_KIND_EXT_GUEST_REQUEST 2u
#define AMDSP_KIND_TDX_GET_QUOTE 3u
#define AMDSP_KIND_CONTROL 0x80u

struct amdsp {
	pid_t pid;
	int fd;
	char dir[64];
	char socket_path[108];
	uint8_t vmpck[4][32]; /* the keys the simulator was started with */
	uint32_t requests;    /* guest requests sent by the callback */
};

/*
 * Starts the simulator with test keys (byte i of VMPCKn is 0x40 * n + i + 1)
 * and extra_args (NULL-terminated, may be NULL), waits until its socket
 * accepts a connection and connects.
 * Returns 0 or -1.
 */
int amdsp_start(struct amdsp *sim, const char *const *extra_args);

/* Terminates the simulator (SIGTERM to its pid) and removes its files. */
void amdsp_stop(struct amdsp *sim);

/*
 * Sends one framed request and reads the response: at most out_cap payload
 * bytes are stored in out (the rest is read and dropped), *out_len gets the
 * payload length, *exit_info2 and *certs_pages_out the header fields.
 * Returns 0 or -1 on a socket or framing error.
 */
int amdsp_exchange(struct amdsp *sim, uint16_t kind, uint32_t certs_pages,
		   const uint8_t *payload, size_t payload_len, uint8_t *out,
		   size_t out_cap, size_t *out_len, uint64_t *exit_info2,
		   uint32_t *certs_pages_out);

/*
 * Sends a control JSON message and returns the reply as a malloc'ed
 * NUL-terminated string (NULL on error).
 */
char *amdsp_control(struct amdsp *sim, const char *json);

/* Sends a control message and fails the test unless it replied ok. */
void amdsp_control_ok(struct amdsp *sim, const char *json);

/* Returns the simulator's expected next sequence number for vmpck. */
uint64_t amdsp_expected_seqno(struct amdsp *sim, unsigned vmpck);

/*
 * snp_guest_request callback (tpmboot.h) with ctx = struct amdsp *: sends
 * the request page (and, for extended requests, the page count) and
 * copies the response page and certificate pages back.
 */
int amdsp_snp_guest_request(void *ctx, int extended, const uint8_t *req_page,
			    uint8_t *resp_page, uint8_t *certs_buf,
			    uint32_t *certs_pages, uint64_t *fw_error);

#endif /* AMDSP_CLIENT_H */

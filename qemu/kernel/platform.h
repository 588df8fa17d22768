/*
 * The struct tpmboot_platform callbacks of the harness kernel and the
 * state behind them (the ctx pointer of every callback).
 */
#ifndef QEMU_PLATFORM_H
#define QEMU_PLATFORM_H

#include "kernel.h"
#include "tpmboot.h"

/* A byte stream over one UART; the UART has no connection state, so
 * "connected" only tracks the module's connect/close calls. */
struct uart_stream {
	const char *name;
	uint16_t port;
	int present;
	int connected;
	uint32_t connects;
	uint64_t bytes_sent;
	uint64_t bytes_received;
};

struct harness_platform {
	struct virtio_blk *blk;
	struct uart_stream proxy;   /* COM3: host proxy / KBS */
	struct uart_stream amdsp;   /* COM2: AMD-SP simulator */
	uint32_t send_timeout_ms;
	/* Pause before a reconnect, so QEMU's chardev can reconnect to a
	 * proxy that closed its end. */
	uint32_t reconnect_wait_ms;
	uint32_t amdsp_timeout_ms;
	uint32_t guest_requests;
	uint32_t quote_requests;
	uint8_t mrtd[48];   /* TDINFO.MRTD of the simulated TD */
	enum tpmboot_log_level log_level;
};

/* Fills platform with the callbacks, ctx = hp. */
void harness_platform_init(struct harness_platform *hp,
			   struct tpmboot_platform *platform,
			   struct virtio_blk *blk);

/* amdsp_link.c: the simulator socket framing on COM2. Each function
 * returns 0, or -1 after printing what failed. */
struct amdsp_response {
	uint32_t certs_pages;
	uint32_t payload_len;
	uint64_t exit_info2;
};

int amdsp_send(struct harness_platform *hp, uint16_t kind,
	       uint32_t certs_pages, const uint8_t *payload, uint32_t len);
/* Reads a response header and checks its magic, version and kind. */
int amdsp_receive_header(struct harness_platform *hp, uint16_t kind,
			 struct amdsp_response *resp);
int amdsp_receive(struct harness_platform *hp, uint8_t *buf, uint32_t len);
int amdsp_skip(struct harness_platform *hp, uint32_t len);

/* snp_sim.c: tpmboot_snp_guest_request_fn over the simulator (kinds 1
 * and 2). */
int harness_snp_guest_request(void *ctx, int extended,
			      const uint8_t *req_page, uint8_t *resp_page,
			      uint8_t *certs_buf, uint32_t *certs_pages,
			      uint64_t *fw_error);

/* tdx_sim.c: tpmboot_tdx_get_quote_fn. Builds a TDREPORT for
 * report_data, since no TDX module exists here, and gets its quote from
 * the simulator (kind 3). */
int harness_tdx_get_quote(void *ctx, const uint8_t report_data[64],
			  uint8_t *quote, size_t quote_cap, size_t *quote_len);

/* simtest.c: mode=simtest; returns 0 when the simulator link works. */
int simtest_run(struct harness_platform *hp);

#endif /* QEMU_PLATFORM_H */

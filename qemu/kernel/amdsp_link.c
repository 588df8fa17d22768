/*
 * Framing of the AMD-SP / TDX quote simulator socket (COM2), as
 * docs/amdsp-socket-protocol.md defines it; all integers little-endian:
 *
 *   request  "TBSQ" u16 version=1, u16 kind, u32 certs_pages,
 *            u32 payload_len, payload
 *   response "TBSR" u16 version, u16 kind, u32 certs_pages,
 *            u32 payload_len, u64 exit_info2, payload
 */
#include <string.h>

#include "platform.h"

#define SIM_VERSION 1
#define SIM_REQUEST_HEADER 16
#define SIM_RESPONSE_HEADER 24

static void put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put_le32(uint8_t *p, uint32_t v)
{
	put_le16(p, (uint16_t)v);
	put_le16(p + 2, (uint16_t)(v >> 16));
}

static uint16_t get_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)get_le16(p) | ((uint32_t)get_le16(p + 2) << 16);
}

int amdsp_send(struct harness_platform *hp, uint16_t kind,
	       uint32_t certs_pages, const uint8_t *payload, uint32_t len)
{
	uint8_t header[SIM_REQUEST_HEADER];

	memcpy(header, "TBSQ", 4);
	put_le16(header + 4, SIM_VERSION);
	put_le16(header + 6, kind);
	put_le32(header + 8, certs_pages);
	put_le32(header + 12, len);
	if (uart_write_all(hp->amdsp.port, header, sizeof(header),
			   hp->send_timeout_ms) != 0 ||
	    uart_write_all(hp->amdsp.port, payload, len,
			   hp->send_timeout_ms) != 0) {
		kprintf("amdsp: sending a kind %u request of %u bytes timed out\n",
			kind, len);
		return -1;
	}
	hp->amdsp.bytes_sent += sizeof(header) + len;
	return 0;
}

int amdsp_receive_header(struct harness_platform *hp, uint16_t kind,
			 struct amdsp_response *resp)
{
	uint8_t header[SIM_RESPONSE_HEADER];

	if (uart_read_exact(hp->amdsp.port, header, sizeof(header),
			    hp->amdsp_timeout_ms) != 0) {
		kprintf("amdsp: no response to a kind %u request within %u ms\n",
			kind, hp->amdsp_timeout_ms);
		return -1;
	}
	hp->amdsp.bytes_received += sizeof(header);
	if (memcmp(header, "TBSR", 4) != 0 ||
	    get_le16(header + 4) != SIM_VERSION ||
	    get_le16(header + 6) != kind) {
		kprintf("amdsp: invalid response header (magic %02x%02x%02x%02x, "
			"version %u, kind %u; expected TBSR, 1, %u)\n",
			header[0], header[1], header[2], header[3],
			get_le16(header + 4), get_le16(header + 6), kind);
		return -1;
	}
	resp->certs_pages = get_le32(header + 8);
	resp->payload_len = get_le32(header + 12);
	resp->exit_info2 = (uint64_t)get_le32(header + 16) |
			   ((uint64_t)get_le32(header + 20) << 32);
	return 0;
}

int amdsp_receive(struct harness_platform *hp, uint8_t *buf, uint32_t len)
{
	if (uart_read_exact(hp->amdsp.port, buf, len, hp->amdsp_timeout_ms) != 0) {
		kprintf("amdsp: response payload of %u bytes timed out\n", len);
		return -1;
	}
	hp->amdsp.bytes_received += len;
	return 0;
}

/* Reads and drops len bytes of an unusable payload, so the next request
 * starts on a frame boundary. */
int amdsp_skip(struct harness_platform *hp, uint32_t len)
{
	uint8_t scratch[256];

	while (len > 0) {
		uint32_t n = len < sizeof(scratch) ? len : sizeof(scratch);

		if (amdsp_receive(hp, scratch, n) != 0)
			return -1;
		len -= n;
	}
	return 0;
}

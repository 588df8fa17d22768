/*
 * libFuzzer target: SNP guest response handling. The first input byte
 * selects the mode:
 *   even: the rest is a response page, opened under a fixed VMPCK against
 *         the expected values of the first request (sequence number 2,
 *         MSG_REPORT_RSP, version 1, VMPCK0). Tags cannot be forged, so
 *         this covers the header checks.
 *   odd:  the rest is a response payload that is sealed as a valid
 *         message, opened again, and decoded as MSG_REPORT_RSP and its
 *         report, which covers everything after authentication.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "attest/tb_snp_msg.h"
#include "attest/tb_snp_report.h"
#include "attest/tb_snp_report_req.h"
#include "fuzz_common.h"

static const uint8_t vmpck[32] = {
	1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
	17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32,
};

static struct tb_gcm_key *fuzz_key(void)
{
	static struct tb_gcm_key key;
	static int ready;

	if (!ready) {
		tb_gcm_setkey(&key, vmpck, sizeof(vmpck));
		ready = 1;
	}
	return &key;
}

static void decode_report_rsp(const uint8_t *plain, size_t len)
{
	struct tb_snp_report report;
	const uint8_t *found;
	size_t found_len;

	if (tb_snp_report_rsp_decode(plain, len, &found, &found_len) == 0)
		(void)tb_snp_report_parse(found, found_len, &report);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t page[TB_SNP_PAGE_SIZE];
	static uint8_t plain[TB_SNP_MSG_MAX_PAYLOAD];
	struct tb_snp_msg_expect exp = {
		.msg_seqno = 2,
		.msg_type = TB_SNP_MSG_REPORT_RSP,
		.msg_version = 1,
		.msg_vmpck = 0,
	};
	size_t len = 0;

	fuzz_attach_once();
	if (size < 1)
		return 0;

	if ((data[0] & 1) == 0) {
		size_t n = size - 1 < sizeof(page) ? size - 1 : sizeof(page);

		/* The page keeps its actual size so short pages are checked. */
		if (tb_snp_msg_open(fuzz_key(), data + 1, n, &exp, plain,
				    sizeof(plain), &len) == 0)
			decode_report_rsp(plain, len);
		return 0;
	}

	if (tb_snp_msg_seal(fuzz_key(), exp.msg_seqno, exp.msg_type,
			    exp.msg_version, exp.msg_vmpck, data + 1, size - 1,
			    page) != 0)
		return 0;
	if (tb_snp_msg_open(fuzz_key(), page, sizeof(page), &exp, plain,
			    sizeof(plain), &len) != 0 ||
	    len != size - 1 || memcmp(plain, data + 1, len) != 0)
		abort();
	decode_report_rsp(plain, len);
	return 0;
}

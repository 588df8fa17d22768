/*
 * Attestation evidence in the JSON forms the KBS verifiers deserialise.
 */
#ifndef KBS_EVIDENCE_H
#define KBS_EVIDENCE_H

#include <stddef.h>
#include <stdint.h>

#include "kbs/kbs_json.h"

/* Size of an SEV-SNP ATTESTATION_REPORT (AMD SEV-SNP ABI, table 23). */
#define KBS_SNP_REPORT_LEN 1184u

/*
 * Writes Trustee's SNP evidence {"attestation_report": {...},
 * "cert_chain": [...] | null}: the report in the serde form of virtee/sev's
 * AttestationReport (byte arrays as arrays of numbers, TCB versions split
 * by processor generation) and, when certs is not NULL, the GHCB
 * certificate table (24-byte GUID/offset/length entries ending with a zero
 * entry) as CertTableEntry objects. Returns TPMBOOT_E_KBS_EVIDENCE for a
 * report of the wrong length or a certificate table that points outside
 * its buffer.
 */
int kbs_evidence_write_snp(struct kbs_json_writer *w, const uint8_t *report,
			   size_t report_len, const uint8_t *certs,
			   size_t certs_len);

/* Writes Trustee's TDX evidence {"cc_eventlog": b64 | null, "quote": b64}
 * with standard base64. */
int kbs_evidence_write_tdx(struct kbs_json_writer *w, const uint8_t *quote,
			   size_t quote_len, const uint8_t *eventlog,
			   size_t eventlog_len);

#endif /* KBS_EVIDENCE_H */

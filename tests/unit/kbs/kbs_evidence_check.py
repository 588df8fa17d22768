#!/usr/bin/python3
"""Check SNP evidence JSON written by the C client against the raw report.

Usage: kbs_evidence_check.py EVIDENCE_JSON RAW_REPORT [VCEK_DER]

Rebuilds the 1184-byte report from the JSON with the test KBS's decoder
(tests/peers/kbs/snp_evidence.py, written independently of the C code),
requires it to equal RAW_REPORT byte for byte and, with VCEK_DER, the
signature to verify. Exits 0 on success and 1 with the first differing
offset otherwise.
"""

import json
import os
import sys

from cryptography import x509

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "peers", "kbs"))

import snp_evidence  # noqa: E402


def main():
    with open(sys.argv[1], "rb") as f:
        evidence = json.loads(f.read())
    with open(sys.argv[2], "rb") as f:
        raw = f.read()
    rebuilt = snp_evidence.report_from_json(evidence["attestation_report"])
    if rebuilt != raw:
        first = next(i for i in range(len(raw)) if rebuilt[i] != raw[i])
        print("report differs at offset 0x%x: %02x, expected %02x" % (first, rebuilt[first], raw[first]))
        return 1
    snp_evidence.parse_cert_chain(evidence["cert_chain"])
    if len(sys.argv) > 3:
        with open(sys.argv[3], "rb") as f:
            vcek = x509.load_der_x509_certificate(f.read())
        if not snp_evidence.report_signature_valid(rebuilt, vcek.public_key()):
            print("rebuilt report signature does not verify with %s" % sys.argv[3])
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

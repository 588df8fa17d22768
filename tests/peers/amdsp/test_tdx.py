"""TDX quote simulator tests.

Public quotes parse and verify with the quote parser. Quotes generated from
a real TDREPORT carry its fields. The GetQuote buffer form, its errors and
the TDX fault knobs behave as documented.
"""

import os
import shutil
import struct
import tempfile
import unittest

from cryptography import x509
from cryptography.exceptions import InvalidSignature

import guest_client
import tdx_quote
from guest_client import Simulator, exchange, control

RETRY = 1
STATUS_ERROR = 0x8000000000000000
STATUS_UNAVAILABLE = 0x8000000000000001
INVALID_OPERAND = 0x8000000000000000
ALIGN_ERROR = 0x8000000000000002


def read_vector(name):
    with open(guest_client.vector_path(name), "rb") as handle:
        return handle.read()


def getquote_buffer(report, size=8192, version=1, in_len=None):
    header = struct.pack("<QQII", version, 0,
                         len(report) if in_len is None else in_len, 0)
    data = header + report
    return data + bytes(size - len(data))


def setUpModule():
    global PKI_DIR
    PKI_DIR = tempfile.mkdtemp(prefix="amdsp-test-tdx-")


def tearDownModule():
    shutil.rmtree(PKI_DIR)


class PublicQuotes(unittest.TestCase):
    def check(self, name, version, body_type):
        parsed = tdx_quote.verify_quote(read_vector(name))
        self.assertEqual(parsed["version"], version)
        self.assertEqual(parsed["body_type"], body_type)
        self.assertEqual(parsed["att_key_type"], 2)
        self.assertEqual(parsed["tee_type"], 0x81)
        self.assertEqual(parsed["qe_vendor_id"],
                         tdx_quote.INTEL_QE_VENDOR_ID)
        self.assertEqual(parsed["cert_data_type"], 6)
        self.assertEqual(parsed["pck_cert_type"], 5)
        chain = [c.subject.rfc4514_string() for c in
                 tdx_quote.snp_pki.load_pem_certificates(
                     parsed["pck_chain"])]
        self.assertEqual(len(chain), 3)
        self.assertIn("Intel SGX Root CA", chain[2])
        return parsed

    def test_gotdx_v4(self):
        self.check("gotdx_tdx_prod_quote_SPR_E4.dat", 4, 2)

    def test_gotdx_v5(self):
        self.check("gotdx_quote_v5_sample.dat", 5, 3)

    def test_trustee_v4(self):
        self.check("trustee_tdx_quote_4.dat", 4, 2)

    def test_trustee_v5(self):
        parsed = self.check("trustee_tdx_quote_5.dat", 5, 3)
        self.assertEqual(len(parsed["body"]["mrservicetd"]), 48)

    def test_tampered_quote_rejected(self):
        quote = bytearray(read_vector("trustee_tdx_quote_4.dat"))
        quote[0x238] ^= 1
        with self.assertRaises(InvalidSignature):
            tdx_quote.verify_quote(bytes(quote))

    def test_real_tdreport_hashes(self):
        fields = tdx_quote.parse_tdreport(read_vector("gc_tdx_report_1.bin"))
        self.assertEqual(fields["reporttype"][0], 0x81)
        self.assertEqual(len(fields["rtmrs"]), 4)

    def test_tampered_tdreport_rejected(self):
        report = bytearray(read_vector("gc_tdx_report_1.bin"))
        report[0x210] ^= 1
        with self.assertRaisesRegex(tdx_quote.TdxError, "TEE_INFO_HASH"):
            tdx_quote.parse_tdreport(bytes(report))
        report = bytearray(read_vector("gc_tdx_report_1.bin"))
        report[0x108] ^= 1
        with self.assertRaisesRegex(tdx_quote.TdxError, "TEE_TCB_INFO_HASH"):
            tdx_quote.parse_tdreport(bytes(report))


class LongChainPki(tdx_quote.TdxPki):
    """A PKI whose PCK chain is three times as long, so that its quote
    (about 5 KiB, like Intel's) does not fit a 4 KiB GetQuote buffer."""

    def chain_pem(self):
        return super().chain_pem() * 3


class GetQuoteBuffer(unittest.TestCase):
    def setUp(self):
        self.report = read_vector("gc_tdx_report_1.bin")
        self.pki = LongChainPki(PKI_DIR)

    def test_quote_that_does_not_fit(self):
        buffer = getquote_buffer(self.report, size=4096)
        r10, out = tdx_quote.handle_getquote_buffer(buffer, self.pki, 4, 2,
                                                    None)
        self.assertEqual(r10, 0)
        self.assertEqual(len(out), 4096)
        self.assertEqual(struct.unpack_from("<Q", out, 8)[0], STATUS_ERROR)
        self.assertEqual(struct.unpack_from("<I", out, 20)[0], 0)

    def test_long_quote_fits_larger_buffer(self):
        buffer = getquote_buffer(self.report, size=8192)
        r10, out = tdx_quote.handle_getquote_buffer(buffer, self.pki, 4, 2,
                                                    None)
        self.assertEqual(r10, 0)
        self.assertEqual(struct.unpack_from("<Q", out, 8)[0], 0)
        out_len = struct.unpack_from("<I", out, 20)[0]
        self.assertGreater(out_len, 4096 - 24)
        tdx_quote.verify_quote(out[24:24 + out_len])

    def test_empty_buffer(self):
        self.assertEqual(tdx_quote.handle_getquote_buffer(
            b"", self.pki, 4, 2, None), (ALIGN_ERROR, b""))


class QuoteService(unittest.TestCase):
    def setUp(self):
        self.simulator = Simulator(["--pki-dir", PKI_DIR])
        self.addCleanup(self.simulator.stop)
        self.sock = self.simulator.connect()
        self.addCleanup(self.sock.close)
        self.report = read_vector("gc_tdx_report_1.bin")
        with open(os.path.join(PKI_DIR, "tdx_root.pem"), "rb") as handle:
            self.root = x509.load_pem_x509_certificate(handle.read())

    def quote_for(self, report):
        kind, pages, exit_info2, quote = exchange(self.sock, 3, report)
        self.assertEqual((kind, pages, exit_info2), (3, 0, 0))
        return quote

    def check_body(self, parsed, report):
        fields = tdx_quote.parse_tdreport(report)
        body = parsed["body"]
        self.assertEqual(body["reportdata"], fields["reportdata"])
        self.assertEqual(body["mrtd"], fields["mrtd"])
        self.assertEqual(body["mrseam"], fields["mrseam"])
        self.assertEqual(body["td_attributes"], fields["td_attributes"])
        self.assertEqual(body["xfam"], fields["xfam"])
        self.assertEqual(body["tee_tcb_svn"], fields["tee_tcb_svn"])
        for index in range(4):
            self.assertEqual(body["rtmr%d" % index], fields["rtmrs"][index])

    def test_v4_quote_from_real_tdreport(self):
        quote = self.quote_for(self.report)
        parsed = tdx_quote.verify_quote(quote, self.root)
        self.assertEqual(parsed["version"], 4)
        self.assertEqual(struct.unpack_from("<HHI", quote, 0), (4, 2, 0x81))
        self.assertEqual(quote[0x238:0x278], self.report[0x80:0xC0])
        self.assertEqual(parsed["trailing"], b"")
        self.check_body(parsed, self.report)

    def test_v5_quote_body_types(self):
        for body_type, size in ((3, 648), (2, 584)):
            with self.subTest(body_type=body_type):
                control(self.sock, {"set": {"quote_version": 5,
                                            "tdx_body_type": body_type}})
                quote = self.quote_for(self.report)
                parsed = tdx_quote.verify_quote(quote, self.root)
                self.assertEqual(parsed["version"], 5)
                self.assertEqual(struct.unpack_from("<HI", quote, 48),
                                 (body_type, size))
                self.check_body(parsed, self.report)
                if body_type == 3:
                    fields = tdx_quote.parse_tdreport(self.report)
                    self.assertEqual(parsed["body"]["mrservicetd"],
                                     fields["mrservicetd"])

    def test_generated_tdreport(self):
        reply = control(self.sock, {"tdx": "tdreport",
                                    "report_data": "c3" * 64,
                                    "td_attributes": 1})
        self.assertTrue(reply["ok"])
        report = bytes.fromhex(reply["tdreport"])
        fields = tdx_quote.parse_tdreport(report)
        self.assertEqual(fields["reportdata"], bytes([0xC3]) * 64)
        parsed = tdx_quote.verify_quote(self.quote_for(report), self.root)
        self.assertEqual(parsed["body"]["td_attributes"][0], 1)
        self.assertEqual(parsed["body"]["reportdata"], bytes([0xC3]) * 64)

    def test_quote_signed_by_other_root_rejected(self):
        other_dir = tempfile.mkdtemp(prefix="amdsp-test-tdx-other-")
        self.addCleanup(shutil.rmtree, other_dir)
        other_root = tdx_quote.TdxPki(other_dir).root
        with self.assertRaisesRegex(tdx_quote.TdxError, "trusted root"):
            tdx_quote.verify_quote(self.quote_for(self.report), other_root)

    def test_getquote_buffer(self):
        buffer = getquote_buffer(self.report)
        kind, _, exit_info2, out = exchange(self.sock, 3, buffer)
        self.assertEqual((kind, exit_info2), (3, 0))
        self.assertEqual(len(out), 8192)
        version, status, in_len, out_len = struct.unpack_from("<QQII", out)
        self.assertEqual((version, status, in_len), (1, 0, 1024))
        quote = out[24:24 + out_len]
        tdx_quote.verify_quote(quote, self.root)
        self.assertEqual(out[24 + out_len:], bytes(8192 - 24 - out_len))

    def test_getquote_unaligned_size(self):
        buffer = getquote_buffer(self.report, size=8192 - 512)
        _, _, exit_info2, out = exchange(self.sock, 3, buffer)
        self.assertEqual(exit_info2, ALIGN_ERROR)
        self.assertEqual(out, buffer)

    def test_getquote_bad_version(self):
        buffer = getquote_buffer(self.report, version=2)
        self.assertEqual(exchange(self.sock, 3, buffer)[2], INVALID_OPERAND)

    def test_getquote_in_len_too_large(self):
        buffer = getquote_buffer(self.report, size=4096, in_len=4096)
        self.assertEqual(exchange(self.sock, 3, buffer)[2], INVALID_OPERAND)

    def test_bad_tdreport_in_buffer(self):
        report = bytearray(self.report)
        report[0x210] ^= 1
        _, _, exit_info2, out = exchange(self.sock, 3,
                                         getquote_buffer(bytes(report)))
        self.assertEqual(exit_info2, 0)
        self.assertEqual(struct.unpack_from("<Q", out, 8)[0], STATUS_ERROR)

    def test_bad_raw_tdreport(self):
        report = bytearray(self.report)
        report[0x210] ^= 1
        _, _, exit_info2, quote = exchange(self.sock, 3, bytes(report))
        self.assertEqual(exit_info2, STATUS_ERROR)
        self.assertEqual(quote, b"")

    def test_retry_fault(self):
        control(self.sock, {"fault": "tdx_retry", "count": 2})
        self.assertEqual(exchange(self.sock, 3, self.report)[2], RETRY)
        buffer = getquote_buffer(self.report)
        _, _, exit_info2, out = exchange(self.sock, 3, buffer)
        self.assertEqual(exit_info2, RETRY)
        self.assertEqual(out, buffer)
        self.quote_for(self.report)

    def test_unavailable_fault(self):
        control(self.sock, {"fault": "tdx_unavailable", "count": 2})
        self.assertEqual(exchange(self.sock, 3, self.report)[2],
                         STATUS_UNAVAILABLE)
        _, _, exit_info2, out = exchange(self.sock, 3,
                                         getquote_buffer(self.report))
        self.assertEqual(exit_info2, 0)
        self.assertEqual(struct.unpack_from("<Q", out, 8)[0],
                         STATUS_UNAVAILABLE)

    def test_error_fault(self):
        control(self.sock, {"fault": "tdx_error"})
        self.assertEqual(exchange(self.sock, 3, self.report)[2],
                         STATUS_ERROR)
        self.quote_for(self.report)

    def test_snp_faults_do_not_touch_tdx(self):
        control(self.sock, {"fault": "busy"})
        self.quote_for(self.report)
        self.assertIn("busy", control(self.sock, {"get": "state"})["faults"])


if __name__ == "__main__":
    unittest.main()

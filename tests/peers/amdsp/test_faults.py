"""Fault knob tests.

Each knob changes exactly the response it names, for as many requests as
armed, and the guest-side checks detect it.
"""

import shutil
import struct
import tempfile
import unittest

import faults
import guest_client
import snp_pki
import snp_report
from guest_client import GuestError, SnpGuest, Simulator, exchange, control

VMPCK0 = bytes(range(32))
BUSY = 2 << 32
INVALID_LEN = 1 << 32


def setUpModule():
    global PKI_DIR
    PKI_DIR = tempfile.mkdtemp(prefix="amdsp-test-faults-")
    snp_pki.load_or_create_pki(PKI_DIR, "Milan",
                               snp_report.TcbVersion(3, 0, 8, 115),
                               bytes(64))


def tearDownModule():
    shutil.rmtree(PKI_DIR)


class FaultTestCase(unittest.TestCase):
    extra_args = []

    def setUp(self):
        self.simulator = Simulator(["--pki-dir", PKI_DIR] + self.extra_args)
        self.addCleanup(self.simulator.stop)
        self.sock = self.simulator.connect()
        self.addCleanup(self.sock.close)
        self.guest = SnpGuest(VMPCK0)

    def arm(self, **message):
        reply = control(self.sock, message)
        self.assertTrue(reply["ok"], reply)

    def send(self, page, kind=1, certs_pages=0):
        return exchange(self.sock, kind, page, certs_pages)

    def expected_seqno(self):
        return control(self.sock, {"get": "state"})["expected_seqno"][0]

    def assert_rejected(self, reason):
        """Send a report request and check the guest rejects the response
        for reason while the firmware consumed the sequence number."""
        page = self.guest.report_request(bytes(64))
        _, _, exit_info2, payload = self.send(page)
        self.assertEqual(exit_info2, 0)
        with self.assertRaises(GuestError) as caught:
            self.guest.decrypt_response(payload, 1)
        self.assertEqual(caught.exception.reason, reason)
        self.assertEqual(self.expected_seqno(), 3)
        return payload

    def assert_next_request_clean(self):
        self.guest.last_seqno = self.expected_seqno() - 1
        seqno = self.guest.last_seqno + 1
        page = self.guest.report_request(bytes(64))
        _, _, exit_info2, payload = self.send(page)
        self.assertEqual(exit_info2, 0)
        plaintext = self.guest.decrypt_response(payload, seqno)
        self.assertEqual(struct.unpack_from("<I", plaintext)[0], 0)


class HypervisorFaults(FaultTestCase):
    def test_busy_count_then_identical_resend(self):
        self.arm(fault="busy", count=2)
        page = self.guest.report_request(bytes(64))
        for _ in range(2):
            _, _, exit_info2, payload = self.send(page)
            self.assertEqual(exit_info2, BUSY)
            self.assertEqual(payload, bytes(4096))
            self.assertEqual(self.expected_seqno(), 1)
        _, _, exit_info2, payload = self.send(page)
        self.assertEqual(exit_info2, 0)
        self.guest.decrypt_response(payload, 1)
        self.assertEqual(self.expected_seqno(), 3)

    def test_busy_on_extended_request(self):
        self.arm(fault="busy")
        page = self.guest.report_request(bytes(64))
        _, pages, exit_info2, payload = self.send(page, 2, 4)
        self.assertEqual(exit_info2, BUSY)
        self.assertEqual(len(payload), 4096)
        _, pages, exit_info2, payload = self.send(page, 2, 4)
        self.assertEqual(exit_info2, 0)
        self.assertEqual(len(payload), 5 * 4096)

    def test_forced_invalid_len(self):
        self.arm(fault="invalid_len", pages=7)
        page = self.guest.report_request(bytes(64))
        _, pages, exit_info2, payload = self.send(page, 2, 4)
        self.assertEqual(exit_info2, INVALID_LEN)
        self.assertEqual(pages, 7)
        self.assertEqual(self.expected_seqno(), 1)
        _, pages, exit_info2, _ = self.send(page, 2, 4)
        self.assertEqual(exit_info2, 0)
        self.assertEqual(pages, 4)

    def test_invalid_len_default_is_real_need(self):
        self.arm(fault="invalid_len")
        page = self.guest.report_request(bytes(64))
        _, pages, exit_info2, _ = self.send(page, 2, 8)
        self.assertEqual(exit_info2, INVALID_LEN)
        self.assertEqual(pages, 2)

    def test_invalid_len_ignores_plain_request(self):
        self.arm(fault="invalid_len")
        page = self.guest.report_request(bytes(64))
        self.assertEqual(self.send(page)[2], 0)
        state = control(self.sock, {"get": "state"})
        self.assertIn("invalid_len", state["faults"])

    def test_firmware_error(self):
        self.arm(fault="fw_error", status=0x1D)
        page = self.guest.report_request(bytes(64))
        _, _, exit_info2, payload = self.send(page)
        self.assertEqual(exit_info2, 0x1D)
        self.assertEqual(payload, bytes(4096))
        self.assertEqual(self.expected_seqno(), 1)
        self.assertEqual(self.send(page)[2], 0)


class ResponseFaults(FaultTestCase):
    def test_corrupt_tag(self):
        self.arm(fault="corrupt_tag")
        self.assert_rejected("tag")
        self.assert_next_request_clean()

    def test_wrong_seqno(self):
        self.arm(fault="wrong_seqno")
        payload = self.assert_rejected("seqno")
        self.assertEqual(struct.unpack_from("<Q", payload, 0x20)[0], 4)
        guest = SnpGuest(VMPCK0)
        self.assertEqual(len(guest.decrypt_response(payload, 3)), 0x4C0)

    def test_wrong_type(self):
        self.arm(fault="wrong_type")
        payload = self.assert_rejected("type")
        self.assertEqual(payload[0x34], 8)

    def test_wrong_type_explicit(self):
        self.arm(fault="wrong_type", msg_type=4)
        payload = self.assert_rejected("type")
        self.assertEqual(payload[0x34], 4)

    def test_wrong_version(self):
        self.arm(fault="wrong_version")
        payload = self.assert_rejected("version")
        self.assertEqual(payload[0x35], 2)

    def test_msg_sz(self):
        self.arm(fault="msg_sz", value=4000)
        payload = self.assert_rejected("size")
        self.assertEqual(struct.unpack_from("<H", payload, 0x36)[0], 4000)

    def test_truncate(self):
        self.arm(fault="truncate", bytes=100)
        page = self.guest.report_request(bytes(64))
        _, _, exit_info2, payload = self.send(page)
        self.assertEqual(exit_info2, 0)
        self.assertEqual(len(payload), 100)
        with self.assertRaises(GuestError) as caught:
            self.guest.decrypt_response(payload, 1)
        self.assertEqual(caught.exception.reason, "size")
        self.assertEqual(self.expected_seqno(), 3)

    def test_truncate_extended_cuts_certificates(self):
        self.arm(fault="truncate", bytes=5000)
        page = self.guest.report_request(bytes(64))
        _, pages, exit_info2, payload = self.send(page, 2, 2)
        self.assertEqual(exit_info2, 0)
        self.assertEqual(pages, 2)
        self.assertEqual(len(payload), 5000)
        self.guest.decrypt_response(payload[:4096], 1)

    def test_refuse(self):
        self.arm(fault="refuse", status=0x27)
        page = self.guest.report_request(bytes(64))
        _, _, exit_info2, payload = self.send(page)
        self.assertEqual(exit_info2, 0)
        plaintext = self.guest.decrypt_response(payload, 1)
        status, size, _ = guest_client.split_report_response(plaintext)
        self.assertEqual(status, 0x27)
        self.assertEqual(size, 0)
        self.assertEqual(self.expected_seqno(), 3)

    def test_fault_count(self):
        self.arm(fault="corrupt_tag", count=2)
        for round_number in range(3):
            seqno = 1 + 2 * round_number
            page = self.guest.report_request(bytes(64), seqno=seqno)
            payload = self.send(page)[3]
            if round_number < 2:
                with self.assertRaises(GuestError):
                    self.guest.decrypt_response(payload, seqno)
            else:
                self.guest.decrypt_response(payload, seqno)

    def test_clear_faults(self):
        self.arm(fault="busy", count=5)
        self.arm(clear="faults")
        self.assertEqual(control(self.sock, {"get": "state"})["faults"], {})
        self.assert_next_request_clean()

    def test_count_zero_disarms(self):
        self.arm(fault="busy", count=5)
        self.arm(fault="busy", count=0)
        self.assert_next_request_clean()


class CommandLineFaults(FaultTestCase):
    extra_args = ["--fault", "busy:1", "--fault", "refuse:1:status=0x16"]

    def test_faults_from_command_line(self):
        page = self.guest.report_request(bytes(64))
        self.assertEqual(self.send(page)[2], BUSY)
        payload = self.send(page)[3]
        plaintext = self.guest.decrypt_response(payload, 1)
        self.assertEqual(struct.unpack_from("<I", plaintext)[0], 0x16)
        self.assert_next_request_clean()


class FaultParsing(unittest.TestCase):
    def test_option_forms(self):
        self.assertEqual(faults.parse_fault_option("busy"),
                         {"fault": "busy", "count": 1})
        self.assertEqual(faults.parse_fault_option("wrong_seqno:3:delta=4"),
                         {"fault": "wrong_seqno", "count": 3, "delta": 4})

    def test_unknown_parameter_rejected(self):
        fault_set = faults.FaultSet()
        with self.assertRaisesRegex(faults.FaultError, "no parameter"):
            fault_set.arm("busy", 1, pages=3)

    def test_negative_count_rejected(self):
        with self.assertRaisesRegex(faults.FaultError, "non-negative"):
            faults.FaultSet().arm("busy", -1)

    def test_take_counts_down(self):
        fault_set = faults.FaultSet()
        fault_set.arm("refuse", 2, status=5)
        self.assertEqual(fault_set.take("refuse"), {"status": 5})
        self.assertEqual(fault_set.take("refuse"), {"status": 5})
        self.assertIsNone(fault_set.take("refuse"))


if __name__ == "__main__":
    unittest.main()

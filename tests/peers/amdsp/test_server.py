"""The simulator process over its socket: report round trips for each
version, sequence-number rules, report request checks, the extended request
and its certificate table, control messages and framing errors."""

import json
import os
import shutil
import socket
import struct
import tempfile
import unittest

from cryptography import x509
from cryptography.exceptions import InvalidSignature

import guest_client
import snp_certtable
import snp_pki
import snp_report
from guest_client import SnpGuest, Simulator, exchange, control

INVALID_PARAM = 0x16
INVALID_KEY = 0x27
INVALID_LEN = 1 << 32
VMPCK = [bytes(range(32 * n, 32 * n + 32)) for n in range(4)]


def setUpModule():
    global PKI_DIR
    PKI_DIR = tempfile.mkdtemp(prefix="amdsp-test-server-")
    snp_pki.load_or_create_pki(PKI_DIR, "Milan",
                               snp_report.TcbVersion(3, 0, 8, 115),
                               bytes(64))


def tearDownModule():
    shutil.rmtree(PKI_DIR)


def load_pem(name):
    with open(os.path.join(PKI_DIR, name), "rb") as handle:
        return x509.load_pem_x509_certificate(handle.read())


class SimulatorTestCase(unittest.TestCase):
    extra_args = []

    def setUp(self):
        self.simulator = Simulator(["--pki-dir", PKI_DIR] + self.extra_args)
        self.addCleanup(self.simulator.stop)
        self.sock = self.simulator.connect()
        self.addCleanup(self.sock.close)

    def request_report(self, guest, user_data=bytes(64), vmpl=0, key_sel=0):
        """Run one plain report exchange; return (exit_info2, plaintext)."""
        seqno = guest.last_seqno + 1
        page = guest.report_request(user_data, vmpl=vmpl, key_sel=key_sel)
        kind, pages, exit_info2, payload = exchange(self.sock, 1, page)
        self.assertEqual(kind, 1)
        self.assertEqual(pages, 0)
        self.assertEqual(len(payload), 4096)
        if exit_info2 != 0:
            self.assertEqual(payload, bytes(4096))
            return exit_info2, None
        plaintext = guest.decrypt_response(payload, seqno)
        guest.complete()
        return exit_info2, plaintext


class ReportRoundTrip(SimulatorTestCase):
    def check_version(self, version):
        control(self.sock, {"set": {"report_version": version}})
        guest = SnpGuest(VMPCK[0])
        user_data = bytes([version]) * 64
        exit_info2, plaintext = self.request_report(guest, user_data)
        self.assertEqual(exit_info2, 0)
        self.assertEqual(len(plaintext), 0x4C0)
        status, size, report = guest_client.split_report_response(plaintext)
        self.assertEqual(status, 0)
        self.assertEqual(size, 0x4A0)

        vcek = load_pem("vcek.pem")
        snp_report.verify_report_signature(report, vcek.public_key())
        snp_pki.verify_chain(vcek, load_pem("ask.pem"), load_pem("ark.pem"))
        fields = snp_report.parse_report(report)
        self.assertEqual(fields["version"], version)
        self.assertEqual(fields["report_data"], user_data)
        self.assertEqual(fields["vmpl"], 0)
        self.assertEqual(fields["signing_key"], 0)
        self.assertFalse(fields["debug"])
        extensions = snp_pki.parse_kds_extensions(vcek)
        self.assertEqual(extensions["snp_spl"], fields["reported_tcb"].snp)
        self.assertEqual(extensions["hwid"], fields["chip_id"])

    def test_report_version_2(self):
        self.check_version(2)

    def test_report_version_3(self):
        self.check_version(3)

    def test_report_version_5(self):
        self.check_version(5)

    def test_configured_fields(self):
        measurement = bytes(range(48))
        control(self.sock, {"set": {"measurement": measurement.hex(),
                                    "debug": True,
                                    "host_data": "ab" * 32}})
        guest = SnpGuest(VMPCK[0])
        _, plaintext = self.request_report(guest)
        report = guest_client.split_report_response(plaintext)[2]
        fields = snp_report.parse_report(report)
        self.assertEqual(fields["measurement"], measurement)
        self.assertEqual(fields["host_data"], bytes([0xAB]) * 32)
        self.assertTrue(fields["debug"])
        self.assertEqual(fields["policy"], 0x30000 | (1 << 19))

    def test_vmpl_in_report(self):
        guest = SnpGuest(VMPCK[0])
        _, plaintext = self.request_report(guest, vmpl=2)
        fields = snp_report.parse_report(
            guest_client.split_report_response(plaintext)[2])
        self.assertEqual(fields["vmpl"], 2)


class SequenceNumbers(SimulatorTestCase):
    def expected(self):
        return control(self.sock, {"get": "state"})["expected_seqno"]

    def test_counter_advances_by_two(self):
        guest = SnpGuest(VMPCK[0])
        for round_number in range(3):
            exit_info2, _ = self.request_report(guest)
            self.assertEqual(exit_info2, 0)
            self.assertEqual(self.expected()[0], 3 + 2 * round_number)
        self.assertEqual(guest.last_seqno, 6)

    def test_wrong_seqno_rejected_without_advance(self):
        guest = SnpGuest(VMPCK[0], last_seqno=4)
        exit_info2, _ = self.request_report(guest)
        self.assertEqual(exit_info2, INVALID_PARAM)
        self.assertEqual(self.expected()[0], 1)
        exit_info2, _ = self.request_report(SnpGuest(VMPCK[0]))
        self.assertEqual(exit_info2, 0)
        self.assertEqual(self.expected()[0], 3)

    def test_replayed_request_rejected(self):
        guest = SnpGuest(VMPCK[0])
        page = guest.report_request(bytes(64))
        self.assertEqual(exchange(self.sock, 1, page)[2], 0)
        self.assertEqual(exchange(self.sock, 1, page)[2], INVALID_PARAM)
        self.assertEqual(self.expected()[0], 3)

    def test_response_seqno_is_request_plus_one(self):
        guest = SnpGuest(VMPCK[0])
        page = guest.report_request(bytes(64))
        payload = exchange(self.sock, 1, page)[3]
        self.assertEqual(struct.unpack_from("<Q", payload, 0x20)[0], 2)
        self.assertEqual(payload[0x34], 6)
        self.assertEqual(payload[0x35], 1)
        self.assertEqual(payload[0x3C], 0)

    def test_bad_tag_rejected_without_advance(self):
        guest = SnpGuest(VMPCK[0])
        page = bytearray(guest.report_request(bytes(64)))
        page[0x70] ^= 1
        self.assertEqual(exchange(self.sock, 1, bytes(page))[2],
                         INVALID_PARAM)
        self.assertEqual(self.expected()[0], 1)

    def test_wrong_key_rejected(self):
        guest = SnpGuest(VMPCK[1], vmpck_id=0)
        exit_info2, _ = self.request_report(guest)
        self.assertEqual(exit_info2, INVALID_PARAM)

    def test_vmpcks_have_separate_counters(self):
        first = SnpGuest(VMPCK[1], vmpck_id=1)
        second = SnpGuest(VMPCK[3], vmpck_id=3)
        self.assertEqual(self.request_report(first, vmpl=1)[0], 0)
        self.assertEqual(self.request_report(first, vmpl=1)[0], 0)
        self.assertEqual(self.request_report(second, vmpl=3)[0], 0)
        self.assertEqual(self.expected(), [1, 5, 1, 3])

    def test_configured_start_seqno(self):
        control(self.sock, {"set": {"seqno": [41, 1, 1, 1]}})
        guest = SnpGuest(VMPCK[0], last_seqno=40)
        self.assertEqual(self.request_report(guest)[0], 0)
        self.assertEqual(self.expected()[0], 43)

    def test_disabled_vmpck_rejected(self):
        keys = [key.hex() for key in VMPCK]
        keys[2] = "00" * 32
        control(self.sock, {"set": {"vmpck": keys}})
        guest = SnpGuest(bytes(32), vmpck_id=2)
        self.assertEqual(self.request_report(guest, vmpl=2)[0],
                         INVALID_PARAM)

    def test_bad_header_fields_rejected(self):
        guest = SnpGuest(VMPCK[0])
        for offset, value in ((0x30, 0), (0x31, 2), (0x3C, 4), (0x35, 0)):
            with self.subTest(offset=offset):
                page = bytearray(guest.report_request(bytes(64)))
                page[offset] = value
                self.assertEqual(exchange(self.sock, 1, bytes(page))[2],
                                 INVALID_PARAM)
        self.assertEqual(self.expected()[0], 1)


class ReportRequestChecks(SimulatorTestCase):
    def status_for(self, guest, **kwargs):
        exit_info2, plaintext = self.request_report(guest, **kwargs)
        self.assertEqual(exit_info2, 0)
        status, size, _ = guest_client.split_report_response(plaintext)
        if status != 0:
            self.assertEqual(size, 0)
            self.assertEqual(plaintext[0x20:], bytes(0x4A0))
        return status

    def test_vmpl_below_vmpck_rejected(self):
        guest = SnpGuest(VMPCK[1], vmpck_id=1)
        self.assertEqual(self.status_for(guest, vmpl=0), INVALID_PARAM)
        self.assertEqual(self.status_for(guest, vmpl=1), 0)

    def test_vmpl_above_three_rejected(self):
        self.assertEqual(self.status_for(SnpGuest(VMPCK[0]), vmpl=4),
                         INVALID_PARAM)

    def test_vlek_without_vlek_rejected(self):
        self.assertEqual(self.status_for(SnpGuest(VMPCK[0]), key_sel=2),
                         INVALID_KEY)

    def test_key_sel_vcek_accepted(self):
        self.assertEqual(self.status_for(SnpGuest(VMPCK[0]), key_sel=1), 0)

    def test_reserved_key_sel_rejected(self):
        self.assertEqual(self.status_for(SnpGuest(VMPCK[0]), key_sel=3),
                         INVALID_PARAM)

    def test_rejected_request_consumes_seqno(self):
        guest = SnpGuest(VMPCK[0])
        self.status_for(guest, key_sel=2)
        state = control(self.sock, {"get": "state"})
        self.assertEqual(state["expected_seqno"][0], 3)
        self.assertEqual(state["reports"], 0)

    def test_short_request_rejected(self):
        guest = SnpGuest(VMPCK[0])
        page = guest.encrypt_request(5, bytes(64))
        payload = exchange(self.sock, 1, page)[3]
        plaintext = guest.decrypt_response(payload, 1)
        self.assertEqual(struct.unpack_from("<I", plaintext)[0],
                         INVALID_PARAM)

    def test_unsupported_message_type_rejected(self):
        guest = SnpGuest(VMPCK[0])
        page = guest.encrypt_request(1, bytes(16))
        self.assertEqual(exchange(self.sock, 1, page)[2], INVALID_PARAM)


class ExtendedRequest(SimulatorTestCase):
    def test_certificate_table(self):
        guest = SnpGuest(VMPCK[0])
        page = guest.report_request(bytes(64))
        kind, pages, exit_info2, payload = exchange(self.sock, 2, page, 4)
        self.assertEqual((kind, pages, exit_info2), (2, 4, 0))
        self.assertEqual(len(payload), 4096 * 5)
        guest.decrypt_response(payload[:4096], 1)
        entries = snp_certtable.parse_cert_table(payload[4096:])
        self.assertEqual([guid for guid, _ in entries],
                         [snp_certtable.GUID_VCEK, snp_certtable.GUID_ASK,
                          snp_certtable.GUID_ARK])
        for (guid, blob), name in zip(entries, ("vcek", "ask", "ark")):
            with open(os.path.join(PKI_DIR, name + ".der"), "rb") as handle:
                self.assertEqual(blob, handle.read())
        table = payload[4096:]
        self.assertEqual(table[:16], bytes.fromhex(
            "63da758de6644564adc5f4b93be8accd"))
        self.assertEqual(struct.unpack_from("<I", table, 16)[0], 96)
        self.assertEqual(table[72:96], bytes(24))

    def test_invalid_len_then_plain_retry(self):
        guest = SnpGuest(VMPCK[0])
        page = guest.report_request(bytes(64))
        kind, pages, exit_info2, payload = exchange(self.sock, 2, page, 1)
        self.assertEqual(exit_info2, INVALID_LEN)
        self.assertEqual(pages, 2)
        self.assertEqual(payload, bytes(4096))
        state = control(self.sock, {"get": "state"})
        self.assertEqual(state["expected_seqno"][0], 1)

        kind, pages, exit_info2, payload = exchange(self.sock, 1, page)
        self.assertEqual(exit_info2, 0)
        guest.decrypt_response(payload, 1)
        guest.complete()
        state = control(self.sock, {"get": "state"})
        self.assertEqual(state["expected_seqno"][0], 3)

    def test_zero_pages_reports_need(self):
        guest = SnpGuest(VMPCK[0])
        _, pages, exit_info2, _ = exchange(
            self.sock, 2, guest.report_request(bytes(64)), 0)
        self.assertEqual(exit_info2, INVALID_LEN)
        self.assertEqual(pages, 2)

    def test_exact_pages_accepted(self):
        guest = SnpGuest(VMPCK[0])
        _, pages, exit_info2, payload = exchange(
            self.sock, 2, guest.report_request(bytes(64)), 2)
        self.assertEqual(exit_info2, 0)
        self.assertEqual(pages, 2)
        self.assertEqual(len(payload), 3 * 4096)

    def test_report_verifies_with_table_vcek(self):
        guest = SnpGuest(VMPCK[0])
        payload = exchange(self.sock, 2, guest.report_request(bytes(64)),
                           2)[3]
        report = guest_client.split_report_response(
            guest.decrypt_response(payload[:4096], 1))[2]
        certificates = dict(snp_certtable.parse_cert_table(payload[4096:]))
        vcek = x509.load_der_x509_certificate(
            certificates[snp_certtable.GUID_VCEK])
        ask = x509.load_der_x509_certificate(
            certificates[snp_certtable.GUID_ASK])
        snp_report.verify_report_signature(report, vcek.public_key())
        snp_pki.verify_chain(vcek, ask, load_pem("ark.pem"))
        tampered = report[:0x90] + b"\x01" + report[0x91:]
        with self.assertRaises(InvalidSignature):
            snp_report.verify_report_signature(tampered, vcek.public_key())


class ControlAndFraming(SimulatorTestCase):
    def test_state_lists_settings(self):
        state = control(self.sock, {"get": "state"})
        self.assertTrue(state["ok"])
        self.assertEqual(state["expected_seqno"], [1, 1, 1, 1])
        self.assertEqual(state["pki_dir"], PKI_DIR)
        self.assertEqual(state["settings"]["report_version"], 3)
        self.assertNotIn("vmpck", state["settings"])

    def test_unknown_control_rejected(self):
        reply = control(self.sock, {"launch": "missiles"})
        self.assertFalse(reply["ok"])
        self.assertIn("unknown control message", reply["error"])

    def test_bad_setting_rejected(self):
        reply = control(self.sock, {"set": {"report_version": 4}})
        self.assertFalse(reply["ok"])
        self.assertIn("report_version", reply["error"])

    def test_unknown_fault_rejected(self):
        reply = control(self.sock, {"fault": "meteor"})
        self.assertFalse(reply["ok"])
        self.assertIn("unknown fault", reply["error"])

    def test_not_json_rejected(self):
        _, _, exit_info2, payload = exchange(self.sock, 0x80, b"{nope")
        self.assertEqual(exit_info2, 0)
        self.assertFalse(json.loads(payload)["ok"])

    def expect_closed(self, data):
        self.sock.sendall(data)
        self.assertEqual(self.sock.recv(1), b"")

    def test_bad_magic_closes(self):
        self.expect_closed(b"XBSQ" + struct.pack("<HHII", 1, 1, 0, 0))

    def test_bad_version_closes(self):
        self.expect_closed(b"TBSQ" + struct.pack("<HHII", 2, 1, 0, 0))

    def test_unknown_kind_closes(self):
        self.expect_closed(b"TBSQ" + struct.pack("<HHII", 1, 9, 0, 0))

    def test_short_snp_page_closes(self):
        self.expect_closed(b"TBSQ" + struct.pack("<HHII", 1, 1, 0, 100)
                           + bytes(100))

    def test_next_connection_served_after_close(self):
        self.expect_closed(b"TBSQ" + struct.pack("<HHII", 1, 9, 0, 0))
        with self.simulator.connect() as other:
            self.assertTrue(control(other, {"get": "state"})["ok"])

    def test_several_requests_per_connection(self):
        guest = SnpGuest(VMPCK[0])
        for _ in range(4):
            self.assertEqual(self.request_report(guest)[0], 0)

    def test_log_records_decisions(self):
        guest = SnpGuest(VMPCK[0], last_seqno=8)
        self.request_report(guest)
        self.sock.close()
        records = self.simulator.stop()
        rejects = [r for r in records if r["event"] == "snp_reject"]
        self.assertEqual(len(rejects), 1)
        self.assertEqual(rejects[0]["reason"], "wrong sequence number")
        self.assertEqual(rejects[0]["msg_seqno"], 9)
        self.assertEqual(rejects[0]["expected"], 1)
        self.assertEqual(records[0]["event"], "start")
        self.assertEqual(records[-1]["event"], "stop")
        for key in VMPCK:
            self.assertNotIn(key.hex(), self.simulator.log_text)


class ConfigFile(unittest.TestCase):
    def test_turin_config_and_log_file(self):
        directory = tempfile.mkdtemp(prefix="amdsp-config-")
        self.addCleanup(shutil.rmtree, directory)
        pki_dir = os.path.join(directory, "pki")
        shutil.copytree(PKI_DIR, pki_dir)
        config = {
            "vmpck": ["11" * 32, "22" * 32, "33" * 32, "44" * 32],
            "seqno": [1, 1, 7, 1],
            "product": "Turin",
            "report_version": 5,
            "tcb": {"bootloader": 2, "tee": 3, "snp": 4, "microcode": 5,
                    "fmc": 6},
            "chip_id": "a5" * 8 + "00" * 56,
            "policy": 0x30000,
            "debug": True,
            "faults": [{"fault": "busy", "count": 1}],
        }
        config_path = os.path.join(directory, "sp.json")
        with open(config_path, "w") as handle:
            json.dump(config, handle)
        log_path = os.path.join(directory, "sp.log")
        simulator = Simulator(["--config", config_path, "--pki-dir", pki_dir,
                               "--log", log_path])
        self.addCleanup(simulator.stop)

        guest = SnpGuest(bytes([0x33]) * 32, vmpck_id=2, last_seqno=6)
        with simulator.connect() as sock:
            page = guest.report_request(bytes(64), vmpl=2)
            self.assertEqual(exchange(sock, 1, page)[2], 2 << 32)
            payload = exchange(sock, 1, page)[3]
        report = guest_client.split_report_response(
            guest.decrypt_response(payload, 7))[2]
        simulator.stop()

        fields = snp_report.parse_report(report)
        self.assertEqual(fields["version"], 5)
        self.assertEqual(fields["generation"], "Turin")
        self.assertEqual(fields["cpuid_fam_id"], 0x1A)
        self.assertEqual(fields["reported_tcb"],
                         snp_report.TcbVersion(2, 3, 4, 5, fmc=6))
        self.assertEqual(report[0x180:0x188],
                         bytes([6, 2, 3, 4, 0, 0, 0, 5]))
        self.assertTrue(fields["debug"])
        self.assertEqual(fields["vmpl"], 2)

        with open(os.path.join(pki_dir, "vcek.pem"), "rb") as handle:
            vcek = x509.load_pem_x509_certificate(handle.read())
        with open(os.path.join(pki_dir, "ark.pem"), "rb") as handle:
            ark = x509.load_pem_x509_certificate(handle.read())
        with open(os.path.join(pki_dir, "ask.pem"), "rb") as handle:
            ask = x509.load_pem_x509_certificate(handle.read())
        snp_report.verify_report_signature(report, vcek.public_key())
        snp_pki.verify_chain(vcek, ask, ark)
        extensions = snp_pki.parse_kds_extensions(vcek)
        self.assertEqual(extensions["product_name"], "Turin")
        self.assertEqual(extensions["fmc_spl"], 6)
        self.assertEqual(extensions["hwid"], bytes([0xA5]) * 8)

        with open(log_path) as handle:
            events = [json.loads(line)["event"] for line in handle]
        self.assertEqual(events[0], "start")
        self.assertIn("snp_busy", events)
        self.assertIn("snp_report", events)
        self.assertEqual(events[-1], "stop")
        self.assertEqual(simulator.log_text, "")


class UnixSocket(unittest.TestCase):
    def test_report_over_unix_socket(self):
        directory = tempfile.mkdtemp(prefix="amdsp-unix-")
        self.addCleanup(shutil.rmtree, directory)
        path = os.path.join(directory, "sp.sock")
        simulator = Simulator(["--pki-dir", PKI_DIR, "--vmpck",
                               "0:" + "5a" * 32, "--seqno", "0:11"],
                              unix_path=path)
        self.addCleanup(simulator.stop)
        self.assertEqual(simulator.address, "unix:" + path)
        with simulator.connect() as sock:
            guest = SnpGuest(bytes([0x5A]) * 32, last_seqno=10)
            page = guest.report_request(bytes(64))
            _, _, exit_info2, payload = exchange(sock, 1, page)
            self.assertEqual(exit_info2, 0)
            plaintext = guest.decrypt_response(payload, 11)
            self.assertEqual(struct.unpack_from("<I", plaintext)[0], 0)
        simulator.stop()
        self.assertFalse(os.path.exists(path))

    def test_non_loopback_listen_rejected(self):
        with self.assertRaisesRegex(RuntimeError, "loopback"):
            Simulator(["--pki-dir", PKI_DIR, "--listen", "0.0.0.0:0"])


if __name__ == "__main__":
    unittest.main()

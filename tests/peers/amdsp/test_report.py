"""ATTESTATION_REPORT layout tests.

Public reports from real hardware parse and verify against their VCEK and
AMD's chain. Generated reports of versions 2, 3 and 5 carry the requested
fields and verify.
"""

import struct
import unittest

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec

import guest_client
import snp_pki
import snp_report
from snp_report import TcbVersion


def read_vector(name):
    with open(guest_client.vector_path(name), "rb") as handle:
        return handle.read()


def load_certificate(name):
    data = read_vector(name)
    if data.startswith(b"-----BEGIN"):
        return x509.load_pem_x509_certificate(data)
    return x509.load_der_x509_certificate(data)


def chain_by_name(name):
    """Return (ask, ark) from a PEM bundle, found by subject CN."""
    found = {}
    for certificate in snp_pki.load_pem_certificates(read_vector(name)):
        common_name = certificate.subject.get_attributes_for_oid(
            x509.oid.NameOID.COMMON_NAME)[0].value
        found[common_name] = certificate
    return found["SEV-Milan"], found["ARK-Milan"]


# (report loader, VCEK file, chain file, first REPORT_DATA bytes)
PUBLIC_REPORTS = {
    "virtee": (lambda: bytes.fromhex(read_vector(
        "virtee_report_milan.hex").decode().strip()),
        "virtee_vcek_milan.der", "virtee_cert_chain_milan", None),
    "gosev": (lambda: read_vector("gosev_attestation.bin"),
              "gosev_vcek.testcer", "gosev_milan.testcer",
              bytes([1, 2, 3, 4, 5])),
    "trustee": (lambda: read_vector("trustee_test-report.bin"),
                "trustee_test-vcek.der", "trustee_milan_ask_ark_asvk.pem",
                None),
}


class PublicReports(unittest.TestCase):
    def check_public_report(self, name):
        loader, vcek_name, chain_name, report_data_prefix = \
            PUBLIC_REPORTS[name]
        report = loader()
        self.assertEqual(len(report), snp_report.REPORT_SIZE)
        fields = snp_report.parse_report(report)
        self.assertEqual(fields["version"], 2)
        self.assertEqual(fields["signature_algo"], 1)
        self.assertEqual(fields["signing_key"], 0)
        self.assertEqual(fields["generation"], "Milan")
        self.assertEqual(fields["policy"] & snp_report.POLICY_RESERVED_ONE,
                         snp_report.POLICY_RESERVED_ONE)
        if report_data_prefix is not None:
            self.assertEqual(fields["report_data"][:5], report_data_prefix)

        vcek = load_certificate(vcek_name)
        snp_report.verify_report_signature(report, vcek.public_key())
        ask, ark = chain_by_name(chain_name)
        snp_pki.verify_chain(vcek, ask, ark)

        extensions = snp_pki.parse_kds_extensions(vcek)
        tcb = fields["reported_tcb"]
        self.assertEqual(extensions["bl_spl"], tcb.bootloader)
        self.assertEqual(extensions["tee_spl"], tcb.tee)
        self.assertEqual(extensions["snp_spl"], tcb.snp)
        self.assertEqual(extensions["ucode_spl"], tcb.microcode)
        self.assertEqual(extensions["hwid"], fields["chip_id"])
        self.assertEqual(extensions["product_name"], "Milan-B0")

        tampered = bytearray(report)
        tampered[21] ^= 1
        with self.assertRaises(InvalidSignature):
            snp_report.verify_report_signature(bytes(tampered),
                                               vcek.public_key())

    def test_virtee_milan_report(self):
        self.check_public_report("virtee")

    def test_gosev_report(self):
        self.check_public_report("gosev")

    def test_trustee_report(self):
        self.check_public_report("trustee")

    def test_virtee_report_known_values(self):
        fields = snp_report.parse_report(PUBLIC_REPORTS["virtee"][0]())
        self.assertEqual(fields["policy"], 0x30000)
        self.assertEqual(fields["reported_tcb_raw"].hex(), "0300000000000873")
        self.assertEqual(fields["reported_tcb"],
                         TcbVersion(bootloader=3, tee=0, snp=8,
                                    microcode=0x73))

    def test_turin_vcek_chain_and_extensions(self):
        vcek = load_certificate("virtee_vcek_turin.der")
        certificates = snp_pki.load_pem_certificates(
            read_vector("virtee_cert_chain_turin"))
        ask, ark = certificates[0], certificates[1]
        snp_pki.verify_chain(vcek, ask, ark)
        extensions = snp_pki.parse_kds_extensions(vcek)
        self.assertEqual(extensions["struct_version"], 1)
        self.assertEqual(extensions["product_name"], "Turin")
        self.assertEqual(len(extensions["hwid"]), 8)
        self.assertEqual(extensions["fmc_spl"], 0)

    def test_chain_with_wrong_root_rejected(self):
        vcek = load_certificate("virtee_vcek_milan.der")
        ask, _ = chain_by_name("virtee_cert_chain_milan")
        turin_ark = snp_pki.load_pem_certificates(
            read_vector("virtee_cert_chain_turin"))[1]
        with self.assertRaises(snp_pki.PkiError):
            snp_pki.verify_issued_by(ask, turin_ark)


class GeneratedReports(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.key = ec.generate_private_key(ec.SECP384R1())

    def fields(self, version, generation="Milan"):
        return {
            "version": version, "generation": generation,
            "tcb": TcbVersion(bootloader=4, tee=1, snp=22, microcode=213,
                              fmc=2 if generation == "Turin" else None),
            "policy": 0x30000 | snp_report.POLICY_DEBUG, "vmpl": 1,
            "guest_svn": 7, "platform_info": 0x25,
            "report_data": bytes(range(64)),
            "measurement": bytes([0xAB]) * 48,
            "host_data": bytes([0xCD]) * 32,
            "chip_id": bytes(range(100, 164)),
            "launch_mit_vector": 0x11, "current_mit_vector": 0x13,
        }

    def build(self, version, generation="Milan"):
        body = snp_report.build_report_body(self.fields(version, generation))
        return snp_report.sign_report(body, self.key)

    def test_each_version_round_trips(self):
        for version in (2, 3, 5):
            with self.subTest(version=version):
                report = self.build(version)
                self.assertEqual(len(report), 0x4A0)
                snp_report.verify_report_signature(report,
                                                   self.key.public_key())
                fields = snp_report.parse_report(report)
                self.assertEqual(fields["version"], version)
                self.assertEqual(fields["vmpl"], 1)
                self.assertEqual(fields["guest_svn"], 7)
                self.assertTrue(fields["debug"])
                self.assertEqual(fields["report_data"], bytes(range(64)))
                self.assertEqual(fields["measurement"], bytes([0xAB]) * 48)
                self.assertEqual(fields["host_data"], bytes([0xCD]) * 32)
                self.assertEqual(fields["chip_id"], bytes(range(100, 164)))
                self.assertEqual(fields["report_id_ma"], b"\xff" * 32)
                self.assertEqual(fields["reported_tcb"].snp, 22)
                self.assertEqual(fields["current_tcb"].microcode, 213)
                self.assertEqual(fields["platform_info"], 0x25)
                self.assertEqual(fields["reserved_04c"], 0)

    def test_version_specific_fields(self):
        v2 = self.build(2)
        v3 = self.build(3)
        v5 = self.build(5)
        self.assertEqual(v2[0x188:0x18B], bytes(3))
        self.assertEqual(v3[0x188:0x18B], bytes([0x19, 0x01, 0x01]))
        self.assertEqual(v3[0x1F8:0x208], bytes(16))
        self.assertEqual(struct.unpack_from("<QQ", v5, 0x1F8), (0x11, 0x13))
        parsed = snp_report.parse_report(v5)
        self.assertEqual(parsed["launch_mit_vector"], 0x11)
        self.assertEqual(parsed["current_mit_vector"], 0x13)
        self.assertIsNone(snp_report.parse_report(v3)["launch_mit_vector"])
        self.assertEqual(v5[0x208:0x2A0], bytes(0x98))

    def test_milan_tcb_byte_layout(self):
        report = self.build(3)
        self.assertEqual(report[0x180:0x188],
                         bytes([4, 1, 0, 0, 0, 0, 22, 213]))

    def test_turin_tcb_byte_layout(self):
        report = self.build(5, "Turin")
        self.assertEqual(report[0x180:0x188],
                         bytes([2, 4, 1, 22, 0, 0, 0, 213]))
        fields = snp_report.parse_report(report)
        self.assertEqual(fields["generation"], "Turin")
        self.assertEqual(fields["reported_tcb"].fmc, 2)
        self.assertEqual(fields["cpuid_fam_id"], 0x1A)

    def test_signature_little_endian(self):
        report = self.build(3)
        r, s = snp_report.report_signature(report)
        self.assertEqual(report[0x2A0 + 48:0x2A0 + 72], bytes(24))
        self.assertEqual(report[0x2E8 + 48:0x2E8 + 72], bytes(24))
        self.assertEqual(int.from_bytes(report[0x2A0:0x2A0 + 48], "little"),
                         r)
        self.assertEqual(report[0x330:0x4A0], bytes(0x170))

    def test_tampered_report_rejected(self):
        report = bytearray(self.build(5))
        report[0x50] ^= 0x80
        with self.assertRaises(InvalidSignature):
            snp_report.verify_report_signature(bytes(report),
                                               self.key.public_key())

    def test_unsupported_version_rejected(self):
        with self.assertRaisesRegex(snp_report.ReportError, "version 4"):
            snp_report.build_report_body(self.fields(4))

    def test_wrong_field_size_rejected(self):
        fields = self.fields(3)
        fields["measurement"] = bytes(47)
        with self.assertRaisesRegex(snp_report.ReportError, "measurement"):
            snp_report.build_report_body(fields)

    def test_short_report_rejected(self):
        with self.assertRaisesRegex(snp_report.ReportError, "1183"):
            snp_report.parse_report(bytes(1183))


if __name__ == "__main__":
    unittest.main()

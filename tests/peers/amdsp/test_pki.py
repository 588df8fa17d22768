"""The simulator's test PKI: AMD-shaped certificates, PSS signatures, KDS
extensions, and reuse of the keys across starts."""

import os
import shutil
import tempfile
import unittest

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization

import der
import guest_client
import snp_pki
import tdx_quote
from snp_report import TcbVersion

CHIP_ID = bytes(range(0x80, 0xC0))
TCB = TcbVersion(bootloader=3, tee=0, snp=8, microcode=0x73)


def setUpModule():
    global PKI_DIR, PKI
    PKI_DIR = tempfile.mkdtemp(prefix="amdsp-test-pki-")
    PKI = snp_pki.load_or_create_pki(PKI_DIR, "Milan", TCB, CHIP_ID)


def tearDownModule():
    shutil.rmtree(PKI_DIR)


def outer_signature_algorithm(certificate):
    """Return the raw DER of Certificate.signatureAlgorithm."""
    _, content, _ = der.read_tlv(
        certificate.public_bytes(serialization.Encoding.DER))
    return der.read_children(content)[1][2]


class GeneratedPki(unittest.TestCase):
    def test_chain_verifies(self):
        snp_pki.verify_chain(PKI.vcek, PKI.ask, PKI.ark)

    def test_pss_identifier_matches_amd_ark(self):
        with open(guest_client.vector_path("milan_ark.pem"), "rb") as fh:
            amd_ark = x509.load_pem_x509_certificate(fh.read())
        self.assertEqual(outer_signature_algorithm(PKI.vcek),
                         outer_signature_algorithm(amd_ark))
        self.assertEqual(snp_pki.pss_algorithm_identifier(),
                         outer_signature_algorithm(amd_ark))

    def test_signature_parameters(self):
        for certificate in (PKI.ark, PKI.ask, PKI.vcek):
            oid, salt, hash_oid = snp_pki.certificate_signature_algorithm(
                certificate)
            self.assertEqual(oid, snp_pki.OID_RSASSA_PSS)
            self.assertEqual(salt, 48)
            self.assertEqual(hash_oid, snp_pki.OID_SHA384)

    def test_key_types(self):
        self.assertEqual(PKI.ark.public_key().key_size, 4096)
        self.assertEqual(PKI.ask.public_key().key_size, 4096)
        self.assertEqual(PKI.vcek.public_key().curve.name, "secp384r1")

    def test_names(self):
        common = x509.oid.NameOID.COMMON_NAME
        self.assertEqual(PKI.ark.subject.get_attributes_for_oid(common)[0]
                         .value, "ARK-Milan")
        self.assertEqual(PKI.ask.subject.get_attributes_for_oid(common)[0]
                         .value, "SEV-Milan")
        self.assertEqual(PKI.vcek.subject.get_attributes_for_oid(common)[0]
                         .value, "SEV-VCEK")
        self.assertEqual(PKI.ark.issuer, PKI.ark.subject)

    def test_vcek_extensions(self):
        extensions = snp_pki.parse_kds_extensions(PKI.vcek)
        self.assertEqual(extensions["struct_version"], 0)
        self.assertEqual(extensions["product_name"], "Milan-B0")
        self.assertEqual(extensions["bl_spl"], 3)
        self.assertEqual(extensions["tee_spl"], 0)
        self.assertEqual(extensions["snp_spl"], 8)
        self.assertEqual(extensions["ucode_spl"], 0x73)
        self.assertIsNone(extensions["fmc_spl"])
        self.assertEqual(extensions["hwid"], CHIP_ID)
        self.assertIsNone(extensions["csp_id"])

    def test_vcek_extension_encoding_like_kds(self):
        with open(guest_client.vector_path("virtee_vcek_milan.der"),
                  "rb") as handle:
            amd_vcek = x509.load_der_x509_certificate(handle.read())

        def raw_values(certificate):
            return {ext.oid.dotted_string: ext.value.value
                    for ext in certificate.extensions
                    if ext.oid.dotted_string.startswith(snp_pki.KDS_PREFIX)}

        ours = raw_values(PKI.vcek)
        theirs = raw_values(amd_vcek)
        self.assertEqual(sorted(ours), sorted(theirs))
        for oid in theirs:
            if oid == snp_pki.OID_HWID:
                continue
            with self.subTest(oid=oid):
                self.assertEqual(der.read_tlv(ours[oid])[0],
                                 der.read_tlv(theirs[oid])[0])
        self.assertEqual(ours[snp_pki.OID_UCODE_SPL],
                         theirs[snp_pki.OID_UCODE_SPL])
        self.assertEqual(ours[snp_pki.OID_PRODUCT_NAME],
                         theirs[snp_pki.OID_PRODUCT_NAME])
        self.assertEqual(len(ours[snp_pki.OID_HWID]), 64)

    def test_octet_hwid_and_turin(self):
        key = PKI.vcek_key
        vcek = snp_pki.make_vcek(key, PKI.ask_key, "Turin",
                                 TcbVersion(1, 2, 3, 4, fmc=5), CHIP_ID,
                                 hwid_form="octet")
        snp_pki.verify_issued_by(vcek, snp_pki.make_ask(PKI.ask_key,
                                                        PKI.ark_key,
                                                        "Turin"))
        raw = [ext.value.value for ext in vcek.extensions
               if ext.oid.dotted_string == snp_pki.OID_HWID][0]
        self.assertEqual(raw, b"\x04\x08" + CHIP_ID[:8])
        extensions = snp_pki.parse_kds_extensions(vcek)
        self.assertEqual(extensions["hwid"], CHIP_ID[:8])
        self.assertEqual(extensions["fmc_spl"], 5)
        self.assertEqual(extensions["struct_version"], 1)
        self.assertEqual(extensions["product_name"], "Turin")

    def test_files_written(self):
        for name in ("ark.pem", "ark.der", "ask.pem", "ask.der", "vcek.pem",
                     "vcek.der", "cert_chain.pem", "ark_key.pem",
                     "ask_key.pem", "vcek_key.pem"):
            with self.subTest(name=name):
                self.assertTrue(os.path.isfile(os.path.join(PKI_DIR, name)))
        with open(os.path.join(PKI_DIR, "cert_chain.pem"), "rb") as handle:
            chain = snp_pki.load_pem_certificates(handle.read())
        self.assertEqual([c.subject for c in chain],
                         [PKI.ask.subject, PKI.ark.subject])
        with open(os.path.join(PKI_DIR, "vcek.der"), "rb") as handle:
            self.assertEqual(handle.read(), PKI.der("vcek"))

    def test_reload_keeps_ark_and_keys(self):
        again = snp_pki.load_or_create_pki(
            PKI_DIR, "Milan", TcbVersion(bootloader=9, snp=10), CHIP_ID)
        self.assertEqual(again.der("ark"), PKI.der("ark"))
        self.assertEqual(again.der("ask"), PKI.der("ask"))
        self.assertEqual(snp_pki.parse_kds_extensions(again.vcek)["bl_spl"],
                         9)
        snp_pki.verify_chain(again.vcek, PKI.ask, PKI.ark)
        snp_pki.load_or_create_pki(PKI_DIR, "Milan", TCB, CHIP_ID)

    def test_foreign_signature_rejected(self):
        other_ark_path = guest_client.vector_path("milan_ark.pem")
        with open(other_ark_path, "rb") as handle:
            amd_ark = x509.load_pem_x509_certificate(handle.read())
        with self.assertRaises((InvalidSignature, snp_pki.PkiError)):
            snp_pki.verify_issued_by(PKI.ask, amd_ark)

    def test_ecdsa_signed_certificate_rejected(self):
        tdx = tdx_quote.TdxPki(PKI_DIR)
        with self.assertRaisesRegex(snp_pki.PkiError, "expected RSASSA-PSS"):
            snp_pki.verify_issued_by(tdx.pck, tdx.root)


class DerHelpers(unittest.TestCase):
    def test_integer_encoding(self):
        self.assertEqual(der.encode_integer(0), bytes.fromhex("020100"))
        self.assertEqual(der.encode_integer(0x73), bytes.fromhex("020173"))
        self.assertEqual(der.encode_integer(0xD9), bytes.fromhex("020200d9"))
        self.assertEqual(der.encode_integer(48), bytes.fromhex("020130"))

    def test_oid_round_trip(self):
        encoded = der.encode_oid(snp_pki.OID_UCODE_SPL)
        tag, value, end = der.read_tlv(encoded)
        self.assertEqual(tag, der.TAG_OID)
        self.assertEqual(end, len(encoded))
        self.assertEqual(der.decode_oid(value), snp_pki.OID_UCODE_SPL)

    def test_long_length(self):
        encoded = der.encode_tlv(der.TAG_OCTET_STRING, bytes(300))
        self.assertEqual(encoded[:4], bytes.fromhex("0482012c"))
        self.assertEqual(der.read_tlv(encoded)[1], bytes(300))

    def test_truncated_value_rejected(self):
        with self.assertRaisesRegex(der.DerError, "needs 5 bytes"):
            der.read_tlv(bytes.fromhex("0405010203"))


if __name__ == "__main__":
    unittest.main()

#!/usr/bin/python3
"""Tests of the test KBS (kbs_server.py): every endpoint, fault, policy rule and JWE algorithm."""

import base64
import http.client
import json
import os
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from cryptography import x509  # noqa: E402
from cryptography.exceptions import InvalidSignature, InvalidTag  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec, padding  # noqa: E402
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature  # noqa: E402
from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # noqa: E402

import jwe_decoder  # noqa: E402
import kbs_jcs  # noqa: E402
import kbs_jwe  # noqa: E402
import snp_evidence  # noqa: E402
import snp_testpki  # noqa: E402
import tdx_evidence  # noqa: E402
from kbs_testlib import (KbsClient, KbsProcess, SnpGuest, ec_jwk, kbs_jcs_binding,  # noqa: E402
                         new_workdir, shared_dir, tee_key)

MEASUREMENT = bytes([0xAB]) * 48
OTHER_MEASUREMENT = bytes([0xCD]) * 48
RESOURCE = b"disk key one\x00\x01\x02"
ADMIN_TOKEN = "admin-secret-token"


def read_vector_file(name):
    with open(os.path.join(shared_dir(), "vectors", "attestation", name), "r", encoding="ascii") as f:
        return f.read()


def selfgen_vector():
    """Parse kbs_selfgen.txt into {label: value}."""
    labels = ("nonce", "JCS(runtime)", "report_data", "TEE priv d", "Z (ECDH)", "KEK (ConcatKDF)", "JWE")
    values = {}
    for line in read_vector_file("kbs_selfgen.txt").splitlines():
        for label in labels:
            if line.startswith(label + " ") and label not in values:
                values[label] = line[len(label):].strip()
    missing = [label for label in labels if label not in values]
    if missing:
        raise AssertionError("kbs_selfgen.txt lacks %s" % missing)
    return values


class SelfgenVectorTest(unittest.TestCase):
    """The peer's binding and JWE code reproduce the KBS known-answer vector (P-256 key d = 0x11..11) exactly."""

    def setUp(self):
        self.v = selfgen_vector()
        self.tee_private = ec.derive_private_key(int(self.v["TEE priv d"], 16), ec.SECP256R1())
        self.jwk = ec_jwk(self.tee_private, "P-256")

    def test_jcs_text_matches(self):
        text = kbs_jcs.runtime_data_text(self.v["nonce"], self.jwk)
        self.assertEqual(text, self.v["JCS(runtime)"])

    def test_report_data_matches(self):
        report_data = kbs_jcs.expected_report_data(self.v["nonce"], self.jwk)
        self.assertEqual(report_data.hex(), self.v["report_data"])

    def test_concat_kdf_matches(self):
        kek = kbs_jwe.concat_kdf_sha256(bytes.fromhex(self.v["Z (ECDH)"]), "ECDH-ES+A256KW", 256)
        self.assertEqual(kek.hex(), self.v["KEK (ConcatKDF)"])

    def test_ecdh_shared_secret_matches(self):
        jwe = json.loads(self.v["JWE"])
        epk = jwe_decoder.header_of(jwe)["epk"]
        peer = ec.EllipticCurvePublicNumbers(int.from_bytes(jwe_decoder.unb64url(epk["x"]), "big"),
                                             int.from_bytes(jwe_decoder.unb64url(epk["y"]), "big"),
                                             ec.SECP256R1()).public_key()
        self.assertEqual(self.tee_private.exchange(ec.ECDH(), peer).hex(), self.v["Z (ECDH)"])

    def test_jwe_reproduced_exactly(self):
        vector = json.loads(self.v["JWE"])
        cek = jwe_decoder.content_key(self.tee_private, vector)
        plaintext = jwe_decoder.decrypt(self.tee_private, vector)
        header = jwe_decoder.header_of(vector)
        epk = ec.EllipticCurvePublicNumbers(int.from_bytes(jwe_decoder.unb64url(header["epk"]["x"]), "big"),
                                            int.from_bytes(jwe_decoder.unb64url(header["epk"]["y"]), "big"),
                                            ec.SECP256R1()).public_key()

        protected_text = kbs_jwe.protected_header_text(kbs_jwe.ecdh_es_header(epk, "P-256"))
        protected = kbs_jwe.b64url_encode(protected_text.encode())
        self.assertEqual(protected, vector["protected"])

        kek = kbs_jwe.concat_kdf_sha256(bytes.fromhex(self.v["Z (ECDH)"]), "ECDH-ES+A256KW", 256)
        self.assertEqual(kbs_jwe.b64url_encode(kbs_jwe.aes_key_wrap(kek, cek)), vector["encrypted_key"])

        iv = jwe_decoder.unb64url(vector["iv"])
        ciphertext, tag = kbs_jwe.encrypt_content(cek, iv, protected, plaintext)
        self.assertEqual(kbs_jwe.b64url_encode(ciphertext), vector["ciphertext"])
        self.assertEqual(kbs_jwe.b64url_encode(tag), vector["tag"])


class JcsTest(unittest.TestCase):
    def test_trustee_unit_vector_prefix(self):
        digest = __import__("hashlib").sha384(kbs_jcs.canonicalize({"b": 1, "a": "test", "c": {"d": "e"}}).encode())
        self.assertTrue(digest.hexdigest().startswith("e71ce8e7"))
        self.assertTrue(digest.hexdigest().endswith("c3"))

    def test_escapes_and_order(self):
        self.assertEqual(kbs_jcs.canonicalize({"b": "x\n\"\u0001", "a": [True, None, 5]}),
                         '{"a":[true,null,5],"b":"x\\n\\"\\u0001"}')

    def test_extra_jwk_members_dropped(self):
        jwk = {"kty": "EC", "crv": "P-256", "alg": "ECDH-ES+A256KW", "x": "AA", "y": "BB", "kid": "1"}
        self.assertEqual(kbs_jcs.tee_pubkey_member(jwk),
                         {"kty": "EC", "crv": "P-256", "alg": "ECDH-ES+A256KW", "x": "AA", "y": "BB"})


class GoldenEvidenceTest(unittest.TestCase):
    """Public reports from real hardware verify through the peer's SNP evidence path."""

    def setUp(self):
        base = os.path.join(shared_dir(), "vectors", "attestation")
        with open(os.path.join(base, "trustee_test-report.bin"), "rb") as f:
            self.raw = f.read()
        with open(os.path.join(base, "trustee_test-vcek.der"), "rb") as f:
            self.vcek = x509.load_der_x509_certificate(f.read())
        self.anchor = snp_evidence.TrustAnchor(os.path.join(base, "trustee_milan_ask_ark_asvk.pem"))
        self.base = base

    def test_trustee_report_verifies(self):
        fields = snp_testpki.fields_from_raw_milan(self.raw)
        evidence = snp_testpki.evidence_json(fields, self.raw, [("VCEK", self.vcek)])
        raw, report = snp_evidence.verify_snp_evidence(evidence, self.anchor)
        self.assertEqual(raw, self.raw)
        self.assertEqual(report["vmpl"], 0)

    def test_flipped_measurement_rejected(self):
        fields = snp_testpki.fields_from_raw_milan(self.raw)
        fields["measurement"] = bytes([fields["measurement"][0] ^ 1]) + fields["measurement"][1:]
        evidence = snp_testpki.evidence_json(fields, self.raw, [("VCEK", self.vcek)])
        with self.assertRaisesRegex(snp_evidence.EvidenceError, "report signature does not verify"):
            snp_evidence.verify_snp_evidence(evidence, self.anchor)

    def test_wrong_product_ark_rejected(self):
        fields = snp_testpki.fields_from_raw_milan(self.raw)
        evidence = snp_testpki.evidence_json(fields, self.raw, [("VCEK", self.vcek)])
        anchor = snp_evidence.TrustAnchor(os.path.join(self.base, "genoa_ark.pem"))
        with self.assertRaisesRegex(snp_evidence.EvidenceError, "no ASK certificate named"):
            snp_evidence.verify_snp_evidence(evidence, anchor)

    def test_real_tdx_quotes_verify(self):
        for name in ("gotdx_tdx_prod_quote_SPR_E4.dat", "trustee_tdx_quote_5.dat"):
            with open(os.path.join(self.base, name), "rb") as f:
                quote = f.read()
            parsed = tdx_evidence.verify_tdx_evidence({"cc_eventlog": None,
                                                       "quote": base64.b64encode(quote).decode()})
            self.assertIn(parsed["version"], (4, 5))
            corrupted = bytearray(quote)
            corrupted[0x238] ^= 1
            with self.assertRaisesRegex(snp_evidence.EvidenceError, "signature does not verify"):
                tdx_evidence.verify_tdx_evidence({"quote": base64.b64encode(bytes(corrupted)).decode()})


class TrustAnchorTest(unittest.TestCase):
    def test_directory_with_keys_and_duplicates(self):
        pki = snp_testpki.TestPki()
        workdir = new_workdir()
        pki.write(workdir)
        for role in ("ark", "ask", "vcek"):
            with open(os.path.join(workdir, role + ".der"), "wb") as f:
                f.write(getattr(pki, role).public_bytes(serialization.Encoding.DER))
        with open(os.path.join(workdir, "vcek_key.pem"), "wb") as f:
            f.write(pki.vcek_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
        other = ec.generate_private_key(ec.SECP256R1())
        with open(os.path.join(workdir, "unrelated_ec.pem"), "wb") as f:
            f.write(snp_testpki._cert(snp_testpki._name("unrelated"), snp_testpki._name("unrelated"),
                                      other.public_key(), pki.ark_key).public_bytes(serialization.Encoding.PEM))

        anchor = snp_evidence.TrustAnchor(workdir)
        self.assertEqual(anchor.ark, pki.ark)
        self.assertEqual(anchor.intermediates, [pki.ask])
        self.assertEqual(anchor.vcek, pki.vcek)

    def test_file_without_certificate_rejected(self):
        path = os.path.join(new_workdir(), "key.pem")
        with open(path, "wb") as f:
            f.write(b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
        with self.assertRaisesRegex(snp_evidence.EvidenceError, "key.pem is neither a PEM nor a DER certificate"):
            snp_evidence.TrustAnchor(path)


class ServerTestBase(unittest.TestCase):
    """Starts one KBS per test class with a test PKI, policy, resources and KEKs."""

    extra_args = []
    policy = None

    @classmethod
    def setUpClass(cls):
        cls.workdir = new_workdir()
        cls.pki = snp_testpki.TestPki()

        # The trust anchor contains ARK and ASK only, so the VCEK must come from
        # the evidence or from --vcek.
        cls.anchor_dir = os.path.join(cls.workdir, "amd")
        os.mkdir(cls.anchor_dir)
        paths = cls.pki.write(cls.anchor_dir)
        os.remove(paths["vcek"])

        policy = cls.policy or {
            "measurements": [MEASUREMENT.hex()],
            "min_reported_tcb": {"bootloader": 3, "tee": 0, "snp": 8, "microcode": 115},
            "resources": {"default/restricted/key": {"measurements": [OTHER_MEASUREMENT.hex()]}},
            "keys": {"restricted-kek": {"measurements": [OTHER_MEASUREMENT.hex()]}},
        }
        cls.policy_path = os.path.join(cls.workdir, "policy.json")
        with open(cls.policy_path, "w") as f:
            json.dump(policy, f)

        resource_path = os.path.join(cls.workdir, "resource.bin")
        with open(resource_path, "wb") as f:
            f.write(RESOURCE)
        token_path = os.path.join(cls.workdir, "admin-token")
        with open(token_path, "w") as f:
            f.write(ADMIN_TOKEN + "\n")

        cls.kek_path = os.path.join(cls.workdir, "kek1.hex")
        cls.pkcs11_key_path = os.path.join(cls.workdir, "pkcs11.pem")
        cls.decision_log = os.path.join(cls.workdir, "decisions.jsonl")

        args = [
            "--trust-anchor", cls.anchor_dir, "--policy", cls.policy_path, "--decision-log", cls.decision_log,
            "--resource", "default/sample/test=" + resource_path,
            "--resource", "default/restricted/key=" + resource_path,
            "--kek", "kek1=" + cls.kek_path,
            "--kek", "restricted-kek=" + os.path.join(cls.workdir, "kek2.hex"),
            "--admin-token-file", token_path, "--pkcs11-key", cls.pkcs11_key_path, "--test-control",
        ] + cls.extra_args + cls.class_args()
        cls.kbs = KbsProcess(args, cls.workdir)

    @classmethod
    def class_args(cls):
        """Return more server arguments that need the class's PKI or work directory."""
        return []

    @classmethod
    def tearDownClass(cls):
        cls.kbs.stop()

    def setUp(self):
        self.client = KbsClient(self.kbs.port)
        self.guest = SnpGuest(self.pki)
        self.set_faults([])

    def set_faults(self, faults):
        resp = KbsClient(self.kbs.port).request("POST", "/_test/faults", {"faults": faults})
        self.assertEqual(resp.status, 200)

    def decisions(self):
        with open(self.decision_log) as f:
            return [json.loads(line) for line in f]

    def attested_client(self, kind="P-256", **overrides):
        """Run auth and attest; return (client, TEE private key)."""
        client = KbsClient(self.kbs.port)
        resp = client.auth()
        self.assertEqual(resp.status, 200, resp.body)
        nonce = resp.json()["nonce"]
        private, jwk = tee_key(kind)
        resp = client.attest(nonce, jwk, self.guest.evidence(nonce, jwk, **overrides))
        self.assertEqual(resp.status, 200, resp.body)
        return client, private

    def assert_error(self, resp, status, kind):
        self.assertEqual(resp.status, status, resp.body)
        body = resp.json()
        self.assertEqual(body["type"], "https://github.com/confidential-containers/kbs/errors/" + kind)
        self.assertIsInstance(body["detail"], str)


class AuthTest(ServerTestBase):
    def test_auth_returns_nonce_and_cookie(self):
        resp = self.client.auth()
        self.assertEqual(resp.status, 200)
        body = resp.json()
        self.assertEqual(len(base64.b64decode(body["nonce"], validate=True)), 32)
        self.assertEqual(body["extra-params"], "")
        cookie = resp.headers.getheader("Set-Cookie")
        self.assertRegex(cookie, r"^kbs-session-id=[0-9a-f]{32}; Expires=\w{3}, \d\d \w{3} \d{4} ")

    def test_nonce_differs_per_session(self):
        first = self.client.auth().json()["nonce"]
        second = KbsClient(self.kbs.port).auth().json()["nonce"]
        self.assertNotEqual(first, second)

    def test_tdx_tee_accepted(self):
        self.assertEqual(self.client.auth(tee="tdx").status, 200)

    def test_wrong_version_rejected(self):
        self.assert_error(self.client.auth(version="0.3.0"), 401, "AttestationError")

    def test_unsupported_tee_rejected(self):
        self.assert_error(self.client.auth(tee="sgx"), 401, "AttestationError")

    def test_uppercase_tee_rejected(self):
        self.assert_error(self.client.auth(tee="SNP"), 401, "AttestationError")

    def test_malformed_json_rejected(self):
        resp = self.client.request("POST", "/kbs/v0/auth", b"{not json", raw=True)
        self.assert_error(resp, 401, "SerdeError")

    def test_missing_extra_params_rejected(self):
        resp = self.client.request("POST", "/kbs/v0/auth", {"version": "0.4.0", "tee": "snp"})
        self.assert_error(resp, 401, "SerdeError")

    def test_unknown_plugin_is_404(self):
        self.assert_error(self.client.request("GET", "/kbs/v0/nothing/here"), 404, "PluginNotFound")

    def test_path_outside_api_is_404(self):
        self.assert_error(self.client.request("GET", "/other"), 404, "InvalidRequestPath")


class AttestTest(ServerTestBase):
    def attest_with(self, kind="P-256", evidence_overrides=None, nonce_override=None, jwk_override=None,
                    evidence=None):
        resp = self.client.auth()
        nonce = resp.json()["nonce"]
        private, jwk = tee_key(kind)
        if evidence is None:
            evidence = self.guest.evidence(nonce, jwk, **(evidence_overrides or {}))
        return self.client.attest(nonce_override or nonce, jwk_override or jwk, evidence)

    def assert_denied(self, resp, reason_fragment):
        self.assert_error(resp, 401, "AttestationError")
        last = self.decisions()[-1]
        self.assertEqual(last["event"], "attest")
        self.assertEqual(last["decision"], "deny")
        self.assertIn(reason_fragment, last["reason"])
        self.assertEqual(last["session"], self.client.cookie)

    def test_attest_success_p256(self):
        resp = self.attest_with("P-256")
        self.assertEqual(resp.status, 200, resp.body)
        token = resp.json()["token"]
        self.assertEqual(len(token.split(".")), 3)
        last = self.decisions()[-1]
        self.assertEqual((last["event"], last["decision"]), ("attest", "allow"))
        self.assertEqual(last["measurement"], MEASUREMENT.hex())

    def test_attest_success_p521_and_rsa(self):
        for kind in ("P-521", "RSA"):
            self.client = KbsClient(self.kbs.port)
            self.assertEqual(self.attest_with(kind).status, 200)

    def test_missing_vcek_rejected(self):
        resp = self.client.auth()
        nonce = resp.json()["nonce"]
        _, jwk = tee_key("P-256")
        # The trust anchor directory has no VCEK and the evidence carries none.
        resp = self.client.attest(nonce, jwk, self.guest.evidence(nonce, jwk, with_vcek=False))
        self.assert_denied(resp, "no VCEK")

    def test_p384_key_rejected(self):
        self.assert_denied(self.attest_with("P-384"), "crv must be P-256 or P-521")

    def test_wrong_nonce_rejected(self):
        resp = self.client.auth()
        nonce = resp.json()["nonce"]
        _, jwk = tee_key("P-256")
        other = base64.b64encode(os.urandom(32)).decode()
        resp = self.client.attest(other, jwk, self.guest.evidence(other, jwk))
        self.assert_denied(resp, "nonce does not match")

    def test_binding_mismatch_rejected(self):
        resp = self.client.auth()
        nonce = resp.json()["nonce"]
        _, jwk = tee_key("P-256")
        _, other_jwk = tee_key("P-256")
        resp = self.client.attest(nonce, jwk, self.guest.evidence(nonce, other_jwk))
        self.assert_denied(resp, "does not match the runtime-data binding")

    def test_sha512_raw_binding_rejected(self):
        resp = self.client.auth()
        nonce = resp.json()["nonce"]
        _, jwk = tee_key("P-256")
        import hashlib
        wrong = hashlib.sha512(jwk["x"].encode() + jwk["y"].encode() + nonce.encode()).digest()
        resp = self.client.attest(nonce, jwk, self.guest.evidence(nonce, jwk, report_data=wrong))
        self.assert_denied(resp, "does not match the runtime-data binding")

    def test_additional_evidence_is_bound(self):
        resp = self.client.auth()
        nonce = resp.json()["nonce"]
        _, jwk = tee_key("P-256")
        resp = self.client.attest(nonce, jwk, self.guest.evidence(nonce, jwk), additional="extra")
        self.assert_denied(resp, "does not match the runtime-data binding")

    def test_bad_signature_rejected(self):
        rogue = ec.generate_private_key(ec.SECP384R1())
        self.assert_denied(self.attest_with(evidence_overrides={"signing_key": rogue}), "report signature does not verify")

    def test_untrusted_chain_rejected(self):
        other = snp_testpki.TestPki()
        resp = self.client.auth()
        nonce = resp.json()["nonce"]
        _, jwk = tee_key("P-256")
        resp = self.client.attest(nonce, jwk, SnpGuest(other).evidence(nonce, jwk))
        self.assert_denied(resp, "is not signed by the ASK")

    def test_debug_policy_rejected(self):
        self.assert_denied(self.attest_with(evidence_overrides={"policy": 0x30000 | (1 << 19)}), "DEBUG (bit 19)")

    def test_vmpl_1_rejected(self):
        self.assert_denied(self.attest_with(evidence_overrides={"vmpl": 1}), "VMPL is 1")

    def test_measurement_not_allowed(self):
        self.assert_denied(self.attest_with(evidence_overrides={"measurement": OTHER_MEASUREMENT}),
                           "measurement %s is not in" % OTHER_MEASUREMENT.hex())

    def test_tcb_below_minimum_rejected(self):
        low = {"bootloader": 3, "tee": 0, "snp": 7, "microcode": 115}
        vcek = self.pki.issue_vcek(low, self.pki.hwid, serial=9)
        tcb = dict(low, fmc=None)
        resp = self.client.auth()
        nonce = resp.json()["nonce"]
        _, jwk = tee_key("P-256")
        evidence = SnpGuest(self.pki, vcek=vcek).evidence(nonce, jwk, reported_tcb=tcb)
        self.assert_denied(self.client.attest(nonce, jwk, evidence), "reported_tcb.snp is 7, below the policy minimum 8")

    def test_reported_tcb_must_match_vcek(self):
        tcb = {"fmc": None, "bootloader": 3, "tee": 0, "snp": 9, "microcode": 115}
        self.assert_denied(self.attest_with(evidence_overrides={"reported_tcb": tcb}),
                           "reported_tcb.snp is 9 but the VCEK was issued for 8")

    def test_report_version_2_rejected(self):
        self.assert_denied(self.attest_with(evidence_overrides={"version": 2}), "report version 2 is outside 3..5")

    def test_vlek_signed_rejected(self):
        self.assert_denied(self.attest_with(evidence_overrides={"key_info": 1 << 2}), "VLEK")

    def test_chip_id_mismatch_rejected(self):
        self.assert_denied(self.attest_with(evidence_overrides={"chip_id": bytes([7]) * 64}), "does not match the VCEK hwID")

    def test_malformed_evidence_rejected(self):
        resp = self.client.auth()
        nonce = resp.json()["nonce"]
        _, jwk = tee_key("P-256")
        evidence = self.guest.evidence(nonce, jwk)
        del evidence["attestation_report"]["measurement"]
        self.assert_denied(self.client.attest(nonce, jwk, evidence), "attestation_report.measurement is missing")

    def test_short_byte_array_rejected(self):
        resp = self.client.auth()
        nonce = resp.json()["nonce"]
        _, jwk = tee_key("P-256")
        evidence = self.guest.evidence(nonce, jwk)
        evidence["attestation_report"]["report_data"] = [0] * 63
        self.assert_denied(self.client.attest(nonce, jwk, evidence), "report_data must be an array of 64")

    def test_init_data_rejected(self):
        resp = self.client.auth()
        nonce = resp.json()["nonce"]
        _, jwk = tee_key("P-256")
        body = {"init-data": {"format": "toml", "body": "x"},
                "runtime-data": {"nonce": nonce, "tee-pubkey": jwk},
                "tee-evidence": {"primary_evidence": self.guest.evidence(nonce, jwk), "additional_evidence": ""}}
        self.assert_error(self.client.request("POST", "/kbs/v0/attest", body), 401, "AttestationError")

    def test_attest_without_cookie_rejected(self):
        _, jwk = tee_key("P-256")
        resp = self.client.attest("AAAA", jwk, {})
        self.assert_error(resp, 401, "UnAuthenticatedCookie")

    def test_attest_unknown_cookie_rejected(self):
        self.client.cookie = "0" * 32
        _, jwk = tee_key("P-256")
        self.assert_error(self.client.attest("AAAA", jwk, {}), 401, "UnAuthenticatedCookie")

    def test_tdx_attest_success_and_debug_rejected(self):
        for attributes, expected in ((0x10000000, 200), (0x10000001, 401)):
            client = KbsClient(self.kbs.port)
            nonce = client.auth(tee="tdx").json()["nonce"]
            _, jwk = tee_key("P-256")
            quote = snp_testpki.write_tdx_quote(kbs_jcs_binding(nonce, jwk), MEASUREMENT, attributes)
            resp = client.attest(nonce, jwk, {"cc_eventlog": None, "quote": base64.b64encode(quote).decode()})
            self.assertEqual(resp.status, expected, resp.body)
        self.assertIn("DEBUG (bit 0)", self.decisions()[-1]["reason"])


class ConfiguredVcekTest(ServerTestBase):
    @classmethod
    def class_args(cls):
        path = os.path.join(cls.workdir, "vcek.der")
        with open(path, "wb") as f:
            f.write(cls.pki.vcek.public_bytes(serialization.Encoding.DER))
        return ["--vcek", path]

    def test_evidence_without_cert_chain(self):
        nonce = self.client.auth().json()["nonce"]
        private, jwk = tee_key("P-256")
        resp = self.client.attest(nonce, jwk, self.guest.evidence(nonce, jwk, with_vcek=False))
        self.assertEqual(resp.status, 200, resp.body)
        resp = self.client.request("GET", "/kbs/v0/resource/default/sample/test")
        self.assertEqual(jwe_decoder.decrypt(private, resp.json()), RESOURCE)


class SessionExpiryTest(ServerTestBase):
    extra_args = ["--session-timeout", "1"]

    def test_expired_session_rejected(self):
        client, _ = self.attested_client()
        self.assertEqual(client.request("GET", "/kbs/v0/resource/default/sample/test").status, 200)
        time.sleep(1.5)
        self.assert_error(client.request("GET", "/kbs/v0/resource/default/sample/test"), 401, "ExpiredCookie")

    def test_expire_control_endpoint(self):
        client, _ = self.attested_client()
        resp = KbsClient(self.kbs.port).request("POST", "/_test/expire")
        self.assertEqual(resp.status, 200)
        self.assertGreaterEqual(resp.json()["expired"], 1)
        self.assert_error(client.request("GET", "/kbs/v0/resource/default/sample/test"), 401, "ExpiredCookie")


class ResourceTest(ServerTestBase):
    def test_resource_jwe_each_algorithm(self):
        for kind, alg in (("P-256", "ECDH-ES+A256KW"), ("P-521", "ECDH-ES+A256KW"), ("RSA", "RSA-OAEP-256")):
            client, private = self.attested_client(kind)
            resp = client.request("GET", "/kbs/v0/resource/default/sample/test")
            self.assertEqual(resp.status, 200, resp.body)
            jwe = resp.json()
            self.assertEqual(sorted(jwe), ["ciphertext", "encrypted_key", "iv", "protected", "tag"])
            header = jwe_decoder.header_of(jwe)
            self.assertEqual(header["alg"], alg)
            self.assertEqual(header["enc"], "A256GCM")
            if kind != "RSA":
                self.assertEqual(list(header), ["alg", "enc", "epk"])
                self.assertEqual(header["epk"]["crv"], kind)
                self.assertEqual(len(jwe_decoder.unb64url(jwe["encrypted_key"])), 40)
            self.assertEqual(len(jwe_decoder.unb64url(jwe["iv"])), 12)
            self.assertEqual(len(jwe_decoder.unb64url(jwe["tag"])), 16)
            self.assertEqual(jwe_decoder.decrypt(private, jwe), RESOURCE)

    def test_resource_before_attest_rejected(self):
        self.client.auth()
        self.assert_error(self.client.request("GET", "/kbs/v0/resource/default/sample/test"), 401, "UnAttested")

    def test_resource_without_cookie_rejected(self):
        self.assert_error(self.client.request("GET", "/kbs/v0/resource/default/sample/test"), 401,
                          "UnAuthenticatedCookie")

    def test_unknown_resource_is_404(self):
        client, _ = self.attested_client()
        self.assert_error(client.request("GET", "/kbs/v0/resource/default/sample/none"), 404, "ResourceNotFound")

    def test_bad_resource_path_is_404(self):
        client, _ = self.attested_client()
        self.assert_error(client.request("GET", "/kbs/v0/resource/default/sample"), 404, "InvalidRequestPath")

    def test_resource_policy_denied(self):
        client, _ = self.attested_client()
        self.assert_error(client.request("GET", "/kbs/v0/resource/default/restricted/key"), 403, "PolicyDeny")
        last = self.decisions()[-1]
        self.assertEqual((last["event"], last["decision"], last["resource"]),
                         ("resource", "deny", "default/restricted/key"))

    def test_bearer_token_access(self):
        client = KbsClient(self.kbs.port)
        nonce = client.auth().json()["nonce"]
        private, jwk = tee_key("P-256")
        token = client.attest(nonce, jwk, self.guest.evidence(nonce, jwk)).json()["token"]
        other = KbsClient(self.kbs.port)
        resp = other.request("GET", "/kbs/v0/resource/default/sample/test",
                             headers={"Authorization": "Bearer " + token})
        self.assertEqual(resp.status, 200, resp.body)
        self.assertEqual(jwe_decoder.decrypt(private, resp.json()), RESOURCE)

    def test_forged_token_rejected(self):
        resp = self.client.request("GET", "/kbs/v0/resource/default/sample/test",
                                   headers={"Authorization": "Bearer a.b.c"})
        self.assert_error(resp, 401, "TokenVerifierError")

    def test_keep_alive_carries_several_requests(self):
        client, private = self.attested_client()
        conn = http.client.HTTPConnection("127.0.0.1", self.kbs.port, timeout=10)
        for _ in range(3):
            conn.request("GET", "/kbs/v0/resource/default/sample/test",
                         headers={"Cookie": "kbs-session-id=" + client.cookie})
            resp = conn.getresponse()
            self.assertEqual(resp.status, 200)
            self.assertEqual(jwe_decoder.decrypt(private, json.loads(resp.read())), RESOURCE)
        conn.close()

    def test_chunked_request_body(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.kbs.port, timeout=10)
        body = json.dumps({"version": "0.4.0", "tee": "snp", "extra-params": ""}).encode()
        conn.request("POST", "/kbs/v0/auth", body=iter([body[:10], body[10:]]),
                     headers={"Transfer-Encoding": "chunked", "Content-Type": "application/json"},
                     encode_chunked=True)
        resp = conn.getresponse()
        self.assertEqual(resp.status, 200)
        self.assertIn("nonce", json.loads(resp.read()))
        conn.close()


class UnwrapPluginTest(ServerTestBase):
    def wrap(self, key_id="kek1", key=b"K" * 32, aad=b"image-uuid", token=ADMIN_TOKEN):
        headers = {"Authorization": "Bearer " + token} if token else {}
        return self.client.request("POST", "/kbs/v0/tpmboot-unwrap/wrap", {
            "key-id": key_id, "aad": base64.b64encode(aad).decode(), "key": base64.b64encode(key).decode(),
        }, headers=headers)

    def test_wrap_unwrap_round_trip(self):
        key = os.urandom(32)
        resp = self.wrap(key=key)
        self.assertEqual(resp.status, 200, resp.body)
        body = resp.json()
        self.assertEqual(body["key-id"], "kek1")
        wrapped = base64.b64decode(body["wrapped"], validate=True)
        self.assertEqual(len(wrapped), 12 + 32 + 16)
        with open(self.kek_path) as f:
            kek = bytes.fromhex(f.read().strip())
        self.assertEqual(AESGCM(kek).decrypt(wrapped[:12], wrapped[12:], b"image-uuid"), key)

        client, private = self.attested_client()
        resp = client.request("POST", "/kbs/v0/tpmboot-unwrap/unwrap", {
            "key-id": "kek1", "aad": base64.b64encode(b"image-uuid").decode(), "wrapped": body["wrapped"]})
        self.assertEqual(resp.status, 200, resp.body)
        self.assertEqual(jwe_decoder.decrypt(private, resp.json()), key)
        last = self.decisions()[-1]
        self.assertEqual((last["event"], last["decision"], last["key_id"]), ("unwrap", "allow", "kek1"))

    def test_wrap_without_admin_token(self):
        self.assert_error(self.wrap(token=None), 401, "AdminAuthAccess")

    def test_wrap_with_wrong_admin_token(self):
        self.assert_error(self.wrap(token="nope"), 401, "AdminAuthAccess")

    def test_wrap_unknown_key_id(self):
        self.assert_error(self.wrap(key_id="missing"), 404, "KeyNotFound")

    def test_wrap_bad_base64(self):
        resp = self.client.request("POST", "/kbs/v0/tpmboot-unwrap/wrap",
                                   {"key-id": "kek1", "aad": "", "key": "not_base64-url"},
                                   headers={"Authorization": "Bearer " + ADMIN_TOKEN})
        self.assert_error(resp, 400, "InvalidRequest")

    def test_wrap_unpadded_base64_rejected(self):
        resp = self.client.request("POST", "/kbs/v0/tpmboot-unwrap/wrap",
                                   {"key-id": "kek1", "aad": "", "key": "QUJD RA"},
                                   headers={"Authorization": "Bearer " + ADMIN_TOKEN})
        self.assert_error(resp, 400, "InvalidRequest")

    def test_wrap_empty_key_rejected(self):
        self.assert_error(self.wrap(key=b""), 400, "InvalidRequest")

    def test_unwrap_malformed(self):
        client, _ = self.attested_client()
        for body in (b"[1,2]", b"{", json.dumps({"aad": "", "wrapped": ""}).encode(),
                     json.dumps({"key-id": "kek1", "aad": "", "wrapped": "AAAA"}).encode()):
            resp = client.request("POST", "/kbs/v0/tpmboot-unwrap/unwrap", body, raw=True)
            self.assertEqual(resp.status, 400, body)

    def test_unwrap_unknown_key_id(self):
        client, _ = self.attested_client()
        resp = client.request("POST", "/kbs/v0/tpmboot-unwrap/unwrap",
                              {"key-id": "missing", "aad": "", "wrapped": base64.b64encode(bytes(40)).decode()})
        self.assert_error(resp, 404, "KeyNotFound")

    def test_unwrap_without_session(self):
        resp = self.client.request("POST", "/kbs/v0/tpmboot-unwrap/unwrap",
                                   {"key-id": "kek1", "aad": "", "wrapped": base64.b64encode(bytes(40)).decode()})
        self.assert_error(resp, 401, "UnAuthenticatedCookie")

    def test_unwrap_expired_session(self):
        client, _ = self.attested_client()
        KbsClient(self.kbs.port).request("POST", "/_test/expire")
        resp = client.request("POST", "/kbs/v0/tpmboot-unwrap/unwrap",
                              {"key-id": "kek1", "aad": "", "wrapped": base64.b64encode(bytes(40)).decode()})
        self.assert_error(resp, 401, "ExpiredCookie")

    def test_unwrap_policy_denied(self):
        wrapped = self.wrap(key_id="restricted-kek").json()["wrapped"]
        client, _ = self.attested_client()
        resp = client.request("POST", "/kbs/v0/tpmboot-unwrap/unwrap", {
            "key-id": "restricted-kek", "aad": base64.b64encode(b"image-uuid").decode(), "wrapped": wrapped})
        self.assert_error(resp, 403, "PolicyDeny")

    def test_unwrap_wrong_aad(self):
        wrapped = self.wrap().json()["wrapped"]
        client, _ = self.attested_client()
        resp = client.request("POST", "/kbs/v0/tpmboot-unwrap/unwrap", {
            "key-id": "kek1", "aad": base64.b64encode(b"other-uuid").decode(), "wrapped": wrapped})
        self.assert_error(resp, 400, "UnwrapFailed")

    def test_kek_file_created_as_hex(self):
        with open(self.kek_path) as f:
            text = f.read().strip()
        self.assertRegex(text, r"^[0-9a-f]{64}$")
        self.assertEqual(os.stat(self.kek_path).st_mode & 0o777, 0o600)


class Pkcs11PluginTest(ServerTestBase):
    def test_wrap_key_round_trip(self):
        secret = os.urandom(32)
        resp = self.client.request("POST", "/kbs/v0/pkcs11/wrap-key", secret, raw=True,
                                   headers={"Authorization": "Bearer " + ADMIN_TOKEN})
        self.assertEqual(resp.status, 200, resp.body)
        self.assertEqual(len(resp.body), 256)
        with open(self.pkcs11_key_path, "rb") as f:
            rsa_key = serialization.load_pem_private_key(f.read(), password=None)
        oaep = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
        self.assertEqual(rsa_key.decrypt(resp.body, oaep), secret)

        client, private = self.attested_client("P-521")
        resp2 = client.request("GET", "/kbs/v0/pkcs11/wrap-key", resp.body, raw=True)
        self.assertEqual(resp2.status, 200, resp2.body)
        self.assertEqual(jwe_decoder.decrypt(private, resp2.json()), secret)

    def test_wrap_key_requires_admin(self):
        resp = self.client.request("POST", "/kbs/v0/pkcs11/wrap-key", b"x", raw=True)
        self.assert_error(resp, 401, "AdminAuthAccess")

    def test_unwrap_requires_attestation(self):
        self.client.auth()
        resp = self.client.request("GET", "/kbs/v0/pkcs11/wrap-key", bytes(256), raw=True)
        self.assert_error(resp, 401, "UnAttested")

    def test_unwrap_garbage_rejected(self):
        client, _ = self.attested_client()
        resp = client.request("GET", "/kbs/v0/pkcs11/wrap-key", bytes(256), raw=True)
        self.assert_error(resp, 401, "PluginInternalError")

    def test_resource_store_and_fetch(self):
        resp = self.client.request("POST", "/kbs/v0/pkcs11/resource/repo/type/tag", b"stored", raw=True,
                                   headers={"Authorization": "Bearer " + ADMIN_TOKEN})
        self.assertEqual(resp.status, 200)
        client, private = self.attested_client()
        resp = client.request("GET", "/kbs/v0/pkcs11/resource/repo/type/tag")
        self.assertEqual(resp.status, 200, resp.body)
        self.assertEqual(jwe_decoder.decrypt(private, resp.json()), b"stored")


class FaultTest(ServerTestBase):
    def test_refuse(self):
        self.set_faults([{"name": "refuse", "path": "/kbs/v0/auth", "count": 1}])
        with self.assertRaises((http.client.RemoteDisconnected, ConnectionResetError)):
            self.client.auth()
        self.assertEqual(self.client.auth().status, 200)

    def test_wrong_nonce(self):
        self.set_faults([{"name": "wrong-nonce"}])
        nonce = self.client.auth().json()["nonce"]
        _, jwk = tee_key("P-256")
        self.assert_error(self.client.attest(nonce, jwk, self.guest.evidence(nonce, jwk)), 401, "AttestationError")

    def test_malformed_json(self):
        self.set_faults([{"name": "malformed-json", "path": "/kbs/v0/auth"}])
        resp = self.client.auth()
        self.assertEqual(resp.status, 200)
        with self.assertRaises(ValueError):
            json.loads(resp.body)

    def test_bad_jwe_tag(self):
        client, private = self.attested_client()
        self.set_faults([{"name": "bad-jwe-tag"}])
        resp = client.request("GET", "/kbs/v0/resource/default/sample/test")
        self.assertEqual(resp.status, 200)
        with self.assertRaises(InvalidTag):
            jwe_decoder.decrypt(private, resp.json())

    def test_http_500(self):
        self.set_faults([{"name": "http-500", "path": "/kbs/v0/auth"}])
        self.assertEqual(self.client.auth().status, 500)

    def test_slow(self):
        self.set_faults([{"name": "slow", "arg": "400", "count": 1}])
        start = time.monotonic()
        self.assertEqual(self.client.auth().status, 200)
        self.assertGreaterEqual(time.monotonic() - start, 0.4)

    def test_cut(self):
        self.set_faults([{"name": "cut", "path": "/kbs/v0/auth"}])
        with self.assertRaises(http.client.IncompleteRead):
            self.client.auth()

    def test_wrong_cookie(self):
        self.set_faults([{"name": "wrong-cookie"}])
        nonce = self.client.auth().json()["nonce"]
        _, jwk = tee_key("P-256")
        resp = self.client.attest(nonce, jwk, self.guest.evidence(nonce, jwk))
        self.assert_error(resp, 401, "UnAuthenticatedCookie")

    def test_unknown_fault_rejected(self):
        resp = self.client.request("POST", "/_test/faults", {"faults": [{"name": "explode"}]})
        self.assertEqual(resp.status, 400)

    def test_fault_count_consumed(self):
        self.set_faults([{"name": "http-500", "count": 2}])
        self.assertEqual([self.client.auth().status for _ in range(3)], [500, 500, 200])


class CommandLineFaultTest(ServerTestBase):
    extra_args = ["--fault", "http-500@/kbs/v0/attest#1", "--fault", "slow:300@/kbs/v0/auth"]

    def setUp(self):
        self.client = KbsClient(self.kbs.port)
        self.guest = SnpGuest(self.pki)

    def test_faults_from_command_line(self):
        start = time.monotonic()
        nonce = self.client.auth().json()["nonce"]
        self.assertGreaterEqual(time.monotonic() - start, 0.3)
        _, jwk = tee_key("P-256")
        evidence = self.guest.evidence(nonce, jwk)
        self.assertEqual(self.client.attest(nonce, jwk, evidence).status, 500)
        self.assertEqual(self.client.attest(nonce, jwk, evidence).status, 200)


class ReleaseKeyTest(ServerTestBase):
    """--release-key: tpmboot-unwrap responses carry a release-signature."""

    @classmethod
    def class_args(cls):
        cls.release_path = os.path.join(cls.workdir, "release.pem")
        return ["--release-key", cls.release_path]

    def unwrap(self, client=None, key=b"R" * 32, headers=None):
        resp = self.client.request("POST", "/kbs/v0/tpmboot-unwrap/wrap", {
            "key-id": "kek1", "aad": "", "key": base64.b64encode(key).decode(),
        }, headers={"Authorization": "Bearer " + ADMIN_TOKEN})
        self.assertEqual(resp.status, 200, resp.body)
        return client.request("POST", "/kbs/v0/tpmboot-unwrap/unwrap", {
            "key-id": "kek1", "aad": "", "wrapped": resp.json()["wrapped"]}, headers=headers)

    def attested(self):
        """Return (client, TEE private key, JWK, nonce bytes) of an attested session."""
        client = KbsClient(self.kbs.port)
        nonce = client.auth().json()["nonce"]
        private, jwk = tee_key("P-256")
        resp = client.attest(nonce, jwk, self.guest.evidence(nonce, jwk))
        self.assertEqual(resp.status, 200, resp.body)
        return client, private, jwk, base64.b64decode(nonce), resp.json()["token"]

    def pinned_key(self):
        with open(self.release_path + ".pub", "rb") as f:
            return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), f.read())

    def signature_valid(self, jwe, nonce, jwk):
        """Check the signature over M, built here from the text of docs/kbs-protocol.md."""
        key_text = "{" + ",".join('"%s":"%s"' % (k, jwk[k]) for k in sorted(("alg", "crv", "kty", "x", "y"))) + "}"
        message = b"svsm-tpmboot kbs-unwrap release v1\0" + nonce + key_text.encode()
        for name in ("protected", "encrypted_key", "iv", "ciphertext", "tag"):
            message += jwe[name].encode() + b"\0"
        raw = kbs_jwe.b64url_decode(jwe["release-signature"])
        self.assertEqual(len(raw), 64)
        der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
        try:
            self.pinned_key().verify(der, message, ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            return False
        return True

    def test_key_files_written(self):
        with open(self.release_path, "rb") as f:
            private = serialization.load_pem_private_key(f.read(), password=None)
        with open(self.release_path + ".pub", "rb") as f:
            public = f.read()
        self.assertEqual(len(public), 65)
        self.assertEqual(public, private.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint))
        self.assertEqual(os.stat(self.release_path).st_mode & 0o777, 0o600)

    def test_existing_key_reused(self):
        with open(self.release_path + ".pub", "rb") as f:
            before = f.read()
        other = KbsProcess(["--release-key", self.release_path], self.workdir)
        other.stop()
        with open(self.release_path + ".pub", "rb") as f:
            self.assertEqual(f.read(), before)

    def test_non_p256_key_rejected(self):
        path = os.path.join(self.workdir, "p384.pem")
        with open(path, "wb") as f:
            f.write(ec.generate_private_key(ec.SECP384R1()).private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
        with self.assertRaisesRegex(RuntimeError, "is not a P-256 private key"):
            KbsProcess(["--release-key", path], self.workdir)

    def test_unwrap_signed(self):
        client, private, jwk, nonce, _ = self.attested()
        resp = self.unwrap(client)
        self.assertEqual(resp.status, 200, resp.body)
        jwe = resp.json()
        self.assertEqual(sorted(jwe), ["ciphertext", "encrypted_key", "iv", "protected",
                                       "release-signature", "tag"])
        self.assertTrue(self.signature_valid(jwe, nonce, jwk))
        self.assertFalse(self.signature_valid(jwe, bytes(32), jwk))
        self.assertEqual(jwe_decoder.decrypt(private, jwe), b"R" * 32)

    def test_token_session_signed_over_nonce(self):
        _, private, jwk, nonce, token = self.attested()
        resp = self.unwrap(KbsClient(self.kbs.port), headers={"Authorization": "Bearer " + token})
        self.assertEqual(resp.status, 200, resp.body)
        self.assertTrue(self.signature_valid(resp.json(), nonce, jwk))

    def test_resource_unsigned(self):
        client, private, _, _, _ = self.attested()
        resp = client.request("GET", "/kbs/v0/resource/default/sample/test")
        self.assertEqual(resp.status, 200, resp.body)
        self.assertNotIn("release-signature", resp.json())
        self.assertEqual(jwe_decoder.decrypt(private, resp.json()), RESOURCE)

    def test_release_faults(self):
        fake = bytes([0x5A]) * 32
        cases = (("release-strip", None, b"R" * 32),
                 ("release-other-nonce", False, b"R" * 32),
                 ("release-swap-jwe", False, fake),
                 ("release-fake-kbs", False, fake))
        for name, valid, plaintext in cases:
            with self.subTest(fault=name):
                self.set_faults([{"name": name, "count": 1}])
                client, private, jwk, nonce, _ = self.attested()
                jwe = self.unwrap(client).json()
                if valid is None:
                    self.assertNotIn("release-signature", jwe)
                else:
                    self.assertEqual(self.signature_valid(jwe, nonce, jwk), valid)
                self.assertEqual(jwe_decoder.decrypt(private, jwe), plaintext)


class StartupTest(unittest.TestCase):
    def test_non_loopback_listen_rejected(self):
        import subprocess
        from kbs_testlib import SERVER
        proc = subprocess.run([sys.executable, SERVER, "--listen", "0.0.0.0:0"], capture_output=True, timeout=30)
        self.assertEqual(proc.returncode, 2)
        self.assertIn(b"--listen host must be a loopback address", proc.stderr)

    def test_bad_kek_file_rejected(self):
        import subprocess
        from kbs_testlib import SERVER
        workdir = new_workdir()
        path = os.path.join(workdir, "short.hex")
        with open(path, "w") as f:
            f.write("abcd\n")
        proc = subprocess.run([sys.executable, SERVER, "--kek", "k=" + path], capture_output=True, timeout=30)
        self.assertEqual(proc.returncode, 2)
        self.assertIn(b"contains 2 bytes, expected 32", proc.stderr)

    def test_listen_line_and_port(self):
        kbs = KbsProcess([], new_workdir())
        try:
            with socket.create_connection(("127.0.0.1", kbs.port), timeout=5):
                pass
            self.assertGreater(kbs.port, 0)
        finally:
            kbs.stop()
        self.assertIn("KBS started on 127.0.0.1:%d" % kbs.port, kbs.server_log())


if __name__ == "__main__":
    unittest.main(verbosity=2)

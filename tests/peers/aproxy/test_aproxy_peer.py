#!/usr/bin/python3
"""Tests of aproxy_peer.py: a guest written here runs the four-message protocol against it."""

import atexit
import base64
import hashlib
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "kbs"))

from cryptography.exceptions import InvalidTag  # noqa: E402
from cryptography.hazmat.primitives import hashes  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # noqa: E402
from cryptography.hazmat.primitives.kdf.concatkdf import ConcatKDFHash  # noqa: E402
from cryptography.hazmat.primitives.keywrap import aes_key_unwrap  # noqa: E402

import snp_testpki  # noqa: E402

PEER = os.path.join(HERE, "aproxy_peer.py")
SECRET = bytes(range(32))
MEASUREMENT = bytes([0x5A]) * 48


def make_tempdir(prefix):
    """Return a new temporary directory that is removed when the test process exits."""
    path = tempfile.mkdtemp(prefix=prefix)
    atexit.register(shutil.rmtree, path, True)
    return path


def send_message(sock, obj):
    payload = json.dumps(obj).encode()
    sock.sendall(struct.pack("<Q", len(payload)) + payload)


def recv_exact(sock, length):
    data = b""
    while len(data) < length:
        chunk = sock.recv(length - len(data))
        if not chunk:
            raise EOFError("stream closed after %d of %d bytes" % (len(data), length))
        data += chunk
    return data


def recv_message(sock):
    (length,) = struct.unpack("<Q", recv_exact(sock, 8))
    if length > 1 << 20:
        raise ValueError("length %d too large" % length)
    return json.loads(recv_exact(sock, length))


class Guest:
    """Plays the SVSM side of the protocol with a fresh P-521 key."""

    def __init__(self, pki, measurement=MEASUREMENT):
        self.pki = pki
        self.measurement = measurement
        self.key = ec.generate_private_key(ec.SECP521R1())
        numbers = self.key.public_key().public_numbers()
        self.x = numbers.x.to_bytes(66, "big")
        self.y = numbers.y.to_bytes(66, "big")

    def report(self, nonce, report_data=None, signing_key=None):
        fields = snp_testpki.default_fields()
        fields["measurement"] = self.measurement
        fields["report_data"] = report_data if report_data is not None else hashlib.sha512(self.x + self.y + nonce).digest()
        return snp_testpki.write_report(fields, signing_key or self.pki.vcek_key)

    def run(self, sock, version=(0, 1, 0), challenge_override=None, **report_args):
        send_message(sock, {"version": list(version), "tee": "snp"})
        negotiation = recv_message(sock)
        nonce = base64.b64decode(negotiation["challenge"])
        self.negotiation = negotiation
        b64 = lambda data: base64.b64encode(data).decode()  # noqa: E731
        send_message(sock, {
            "tee": "snp",
            "evidence": {"Snp": {"report": b64(self.report(nonce, **report_args))}},
            "challenge": b64(challenge_override if challenge_override is not None else nonce),
            "key": {"x": b64(self.x), "y": b64(self.y)},
        })
        return recv_message(sock)

    def decrypt(self, response):
        """RFC 7518 ECDH-ES+A256KW then A256GCM, as the SVSM's AttestationDriver::decrypt does."""
        d = response["decryption"]
        epk = ec.EllipticCurvePublicNumbers(int.from_bytes(base64.b64decode(d["epk"]["x"]), "big"),
                                            int.from_bytes(base64.b64decode(d["epk"]["y"]), "big"),
                                            ec.SECP521R1()).public_key()
        z = self.key.exchange(ec.ECDH(), epk)
        other_info = struct.pack(">I", 14) + b"ECDH-ES+A256KW" + struct.pack(">III", 0, 0, 256)
        kek = ConcatKDFHash(hashes.SHA256(), 32, other_info).derive(z)
        cek = aes_key_unwrap(kek, base64.b64decode(d["wrapped_cek"]))
        sealed = base64.b64decode(response["secret"]) + base64.b64decode(d["tag"])
        return AESGCM(cek).decrypt(base64.b64decode(d["iv"]), sealed, base64.b64decode(d["aad"]))


class PeerProcess:
    def __init__(self, args, tcp=False):
        self.workdir = make_tempdir(prefix="aproxy-test-")
        self.path = os.path.join(self.workdir, "aproxy.sock")
        self.log_path = os.path.join(self.workdir, "peer.log")
        self.log_file = open(self.log_path, "wb")
        where = ["--listen", "127.0.0.1:0"] if tcp else ["--unix", self.path]
        self.proc = subprocess.Popen([sys.executable, PEER] + where + list(args),
                                     stdout=subprocess.PIPE, stderr=self.log_file)
        line = self.proc.stdout.readline().decode().strip()
        if not line.startswith("listening on "):
            self.stop()
            raise RuntimeError("peer did not start: %r\n%s" % (line, self.log()))
        self.address = line[len("listening on "):]

    def connect(self):
        if self.address.startswith("unix:"):
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.connect(self.address[5:])
        else:
            host, port = self.address.rsplit(":", 1)
            sock = socket.create_connection((host, int(port)))
        sock.settimeout(20)
        return sock

    def log(self):
        with open(self.log_path, "r", errors="replace") as f:
            return f.read()

    def wait_for_log(self, text, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.log():
                return
            time.sleep(0.05)
        raise AssertionError("peer log lacks %r:\n%s" % (text, self.log()))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.proc.stdout.close()
        self.log_file.close()


class AproxyPeerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pki = snp_testpki.TestPki()
        cls.anchor_dir = make_tempdir(prefix="aproxy-amd-")
        cls.pki.write(cls.anchor_dir)

    def start(self, *extra, tcp=False):
        peer = PeerProcess(["--secret", SECRET.hex(), "--measurement", MEASUREMENT.hex()] + list(extra), tcp=tcp)
        self.addCleanup(peer.stop)
        return peer

    def test_secret_released_over_unix(self):
        peer = self.start()
        guest = Guest(self.pki)
        with peer.connect() as sock:
            response = guest.run(sock)
        self.assertEqual(guest.negotiation["params"], ["EcPublicKeyBytes", "Challenge"])
        self.assertEqual(len(base64.b64decode(guest.negotiation["challenge"])), 32)
        self.assertTrue(response["success"])
        self.assertEqual(sorted(response["decryption"]), ["aad", "epk", "iv", "tag", "wrapped_cek"])
        self.assertEqual(len(base64.b64decode(response["decryption"]["wrapped_cek"])), 40)
        self.assertEqual(len(base64.b64decode(response["decryption"]["epk"]["x"])), 66)
        self.assertIn("Jwt", response["token"])
        self.assertEqual(guest.decrypt(response), SECRET)
        peer.wait_for_log("session 1: end (secret released)")

    def test_aad_is_protected_header(self):
        peer = self.start()
        guest = Guest(self.pki)
        with peer.connect() as sock:
            response = guest.run(sock)
        aad = base64.b64decode(response["decryption"]["aad"]).decode("ascii")
        header = json.loads(base64.urlsafe_b64decode(aad + "=" * (-len(aad) % 4)))
        self.assertEqual(list(header), ["alg", "enc", "epk"])
        self.assertEqual((header["alg"], header["enc"], header["epk"]["crv"]), ("ECDH-ES+A256KW", "A256GCM", "P-521"))

    def test_secret_released_over_tcp(self):
        peer = self.start(tcp=True)
        self.assertRegex(peer.address, r"^127\.0\.0\.1:\d+$")
        guest = Guest(self.pki)
        with peer.connect() as sock:
            self.assertEqual(guest.decrypt(guest.run(sock)), SECRET)

    def test_wrong_binding_rejected(self):
        peer = self.start()
        guest = Guest(self.pki)
        with peer.connect() as sock:
            response = guest.run(sock, report_data=bytes(64))
        self.assertEqual(response, {"success": False, "decryption": None, "token": None})
        peer.wait_for_log("is not SHA-512(x || y || nonce)")

    def test_binding_check_can_be_disabled(self):
        peer = self.start("--no-binding-check")
        guest = Guest(self.pki)
        with peer.connect() as sock:
            response = guest.run(sock, report_data=bytes(64))
        self.assertTrue(response["success"])

    def test_wrong_measurement_rejected(self):
        peer = self.start()
        guest = Guest(self.pki, measurement=bytes(48))
        with peer.connect() as sock:
            self.assertFalse(guest.run(sock)["success"])
        peer.wait_for_log("measurement %s does not match" % bytes(48).hex())

    def test_challenge_must_echo(self):
        peer = self.start()
        guest = Guest(self.pki)
        with peer.connect() as sock:
            self.assertFalse(guest.run(sock, challenge_override=os.urandom(32))["success"])
        peer.wait_for_log("challenge does not echo")

    def test_wrong_version_closes(self):
        peer = self.start()
        guest = Guest(self.pki)
        with peer.connect() as sock:
            with self.assertRaises(EOFError):
                guest.run(sock, version=(0, 2, 0))
        peer.wait_for_log("unsupported negotiation version [0, 2, 0]")

    def test_big_endian_length_rejected(self):
        peer = self.start()
        with peer.connect() as sock:
            payload = b'{"version":[0,1,0],"tee":"snp"}'
            sock.sendall(struct.pack(">Q", len(payload)) + payload)
            try:
                answer = sock.recv(10)
            except ConnectionResetError:
                answer = b""
            self.assertEqual(answer, b"")
        peer.wait_for_log("exceeds 1048576")

    def test_signature_checked_with_trust_anchor(self):
        peer = self.start("--trust-anchor", self.anchor_dir)
        guest = Guest(self.pki)
        with peer.connect() as sock:
            self.assertTrue(guest.run(sock)["success"])
        rogue = ec.generate_private_key(ec.SECP384R1())
        with peer.connect() as sock:
            self.assertFalse(Guest(self.pki).run(sock, signing_key=rogue)["success"])
        peer.wait_for_log("report signature does not verify")

    def test_fault_bad_tag(self):
        peer = self.start("--fault", "bad-tag")
        guest = Guest(self.pki)
        with peer.connect() as sock:
            response = guest.run(sock)
        self.assertTrue(response["success"])
        with self.assertRaises(InvalidTag):
            guest.decrypt(response)

    def test_fault_fail(self):
        peer = self.start("--fault", "fail")
        with peer.connect() as sock:
            self.assertFalse(Guest(self.pki).run(sock)["success"])

    def test_fault_truncate(self):
        peer = self.start("--fault", "truncate")
        with peer.connect() as sock:
            with self.assertRaises(EOFError):
                Guest(self.pki).run(sock)

    def test_fault_huge_length(self):
        peer = self.start("--fault", "huge-length")
        with peer.connect() as sock:
            with self.assertRaisesRegex(ValueError, "too large"):
                Guest(self.pki).run(sock)

    def test_fault_garbage_json(self):
        peer = self.start("--fault", "garbage-json")
        with peer.connect() as sock:
            with self.assertRaises(ValueError):
                Guest(self.pki).run(sock)

    def test_fault_close_after_negotiation(self):
        peer = self.start("--fault", "close-after-negotiation")
        with peer.connect() as sock:
            with self.assertRaises((EOFError, BrokenPipeError, ConnectionResetError)):
                Guest(self.pki).run(sock)


if __name__ == "__main__":
    unittest.main(verbosity=2)

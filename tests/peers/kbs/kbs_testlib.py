"""Test helpers: start the test KBS as a subprocess and talk RCAR to it.

TPMBOOT_SHARED_DIR names the shared vectors directory (meson passes
shared_dir); without it the directory next to the repository is used.
"""

import atexit
import base64
import hashlib
import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

from cryptography.hazmat.primitives.asymmetric import ec, rsa

import snp_testpki

HERE = os.path.dirname(os.path.abspath(__file__))
SERVER = os.path.join(HERE, "kbs_server.py")
REPO = os.path.abspath(os.path.join(HERE, "..", "..", ".."))


def shared_dir():
    return os.environ.get("TPMBOOT_SHARED_DIR") or os.path.join(os.path.dirname(REPO), "shared")


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def ec_jwk(private_key, crv):
    size = {"P-256": 32, "P-384": 48, "P-521": 66}[crv]
    numbers = private_key.public_key().public_numbers()
    return {"kty": "EC", "crv": crv, "alg": "ECDH-ES+A256KW",
            "x": b64url(numbers.x.to_bytes(size, "big")), "y": b64url(numbers.y.to_bytes(size, "big"))}


def rsa_jwk(private_key):
    numbers = private_key.public_key().public_numbers()
    n = numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")
    return {"kty": "RSA", "alg": "RSA-OAEP-256", "n": b64url(n), "e": b64url(numbers.e.to_bytes(3, "big"))}


def tee_key(kind):
    """Return (private key, JWK) for kind "P-256", "P-384", "P-521" or "RSA"."""
    if kind == "RSA":
        key = rsa.generate_private_key(65537, 2048)
        return key, rsa_jwk(key)
    curve = {"P-256": ec.SECP256R1, "P-384": ec.SECP384R1, "P-521": ec.SECP521R1}[kind]
    key = ec.generate_private_key(curve())
    return key, ec_jwk(key, kind)


class KbsProcess:
    """A kbs_server.py subprocess on 127.0.0.1 with an ephemeral port."""

    def __init__(self, args, workdir):
        self.log_path = os.path.join(workdir, "kbs-%d.log" % time.monotonic_ns())
        self.log_file = open(self.log_path, "wb")
        self.proc = subprocess.Popen([sys.executable, SERVER, "--listen", "127.0.0.1:0"] + list(args),
                                     stdout=subprocess.PIPE, stderr=self.log_file)
        line = self.proc.stdout.readline().decode()
        if not line.startswith("listening on 127.0.0.1:"):
            self.stop()
            with open(self.log_path, "r", errors="replace") as f:
                raise RuntimeError("KBS did not start: %r\n%s" % (line, f.read()))
        self.port = int(line.strip().rsplit(":", 1)[1])

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        self.log_file.close()

    def server_log(self):
        with open(self.log_path, "r", errors="replace") as f:
            return f.read()


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body)


class KbsClient:
    """RCAR client with a cookie jar of one cookie."""

    def __init__(self, port, timeout=10):
        self.port = port
        self.timeout = timeout
        self.cookie = None

    def request(self, method, path, body=None, headers=None, raw=False):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        try:
            hdrs = dict(headers or {})
            if body is not None and not raw:
                body = json.dumps(body).encode()
                hdrs.setdefault("Content-Type", "application/json")
            if self.cookie and "Cookie" not in hdrs:
                hdrs["Cookie"] = "kbs-session-id=" + self.cookie
            conn.request(method, path, body=body, headers=hdrs)
            resp = conn.getresponse()
            data = resp.read()
            set_cookie = resp.getheader("Set-Cookie")
            if set_cookie and set_cookie.startswith("kbs-session-id="):
                self.cookie = set_cookie.split(";", 1)[0].split("=", 1)[1]
            return Response(resp.status, resp, data)
        finally:
            conn.close()

    def auth(self, tee="snp", version="0.4.0"):
        return self.request("POST", "/kbs/v0/auth",
                            {"version": version, "tee": tee, "extra-params": ""})

    def attest(self, nonce, jwk, primary_evidence, additional=""):
        return self.request("POST", "/kbs/v0/attest", {
            "init-data": None,
            "runtime-data": {"nonce": nonce, "tee-pubkey": jwk},
            "tee-evidence": {"primary_evidence": primary_evidence, "additional_evidence": additional},
        })


class SnpGuest:
    """Plays the guest: builds bound, signed SNP evidence for a nonce and a TEE key."""

    def __init__(self, pki, fields=None, vcek=None):
        self.pki = pki
        self.fields = fields or snp_testpki.default_fields()
        self.vcek_key, self.vcek = vcek or (pki.vcek_key, pki.vcek)

    def evidence(self, nonce, jwk, with_vcek=True, report_data=None, signing_key=None, **overrides):
        fields = dict(self.fields)
        fields.update(overrides)
        fields["report_data"] = report_data if report_data is not None else kbs_jcs_binding(nonce, jwk)
        raw = snp_testpki.write_report(fields, signing_key or self.vcek_key)
        chain = [("VCEK", self.vcek)] if with_vcek else None
        return snp_testpki.evidence_json(fields, raw, chain)


def kbs_jcs_binding(nonce, jwk):
    """Report data for the binding, computed with hashlib over a hand-built canonical text."""
    names = ("kty", "crv", "alg", "x", "y") if jwk["kty"] == "EC" else ("kty", "alg", "n", "e")
    members = sorted((name, jwk[name]) for name in names)
    key_text = "{" + ",".join('"%s":"%s"' % (k, v) for k, v in members) + "}"
    text = '{"additional-evidence":"","nonce":"%s","tee-pubkey":%s}' % (nonce, key_text)
    return hashlib.sha384(text.encode()).digest() + bytes(16)


def new_workdir():
    """Return a new temporary directory that is removed when the test process exits."""
    path = tempfile.mkdtemp(prefix="kbs-test-")
    atexit.register(shutil.rmtree, path, True)
    return path


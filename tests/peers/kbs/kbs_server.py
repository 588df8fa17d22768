#!/usr/bin/python3
"""Test Key Broker Service speaking the Trustee KBS protocol 0.4.0 (RCAR).

Endpoints (all under /kbs/v0):
  POST auth                       start a session, return a nonce, set kbs-session-id
  POST attest                     verify SNP or TDX evidence and the runtime-data binding
  GET  resource/<repo>/<type>/<tag>   return a stored resource as a JWE
  POST tpmboot-unwrap/wrap        admin: wrap a key under a named AES-256-GCM KEK
  POST tpmboot-unwrap/unwrap      attested: unwrap a key, return it as a JWE (signed with --release-key)
  POST pkcs11/wrap-key            admin: RSA-OAEP-256 encrypt the raw body
  GET  pkcs11/wrap-key            attested: RSA-OAEP-256 decrypt the raw body, return a JWE
  POST pkcs11/resource/<r>/<t>/<g>    admin: store a resource
  GET  pkcs11/resource/<r>/<t>/<g>    attested: return it as a JWE
The protocol and the tpmboot-unwrap plugin are described in docs/kbs-protocol.md.
It is a test peer: it listens on loopback addresses only.
"""

import argparse
import datetime
import email.utils
import hmac
import json
import logging
import os
import socket
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import kbs_jcs  # noqa: E402
import kbs_jwe  # noqa: E402
import kbs_release  # noqa: E402
import snp_evidence  # noqa: E402
import tdx_evidence  # noqa: E402
from kbs_faults import Fault, FaultSet  # noqa: E402
from kbs_policy import Policy, PolicyDenied  # noqa: E402

PROTOCOL_VERSION = "0.4.0"
SUPPORTED_TEES = ("snp", "tdx")
ERROR_TYPE_PREFIX = "https://github.com/confidential-containers/kbs/errors/"
MAX_BODY = 1 << 20
MAX_WRAP_KEY = 1024
# Byte that fills the Key1 a fake KBS substitutes (fault release-fake-kbs).
FAKE_KEY_BYTE = 0x5A

log = logging.getLogger("kbs")


class KbsError(Exception):
    """An error response with an RFC 7807-style body {"type", "detail"}."""

    def __init__(self, status, kind, detail):
        super().__init__(detail)
        self.status = status
        self.kind = kind
        self.detail = detail


def unauthorized(kind, detail):
    return KbsError(401, kind, detail)


class Session:
    """One kbs-session-id: its nonce, state, expiry and, once attested, the TEE key and measurement."""

    def __init__(self, session_id, tee, nonce, expires):
        self.id = session_id
        self.tee = tee
        self.nonce = nonce
        self.expires = expires
        self.attested = False
        self.tee_pubkey = None
        self.measurement = None


class KbsState:
    """Everything the request handlers share; guarded by one lock."""

    def __init__(self, args):
        self.lock = threading.Lock()
        self.sessions = {}
        self.session_timeout = args.session_timeout
        self.token_lifetime = args.token_lifetime
        self.policy = Policy.load(args.policy) if args.policy else Policy()

        self.anchor = snp_evidence.TrustAnchor(args.trust_anchor) if args.trust_anchor else None
        self.vcek = snp_evidence.load_certificates(args.vcek)[0] if args.vcek else None
        self.faults = FaultSet(Fault.parse(spec) for spec in args.fault)
        self.test_control = args.test_control
        self.decision_log = open(args.decision_log, "a", encoding="utf-8") if args.decision_log else None

        self.resources = {}
        for spec in args.resource:
            path, file_path = _split_assignment(spec, "--resource")
            if len(path.strip("/").split("/")) != 3:
                raise ValueError("--resource path must be <repo>/<type>/<tag>, got %r" % path)
            with open(file_path, "rb") as f:
                self.resources[path.strip("/")] = f.read()

        self.keks = {}
        for spec in args.kek:
            key_id, file_path = _split_assignment(spec, "--kek")
            self.keks[key_id] = _load_or_create_kek(file_path)

        self.admin_token = None
        if args.admin_token_file:
            with open(args.admin_token_file, "r", encoding="utf-8") as f:
                self.admin_token = f.read().strip()
            if not self.admin_token:
                raise ValueError("admin token file %s is empty" % args.admin_token_file)

        self.pkcs11_key = _load_or_create_rsa(args.pkcs11_key)
        self.pkcs11_resources = {}
        self.token_key = ec.generate_private_key(ec.SECP256R1())
        self.release_key = kbs_release.load_or_create(args.release_key, log) if args.release_key else None

    def log_decision(self, event, session, decision, reason, **extra):
        """Append one JSON line describing a policy or verification decision."""
        record = {
            "time": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds"),
            "event": event,
            "session": session.id if session else None,
            "tee": session.tee if session else None,
            "decision": decision,
            "reason": reason,
        }
        record.update(extra)
        log.info("decision %s %s: %s", event, decision, reason)
        if self.decision_log:
            with self.lock:
                self.decision_log.write(json.dumps(record, sort_keys=True) + "\n")
                self.decision_log.flush()


def _split_assignment(spec, option):
    if "=" not in spec:
        raise ValueError("%s expects NAME=FILE, got %r" % (option, spec))
    name, value = spec.split("=", 1)
    if not name or not value:
        raise ValueError("%s expects NAME=FILE, got %r" % (option, spec))
    return name, value


def _load_or_create_kek(path):
    """Read a 32-byte KEK as 64 hex digits, or create the file with a random one."""
    if os.path.exists(path):
        with open(path, "r", encoding="ascii") as f:
            text = f.read().strip()
        try:
            kek = bytes.fromhex(text)
        except ValueError:
            raise ValueError("KEK file %s must contain 64 hex digits" % path) from None
        if len(kek) != 32:
            raise ValueError("KEK file %s contains %d bytes, expected 32 (AES-256)" % (path, len(kek)))
        return kek
    kek = os.urandom(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(kek.hex() + "\n")
    log.info("generated KEK file %s", path)
    return kek


def _load_or_create_rsa(path):
    """Load the pkcs11 plugin's RSA key (PEM), or generate one and save it when a path is given."""
    if path and os.path.exists(path):
        with open(path, "rb") as f:
            key = serialization.load_pem_private_key(f.read(), password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ValueError("pkcs11 key %s is not an RSA private key" % path)
        return key
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if path:
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(pem)
        log.info("generated pkcs11 RSA key file %s", path)
    return key


def _oaep():
    return padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=None)


def _http_date(timestamp):
    return email.utils.formatdate(timestamp, usegmt=True)


class KbsHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 request handler; one instance per connection."""

    protocol_version = "HTTP/1.1"
    server_version = "tpmboot-test-kbs/1"

    # ---- plumbing -------------------------------------------------------

    @property
    def state(self):
        return self.server.kbs_state

    def log_message(self, fmt, *args):
        log.info("%s %s", self.address_string(), fmt % args)

    def _read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked()
        length = self.headers.get("Content-Length")
        if length is None:
            return b""
        if not length.isdigit():
            raise KbsError(400, "InvalidRequest", "Content-Length %r is not a number" % length)
        length = int(length)
        if length > MAX_BODY:
            raise KbsError(413, "InvalidRequest", "request body of %d bytes exceeds %d" % (length, MAX_BODY))
        return self.rfile.read(length)

    def _read_chunked(self):
        body = b""
        while True:
            line = self.rfile.readline(64).strip()
            try:
                size = int(line.split(b";")[0], 16)
            except ValueError:
                raise KbsError(400, "InvalidRequest", "invalid chunk size line %r" % line) from None
            if size == 0:
                while self.rfile.readline(1024).strip():
                    pass
                return body
            if len(body) + size > MAX_BODY:
                raise KbsError(413, "InvalidRequest", "chunked request body exceeds %d bytes" % MAX_BODY)
            body += self.rfile.read(size)
            self.rfile.readline(8)

    def _send(self, status, body, content_type="application/json", headers=()):
        """Send a response, applying the malformed-json and cut faults."""
        faults = self.state.faults
        if content_type == "application/json" and faults.take("malformed-json", self.path):
            body = b'{"malformed": ' + body[: len(body) // 2]
        cut = faults.take("cut", self.path)
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        if cut:
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.wfile.write(body)

    def _send_json(self, status, obj, headers=()):
        # Compact, as serde_json writes it in Trustee.
        self._send(status, json.dumps(obj, separators=(",", ":")).encode("utf-8"), headers=headers)

    def _send_error(self, err):
        log.warning("%s %s -> %d %s: %s", self.command, self.path, err.status, err.kind, err.detail)
        self._send_json(err.status, {"type": ERROR_TYPE_PREFIX + err.kind, "detail": err.detail})

    def _dispatch(self):
        """Read the request, apply request-level faults, route it and send the response."""
        try:
            body = self._read_body()
        except KbsError as err:
            self.close_connection = True
            self._send_error(err)
            return
        faults = self.state.faults
        if faults.take("refuse", self.path):
            log.warning("fault refuse: closing the connection for %s %s", self.command, self.path)
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        slow = faults.take("slow", self.path)
        if slow:
            time.sleep(slow.arg / 1000.0)
        if faults.take("http-500", self.path):
            self._send_json(500, {"type": ERROR_TYPE_PREFIX + "InternalError", "detail": "injected fault http-500"})
            return
        try:
            self._route(body)
        except KbsError as err:
            self._send_error(err)
        except Exception:  # a bug here must still produce a response and a log line
            log.exception("unhandled error in %s %s", self.command, self.path)
            self._send_json(500, {"type": ERROR_TYPE_PREFIX + "InternalError", "detail": "internal error"})

    def do_GET(self):
        self._dispatch()

    def do_POST(self):
        self._dispatch()

    def do_DELETE(self):
        self._dispatch()

    def _route(self, body):
        path = self.path.split("?", 1)[0]
        method = self.command
        if path.startswith("/_test/") and self.state.test_control:
            return self._test_control(method, path, body)
        prefix = "/kbs/v0/"
        if not path.startswith(prefix):
            raise KbsError(404, "InvalidRequestPath", "Request path %s is invalid" % path)
        rest = path[len(prefix):]
        plugin, _, sub = rest.partition("/")
        if plugin == "auth" and not sub and method == "POST":
            return self._auth(body)
        if plugin == "attest" and not sub and method == "POST":
            return self._attest(body)
        if plugin == "resource" and method == "GET":
            return self._resource(sub)
        if plugin == "tpmboot-unwrap" and method == "POST" and sub in ("wrap", "unwrap"):
            return self._unwrap_plugin(sub, body)
        if plugin == "pkcs11":
            return self._pkcs11(method, sub, body)
        if plugin in ("auth", "attest", "resource", "tpmboot-unwrap"):
            raise KbsError(404, "InvalidRequestPath", "%s %s is not an endpoint of this KBS" % (method, path))
        raise KbsError(404, "PluginNotFound", "Plugin %s not found" % plugin)

    # ---- helpers --------------------------------------------------------

    def _parse_json(self, body, status=401):
        try:
            obj = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise KbsError(status, "SerdeError", "request body is not valid JSON: %s" % exc) from None
        if not isinstance(obj, dict):
            raise KbsError(status, "SerdeError", "request body must be a JSON object")
        return obj

    def _cookie_session_id(self):
        header = self.headers.get("Cookie", "")
        for part in header.split(";"):
            name, _, value = part.strip().partition("=")
            if name == "kbs-session-id":
                return value
        return None

    def _session(self, require_attested):
        """Return the live session named by the cookie, or raise 401."""
        session_id = self._cookie_session_id()
        if session_id is None:
            raise unauthorized("UnAuthenticatedCookie", "no kbs-session-id cookie")
        with self.state.lock:
            session = self.state.sessions.get(session_id)
            if session is None:
                raise unauthorized("UnAuthenticatedCookie", "kbs-session-id %s names no session" % session_id)
            if time.time() > session.expires:
                del self.state.sessions[session_id]
                raise unauthorized("ExpiredCookie", "kbs-session-id %s has expired" % session_id)
        if require_attested and not session.attested:
            raise unauthorized("UnAttested", "session %s has not passed /attest" % session_id)
        return session

    def _token_session(self):
        """Return a pseudo-session from an Authorization: Bearer attestation token, or None."""
        header = self.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            return None
        claims = verify_token(self.state.token_key.public_key(), header[len("Bearer "):].strip())
        session = Session("token:" + claims["jti"], claims["tee"], claims.get("nonce"), claims["exp"])
        session.attested = True
        session.tee_pubkey = claims["tee-pubkey"]
        session.measurement = bytes.fromhex(claims["measurement"])
        return session

    def _attested_session(self):
        if self._cookie_session_id() is None:
            session = self._token_session()
            if session is not None:
                return session
        return self._session(require_attested=True)

    def _require_admin(self):
        if self.state.admin_token is None:
            raise unauthorized("AdminAuthAccess", "no admin token is configured (--admin-token-file)")
        header = self.headers.get("Authorization", "")
        presented = header[len("Bearer "):].strip() if header.startswith("Bearer ") else ""
        if not presented or not _ct_equal(presented.encode(), self.state.admin_token.encode()):
            raise unauthorized("AdminAuthAccess", "missing or wrong admin bearer token")

    def _send_jwe(self, session, plaintext, signed=False):
        """Send plaintext as a JWE to the session's key; signed responses get a release-signature."""
        faults = self.state.faults
        release_key = self.state.release_key if signed else None
        if signed and faults.take("release-fake-kbs", self.path):
            # A host playing the KBS: its own Key1, signed with its own key.
            log.warning("fault release-fake-kbs: sending a substituted key signed with another key")
            plaintext = bytes([FAKE_KEY_BYTE]) * len(plaintext)
            release_key = ec.generate_private_key(ec.SECP256R1())
        try:
            jwe = kbs_jwe.encrypt(session.tee_pubkey, plaintext)
        except ValueError as exc:
            raise unauthorized("JweError", "JWE failed: %s" % exc) from None
        if release_key is not None:
            jwe = self._sign_release(session, release_key, jwe, plaintext)
        if faults.take("bad-jwe-tag", self.path):
            tag = bytearray(kbs_jwe.b64url_decode(jwe["tag"]))
            tag[0] ^= 0x01
            jwe["tag"] = kbs_jwe.b64url_encode(bytes(tag))
        self._send_json(200, jwe)

    def _sign_release(self, session, release_key, jwe, plaintext):
        """Add the release-signature (kbs_release.py) and apply the release-* faults."""
        faults = self.state.faults
        if session.nonce is None:
            raise unauthorized("TokenVerifierError", "attestation token carries no nonce to sign")
        nonce = kbs_jwe.b64std_decode(session.nonce)
        if faults.take("release-other-nonce", self.path):
            nonce = os.urandom(len(nonce))
        jwe[kbs_release.MEMBER] = kbs_release.sign(release_key, nonce, session.tee_pubkey, jwe)
        if faults.take("release-swap-jwe", self.path):
            swapped = kbs_jwe.encrypt(session.tee_pubkey, bytes([FAKE_KEY_BYTE]) * len(plaintext))
            swapped[kbs_release.MEMBER] = jwe[kbs_release.MEMBER]
            jwe = swapped
        if faults.take("release-strip", self.path):
            del jwe[kbs_release.MEMBER]
        return jwe

    def _set_cookie(self, session_id, expires):
        return ("Set-Cookie", "kbs-session-id=%s; Expires=%s" % (session_id, _http_date(expires)))

    # ---- RCAR -----------------------------------------------------------

    def _auth(self, body):
        request = self._parse_json(body)
        version = request.get("version")
        if version != PROTOCOL_VERSION:
            raise unauthorized("AttestationError", "protocol version %r is not supported, expected %s"
                               % (version, PROTOCOL_VERSION))
        tee = request.get("tee")
        if tee not in SUPPORTED_TEES:
            raise unauthorized("AttestationError", "tee %r is not supported, expected one of %s"
                               % (tee, ", ".join(SUPPORTED_TEES)))
        if "extra-params" not in request:
            raise unauthorized("SerdeError", "auth request has no extra-params member")

        nonce = kbs_jwe.b64std_encode(os.urandom(32))
        session_id = uuid.uuid4().hex
        expires = time.time() + self.state.session_timeout
        with self.state.lock:
            now = time.time()
            for stale in [s for s in self.state.sessions.values() if s.expires < now]:
                del self.state.sessions[stale.id]
            self.state.sessions[session_id] = Session(session_id, tee, nonce, expires)
        log.info("session %s started for tee %s", session_id, tee)

        sent_nonce = nonce
        if self.state.faults.take("wrong-nonce", self.path):
            sent_nonce = kbs_jwe.b64std_encode(os.urandom(32))
        cookie_id = session_id
        if self.state.faults.take("wrong-cookie", self.path):
            cookie_id = uuid.uuid4().hex
        self._send_json(200, {"nonce": sent_nonce, "extra-params": ""},
                        headers=[self._set_cookie(cookie_id, expires)])

    def _attest(self, body):
        session = self._session(require_attested=False)
        request = self._parse_json(body)
        if request.get("init-data") is not None:
            raise unauthorized("AttestationError", "init-data is not supported by this KBS; send null")
        runtime = request.get("runtime-data")
        evidence = request.get("tee-evidence")
        if not isinstance(runtime, dict) or not isinstance(evidence, dict):
            raise unauthorized("SerdeError", "attest request needs runtime-data and tee-evidence objects")
        nonce = runtime.get("nonce")
        tee_pubkey = runtime.get("tee-pubkey")
        additional = evidence.get("additional_evidence", "")
        if not isinstance(tee_pubkey, dict) or not isinstance(additional, str):
            raise unauthorized("SerdeError", "tee-pubkey must be an object and additional_evidence a string")

        if nonce != session.nonce:
            self.state.log_decision("attest", session, "deny", "nonce does not match the session nonce")
            raise unauthorized("AttestationError", "runtime-data nonce does not match session %s" % session.id)
        try:
            kbs_jwe.public_key_from_jwk(tee_pubkey)
            expected = kbs_jcs.expected_report_data(nonce, tee_pubkey, additional)
        except ValueError as exc:
            self.state.log_decision("attest", session, "deny", "invalid tee-pubkey: %s" % exc)
            raise unauthorized("AttestationError", "invalid tee-pubkey: %s" % exc) from None

        try:
            measurement, report_data = self._verify_evidence(session, evidence.get("primary_evidence"))
        except (snp_evidence.EvidenceError, PolicyDenied) as exc:
            self.state.log_decision("attest", session, "deny", str(exc))
            raise unauthorized("AttestationError", "attestation failed: %s" % exc) from None
        if report_data != expected:
            reason = "report data %s does not match the runtime-data binding %s" % (report_data.hex(), expected.hex())
            self.state.log_decision("attest", session, "deny", reason, measurement=measurement.hex())
            raise unauthorized("AttestationError", reason)

        with self.state.lock:
            session.attested = True
            session.tee_pubkey = kbs_jcs.tee_pubkey_member(tee_pubkey)
            session.measurement = measurement
            session.expires = time.time() + self.state.session_timeout
        self.state.log_decision("attest", session, "allow", "evidence verified and policy satisfied",
                                measurement=measurement.hex())
        token = make_token(self.state.token_key, session, self.state.token_lifetime)
        self._send_json(200, {"token": token}, headers=[self._set_cookie(session.id, session.expires)])

    def _verify_evidence(self, session, primary):
        """Verify the primary evidence for the session's TEE; return (measurement, report data)."""
        policy = self.state.policy
        if session.tee == "snp":
            if self.state.anchor is None:
                raise snp_evidence.EvidenceError("no trust anchor is configured (--trust-anchor)")
            _, report = snp_evidence.verify_snp_evidence(primary, self.state.anchor, self.state.vcek)
            policy.check_snp(report)
            return bytes(report["measurement"]), bytes(report["report_data"])
        quote = tdx_evidence.verify_tdx_evidence(primary)
        policy.check_tdx(quote)
        return quote["mrtd"], quote["report_data"]

    def _resource(self, sub):
        parts = sub.split("/")
        if len(parts) != 3 or not all(parts):
            raise KbsError(404, "InvalidRequestPath", "resource path must be <repo>/<type>/<tag>, got %r" % sub)
        session = self._attested_session()
        data = self.state.resources.get(sub)
        if data is None:
            raise KbsError(404, "ResourceNotFound", "resource %s not found" % sub)
        try:
            self.state.policy.check_resource(sub, session.measurement)
        except PolicyDenied as exc:
            self.state.log_decision("resource", session, "deny", str(exc), resource=sub)
            raise KbsError(403, "PolicyDeny", "Access denied by policy: %s" % exc) from None
        self.state.log_decision("resource", session, "allow", "resource released", resource=sub)
        self._send_jwe(session, data)

    # ---- plugin tpmboot-unwrap -------------------------------------------

    def _unwrap_plugin(self, action, body):
        if action == "wrap":
            self._require_admin()
        else:
            session = self._attested_session()
        request = self._parse_json(body, status=400)
        key_id = request.get("key-id")
        if not isinstance(key_id, str) or not key_id:
            raise KbsError(400, "InvalidRequest", "key-id must be a non-empty string")
        try:
            aad = kbs_jwe.b64std_decode(request.get("aad"))
            payload = kbs_jwe.b64std_decode(request.get("key" if action == "wrap" else "wrapped"))
        except ValueError as exc:
            raise KbsError(400, "InvalidRequest", "aad and %s must be standard base64 with padding: %s"
                           % ("key" if action == "wrap" else "wrapped", exc)) from None
        kek = self.state.keks.get(key_id)
        if kek is None:
            raise KbsError(404, "KeyNotFound", "no KEK named %s" % key_id)

        if action == "wrap":
            if not 1 <= len(payload) <= MAX_WRAP_KEY:
                raise KbsError(400, "InvalidRequest", "key must be 1 to %d bytes, got %d" % (MAX_WRAP_KEY, len(payload)))
            iv = os.urandom(12)
            wrapped = iv + AESGCM(kek).encrypt(iv, payload, aad)
            log.info("wrapped a %d-byte key under KEK %s", len(payload), key_id)
            self._send_json(200, {"key-id": key_id, "wrapped": kbs_jwe.b64std_encode(wrapped)})
            return

        if len(payload) < 12 + 16 + 1:
            raise KbsError(400, "InvalidRequest", "wrapped is %d bytes, shorter than iv(12) + tag(16) + 1" % len(payload))
        try:
            self.state.policy.check_key(key_id, session.measurement)
        except PolicyDenied as exc:
            self.state.log_decision("unwrap", session, "deny", str(exc), key_id=key_id)
            raise KbsError(403, "PolicyDeny", "Access denied by policy: %s" % exc) from None
        try:
            key = AESGCM(kek).decrypt(payload[:12], payload[12:], aad)
        except InvalidTag:
            self.state.log_decision("unwrap", session, "deny", "wrapped key failed GCM authentication", key_id=key_id)
            raise KbsError(400, "UnwrapFailed", "wrapped key failed authentication under KEK %s "
                           "(wrong aad, KEK or corrupted blob)" % key_id) from None
        self.state.log_decision("unwrap", session, "allow", "key unwrapped", key_id=key_id)
        self._send_jwe(session, key, signed=True)

    # ---- plugin pkcs11 (shape of Trustee's plugins/implementations/pkcs11.rs) ----

    def _pkcs11(self, method, sub, body):
        key = self.state.pkcs11_key
        if sub == "wrap-key":
            if method == "POST":
                self._require_admin()
                if not body:
                    raise unauthorized("PluginInternalError", "wrap-key needs the key bytes as the request body")
                try:
                    wrapped = key.public_key().encrypt(body, _oaep())
                except ValueError as exc:
                    raise unauthorized("PluginInternalError", "RSA-OAEP-256 encryption failed: %s" % exc) from None
                self._send(200, wrapped, content_type="application/octet-stream")
                return
            if method == "GET":
                session = self._attested_session()
                try:
                    plain = key.decrypt(body, _oaep())
                except ValueError:
                    self.state.log_decision("pkcs11-unwrap", session, "deny", "RSA-OAEP-256 decryption failed")
                    raise unauthorized("PluginInternalError", "unable to decrypt HTTP body with private wrap key") from None
                self.state.log_decision("pkcs11-unwrap", session, "allow", "key unwrapped")
                self._send_jwe(session, plain)
                return
            raise unauthorized("PluginInternalError", "invalid method %s for wrap-key" % method)
        action, _, desc = sub.partition("/")
        if action != "resource" or len(desc.split("/")) != 3 or not all(desc.split("/")):
            raise unauthorized("PluginInternalError", "invalid pkcs11 path %r" % sub)
        if method == "POST":
            self._require_admin()
            self.state.pkcs11_resources[desc] = body
            self._send(200, b"", content_type="application/octet-stream")
            return
        if method == "GET":
            session = self._attested_session()
            data = self.state.pkcs11_resources.get(desc)
            if data is None:
                raise unauthorized("PluginInternalError", "Could not find object with label %s" % desc)
            self.state.log_decision("pkcs11-resource", session, "allow", "resource released", resource=desc)
            self._send_jwe(session, data)
            return
        raise unauthorized("PluginInternalError", "Illegal HTTP method. Only supports GET and POST")

    # ---- test control -----------------------------------------------------

    def _test_control(self, method, path, body):
        if path == "/_test/faults":
            if method == "POST":
                request = self._parse_json(body, status=400)
                try:
                    faults = [Fault.from_json(obj) for obj in request.get("faults", [])]
                except ValueError as exc:
                    raise KbsError(400, "InvalidRequest", str(exc)) from None
                self.state.faults.replace(faults)
            elif method == "DELETE":
                self.state.faults.replace([])
            self._send_json(200, {"faults": self.state.faults.describe()})
            return
        if path == "/_test/expire" and method == "POST":
            with self.state.lock:
                for session in self.state.sessions.values():
                    session.expires = 0
            self._send_json(200, {"expired": len(self.state.sessions)})
            return
        raise KbsError(404, "InvalidRequestPath", "unknown test control path %s" % path)


def _ct_equal(a, b):
    return hmac.compare_digest(a, b)


def make_token(signing_key, session, lifetime):
    """Return an ES256 JWT carrying the session's TEE, measurement and tee-pubkey."""
    now = int(time.time())
    header = {"alg": "ES256", "typ": "JWT"}
    claims = {
        "iss": "tpmboot-test-kbs",
        "iat": now,
        "exp": now + lifetime,
        "jti": uuid.uuid4().hex,
        "tee": session.tee,
        "measurement": session.measurement.hex(),
        "tee-pubkey": session.tee_pubkey,
        "nonce": session.nonce,
    }
    signing_input = (kbs_jwe.b64url_encode(json.dumps(header, separators=(",", ":")).encode()) + "."
                     + kbs_jwe.b64url_encode(json.dumps(claims, separators=(",", ":")).encode()))
    r, s = decode_dss_signature(signing_key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
    return signing_input + "." + kbs_jwe.b64url_encode(r.to_bytes(32, "big") + s.to_bytes(32, "big"))


def verify_token(public_key, token):
    """Verify a token from make_token; return its claims or raise 401."""
    parts = token.split(".")
    if len(parts) != 3:
        raise unauthorized("TokenVerifierError", "attestation token is not a three-part JWT")
    try:
        sig = kbs_jwe.b64url_decode(parts[2])
        claims = json.loads(kbs_jwe.b64url_decode(parts[1]))
        if len(sig) != 64:
            raise ValueError("signature length %d" % len(sig))
        der = encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big"))
        public_key.verify(der, (parts[0] + "." + parts[1]).encode(), ec.ECDSA(hashes.SHA256()))
    except (ValueError, InvalidSignature) as exc:
        raise unauthorized("TokenVerifierError", "attestation token is invalid: %s" % (exc or "bad signature")) from None
    if claims.get("exp", 0) < time.time():
        raise unauthorized("TokenVerifierError", "attestation token has expired")
    return claims


def parse_listen(text):
    """Parse HOST:PORT and insist on a loopback host."""
    host, _, port = text.rpartition(":")
    if host not in ("127.0.0.1", "localhost", "::1", "[::1]") and not host.startswith("127."):
        raise ValueError("--listen host must be a loopback address, got %r" % host)
    if not port.isdigit():
        raise ValueError("--listen port must be a number, got %r" % port)
    return host.strip("[]"), int(port)


def build_arg_parser():
    parser = argparse.ArgumentParser(description="Test KBS speaking Trustee KBS protocol 0.4.0 on loopback.")
    parser.add_argument("--listen", default="127.0.0.1:0",
                        help="loopback HOST:PORT to listen on; port 0 picks a free port (default 127.0.0.1:0)")
    parser.add_argument("--trust-anchor", help="ARK certificate file, or a directory with ARK/ASK/VCEK certificates")
    parser.add_argument("--vcek", help="VCEK certificate (PEM or DER) used when the evidence carries none")
    parser.add_argument("--policy", help="policy JSON file (see kbs_policy.py); default rejects every measurement")
    parser.add_argument("--decision-log", help="append one JSON line per attestation or release decision to this file")
    parser.add_argument("--resource", action="append", default=[], metavar="REPO/TYPE/TAG=FILE",
                        help="serve FILE at /kbs/v0/resource/REPO/TYPE/TAG (repeatable)")
    parser.add_argument("--kek", action="append", default=[], metavar="ID=HEXFILE",
                        help="AES-256 KEK for tpmboot-unwrap as 64 hex digits; a missing file is created (repeatable)")
    parser.add_argument("--admin-token-file", help="file with the bearer token that admin endpoints require")
    parser.add_argument("--pkcs11-key", help="RSA private key (PEM) for the pkcs11 plugin; created when missing")
    parser.add_argument("--release-key", metavar="PEM",
                        help="P-256 private key that signs tpmboot-unwrap responses; created when missing, "
                             "and its raw 65-byte public key written to PEM.pub")
    parser.add_argument("--session-timeout", type=int, default=300, help="session lifetime in seconds (default 300)")
    parser.add_argument("--token-lifetime", type=int, default=300,
                        help="attestation token lifetime in seconds (default 300)")
    parser.add_argument("--fault", action="append", default=[], metavar="NAME[:ARG][@PATH][#COUNT]",
                        help="inject a fault (repeatable); names are listed in kbs_faults.py")
    parser.add_argument("--test-control", action="store_true",
                        help="enable /_test/faults and /_test/expire for tests")
    return parser


def main(argv=None):
    logging.basicConfig(stream=sys.stderr, level=logging.INFO,
                        format="%(asctime)s kbs %(levelname)s %(message)s")
    args = build_arg_parser().parse_args(argv)
    try:
        host, port = parse_listen(args.listen)
        state = KbsState(args)
    except (ValueError, OSError, snp_evidence.EvidenceError) as exc:
        log.error("invalid configuration: %s", exc)
        return 2
    server_class = ThreadingHTTPServer
    if ":" in host:
        class V6Server(ThreadingHTTPServer):
            address_family = socket.AF_INET6
        server_class = V6Server
    server = server_class((host, port), KbsHandler)
    server.daemon_threads = True
    server.kbs_state = state
    bound_host, bound_port = server.server_address[:2]
    log.info("KBS started on %s:%d (protocol %s)", bound_host, bound_port, PROTOCOL_VERSION)
    print("listening on %s:%d" % (bound_host, bound_port), flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        log.info("KBS stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())

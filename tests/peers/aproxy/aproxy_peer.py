#!/usr/bin/python3
"""Test peer for the COCONUT-SVSM attestation proxy protocol (aproxy, libaproxy 0.1.0).

Wire format (coconut-svsm/svsm f4bc4bcd, kernel/src/attest.rs and
tools/aproxy/src/attest.rs): every message is an 8-byte little-endian length
followed by that many bytes of JSON. One connection carries four messages:

  guest -> proxy  NegotiationRequest   {"version": [0, 1, 0], "tee": "snp"}
  proxy -> guest  NegotiationResponse  {"challenge": b64(nonce), "params": ["EcPublicKeyBytes", "Challenge"]}
  guest -> proxy  AttestationRequest   {"tee": "snp", "evidence": {"Snp": {"report": b64(1184 bytes)}},
                                        "challenge": b64(nonce), "key": {"x": b64(66), "y": b64(66)}}
  proxy -> guest  AttestationResponse  {"success": true, "secret": b64(ciphertext),
                                        "decryption": {"epk": {"x", "y"}, "wrapped_cek", "aad", "iv", "tag"},
                                        "token": {"Jwt": "..."}}
                                       or {"success": false, "decryption": null, "token": null}

after which the proxy reads until the guest closes. Byte fields are
standard base64 with padding. The key is P-521 and REPORT_DATA must be
SHA-512(x || y || nonce). The secret is encrypted as a JWE with
ECDH-ES+A256KW and A256GCM; "aad" carries the ASCII of the protected header.

Instead of forwarding to a KBS over HTTP, this peer plays the mock KBS that
upstream tests with (kbs-test): it checks the report's MEASUREMENT against
--measurement and releases --secret. It also checks the REPORT_DATA binding
(kbs-test does not; --no-binding-check turns it off) and, with
--trust-anchor, the report signature and VCEK chain.
"""

import argparse
import base64
import hashlib
import json
import logging
import os
import socket
import socketserver
import struct
import sys
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "kbs"))

import kbs_jwe  # noqa: E402
import snp_evidence  # noqa: E402

PROTOCOL_VERSION = [0, 1, 0]
REPORT_SIZE = 0x4A0
P521_SIZE = 66
MAX_MESSAGE = 1 << 20
FAULTS = ("fail", "bad-tag", "truncate", "huge-length", "garbage-json", "close-after-negotiation")

log = logging.getLogger("aproxy-peer")


class ProtocolError(Exception):
    """The guest broke the protocol; the connection is closed without a response."""


def read_exact(sock, length):
    data = bytearray()
    while len(data) < length:
        chunk = sock.recv(min(65536, length - len(data)))
        if not chunk:
            raise ProtocolError("guest closed the stream after %d of %d bytes" % (len(data), length))
        data.extend(chunk)
    return bytes(data)


def read_message(sock):
    """Read one length-prefixed JSON message and return the parsed object."""
    (length,) = struct.unpack("<Q", read_exact(sock, 8))
    if length > MAX_MESSAGE:
        raise ProtocolError("message length %d exceeds %d" % (length, MAX_MESSAGE))
    payload = read_exact(sock, length)
    try:
        return json.loads(payload)
    except ValueError as exc:
        raise ProtocolError("message is not JSON: %s" % exc) from None


def write_message(sock, obj, fault=None):
    payload = json.dumps(obj, separators=(",", ":")).encode()
    if fault == "garbage-json":
        payload = b"{" + payload[: len(payload) // 2]
    if fault == "huge-length":
        sock.sendall(struct.pack("<Q", 1 << 40) + payload)
        return
    if fault == "truncate":
        sock.sendall(struct.pack("<Q", len(payload)) + payload[: len(payload) // 2])
        sock.shutdown(socket.SHUT_WR)
        return
    sock.sendall(struct.pack("<Q", len(payload)) + payload)


def b64decode_field(value, name, size=None):
    try:
        data = base64.b64decode(value, validate=True)
    except (TypeError, ValueError):
        raise ProtocolError("%s is not standard base64" % name) from None
    if size is not None and len(data) != size:
        raise ProtocolError("%s is %d bytes, expected %d" % (name, len(data), size))
    return data


class MockKbs:
    """The checks and secret of the mock KBS behind the proxy."""

    def __init__(self, args):
        self.secret = bytes.fromhex(args.secret)
        self.measurement = bytes.fromhex(args.measurement) if args.measurement else None
        self.check_binding = not args.no_binding_check
        self.anchor = snp_evidence.TrustAnchor(args.trust_anchor) if args.trust_anchor else None
        self.vcek = snp_evidence.load_certificates(args.vcek)[0] if args.vcek else None
        self.faults = set(args.fault)

    def verify(self, report, key_x, key_y, nonce):
        """Return None when the evidence is accepted, else the reason."""
        if self.check_binding:
            expected = hashlib.sha512(key_x + key_y + nonce).digest()
            if report[0x50:0x90] != expected:
                return "REPORT_DATA %s is not SHA-512(x || y || nonce) %s" % (report[0x50:0x90].hex(), expected.hex())
        if self.measurement is not None and report[0x90:0xC0] != self.measurement:
            return "measurement %s does not match %s" % (report[0x90:0xC0].hex(), self.measurement.hex())
        if self.anchor is not None:
            vcek = self.vcek or self.anchor.vcek
            if vcek is None:
                return "no VCEK configured to check the report signature"
            try:
                snp_evidence.verify_chain(vcek, self.anchor.intermediates, self.anchor)
            except snp_evidence.EvidenceError as exc:
                return str(exc)
            if not snp_evidence.report_signature_valid(report, vcek.public_key()):
                return "report signature does not verify with the VCEK"
        return None

    def encrypt_secret(self, key_x, key_y):
        """Return the AttestationResponse decryption fields and ciphertext for the P-521 key."""
        jwk = {"kty": "EC", "crv": "P-521", "alg": "ECDH-ES+A256KW",
               "x": kbs_jwe.b64url_encode(key_x), "y": kbs_jwe.b64url_encode(key_y)}
        jwe = kbs_jwe.encrypt(jwk, self.secret)
        header = json.loads(kbs_jwe.b64url_decode(jwe["protected"]))
        tag = kbs_jwe.b64url_decode(jwe["tag"])
        if "bad-tag" in self.faults:
            tag = bytes([tag[0] ^ 1]) + tag[1:]
        b64 = kbs_jwe.b64std_encode
        decryption = {
            "epk": {"x": b64(kbs_jwe.b64url_decode(header["epk"]["x"])),
                    "y": b64(kbs_jwe.b64url_decode(header["epk"]["y"]))},
            "wrapped_cek": b64(kbs_jwe.b64url_decode(jwe["encrypted_key"])),
            "aad": b64(jwe["protected"].encode("ascii")),
            "iv": b64(kbs_jwe.b64url_decode(jwe["iv"])),
            "tag": b64(tag),
        }
        return b64(kbs_jwe.b64url_decode(jwe["ciphertext"])), decryption


class SessionHandler(socketserver.BaseRequestHandler):
    """One guest connection: negotiation, attestation, then drain until the guest closes."""

    def handle(self):
        kbs = self.server.mock_kbs
        sock = self.request
        sock.settimeout(self.server.timeout_s)
        session = self.server.next_session()
        log.info("session %d: start", session)
        try:
            outcome = self.run(sock, kbs, session)
        except ProtocolError as exc:
            outcome = "protocol error: %s" % exc
            log.warning("session %d: %s", session, outcome)
        except (OSError, socket.timeout) as exc:
            outcome = "connection error: %s" % exc
            log.warning("session %d: %s", session, outcome)
        log.info("session %d: end (%s)", session, outcome)

    def run(self, sock, kbs, session):
        request = read_message(sock)
        if not isinstance(request, dict) or request.get("version") != PROTOCOL_VERSION:
            raise ProtocolError("unsupported negotiation version %r" % (request.get("version")
                                                                      if isinstance(request, dict) else None))
        if request.get("tee") != "snp":
            raise ProtocolError("unsupported tee %r" % request.get("tee"))
        nonce = os.urandom(32)
        write_message(sock, {"challenge": kbs_jwe.b64std_encode(nonce), "params": ["EcPublicKeyBytes", "Challenge"]})
        if "close-after-negotiation" in kbs.faults:
            return "closed after negotiation (fault)"

        request = read_message(sock)
        if not isinstance(request, dict):
            raise ProtocolError("attestation request is not an object")
        reason = self.check_request(request, nonce, kbs)
        response_fault = next((f for f in ("truncate", "huge-length", "garbage-json") if f in kbs.faults), None)
        if reason is None and "fail" in kbs.faults:
            reason = "fault fail"
        if reason is not None:
            log.warning("session %d: attestation rejected: %s", session, reason)
            write_message(sock, {"success": False, "decryption": None, "token": None}, response_fault)
            self.drain(sock)
            return "rejected: " + reason

        key = request["key"]
        secret, decryption = kbs.encrypt_secret(base64.b64decode(key["x"]), base64.b64decode(key["y"]))
        token = "mock-kbs-token.%s" % kbs_jwe.b64url_encode(os.urandom(16))
        write_message(sock, {"success": True, "secret": secret, "decryption": decryption,
                             "token": {"Jwt": token}}, response_fault)
        self.drain(sock)
        return "secret released"

    def check_request(self, request, nonce, kbs):
        """Return None for a valid, accepted request, else the reason."""
        if request.get("tee") != "snp":
            return "tee %r is not snp" % request.get("tee")
        evidence = request.get("evidence")
        if not isinstance(evidence, dict) or not isinstance(evidence.get("Snp"), dict):
            return "evidence is not {\"Snp\": {...}}"
        try:
            report = b64decode_field(evidence["Snp"].get("report"), "evidence.Snp.report", REPORT_SIZE)
            challenge = b64decode_field(request.get("challenge"), "challenge")
            key = request.get("key")
            if not isinstance(key, dict):
                return "key is not an object"
            key_x = b64decode_field(key.get("x"), "key.x", P521_SIZE)
            key_y = b64decode_field(key.get("y"), "key.y", P521_SIZE)
        except ProtocolError as exc:
            return str(exc)
        if challenge != nonce:
            return "challenge does not echo the negotiation challenge"
        try:
            kbs_jwe.public_key_from_jwk({"kty": "EC", "crv": "P-521", "alg": "ECDH-ES+A256KW",
                                         "x": kbs_jwe.b64url_encode(key_x), "y": kbs_jwe.b64url_encode(key_y)})
        except ValueError as exc:
            return str(exc)
        return kbs.verify(report, key_x, key_y, nonce)

    def drain(self, sock):
        """Read until the guest closes its stream, as aproxy does after the response."""
        while True:
            try:
                if not sock.recv(65536):
                    return
            except (OSError, socket.timeout):
                return


class UnixServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


class TcpServer(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True


def build_arg_parser():
    parser = argparse.ArgumentParser(description="COCONUT aproxy protocol peer with a mock KBS behind it.")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--unix", metavar="PATH", help="listen on a Unix socket")
    where.add_argument("--listen", metavar="127.0.0.1:PORT", help="listen on loopback TCP; port 0 picks one")
    parser.add_argument("--secret", required=True, help="secret released on success, in hex")
    parser.add_argument("--measurement", help="required MEASUREMENT in hex (96 digits); any when absent")
    parser.add_argument("--no-binding-check", action="store_true",
                        help="accept any REPORT_DATA, as the kbs-test mock does")
    parser.add_argument("--trust-anchor", help="ARK/ASK (file or directory); enables report signature checks")
    parser.add_argument("--vcek", help="VCEK certificate for the signature check")
    parser.add_argument("--timeout", type=float, default=30.0, help="per-connection socket timeout in seconds")
    parser.add_argument("--fault", action="append", default=[], choices=FAULTS,
                        help="misbehave: fail, bad-tag, truncate, huge-length, garbage-json, close-after-negotiation")
    return parser


def main(argv=None):
    logging.basicConfig(stream=sys.stderr, level=logging.INFO,
                        format="%(asctime)s aproxy-peer %(levelname)s %(message)s")
    args = build_arg_parser().parse_args(argv)
    try:
        kbs = MockKbs(args)
        if args.unix:
            if os.path.exists(args.unix):
                os.unlink(args.unix)
            server = UnixServer(args.unix, SessionHandler)
            where = "unix:" + args.unix
        else:
            host, _, port = args.listen.rpartition(":")
            if not host.startswith("127.") and host != "localhost":
                raise ValueError("--listen host must be a loopback address, got %r" % host)
            server = TcpServer((host, int(port)), SessionHandler)
            where = "%s:%d" % server.server_address[:2]
    except (ValueError, OSError, snp_evidence.EvidenceError) as exc:
        log.error("invalid configuration: %s", exc)
        return 2

    server.mock_kbs = kbs
    server.timeout_s = args.timeout
    lock = threading.Lock()
    counter = [0]

    def next_session():
        with lock:
            counter[0] += 1
            return counter[0]

    server.next_session = next_session
    log.info("aproxy peer started on %s", where)
    print("listening on " + where, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        if args.unix and os.path.exists(args.unix):
            os.unlink(args.unix)
    return 0


if __name__ == "__main__":
    sys.exit(main())

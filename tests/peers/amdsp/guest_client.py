"""Test support: a Python guest for the simulator and a process wrapper.

The guest side here is written separately from snp_msg.py (struct layouts
and AES-GCM calls of its own), so that a misreading in one side shows up as
a failed round trip instead of being mirrored.
"""

import json
import os
import socket
import struct
import subprocess

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

HERE = os.path.dirname(os.path.abspath(__file__))
SIMULATOR = os.path.join(HERE, "amdsp.py")
PYTHON = "/usr/bin/python3"

PAGE = 4096


def shared_dir():
    """Return the shared vectors root: $TPMBOOT_SHARED_DIR or ../shared."""
    configured = os.environ.get("TPMBOOT_SHARED_DIR")
    if configured:
        return configured
    repo = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
    return os.path.join(os.path.dirname(repo), "shared")


def vector_path(name):
    return os.path.join(shared_dir(), "vectors", "attestation", name)


class GuestError(Exception):
    """A response that the guest must reject; reason names the check."""

    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


class SnpGuest:
    """Guest side of the SNP guest message protocol for one VMPCK.

    last_seqno plays the secrets-page OS area counter: a request uses
    last_seqno + 1 and a completed exchange adds 2.
    """

    def __init__(self, vmpck, vmpck_id=0, last_seqno=0, msg_version=1):
        self.vmpck = vmpck
        self.vmpck_id = vmpck_id
        self.last_seqno = last_seqno
        self.msg_version = msg_version

    def encrypt_request(self, msg_type, plaintext, seqno=None):
        """Return the 4 KiB request page for plaintext."""
        if seqno is None:
            seqno = self.last_seqno + 1
        aad = struct.pack("<BBHBBHIB35x", 1, 1, 0x60, msg_type,
                          self.msg_version, len(plaintext), 0, self.vmpck_id)
        nonce = seqno.to_bytes(8, "little") + bytes(4)
        sealed = AESGCM(self.vmpck).encrypt(nonce, plaintext, aad)
        header = sealed[-16:] + bytes(16) + struct.pack("<Q8x", seqno) + aad
        page = header + sealed[:-16]
        return page + bytes(PAGE - len(page))

    def report_request(self, user_data, vmpl=0, key_sel=0, seqno=None):
        body = user_data + struct.pack("<II", vmpl, key_sel) + bytes(24)
        return self.encrypt_request(5, body, seqno)

    def decrypt_response(self, page, request_seqno, request_type=5):
        """Check and decrypt a response page the way a careful guest does."""
        if len(page) < 0x60:
            raise GuestError("short page")
        seqno = struct.unpack_from("<Q", page, 0x20)[0]
        algo, hdr_version, hdr_sz, msg_type, msg_version, msg_sz = \
            struct.unpack_from("<BBHBBH", page, 0x30)
        vmpck_id = page[0x3C]
        if seqno != request_seqno + 1:
            raise GuestError("seqno")
        if msg_type != request_type + 1:
            raise GuestError("type")
        if msg_version != self.msg_version:
            raise GuestError("version")
        if algo != 1 or hdr_version != 1 or hdr_sz != 0x60:
            raise GuestError("header")
        if vmpck_id != self.vmpck_id:
            raise GuestError("vmpck")
        if 0x60 + msg_sz > len(page) or msg_sz + 16 > 4000:
            raise GuestError("size")
        nonce = seqno.to_bytes(8, "little") + bytes(4)
        ciphertext = bytes(page[0x60:0x60 + msg_sz]) + bytes(page[0:16])
        try:
            return AESGCM(self.vmpck).decrypt(nonce, ciphertext,
                                              bytes(page[0x30:0x60]))
        except InvalidTag:
            raise GuestError("tag")

    def complete(self):
        """Advance the counter after an exchange the firmware consumed."""
        self.last_seqno += 2


def split_report_response(plaintext):
    status, size = struct.unpack_from("<II", plaintext, 0)
    return status, size, plaintext[0x20:0x20 + size]


class Simulator:
    """Runs amdsp.py on a loopback port or a Unix socket; stop() ends it."""

    def __init__(self, args, unix_path=None):
        where = (["--unix", unix_path] if unix_path
                 else ["--listen", "127.0.0.1:0"])
        self.process = subprocess.Popen(
            [PYTHON, SIMULATOR] + where + list(args),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.process.stdout.readline().strip()
        if not line.startswith("listening on "):
            self.process.kill()
            _, errors = self.process.communicate(timeout=10)
            raise RuntimeError("simulator did not start: %r %s"
                               % (line, errors[-2000:]))
        self.address = line[len("listening on "):]
        self.log_text = None

    def connect(self):
        if self.address.startswith("unix:"):
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.connect(self.address[len("unix:"):])
        else:
            host, _, port = self.address.rpartition(":")
            sock = socket.create_connection((host, int(port)), timeout=60)
        sock.settimeout(60)
        return sock

    def stop(self):
        """Terminate the process; return its log (stderr) as a list."""
        if self.process.poll() is None:
            self.process.terminate()
        _, errors = self.process.communicate(timeout=20)
        self.log_text = errors
        records = []
        for line in errors.splitlines():
            if line.startswith("{"):
                records.append(json.loads(line))
        return records


def exchange(sock, kind, payload, certs_pages=0):
    """Send one framed request; return (kind, certs_pages, exit_info2,
    payload) from the response. Framing written independently of
    framing.py."""
    sock.sendall(b"TBSQ" + struct.pack("<HHII", 1, kind, certs_pages,
                                       len(payload)) + payload)
    header = _recv(sock, 24)
    magic, version, rkind, rpages, length, exit_info2 = struct.unpack(
        "<4sHHIIQ", header)
    if magic != b"TBSR" or version != 1:
        raise GuestError("framing")
    return rkind, rpages, exit_info2, _recv(sock, length)


def control(sock, message):
    _, _, exit_info2, payload = exchange(sock, 0x80,
                                         json.dumps(message).encode())
    if exit_info2 != 0:
        raise GuestError("control exit_info2")
    return json.loads(payload)


def _recv(sock, size):
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise GuestError("eof")
        data += chunk
    return data

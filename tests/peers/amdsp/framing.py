"""Socket framing between the simulator and its clients (host tests, the
QEMU harness). docs/amdsp-socket-protocol.md describes it for client
authors. All integers are little-endian.

request  = "TBSQ" u16 version=1, u16 kind, u32 certs_pages, u32 payload_len,
           payload
response = "TBSR" u16 version=1, u16 kind, u32 certs_pages, u32 payload_len,
           u64 exit_info2, payload
"""

import struct

REQUEST_MAGIC = b"TBSQ"
RESPONSE_MAGIC = b"TBSR"
VERSION = 1
REQUEST_HEADER = struct.Struct("<4sHHII")
RESPONSE_HEADER = struct.Struct("<4sHHIIQ")

KIND_SNP_GUEST_REQUEST = 1
KIND_SNP_EXT_GUEST_REQUEST = 2
KIND_TDX_GET_QUOTE = 3
KIND_CONTROL = 0x80
KINDS = (KIND_SNP_GUEST_REQUEST, KIND_SNP_EXT_GUEST_REQUEST,
         KIND_TDX_GET_QUOTE, KIND_CONTROL)

# Upper bound on a request payload; a GetQuote buffer is 8 KiB in Linux.
MAX_PAYLOAD = 1 << 20


class FramingError(ValueError):
    """A frame with a wrong magic, version, kind or length."""


def _read_exactly(stream, size):
    """Read size bytes; return None on a clean EOF before the first byte."""
    chunks = []
    remaining = size
    while remaining:
        chunk = stream.recv(remaining)
        if not chunk:
            if remaining == size:
                return None
            raise FramingError("connection closed after %d of %d bytes"
                               % (size - remaining, size))
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def read_request(sock):
    """Read one request. Returns (kind, certs_pages, payload) or None at EOF."""
    header = _read_exactly(sock, REQUEST_HEADER.size)
    if header is None:
        return None
    magic, version, kind, certs_pages, length = REQUEST_HEADER.unpack(header)
    if magic != REQUEST_MAGIC:
        raise FramingError("request magic is %r, expected b'TBSQ'" % magic)
    if version != VERSION:
        raise FramingError("request version is %d, expected 1" % version)
    if kind not in KINDS:
        raise FramingError("request kind 0x%x is unknown" % kind)
    if length > MAX_PAYLOAD:
        raise FramingError("payload_len %d exceeds the %d-byte maximum"
                           % (length, MAX_PAYLOAD))
    payload = _read_exactly(sock, length) if length else b""
    if payload is None:
        raise FramingError("connection closed before the %d-byte payload"
                           % length)
    return kind, certs_pages, payload


def write_request(sock, kind, payload, certs_pages=0):
    sock.sendall(REQUEST_HEADER.pack(REQUEST_MAGIC, VERSION, kind,
                                     certs_pages, len(payload)) + payload)


def write_response(sock, kind, exit_info2, payload, certs_pages=0):
    sock.sendall(RESPONSE_HEADER.pack(RESPONSE_MAGIC, VERSION, kind,
                                      certs_pages, len(payload), exit_info2)
                 + payload)


def read_response(sock):
    """Read one response. Returns (kind, certs_pages, exit_info2, payload)."""
    header = _read_exactly(sock, RESPONSE_HEADER.size)
    if header is None:
        raise FramingError("connection closed before a response")
    magic, version, kind, certs_pages, length, exit_info2 = \
        RESPONSE_HEADER.unpack(header)
    if magic != RESPONSE_MAGIC or version != VERSION:
        raise FramingError("response magic/version is %r/%d" % (magic,
                                                               version))
    payload = _read_exactly(sock, length) if length else b""
    if payload is None:
        raise FramingError("connection closed before the %d-byte payload"
                           % length)
    return kind, certs_pages, exit_info2, payload

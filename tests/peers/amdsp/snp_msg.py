"""SEV-SNP guest message format (SNP_GUEST_REQUEST message header and AEAD).

Sources: AMD SEV-SNP firmware ABI specification, SNP_GUEST_REQUEST message
header; Linux drivers/virt/coco/sev-guest (struct snp_guest_msg_hdr).

Layout of the 0x60-byte header, all fields little-endian:
  0x00 authtag[32]   AES-GCM tag in bytes 0..15, bytes 16..31 zero
  0x20 msg_seqno u64 the AES-GCM IV is le64(msg_seqno) || 4 zero bytes
  0x28 rsvd1[8]
  0x30 algo u8       1 = AES-256-GCM
  0x31 hdr_version   1
  0x32 hdr_sz u16    0x60
  0x34 msg_type u8
  0x35 msg_version u8
  0x36 msg_sz u16    payload length (plaintext and ciphertext alike)
  0x38 rsvd2 u32
  0x3C msg_vmpck u8
  0x3D rsvd3[35]
The AAD is header bytes 0x30..0x5F; the payload follows the header.
"""

import struct

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PAGE_SIZE = 4096
HEADER_SIZE = 0x60
AAD_OFFSET = 0x30
TAG_SIZE = 16
MAX_PAYLOAD = PAGE_SIZE - HEADER_SIZE

AEAD_AES_256_GCM = 1
HEADER_VERSION = 1

MSG_KEY_REQ = 3
MSG_KEY_RSP = 4
MSG_REPORT_REQ = 5
MSG_REPORT_RSP = 6

# Header fields from algo (0x30) to msg_vmpck (0x3C); rsvd3 follows.
_AAD_FORMAT = "<BBHBBHIB"


class MessageError(ValueError):
    """A guest message that cannot be parsed or authenticated."""


class MessageHeader:
    """Decoded fields of a guest message header."""

    def __init__(self, msg_seqno, msg_type, msg_version, msg_sz, msg_vmpck,
                 algo=AEAD_AES_256_GCM, hdr_version=HEADER_VERSION,
                 hdr_sz=HEADER_SIZE, authtag=b"\x00" * 32,
                 reserved_nonzero=False):
        self.msg_seqno = msg_seqno
        self.msg_type = msg_type
        self.msg_version = msg_version
        self.msg_sz = msg_sz
        self.msg_vmpck = msg_vmpck
        self.algo = algo
        self.hdr_version = hdr_version
        self.hdr_sz = hdr_sz
        self.authtag = authtag
        self.reserved_nonzero = reserved_nonzero

    def aad(self):
        """Return header bytes 0x30..0x5F, the AES-GCM additional data."""
        fields = struct.pack(_AAD_FORMAT, self.algo, self.hdr_version,
                             self.hdr_sz, self.msg_type, self.msg_version,
                             self.msg_sz, 0, self.msg_vmpck)
        return fields + b"\x00" * (HEADER_SIZE - AAD_OFFSET - len(fields))

    def pack(self):
        return (self.authtag + struct.pack("<Q", self.msg_seqno)
                + b"\x00" * 8 + self.aad())

    def to_json(self):
        return {"msg_seqno": self.msg_seqno, "msg_type": self.msg_type,
                "msg_version": self.msg_version, "msg_sz": self.msg_sz,
                "msg_vmpck": self.msg_vmpck, "algo": self.algo,
                "hdr_version": self.hdr_version, "hdr_sz": self.hdr_sz}


def parse_header(page):
    """Decode the header at the start of page (at least 0x60 bytes)."""
    if len(page) < HEADER_SIZE:
        raise MessageError("message is %d bytes, shorter than the 0x60-byte "
                           "header" % len(page))
    authtag = bytes(page[0:32])
    (msg_seqno,) = struct.unpack_from("<Q", page, 0x20)
    (algo, hdr_version, hdr_sz, msg_type, msg_version, msg_sz, rsvd2,
     msg_vmpck) = struct.unpack_from(_AAD_FORMAT, page, AAD_OFFSET)
    reserved = bytes(page[0x28:0x30]) + bytes(page[0x3D:HEADER_SIZE])
    reserved_nonzero = any(reserved) or rsvd2 != 0
    return MessageHeader(msg_seqno, msg_type, msg_version, msg_sz, msg_vmpck,
                         algo=algo, hdr_version=hdr_version, hdr_sz=hdr_sz,
                         authtag=authtag, reserved_nonzero=reserved_nonzero)


def iv_for_seqno(msg_seqno):
    """Return the 12-byte AES-GCM IV: le64(msg_seqno) followed by 4 zeros."""
    return struct.pack("<Q", msg_seqno) + b"\x00" * 4


def seal(vmpck, header, plaintext):
    """Encrypt plaintext under vmpck and return header || ciphertext.

    header.msg_sz is set to len(plaintext) and header.authtag to the tag.
    """
    if len(vmpck) != 32:
        raise MessageError("VMPCK must be 32 bytes, got %d" % len(vmpck))
    if len(plaintext) > MAX_PAYLOAD:
        raise MessageError("payload of %d bytes exceeds the %d-byte maximum"
                           % (len(plaintext), MAX_PAYLOAD))
    header.msg_sz = len(plaintext)
    sealed = AESGCM(vmpck).encrypt(iv_for_seqno(header.msg_seqno),
                                   plaintext, header.aad())
    ciphertext, tag = sealed[:-TAG_SIZE], sealed[-TAG_SIZE:]
    header.authtag = tag + b"\x00" * (32 - TAG_SIZE)
    return header.pack() + ciphertext


def open_message(vmpck, page):
    """Authenticate and decrypt the message at the start of page.

    Returns (header, plaintext). Raises MessageError when the header sizes
    are inconsistent or the tag does not verify.
    """
    header = parse_header(page)
    if header.hdr_sz != HEADER_SIZE:
        raise MessageError("hdr_sz is 0x%x, expected 0x60" % header.hdr_sz)
    if HEADER_SIZE + header.msg_sz > len(page):
        raise MessageError("msg_sz %d does not fit in the %d-byte page"
                           % (header.msg_sz, len(page)))
    ciphertext = bytes(page[HEADER_SIZE:HEADER_SIZE + header.msg_sz])
    tag = header.authtag[:TAG_SIZE]
    aad = bytes(page[AAD_OFFSET:HEADER_SIZE])
    try:
        plaintext = AESGCM(vmpck).decrypt(iv_for_seqno(header.msg_seqno),
                                          ciphertext + tag, aad)
    except InvalidTag:
        raise MessageError("authentication tag does not verify (seqno %d, "
                           "VMPCK %d)" % (header.msg_seqno, header.msg_vmpck))
    return header, plaintext


def pad_page(message):
    """Return message zero-padded to one 4 KiB page."""
    if len(message) > PAGE_SIZE:
        raise MessageError("message of %d bytes exceeds one page"
                           % len(message))
    return message + b"\x00" * (PAGE_SIZE - len(message))

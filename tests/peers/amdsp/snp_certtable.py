"""Certificate table of the SNP extended guest request.

Source: GHCB specification, SNP Extended Guest Request; Linux
include/uapi/linux/sev-guest.h (struct snp_ext_report_req) and virtee/sev
certificate table handling. The buffer starts with 24-byte entries
{guid[16], u32 offset, u32 length} (little-endian) closed by an all-zero
entry; offsets count from the start of the buffer and the DER certificates
follow the table. GUID bytes are in RFC 4122 string order.
"""

import struct
import uuid

PAGE_SIZE = 4096
ENTRY_SIZE = 24

GUID_VCEK = "63da758d-e664-4564-adc5-f4b93be8accd"
GUID_VLEK = "a8074bc2-a25a-483e-aae6-39c045a0b8a1"
GUID_ASK = "4ab7b379-bbac-4fe4-a02f-05aef327c782"
GUID_ARK = "c0b406a4-a803-4952-9743-3fb6014cd0ae"

GUID_NAMES = {GUID_VCEK: "VCEK", GUID_VLEK: "VLEK", GUID_ASK: "ASK",
              GUID_ARK: "ARK"}


class CertTableError(ValueError):
    """A certificate table whose entries do not fit the buffer."""


def build_cert_table(entries):
    """Return the table for entries, a list of (GUID string, DER bytes)."""
    table_size = ENTRY_SIZE * (len(entries) + 1)
    table = bytearray()
    blobs = bytearray()
    for guid, blob in entries:
        offset = table_size + len(blobs)
        table += uuid.UUID(guid).bytes + struct.pack("<II", offset, len(blob))
        blobs += blob
    table += b"\x00" * ENTRY_SIZE
    return bytes(table + blobs)


def pages_needed(table):
    return (len(table) + PAGE_SIZE - 1) // PAGE_SIZE


def parse_cert_table(buffer):
    """Return [(GUID string, DER bytes)] from a certificate buffer.

    Stops at the first all-zero entry. Raises CertTableError when an entry
    points outside the buffer or the terminator is missing.
    """
    entries = []
    offset = 0
    while True:
        if offset + ENTRY_SIZE > len(buffer):
            raise CertTableError("certificate table has no zero terminator "
                                 "within %d bytes" % len(buffer))
        guid = bytes(buffer[offset:offset + 16])
        start, length = struct.unpack_from("<II", buffer, offset + 16)
        if not any(guid) and start == 0 and length == 0:
            return entries
        if start + length > len(buffer):
            raise CertTableError("entry %s spans %d..%d, beyond the %d-byte "
                                 "buffer" % (uuid.UUID(bytes=guid), start,
                                             start + length, len(buffer)))
        entries.append((str(uuid.UUID(bytes=guid)),
                        bytes(buffer[start:start + length])))
        offset += ENTRY_SIZE

"""Minimal DER reader and writer (ITU-T X.690) for the certificate fields
that python3-cryptography 38 cannot build or expose: RSASSA-PSS algorithm
identifiers and their parameters.
"""

TAG_INTEGER = 0x02
TAG_BIT_STRING = 0x03
TAG_OCTET_STRING = 0x04
TAG_NULL = 0x05
TAG_OID = 0x06
TAG_IA5_STRING = 0x16
TAG_SEQUENCE = 0x30


class DerError(ValueError):
    """Malformed or unexpected DER input."""


def encode_length(length):
    if length < 0x80:
        return bytes([length])
    body = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def encode_tlv(tag, value):
    return bytes([tag]) + encode_length(len(value)) + value


def encode_integer(number):
    """Encode a non-negative or negative INTEGER in minimal two's complement."""
    size = max(1, (number.bit_length() + 8) // 8)
    return encode_tlv(TAG_INTEGER, number.to_bytes(size, "big", signed=True))


def encode_oid(dotted):
    arcs = [int(part) for part in dotted.split(".")]
    if len(arcs) < 2:
        raise DerError("OID %r needs at least two arcs" % dotted)
    body = bytearray()
    for arc in [arcs[0] * 40 + arcs[1]] + arcs[2:]:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        body += bytes(reversed(chunk))
    return encode_tlv(TAG_OID, bytes(body))


def encode_sequence(*items):
    return encode_tlv(TAG_SEQUENCE, b"".join(items))


def encode_context(number, content):
    """Encode an explicit, constructed context-specific tag [number]."""
    return encode_tlv(0xA0 | number, content)


def encode_bit_string(data):
    return encode_tlv(TAG_BIT_STRING, b"\x00" + data)


def read_tlv(data, offset=0):
    """Read one TLV at offset. Returns (tag, value, end offset)."""
    if offset + 2 > len(data):
        raise DerError("truncated DER header at offset %d" % offset)
    tag = data[offset]
    first = data[offset + 1]
    pos = offset + 2
    if first < 0x80:
        length = first
    else:
        count = first & 0x7F
        if count == 0 or count > 4 or pos + count > len(data):
            raise DerError("invalid DER length form 0x%02x at offset %d"
                           % (first, offset))
        length = int.from_bytes(data[pos:pos + count], "big")
        pos += count
    if pos + length > len(data):
        raise DerError("DER value at offset %d needs %d bytes, %d remain"
                       % (offset, length, len(data) - pos))
    return tag, data[pos:pos + length], pos + length


def read_children(value):
    """Split the content of a constructed value into (tag, value, raw) items."""
    items = []
    offset = 0
    while offset < len(value):
        tag, inner, end = read_tlv(value, offset)
        items.append((tag, inner, value[offset:end]))
        offset = end
    return items


def decode_oid(value):
    arcs = []
    number = 0
    for byte in value:
        number = (number << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(number)
            number = 0
    if not arcs:
        raise DerError("empty OID")
    first = arcs[0]
    head = [min(first // 40, 2), first - 40 * min(first // 40, 2)]
    return ".".join(str(arc) for arc in head + arcs[1:])


def decode_integer(value):
    if not value:
        raise DerError("empty INTEGER")
    return int.from_bytes(value, "big", signed=True)

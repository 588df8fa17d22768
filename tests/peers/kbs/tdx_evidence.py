"""TDX evidence as Trustee's TDX verifier receives it: {"cc_eventlog": null | b64, "quote": b64}.

Quote layout (Intel DCAP, versions 4 and 5): a 48-byte header, then the TD
quote body (v4 at 0x30; v5 after a {u16 type, u32 size} descriptor), then
u32 signature-data length, the ECDSA P-256 signature r||s over everything
before that length, and the attestation public key x||y.

NOTE: only the quote signature by the attestation key in the quote is
checked. The QE report, the PCK certificate chain and Intel's TCB info are
not verified, so this peer must never be used to trust a real TDX quote.
"""

import base64
import struct

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from snp_evidence import EvidenceError

TEE_TYPE_TDX = 0x81
TD_ATTRIBUTES_DEBUG = 1
BODY_V4_SIZE = 584
BODY_TDX15_SIZE = 648


def parse_quote(quote):
    """Return a dict with the body fields and the signed length of a v4 or v5 quote."""
    if len(quote) < 48:
        raise EvidenceError("TDX quote is %d bytes, shorter than its 48-byte header" % len(quote))
    version, att_key_type, tee_type = struct.unpack_from("<HHI", quote, 0)
    if tee_type != TEE_TYPE_TDX:
        raise EvidenceError("TDX quote tee_type is 0x%x, expected 0x81" % tee_type)
    if att_key_type != 2:
        raise EvidenceError("TDX quote attestation key type is %d, expected 2 (ECDSA P-256)" % att_key_type)
    if version == 4:
        body_offset, body_size = 48, BODY_V4_SIZE
    elif version == 5:
        if len(quote) < 54:
            raise EvidenceError("TDX quote v5 is too short for its body descriptor")
        body_type, body_size = struct.unpack_from("<HI", quote, 48)
        if (body_type, body_size) not in ((2, BODY_V4_SIZE), (3, BODY_TDX15_SIZE)):
            raise EvidenceError("TDX quote v5 body type %d with size %d is not supported" % (body_type, body_size))
        body_offset = 54
    else:
        raise EvidenceError("TDX quote version %d is not supported (4 or 5)" % version)

    signed_size = body_offset + body_size
    if len(quote) < signed_size + 4 + 128:
        raise EvidenceError("TDX quote is %d bytes, too short for its body and signature" % len(quote))
    body = quote[body_offset:signed_size]
    (sig_data_len,) = struct.unpack_from("<I", quote, signed_size)
    if sig_data_len < 128 or signed_size + 4 + sig_data_len > len(quote):
        raise EvidenceError("TDX quote signature data length %d is invalid" % sig_data_len)
    sig = quote[signed_size + 4:signed_size + 4 + 64]
    att_key = quote[signed_size + 4 + 64:signed_size + 4 + 128]
    return {
        "version": version,
        "td_attributes": int.from_bytes(body[0x78:0x80], "little"),
        "mrtd": body[0x88:0xB8],
        "mrconfigid": body[0xB8:0xE8],
        "report_data": body[0x208:0x248],
        "signed": quote[:signed_size],
        "signature": sig,
        "attestation_key": att_key,
    }


def quote_signature_valid(parsed):
    """Check the attestation key's ECDSA P-256/SHA-256 signature over header and body."""
    x = int.from_bytes(parsed["attestation_key"][:32], "big")
    y = int.from_bytes(parsed["attestation_key"][32:], "big")
    try:
        key = ec.EllipticCurvePublicNumbers(x, y, ec.SECP256R1()).public_key()
    except ValueError:
        return False
    r = int.from_bytes(parsed["signature"][:32], "big")
    s = int.from_bytes(parsed["signature"][32:], "big")
    try:
        key.verify(encode_dss_signature(r, s), parsed["signed"], ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True


def verify_tdx_evidence(evidence):
    """Decode and check TDX evidence; return the parsed quote or raise EvidenceError."""
    if not isinstance(evidence, dict) or not isinstance(evidence.get("quote"), str):
        raise EvidenceError("TDX evidence must be an object with a base64 quote")
    try:
        quote = base64.b64decode(evidence["quote"], validate=True)
    except ValueError:
        raise EvidenceError("TDX evidence quote is not standard base64") from None
    parsed = parse_quote(quote)
    if not quote_signature_valid(parsed):
        raise EvidenceError("TDX quote signature does not verify with its attestation key")
    return parsed

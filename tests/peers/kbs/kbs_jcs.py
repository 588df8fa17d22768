"""RFC 8785 JSON Canonicalization Scheme (JCS) for the KBS runtime-data binding.

Trustee KBS 0.4.0 hashes the JCS form of
{"additional-evidence": ..., "nonce": ..., "tee-pubkey": {...}} with SHA-384
and expects the digest, zero padded to 64 bytes, in the report data.
The objects hashed there contain only strings, objects, integers, booleans
and null, so this module supports those and rejects floats.
"""

import hashlib

_SHORT_ESCAPES = {
    0x08: "\\b",
    0x09: "\\t",
    0x0A: "\\n",
    0x0C: "\\f",
    0x0D: "\\r",
    0x22: '\\"',
    0x5C: "\\\\",
}


def _encode_string(text):
    """Serialise a string as RFC 8785 section 3.2.2.2 requires."""
    out = ['"']
    for ch in text:
        code = ord(ch)
        if code in _SHORT_ESCAPES:
            out.append(_SHORT_ESCAPES[code])
        elif code < 0x20:
            out.append("\\u%04x" % code)
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _utf16_sort_key(name):
    """Order object member names by their UTF-16 code units (RFC 8785 section 3.2.3)."""
    return name.encode("utf-16-be")


def canonicalize(value):
    """Return the JCS text of a JSON value built from dict, list, str, int, bool and None."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        raise TypeError("floats are not supported in the canonical form used here")
    if isinstance(value, str):
        return _encode_string(value)
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(canonicalize(item) for item in value) + "]"
    if isinstance(value, dict):
        members = []
        for name in sorted(value, key=_utf16_sort_key):
            if not isinstance(name, str):
                raise TypeError("object member names must be strings")
            members.append(_encode_string(name) + ":" + canonicalize(value[name]))
        return "{" + ",".join(members) + "}"
    raise TypeError("unsupported JSON type %s" % type(value).__name__)


def tee_pubkey_member(jwk):
    """Rebuild the tee-pubkey object from the members Trustee's TeePubKey parses.

    Trustee deserialises the key into an enum and serialises it again, so any
    other member the client sent is dropped before hashing.
    """
    if jwk.get("kty") == "EC":
        names = ("kty", "crv", "alg", "x", "y")
    elif jwk.get("kty") == "RSA":
        names = ("kty", "alg", "n", "e")
    else:
        raise ValueError("tee-pubkey kty must be EC or RSA, got %r" % jwk.get("kty"))
    member = {}
    for name in names:
        if not isinstance(jwk.get(name), str):
            raise ValueError("tee-pubkey member %r is missing or not a string" % name)
        member[name] = jwk[name]
    return member


def runtime_data_text(nonce, tee_pubkey, additional_evidence=""):
    """Return the canonical runtime-data object that the binding hashes."""
    return canonicalize({
        "additional-evidence": additional_evidence,
        "nonce": nonce,
        "tee-pubkey": tee_pubkey_member(tee_pubkey),
    })


def expected_report_data(nonce, tee_pubkey, additional_evidence="", hash_name="sha384"):
    """Return the 64-byte report data: hash of the canonical runtime data, zero padded."""
    text = runtime_data_text(nonce, tee_pubkey, additional_evidence)
    digest = hashlib.new(hash_name, text.encode("utf-8")).digest()
    return digest[:64].ljust(64, b"\0")

"""JWE (RFC 7516 flattened JSON) encryption as Trustee KBS 0.4.0 sends it.

Key management: ECDH-ES+A256KW on P-256 or P-521 (RFC 7518 section 4.6,
Concat KDF with SHA-256, empty PartyUInfo and PartyVInfo) or RSA-OAEP-256.
Content encryption: A256GCM with a 12-byte IV; the GCM additional data is
the ASCII text of the "protected" member (RFC 7516 section 5.1 step 14).
Trustee serialises the protected header as {"alg","enc","epk":{"crv","kty","x","y"}}
without whitespace, and this module does the same.
"""

import base64
import hashlib
import json
import os
import struct

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

ALG_ECDH_ES_A256KW = "ECDH-ES+A256KW"
ALG_RSA_OAEP_256 = "RSA-OAEP-256"
ENC_A256GCM = "A256GCM"

# Curves Trustee accepts for ECDH-ES+A256KW (P-384 is not among them).
EC_CURVES = {
    "P-256": (ec.SECP256R1, 32),
    "P-521": (ec.SECP521R1, 66),
}


def b64url_encode(data):
    """Encode bytes as base64url without padding (RFC 7515 section 2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text):
    """Decode base64url with or without padding; raise ValueError on bad input."""
    if not isinstance(text, str):
        raise ValueError("base64url value must be a string")
    if "=" in text.rstrip("="):
        raise ValueError("padding inside base64url value")
    stripped = text.rstrip("=")
    if len(stripped) % 4 == 1:
        raise ValueError("base64url value has an impossible length %d" % len(stripped))
    try:
        return base64.urlsafe_b64decode(stripped + "=" * (-len(stripped) % 4))
    except (ValueError, TypeError) as exc:
        raise ValueError("invalid base64url value: %s" % exc) from None


def b64std_decode(text):
    """Decode standard base64 with padding, rejecting other alphabets."""
    if not isinstance(text, str):
        raise ValueError("base64 value must be a string")
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (ValueError, UnicodeEncodeError) as exc:
        raise ValueError("invalid standard base64 value: %s" % exc) from None


def b64std_encode(data):
    """Encode bytes as standard base64 with padding."""
    return base64.b64encode(data).decode("ascii")


def concat_kdf_sha256(shared_secret, alg_id, key_bits):
    """Derive key_bits of key material with the NIST SP 800-56A Concat KDF over SHA-256.

    OtherInfo = len32(AlgorithmID) || AlgorithmID || len32(0) || len32(0) || u32be(key_bits),
    which is RFC 7518 section 4.6.2 with empty apu and apv.
    """
    alg = alg_id.encode("ascii")
    other_info = struct.pack(">I", len(alg)) + alg + struct.pack(">II", 0, 0) + struct.pack(">I", key_bits)
    output = b""
    counter = 1
    while len(output) * 8 < key_bits:
        output += hashlib.sha256(struct.pack(">I", counter) + shared_secret + other_info).digest()
        counter += 1
    return output[: key_bits // 8]


def aes_key_wrap(kek, key_data):
    """Wrap key_data with AES Key Wrap (RFC 3394 section 2.2.1, default IV A6A6A6A6A6A6A6A6)."""
    if len(key_data) % 8 != 0 or len(key_data) < 16:
        raise ValueError("AES-KW input must be a multiple of 8 bytes and at least 16 bytes")
    encryptor = Cipher(algorithms.AES(kek), modes.ECB()).encryptor()
    a = b"\xa6" * 8
    r = [key_data[i:i + 8] for i in range(0, len(key_data), 8)]
    n = len(r)
    for j in range(6):
        for i in range(n):
            b = encryptor.update(a + r[i])
            t = n * j + i + 1
            a = (int.from_bytes(b[:8], "big") ^ t).to_bytes(8, "big")
            r[i] = b[8:]
    return a + b"".join(r)


def protected_header_text(header):
    """Serialise a JOSE header compactly, keeping the member order given."""
    return json.dumps(header, separators=(",", ":"))


def public_key_from_jwk(jwk):
    """Return (alg, key object) for a tee-pubkey JWK, or raise ValueError naming the problem."""
    kty = jwk.get("kty")
    alg = jwk.get("alg")
    if kty == "EC":
        if alg != ALG_ECDH_ES_A256KW:
            raise ValueError("EC tee-pubkey alg must be %s, got %r" % (ALG_ECDH_ES_A256KW, alg))
        crv = jwk.get("crv")
        if crv not in EC_CURVES:
            raise ValueError("EC tee-pubkey crv must be P-256 or P-521, got %r" % crv)
        curve_cls, size = EC_CURVES[crv]
        x = b64url_decode(jwk.get("x"))
        y = b64url_decode(jwk.get("y"))
        if len(x) != size or len(y) != size:
            raise ValueError("%s coordinates must be %d bytes, got x %d and y %d" % (crv, size, len(x), len(y)))
        numbers = ec.EllipticCurvePublicNumbers(int.from_bytes(x, "big"), int.from_bytes(y, "big"), curve_cls())
        try:
            return alg, numbers.public_key()
        except ValueError:
            raise ValueError("%s tee-pubkey point is not on the curve" % crv) from None
    if kty == "RSA":
        if alg != ALG_RSA_OAEP_256:
            raise ValueError("RSA tee-pubkey alg must be %s, got %r" % (ALG_RSA_OAEP_256, alg))
        n = int.from_bytes(b64url_decode(jwk.get("n")), "big")
        e = int.from_bytes(b64url_decode(jwk.get("e")), "big")
        if n.bit_length() < 2048:
            raise ValueError("RSA tee-pubkey modulus must have at least 2048 bits, got %d" % n.bit_length())
        try:
            return alg, rsa.RSAPublicNumbers(e, n).public_key()
        except ValueError as exc:
            raise ValueError("invalid RSA tee-pubkey: %s" % exc) from None
    raise ValueError("tee-pubkey kty must be EC or RSA, got %r" % kty)


def _ec_epk_member(public_key, crv):
    size = EC_CURVES[crv][1]
    numbers = public_key.public_numbers()
    return {
        "crv": crv,
        "kty": "EC",
        "x": b64url_encode(numbers.x.to_bytes(size, "big")),
        "y": b64url_encode(numbers.y.to_bytes(size, "big")),
    }


def ecdh_es_header(epk_public_key, crv):
    """Return the protected header dict for ECDH-ES+A256KW with the given ephemeral key."""
    return {"alg": ALG_ECDH_ES_A256KW, "enc": ENC_A256GCM, "epk": _ec_epk_member(epk_public_key, crv)}


def encrypt_content(cek, iv, protected_text, plaintext):
    """Encrypt with A256GCM; return (ciphertext, tag) with the protected text as AAD."""
    sealed = AESGCM(cek).encrypt(iv, plaintext, protected_text.encode("ascii"))
    return sealed[:-16], sealed[-16:]


def encrypt(jwk, plaintext, cek=None, iv=None, ephemeral_private_key=None):
    """Encrypt plaintext to the tee-pubkey JWK; return the flattened JWE as a dict.

    cek, iv and ephemeral_private_key are random unless given (tests fix them).
    """
    alg, public_key = public_key_from_jwk(jwk)
    if cek is None:
        cek = os.urandom(32)
    if iv is None:
        iv = os.urandom(12)
    if len(cek) != 32 or len(iv) != 12:
        raise ValueError("A256GCM needs a 32-byte CEK and a 12-byte IV")

    if alg == ALG_ECDH_ES_A256KW:
        crv = jwk["crv"]
        if ephemeral_private_key is None:
            ephemeral_private_key = ec.generate_private_key(EC_CURVES[crv][0]())
        shared_secret = ephemeral_private_key.exchange(ec.ECDH(), public_key)
        kek = concat_kdf_sha256(shared_secret, ALG_ECDH_ES_A256KW, 256)
        encrypted_key = aes_key_wrap(kek, cek)
        header = ecdh_es_header(ephemeral_private_key.public_key(), crv)
    else:
        encrypted_key = public_key.encrypt(
            cek,
            padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=None),
        )
        header = {"alg": ALG_RSA_OAEP_256, "enc": ENC_A256GCM}

    protected = b64url_encode(protected_header_text(header).encode("ascii"))
    ciphertext, tag = encrypt_content(cek, iv, protected, plaintext)
    return {
        "protected": protected,
        "encrypted_key": b64url_encode(encrypted_key),
        "iv": b64url_encode(iv),
        "ciphertext": b64url_encode(ciphertext),
        "tag": b64url_encode(tag),
    }

"""Test-only JWE decoder, written apart from the peer's encoder (kbs_jwe.py).

It uses the library's Concat KDF, AES key unwrap, AES-GCM and RSA-OAEP so
that a misreading of RFC 7516/7518 in the peer shows up as a failure here.
"""

import base64
import json

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.concatkdf import ConcatKDFHash
from cryptography.hazmat.primitives.keywrap import aes_key_unwrap

CURVES = {"P-256": ec.SECP256R1, "P-384": ec.SECP384R1, "P-521": ec.SECP521R1}


def unb64url(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def header_of(jwe):
    """Return the decoded protected header."""
    return json.loads(unb64url(jwe["protected"]))


def ecdh_kek(private_key, header):
    """Derive the ECDH-ES+A256KW key-encryption key for the recipient's private key."""
    epk = header["epk"]
    curve = CURVES[epk["crv"]]()
    peer = ec.EllipticCurvePublicNumbers(int.from_bytes(unb64url(epk["x"]), "big"),
                                         int.from_bytes(unb64url(epk["y"]), "big"), curve).public_key()
    z = private_key.exchange(ec.ECDH(), peer)
    alg = header["alg"].encode()
    other_info = len(alg).to_bytes(4, "big") + alg + bytes(4) + bytes(4) + (256).to_bytes(4, "big")
    return ConcatKDFHash(hashes.SHA256(), 32, other_info).derive(z)


def content_key(private_key, jwe):
    """Recover the CEK of a JWE addressed to private_key (EC or RSA)."""
    header = header_of(jwe)
    encrypted_key = unb64url(jwe["encrypted_key"])
    if header["alg"] == "ECDH-ES+A256KW":
        return aes_key_unwrap(ecdh_kek(private_key, header), encrypted_key)
    if header["alg"] == "RSA-OAEP-256":
        return private_key.decrypt(encrypted_key, padding.OAEP(mgf=padding.MGF1(hashes.SHA256()),
                                                               algorithm=hashes.SHA256(), label=None))
    raise ValueError("unexpected alg %r" % header["alg"])


def decrypt(private_key, jwe):
    """Return the plaintext of a flattened JSON JWE; raise on any authentication failure."""
    header = header_of(jwe)
    if header.get("enc") != "A256GCM":
        raise ValueError("unexpected enc %r" % header.get("enc"))
    cek = content_key(private_key, jwe)
    iv = unb64url(jwe["iv"])
    sealed = unb64url(jwe["ciphertext"]) + unb64url(jwe["tag"])
    return AESGCM(cek).decrypt(iv, sealed, jwe["protected"].encode("ascii"))

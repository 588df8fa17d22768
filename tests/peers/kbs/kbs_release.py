"""Release signature of the tpmboot-unwrap plugin (docs/kbs-protocol.md, section 3.5).

With --release-key, the test KBS signs each unwrap response so that a guest
with the pinned public key can tell the KBS's release from one a host made
up. The signature is ECDSA P-256 with SHA-256 over

  CONTEXT || 0x00 || nonce || JCS(tee-pubkey)
  || protected || 0x00 || encrypted_key || 0x00 || iv || 0x00
  || ciphertext || 0x00 || tag || 0x00

where nonce is the session's nonce bytes (base64-decoded) and the JWE
members are the strings as sent. It is sent as base64url of r || s.
"""

import os

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

import kbs_jcs
import kbs_jwe

CONTEXT = b"svsm-tpmboot kbs-unwrap release v1"
SIGNED_MEMBERS = ("protected", "encrypted_key", "iv", "ciphertext", "tag")
MEMBER = "release-signature"


def release_message(nonce, tee_pubkey, jwe):
    """Return the signed message M for nonce bytes, the tee-pubkey JWK and a JWE dict."""
    parts = [CONTEXT, b"\0", nonce, kbs_jcs.canonicalize(tee_pubkey).encode("utf-8")]
    for name in SIGNED_MEMBERS:
        value = jwe[name].encode("ascii")
        if b"\0" in value:
            raise ValueError("JWE member %s contains a NUL character" % name)
        parts += [value, b"\0"]
    return b"".join(parts)


def sign(private_key, nonce, tee_pubkey, jwe):
    """Return the release-signature string: base64url of r || s, 32 bytes each."""
    der = private_key.sign(release_message(nonce, tee_pubkey, jwe), ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(der)
    return kbs_jwe.b64url_encode(r.to_bytes(32, "big") + s.to_bytes(32, "big"))


def verify(public_bytes, nonce, tee_pubkey, jwe):
    """Return True when jwe's release-signature verifies under the 65-byte public key."""
    public_key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), public_bytes)
    raw = kbs_jwe.b64url_decode(jwe[MEMBER])
    if len(raw) != 64:
        return False
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    try:
        public_key.verify(der, release_message(nonce, tee_pubkey, jwe), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True


def public_bytes(private_key):
    """Return the SEC 1 uncompressed public point (65 bytes) that a guest pins."""
    return private_key.public_key().public_bytes(serialization.Encoding.X962,
                                                 serialization.PublicFormat.UncompressedPoint)


def load_or_create(path, log):
    """Load the P-256 release key from PEM, or create it (mode 0600); write PATH.pub either way."""
    if os.path.exists(path):
        with open(path, "rb") as f:
            key = serialization.load_pem_private_key(f.read(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
            raise ValueError("release key %s is not a P-256 private key" % path)
    else:
        key = ec.generate_private_key(ec.SECP256R1())
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(pem)
        log.info("generated release key file %s", path)
    with open(path + ".pub", "wb") as f:
        f.write(public_bytes(key))
    return key

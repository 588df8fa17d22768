#!/usr/bin/python3
"""Write the inputs of the KBS client end-to-end test into a directory.

Usage: kbs_e2e_setup.py OUTDIR

Creates a test AMD PKI (anchor/ark.pem, ask.pem, vcek.pem and the VCEK
private key vcek_key.pem), the KBS policy and Key1. It also writes Key2 for
the two wrap modes that need one: an AES-256-GCM envelope under a KEK for
tpmboot-unwrap and RSA-OAEP-256 for the pkcs11 plugin, with the KBS's KEK
and RSA key files. The C test signs its own reports with vcek_key.pem.
"""

import json
import os
import sys

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "peers", "kbs"))

import snp_testpki  # noqa: E402

MEASUREMENT = bytes([0xAB]) * 48
KEY_ID = "tpmboot-test"
AAD = b"tpmboot wrapped-key entry header and CocoonFs identity"


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def main():
    out = sys.argv[1]
    os.makedirs(os.path.join(out, "anchor"), exist_ok=True)

    pki = snp_testpki.TestPki()
    pki.write(os.path.join(out, "anchor"))
    write(os.path.join(out, "vcek_key.pem"),
          pki.vcek_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption()))
    for role in ("ark", "ask", "vcek"):
        write(os.path.join(out, role + ".der"), getattr(pki, role).public_bytes(serialization.Encoding.DER))

    policy = {
        "measurements": [MEASUREMENT.hex()],
        "vmpl": 0,
        "min_report_version": 3,
        "min_reported_tcb": {"bootloader": 3, "tee": 0, "snp": 8, "microcode": 115},
        "keys": {KEY_ID: {"measurements": [MEASUREMENT.hex()]}},
        "resources": {"default/tpmboot/key1": {"measurements": [MEASUREMENT.hex()]}},
    }
    write(os.path.join(out, "policy.json"), json.dumps(policy, indent=1).encode())

    key1 = os.urandom(32)
    write(os.path.join(out, "key1.bin"), key1)
    write(os.path.join(out, "aad.bin"), AAD)

    kek = os.urandom(32)
    write(os.path.join(out, "kek.hex"), (kek.hex() + "\n").encode())
    iv = os.urandom(12)
    write(os.path.join(out, "key2_unwrap.bin"), iv + AESGCM(kek).encrypt(iv, key1, AAD))

    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    write(os.path.join(out, "pkcs11.pem"),
          rsa_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()))
    oaep = padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
    write(os.path.join(out, "key2_pkcs11.bin"), rsa_key.public_key().encrypt(key1, oaep))
    return 0


if __name__ == "__main__":
    sys.exit(main())

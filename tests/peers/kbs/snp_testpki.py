"""Test-only SEV-SNP material: an AMD-shaped PKI and a minimal report writer.

The PKI has the shape of AMD's: a self-signed RSA ARK, an RSA ASK signed by
it and a P-384 VCEK signed by the ASK. Every certificate signature is
RSASSA-PSS with SHA-384, MGF1-SHA-384 and a 48-byte salt. The VCEK carries
the TCB (1.3.6.1.4.1.3704.1.3.x) and hwID (.4) extensions.
python3-cryptography 38 cannot sign certificates with PSS, so each
certificate is built with PKCS#1 v1.5 and re-signed here: the signature
AlgorithmIdentifier is replaced inside the TBSCertificate and outside it,
and the new TBS bytes are signed with PSS.

The report writer packs the ATTESTATION_REPORT fields at their SEV-SNP ABI
offsets itself, without the peer's encoder, so a mistake in one shows up as
a signature or binding failure in the other.
"""

import datetime
import struct

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

# ---- minimal DER ----------------------------------------------------------


def der_length(n):
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def der(tag, content):
    return bytes([tag]) + der_length(len(content)) + content


def der_oid(dotted):
    parts = [int(p) for p in dotted.split(".")]
    body = bytearray([parts[0] * 40 + parts[1]])
    for part in parts[2:]:
        chunk = [part & 0x7F]
        part >>= 7
        while part:
            chunk.append(0x80 | (part & 0x7F))
            part >>= 7
        body.extend(reversed(chunk))
    return der(0x06, bytes(body))


def der_children(data):
    """Split the content of a constructed DER value into its encoded children."""
    children = []
    pos = 0
    while pos < len(data):
        start = pos
        pos += 1
        length = data[pos]
        pos += 1
        if length & 0x80:
            count = length & 0x7F
            length = int.from_bytes(data[pos:pos + count], "big")
            pos += count
        pos += length
        children.append(data[start:pos])
    return children


def _strip_header(value):
    length = value[1]
    if length & 0x80:
        return value[2 + (length & 0x7F):]
    return value[2:]


SHA384_ALG = der(0x30, der_oid("2.16.840.1.101.3.4.2.2") + b"\x05\x00")
PSS_ALG = der(0x30, der_oid("1.2.840.113549.1.1.10") + der(0x30,
              der(0xA0, SHA384_ALG)
              + der(0xA1, der(0x30, der_oid("1.2.840.113549.1.1.8") + SHA384_ALG))
              + der(0xA2, der(0x02, bytes([48])))))


def resign_with_pss(cert, issuer_key):
    """Return the DER of cert re-signed by issuer_key with RSASSA-PSS SHA-384 salt 48."""
    outer = der_children(_strip_header(cert.public_bytes(serialization.Encoding.DER)))
    tbs_children = der_children(_strip_header(outer[0]))
    # TBSCertificate: [0] version, serialNumber, signature AlgorithmIdentifier, ...
    tbs_children[2] = PSS_ALG
    tbs = der(0x30, b"".join(tbs_children))
    signature = issuer_key.sign(tbs, padding.PSS(mgf=padding.MGF1(hashes.SHA384()), salt_length=48),
                                hashes.SHA384())
    return der(0x30, tbs + PSS_ALG + der(0x03, b"\x00" + signature))


# ---- PKI ------------------------------------------------------------------


def _name(cn):
    return x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Engineering"),
        x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Advanced Micro Devices"),
        x509.NameAttribute(NameOID.COMMON_NAME, cn),
    ])


def _cert(subject, issuer, public_key, signing_key, extensions=(), serial=1, not_after=None):
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(serial)
        .not_valid_before(datetime.datetime(2020, 1, 1))
        .not_valid_after(not_after or datetime.datetime(2045, 1, 1))
    )
    for ext, critical in extensions:
        builder = builder.add_extension(ext, critical=critical)
    draft = builder.sign(signing_key, hashes.SHA384())
    return x509.load_der_x509_certificate(resign_with_pss(draft, signing_key))


def _der_int(value):
    body = value.to_bytes(max(1, (value.bit_length() + 8) // 8), "big")
    return der(0x02, body)


class TestPki:
    """ARK -> ASK -> VCEK with fresh keys; product names follow Milan."""

    def __init__(self, tcb=None, hwid=None, rsa_bits=2048, product="Milan"):
        # 2048-bit RSA keeps the tests fast; AMD's ARK and ASK are 4096-bit.
        self.tcb = tcb or {"bootloader": 3, "tee": 0, "snp": 8, "microcode": 115}
        self.hwid = hwid if hwid is not None else bytes(range(64))
        self.ark_key = rsa.generate_private_key(65537, rsa_bits)
        self.ask_key = rsa.generate_private_key(65537, rsa_bits)
        self.vcek_key = ec.generate_private_key(ec.SECP384R1())
        ca = [(x509.BasicConstraints(ca=True, path_length=None), True)]
        self.ark = _cert(_name("ARK-" + product), _name("ARK-" + product), self.ark_key.public_key(),
                         self.ark_key, ca)
        self.ask = _cert(_name("SEV-" + product), _name("ARK-" + product), self.ask_key.public_key(),
                         self.ark_key, ca, serial=2)
        self.product = product
        self.vcek_key, self.vcek = self.issue_vcek(self.tcb, self.hwid)

    def issue_vcek(self, tcb, hwid, serial=3):
        """Return (private key, certificate) of a new VCEK for tcb and hwid, signed by this ASK."""
        key = ec.generate_private_key(ec.SECP384R1())
        oid = "1.3.6.1.4.1.3704.1."
        values = [("1", _der_int(0)), ("2", der(0x16, self.product.encode())),
                  ("3.1", _der_int(tcb["bootloader"])), ("3.2", _der_int(tcb["tee"])),
                  ("3.3", _der_int(tcb["snp"])), ("3.8", _der_int(tcb["microcode"])),
                  ("4", der(0x04, hwid))]
        extensions = [(x509.UnrecognizedExtension(x509.ObjectIdentifier(oid + suffix), value), False)
                      for suffix, value in values]
        cert = _cert(_name("SEV-VCEK"), _name("SEV-" + self.product), key.public_key(),
                     self.ask_key, extensions, serial=serial)
        return key, cert

    def write(self, directory):
        """Write ark.pem, ask.pem and vcek.pem into directory (the simulator's layout)."""
        paths = {}
        for role in ("ark", "ask", "vcek"):
            path = "%s/%s.pem" % (directory, role)
            with open(path, "wb") as f:
                f.write(getattr(self, role).public_bytes(serialization.Encoding.PEM))
            paths[role] = path
        return paths


# ---- report writer --------------------------------------------------------


def default_fields():
    """Return the fields of a plausible Milan v3 report at VMPL 0 without debug."""
    return {
        "version": 3, "guest_svn": 1, "policy": 0x30000, "family_id": bytes(16), "image_id": bytes(16),
        "vmpl": 0, "sig_algo": 1,
        "current_tcb": {"fmc": None, "bootloader": 3, "tee": 0, "snp": 8, "microcode": 115},
        "plat_info": 1, "key_info": 0, "report_data": bytes(64), "measurement": bytes([0xAB]) * 48,
        "host_data": bytes(32), "id_key_digest": bytes(48), "author_key_digest": bytes(48),
        "report_id": bytes(range(32)), "report_id_ma": b"\xff" * 32,
        "reported_tcb": {"fmc": None, "bootloader": 3, "tee": 0, "snp": 8, "microcode": 115},
        "cpuid_fam_id": 0x19, "cpuid_mod_id": 0x01, "cpuid_step": 0x01, "chip_id": bytes(range(64)),
        "committed_tcb": {"fmc": None, "bootloader": 3, "tee": 0, "snp": 8, "microcode": 115},
        "current": {"major": 1, "minor": 55, "build": 21}, "committed": {"major": 1, "minor": 55, "build": 21},
        "launch_tcb": {"fmc": None, "bootloader": 3, "tee": 0, "snp": 8, "microcode": 115},
        "launch_mit_vector": None, "current_mit_vector": None,
    }


def _tcb_bytes(tcb):
    if tcb["fmc"] is None:
        return struct.pack("<BBBBBBBB", tcb["bootloader"], tcb["tee"], 0, 0, 0, 0, tcb["snp"], tcb["microcode"])
    return struct.pack("<BBBBBBBB", tcb["fmc"], tcb["bootloader"], tcb["tee"], tcb["snp"], 0, 0, 0, tcb["microcode"])


def write_report(fields, vcek_key):
    """Return the signed 1184-byte report for fields (see default_fields)."""
    f = fields
    head = struct.pack("<IIQ16s16sII8sQII64s48s32s48s48s32s32s8s",
                       f["version"], f["guest_svn"], f["policy"], f["family_id"], f["image_id"], f["vmpl"],
                       f["sig_algo"], _tcb_bytes(f["current_tcb"]), f["plat_info"], f["key_info"], 0,
                       f["report_data"], f["measurement"], f["host_data"], f["id_key_digest"],
                       f["author_key_digest"], f["report_id"], f["report_id_ma"], _tcb_bytes(f["reported_tcb"]))
    assert len(head) == 0x188
    cpuid = bytes([f["cpuid_fam_id"] or 0, f["cpuid_mod_id"] or 0, f["cpuid_step"] or 0])
    body = head + cpuid + bytes(21) + f["chip_id"] + _tcb_bytes(f["committed_tcb"])
    body += bytes([f["current"]["build"], f["current"]["minor"], f["current"]["major"], 0])
    body += bytes([f["committed"]["build"], f["committed"]["minor"], f["committed"]["major"], 0])
    body += _tcb_bytes(f["launch_tcb"])
    body += struct.pack("<QQ", f["launch_mit_vector"] or 0, f["current_mit_vector"] or 0)
    body = body.ljust(0x2A0, b"\0")
    r, s = decode_dss_signature(vcek_key.sign(body, ec.ECDSA(hashes.SHA384())))
    return body + r.to_bytes(72, "little") + s.to_bytes(72, "little") + bytes(368)


def evidence_json(fields, raw, cert_chain=None):
    """Return the Trustee SNP evidence object (virtee serde form) for a report written by write_report."""
    report = {}
    for name, value in fields.items():
        report[name] = list(value) if isinstance(value, bytes) else value
    report["signature"] = {"r": list(raw[0x2A0:0x2E8]), "s": list(raw[0x2E8:0x330])}
    chain = None
    if cert_chain is not None:
        chain = [{"cert_type": role, "data": list(cert.public_bytes(serialization.Encoding.DER))}
                 for role, cert in cert_chain]
    return {"attestation_report": report, "cert_chain": chain}


def fields_from_raw_milan(raw):
    """Decode a raw report into writer fields, assuming the Milan/Genoa TCB layout (for golden vectors)."""
    def tcb(off):
        b = raw[off:off + 8]
        return {"fmc": None, "bootloader": b[0], "tee": b[1], "snp": b[6], "microcode": b[7]}

    version, guest_svn, policy = struct.unpack_from("<IIQ", raw, 0)
    v3 = version >= 3
    return {
        "version": version, "guest_svn": guest_svn, "policy": policy,
        "family_id": raw[0x10:0x20], "image_id": raw[0x20:0x30],
        "vmpl": struct.unpack_from("<I", raw, 0x30)[0], "sig_algo": struct.unpack_from("<I", raw, 0x34)[0],
        "current_tcb": tcb(0x38), "plat_info": struct.unpack_from("<Q", raw, 0x40)[0],
        "key_info": struct.unpack_from("<I", raw, 0x48)[0], "report_data": raw[0x50:0x90],
        "measurement": raw[0x90:0xC0], "host_data": raw[0xC0:0xE0], "id_key_digest": raw[0xE0:0x110],
        "author_key_digest": raw[0x110:0x140], "report_id": raw[0x140:0x160], "report_id_ma": raw[0x160:0x180],
        "reported_tcb": tcb(0x180),
        "cpuid_fam_id": raw[0x188] if v3 else None, "cpuid_mod_id": raw[0x189] if v3 else None,
        "cpuid_step": raw[0x18A] if v3 else None,
        "chip_id": raw[0x1A0:0x1E0], "committed_tcb": tcb(0x1E0),
        "current": {"build": raw[0x1E8], "minor": raw[0x1E9], "major": raw[0x1EA]},
        "committed": {"build": raw[0x1EC], "minor": raw[0x1ED], "major": raw[0x1EE]},
        "launch_tcb": tcb(0x1F0),
        "launch_mit_vector": struct.unpack_from("<Q", raw, 0x1F8)[0] if version >= 5 else None,
        "current_mit_vector": struct.unpack_from("<Q", raw, 0x200)[0] if version >= 5 else None,
    }


# ---- TDX quote writer -----------------------------------------------------


def write_tdx_quote(report_data, mrtd, td_attributes=0x10000000, att_key=None):
    """Return a v4 TDX quote signed by att_key (P-256), with no QE certification data that verifies."""
    att_key = att_key or ec.generate_private_key(ec.SECP256R1())
    header = struct.pack("<HHIHH16s20s", 4, 2, 0x81, 0, 0, bytes.fromhex("939a7233f79c4ca9940a0db3957f0607"),
                         bytes(20))
    body = bytearray(584)
    body[0x78:0x80] = td_attributes.to_bytes(8, "little")
    body[0x88:0xB8] = mrtd
    body[0x208:0x248] = report_data
    signed = header + bytes(body)
    r, s = decode_dss_signature(att_key.sign(signed, ec.ECDSA(hashes.SHA256())))
    numbers = att_key.public_key().public_numbers()
    sig_data = (r.to_bytes(32, "big") + s.to_bytes(32, "big") + numbers.x.to_bytes(32, "big")
                + numbers.y.to_bytes(32, "big") + struct.pack("<HI", 6, 0))
    return signed + struct.pack("<I", len(sig_data)) + sig_data

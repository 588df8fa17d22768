"""SEV-SNP evidence as Trustee's SNP verifier receives it, and its verification.

Evidence JSON: {"attestation_report": <serde form of virtee/sev
AttestationReport>, "cert_chain": [{"cert_type": "VCEK", "data": [DER bytes]}] | null}
(Trustee deps/verifier/src/snp/mod.rs, commit 78962cd4). The report is
rebuilt as the 1184-byte ATTESTATION_REPORT of the SEV-SNP firmware ABI
(report versions 2, 3 and 5) so that its ECDSA P-384 signature over bytes
0x000..0x29F can be checked. The VCEK chains to the ARK through the ASK with
RSASSA-PSS (SHA-384, MGF1-SHA-384, salt 48).
"""

import datetime
import os
import struct

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

REPORT_SIZE = 0x4A0
SIGNED_SIZE = 0x2A0
POLICY_DEBUG_BIT = 1 << 19
KEY_INFO_MASK_CHIP_KEY = 1 << 1
RSASSA_PSS_OID = "1.2.840.113549.1.1.10"
AMD_EXTENSION_PREFIX = "1.3.6.1.4.1.3704.1."

# (JSON name, offset, kind, size) where kind is "u8", "u32", "u64", "bytes",
# "tcb" or "version" (a {"major","minor","build"} triple stored as build, minor, major).
REPORT_FIELDS = (
    ("version", 0x000, "u32", 4),
    ("guest_svn", 0x004, "u32", 4),
    ("policy", 0x008, "u64", 8),
    ("family_id", 0x010, "bytes", 16),
    ("image_id", 0x020, "bytes", 16),
    ("vmpl", 0x030, "u32", 4),
    ("sig_algo", 0x034, "u32", 4),
    ("current_tcb", 0x038, "tcb", 8),
    ("plat_info", 0x040, "u64", 8),
    ("key_info", 0x048, "u32", 4),
    ("report_data", 0x050, "bytes", 64),
    ("measurement", 0x090, "bytes", 48),
    ("host_data", 0x0C0, "bytes", 32),
    ("id_key_digest", 0x0E0, "bytes", 48),
    ("author_key_digest", 0x110, "bytes", 48),
    ("report_id", 0x140, "bytes", 32),
    ("report_id_ma", 0x160, "bytes", 32),
    ("reported_tcb", 0x180, "tcb", 8),
    ("cpuid_fam_id", 0x188, "opt_u8", 1),
    ("cpuid_mod_id", 0x189, "opt_u8", 1),
    ("cpuid_step", 0x18A, "opt_u8", 1),
    ("chip_id", 0x1A0, "bytes", 64),
    ("committed_tcb", 0x1E0, "tcb", 8),
    ("current", 0x1E8, "version", 3),
    ("committed", 0x1EC, "version", 3),
    ("launch_tcb", 0x1F0, "tcb", 8),
    ("launch_mit_vector", 0x1F8, "opt_u64", 8),
    ("current_mit_vector", 0x200, "opt_u64", 8),
)

TCB_COMPONENTS = ("fmc", "bootloader", "tee", "snp", "microcode")


class EvidenceError(Exception):
    """Evidence that is malformed or fails verification; the message names the field."""


def _require_int(value, name, bits):
    if not isinstance(value, int) or isinstance(value, bool) or value < 0 or value >= (1 << bits):
        raise EvidenceError("attestation_report.%s must be an unsigned %d-bit integer, got %r" % (name, bits, value))
    return value


def _require_bytes(value, name, size):
    if not isinstance(value, list) or len(value) != size:
        raise EvidenceError("attestation_report.%s must be an array of %d numbers" % (name, size))
    for item in value:
        _require_int(item, name + "[]", 8)
    return bytes(value)


def encode_tcb(tcb, name):
    """Pack a TCB object into the 8-byte TCB_VERSION, as virtee/sev TcbVersion does.

    fmc null selects the Milan/Genoa layout: bootloader, tee, 4 reserved
    bytes, snp, microcode. A number selects Turin/Venice: fmc, bootloader,
    tee, snp, 3 reserved bytes, microcode.
    """
    if not isinstance(tcb, dict):
        raise EvidenceError("attestation_report.%s must be an object" % name)
    for component in TCB_COMPONENTS:
        if component not in tcb:
            raise EvidenceError("attestation_report.%s.%s is missing" % (name, component))
    values = {c: tcb[c] for c in TCB_COMPONENTS[1:]}
    for component, value in values.items():
        _require_int(value, "%s.%s" % (name, component), 8)
    raw = bytearray(8)
    if tcb["fmc"] is None:
        raw[0], raw[1], raw[6], raw[7] = values["bootloader"], values["tee"], values["snp"], values["microcode"]
    else:
        _require_int(tcb["fmc"], name + ".fmc", 8)
        raw[0], raw[1], raw[2], raw[3] = tcb["fmc"], values["bootloader"], values["tee"], values["snp"]
        raw[7] = values["microcode"]
    return bytes(raw)


def report_from_json(report):
    """Return the raw 1184-byte report built from the serde JSON object, or raise EvidenceError."""
    if not isinstance(report, dict):
        raise EvidenceError("attestation_report must be an object")
    raw = bytearray(REPORT_SIZE)
    for name, offset, kind, size in REPORT_FIELDS:
        if kind.startswith("opt_"):
            value = report.get(name)
            if value is None:
                continue
            kind = kind[4:]
        elif name not in report:
            raise EvidenceError("attestation_report.%s is missing" % name)
        else:
            value = report[name]
        if kind == "u8":
            raw[offset] = _require_int(value, name, 8)
        elif kind == "u32":
            struct.pack_into("<I", raw, offset, _require_int(value, name, 32))
        elif kind == "u64":
            struct.pack_into("<Q", raw, offset, _require_int(value, name, 64))
        elif kind == "bytes":
            raw[offset:offset + size] = _require_bytes(value, name, size)
        elif kind == "tcb":
            raw[offset:offset + 8] = encode_tcb(value, name)
        elif kind == "version":
            if not isinstance(value, dict):
                raise EvidenceError("attestation_report.%s must be an object" % name)
            for index, part in enumerate(("build", "minor", "major")):
                raw[offset + index] = _require_int(value.get(part), "%s.%s" % (name, part), 8)

    signature = report.get("signature")
    if not isinstance(signature, dict):
        raise EvidenceError("attestation_report.signature must be an object with r and s")
    raw[0x2A0:0x2E8] = _require_bytes(signature.get("r"), "signature.r", 72)
    raw[0x2E8:0x330] = _require_bytes(signature.get("s"), "signature.s", 72)
    return bytes(raw)


def report_signature_valid(raw, vcek_public_key):
    """Check the ECDSA P-384/SHA-384 signature over bytes 0x000..0x29F; r and s are little-endian."""
    r = int.from_bytes(raw[0x2A0:0x2E8], "little")
    s = int.from_bytes(raw[0x2E8:0x330], "little")
    if r == 0 or s == 0:
        return False
    try:
        vcek_public_key.verify(encode_dss_signature(r, s), raw[:SIGNED_SIZE], ec.ECDSA(hashes.SHA384()))
    except InvalidSignature:
        return False
    return True


def load_certificates(path, skip_other_files=False):
    """Load every PEM or DER certificate from a file.

    With skip_other_files, a file that contains no certificate (a private key,
    for example) gives an empty list instead of an error.
    """
    with open(path, "rb") as f:
        data = f.read()
    if b"-----BEGIN" in data and b"-----BEGIN CERTIFICATE-----" not in data and skip_other_files:
        return []
    if b"-----BEGIN CERTIFICATE-----" in data:
        certs = []
        for block in data.split(b"-----END CERTIFICATE-----")[:-1]:
            start = block.find(b"-----BEGIN CERTIFICATE-----")
            certs.append(x509.load_pem_x509_certificate(block[start:] + b"-----END CERTIFICATE-----\n"))
        return certs
    try:
        return [x509.load_der_x509_certificate(data)]
    except ValueError:
        if skip_other_files:
            return []
        raise EvidenceError("%s is neither a PEM nor a DER certificate" % path) from None


def pss_signature_valid(issuer, cert):
    """Check an AMD certificate signature: RSASSA-PSS, SHA-384, MGF1-SHA-384, salt 48."""
    if cert.signature_algorithm_oid.dotted_string != RSASSA_PSS_OID:
        return False
    public_key = issuer.public_key()
    if not isinstance(public_key, rsa.RSAPublicKey):
        return False
    try:
        public_key.verify(
            cert.signature,
            cert.tbs_certificate_bytes,
            padding.PSS(mgf=padding.MGF1(hashes.SHA384()), salt_length=48),
            hashes.SHA384(),
        )
    except InvalidSignature:
        return False
    return cert.issuer == issuer.subject


def _is_self_signed(cert):
    return cert.issuer == cert.subject and pss_signature_valid(cert, cert)


class TrustAnchor:
    """AMD root of trust: the ARK, the intermediates it signed (ASK, ASVK) and optionally a fixed VCEK.

    Loaded from one certificate file or from every *.pem, *.der, *.cer and
    *.crt file in a directory, where files without a certificate (private
    keys) are skipped. Each certificate's role is found from its content:
    self-signed RSA is the ARK, RSA signed by the ARK an intermediate, and a
    P-384 certificate issued by an intermediate the VCEK.
    """

    def __init__(self, path):
        paths = [path]
        if os.path.isdir(path):
            paths = sorted(
                os.path.join(path, name) for name in os.listdir(path)
                if name.rsplit(".", 1)[-1].lower() in ("pem", "der", "cer", "crt")
            )
        certs = []
        for cert_path in paths:
            certs.extend(load_certificates(cert_path, skip_other_files=len(paths) > 1 or path != cert_path))
        self.ark = None
        self.intermediates = []
        self.vcek = None
        for cert in certs:
            if isinstance(cert.public_key(), rsa.RSAPublicKey) and _is_self_signed(cert):
                self.ark = cert
        if self.ark is None:
            raise EvidenceError("no self-signed RSA-PSS ARK certificate in trust anchor %s" % path)
        for cert in certs:
            if cert.subject == self.ark.subject or cert in self.intermediates:
                continue
            key = cert.public_key()
            if isinstance(key, rsa.RSAPublicKey) and pss_signature_valid(self.ark, cert):
                self.intermediates.append(cert)
        for cert in certs:
            key = cert.public_key()
            if (isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name == "secp384r1"
                    and any(cert.issuer == ask.subject for ask in self.intermediates)):
                self.vcek = cert


def _check_validity(cert, role):
    now = datetime.datetime.utcnow()
    if now < cert.not_valid_before or now > cert.not_valid_after:
        raise EvidenceError("%s certificate %s is outside its validity period" % (role, cert.subject.rfc4514_string()))


def verify_chain(vcek, candidates, anchor):
    """Check VCEK <- ASK <- ARK, with the ARK from the trust anchor; raise EvidenceError.

    candidates are the possible ASKs (the anchor's intermediates, then one
    from cert_chain); the one whose subject is the VCEK's issuer is used.
    """
    ask = None
    for candidate in candidates:
        if candidate is not None and candidate.subject == vcek.issuer:
            ask = candidate
            break
    if ask is None:
        raise EvidenceError("no ASK certificate named %s: configure it in the trust anchor or send it in cert_chain"
                            % vcek.issuer.rfc4514_string())
    if not pss_signature_valid(anchor.ark, ask):
        raise EvidenceError("ASK %s is not signed by the ARK (RSASSA-PSS SHA-384)" % ask.subject.rfc4514_string())
    if not pss_signature_valid(ask, vcek):
        raise EvidenceError("VCEK %s is not signed by the ASK (RSASSA-PSS SHA-384)" % vcek.subject.rfc4514_string())
    key = vcek.public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp384r1":
        raise EvidenceError("VCEK key must be ECDSA P-384")
    for cert, role in ((anchor.ark, "ARK"), (ask, "ASK"), (vcek, "VCEK")):
        _check_validity(cert, role)


def _der_integer(value):
    """Decode a small DER INTEGER (tag 0x02, short length form)."""
    if len(value) < 3 or value[0] != 0x02 or value[1] != len(value) - 2:
        raise EvidenceError("VCEK TCB extension is not a DER INTEGER: %s" % value.hex())
    return int.from_bytes(value[2:], "big", signed=True)


def vcek_extensions(vcek):
    """Return the AMD VCEK extensions: {"bootloader", "tee", "snp", "microcode", "fmc", "hwid"} when present."""
    names = {"3.1": "bootloader", "3.2": "tee", "3.3": "snp", "3.8": "microcode", "3.9": "fmc"}
    found = {}
    for extension in vcek.extensions:
        oid = extension.oid.dotted_string
        if not oid.startswith(AMD_EXTENSION_PREFIX):
            continue
        suffix = oid[len(AMD_EXTENSION_PREFIX):]
        value = getattr(extension.value, "value", b"")
        if suffix in names:
            found[names[suffix]] = _der_integer(value)
        elif suffix == "4":
            if len(value) in (8, 64):
                found["hwid"] = value
            elif len(value) >= 2 and value[0] == 0x04 and value[1] == len(value) - 2:
                found["hwid"] = value[2:]
            else:
                raise EvidenceError("VCEK hwID extension has an unexpected encoding (%d bytes)" % len(value))
    return found


def check_vcek_matches_report(vcek, report_json):
    """Compare REPORTED_TCB and CHIP_ID with the VCEK extensions that are present."""
    found = vcek_extensions(vcek)
    reported = report_json["reported_tcb"]
    for component in TCB_COMPONENTS:
        if component in found and reported.get(component) is not None and reported[component] != found[component]:
            raise EvidenceError("reported_tcb.%s is %d but the VCEK was issued for %d"
                                % (component, reported[component], found[component]))
    hwid = found.get("hwid")
    chip_id = bytes(report_json["chip_id"])
    if hwid is not None and any(chip_id) and chip_id[:len(hwid)] != hwid:
        raise EvidenceError("chip_id %s does not match the VCEK hwID %s" % (chip_id[:8].hex(), hwid[:8].hex()))


def parse_cert_chain(chain):
    """Return {"VCEK": cert, "ASK": cert, ...} from the evidence cert_chain (null gives {})."""
    if chain is None:
        return {}
    if not isinstance(chain, list):
        raise EvidenceError("cert_chain must be an array or null")
    certs = {}
    for index, entry in enumerate(chain):
        if not isinstance(entry, dict) or "cert_type" not in entry or "data" not in entry:
            raise EvidenceError("cert_chain[%d] must be {cert_type, data}" % index)
        cert_type = entry["cert_type"]
        if not isinstance(cert_type, str):
            continue
        if cert_type not in ("ARK", "ASK", "VCEK", "VLEK", "CRL", "Empty"):
            raise EvidenceError("cert_chain[%d].cert_type %r is unknown" % (index, cert_type))
        if cert_type in ("CRL", "Empty"):
            continue
        data = entry["data"]
        if not isinstance(data, list) or not data:
            raise EvidenceError("cert_chain[%d].data must be a non-empty array of numbers" % index)
        blob = _require_bytes(data, "cert_chain[%d].data" % index, len(data))
        try:
            certs[cert_type] = x509.load_der_x509_certificate(blob)
        except ValueError:
            raise EvidenceError("cert_chain[%d] (%s) is not a DER certificate" % (index, cert_type)) from None
    return certs


def verify_snp_evidence(evidence, anchor, configured_vcek=None):
    """Verify SNP evidence; return (raw report, report JSON) or raise EvidenceError.

    Checks the report encoding, the signing key type, the signature with the
    VCEK (from cert_chain, else configured_vcek, else the trust anchor's) and
    the VCEK chain to the anchor's ARK. Policy is the caller's job.
    """
    if not isinstance(evidence, dict) or "attestation_report" not in evidence:
        raise EvidenceError("SNP evidence must be an object with attestation_report and cert_chain")
    report_json = evidence["attestation_report"]
    raw = report_from_json(report_json)

    if report_json["sig_algo"] != 1:
        raise EvidenceError("sig_algo is %d, expected 1 (ECDSA P-384 with SHA-384)" % report_json["sig_algo"])
    key_info = report_json["key_info"]
    if key_info & KEY_INFO_MASK_CHIP_KEY:
        raise EvidenceError("key_info 0x%x has MASK_CHIP_KEY set, so the report is unsigned" % key_info)
    signing_key = (key_info >> 2) & 7
    if signing_key != 0:
        raise EvidenceError("key_info signing key %d is not the VCEK (0); VLEK reports are not accepted" % signing_key)

    chain = parse_cert_chain(evidence.get("cert_chain"))
    vcek = chain.get("VCEK") or configured_vcek or anchor.vcek
    if vcek is None:
        raise EvidenceError("no VCEK: cert_chain has none and none is configured")
    verify_chain(vcek, anchor.intermediates + [chain.get("ASK")], anchor)
    if not report_signature_valid(raw, vcek.public_key()):
        raise EvidenceError("report signature does not verify with VCEK %s" % vcek.subject.rfc4514_string())
    check_vcek_matches_report(vcek, report_json)
    return raw, report_json


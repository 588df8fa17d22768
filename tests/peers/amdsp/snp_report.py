"""SEV-SNP ATTESTATION_REPORT layout (versions 2, 3 and 5), signing and parsing.

Sources: AMD SEV-SNP firmware ABI specification, ATTESTATION_REPORT
structure; virtee/sev src/firmware/guest/types/snp.rs and go-sev-guest
abi/abi.go for the per-version fields. All integers are little-endian. The
signature is ECDSA P-384 with SHA-384 over bytes 0x000..0x29F; R and S are
stored little-endian, zero padded to 72 bytes each.
"""

import struct

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature, encode_dss_signature)

REPORT_SIZE = 0x4A0
SIGNED_SIZE = 0x2A0
SIGNATURE_OFFSET = 0x2A0
SIG_COMPONENT_SIZE = 72
SIG_ALGO_ECDSA_P384_SHA384 = 1
SUPPORTED_VERSIONS = (2, 3, 5)

POLICY_SMT = 1 << 16
POLICY_RESERVED_ONE = 1 << 17
POLICY_MIGRATE_MA = 1 << 18
POLICY_DEBUG = 1 << 19

KEY_INFO_SIGNING_VCEK = 0 << 2
KEY_INFO_SIGNING_VLEK = 1 << 2
KEY_INFO_SIGNING_NONE = 7 << 2

# Byte offsets of the fields (firmware ABI ATTESTATION_REPORT).
OFF_VERSION = 0x000
OFF_GUEST_SVN = 0x004
OFF_POLICY = 0x008
OFF_FAMILY_ID = 0x010
OFF_IMAGE_ID = 0x020
OFF_VMPL = 0x030
OFF_SIGNATURE_ALGO = 0x034
OFF_CURRENT_TCB = 0x038
OFF_PLATFORM_INFO = 0x040
OFF_KEY_INFO = 0x048
OFF_REPORT_DATA = 0x050
OFF_MEASUREMENT = 0x090
OFF_HOST_DATA = 0x0C0
OFF_ID_KEY_DIGEST = 0x0E0
OFF_AUTHOR_KEY_DIGEST = 0x110
OFF_REPORT_ID = 0x140
OFF_REPORT_ID_MA = 0x160
OFF_REPORTED_TCB = 0x180
OFF_CPUID_FAM_ID = 0x188
OFF_CPUID_MOD_ID = 0x189
OFF_CPUID_STEP = 0x18A
OFF_CHIP_ID = 0x1A0
OFF_COMMITTED_TCB = 0x1E0
OFF_CURRENT_BUILD = 0x1E8
OFF_COMMITTED_BUILD = 0x1EC
OFF_LAUNCH_TCB = 0x1F0
OFF_LAUNCH_MIT_VECTOR = 0x1F8
OFF_CURRENT_MIT_VECTOR = 0x200

# Byte fields: name -> (offset, size).
BYTE_FIELDS = {
    "family_id": (OFF_FAMILY_ID, 16),
    "image_id": (OFF_IMAGE_ID, 16),
    "report_data": (OFF_REPORT_DATA, 64),
    "measurement": (OFF_MEASUREMENT, 48),
    "host_data": (OFF_HOST_DATA, 32),
    "id_key_digest": (OFF_ID_KEY_DIGEST, 48),
    "author_key_digest": (OFF_AUTHOR_KEY_DIGEST, 48),
    "report_id": (OFF_REPORT_ID, 32),
    "report_id_ma": (OFF_REPORT_ID_MA, 32),
    "chip_id": (OFF_CHIP_ID, 64),
}

# CPUID family/model/stepping written into v3+ reports, per generation.
GENERATION_CPUID = {
    "Milan": (0x19, 0x01, 0x01),
    "Genoa": (0x19, 0x11, 0x01),
    "Turin": (0x1A, 0x02, 0x01),
}


class ReportError(ValueError):
    """A report that does not match the ATTESTATION_REPORT layout."""


class TcbVersion:
    """SPL components of a TCB_VERSION; fmc exists on Turin and later only.

    Byte layout of the u64 (virtee TcbVersion, go-sev-guest kds.go):
      Milan, Genoa: 0 BOOT_LOADER, 1 TEE, 6 SNP, 7 MICROCODE
      Turin:        0 FMC, 1 BOOT_LOADER, 2 TEE, 3 SNP, 7 MICROCODE
    """

    def __init__(self, bootloader=0, tee=0, snp=0, microcode=0, fmc=None):
        self.bootloader = bootloader
        self.tee = tee
        self.snp = snp
        self.microcode = microcode
        self.fmc = fmc

    def encode(self, generation):
        raw = bytearray(8)
        if generation == "Turin":
            raw[0] = self.fmc or 0
            raw[1] = self.bootloader
            raw[2] = self.tee
            raw[3] = self.snp
        else:
            raw[0] = self.bootloader
            raw[1] = self.tee
            raw[6] = self.snp
        raw[7] = self.microcode
        return bytes(raw)

    @classmethod
    def decode(cls, raw, generation):
        if generation == "Turin":
            return cls(bootloader=raw[1], tee=raw[2], snp=raw[3],
                       microcode=raw[7], fmc=raw[0])
        return cls(bootloader=raw[0], tee=raw[1], snp=raw[6],
                   microcode=raw[7])

    @classmethod
    def from_json(cls, obj):
        return cls(bootloader=obj.get("bootloader", 0), tee=obj.get("tee", 0),
                   snp=obj.get("snp", 0), microcode=obj.get("microcode", 0),
                   fmc=obj.get("fmc"))

    def to_json(self):
        return {"bootloader": self.bootloader, "tee": self.tee,
                "snp": self.snp, "microcode": self.microcode, "fmc": self.fmc}

    def __eq__(self, other):
        return self.to_json() == other.to_json()

    def __repr__(self):
        return "TcbVersion(%r)" % self.to_json()


def identify_generation(version, cpuid_fam, cpuid_mod, chip_id):
    """Return "Milan", "Genoa" or "Turin" for a report.

    v3+ reports carry CPUID family/model (virtee Generation::identify_cpu).
    A v2 report has no CPUID bytes, so a CHIP_ID with bytes 8..63 zero is
    taken as Turin-like (8-byte CHIP_ID) and anything else as Milan/Genoa,
    which share one TCB layout.
    """
    if version >= 3:
        if cpuid_fam == 0x19:
            if cpuid_mod <= 0x0F:
                return "Milan"
            return "Genoa"
        if cpuid_fam == 0x1A:
            return "Turin"
        raise ReportError("unknown CPUID family 0x%02x in report"
                          % cpuid_fam)
    if not any(chip_id[8:]) and any(chip_id[:8]):
        return "Turin"
    return "Milan"


def _put(buf, offset, data):
    buf[offset:offset + len(data)] = data


def _sized(name, value, size):
    if len(value) != size:
        raise ReportError("%s must be %d bytes, got %d"
                          % (name, size, len(value)))
    return value


def build_report_body(fields):
    """Lay out the signed part (0x2A0 bytes) of a report from a field dict.

    Required keys: version, generation, tcb (a TcbVersion used for current,
    reported, committed and launch TCB unless the specific *_tcb key is
    given). Byte fields default to zeros except report_id_ma (0xFF bytes,
    "no migration agent").
    """
    version = fields["version"]
    if version not in SUPPORTED_VERSIONS:
        raise ReportError("report version %d is not one of %s"
                          % (version, SUPPORTED_VERSIONS))
    generation = fields["generation"]
    tcb = fields["tcb"]
    body = bytearray(SIGNED_SIZE)

    struct.pack_into("<IIQ", body, OFF_VERSION, version,
                     fields.get("guest_svn", 0), fields["policy"])
    struct.pack_into("<II", body, OFF_VMPL, fields.get("vmpl", 0),
                     SIG_ALGO_ECDSA_P384_SHA384)
    struct.pack_into("<QI", body, OFF_PLATFORM_INFO,
                     fields.get("platform_info", 0),
                     fields.get("key_info", KEY_INFO_SIGNING_VCEK))

    defaults = {"report_id_ma": b"\xff" * 32}
    for name, (offset, size) in BYTE_FIELDS.items():
        value = fields.get(name, defaults.get(name, b"\x00" * size))
        _put(body, offset, _sized(name, value, size))

    for key, offset in (("current_tcb", OFF_CURRENT_TCB),
                        ("reported_tcb", OFF_REPORTED_TCB),
                        ("committed_tcb", OFF_COMMITTED_TCB),
                        ("launch_tcb", OFF_LAUNCH_TCB)):
        _put(body, offset, fields.get(key, tcb).encode(generation))

    if version >= 3:
        family, model, stepping = GENERATION_CPUID[generation]
        body[OFF_CPUID_FAM_ID] = family
        body[OFF_CPUID_MOD_ID] = model
        body[OFF_CPUID_STEP] = stepping

    build, minor, major = fields.get("firmware", (0x1a, 0x37, 0x01))
    _put(body, OFF_CURRENT_BUILD, bytes([build, minor, major]))
    _put(body, OFF_COMMITTED_BUILD, bytes([build, minor, major]))

    if version >= 5:
        struct.pack_into("<QQ", body, OFF_LAUNCH_MIT_VECTOR,
                         fields.get("launch_mit_vector", 0),
                         fields.get("current_mit_vector", 0))
    return bytes(body)


def sign_report(body, vcek_private_key):
    """Sign the 0x2A0-byte body and return the full 1184-byte report."""
    if len(body) != SIGNED_SIZE:
        raise ReportError("signed part must be 0x2A0 bytes, got %d"
                          % len(body))
    der = vcek_private_key.sign(body, ec.ECDSA(hashes.SHA384()))
    r, s = decode_dss_signature(der)
    signature = (r.to_bytes(SIG_COMPONENT_SIZE, "little")
                 + s.to_bytes(SIG_COMPONENT_SIZE, "little"))
    signature += b"\x00" * (REPORT_SIZE - SIGNED_SIZE - len(signature))
    return body + signature


def report_signature(report):
    """Return (r, s) as integers from a report's little-endian signature."""
    r = int.from_bytes(report[SIGNATURE_OFFSET:SIGNATURE_OFFSET + 72],
                       "little")
    s = int.from_bytes(report[SIGNATURE_OFFSET + 72:SIGNATURE_OFFSET + 144],
                       "little")
    return r, s


def verify_report_signature(report, vcek_public_key):
    """Verify the report's ECDSA P-384 signature; raises InvalidSignature."""
    if len(report) < REPORT_SIZE:
        raise ReportError("report is %d bytes, expected %d"
                          % (len(report), REPORT_SIZE))
    r, s = report_signature(report)
    vcek_public_key.verify(encode_dss_signature(r, s),
                           bytes(report[:SIGNED_SIZE]),
                           ec.ECDSA(hashes.SHA384()))


def parse_report(report):
    """Decode a report into a dict of fields, following its VERSION."""
    if len(report) < REPORT_SIZE:
        raise ReportError("report is %d bytes, expected %d"
                          % (len(report), REPORT_SIZE))
    version, guest_svn, policy = struct.unpack_from("<IIQ", report,
                                                    OFF_VERSION)
    if version not in (2, 3, 4, 5):
        raise ReportError("unsupported report version %d" % version)
    vmpl, sig_algo = struct.unpack_from("<II", report, OFF_VMPL)
    platform_info, key_info, reserved = struct.unpack_from(
        "<QII", report, OFF_PLATFORM_INFO)

    fields = {"version": version, "guest_svn": guest_svn, "policy": policy,
              "vmpl": vmpl, "signature_algo": sig_algo,
              "platform_info": platform_info, "key_info": key_info,
              "reserved_04c": reserved}
    for name, (offset, size) in BYTE_FIELDS.items():
        fields[name] = bytes(report[offset:offset + size])

    if version >= 3:
        fields["cpuid_fam_id"] = report[OFF_CPUID_FAM_ID]
        fields["cpuid_mod_id"] = report[OFF_CPUID_MOD_ID]
        fields["cpuid_step"] = report[OFF_CPUID_STEP]
    else:
        fields["cpuid_fam_id"] = None
        fields["cpuid_mod_id"] = None
        fields["cpuid_step"] = None
    generation = identify_generation(version, fields["cpuid_fam_id"],
                                     fields["cpuid_mod_id"],
                                     fields["chip_id"])
    fields["generation"] = generation

    for key, offset in (("current_tcb", OFF_CURRENT_TCB),
                        ("reported_tcb", OFF_REPORTED_TCB),
                        ("committed_tcb", OFF_COMMITTED_TCB),
                        ("launch_tcb", OFF_LAUNCH_TCB)):
        fields[key] = TcbVersion.decode(report[offset:offset + 8], generation)
        fields[key + "_raw"] = bytes(report[offset:offset + 8])

    fields["current_build"] = tuple(report[OFF_CURRENT_BUILD:
                                           OFF_CURRENT_BUILD + 3])
    fields["committed_build"] = tuple(report[OFF_COMMITTED_BUILD:
                                             OFF_COMMITTED_BUILD + 3])
    if version >= 5:
        fields["launch_mit_vector"], fields["current_mit_vector"] = (
            struct.unpack_from("<QQ", report, OFF_LAUNCH_MIT_VECTOR))
    else:
        fields["launch_mit_vector"] = None
        fields["current_mit_vector"] = None
    fields["signature_r"], fields["signature_s"] = report_signature(report)
    fields["debug"] = bool(policy & POLICY_DEBUG)
    fields["signing_key"] = (key_info >> 2) & 7
    return fields

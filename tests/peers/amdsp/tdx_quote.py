"""TDX TDREPORT parsing and a quote generator with its own test keys.

Sources:
- Intel TDX module specification: TDREPORT_STRUCT, REPORTMACSTRUCT,
  TEE_TCB_INFO, TDINFO.
- Intel DCAP ECDSA quote library: quote v4/v5 header, TD quote body,
  ECDSA-P256 signature data, certification data types 5 and 6.
- go-tdx-guest abi/abi.go for offsets, and Linux
  drivers/virt/coco/tdx-guest for the GetQuote buffer.

A real quote chains to Intel's SGX root through the PCK certificate, which
no test can reproduce. This simulator signs with an attestation key of its
own. A QE report signed by a test PCK key certifies that key, and the PCK
certificate chains to a test root CA written to the PKI directory.
"""

import datetime
import hashlib
import os
import struct

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature, encode_dss_signature)
from cryptography.x509.oid import NameOID

import snp_pki

TDREPORT_SIZE = 1024
REPORTTYPE_TDX = 0x81

# TDREPORT_STRUCT offsets.
OFF_REPORTTYPE = 0x000
OFF_CPUSVN = 0x010
OFF_TEE_TCB_INFO_HASH = 0x020
OFF_TEE_INFO_HASH = 0x050
OFF_REPORTDATA = 0x080
OFF_MAC = 0x0E0
OFF_TEE_TCB_INFO = 0x100
TEE_TCB_INFO_SIZE = 239
OFF_TDINFO = 0x200
TDINFO_SIZE = 512

# Offsets inside TEE_TCB_INFO and TDINFO.
TCB_TEE_TCB_SVN = 0x08
TCB_MRSEAM = 0x18
TCB_MRSIGNERSEAM = 0x48
TCB_ATTRIBUTES = 0x78
TCB_TEE_TCB_SVN2 = 0x80
TD_ATTRIBUTES = 0x00
TD_XFAM = 0x08
TD_MRTD = 0x10
TD_MRCONFIGID = 0x40
TD_MROWNER = 0x70
TD_MROWNERCONFIG = 0xA0
TD_RTMR0 = 0xD0
TD_SERVTD_HASH = 0x190

QUOTE_HEADER_SIZE = 48
BODY_V4_SIZE = 584
BODY_TDX15_SIZE = 648
ATT_KEY_TYPE_ECDSA_P256 = 2
TEE_TYPE_TDX = 0x81
INTEL_QE_VENDOR_ID = bytes.fromhex("939a7233f79c4ca9940a0db3957f0607")
CERT_DATA_PCK_CHAIN = 5
CERT_DATA_QE_REPORT = 6
QE_REPORT_SIZE = 384
QE_REPORT_REPORTDATA = 320

# GetQuote shared buffer (GHCI TDG.VP.VMCALL<GetQuote>).
GETQUOTE_HEADER_SIZE = 24
GETQUOTE_VERSION = 1
STATUS_SUCCESS = 0
STATUS_IN_FLIGHT = 0xFFFFFFFFFFFFFFFF
STATUS_ERROR = 0x8000000000000000
STATUS_SERVICE_UNAVAILABLE = 0x8000000000000001
VMCALL_SUCCESS = 0
VMCALL_RETRY = 1
VMCALL_INVALID_OPERAND = 0x8000000000000000
VMCALL_ALIGN_ERROR = 0x8000000000000002
GETQUOTE_ALIGNMENT = 4096


class TdxError(ValueError):
    """A TDREPORT, quote or GetQuote buffer that does not parse."""


def parse_tdreport(report):
    """Decode a TDREPORT and check its two SHA-384 hashes.

    Returns a dict of the fields a quote body needs. Raises TdxError when
    the size, REPORTTYPE or a hash is wrong (only the TDX module can check
    the MAC, so it is not checked).
    """
    if len(report) != TDREPORT_SIZE:
        raise TdxError("TDREPORT is %d bytes, expected 1024" % len(report))
    if report[OFF_REPORTTYPE] != REPORTTYPE_TDX:
        raise TdxError("REPORTTYPE.TYPE is 0x%02x, expected 0x81"
                       % report[OFF_REPORTTYPE])
    tee_tcb_info = report[OFF_TEE_TCB_INFO:OFF_TEE_TCB_INFO
                          + TEE_TCB_INFO_SIZE]
    tdinfo = report[OFF_TDINFO:OFF_TDINFO + TDINFO_SIZE]
    if hashlib.sha384(tee_tcb_info).digest() != \
            report[OFF_TEE_TCB_INFO_HASH:OFF_TEE_TCB_INFO_HASH + 48]:
        raise TdxError("TEE_TCB_INFO_HASH does not match TEE_TCB_INFO")
    if hashlib.sha384(tdinfo).digest() != \
            report[OFF_TEE_INFO_HASH:OFF_TEE_INFO_HASH + 48]:
        raise TdxError("TEE_INFO_HASH does not match TDINFO")

    def tcb(offset, size):
        return bytes(tee_tcb_info[offset:offset + size])

    def td(offset, size):
        return bytes(tdinfo[offset:offset + size])

    return {
        "reporttype": bytes(report[0:4]),
        "reportdata": bytes(report[OFF_REPORTDATA:OFF_REPORTDATA + 64]),
        "tee_tcb_svn": tcb(TCB_TEE_TCB_SVN, 16),
        "mrseam": tcb(TCB_MRSEAM, 48),
        "mrsignerseam": tcb(TCB_MRSIGNERSEAM, 48),
        "seam_attributes": tcb(TCB_ATTRIBUTES, 8),
        "tee_tcb_svn2": tcb(TCB_TEE_TCB_SVN2, 16),
        "td_attributes": td(TD_ATTRIBUTES, 8),
        "xfam": td(TD_XFAM, 8),
        "mrtd": td(TD_MRTD, 48),
        "mrconfigid": td(TD_MRCONFIGID, 48),
        "mrowner": td(TD_MROWNER, 48),
        "mrownerconfig": td(TD_MROWNERCONFIG, 48),
        "rtmrs": [td(TD_RTMR0 + 48 * index, 48) for index in range(4)],
        "mrservicetd": td(TD_SERVTD_HASH, 48),
    }


def make_tdreport(report_data, mrtd=None, rtmrs=None, td_attributes=0,
                  xfam=0x61807):
    """Build a TDREPORT with consistent hashes and an arbitrary MAC.

    Stands in for TDG.MR.REPORT where no TDX module exists (host tests and
    the QEMU harness). td_attributes bit 0 is DEBUG.
    """
    if len(report_data) != 64:
        raise TdxError("REPORTDATA must be 64 bytes, got %d"
                       % len(report_data))
    tee_tcb_info = bytearray(TEE_TCB_INFO_SIZE)
    struct.pack_into("<Q", tee_tcb_info, 0, 0x1FF)
    tee_tcb_info[TCB_TEE_TCB_SVN:TCB_TEE_TCB_SVN + 16] = bytes(
        [5, 0, 2] + [0] * 13)
    tee_tcb_info[TCB_MRSEAM:TCB_MRSEAM + 48] = hashlib.sha384(
        b"amdsp mrseam").digest()
    tee_tcb_info[TCB_TEE_TCB_SVN2:TCB_TEE_TCB_SVN2 + 16] = bytes(
        [5, 0, 2] + [0] * 13)

    tdinfo = bytearray(TDINFO_SIZE)
    struct.pack_into("<QQ", tdinfo, TD_ATTRIBUTES, td_attributes, xfam)
    tdinfo[TD_MRTD:TD_MRTD + 48] = mrtd or hashlib.sha384(
        b"amdsp mrtd").digest()
    for index in range(4):
        value = (rtmrs[index] if rtmrs else
                 hashlib.sha384(b"amdsp rtmr%d" % index).digest())
        tdinfo[TD_RTMR0 + 48 * index:TD_RTMR0 + 48 * (index + 1)] = value

    report = bytearray(TDREPORT_SIZE)
    report[0:4] = bytes([REPORTTYPE_TDX, 0, 1, 0])
    report[OFF_CPUSVN:OFF_CPUSVN + 16] = bytes([5, 0, 2] + [0] * 13)
    report[OFF_TEE_TCB_INFO_HASH:OFF_TEE_TCB_INFO_HASH + 48] = \
        hashlib.sha384(tee_tcb_info).digest()
    report[OFF_TEE_INFO_HASH:OFF_TEE_INFO_HASH + 48] = \
        hashlib.sha384(tdinfo).digest()
    report[OFF_REPORTDATA:OFF_REPORTDATA + 64] = report_data
    report[OFF_MAC:OFF_MAC + 32] = hashlib.sha256(bytes(report)).digest()
    report[OFF_TEE_TCB_INFO:OFF_TEE_TCB_INFO + TEE_TCB_INFO_SIZE] = \
        tee_tcb_info
    report[OFF_TDINFO:OFF_TDINFO + TDINFO_SIZE] = tdinfo
    return bytes(report)


def quote_body(fields, body_type):
    """Lay out the TD quote body: 584 bytes (type 2) or 648 (type 3)."""
    body = (fields["tee_tcb_svn"] + fields["mrseam"] + fields["mrsignerseam"]
            + fields["seam_attributes"] + fields["td_attributes"]
            + fields["xfam"] + fields["mrtd"] + fields["mrconfigid"]
            + fields["mrowner"] + fields["mrownerconfig"]
            + b"".join(fields["rtmrs"]) + fields["reportdata"])
    if body_type == 3:
        body += fields["tee_tcb_svn2"] + fields["mrservicetd"]
    return body


def parse_quote_body(body):
    names = (("tee_tcb_svn", 16), ("mrseam", 48), ("mrsignerseam", 48),
             ("seam_attributes", 8), ("td_attributes", 8), ("xfam", 8),
             ("mrtd", 48), ("mrconfigid", 48), ("mrowner", 48),
             ("mrownerconfig", 48), ("rtmr0", 48), ("rtmr1", 48),
             ("rtmr2", 48), ("rtmr3", 48), ("reportdata", 64))
    if len(body) == BODY_TDX15_SIZE:
        names += (("tee_tcb_svn2", 16), ("mrservicetd", 48))
    fields = {}
    offset = 0
    for name, size in names:
        fields[name] = bytes(body[offset:offset + size])
        offset += size
    return fields


def _raw_signature(private_key, data):
    r, s = decode_dss_signature(private_key.sign(data,
                                                 ec.ECDSA(hashes.SHA256())))
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def _verify_raw_signature(public_key, signature, data):
    r = int.from_bytes(signature[:32], "big")
    s = int.from_bytes(signature[32:64], "big")
    public_key.verify(encode_dss_signature(r, s), data,
                      ec.ECDSA(hashes.SHA256()))


def _public_xy(private_key):
    point = private_key.public_key().public_bytes(
        serialization.Encoding.X962,
        serialization.PublicFormat.UncompressedPoint)
    return point[1:]


def _public_key_from_xy(xy):
    return ec.EllipticCurvePublicKey.from_encoded_point(
        ec.SECP256R1(), b"\x04" + bytes(xy))


class TdxPki:
    """Test root CA, PCK certificate and attestation key for quotes."""

    def __init__(self, directory):
        os.makedirs(directory, exist_ok=True)
        self.root_key = _load_or_make_p256(
            os.path.join(directory, "tdx_root_key.pem"))
        self.pck_key = _load_or_make_p256(
            os.path.join(directory, "tdx_pck_key.pem"))
        self.attestation_key = _load_or_make_p256(
            os.path.join(directory, "tdx_attestation_key.pem"))
        self.root = _make_certificate("svsm-tpmboot test SGX Root CA",
                                      self.root_key, self.root_key,
                                      "svsm-tpmboot test SGX Root CA", True)
        self.pck = _make_certificate("svsm-tpmboot test PCK Certificate",
                                     self.pck_key, self.root_key,
                                     "svsm-tpmboot test SGX Root CA", False)
        pem = serialization.Encoding.PEM
        root_path = os.path.join(directory, "tdx_root.pem")
        if not os.path.exists(root_path):
            _write(root_path, self.root.public_bytes(pem))
        else:
            with open(root_path, "rb") as handle:
                self.root = x509.load_pem_x509_certificate(handle.read())
        _write(os.path.join(directory, "tdx_pck.pem"),
               self.pck.public_bytes(pem))

    def chain_pem(self):
        pem = serialization.Encoding.PEM
        return self.pck.public_bytes(pem) + self.root.public_bytes(pem)


def _write(path, data):
    temporary = "%s.tmp.%d" % (path, os.getpid())
    with open(temporary, "wb") as handle:
        handle.write(data)
    os.replace(temporary, path)


def _load_or_make_p256(path):
    if os.path.exists(path):
        with open(path, "rb") as handle:
            return serialization.load_pem_private_key(handle.read(), None)
    key = ec.generate_private_key(ec.SECP256R1())
    _write(path, key.private_bytes(serialization.Encoding.PEM,
                                   serialization.PrivateFormat.PKCS8,
                                   serialization.NoEncryption()))
    return key


def _make_certificate(subject, key, issuer_key, issuer, ca):
    start = datetime.datetime(2024, 1, 1)

    def name(common_name):
        return x509.Name([
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME,
                               "svsm-tpmboot test PKI")])

    builder = (x509.CertificateBuilder()
               .subject_name(name(subject)).issuer_name(name(issuer))
               .public_key(key.public_key()).serial_number(1 if ca else 2)
               .not_valid_before(start)
               .not_valid_after(start + datetime.timedelta(days=25 * 365))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None),
                              critical=True))
    return builder.sign(issuer_key, hashes.SHA256())


def make_qe_report(report_data):
    """Build a 384-byte SGX REPORT body for the quoting enclave."""
    report = bytearray(QE_REPORT_SIZE)
    report[0:16] = bytes([5, 0, 2] + [0] * 13)
    report[64:96] = hashlib.sha256(b"amdsp qe mrenclave").digest()
    report[128:160] = hashlib.sha256(b"amdsp qe mrsigner").digest()
    struct.pack_into("<HH", report, 256, 2, 4)
    report[QE_REPORT_REPORTDATA:QE_REPORT_REPORTDATA + 64] = report_data
    return bytes(report)


def build_quote(tdreport, pki, version=4, body_type=3):
    """Return a quote (v4, or v5 with body_type 2 or 3) for a TDREPORT."""
    fields = parse_tdreport(tdreport)
    if version == 4:
        body_type = 2
    elif version != 5 or body_type not in (2, 3):
        raise TdxError("quote version %r / body type %r is not supported"
                       % (version, body_type))
    body = quote_body(fields, body_type)

    user_data = hashlib.sha256(b"amdsp qe id").digest()[:16] + b"\x00" * 4
    header = struct.pack("<HHIHH", version, ATT_KEY_TYPE_ECDSA_P256,
                         TEE_TYPE_TDX, 0, 0) + INTEL_QE_VENDOR_ID + user_data
    if version == 4:
        signed = header + body
    else:
        signed = header + struct.pack("<HI", body_type, len(body)) + body

    attestation_xy = _public_xy(pki.attestation_key)
    qe_auth_data = hashlib.sha256(b"amdsp qe auth data").digest()
    binding = hashlib.sha256(attestation_xy + qe_auth_data).digest()
    qe_report = make_qe_report(binding + b"\x00" * 32)
    qe_report_signature = _raw_signature(pki.pck_key, qe_report)

    chain = pki.chain_pem()
    inner = struct.pack("<HI", CERT_DATA_PCK_CHAIN, len(chain)) + chain
    qe_data = (qe_report + qe_report_signature
               + struct.pack("<H", len(qe_auth_data)) + qe_auth_data + inner)
    certification = struct.pack("<HI", CERT_DATA_QE_REPORT,
                                len(qe_data)) + qe_data
    signature_data = (_raw_signature(pki.attestation_key, signed)
                      + attestation_xy + certification)
    return signed + struct.pack("<I", len(signature_data)) + signature_data


def parse_quote(quote):
    """Split a v4 or v5 quote into its parts (no signature checks)."""
    if len(quote) < QUOTE_HEADER_SIZE + 4:
        raise TdxError("quote is %d bytes, too short" % len(quote))
    version, key_type, tee_type, qe_svn, pce_svn = struct.unpack_from(
        "<HHIHH", quote, 0)
    if version == 4:
        body_type = 2
        body_offset = QUOTE_HEADER_SIZE
        body_size = BODY_V4_SIZE
    elif version == 5:
        body_type, body_size = struct.unpack_from("<HI", quote,
                                                  QUOTE_HEADER_SIZE)
        body_offset = QUOTE_HEADER_SIZE + 6
        if (body_type, body_size) not in ((2, BODY_V4_SIZE),
                                          (3, BODY_TDX15_SIZE)):
            raise TdxError("v5 body type %d with size %d is not a TD body"
                           % (body_type, body_size))
    else:
        raise TdxError("quote version %d is not 4 or 5" % version)
    signed_end = body_offset + body_size
    if signed_end + 4 > len(quote):
        raise TdxError("quote is %d bytes, body ends at %d"
                       % (len(quote), signed_end))
    (signature_size,) = struct.unpack_from("<I", quote, signed_end)
    signature_data = quote[signed_end + 4:signed_end + 4 + signature_size]
    if len(signature_data) != signature_size:
        raise TdxError("signature data claims %d bytes, %d present"
                       % (signature_size, len(signature_data)))

    cert_type, cert_size = struct.unpack_from("<HI", signature_data, 128)
    cert_data = signature_data[134:134 + cert_size]
    result = {
        "version": version, "att_key_type": key_type, "tee_type": tee_type,
        "qe_svn": qe_svn, "pce_svn": pce_svn,
        "qe_vendor_id": bytes(quote[12:28]), "user_data": bytes(quote[28:48]),
        "body_type": body_type,
        "body": parse_quote_body(quote[body_offset:signed_end]),
        "signed": bytes(quote[:signed_end]),
        "signature": bytes(signature_data[0:64]),
        "attestation_key": bytes(signature_data[64:128]),
        "cert_data_type": cert_type,
        "trailing": bytes(quote[signed_end + 4 + signature_size:]),
    }
    if cert_type == CERT_DATA_QE_REPORT:
        result.update(_parse_qe_certification(cert_data))
    return result


def _parse_qe_certification(data):
    qe_report = bytes(data[0:QE_REPORT_SIZE])
    qe_signature = bytes(data[QE_REPORT_SIZE:QE_REPORT_SIZE + 64])
    offset = QE_REPORT_SIZE + 64
    (auth_size,) = struct.unpack_from("<H", data, offset)
    auth_data = bytes(data[offset + 2:offset + 2 + auth_size])
    offset += 2 + auth_size
    inner_type, inner_size = struct.unpack_from("<HI", data, offset)
    inner = bytes(data[offset + 6:offset + 6 + inner_size])
    return {"qe_report": qe_report, "qe_report_signature": qe_signature,
            "qe_auth_data": auth_data, "pck_cert_type": inner_type,
            "pck_chain": inner}


def verify_quote(quote, trusted_root=None):
    """Check a quote's signatures and QE binding; raise on failure.

    Verifies the quote signature with the embedded attestation key, the QE
    report REPORTDATA binding (SHA-256 of key || QE auth data, then 32 zero
    bytes), the QE report signature with the first certificate of the PCK
    chain and, when trusted_root is given, that the PCK chain's last
    certificate is that root and signed the PCK certificate. Returns the
    parsed quote.
    """
    parsed = parse_quote(quote)
    attestation_key = _public_key_from_xy(parsed["attestation_key"])
    _verify_raw_signature(attestation_key, parsed["signature"],
                          parsed["signed"])
    if parsed["cert_data_type"] != CERT_DATA_QE_REPORT:
        raise TdxError("certification data type %d is not 6"
                       % parsed["cert_data_type"])
    expected = hashlib.sha256(parsed["attestation_key"]
                              + parsed["qe_auth_data"]).digest()
    binding = parsed["qe_report"][QE_REPORT_REPORTDATA:
                                  QE_REPORT_REPORTDATA + 64]
    if binding != expected + b"\x00" * 32:
        raise TdxError("QE report REPORTDATA does not bind the attestation "
                       "key")
    chain = snp_pki.load_pem_certificates(parsed["pck_chain"])
    if not chain:
        raise TdxError("PCK certification data holds no certificate")
    _verify_raw_signature(chain[0].public_key(),
                          parsed["qe_report_signature"], parsed["qe_report"])
    if trusted_root is not None:
        if chain[-1].public_bytes(serialization.Encoding.DER) != \
                trusted_root.public_bytes(serialization.Encoding.DER):
            raise TdxError("PCK chain does not end at the trusted root")
        trusted_root.public_key().verify(
            chain[0].signature, chain[0].tbs_certificate_bytes,
            ec.ECDSA(chain[0].signature_hash_algorithm))
    return parsed


def handle_getquote_buffer(buffer, pki, version, body_type, fault):
    """Fill a GetQuote shared buffer. Returns (R10 value, buffer bytes).

    fault is None or one of "retry", "unavailable", "error". The output
    buffer has the input's size. As in QEMU, a buffer whose size is not a
    non-zero multiple of 4 KiB gets ALIGN_ERROR, and a quote that does not
    fit sets status ERROR.
    """
    if not buffer or len(buffer) % GETQUOTE_ALIGNMENT:
        return VMCALL_ALIGN_ERROR, bytes(buffer)
    out = bytearray(buffer)
    buffer_version, _, in_len, _ = struct.unpack_from("<QQII", buffer, 0)
    if buffer_version != GETQUOTE_VERSION or \
            in_len > len(buffer) - GETQUOTE_HEADER_SIZE:
        return VMCALL_INVALID_OPERAND, bytes(out)
    if fault == "retry":
        return VMCALL_RETRY, bytes(out)

    status = STATUS_SUCCESS
    quote = b""
    if fault == "unavailable":
        status = STATUS_SERVICE_UNAVAILABLE
    elif fault == "error":
        status = STATUS_ERROR
    else:
        report = bytes(buffer[GETQUOTE_HEADER_SIZE:
                              GETQUOTE_HEADER_SIZE + in_len])
        try:
            quote = build_quote(report, pki, version, body_type)
        except TdxError:
            status = STATUS_ERROR
        if len(quote) > len(buffer) - GETQUOTE_HEADER_SIZE:
            status = STATUS_ERROR
            quote = b""
    struct.pack_into("<Q", out, 8, status)
    struct.pack_into("<I", out, 20, len(quote))
    out[GETQUOTE_HEADER_SIZE:GETQUOTE_HEADER_SIZE + len(quote)] = quote
    return VMCALL_SUCCESS, bytes(out)

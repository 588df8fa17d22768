"""Test PKI shaped like AMD's: ARK -> ASK -> VCEK, and the checks a verifier
runs on such a chain.

AMD's certificates (KDS cert_chain and VCEK downloads) are signed with
RSASSA-PSS, SHA-384, MGF1-SHA-384 and a 48-byte salt. ARK and ASK are
RSA-4096 keys. The VCEK has a P-384 key and the KDS extensions under
1.3.6.1.4.1.3704.1 (struct version, product name, TCB SPLs, hwID).
python3-cryptography 38 cannot sign a certificate with PSS, so this module
builds the TBSCertificate with the library, swaps in the PSS algorithm
identifier and assembles the Certificate itself.
"""

import datetime
import os

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID, ObjectIdentifier

import der

OID_RSASSA_PSS = "1.2.840.113549.1.1.10"
OID_MGF1 = "1.2.840.113549.1.1.8"
OID_SHA384 = "2.16.840.1.101.3.4.2.2"
PSS_SALT_LENGTH = 48

KDS_PREFIX = "1.3.6.1.4.1.3704.1."
OID_STRUCT_VERSION = KDS_PREFIX + "1"
OID_PRODUCT_NAME = KDS_PREFIX + "2"
OID_BL_SPL = KDS_PREFIX + "3.1"
OID_TEE_SPL = KDS_PREFIX + "3.2"
OID_SNP_SPL = KDS_PREFIX + "3.3"
OID_SPL_4 = KDS_PREFIX + "3.4"
OID_SPL_5 = KDS_PREFIX + "3.5"
OID_SPL_6 = KDS_PREFIX + "3.6"
OID_SPL_7 = KDS_PREFIX + "3.7"
OID_UCODE_SPL = KDS_PREFIX + "3.8"
OID_FMC_SPL = KDS_PREFIX + "3.9"
OID_HWID = KDS_PREFIX + "4"
OID_CSP_ID = KDS_PREFIX + "5"

# Product names as AMD's KDS writes them into VCEK certificates.
PRODUCT_NAMES = {"Milan": "Milan-B0", "Genoa": "Genoa", "Turin": "Turin"}

ORGANIZATION = "svsm-tpmboot test PKI"


class PkiError(ValueError):
    """A certificate that does not have the expected AMD-style form."""


def pss_algorithm_identifier():
    """Return the DER AlgorithmIdentifier for RSASSA-PSS with SHA-384.

    The parameters list all four RSASSA-PSS-params fields, trailerField
    included, as AMD's certificates do.
    """
    sha384 = der.encode_sequence(der.encode_oid(OID_SHA384),
                                 der.encode_tlv(der.TAG_NULL, b""))
    params = der.encode_sequence(
        der.encode_context(0, sha384),
        der.encode_context(1, der.encode_sequence(der.encode_oid(OID_MGF1),
                                                  sha384)),
        der.encode_context(2, der.encode_integer(PSS_SALT_LENGTH)),
        der.encode_context(3, der.encode_integer(1)))
    return der.encode_sequence(der.encode_oid(OID_RSASSA_PSS), params)


def _pss_padding(salt_length=PSS_SALT_LENGTH):
    return padding.PSS(mgf=padding.MGF1(hashes.SHA384()),
                       salt_length=salt_length)


def amd_style_name(common_name):
    return x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Engineering"),
        x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
        x509.NameAttribute(NameOID.LOCALITY_NAME, "Santa Clara"),
        x509.NameAttribute(NameOID.STATE_OR_PROVINCE_NAME, "CA"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANIZATION),
        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
    ])


def sign_certificate_pss(builder, issuer_key):
    """Sign builder's certificate with RSASSA-PSS SHA-384 by issuer_key.

    Returns the x509.Certificate. The library first signs with PKCS#1 v1.5
    only to produce the TBSCertificate. This function then replaces the
    signature AlgorithmIdentifier inside it (third element) and signs the
    new TBS.
    """
    draft = builder.sign(issuer_key, hashes.SHA384())
    _, tbs_content, _ = der.read_tlv(draft.tbs_certificate_bytes)
    elements = [raw for _, _, raw in der.read_children(tbs_content)]
    if elements[0][0] != 0xA0:
        raise PkiError("TBSCertificate does not start with a version tag")
    algorithm = pss_algorithm_identifier()
    elements[2] = algorithm
    tbs = der.encode_sequence(*elements)
    signature = issuer_key.sign(tbs, _pss_padding(), hashes.SHA384())
    certificate = der.encode_sequence(tbs, algorithm,
                                      der.encode_bit_string(signature))
    return x509.load_der_x509_certificate(certificate)


def _ca_builder(subject, issuer, public_key, serial, path_length):
    now = datetime.datetime(2024, 1, 1)
    builder = (x509.CertificateBuilder()
               .subject_name(subject).issuer_name(issuer)
               .public_key(public_key).serial_number(serial)
               .not_valid_before(now)
               .not_valid_after(now + datetime.timedelta(days=25 * 365)))
    builder = builder.add_extension(
        x509.BasicConstraints(ca=True, path_length=path_length),
        critical=True)
    builder = builder.add_extension(
        x509.KeyUsage(digital_signature=False, content_commitment=False,
                      key_encipherment=False, data_encipherment=False,
                      key_agreement=False, key_cert_sign=True, crl_sign=True,
                      encipher_only=False, decipher_only=False),
        critical=True)
    builder = builder.add_extension(
        x509.SubjectKeyIdentifier.from_public_key(public_key),
        critical=False)
    return builder


def make_ark(ark_key, product):
    name = amd_style_name("ARK-%s" % product)
    builder = _ca_builder(name, name, ark_key.public_key(), 0x10000, None)
    return sign_certificate_pss(builder, ark_key)


def make_ask(ask_key, ark_key, product):
    builder = _ca_builder(amd_style_name("SEV-%s" % product),
                          amd_style_name("ARK-%s" % product),
                          ask_key.public_key(), 0x10001, 0)
    builder = builder.add_extension(
        x509.AuthorityKeyIdentifier.from_issuer_public_key(
            ark_key.public_key()), critical=False)
    return sign_certificate_pss(builder, ark_key)


def _integer_extension(oid, value):
    return x509.UnrecognizedExtension(ObjectIdentifier(oid),
                                      der.encode_integer(value))


def kds_extensions(product, tcb, chip_id, hwid_form="raw"):
    """Return the VCEK's KDS extensions for tcb (TcbVersion) and chip_id.

    With hwid_form "raw" the hwID bytes are the extension value, as in the
    KDS certificates of public test data. With "octet" they are wrapped in
    a DER OCTET STRING, as newer KDS certificates do. Turin and later use 8
    hwID bytes.
    """
    turin = product == "Turin"
    extensions = [
        _integer_extension(OID_STRUCT_VERSION, 1 if turin else 0),
        x509.UnrecognizedExtension(
            ObjectIdentifier(OID_PRODUCT_NAME),
            der.encode_tlv(der.TAG_IA5_STRING,
                           PRODUCT_NAMES[product].encode("ascii"))),
        _integer_extension(OID_BL_SPL, tcb.bootloader),
        _integer_extension(OID_TEE_SPL, tcb.tee),
        _integer_extension(OID_SNP_SPL, tcb.snp),
        _integer_extension(OID_SPL_4, 0),
        _integer_extension(OID_SPL_5, 0),
        _integer_extension(OID_SPL_6, 0),
        _integer_extension(OID_SPL_7, 0),
        _integer_extension(OID_UCODE_SPL, tcb.microcode),
    ]
    if turin:
        extensions.append(_integer_extension(OID_FMC_SPL, tcb.fmc or 0))
    hwid = chip_id[:8] if turin else chip_id
    if hwid_form == "octet":
        hwid = der.encode_tlv(der.TAG_OCTET_STRING, hwid)
    elif hwid_form != "raw":
        raise PkiError("hwid_form must be 'raw' or 'octet', got %r"
                       % hwid_form)
    extensions.append(x509.UnrecognizedExtension(ObjectIdentifier(OID_HWID),
                                                 hwid))
    return extensions


def make_vcek(vcek_key, ask_key, product, tcb, chip_id, hwid_form="raw"):
    """Issue a VCEK certificate; see kds_extensions for the extensions."""
    now = datetime.datetime(2024, 1, 1)
    builder = (x509.CertificateBuilder()
               .subject_name(amd_style_name("SEV-VCEK"))
               .issuer_name(amd_style_name("SEV-%s" % product))
               .public_key(vcek_key.public_key()).serial_number(1)
               .not_valid_before(now)
               .not_valid_after(now + datetime.timedelta(days=7 * 365)))
    for extension in kds_extensions(product, tcb, chip_id, hwid_form):
        builder = builder.add_extension(extension, critical=False)
    return sign_certificate_pss(builder, ask_key)


def certificate_signature_algorithm(certificate):
    """Return (oid, salt_length, hash_oid) of a certificate's signature.

    Parsed from the outer Certificate.signatureAlgorithm, because
    cryptography 38 does not expose RSASSA-PSS parameters.
    """
    raw = certificate.public_bytes(serialization.Encoding.DER)
    _, content, _ = der.read_tlv(raw)
    children = der.read_children(content)
    if len(children) != 3:
        raise PkiError("Certificate has %d elements, expected 3"
                       % len(children))
    algorithm = der.read_children(children[1][1])
    oid = der.decode_oid(algorithm[0][1])
    if oid != OID_RSASSA_PSS:
        return oid, None, None
    salt_length = 20
    hash_oid = "1.3.14.3.2.26"
    if len(algorithm) > 1:
        for tag, value, _ in der.read_children(algorithm[1][1]):
            inner_tag, inner, _ = der.read_tlv(value)
            if tag == 0xA0:
                hash_oid = der.decode_oid(der.read_children(inner)[0][1])
            elif tag == 0xA2 and inner_tag == der.TAG_INTEGER:
                salt_length = der.decode_integer(inner)
    return oid, salt_length, hash_oid


def verify_issued_by(certificate, issuer_certificate):
    """Verify that issuer_certificate's key signed certificate.

    Only RSASSA-PSS with SHA-384 is accepted, as in AMD's chain. Raises
    PkiError for another algorithm and InvalidSignature for a bad signature.
    """
    oid, salt_length, hash_oid = certificate_signature_algorithm(certificate)
    if oid != OID_RSASSA_PSS or hash_oid != OID_SHA384:
        raise PkiError("certificate %s is signed with %s / hash %s, "
                       "expected RSASSA-PSS with SHA-384"
                       % (certificate.subject.rfc4514_string(), oid,
                          hash_oid))
    if certificate.issuer != issuer_certificate.subject:
        raise PkiError("issuer %s does not match %s"
                       % (certificate.issuer.rfc4514_string(),
                          issuer_certificate.subject.rfc4514_string()))
    issuer_certificate.public_key().verify(
        certificate.signature, certificate.tbs_certificate_bytes,
        _pss_padding(salt_length), hashes.SHA384())


def verify_chain(vcek, ask, ark):
    """Verify ARK (self-signed) -> ASK -> VCEK; raises on any failure."""
    verify_issued_by(ark, ark)
    verify_issued_by(ask, ark)
    verify_issued_by(vcek, ask)
    if not isinstance(vcek.public_key(), ec.EllipticCurvePublicKey):
        raise PkiError("VCEK key is not an EC key")
    if vcek.public_key().curve.name != "secp384r1":
        raise PkiError("VCEK key is on %s, expected secp384r1"
                       % vcek.public_key().curve.name)


def parse_kds_extensions(certificate):
    """Return the AMD KDS extensions of a VCEK/VLEK as a dict.

    Keys: struct_version, product_name, bl_spl, tee_spl, snp_spl,
    ucode_spl, fmc_spl (None if absent), hwid (bytes or None), csp_id.
    """
    values = {}
    for extension in certificate.extensions:
        dotted = extension.oid.dotted_string
        if dotted.startswith(KDS_PREFIX):
            values[dotted] = extension.value.value

    def integer(oid):
        if oid not in values:
            return None
        tag, content, _ = der.read_tlv(values[oid])
        if tag != der.TAG_INTEGER:
            raise PkiError("extension %s has tag 0x%02x, expected INTEGER"
                           % (oid, tag))
        return der.decode_integer(content)

    def ia5(oid):
        if oid not in values:
            return None
        tag, content, _ = der.read_tlv(values[oid])
        if tag != der.TAG_IA5_STRING:
            raise PkiError("extension %s has tag 0x%02x, expected IA5String"
                           % (oid, tag))
        return content.decode("ascii")

    hwid = values.get(OID_HWID)
    if hwid is not None and len(hwid) in (66, 10) and hwid[0] == 0x04 \
            and hwid[1] == len(hwid) - 2:
        hwid = hwid[2:]
    return {"struct_version": integer(OID_STRUCT_VERSION),
            "product_name": ia5(OID_PRODUCT_NAME),
            "bl_spl": integer(OID_BL_SPL), "tee_spl": integer(OID_TEE_SPL),
            "snp_spl": integer(OID_SNP_SPL),
            "ucode_spl": integer(OID_UCODE_SPL),
            "fmc_spl": integer(OID_FMC_SPL),
            "hwid": hwid, "csp_id": ia5(OID_CSP_ID)}


def _load_or_make_key(path, make):
    if os.path.exists(path):
        with open(path, "rb") as handle:
            return serialization.load_pem_private_key(handle.read(), None)
    key = make()
    _write_atomically(path, key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    return key


def _write_atomically(path, data):
    temporary = "%s.tmp.%d" % (path, os.getpid())
    with open(temporary, "wb") as handle:
        handle.write(data)
    os.replace(temporary, path)


def _write_certificate(directory, stem, certificate):
    for encoding, suffix in ((serialization.Encoding.PEM, ".pem"),
                             (serialization.Encoding.DER, ".der")):
        _write_atomically(os.path.join(directory, stem + suffix),
                          certificate.public_bytes(encoding))


def _same_public_key(first, second):
    form = (serialization.Encoding.DER,
            serialization.PublicFormat.SubjectPublicKeyInfo)
    return first.public_bytes(*form) == second.public_bytes(*form)


class SnpPki:
    """ARK, ASK and VCEK certificates and keys of the simulated platform.

    The RSA private keys are loaded only when first used, because loading
    an RSA-4096 key runs OpenSSL's slow key check.
    """

    def __init__(self, directory, vcek_key, ark, ask, vcek):
        self.directory = directory
        self.vcek_key = vcek_key
        self.ark = ark
        self.ask = ask
        self.vcek = vcek
        self._keys = {}

    def _key(self, name):
        if name not in self._keys:
            self._keys[name] = _load_or_make_key(
                os.path.join(self.directory, name + "_key.pem"), _rsa4096)
        return self._keys[name]

    @property
    def ark_key(self):
        return self._key("ark")

    @property
    def ask_key(self):
        return self._key("ask")

    def der(self, name):
        certificate = getattr(self, name)
        return certificate.public_bytes(serialization.Encoding.DER)


def _rsa4096():
    return rsa.generate_private_key(public_exponent=65537, key_size=4096)


def _load_certificate(path):
    if not os.path.exists(path):
        return None
    with open(path, "rb") as handle:
        return x509.load_pem_x509_certificate(handle.read())


def _issued_by(certificate, issuer):
    try:
        verify_issued_by(certificate, issuer)
    except (InvalidSignature, PkiError):
        return False
    return True


def _reusable_ca(directory, product):
    """Return (ark, ask) from directory if they form this product's chain."""
    if not (os.path.exists(os.path.join(directory, "ark_key.pem"))
            and os.path.exists(os.path.join(directory, "ask_key.pem"))):
        return None, None
    ark = _load_certificate(os.path.join(directory, "ark.pem"))
    ask = _load_certificate(os.path.join(directory, "ask.pem"))
    if ark is None or ask is None:
        return None, None
    if ark.subject != amd_style_name("ARK-%s" % product):
        return None, None
    if not (_issued_by(ark, ark) and _issued_by(ask, ark)):
        return None, None
    return ark, ask


def _reusable_vcek(directory, vcek_key, ask, extensions):
    """Return vcek.pem if it certifies vcek_key with these extensions."""
    vcek = _load_certificate(os.path.join(directory, "vcek.pem"))
    if vcek is None:
        return None
    if not _same_public_key(vcek.public_key(), vcek_key.public_key()):
        return None
    present = [(ext.oid.dotted_string, ext.value.value)
               for ext in vcek.extensions
               if ext.oid.dotted_string.startswith(KDS_PREFIX)]
    expected = [(ext.oid.dotted_string, ext.value) for ext in extensions]
    if present != expected or not _issued_by(vcek, ask):
        return None
    return vcek


def load_or_create_pki(directory, product, tcb, chip_id, hwid_form="raw"):
    """Load the ARK/ASK/VCEK keys and certificates from directory or create
    them there.

    Existing keys are reused because RSA-4096 generation is slow.
    ark.pem and ask.pem are reused when they form a valid chain for this
    product, because a KBS may already use the ARK as its trust anchor.
    vcek.pem is reused when it carries the configured TCB and chip id.
    Writes ark, ask and vcek as PEM
    and DER, cert_chain.pem (ASK then ARK, like AMD's cert_chain) and the
    private keys as unencrypted PKCS#8 PEM (test keys only).
    """
    os.makedirs(directory, exist_ok=True)
    vcek_key = _load_or_make_key(os.path.join(directory, "vcek_key.pem"),
                                 lambda: ec.generate_private_key(
                                     ec.SECP384R1()))
    ark, ask = _reusable_ca(directory, product)
    pki = SnpPki(directory, vcek_key, ark, ask, None)
    if ark is None:
        pki.ark = make_ark(pki.ark_key, product)
        pki.ask = make_ask(pki.ask_key, pki.ark_key, product)
        _write_certificate(directory, "ark", pki.ark)
        _write_certificate(directory, "ask", pki.ask)
        _write_atomically(os.path.join(directory, "cert_chain.pem"),
                          pki.ask.public_bytes(serialization.Encoding.PEM)
                          + pki.ark.public_bytes(serialization.Encoding.PEM))

    extensions = kds_extensions(product, tcb, chip_id, hwid_form)
    pki.vcek = _reusable_vcek(directory, vcek_key, pki.ask, extensions)
    if pki.vcek is None:
        pki.vcek = make_vcek(vcek_key, pki.ask_key, product, tcb, chip_id,
                             hwid_form)
        _write_certificate(directory, "vcek", pki.vcek)
    return pki


def load_pem_certificates(data):
    """Return the certificates of a PEM bundle in order.

    cryptography 38 has no load_pem_x509_certificates, so the bundle is
    split at the END markers. Bytes after the last certificate (the NUL
    terminator of DCAP certification data) are ignored.
    """
    marker = b"-----END CERTIFICATE-----"
    certificates = []
    for part in data.split(marker):
        if b"-----BEGIN CERTIFICATE-----" in part:
            certificates.append(x509.load_pem_x509_certificate(
                part[part.index(b"-----BEGIN"):] + marker + b"\n"))
    return certificates

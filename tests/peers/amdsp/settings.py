"""Configuration of the simulated platform: VMPCKs, sequence numbers, report
fields and TDX quote options, from a JSON file, the command line or a
control message.

Binary values are hex strings in JSON. Every key is optional:
  vmpck            list of 4 hex strings (32 bytes each); VMPCKn defaults to
                   the bytes 32n, 32n+1, ..., 32n+31 (VMPCK0 = 00..1f)
  seqno            list of 4 expected request sequence numbers (default 1)
  product          "Milan", "Genoa" or "Turin" (default "Milan")
  report_version   2, 3 or 5 (default 3)
  policy           guest POLICY (default 0x30000: SMT allowed, bit 17 set)
  debug            true sets POLICY bit 19 (DEBUG)
  measurement, host_data, family_id, image_id, id_key_digest,
  author_key_digest, report_id, report_id_ma, chip_id   hex byte fields
  guest_svn, platform_info, launch_mit_vector, current_mit_vector  integers
  tcb              {"bootloader", "tee", "snp", "microcode", "fmc"}
  firmware         [build, minor, major] of the firmware version
  hwid_form        "raw" or "octet": encoding of the VCEK hwID extension
  pki_dir          directory for the generated keys and certificates
  faults           list of {"fault": NAME, "count": N, parameters...}
  quote_version    4 or 5 (default 4)
  tdx_body_type    2 (TDX 1.0) or 3 (TDX 1.5) body in a v5 quote (default 3)
"""

import hashlib

from snp_report import TcbVersion, SUPPORTED_VERSIONS, POLICY_DEBUG

PRODUCTS = ("Milan", "Genoa", "Turin")

HEX_FIELDS = {
    "measurement": 48, "host_data": 32, "family_id": 16, "image_id": 16,
    "id_key_digest": 48, "author_key_digest": 48, "report_id": 32,
    "report_id_ma": 32, "chip_id": 64,
}
INT_FIELDS = ("guest_svn", "platform_info", "launch_mit_vector",
              "current_mit_vector", "policy")


class SettingsError(ValueError):
    """A configuration value of the wrong type, size or range."""


def default_vmpck(index):
    return bytes(range(32 * index, 32 * index + 32))


def _digest(label, size):
    return hashlib.sha384(label.encode("ascii")).digest()[:size]


class Settings:
    """Values that shape the simulated platform's responses."""

    def __init__(self):
        self.vmpck = [default_vmpck(index) for index in range(4)]
        self.seqno = [1, 1, 1, 1]
        self.product = "Milan"
        self.report_version = 3
        self.policy = 0x30000
        self.guest_svn = 0
        self.platform_info = 0x3
        self.launch_mit_vector = 0
        self.current_mit_vector = 0
        self.tcb = TcbVersion(bootloader=3, tee=0, snp=8, microcode=115)
        self.firmware = (0x1a, 0x37, 0x01)
        self.hwid_form = "raw"
        self.pki_dir = None
        self.faults = []
        self.quote_version = 4
        self.tdx_body_type = 3
        self.bytes_fields = {
            "measurement": _digest("amdsp measurement", 48),
            "host_data": b"\x00" * 32,
            "family_id": b"\x00" * 16,
            "image_id": b"\x00" * 16,
            "id_key_digest": b"\x00" * 48,
            "author_key_digest": b"\x00" * 48,
            "report_id": _digest("amdsp report id", 32),
            "report_id_ma": b"\xff" * 32,
            "chip_id": _digest("amdsp chip id", 48) + _digest("chip", 16),
        }

    @property
    def debug(self):
        return bool(self.policy & POLICY_DEBUG)

    def update(self, obj):
        """Apply the keys of a JSON object; raise SettingsError on bad ones.

        "debug" is applied after "policy", whatever their order in obj.
        """
        for key, value in obj.items():
            if key != "debug":
                self._apply(key, value)
        if "debug" in obj:
            self._apply("debug", obj["debug"])
        if self.product == "Turin" and "chip_id" not in obj:
            chip = self.bytes_fields["chip_id"]
            self.bytes_fields["chip_id"] = chip[:8] + b"\x00" * 56
        if self.product == "Turin" and self.tcb.fmc is None:
            self.tcb.fmc = 0

    def _apply(self, key, value):
        if key == "vmpck":
            self._apply_vmpck(value)
        elif key == "seqno":
            if (not isinstance(value, list) or len(value) != 4
                    or not all(isinstance(item, int) and item >= 0
                               for item in value)):
                raise SettingsError("seqno must be a list of 4 non-negative "
                                    "integers, got %r" % (value,))
            self.seqno = list(value)
        elif key == "product":
            if value not in PRODUCTS:
                raise SettingsError("product must be one of %s, got %r"
                                    % (PRODUCTS, value))
            self.product = value
        elif key == "report_version":
            if value not in SUPPORTED_VERSIONS:
                raise SettingsError("report_version must be one of %s, got %r"
                                    % (SUPPORTED_VERSIONS, value))
            self.report_version = value
        elif key == "debug":
            if value:
                self.policy |= POLICY_DEBUG
            else:
                self.policy &= ~POLICY_DEBUG
        elif key in INT_FIELDS:
            if not isinstance(value, int) or value < 0:
                raise SettingsError("%s must be a non-negative integer, got "
                                    "%r" % (key, value))
            setattr(self, key, value)
        elif key in HEX_FIELDS:
            self.bytes_fields[key] = parse_hex(key, value, HEX_FIELDS[key])
        elif key == "tcb":
            self.tcb = TcbVersion.from_json(value)
        elif key == "firmware":
            self.firmware = tuple(value)
        elif key == "hwid_form":
            if value not in ("raw", "octet"):
                raise SettingsError("hwid_form must be 'raw' or 'octet', got "
                                    "%r" % (value,))
            self.hwid_form = value
        elif key == "pki_dir":
            self.pki_dir = value
        elif key == "faults":
            self.faults = list(value)
        elif key == "quote_version":
            if value not in (4, 5):
                raise SettingsError("quote_version must be 4 or 5, got %r"
                                    % (value,))
            self.quote_version = value
        elif key == "tdx_body_type":
            if value not in (2, 3):
                raise SettingsError("tdx_body_type must be 2 or 3, got %r"
                                    % (value,))
            self.tdx_body_type = value
        else:
            raise SettingsError("unknown setting %r" % key)

    def _apply_vmpck(self, value):
        if not isinstance(value, list) or len(value) != 4:
            raise SettingsError("vmpck must be a list of 4 hex strings")
        self.vmpck = [parse_hex("vmpck%d" % index, item, 32)
                      for index, item in enumerate(value)]

    def public_json(self):
        """Return the settings without the VMPCKs, for logs and state."""
        result = {"seqno": list(self.seqno), "product": self.product,
                  "report_version": self.report_version,
                  "policy": self.policy, "debug": self.debug,
                  "tcb": self.tcb.to_json(),
                  "quote_version": self.quote_version,
                  "tdx_body_type": self.tdx_body_type}
        for name in ("measurement", "host_data", "chip_id"):
            result[name] = self.bytes_fields[name].hex()
        return result


def parse_hex(name, value, size):
    try:
        raw = bytes.fromhex(value)
    except (TypeError, ValueError):
        raise SettingsError("%s must be a hex string, got %r" % (name, value))
    if len(raw) != size:
        raise SettingsError("%s must be %d bytes, got %d"
                            % (name, size, len(raw)))
    return raw

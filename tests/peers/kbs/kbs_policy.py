"""Attestation policy of the test KBS, loaded from a JSON file.

{
  "measurements": ["<96 hex digits>", ...],   SNP MEASUREMENT or TDX MRTD allowed
  "allow_any_measurement": false,             true skips the measurement check
  "vmpl": 0,                                  required SNP VMPL
  "min_report_version": 3,                    Trustee accepts versions 3 to 5
  "min_reported_tcb": {"bootloader": 0, "tee": 0, "snp": 0, "microcode": 0, "fmc": 0},
  "resources": {"<repo>/<type>/<tag>": {"measurements": [...]}},
  "keys": {"<key-id>": {"measurements": [...]}}
}
The SNP DEBUG policy bit and the TDX DEBUG attribute are always rejected.
Every member is optional except that, without "measurements", every report
is rejected unless "allow_any_measurement" is true.
"""

import json

from snp_evidence import POLICY_DEBUG_BIT, TCB_COMPONENTS

REPORT_VERSION_MAX = 5


class PolicyDenied(Exception):
    """A policy rule rejected the evidence or the request; the message names the rule and values."""


def _hex_list(values, where):
    if not isinstance(values, list):
        raise ValueError("%s must be a list of hex strings" % where)
    result = set()
    for value in values:
        try:
            result.add(bytes.fromhex(value))
        except (TypeError, ValueError):
            raise ValueError("%s contains %r, which is not hex" % (where, value)) from None
    return result


class Policy:
    """Parsed policy; see the module docstring for the file format."""

    def __init__(self, obj=None):
        obj = obj or {}
        if not isinstance(obj, dict):
            raise ValueError("policy must be a JSON object")
        self.measurements = _hex_list(obj.get("measurements", []), "measurements")
        self.allow_any_measurement = bool(obj.get("allow_any_measurement", False))
        self.vmpl = int(obj.get("vmpl", 0))
        self.min_report_version = int(obj.get("min_report_version", 3))
        self.min_reported_tcb = obj.get("min_reported_tcb", {})
        for name, value in self.min_reported_tcb.items():
            if name not in TCB_COMPONENTS or not isinstance(value, int):
                raise ValueError("min_reported_tcb.%s must be one of %s with an integer" % (name, TCB_COMPONENTS))
        self.resources = {
            path: _hex_list(rule.get("measurements", []), "resources.%s.measurements" % path)
            for path, rule in obj.get("resources", {}).items()
        }
        self.keys = {
            key_id: _hex_list(rule.get("measurements", []), "keys.%s.measurements" % key_id)
            for key_id, rule in obj.get("keys", {}).items()
        }

    @classmethod
    def load(cls, path):
        """Read the policy file; raise ValueError naming the file on a bad format."""
        with open(path, "r", encoding="utf-8") as f:
            try:
                return cls(json.load(f))
            except (ValueError, TypeError, AttributeError) as exc:
                raise ValueError("invalid policy file %s: %s" % (path, exc)) from None

    def _check_measurement(self, measurement):
        if self.allow_any_measurement:
            return
        if measurement not in self.measurements:
            raise PolicyDenied("measurement %s is not in the policy's %d allowed measurements"
                               % (measurement.hex(), len(self.measurements)))

    def check_snp(self, report):
        """Apply the policy to an SNP report (serde JSON form); raise PolicyDenied."""
        version = report["version"]
        if version < self.min_report_version or version > REPORT_VERSION_MAX:
            raise PolicyDenied("report version %d is outside %d..%d" % (version, self.min_report_version, REPORT_VERSION_MAX))
        if report["policy"] & POLICY_DEBUG_BIT:
            raise PolicyDenied("guest policy 0x%x has DEBUG (bit 19) set" % report["policy"])
        if report["vmpl"] != self.vmpl:
            raise PolicyDenied("report VMPL is %d, policy requires %d" % (report["vmpl"], self.vmpl))
        self._check_measurement(bytes(report["measurement"]))
        reported = report["reported_tcb"]
        for name, minimum in sorted(self.min_reported_tcb.items()):
            value = reported.get(name)
            if value is None:
                if name == "fmc":
                    continue
                raise PolicyDenied("reported_tcb.%s is missing, policy minimum is %d" % (name, minimum))
            if value < minimum:
                raise PolicyDenied("reported_tcb.%s is %d, below the policy minimum %d" % (name, value, minimum))

    def check_tdx(self, quote):
        """Apply the policy to a parsed TDX quote; raise PolicyDenied."""
        if quote["td_attributes"] & 1:
            raise PolicyDenied("TD attributes 0x%x have DEBUG (bit 0) set" % quote["td_attributes"])
        self._check_measurement(quote["mrtd"])

    def check_resource(self, path, measurement):
        """Apply a per-resource rule, if any; raise PolicyDenied."""
        allowed = self.resources.get(path)
        if allowed is not None and measurement not in allowed:
            raise PolicyDenied("resource %s is not released to measurement %s" % (path, measurement.hex()))

    def check_key(self, key_id, measurement):
        """Apply a per-key rule of the tpmboot-unwrap plugin, if any; raise PolicyDenied."""
        allowed = self.keys.get(key_id)
        if allowed is not None and measurement not in allowed:
            raise PolicyDenied("key %s is not released to measurement %s" % (key_id, measurement.hex()))

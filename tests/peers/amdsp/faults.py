"""Fault injection knobs shared by the SNP and TDX simulators.

A fault is armed with a name, a count (how many of the next matching
requests it hits) and optional parameters, from the command line, the
configuration file or a control message.
"""

# name -> (applies to, default parameters, description)
FAULTS = {
    "busy": ("snp", {}, "return BUSY (SW_EXITINFO2 = 2 << 32) without "
             "running the firmware command"),
    "invalid_len": ("snp", {"pages": None}, "return INVALID_LEN "
                    "(SW_EXITINFO2 = 1 << 32) to an extended request with "
                    "'pages' (default: the real need) as the required page "
                    "count, without running the firmware command"),
    "fw_error": ("snp", {"status": 0x16}, "firmware rejects the request: "
                 "'status' in the lower 32 bits, no response message, "
                 "sequence number not consumed"),
    "corrupt_tag": ("snp", {}, "flip one bit of the response tag"),
    "wrong_seqno": ("snp", {"delta": 2}, "response msg_seqno is request + "
                    "1 + 'delta' (the message authenticates with it)"),
    "wrong_type": ("snp", {"msg_type": None}, "response msg_type is "
                   "'msg_type' (default: request type + 3)"),
    "wrong_version": ("snp", {"msg_version": None}, "response msg_version "
                      "is 'msg_version' (default: request version + 1)"),
    "msg_sz": ("snp", {"value": 0xFFFF}, "response header msg_sz is "
               "rewritten to 'value' after sealing"),
    "truncate": ("snp", {"bytes": 1024}, "send only the first 'bytes' "
                 "bytes of the payload (response page, then certificate "
                 "buffer)"),
    "refuse": ("snp", {"status": 0x16}, "MSG_REPORT_RSP carries 'status' "
               "and no report"),
    "tdx_retry": ("tdx", {}, "GetQuote returns TDG.VP.VMCALL_RETRY (1)"),
    "tdx_unavailable": ("tdx", {}, "GetQuote status "
                        "SERVICE_UNAVAILABLE (0x8000000000000001)"),
    "tdx_error": ("tdx", {}, "GetQuote status ERROR (0x8000000000000000)"),
}


class FaultError(ValueError):
    """An unknown fault name or a malformed fault parameter."""


class FaultSet:
    """Armed faults with their remaining counts."""

    def __init__(self):
        self.armed = {}

    def arm(self, name, count=1, **params):
        if name not in FAULTS:
            raise FaultError("unknown fault %r; known faults: %s"
                             % (name, ", ".join(sorted(FAULTS))))
        if not isinstance(count, int) or count < 0:
            raise FaultError("fault %s: count must be a non-negative "
                             "integer, got %r" % (name, count))
        merged = dict(FAULTS[name][1])
        for key, value in params.items():
            if key not in merged:
                raise FaultError("fault %s has no parameter %r (known: %s)"
                                 % (name, key, ", ".join(merged) or "none"))
            merged[key] = value
        if count == 0:
            self.armed.pop(name, None)
        else:
            self.armed[name] = {"count": count, "params": merged}

    def arm_from_json(self, obj):
        params = {key: value for key, value in obj.items()
                  if key not in ("fault", "count")}
        self.arm(obj["fault"], obj.get("count", 1), **params)

    def take(self, name):
        """Consume one use of fault name; return its parameters or None."""
        entry = self.armed.get(name)
        if entry is None:
            return None
        entry["count"] -= 1
        if entry["count"] == 0:
            del self.armed[name]
        return entry["params"]

    def clear(self):
        self.armed.clear()

    def to_json(self):
        return {name: dict(entry) for name, entry in self.armed.items()}


def parse_fault_option(text):
    """Parse "NAME[:COUNT[:key=value,...]]" from the command line."""
    parts = text.split(":", 2)
    name = parts[0]
    count = int(parts[1], 0) if len(parts) > 1 and parts[1] else 1
    params = {}
    if len(parts) > 2 and parts[2]:
        for item in parts[2].split(","):
            key, _, value = item.partition("=")
            if not value:
                raise FaultError("fault parameter %r is not key=value" % item)
            params[key] = int(value, 0)
    return {"fault": name, "count": count, **params}

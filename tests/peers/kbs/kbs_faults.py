"""Fault injection for the test KBS.

A fault is NAME[:ARG][@PATH][#COUNT] on the command line (--fault) or
{"name", "arg", "path", "count"} through the test control endpoint.
PATH limits the fault to request paths that start with it; COUNT limits how
many responses it changes (unlimited when absent).

Names:
  refuse          close the connection without a response
  wrong-nonce     /auth returns a nonce other than the one the session checks
  malformed-json  the response body is replaced by invalid JSON (status kept)
  bad-jwe-tag     one bit of the JWE tag is flipped
  http-500        respond 500 Internal Server Error
  slow            sleep ARG milliseconds before responding
  cut             send the headers and half of the body, then close
  wrong-cookie    /auth sets a kbs-session-id cookie that names no session
  release-strip        a tpmboot-unwrap response lacks its release-signature
  release-other-nonce  the release-signature covers a random nonce, not the session's
  release-swap-jwe     the JWE carries a substituted key, the signature is the real one's
  release-fake-kbs     a fake KBS: substituted key, signed with a fresh key (even without --release-key)
"""

import threading

FAULT_NAMES = (
    "refuse",
    "wrong-nonce",
    "malformed-json",
    "bad-jwe-tag",
    "http-500",
    "slow",
    "cut",
    "wrong-cookie",
    "release-strip",
    "release-other-nonce",
    "release-swap-jwe",
    "release-fake-kbs",
)


class Fault:
    """One configured fault with its path scope and remaining count."""

    def __init__(self, name, arg=None, path=None, count=None):
        if name not in FAULT_NAMES:
            raise ValueError("unknown fault %r; valid names: %s" % (name, ", ".join(FAULT_NAMES)))
        if name == "slow":
            if arg is None or not str(arg).isdigit():
                raise ValueError("fault slow needs a delay in milliseconds, e.g. slow:200")
            arg = int(arg)
        if count is not None:
            count = int(count)
            if count < 1:
                raise ValueError("fault count must be at least 1, got %d" % count)
        if path is not None and not path.startswith("/"):
            raise ValueError("fault path must start with '/', got %r" % path)
        self.name = name
        self.arg = arg
        self.path = path
        self.remaining = count

    @classmethod
    def parse(cls, spec):
        """Build a fault from NAME[:ARG][@PATH][#COUNT]."""
        count = None
        path = None
        arg = None
        if "#" in spec:
            spec, count = spec.rsplit("#", 1)
        if "@" in spec:
            spec, path = spec.split("@", 1)
        if ":" in spec:
            spec, arg = spec.split(":", 1)
        return cls(spec, arg, path, count)

    @classmethod
    def from_json(cls, obj):
        """Build a fault from the control endpoint's JSON form."""
        if not isinstance(obj, dict) or not isinstance(obj.get("name"), str):
            raise ValueError("each fault must be an object with a name")
        return cls(obj["name"], obj.get("arg"), obj.get("path"), obj.get("count"))

    def to_json(self):
        """Return the JSON form, including the remaining count."""
        return {"name": self.name, "arg": self.arg, "path": self.path, "count": self.remaining}


class FaultSet:
    """Thread-safe list of active faults."""

    def __init__(self, faults=()):
        self._lock = threading.Lock()
        self._faults = list(faults)

    def replace(self, faults):
        """Replace every active fault."""
        with self._lock:
            self._faults = list(faults)

    def describe(self):
        """Return the JSON form of the active faults."""
        with self._lock:
            return [f.to_json() for f in self._faults]

    def take(self, name, path):
        """Return the fault NAME that applies to path and consume one use, or None."""
        with self._lock:
            for fault in self._faults:
                if fault.name != name:
                    continue
                if fault.path is not None and not path.startswith(fault.path):
                    continue
                if fault.remaining is not None:
                    fault.remaining -= 1
                    if fault.remaining == 0:
                        self._faults.remove(fault)
                return fault
        return None

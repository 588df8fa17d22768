#!/usr/bin/python3
"""AMD-SP firmware simulator and TDX quote simulator for svsm-tpmboot tests.

Plays the platform side of SEV-SNP guest requests (firmware plus the
hypervisor's GHCB handling) and of TDX GetQuote over a Unix or loopback TCP
socket with the framing in framing.py. See docs/amdsp-socket-protocol.md.

Example:
  /usr/bin/python3 amdsp.py --pki-dir /tmp/pki --listen 127.0.0.1:0
prints "listening on 127.0.0.1:PORT" once it accepts connections, logs one
JSON object per line on stderr (or --log FILE) and runs until SIGTERM or
SIGINT.
"""

import argparse
import json
import os
import signal
import socket
import socketserver
import sys
import tempfile
import threading
import time

import faults
import framing
import snp_firmware
import snp_pki
import tdx_quote
from settings import Settings, SettingsError, parse_hex

PKI_SETTINGS = ("tcb", "chip_id", "product", "hwid_form")


class JsonLog:
    """Writes one JSON object per line; safe to call from several threads."""

    def __init__(self, stream):
        self.stream = stream
        self.lock = threading.Lock()

    def __call__(self, event, **fields):
        record = {"time": round(time.time(), 3), "event": event}
        record.update(fields)
        line = json.dumps(record, sort_keys=False, default=str)
        with self.lock:
            self.stream.write(line + "\n")
            self.stream.flush()


class Simulator:
    """Dispatches framed requests to the SNP firmware, TDX and control code.

    One lock serialises all requests, so state changes are atomic even when
    several connections are open.
    """

    def __init__(self, settings, log):
        self.settings = settings
        self.log = log
        self.lock = threading.Lock()
        self.fault_set = faults.FaultSet()
        for entry in settings.faults:
            self.fault_set.arm_from_json(entry)
        if settings.pki_dir is None:
            settings.pki_dir = tempfile.mkdtemp(prefix="amdsp-pki-")
        self.snp_pki = self.load_snp_pki()
        self.tdx_pki = tdx_quote.TdxPki(settings.pki_dir)
        self.firmware = snp_firmware.SnpFirmware(settings, self.snp_pki,
                                                 self.fault_set, log)
        self.request_count = 0

    def load_snp_pki(self):
        settings = self.settings
        return snp_pki.load_or_create_pki(
            settings.pki_dir, settings.product, settings.tcb,
            settings.bytes_fields["chip_id"], settings.hwid_form)

    def handle(self, kind, certs_pages, payload):
        """Process one request. Returns (certs_pages, exit_info2, payload)."""
        with self.lock:
            self.request_count += 1
            if kind in (framing.KIND_SNP_GUEST_REQUEST,
                        framing.KIND_SNP_EXT_GUEST_REQUEST):
                return self.handle_snp(kind, certs_pages, payload)
            if kind == framing.KIND_TDX_GET_QUOTE:
                return self.handle_tdx(payload)
            return 0, 0, self.handle_control(payload)

    def handle_snp(self, kind, certs_pages, payload):
        if len(payload) != snp_firmware.snp_msg.PAGE_SIZE:
            raise framing.FramingError("SNP request payload is %d bytes, "
                                       "expected 4096" % len(payload))
        extended = kind == framing.KIND_SNP_EXT_GUEST_REQUEST
        self.log("snp_request", extended=extended, certs_pages=certs_pages)
        result = self.firmware.handle(payload, extended, certs_pages)
        body = result.payload()
        self.log("snp_result", exit_info2="0x%x" % result.exit_info2,
                 certs_pages=result.certs_pages, payload_len=len(body))
        return result.certs_pages, result.exit_info2, body

    def handle_tdx(self, payload):
        fault = None
        for name, short in (("tdx_retry", "retry"),
                            ("tdx_unavailable", "unavailable"),
                            ("tdx_error", "error")):
            if self.fault_set.take(name) is not None:
                fault = short
                break
        version = self.settings.quote_version
        body_type = self.settings.tdx_body_type
        if len(payload) == tdx_quote.TDREPORT_SIZE and \
                payload[0] == tdx_quote.REPORTTYPE_TDX:
            return self.handle_raw_tdreport(payload, fault, version,
                                            body_type)
        r10, buffer = tdx_quote.handle_getquote_buffer(
            payload, self.tdx_pki, version, body_type, fault)
        self.log("tdx_getquote", form="buffer", fault=fault,
                 r10="0x%x" % r10, status="0x%x" % int.from_bytes(
                     buffer[8:16], "little") if len(buffer) >= 16 else None)
        return 0, r10, buffer

    def handle_raw_tdreport(self, report, fault, version, body_type):
        """Build a raw quote for a raw TDREPORT (exit_info2 0).

        On failure exit_info2 is RETRY (1) or the GetQuote status that the
        buffer form would have set (ERROR, SERVICE_UNAVAILABLE).
        """
        if fault == "retry":
            code = tdx_quote.VMCALL_RETRY
        elif fault == "unavailable":
            code = tdx_quote.STATUS_SERVICE_UNAVAILABLE
        elif fault == "error":
            code = tdx_quote.STATUS_ERROR
        else:
            try:
                quote = tdx_quote.build_quote(report, self.tdx_pki, version,
                                              body_type)
            except tdx_quote.TdxError as error:
                self.log("tdx_getquote", form="raw", error=str(error))
                return 0, tdx_quote.STATUS_ERROR, b""
            self.log("tdx_getquote", form="raw", quote_version=version,
                     quote_len=len(quote))
            return 0, 0, quote
        self.log("tdx_getquote", form="raw", fault=fault,
                 exit_info2="0x%x" % code)
        return 0, code, b""

    def handle_control(self, payload):
        """Apply a JSON control message; returns the JSON reply as bytes."""
        try:
            message = json.loads(payload.decode("utf-8"))
            if not isinstance(message, dict):
                raise ValueError("control message is not a JSON object")
            reply = self.apply_control(message)
        except (ValueError, KeyError, faults.FaultError,
                SettingsError, tdx_quote.TdxError) as error:
            self.log("control_error", error=str(error))
            reply = {"ok": False, "error": str(error)}
        return json.dumps(reply).encode("utf-8")

    def apply_control(self, message):
        if "fault" in message:
            self.fault_set.arm_from_json(message)
            self.log("control", action="fault", fault=message["fault"],
                     count=message.get("count", 1))
            return {"ok": True, "faults": self.fault_set.to_json()}
        if message.get("get") == "state":
            return {"ok": True,
                    "expected_seqno": self.firmware.expected_seqno,
                    "faults": self.fault_set.to_json(),
                    "reports": self.firmware.report_count,
                    "requests": self.request_count,
                    "pki_dir": self.settings.pki_dir,
                    "settings": self.settings.public_json()}
        if "set" in message:
            changes = message["set"]
            self.settings.update(changes)
            if "seqno" in changes:
                self.firmware.set_seqno(changes["seqno"])
            if any(key in changes for key in PKI_SETTINGS):
                self.snp_pki = self.load_snp_pki()
                self.firmware.pki = self.snp_pki
            self.log("control", action="set", keys=sorted(changes))
            return {"ok": True, "settings": self.settings.public_json()}
        if message.get("clear") == "faults":
            self.fault_set.clear()
            self.log("control", action="clear faults")
            return {"ok": True}
        if message.get("tdx") == "tdreport":
            report_data = parse_hex("report_data", message["report_data"], 64)
            mrtd = None
            if "mrtd" in message:
                mrtd = parse_hex("mrtd", message["mrtd"], 48)
            report = tdx_quote.make_tdreport(
                report_data, mrtd=mrtd,
                td_attributes=message.get("td_attributes", 0))
            return {"ok": True, "tdreport": report.hex()}
        raise ValueError("unknown control message; expected one of the keys "
                         "fault, get, set, clear, tdx")


class ConnectionHandler(socketserver.BaseRequestHandler):
    """Serves framed requests on one connection until EOF or bad framing."""

    def handle(self):
        simulator = self.server.simulator
        sock = self.request
        while True:
            try:
                request = framing.read_request(sock)
                if request is None:
                    return
                kind, certs_pages, payload = request
                certs_out, exit_info2, body = simulator.handle(
                    kind, certs_pages, payload)
                framing.write_response(sock, kind, exit_info2, body,
                                       certs_out)
            except framing.FramingError as error:
                simulator.log("connection_closed", reason=str(error))
                return
            except OSError as error:
                simulator.log("connection_error", error=str(error))
                return


class UnixServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


class TcpServer(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True


def parse_listen(text):
    host, _, port = text.rpartition(":")
    if host not in ("127.0.0.1", "localhost"):
        raise SystemExit("--listen accepts only 127.0.0.1:PORT (loopback), "
                         "got %r" % text)
    return "127.0.0.1", int(port)


def build_settings(args):
    settings = Settings()
    if args.config:
        with open(args.config, "r", encoding="utf-8") as handle:
            settings.update(json.load(handle))
    changes = {}
    if args.vmpck:
        keys = [key.hex() for key in settings.vmpck]
        for item in args.vmpck:
            index, _, value = item.partition(":")
            keys[int(index)] = value
        changes["vmpck"] = keys
    if args.seqno:
        values = list(settings.seqno)
        for item in args.seqno:
            index, _, value = item.partition(":")
            values[int(index)] = int(value, 0)
        changes["seqno"] = values
    for name in ("product", "report_version", "measurement", "host_data",
                 "chip_id", "pki_dir", "quote_version", "policy"):
        value = getattr(args, name)
        if value is not None:
            changes[name] = value
    if args.debug_policy:
        changes["debug"] = True
    if args.fault:
        changes["faults"] = settings.faults + [
            faults.parse_fault_option(item) for item in args.fault]
    settings.update(changes)
    return settings


def parse_arguments(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--unix", metavar="PATH",
                       help="listen on a Unix stream socket at PATH")
    where.add_argument("--listen", metavar="127.0.0.1:PORT",
                       help="listen on loopback TCP; port 0 picks a free one")

    parser.add_argument("--config", metavar="FILE",
                        help="JSON settings file (keys in settings.py)")
    parser.add_argument("--pki-dir", metavar="DIR",
                        help="directory for keys and certificates; existing "
                        "keys are reused (default: a new temporary dir)")
    parser.add_argument("--vmpck", action="append", metavar="N:HEX",
                        help="VMPCK number N (0..3) as 64 hex digits")
    parser.add_argument("--seqno", action="append", metavar="N:VALUE",
                        help="expected next request sequence number for "
                        "VMPCK N (default 1)")

    parser.add_argument("--product", choices=("Milan", "Genoa", "Turin"))
    parser.add_argument("--report-version", type=int, choices=(2, 3, 5))
    parser.add_argument("--policy", type=lambda text: int(text, 0),
                        help="guest POLICY value (default 0x30000)")
    parser.add_argument("--debug-policy", action="store_true",
                        help="set POLICY bit 19 (DEBUG) in reports")
    parser.add_argument("--measurement", metavar="HEX",
                        help="MEASUREMENT, 48 bytes as hex")
    parser.add_argument("--host-data", metavar="HEX",
                        help="HOST_DATA, 32 bytes as hex")
    parser.add_argument("--chip-id", metavar="HEX",
                        help="CHIP_ID, 64 bytes as hex")

    parser.add_argument("--quote-version", type=int, choices=(4, 5))
    parser.add_argument("--fault", action="append",
                        metavar="NAME[:COUNT[:KEY=VALUE,...]]",
                        help="arm a fault at start, e.g. busy:2 or "
                        "refuse:1:status=0x27; names: %s"
                        % ", ".join(sorted(faults.FAULTS)))

    parser.add_argument("--log", metavar="FILE",
                        help="append JSON log lines to FILE instead of "
                        "stderr")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_arguments(argv)
    log_stream = open(args.log, "a", encoding="utf-8") if args.log \
        else sys.stderr
    log = JsonLog(log_stream)
    try:
        settings = build_settings(args)
    except (SettingsError, faults.FaultError, ValueError) as error:
        raise SystemExit("invalid configuration: %s" % error)
    simulator = Simulator(settings, log)

    if args.unix:
        if os.path.exists(args.unix):
            os.unlink(args.unix)
        server = UnixServer(args.unix, ConnectionHandler)
        where = "unix:%s" % args.unix
    else:
        server = TcpServer(parse_listen(args.listen), ConnectionHandler)
        host, port = server.server_address[:2]
        where = "%s:%d" % (host, port)
    server.simulator = simulator

    def stop(signum, frame):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log("start", listen=where, pki_dir=settings.pki_dir,
        settings=settings.public_json())
    print("listening on %s" % where, flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
        if args.unix and os.path.exists(args.unix):
            os.unlink(args.unix)
        log("stop", requests=simulator.request_count)


if __name__ == "__main__":
    main()

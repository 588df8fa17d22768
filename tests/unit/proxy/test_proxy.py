#!/usr/bin/python3
"""Tests of tools/tpmboot-proxy driven as a subprocess.

Usage: test_proxy.py PATH-TO-tpmboot-proxy [unittest options]

The guest side is a Unix socket in a temporary directory. The KBS side is a
TCP server that the test runs on 127.0.0.1 with an ephemeral port.
"""

import atexit
import datetime
import hashlib
import ipaddress
import os
import re
import shutil
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

PROXY = None
HERE = os.path.dirname(os.path.abspath(__file__))
KBS_PEER_DIR = os.path.join(HERE, "..", "..", "peers", "kbs")
MIB = 1 << 20


def make_tempdir(prefix):
    """Return a new temporary directory that is removed when the test process exits."""
    path = tempfile.mkdtemp(prefix=prefix)
    atexit.register(shutil.rmtree, path, True)
    return path


def recv_all(sock, limit=None):
    """Read until end of stream (or limit bytes); a reset after some data ends the read too."""
    chunks = []
    total = 0
    while limit is None or total < limit:
        try:
            data = sock.recv(65536)
        except ConnectionResetError:
            break
        if not data:
            break
        chunks.append(data)
        total += len(data)
    return b"".join(chunks)


def reset_close(sock):
    """Close with an RST instead of a FIN."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


class KbsSide:
    """One-connection-at-a-time TCP server on 127.0.0.1 running handler(conn) per connection."""

    def __init__(self, handler, tls_context=None):
        self.handler = handler
        self.tls_context = tls_context
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.results = []
        self.errors = []
        self.connections = 0
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            try:
                if self.tls_context is not None:
                    conn = self.tls_context.wrap_socket(conn, server_side=True)
                conn.settimeout(20)
                self.results.append(self.handler(conn))
            except (OSError, ssl.SSLError) as exc:
                self.errors.append(exc)
            finally:
                try:
                    conn.close()
                except OSError:
                    pass
                self.done.set()

    def close(self):
        self.listener.close()


class ProxyProcess:
    """tpmboot-proxy listening on a Unix socket in a temporary directory."""

    def __init__(self, kbs_port, *extra, workdir=None, guest_args=None):
        self.workdir = workdir or make_tempdir(prefix="proxy-test-")
        self.path = os.path.join(self.workdir, "guest.sock")
        self.log_path = os.path.join(self.workdir, "proxy-%d.log" % time.monotonic_ns())
        self.log_file = open(self.log_path, "wb")
        guest = guest_args if guest_args is not None else ["--unix", self.path]
        self.proc = subprocess.Popen([PROXY, "--kbs", "127.0.0.1:%d" % kbs_port] + guest + list(extra),
                                     stdout=subprocess.PIPE, stderr=self.log_file)
        if guest_args is None:
            line = self.proc.stdout.readline().decode()
            if line.strip() != "listening on unix:" + self.path:
                self.stop()
                raise RuntimeError("proxy did not start: %r\n%s" % (line, self.log()))

    def connect(self):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(20)
        sock.connect(self.path)
        return sock

    def log(self):
        with open(self.log_path, "r", errors="replace") as f:
            return f.read()

    def wait_for_log(self, pattern, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            match = re.search(pattern, self.log())
            if match:
                return match
            time.sleep(0.05)
        raise AssertionError("proxy log has no %r within %ss:\n%s" % (pattern, timeout, self.log()))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        self.log_file.close()


def make_tls_material(directory, ca_name="proxy test CA"):
    """Write a CA and a server certificate for 127.0.0.1; return (ca path, server context)."""
    def name(cn):
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    now = datetime.datetime.utcnow()
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(name(ca_name)).issuer_name(name(ca_name))
          .public_key(ca_key.public_key()).serial_number(1)
          .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(name("kbs.test")).issuer_name(ca.subject)
            .public_key(key.public_key()).serial_number(2)
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("kbs.test"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    ca_path = os.path.join(directory, "ca.pem")
    with open(ca_path, "wb") as f:
        f.write(ca.public_bytes(serialization.Encoding.PEM))
    cert_path = os.path.join(directory, "server.pem")
    with open(cert_path, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path)
    return ca_path, context


def sink_then_send(reply):
    """KBS handler: read everything the guest sends, then send reply and close."""
    def handler(conn):
        received = recv_all(conn)
        conn.sendall(reply)
        return received
    return handler


def echo(conn):
    total = 0
    while True:
        data = conn.recv(65536)
        if not data:
            return total
        conn.sendall(data)
        total += len(data)


class ProxyTestBase(unittest.TestCase):
    def setUp(self):
        self.cleanups = []

    def tearDown(self):
        for cleanup in reversed(self.cleanups):
            cleanup()

    def start(self, handler, *extra, tls_context=None, guest_args=None, workdir=None):
        kbs = KbsSide(handler, tls_context)
        self.cleanups.append(kbs.close)
        proxy = ProxyProcess(kbs.port, *extra, guest_args=guest_args, workdir=workdir)
        self.cleanups.append(proxy.stop)
        return kbs, proxy


class StreamTest(ProxyTestBase):
    def test_one_mib_each_direction_intact(self):
        request = os.urandom(MIB)
        reply = os.urandom(MIB)
        kbs, proxy = self.start(sink_then_send(reply), "--buffer-size", "4096")
        guest = proxy.connect()
        guest.sendall(request)
        guest.shutdown(socket.SHUT_WR)
        received = recv_all(guest)
        guest.close()

        self.assertTrue(kbs.done.wait(20))
        self.assertEqual(hashlib.sha256(kbs.results[0]).hexdigest(), hashlib.sha256(request).hexdigest())
        self.assertEqual(len(received), MIB)
        self.assertEqual(received, reply)
        match = proxy.wait_for_log(r"session 1: end \(([^)]*)\), guest->KBS (\d+) bytes, KBS->guest (\d+) bytes")
        self.assertEqual(match.group(1), "both sides closed")
        self.assertEqual(int(match.group(2)), MIB)
        self.assertEqual(int(match.group(3)), MIB)

    def test_concurrent_echo_one_mib(self):
        data = os.urandom(MIB)
        kbs, proxy = self.start(echo)
        guest = proxy.connect()
        writer = threading.Thread(target=lambda: (guest.sendall(data), guest.shutdown(socket.SHUT_WR)))
        writer.start()
        received = recv_all(guest)
        writer.join()
        guest.close()
        self.assertEqual(received, data)
        self.assertTrue(kbs.done.wait(20))
        self.assertEqual(kbs.results, [MIB])

    def test_log_lines_have_timestamps(self):
        kbs, proxy = self.start(sink_then_send(b"ok"))
        guest = proxy.connect()
        guest.sendall(b"hello")
        guest.shutdown(socket.SHUT_WR)
        self.assertEqual(recv_all(guest), b"ok")
        guest.close()
        proxy.wait_for_log(r"session 1: end")
        start = re.search(r"^(\S+) tpmboot-proxy info: session 1: start, guest unix:\S+ pid %d, KBS 127\.0\.0\.1:\d+$" % os.getpid(),
                          proxy.log(), re.M)
        self.assertIsNotNone(start, proxy.log())
        self.assertRegex(start.group(1), r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")

    def test_several_sessions_in_parallel(self):
        replies = [os.urandom(100000) for _ in range(3)]

        def handler(conn):
            index = recv_all(conn)[0]
            conn.sendall(replies[index])
            return index

        kbs, proxy = self.start(handler, "--max-sessions", "3")
        guests = [proxy.connect() for _ in range(3)]
        for index, guest in enumerate(guests):
            guest.sendall(bytes([index]))
            guest.shutdown(socket.SHUT_WR)
        for index, guest in enumerate(guests):
            self.assertEqual(recv_all(guest), replies[index])
            guest.close()

    def test_max_sessions_rejects_extra(self):
        release = threading.Event()

        def handler(conn):
            release.wait(10)
            return recv_all(conn)

        kbs, proxy = self.start(handler, "--max-sessions", "1")
        first = proxy.connect()
        proxy.wait_for_log(r"session 1: start")
        second = proxy.connect()
        self.assertEqual(recv_all(second), b"")
        proxy.wait_for_log(r"session 2: rejected, 1 sessions already active")
        release.set()
        first.close()
        second.close()


class DisconnectTest(ProxyTestBase):
    def test_guest_resets_mid_stream(self):
        sent = os.urandom(200000)
        kbs, proxy = self.start(lambda conn: recv_all(conn))
        guest = proxy.connect()
        guest.sendall(sent)
        time.sleep(0.2)
        reset_close(guest)
        self.assertTrue(kbs.done.wait(20))
        received = kbs.results[0] if kbs.results else b""
        self.assertEqual(received, sent[:len(received)])
        proxy.wait_for_log(r"session 1: end \(")
        self.assertIsNone(proxy.proc.poll())

        # The proxy keeps serving after a broken session.
        guest = proxy.connect()
        guest.sendall(b"next")
        guest.shutdown(socket.SHUT_WR)
        guest.close()
        proxy.wait_for_log(r"session 2: end \(both sides closed\), guest->KBS 4 bytes")

    def test_guest_closes_before_reply(self):
        def handler(conn):
            data = recv_all(conn)
            time.sleep(0.3)
            # The proxy closes this connection once the write to the
            # closed guest fails, so the reply may be cut off by a reset.
            try:
                conn.sendall(os.urandom(MIB))
            except OSError:
                pass
            return data

        kbs, proxy = self.start(handler)
        guest = proxy.connect()
        guest.sendall(b"request")
        guest.close()
        match = proxy.wait_for_log(r"session 1: end \(([^)]*)\)")
        self.assertIn(match.group(1), ("writing to the guest failed", "both sides closed"))
        self.assertTrue(kbs.done.wait(20))
        self.assertEqual(kbs.results, [b"request"])

    def test_kbs_resets_mid_stream(self):
        def handler(conn):
            conn.recv(1000)
            conn.sendall(b"partial reply")
            time.sleep(0.2)
            reset_close(conn)

        kbs, proxy = self.start(handler)
        guest = proxy.connect()
        guest.sendall(b"request")
        received = recv_all(guest)
        guest.close()
        self.assertEqual(received, b"partial reply")
        proxy.wait_for_log(r"session 1: reading from the KBS failed: Connection reset by peer")
        proxy.wait_for_log(r"session 1: end \(reading from the KBS failed\)")

    def test_kbs_closes_mid_stream(self):
        def handler(conn):
            conn.recv(1000)
            conn.sendall(b"half")
            conn.shutdown(socket.SHUT_WR)
            return recv_all(conn)

        kbs, proxy = self.start(handler)
        guest = proxy.connect()
        guest.sendall(b"first")
        self.assertEqual(recv_all(guest), b"half")
        # The KBS only half-closed, so the guest can still send.
        guest.sendall(b"second")
        guest.shutdown(socket.SHUT_WR)
        guest.close()
        self.assertTrue(kbs.done.wait(20))
        self.assertEqual(kbs.results, [b"second"])

    def test_kbs_unreachable(self):
        probe = socket.create_server(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        probe.close()
        proxy = ProxyProcess(port)
        self.cleanups.append(proxy.stop)
        guest = proxy.connect()
        self.assertEqual(recv_all(guest), b"")
        guest.close()
        proxy.wait_for_log(r"session 1: connecting to KBS 127\.0\.0\.1:%d failed: Connection refused" % port)
        proxy.wait_for_log(r"session 1: end \(KBS connection failed\)")


class TimeoutTest(ProxyTestBase):
    def test_idle_timeout_closes_session(self):
        release = threading.Event()

        def handler(conn):
            release.wait(10)
            return recv_all(conn)

        kbs, proxy = self.start(handler, "--idle-timeout", "300")
        guest = proxy.connect()
        guest.sendall(b"x")
        start = time.monotonic()
        self.assertEqual(recv_all(guest), b"")
        elapsed = time.monotonic() - start
        release.set()
        guest.close()
        self.assertGreaterEqual(elapsed, 0.25)
        self.assertLess(elapsed, 5)
        proxy.wait_for_log(r"session 1: no data for 300 ms, closing \(idle timeout\)")
        proxy.wait_for_log(r"session 1: end \(idle timeout\), guest->KBS 1 bytes")

    def test_activity_resets_idle_timer(self):
        def handler(conn):
            for _ in range(5):
                conn.sendall(b"tick")
                time.sleep(0.2)
            return b""

        kbs, proxy = self.start(handler, "--idle-timeout", "500")
        guest = proxy.connect()
        received = recv_all(guest)
        guest.close()
        self.assertEqual(received, b"tick" * 5)


    def test_session_timeout_ends_trickling_session(self):
        # One byte every 100 ms keeps the idle timer from firing, so only
        # the bound on the whole session can end it.
        stop = threading.Event()

        def handler(conn):
            received = recv_all(conn)
            stop.set()
            return received

        kbs, proxy = self.start(handler, "--idle-timeout", "10000", "--session-timeout", "600")
        guest = proxy.connect()
        start = time.monotonic()
        sent = 0
        try:
            while not stop.is_set() and time.monotonic() - start < 8:
                guest.sendall(b"x")
                sent += 1
                time.sleep(0.1)
        except OSError:
            pass
        elapsed = time.monotonic() - start
        guest.close()
        self.assertTrue(stop.is_set())
        self.assertGreaterEqual(elapsed, 0.5)
        self.assertLess(elapsed, 5)
        proxy.wait_for_log(r"session 1: open for 600 ms, closing \(session timeout\)")
        proxy.wait_for_log(r"session 1: end \(session timeout\)")

    def test_session_timeout_option_checked(self):
        out = subprocess.run([PROXY, "--kbs", "127.0.0.1:1", "--session-timeout", "0"],
                             capture_output=True, timeout=10)
        self.assertEqual(out.returncode, 2)
        self.assertIn(b"invalid --session-timeout 0", out.stderr)


class ConnectTimeoutTest(ProxyTestBase):
    def test_tcp_connect_timeout(self):
        # A listener with a full accept queue drops further SYNs, so a connect hangs.
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        self.cleanups.append(listener.close)
        port = listener.getsockname()[1]
        fillers = []
        for _ in range(3):
            filler = socket.socket()
            filler.setblocking(False)
            filler.connect_ex(("127.0.0.1", port))
            fillers.append(filler)
            self.cleanups.append(filler.close)
        time.sleep(0.2)

        proxy = ProxyProcess(port, "--connect-timeout", "300")
        self.cleanups.append(proxy.stop)
        guest = proxy.connect()
        start = time.monotonic()
        self.assertEqual(recv_all(guest), b"")
        elapsed = time.monotonic() - start
        guest.close()
        proxy.wait_for_log(r"session 1: connecting to KBS 127\.0\.0\.1:%d failed: timed out" % port)
        self.assertLess(elapsed, 5)

    def test_tls_handshake_timeout(self):
        workdir = make_tempdir(prefix="proxy-tls-")
        ca_path, _ = make_tls_material(workdir)
        release = threading.Event()

        def silent(conn):
            release.wait(10)
            return b""

        kbs, proxy = self.start(silent, "--ca-file", ca_path, "--connect-timeout", "300", workdir=workdir)
        guest = proxy.connect()
        self.assertEqual(recv_all(guest), b"")
        release.set()
        guest.close()
        proxy.wait_for_log(r"session 1: TLS handshake with the KBS timed out after 300 ms")


class VsockTest(ProxyTestBase):
    def test_vsock_listener_starts(self):
        try:
            socket.socket(socket.AF_VSOCK, socket.SOCK_STREAM).close()
        except (AttributeError, OSError) as exc:
            self.skipTest("AF_VSOCK is not available here: %s" % exc)
        port = 40000 + os.getpid() % 20000
        kbs = KbsSide(echo)
        self.cleanups.append(kbs.close)
        proxy = ProxyProcess(kbs.port, guest_args=["--vsock-port", str(port)])
        self.cleanups.append(proxy.stop)
        line = proxy.proc.stdout.readline().decode().strip()
        self.assertEqual(line, "listening on vsock:%d" % port)
        proxy.wait_for_log(r"started: guest side vsock, KBS 127\.0\.0\.1:%d" % kbs.port)


class TlsTest(ProxyTestBase):
    def test_tls_one_mib_intact(self):
        workdir = make_tempdir(prefix="proxy-tls-")
        ca_path, context = make_tls_material(workdir)
        reply = os.urandom(MIB)
        kbs, proxy = self.start(sink_then_send(reply), "--ca-file", ca_path, "--tls-server-name", "kbs.test",
                                tls_context=context, workdir=workdir)
        guest = proxy.connect()
        request = os.urandom(MIB)
        guest.sendall(request)
        guest.shutdown(socket.SHUT_WR)
        received = recv_all(guest)
        guest.close()
        self.assertEqual(received, reply)
        self.assertTrue(kbs.done.wait(20))
        self.assertEqual(kbs.results[0], request)

    def test_tls_ip_address_name(self):
        workdir = make_tempdir(prefix="proxy-tls-")
        ca_path, context = make_tls_material(workdir)
        kbs, proxy = self.start(echo, "--ca-file", ca_path, tls_context=context, workdir=workdir)
        guest = proxy.connect()
        guest.sendall(b"ping")
        guest.shutdown(socket.SHUT_WR)
        self.assertEqual(recv_all(guest), b"ping")
        guest.close()

    def test_tls_untrusted_certificate_rejected(self):
        workdir = make_tempdir(prefix="proxy-tls-")
        _, context = make_tls_material(workdir)
        other_ca, _ = make_tls_material(make_tempdir(prefix="proxy-tls-other-"), "other test CA")
        kbs, proxy = self.start(echo, "--ca-file", other_ca, tls_context=context, workdir=workdir)
        guest = proxy.connect()
        guest.sendall(b"ping")
        self.assertEqual(recv_all(guest), b"")
        guest.close()
        proxy.wait_for_log(r"session 1: KBS certificate for 127\.0\.0\.1 rejected: unable to get local issuer certificate")
        proxy.wait_for_log(r"session 1: end \(TLS handshake failed\)")

    def test_tls_wrong_server_name_rejected(self):
        workdir = make_tempdir(prefix="proxy-tls-")
        ca_path, context = make_tls_material(workdir)
        kbs, proxy = self.start(echo, "--ca-file", ca_path, "--tls-server-name", "other.test",
                                tls_context=context, workdir=workdir)
        guest = proxy.connect()
        self.assertEqual(recv_all(guest), b"")
        guest.close()
        proxy.wait_for_log(r"session 1: KBS certificate for other\.test rejected: hostname mismatch")


class ModeTest(ProxyTestBase):
    def test_once_exits_with_session_status(self):
        kbs, proxy = self.start(sink_then_send(b"done"), "--once")
        guest = proxy.connect()
        guest.sendall(b"req")
        guest.shutdown(socket.SHUT_WR)
        self.assertEqual(recv_all(guest), b"done")
        guest.close()
        self.assertEqual(proxy.proc.wait(10), 0)
        self.assertFalse(os.path.exists(proxy.path))

    def test_once_stops_on_sigterm(self):
        release = threading.Event()

        def handler(conn):
            release.wait(20)
            return b""

        kbs, proxy = self.start(handler, "--once")
        self.cleanups.append(release.set)
        guest = proxy.connect()
        guest.sendall(b"req")
        proxy.wait_for_log(r"session 1: start")
        start = time.monotonic()
        proxy.proc.terminate()
        self.assertEqual(proxy.proc.wait(10), 1)
        elapsed = time.monotonic() - start
        guest.close()
        self.assertLess(elapsed, 5)
        proxy.wait_for_log(r"session 1: end \(stopped by a signal\)")

    def test_unix_connect_mode(self):
        workdir = make_tempdir(prefix="proxy-uc-")
        path = os.path.join(workdir, "qemu.sock")
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.bind(path)
        server.listen(1)
        self.cleanups.append(server.close)
        kbs, proxy = self.start(sink_then_send(b"answer"), guest_args=["--unix-connect", path], workdir=workdir)
        server.settimeout(10)
        guest, _ = server.accept()
        guest.settimeout(10)
        guest.sendall(b"question")
        guest.shutdown(socket.SHUT_WR)
        self.assertEqual(recv_all(guest), b"answer")
        guest.close()
        self.assertEqual(proxy.proc.wait(10), 0)
        self.assertEqual(kbs.results, [b"question"])

    def test_help_and_usage_errors(self):
        out = subprocess.run([PROXY, "--help"], capture_output=True, timeout=10)
        self.assertEqual(out.returncode, 0)
        for option in (b"--vsock-port", b"--unix ", b"--unix-connect", b"--kbs", b"--ca-file", b"--idle-timeout",
                       b"--connect-timeout", b"--session-timeout", b"--buffer-size", b"--max-sessions"):
            self.assertIn(option, out.stdout)
        cases = [
            ([], b"--kbs HOST:PORT is required"),
            (["--kbs", "127.0.0.1"], b"expected HOST:PORT"),
            (["--kbs", "127.0.0.1:0"], b"invalid --kbs port 0"),
            (["--kbs", "127.0.0.1:1", "--buffer-size", "10"], b"invalid --buffer-size 10"),
            (["--kbs", "127.0.0.1:1", "--unix", "/tmp/a", "--vsock-port", "5"], b"only one of"),
            (["--kbs", "127.0.0.1:1", "--tls-server-name", "x"], b"needs --tls"),
        ]
        for args, message in cases:
            out = subprocess.run([PROXY] + args, capture_output=True, timeout=10)
            self.assertEqual(out.returncode, 2, args)
            self.assertIn(message, out.stderr, args)

    def test_bad_ca_file_fails_at_start(self):
        out = subprocess.run([PROXY, "--kbs", "127.0.0.1:1", "--unix", "/nonexistent/x.sock",
                              "--ca-file", "/nonexistent/ca.pem"], capture_output=True, timeout=10)
        self.assertEqual(out.returncode, 1)
        self.assertIn(b"--ca-file /nonexistent/ca.pem", out.stderr)


class KbsPeerThroughProxyTest(ProxyTestBase):
    """HTTP to the test KBS peer passes through the proxy unchanged."""

    def test_auth_through_proxy(self):
        sys.path.insert(0, KBS_PEER_DIR)
        from kbs_testlib import KbsProcess

        workdir = make_tempdir(prefix="proxy-kbs-")
        kbs = KbsProcess([], workdir)
        self.cleanups.append(kbs.stop)
        proxy = ProxyProcess(kbs.port, workdir=workdir)
        self.cleanups.append(proxy.stop)
        guest = proxy.connect()
        body = b'{"version":"0.4.0","tee":"snp","extra-params":""}'
        guest.sendall(b"POST /kbs/v0/auth HTTP/1.1\r\nHost: kbs\r\nContent-Type: application/json\r\n"
                      b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body))
        response = recv_all(guest)
        guest.close()
        self.assertTrue(response.startswith(b"HTTP/1.1 200 "), response[:100])
        self.assertIn(b"Set-Cookie: kbs-session-id=", response)
        self.assertIn(b'{"nonce":"', response)


if __name__ == "__main__":
    if len(sys.argv) < 2 or not os.path.isfile(sys.argv[1]):
        sys.exit("usage: test_proxy.py PATH-TO-tpmboot-proxy [unittest options]")
    PROXY = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)

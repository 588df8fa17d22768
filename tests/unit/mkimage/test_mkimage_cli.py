#!/usr/bin/python3
"""Command-line tests of tpmboot-mkimage: options, exit codes, messages,
and that failed commands leave files untouched. The image contents are
checked against the reader by the C tests; here the tool's own
"aux list" reads them back."""
import hashlib
import http.server
import os
import subprocess
import sys
import tempfile
import threading
import unittest

TOOL = None
WRAPKEY_UUID = "45f71878-18dd-43b8-84a9-ccdd1d58b3f7"


def run(*args):
    return subprocess.run([TOOL, *args], capture_output=True, text=True,
                          timeout=120)


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


class MkimageCli(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.addCleanup(self.dir.cleanup)

    def path(self, name):
        return os.path.join(self.dir.name, name)

    def write(self, name, data):
        with open(self.path(name), "wb") as f:
            f.write(data)
        return self.path(name)

    def test_help_lists_commands(self):
        r = run("--help")
        self.assertEqual(r.returncode, 0)
        for word in ("mkfs", "write-mkfs-info", "aux add", "provision",
                     "--kek-file", "--print-key1"):
            self.assertIn(word, r.stdout)

    def test_mkfs_and_aux_commands(self):
        img = self.path("a.img")
        nv = self.write("nv", os.urandom(1000))
        blob = self.write("blob", b"hello aux")
        r = run("mkfs", "-i", img, "-s", "128K", "-K", "00112233",
                "-I", "aabb", "--file", "4294967296=" + nv,
                "--aux", "11111111-2222-3333-4444-555555555555=" + blob)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(os.path.getsize(img), 128 * 1024)

        r = run("aux", "list", "-i", img, "--hex")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "11111111-2222-3333-4444-555555555555 9 "
                         + b"hello aux".hex() + "\n")

        r = run("aux", "add", "-i", img,
                "ffffffff-0000-4000-8000-000000000000", blob)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = run("aux", "list", "-i", img)
        self.assertEqual(r.stdout.splitlines(),
                         ["11111111-2222-3333-4444-555555555555 9",
                          "ffffffff-0000-4000-8000-000000000000 9"])

        r = run("aux", "remove", "-i", img,
                "11111111-2222-3333-4444-555555555555")
        self.assertEqual(r.returncode, 0, r.stderr)
        r = run("aux", "list", "-i", img)
        self.assertEqual(r.stdout, "ffffffff-0000-4000-8000-000000000000 9\n")

    def test_aux_add_beyond_reserve_leaves_image(self):
        img = self.path("r.img")
        r = run("mkfs", "-i", img, "-s", "128K", "-K", "01")
        self.assertEqual(r.returncode, 0, r.stderr)
        before = sha256(img)
        big = self.write("big", bytes(2000))
        r = run("aux", "add", "-i", img,
                "12345678-1234-4234-8234-123456789abc", big)
        self.assertEqual(r.returncode, 1)
        self.assertIn("would need", r.stderr)
        self.assertIn("nothing was written", r.stderr)
        self.assertEqual(sha256(img), before)
        self.assertEqual(sorted(os.listdir(self.dir.name)), ["big", "r.img"])

    def test_aux_add_keeps_mode_and_symlink(self):
        img = self.path("m.img")
        r = run("mkfs", "-i", img, "-s", "128K", "-K", "01")
        self.assertEqual(r.returncode, 0, r.stderr)
        os.chmod(img, 0o600)
        link = self.path("link.img")
        os.symlink("m.img", link)
        blob = self.write("blob", b"entry")
        r = run("aux", "add", "-i", link,
                "12345678-1234-4234-8234-123456789abc", blob)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(os.path.islink(link))
        self.assertEqual(os.stat(img).st_mode & 0o7777, 0o600)
        r = run("aux", "list", "-i", img)
        self.assertEqual(r.stdout,
                         "12345678-1234-4234-8234-123456789abc 5\n")
        self.assertEqual(sorted(os.listdir(self.dir.name)),
                         ["blob", "link.img", "m.img"])

    def test_mkfs_rejects_non_regular_target(self):
        fifo = self.path("fifo")
        os.mkfifo(fifo)
        blob = self.write("blob", b"entry")
        r = run("mkfs", "-i", fifo, "-s", "128K", "-K", "01")
        self.assertEqual(r.returncode, 1)
        self.assertIn("not a regular file", r.stderr)
        self.assertTrue(os.path.exists(fifo))
        self.assertFalse(os.path.isfile(fifo))
        self.assertEqual(sorted(os.listdir(self.dir.name)),
                         ["blob", "fifo"])

    def test_usage_errors(self):
        r = run("mkfs", "-i", self.path("x.img"), "-s", "128K")
        self.assertEqual(r.returncode, 2)
        self.assertIn("-K HEX or -k FILE", r.stderr)
        r = run("mkfs", "-i", self.path("x.img"), "-s", "12Q", "-K", "01")
        self.assertEqual(r.returncode, 2)
        self.assertIn('invalid size "12Q"', r.stderr)
        r = run("mkfs", "-i", self.path("x.img"), "-s", "128K", "-K", "01",
                "-t", "100")
        self.assertEqual(r.returncode, 1)
        self.assertIn("security strength 100", r.stderr)
        r = run("aux", "add", "-i", self.path("x.img"), "not-a-uuid", "f")
        self.assertEqual(r.returncode, 1)
        self.assertFalse(os.path.exists(self.path("x.img")))

    def test_write_mkfs_info(self):
        img = self.path("info.img")
        r = run("write-mkfs-info", "-i", img, "-s", "256K", "-I", "ddeeff")
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(img, "rb") as f:
            data = f.read()
        self.assertEqual(len(data), 256 * 1024)
        self.assertEqual(data[:8], b"CCFSMKFS")
        self.assertEqual(data[240 * 1024:240 * 1024 + 8], b"CCFSMKFS")

    def test_provision_key1_output(self):
        kek = self.write("kek", bytes(range(32)))
        img = self.path("p.img")
        r = run("provision", "-i", img, "--wrap", "kbs-unwrap",
                "--kek-file", kek, "--key-id", "kek-1")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "")
        self.assertEqual(sorted(os.listdir(self.dir.name)), ["kek", "p.img"])
        r = run("aux", "list", "-i", img)
        self.assertTrue(r.stdout.startswith(WRAPKEY_UUID + " "), r.stdout)

        out = self.path("key1")
        r = run("provision", "-i", img, "--wrap", "kbs-unwrap",
                "--kek-file", kek, "--key-id", "kek-1", "--print-key1",
                "--key1-out", out)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(out, "rb") as f:
            key1 = f.read()
        self.assertEqual(len(key1), 32)
        self.assertEqual(r.stdout, key1.hex() + "\n")
        self.assertEqual(os.stat(out).st_mode & 0o777, 0o600)

    def test_provision_failed_key1_out_keeps_image(self):
        kek = self.write("kek", bytes(range(32)))
        img = self.path("p.img")
        r = run("mkfs", "-i", img, "-s", "256K", "-K", "01")
        self.assertEqual(r.returncode, 0, r.stderr)
        before = sha256(img)
        r = run("provision", "-i", img, "--wrap", "kbs-unwrap",
                "--kek-file", kek, "--key-id", "kek-1", "--print-key1",
                "--key1-out", self.path("missing/key1"))
        self.assertEqual(r.returncode, 1)
        self.assertIn("cannot create a temporary file next to", r.stderr)
        self.assertEqual(r.stdout, "")
        self.assertEqual(sha256(img), before)
        self.assertEqual(sorted(os.listdir(self.dir.name)), ["kek", "p.img"])

    def test_kbs_error_body_is_sanitised(self):
        # The admin call is plain HTTP, so whoever is on the path can
        # answer it; terminal control sequences must not reach stderr.
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers["Content-Length"]))
                body = b'{"type":"\x1b]0;owned\x07\x1b[2J","x":"\xff"}'
                self.send_response(401)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        self.addCleanup(server.server_close)
        self.addCleanup(server.shutdown)
        token = self.write("token", b"secret-token\n")
        img = self.path("k.img")
        r = subprocess.run([TOOL, "provision", "-i", img, "--wrap",
                            "kbs-unwrap", "--key-id", "kek-1", "--kbs",
                            "http://127.0.0.1:%d" % server.server_port,
                            "--kbs-admin-token-file", token],
                           capture_output=True, timeout=120)
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"with HTTP 401", r.stderr)
        self.assertIn(b'{"type":"?]0;owned??[2J","x":"?"}', r.stderr)
        self.assertNotIn(b"\x1b", r.stderr)
        self.assertNotIn(b"\x07", r.stderr)
        self.assertFalse(os.path.exists(img))

    def test_provision_needs_key_id(self):
        kek = self.write("kek", bytes(32))
        r = run("provision", "-i", self.path("p.img"), "--wrap",
                "kbs-unwrap", "--kek-file", kek)
        self.assertEqual(r.returncode, 1)
        self.assertIn("--key-id", r.stderr)
        self.assertFalse(os.path.exists(self.path("p.img")))


if __name__ == "__main__":
    TOOL = sys.argv.pop(1)
    unittest.main()

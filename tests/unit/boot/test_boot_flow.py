"""Boot flow tests: tpmboot_run() as a host process (tpmboot-host-run)
against the AMD-SP simulator and the test KBS, with images made by
tpmboot-mkimage. They cover every wrap mode, both TEE key curves, an
upstream-made image with an added wrapped-key entry, and failures, each
with its exact error and the image left byte-for-byte unchanged.

usage: test_boot_flow.py HOST_RUN MKIMAGE   (run by meson test)
"""

import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "peers"))
from host_peers import Peers  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "peers", "kbs"))
import kbs_release  # noqa: E402

SOURCE_ROOT = os.environ.get(
    "TPMBOOT_SOURCE_ROOT",
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))))
SHARED_DIR = os.environ.get("TPMBOOT_SHARED_DIR",
                            os.path.join(os.path.dirname(SOURCE_ROOT), "shared"))
HOST_RUN = MKIMAGE = None
KEK_ID = "boot-test-kek"
RESOURCE = "default/tpmboot/key1"


def sha256_file(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def parse_result(stdout):
    """Key: value lines printed by tpmboot-host-run."""
    values = {}
    for line in stdout.splitlines():
        key, _, value = line.partition(": ")
        values[key] = value
    return values


class BootFlowTest(unittest.TestCase):

    def setUp(self):
        self.workdir = tempfile.mkdtemp(prefix="tpmboot-boot.")
        self.peers = Peers(self.workdir)
        self.peers.start_amdsp()
        self.kek = self.peers.path("kek.hex")
        with open(self.kek, "w") as f:
            f.write(os.urandom(32).hex())

    def tearDown(self):
        self.peers.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def provision(self, wrap, *extra):
        """Makes image.img with a random NVChip; returns (image, digest)."""
        image = self.peers.path("image.img")
        nvchip = self.peers.path("nvchip.bin")
        with open(nvchip, "wb") as f:
            f.write(os.urandom(16384))
        argv = [MKIMAGE, "provision", "-i", image, "--nvchip", nvchip,
                "--wrap", wrap] + list(extra)
        if wrap == "kbs-unwrap":
            argv += ["--key-id", KEK_ID, "--kek-file", self.kek]
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
        return image, sha256_file(nvchip)

    def run_boot(self, image, *extra):
        before = sha256_file(image)
        result = subprocess.run([HOST_RUN, "--image", image,
                                 "--amdsp-unix", self.peers.amdsp_socket,
                                 "--kbs-port", str(self.peers.kbs_port), "--quiet"]
                                + list(extra),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, timeout=240)
        values = parse_result(result.stdout)
        values["log"] = result.stderr
        # Nothing on disk changes, whatever the outcome.
        self.assertEqual(sha256_file(image), before)
        self.assertEqual(values.get("blocks-written"), "0")
        self.assertEqual(values.get("heap-leaked"), "0")
        return values

    def kbs_unwrap_policy(self):
        return {"allow_any_measurement": True, "min_report_version": 3}

    def expect_ok(self, values, digest):
        self.assertEqual(values["result"], "TPMBOOT_OK (0)", values["log"])
        self.assertEqual(values["nvchip-sha256"], digest)

    def test_kbs_unwrap_p256(self):
        image, digest = self.provision("kbs-unwrap")
        self.peers.start_kbs(self.kbs_unwrap_policy(), "--kek", "%s=%s" % (KEK_ID, self.kek))
        self.expect_ok(self.run_boot(image), digest)

    def test_kbs_unwrap_p521_portable_tier(self):
        image, digest = self.provision("kbs-unwrap")
        self.peers.start_kbs(self.kbs_unwrap_policy(), "--kek", "%s=%s" % (KEK_ID, self.kek))
        self.expect_ok(self.run_boot(image, "--tee-key", "p521", "--simd", "none"), digest)

    def test_resource_mode(self):
        key1 = self.peers.path("key1.bin")
        image, digest = self.provision("resource", "--resource", RESOURCE,
                                       "--key1-out", key1)
        self.peers.start_kbs(self.kbs_unwrap_policy(),
                             "--resource", "%s=%s" % (RESOURCE, key1))
        self.expect_ok(self.run_boot(image), digest)

    def test_trustee_pkcs11_mode(self):
        private = self.peers.path("pkcs11.pem")
        public = self.peers.path("pkcs11-pub.pem")
        subprocess.run(["openssl", "genrsa", "-out", private, "2048"], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        subprocess.run(["openssl", "rsa", "-in", private, "-pubout", "-out", public],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        image, digest = self.provision("trustee-pkcs11", "--rsa-pub", public)
        self.peers.start_kbs(self.kbs_unwrap_policy(), "--pkcs11-key", private)
        self.expect_ok(self.run_boot(image, "--tee-key", "rsa"), digest)

    def test_upstream_image_with_added_entry(self):
        with open(os.path.join(SHARED_DIR, "vectors/cocoonfs/manifest.json")) as f:
            manifest = json.load(f)
        entry = next(e for e in manifest["images"] if e["file"] == "p01-default-svsm.img")
        image = self.peers.path("upstream.img")
        shutil.copy(os.path.join(SHARED_DIR, "vectors/cocoonfs", entry["file"]), image)
        key1 = self.peers.path("upstream-key.bin")
        with open(key1, "wb") as f:
            f.write(bytes.fromhex(entry["key_hex"]))
        subprocess.run([MKIMAGE, "add-wrapped-key", "-i", image, "--key1-file", key1,
                        "--wrap", "kbs-unwrap", "--key-id", KEK_ID, "--kek-file", self.kek],
                       check=True)
        self.peers.start_kbs(self.kbs_unwrap_policy(), "--kek", "%s=%s" % (KEK_ID, self.kek))
        nvchip = next(f for f in entry["files"] if f["inode_hex"] == "0x100000000")
        self.expect_ok(self.run_boot(image), nvchip["sha256"])

    def test_kbs_unwrap_pinned_release_key(self):
        image, digest = self.provision("kbs-unwrap")
        release = self.peers.path("release.pem")
        self.peers.start_kbs(self.kbs_unwrap_policy(), "--kek", "%s=%s" % (KEK_ID, self.kek),
                             "--release-key", release)
        self.expect_ok(self.run_boot(image, "--kbs-release-key", release + ".pub"), digest)

    def test_fake_kbs_refused_with_pinned_key(self):
        # The host provisions an image under its own KEK and acts as the
        # KBS with its own release key. The guest pins the real KBS's key.
        # The unpinned boot of the same setup succeeds, so the pin is what
        # stops it.
        real = self.peers.path("real-release.pem")
        host_kek = self.peers.path("host-kek.hex")
        with open(host_kek, "w") as f:
            f.write(os.urandom(32).hex())
        self.kek = host_kek
        image, digest = self.provision("kbs-unwrap")
        self.peers.start_kbs(self.kbs_unwrap_policy(), "--kek", "%s=%s" % (KEK_ID, host_kek),
                             "--release-key", self.peers.path("host-release.pem"))
        kbs_release.load_or_create(real, logging.getLogger("test"))

        values = self.run_boot(image, "--kbs-release-key", real + ".pub")
        self.assertEqual(values["result"], "TPMBOOT_E_KBS_RELEASE_SIGNATURE (%d)" %
                         self.error_code("TPMBOOT_E_KBS_RELEASE_SIGNATURE"), values["log"])
        self.assertEqual(values["failed-step"], "3")
        self.assertNotIn("nvchip-sha256", values)

        # The AMD-SP simulator expects the next message sequence number.
        self.expect_ok(self.run_boot(image, "--msg-seqno", values["msg-seqno"]), digest)

    def test_policy_refuses_measurement(self):
        image, _ = self.provision("kbs-unwrap")
        self.peers.start_kbs({"measurements": ["00" * 48]}, "--kek", "%s=%s" % (KEK_ID, self.kek))
        values = self.run_boot(image)
        self.assertEqual(values["result"], "TPMBOOT_E_KBS_REFUSED (500)")
        self.assertEqual(values["failed-step"], "3")
        self.assertNotIn("nvchip-sha256", values)

    def test_tampered_entry_tag(self):
        # The KBS opens the envelope, so only the entry's own tag catches
        # a change there: step 4 fails after the exchange.
        image, _ = self.provision("kbs-unwrap")
        entry = bytearray(self.entry_bytes(image))
        entry[-1] ^= 0x01
        self.replace_entry(image, bytes(entry))
        self.peers.start_kbs(self.kbs_unwrap_policy(), "--kek", "%s=%s" % (KEK_ID, self.kek))
        values = self.run_boot(image)
        self.assertEqual(values["result"], "TPMBOOT_E_WRAPKEY_TAG (306)")
        self.assertEqual(values["failed-step"], "4")
        self.assertNotIn("nvchip-sha256", values)

    def test_tampered_entry_key_id(self):
        # A changed key id is in the envelope's AAD and names another KEK:
        # the KBS releases nothing and step 3 fails.
        image, _ = self.provision("kbs-unwrap")
        entry = bytearray(self.entry_bytes(image))
        entry[20 + len("tpmboot-unwrap")] ^= 0x01
        self.replace_entry(image, bytes(entry))
        self.peers.start_kbs(self.kbs_unwrap_policy(), "--kek", "%s=%s" % (KEK_ID, self.kek))
        values = self.run_boot(image)
        self.assertEqual(values["result"], "TPMBOOT_E_KBS_NOT_FOUND (%d)" %
                         self.error_code("TPMBOOT_E_KBS_NOT_FOUND"))
        self.assertEqual(values["failed-step"], "3")
        self.assertNotIn("nvchip-sha256", values)

    def test_entry_tag_mismatch(self):
        # A resource entry whose Key1 at the KBS differs from the one the
        # entry was made with: the tag check after the exchange fails.
        key1 = self.peers.path("key1.bin")
        image, _ = self.provision("resource", "--resource", RESOURCE, "--key1-out", key1)
        other = self.peers.path("other.bin")
        with open(other, "wb") as f:
            f.write(os.urandom(32))
        self.peers.start_kbs(self.kbs_unwrap_policy(), "--resource", "%s=%s" % (RESOURCE, other))
        values = self.run_boot(image)
        self.assertEqual(values["result"], "TPMBOOT_E_WRAPKEY_TAG (306)")
        self.assertEqual(values["failed-step"], "4")

    def test_wrong_key2(self):
        # Key2 sealed under another KEK: the KBS cannot open it.
        image, _ = self.provision("kbs-unwrap")
        other_kek = self.peers.path("other-kek.hex")
        with open(other_kek, "w") as f:
            f.write(os.urandom(32).hex())
        self.peers.start_kbs(self.kbs_unwrap_policy(), "--kek", "%s=%s" % (KEK_ID, other_kek))
        values = self.run_boot(image)
        # The test KBS returns HTTP 400 when the envelope does not open.
        self.assertEqual(values["result"], "TPMBOOT_E_KBS_HTTP_STATUS (%d)" %
                         self.error_code("TPMBOOT_E_KBS_HTTP_STATUS"))
        self.assertEqual(values["failed-step"], "3")
        self.assertNotIn("nvchip-sha256", values)

    def test_tampered_image_block(self):
        # Flip one bit of the root HMAC in the mutable header: the image
        # no longer authenticates under Key1, so step 5 fails.
        image, _ = self.provision("kbs-unwrap")
        self.peers.start_kbs(self.kbs_unwrap_policy(), "--kek", "%s=%s" % (KEK_ID, self.kek))
        with open(image, "r+b") as f:
            data = bytearray(f.read())
            data[self.mutable_header_offset(data) + 16] ^= 0x80
            f.seek(0)
            f.write(data)
        values = self.run_boot(image)
        self.assertEqual(values["result"], "TPMBOOT_E_COCOONFS_AUTH (%d)" %
                         self.error_code("TPMBOOT_E_COCOONFS_AUTH"))
        self.assertEqual(values["failed-step"], "5")

    def test_busy_then_success(self):
        self.peers.stop()
        self.peers = Peers(self.workdir)
        self.peers.start_amdsp("--fault", "busy:1")
        image, digest = self.provision("kbs-unwrap")
        self.peers.start_kbs(self.kbs_unwrap_policy(), "--kek", "%s=%s" % (KEK_ID, self.kek))
        self.expect_ok(self.run_boot(image), digest)

    def test_corrupted_response_tag_wipes_vmpck(self):
        self.peers.stop()
        self.peers = Peers(self.workdir)
        self.peers.start_amdsp("--fault", "corrupt_tag:1")
        image, _ = self.provision("kbs-unwrap")
        self.peers.start_kbs(self.kbs_unwrap_policy(), "--kek", "%s=%s" % (KEK_ID, self.kek))
        values = self.run_boot(image)
        self.assertEqual(values["failed-step"], "2")
        self.assertEqual(values["vmpck-wiped"], "yes")

    # Helpers.

    def error_code(self, name):
        for area in ("general", "crypto", "cocoonfs", "wrapkey", "attest", "kbs"):
            with open(os.path.join(SOURCE_ROOT, "include/tpmboot/errors-%s.def" % area)) as f:
                for line in f:
                    if line.startswith("X(%s," % name):
                        return int(line.split(",")[1])
        raise KeyError(name)

    def mutable_header_offset(self, data):
        # The mutable header follows the static one, whose length is
        # 40 + 8N + salt length rounded up to the IO block. Bytes 9 and 10
        # (XOR-masked with byte 39) are log2(AB / 128) and log2(IOB / AB),
        # so the IO block is 2^(7 + N).
        mask = data[39]
        ab_log2 = (data[9] ^ mask) + 7
        io_log2 = (data[10] ^ mask) + ab_log2
        n = (data[9] ^ mask) + (data[10] ^ mask)
        static = 40 + 8 * n + (data[30] ^ mask)
        block = 1 << io_log2
        return (static + block - 1) // block * block

    def entry_bytes(self, image):
        out = subprocess.run([MKIMAGE, "aux", "list", "-i", image, "--hex"],
                             check=True, stdout=subprocess.PIPE, text=True).stdout
        for line in out.splitlines():
            if line.startswith("45f71878-18dd-43b8-84a9-ccdd1d58b3f7"):
                return bytes.fromhex(line.split()[-1])
        raise AssertionError("no wrapped-key entry in " + out)

    def replace_entry(self, image, entry):
        path = self.peers.path("entry.bin")
        with open(path, "wb") as f:
            f.write(entry)
        uuid = "45f71878-18dd-43b8-84a9-ccdd1d58b3f7"
        subprocess.run([MKIMAGE, "aux", "remove", "-i", image, uuid], check=True)
        subprocess.run([MKIMAGE, "aux", "add", "-i", image, uuid, path], check=True)


if __name__ == "__main__":
    HOST_RUN, MKIMAGE = sys.argv[1], sys.argv[2]
    unittest.main(argv=[sys.argv[0], "-v"])

#!/usr/bin/python3
"""End-to-end tests: the module in the QEMU harness against the peers.

Each test provisions an image, starts the AMD-SP simulator, the test KBS
and tpmboot-proxy (qemu/harness.py), boots the harness kernel and checks
the guest's verdict and log. Failure tests also check that the image is
byte-for-byte unchanged.

Needs the harness kernel (build/freestanding, or $TPMBOOT_KERNEL) and the
host tools tpmboot-mkimage and tpmboot-proxy ($TPMBOOT_HOST_BUILD or
build/host). Run one test with
  e2e_test.py E2E.test_success_kbs_unwrap
"""

import json
import os
import shutil
import subprocess
import sys
import threading
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "qemu"))
import harness  # noqa: E402

SHARED_DIR = os.environ.get("TPMBOOT_SHARED_DIR", os.path.join(os.path.dirname(ROOT), "shared"))
BOOT_TIMEOUT_S = 600
# Short KBS timeout for the slow-KBS test, and the KBS delay beyond it.
KBS_TIMEOUT_MS = 8000
KBS_DELAY_MS = 20000
WRAPKEY_MAGIC = b"TBWRAPKY"


def file_digest(path):
    return harness.sha256_file(path)


def find_entry(image):
    """Return (offset, bytes header fields) of the wrapped-key entry.

    The auxiliary metadata is plaintext, so the entry appears in the image
    file as is (docs/wrapped-key-entry.md, layout version 1).
    """
    with open(image, "rb") as f:
        data = f.read()
    offset = data.find(WRAPKEY_MAGIC)
    if offset < 0:
        raise AssertionError("no wrapped-key entry (magic TBWRAPKY) in %s" % image)
    if data.find(WRAPKEY_MAGIC, offset + 1) >= 0:
        raise AssertionError("more than one TBWRAPKY magic in %s" % image)
    header = data[offset:offset + 20]
    locator_len = int.from_bytes(header[12:14], "little")
    key_id_len = int.from_bytes(header[14:16], "little")
    wrapped_len = int.from_bytes(header[16:18], "little")
    return offset, locator_len, key_id_len, wrapped_len


def patch_file(path, offset, data):
    with open(path, "r+b") as f:
        f.seek(offset)
        f.write(data)


def setUpModule():
    """Build the harness kernel in $TPMBOOT_FREESTANDING_BUILD if needed."""
    if os.environ.get("TPMBOOT_KERNEL"):
        return
    build = os.environ.get("TPMBOOT_FREESTANDING_BUILD")
    if not build:
        return
    if not os.path.exists(os.path.join(build, "build.ninja")):
        subprocess.run(["meson", "setup", build, "--cross-file",
                        os.path.join(ROOT, "cross", "x86_64-freestanding.ini")],
                       cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["ninja", "-C", build, "-j2", "qemu/tpmboot-kernel.elf"], check=True,
                   stdout=subprocess.DEVNULL)


class E2E(unittest.TestCase):
    def setUp(self):
        self.h = harness.Harness(keep=bool(os.environ.get("TPMBOOT_E2E_KEEP")))
        self.addCleanup(self.h.stop)
        self.measurement = harness.sha384_file(self.h.kernel)

    def start_peers(self, kbs_material, policy=None, amdsp_faults=(), kbs_faults=()):
        if policy is None:
            policy = {"measurements": [self.measurement], "vmpl": 0}
        self.h.start_amdsp(measurement=self.measurement, faults=amdsp_faults)
        self.h.start_kbs(policy, resources=kbs_material["resources"],
                         keks=kbs_material["keks"], pkcs11_key=kbs_material["pkcs11_key"],
                         faults=kbs_faults)
        self.h.start_proxy()

    def boot(self, image, append="", on_line=None):
        status, lines = self.h.boot(image, ("mode=run " + append).strip(),
                                    timeout=BOOT_TIMEOUT_S, on_line=on_line)
        self.console = "\n".join(lines)
        return status, lines

    def assert_unlocked(self, status, lines, expected_nvchip):
        self.assertEqual(harness.guest_error(lines), None, self.console)
        self.assertEqual(status, harness.VM_PASS, self.console)
        self.assertEqual(harness.nvchip_digest(lines), expected_nvchip, self.console)

    def assert_failed_with(self, status, lines, error, image, digest_before):
        self.assertEqual(status, harness.VM_FAIL, self.console)
        self.assertEqual(harness.guest_error(lines), error, self.console)
        self.assertIsNone(harness.nvchip_digest(lines), self.console)
        self.assertEqual(file_digest(image), digest_before, "the failed boot changed the image")

    # Success for each wrap mode.

    def check_success(self, wrap_mode, append=""):
        image, nvchip, material = self.h.provision(wrap_mode)
        self.start_peers(material)
        status, lines = self.boot(image, append)
        self.assert_unlocked(status, lines, nvchip)
        self.assertIn("run: VMPCK after tpmboot_run: wiped", self.console)

    def test_success_kbs_unwrap(self):
        self.check_success("kbs-unwrap")

    def test_success_trustee_pkcs11(self):
        self.check_success("trustee-pkcs11")

    def test_success_resource(self):
        self.check_success("resource")

    def test_success_p521_tee_key(self):
        self.check_success("kbs-unwrap", "tee_key=p521")

    def test_success_rsa_tee_key(self):
        self.check_success("kbs-unwrap", "tee_key=rsa2048")

    def test_success_tdx(self):
        # The quote simulator reports the MRTD that the kernel puts in its
        # TDREPORT; the policy allows the same value as for SEV-SNP.
        image, nvchip, material = self.h.provision("kbs-unwrap")
        self.start_peers(material)
        status, lines = self.boot(image, "tee=tdx mrtd=%s" % self.measurement)
        self.assert_unlocked(status, lines, nvchip)

    # An image made by the upstream CocoonFs tool.

    def test_upstream_image_with_entry(self):
        manifest_path = os.path.join(SHARED_DIR, "vectors", "cocoonfs", "manifest.json")
        with open(manifest_path) as f:
            manifest = json.load(f)
        vector = next(i for i in manifest["images"] if i["file"] == "p01-default-svsm.img")
        files = vector["files"]
        if isinstance(files, str):
            # The manifest stores some fields as Python literals.
            import ast
            files = ast.literal_eval(files)
        nvchip = next(f for f in files if f["inode"] == 0x100000000)["sha256"]

        image = self.h.path("upstream.img")
        shutil.copy(os.path.join(SHARED_DIR, "vectors", "cocoonfs", vector["file"]), image)
        os.chmod(image, 0o600)
        key1 = self.h.write_secret("upstream-key1.bin", bytes.fromhex(vector["key_hex"]))
        material = self.h.add_wrapped_key_entry(image, key1, "resource")
        self.start_peers(material)
        status, lines = self.boot(image)
        self.assert_unlocked(status, lines, nvchip)

    # Failures: exact error, image unchanged.

    def test_policy_rejects_measurement(self):
        image, _, material = self.h.provision("kbs-unwrap")
        before = file_digest(image)
        self.start_peers(material, policy={"measurements": ["00" * 48], "vmpl": 0})
        status, lines = self.boot(image)
        self.assert_failed_with(status, lines, "TPMBOOT_E_KBS_REFUSED", image, before)

    def test_tampered_entry_tag(self):
        image, _, material = self.h.provision("resource")
        offset, locator_len, key_id_len, wrapped_len = find_entry(image)
        tag_offset = offset + 20 + locator_len + key_id_len + wrapped_len
        with open(image, "rb") as f:
            f.seek(tag_offset)
            tag_byte = f.read(1)[0]
        patch_file(image, tag_offset, bytes([tag_byte ^ 0x01]))
        before = file_digest(image)
        self.start_peers(material)
        status, lines = self.boot(image)
        self.assert_failed_with(status, lines, "TPMBOOT_E_WRAPKEY_TAG", image, before)

    def test_tampered_image_block(self):
        image, _, material = self.h.provision("kbs-unwrap")
        size = os.path.getsize(image)
        # Flip one byte in every 4 KiB block of the image's second
        # quarter, where the encrypted files and metadata lie. A single
        # changed block could be unallocated and go unnoticed.
        with open(image, "r+b") as f:
            for offset in range(size // 4, size // 2, 4096):
                f.seek(offset + 100)
                byte = f.read(1)[0]
                f.seek(offset + 100)
                f.write(bytes([byte ^ 0x80]))
        before = file_digest(image)
        self.start_peers(material)
        status, lines = self.boot(image)
        self.assert_failed_with(status, lines, "TPMBOOT_E_COCOONFS_AUTH", image, before)

    def test_wrong_key2(self):
        # In trustee-pkcs11 mode anyone with the RSA public key can wrap a
        # key of their choice; the entry's tag must catch the swap.
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import padding

        image, _, material = self.h.provision("trustee-pkcs11")
        offset, locator_len, key_id_len, wrapped_len = find_entry(image)
        with open(self.h.path("pkcs11-public.pem"), "rb") as f:
            public = serialization.load_pem_public_key(f.read())
        other_key2 = public.encrypt(os.urandom(harness.KEY1_SIZE), padding.OAEP(
            mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None))
        self.assertEqual(len(other_key2), wrapped_len)
        patch_file(image, offset + 20 + locator_len + key_id_len, other_key2)
        before = file_digest(image)
        self.start_peers(material)
        status, lines = self.boot(image)
        self.assert_failed_with(status, lines, "TPMBOOT_E_WRAPKEY_TAG", image, before)

    def test_proxy_dies_mid_exchange(self):
        image, _, material = self.h.provision("kbs-unwrap")
        before = file_digest(image)
        # The KBS delays its /attest response, and the proxy is killed
        # once the attest step (which fetched the nonce) is done.
        self.start_peers(material, kbs_faults=["slow:%d@/kbs/v0/attest" % KBS_DELAY_MS])
        proxy = self.h.find("proxy")
        killed = threading.Event()

        def on_line(line):
            if not killed.is_set() and "boot: step 2 (attest) done" in line:
                self.h.stop_process(proxy)
                killed.set()

        status, lines = self.boot(image, "kbs_timeout_ms=%d kbs_retries=1" % KBS_TIMEOUT_MS,
                                  on_line=on_line)
        self.assertTrue(killed.is_set(), "the exchange step never started:\n" + self.console)
        self.assertEqual(status, harness.VM_FAIL, self.console)
        self.assertIn(harness.guest_error(lines),
                      ("TPMBOOT_E_KBS_RETRIES_EXHAUSTED", "TPMBOOT_E_TIMEOUT"), self.console)
        self.assertEqual(file_digest(image), before)

    def test_kbs_slower_than_timeout(self):
        image, _, material = self.h.provision("kbs-unwrap")
        before = file_digest(image)
        self.start_peers(material, kbs_faults=["slow:%d@/kbs/v0/auth" % KBS_DELAY_MS])
        status, lines = self.boot(image, "kbs_timeout_ms=%d kbs_retries=1" % KBS_TIMEOUT_MS)
        self.assertEqual(status, harness.VM_FAIL, self.console)
        self.assertIn(harness.guest_error(lines),
                      ("TPMBOOT_E_TIMEOUT", "TPMBOOT_E_KBS_RETRIES_EXHAUSTED"), self.console)
        self.assertEqual(file_digest(image), before)

    def test_simulator_busy_then_success(self):
        image, nvchip, material = self.h.provision("kbs-unwrap")
        self.start_peers(material, amdsp_faults=["busy:2"])
        status, lines = self.boot(image)
        self.assert_unlocked(status, lines, nvchip)
        self.assertIn("guest request BUSY, retry 2", self.console)

    def test_simulator_corrupt_tag_wipes_vmpck(self):
        image, _, material = self.h.provision("kbs-unwrap")
        before = file_digest(image)
        self.start_peers(material, amdsp_faults=["corrupt_tag:1"])
        status, lines = self.boot(image)
        self.assert_failed_with(status, lines, "TPMBOOT_E_ATTEST_MSG_AUTH", image, before)
        self.assertIn("run: VMPCK after tpmboot_run: wiped", self.console)


if __name__ == "__main__":
    unittest.main(verbosity=2)

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

import ast
import json
import logging
import os
import shutil
import subprocess
import sys
import threading
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "qemu"))
sys.path.insert(0, os.path.join(ROOT, "tests", "peers", "kbs"))
import harness  # noqa: E402
import kbs_release  # noqa: E402

SHARED_DIR = os.environ.get("TPMBOOT_SHARED_DIR", os.path.join(os.path.dirname(ROOT), "shared"))
BOOT_TIMEOUT_S = 600
# Short KBS timeout for the slow-KBS test, and the KBS delay beyond it.
KBS_TIMEOUT_MS = 8000
KBS_DELAY_MS = 20000
# The module's warning on a boot without a pinned KBS release key.
UNPINNED_WARNING = "no KBS release key is pinned"


def file_digest(path):
    return harness.sha256_file(path)


def entry_fields(entry):
    """Return (locator, key id, wrapped key) lengths of a wrapped-key entry
    (docs/wrapped-key-entry.md, layout version 1)."""
    return (int.from_bytes(entry[12:14], "little"), int.from_bytes(entry[14:16], "little"),
            int.from_bytes(entry[16:18], "little"))


def largest_nonzero_run(image, block=512):
    """Return (offset, length) of the longest run of nonzero blocks, away
    from the first and last 4 KiB where the headers are."""
    with open(image, "rb") as f:
        data = f.read()
    best = (0, 0)
    start = None
    for offset in range(4096, len(data) - 4096 + block, block):
        nonzero = offset < len(data) - 4096 and any(data[offset:offset + block])
        if nonzero and start is None:
            start = offset
        elif not nonzero and start is not None:
            if offset - start > best[1]:
                best = (start, offset - start)
            start = None
    return best


def flip_byte(path, offset, mask=0x01):
    with open(path, "r+b") as f:
        f.seek(offset)
        byte = f.read(1)[0]
        f.seek(offset)
        f.write(bytes([byte ^ mask]))


def manifest_field(vector, name):
    """Return a manifest field; some are stored as Python literals."""
    value = vector[name]
    return ast.literal_eval(value) if isinstance(value, str) else value


def encoded_layout(vector):
    """The 21-byte encoded image layout of a default-algorithm vector:
    the seven log2 geometry values, five hash algorithm ids (TPM_ALG_SHA256,
    0x000b) and the block cipher (TPM_ALG_AES, 0x0006, with its key bits),
    all big-endian (the CocoonFs static image header)."""
    options = manifest_field(vector, "options")
    assert options["hash_family"] == "sha2", "only SHA-2 vectors are supported here"
    assert options["target_security_strength"] == 128, "only AES-128 vectors are supported here"
    log2 = manifest_field(vector, "structure")["layout_log2"]
    order = ("allocation_block_size_128b_log2", "io_block_allocation_blocks_log2",
             "auth_tree_node_io_blocks_log2", "auth_tree_data_block_allocation_blocks_log2",
             "allocation_bitmap_file_block_allocation_blocks_log2",
             "index_tree_leaf_node_allocation_blocks_log2",
             "index_tree_internal_node_allocation_blocks_log2")
    return (bytes(log2[name] for name in order) + (0x000b).to_bytes(2, "big") * 5 +
            (0x0006).to_bytes(2, "big") + (128).to_bytes(2, "big"))


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

    def start_peers(self, kbs_material, policy=None, amdsp_faults=(), kbs_faults=(),
                    release_key=None):
        if policy is None:
            policy = {"measurements": [self.measurement], "vmpl": 0}
        self.h.start_amdsp(measurement=self.measurement, faults=amdsp_faults)
        self.h.start_kbs(policy, resources=kbs_material["resources"],
                         keks=kbs_material["keks"], pkcs11_key=kbs_material["pkcs11_key"],
                         faults=kbs_faults, release_key=release_key)
        self.h.start_proxy()

    def boot(self, image, append="", on_line=None, release_key=None):
        status, lines = self.h.boot(image, ("mode=run " + append).strip(),
                                    timeout=BOOT_TIMEOUT_S, on_line=on_line,
                                    release_key=release_key)
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

    def test_success_portable_crypto(self):
        # simd=none keeps the module to its portable C code in the guest.
        self.check_success("kbs-unwrap", "simd=none")

    def test_success_tdx(self):
        # The quote simulator reports the MRTD that the kernel puts in its
        # TDREPORT; the policy allows the same value as for SEV-SNP.
        image, nvchip, material = self.h.provision("kbs-unwrap")
        self.start_peers(material)
        status, lines = self.boot(image, "tee=tdx mrtd=%s" % self.measurement)
        self.assert_unlocked(status, lines, nvchip)

    def test_success_coconut_aproxy(self):
        # COCONUT's aproxy protocol: the mock KBS behind the proxy serves
        # Key1 itself, to a P-521 TEE key, as COCONUT-SVSM's driver uses.
        image, nvchip, _ = self.h.provision("resource")
        with open(self.h.path("key1.bin"), "rb") as f:
            key1 = f.read()
        self.h.start_amdsp(measurement=self.measurement)
        self.h.start_aproxy(key1, measurement=self.measurement)
        status, lines = self.boot(image, "kbs=aproxy tee_key=p521")
        self.assert_unlocked(status, lines, nvchip)

    # The pinned KBS release key (fw_cfg opt/tpmboot/kbs-release-key).

    def test_success_pinned_release_key(self):
        image, nvchip, material = self.h.provision("kbs-unwrap")
        self.start_peers(material, release_key=self.h.path("kbs-release.pem"))
        key_id = harness.release_key_id(self.h.release_key_public)
        status, lines = self.boot(image)
        self.assert_unlocked(status, lines, nvchip)
        self.assertIn("run: KBS release key %s pinned from fw_cfg" % key_id, self.console)
        self.assertNotIn(UNPINNED_WARNING, self.console)

    def test_fake_kbs_release_key(self):
        # The host plays the KBS: it provisioned the image under its own
        # KEK and signs releases with its own key. The guest pins the real
        # KBS's key, so it must reject the release before using Key1.
        real = self.h.path("real-kbs-release.pem")
        kbs_release.load_or_create(real, logging.getLogger("e2e"))
        real_id = harness.release_key_id(real + ".pub")
        image, _, material = self.h.provision("kbs-unwrap")
        before = file_digest(image)
        self.start_peers(material, release_key=self.h.path("host-release.pem"))
        self.assertNotEqual(harness.release_key_id(self.h.release_key_public), real_id)
        status, lines = self.boot(image, release_key=real + ".pub")
        self.assert_failed_with(status, lines, "TPMBOOT_E_KBS_RELEASE_SIGNATURE", image, before)
        self.assertEqual(harness.failed_step(lines), 3, self.console)
        self.assertIn("run: KBS release key %s pinned from fw_cfg" % real_id, self.console)
        self.assertIn("release-signature does not verify under the pinned KBS release key %s"
                      % real_id, self.console)

    def test_release_key_wrong_size(self):
        # A 64-byte file (the point without its 0x04 prefix) fails the run
        # before the module starts, so no peer is needed.
        image, _, _ = self.h.provision("kbs-unwrap")
        before = file_digest(image)
        point = self.h.path("release-point.bin")
        with open(point, "wb") as f:
            f.write(os.urandom(64))
        status, lines = self.boot(image, release_key=point)
        self.assertEqual(status, harness.VM_FAIL, self.console)
        self.assertIn("run: invalid fw_cfg file opt/tpmboot/kbs-release-key: 64 bytes, "
                      "expected 65", self.console)
        self.assertIsNone(harness.failed_step(lines), self.console)
        self.assertEqual(file_digest(image), before, "the failed boot changed the image")

    # An image made by the upstream CocoonFs tool.

    def test_upstream_image_with_entry(self):
        manifest_path = os.path.join(SHARED_DIR, "vectors", "cocoonfs", "manifest.json")
        with open(manifest_path) as f:
            manifest = json.load(f)
        vector = next(i for i in manifest["images"] if i["file"] == "p01-default-svsm.img")
        files = manifest_field(vector, "files")
        nvchip = next(f for f in files if f["inode"] == 0x100000000)["sha256"]

        image = self.h.path("upstream.img")
        shutil.copy(os.path.join(SHARED_DIR, "vectors", "cocoonfs", vector["file"]), image)
        os.chmod(image, 0o600)
        material = self.h.add_wrapped_key_entry(image, bytes.fromhex(vector["key_hex"]),
                                                bytes.fromhex(vector["salt_hex"]),
                                                encoded_layout(vector))
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
        entry = bytearray(self.h.read_wrapped_key_entry(image))
        entry[-1] ^= 0x01
        self.h.replace_wrapped_key_entry(image, bytes(entry))
        before = file_digest(image)
        self.start_peers(material)
        status, lines = self.boot(image)
        self.assert_failed_with(status, lines, "TPMBOOT_E_WRAPKEY_TAG", image, before)

    def test_tampered_image_block(self):
        # Without random fill, the longest nonzero run of blocks is the
        # encrypted 16 KiB NVChip. One flipped bit in it must fail the
        # authentication when the file is read.
        image, _, material = self.h.provision("kbs-unwrap", format_options=["-n"])
        offset, length = largest_nonzero_run(image)
        self.assertGreaterEqual(length, harness.NVCHIP_SIZE)
        flip_byte(image, offset + length // 2)
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
        entry = self.h.read_wrapped_key_entry(image)
        locator_len, key_id_len, wrapped_len = entry_fields(entry)
        with open(self.h.path("pkcs11-public.pem"), "rb") as f:
            public = serialization.load_pem_public_key(f.read())
        other_key2 = public.encrypt(os.urandom(harness.KEY1_SIZE), padding.OAEP(
            mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None))
        self.assertEqual(len(other_key2), wrapped_len)
        start = 20 + locator_len + key_id_len
        self.h.replace_wrapped_key_entry(
            image, entry[:start] + other_key2 + entry[start + wrapped_len:])
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
        self.assert_failed_with(status, lines, "TPMBOOT_E_KBS_RETRIES_EXHAUSTED", image, before)
        self.assertIn("no complete response to /kbs/v0/attest within %d ms" % KBS_TIMEOUT_MS,
                      self.console)

    def test_kbs_slower_than_timeout(self):
        image, _, material = self.h.provision("kbs-unwrap")
        before = file_digest(image)
        self.start_peers(material, kbs_faults=["slow:%d@/kbs/v0/auth" % KBS_DELAY_MS])
        status, lines = self.boot(image, "kbs_timeout_ms=%d kbs_retries=1" % KBS_TIMEOUT_MS)
        self.assert_failed_with(status, lines, "TPMBOOT_E_KBS_RETRIES_EXHAUSTED", image, before)
        self.assertIn("no complete response to /kbs/v0/auth within %d ms" % KBS_TIMEOUT_MS,
                      self.console)

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

"""Process orchestration for the QEMU harness: the demo and the e2e tests.

A Harness owns one temporary directory and every process it starts there:
the AMD-SP simulator (Unix socket), the test KBS (127.0.0.1, ephemeral
port), the host proxy (Unix socket) and QEMU through run-vm.sh. stop()
ends them all, and so does leaving a `with Harness(...)` block.

Standard library only, run with /usr/bin/python3.
"""

import hashlib
import hmac
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

QEMU_DIR = os.path.dirname(os.path.abspath(__file__))
SOURCE_ROOT = os.path.dirname(QEMU_DIR)

# Exit codes of run-vm.sh.
VM_PASS = 0
VM_FAIL = 1
VM_PANIC = 2
VM_NO_VERDICT = 3
VM_TIMEOUT = 124

READY_TIMEOUT_S = 60
# The peers need Debian's python3-cryptography.
PEER_PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable

# Provisioning defaults shared by the demo and the e2e tests.
NVCHIP_SIZE = 16384
KEY1_SIZE = 32
KEK_ID = "harness-kek"
RESOURCE_PATH = "default/tpmboot/key1"
IMAGE_SIZE = "4M"


# The wrapped-key entry (docs/wrapped-key-entry.md, layout version 1).
WRAPKEY_UUID = "45f71878-18dd-43b8-84a9-ccdd1d58b3f7"
WRAPKEY_MAGIC = b"TBWRAPKY"
WRAPKEY_MODE_RESOURCE = 3
WRAPKEY_TAG_LABEL = b"svsm-tpmboot wrapped-key tag"


def kdfa_sha256(key, label, context, bits):
    """TPM 2.0 KDFa with HMAC-SHA-256 (TPM 2.0 Part 1, 11.4.10.2):
    HMAC(key, counter || label || 0x00 || context || bits), big-endian."""
    out = b""
    counter = 1
    while len(out) * 8 < bits:
        out += hmac.new(key, counter.to_bytes(4, "big") + label + b"\0" + context +
                        bits.to_bytes(4, "big"), hashlib.sha256).digest()
        counter += 1
    return out[:bits // 8]


def wrapped_key_tag(key1, entry_without_tag, salt, layout):
    """HMAC-SHA-256 tag of a wrapped-key entry (its tag field zeroed)."""
    tag_key = kdfa_sha256(key1, WRAPKEY_TAG_LABEL, salt, 256)
    return hmac.new(tag_key, entry_without_tag + bytes(32) + bytes([len(salt)]) + salt +
                    layout, hashlib.sha256).digest()


def wrapped_key_entry_resource(key1, locator, salt, layout):
    """Serialise a resource-mode entry: Key1 is the KBS resource at locator."""
    locator = locator.encode("ascii")
    header = (WRAPKEY_MAGIC + (1).to_bytes(2, "little") + bytes([WRAPKEY_MODE_RESOURCE]) +
              bytes([len(key1)]) + len(locator).to_bytes(2, "little") +
              (0).to_bytes(2, "little") + (0).to_bytes(2, "little") + bytes(2))
    body = header + locator
    return body + wrapped_key_tag(key1, body, salt, layout)


class HarnessError(Exception):
    """A peer process failed to start or the setup is incomplete."""


def find_build_file(relative, candidates):
    """Return the first existing build_dir/relative among candidates."""
    for build_dir in candidates:
        if build_dir and os.path.exists(os.path.join(build_dir, relative)):
            return os.path.join(build_dir, relative)
    return None


def default_kernel():
    """Locate tpmboot-kernel.elf: $TPMBOOT_KERNEL, then build/freestanding."""
    return os.environ.get("TPMBOOT_KERNEL") or find_build_file(
        "qemu/tpmboot-kernel.elf",
        [os.environ.get("TPMBOOT_FREESTANDING_BUILD"),
         os.path.join(SOURCE_ROOT, "build", "freestanding")])


def default_host_tool(name):
    """Locate a host tool: $TPMBOOT_HOST_BUILD, then build/host."""
    return find_build_file(
        os.path.join("tools", name, name),
        [os.environ.get("TPMBOOT_HOST_BUILD"),
         os.path.join(SOURCE_ROOT, "build", "host")])


def sha256_file(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def sha384_file(path):
    digest = hashlib.sha384()
    with open(path, "rb") as f:
        digest.update(f.read())
    return digest.hexdigest()


class Process:
    """A started peer: its Popen, name and stderr log path."""

    def __init__(self, name, popen, log_path):
        self.name = name
        self.popen = popen
        self.log_path = log_path

    def alive(self):
        return self.popen.poll() is None

    def log_tail(self, lines=20):
        try:
            with open(self.log_path, errors="replace") as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return ""


class Harness:
    """Starts peers and the VM in a private temporary directory."""

    def __init__(self, kernel=None, workdir=None, keep=False, echo=None):
        self.kernel = kernel or default_kernel()
        if self.kernel:
            self.kernel = os.path.abspath(self.kernel)
        if not self.kernel or not os.path.exists(self.kernel):
            raise HarnessError(
                "harness kernel not found; build the freestanding configuration "
                "(meson setup build/freestanding --cross-file cross/x86_64-freestanding.ini) "
                "or set TPMBOOT_KERNEL")
        self.keep = keep
        self.own_workdir = workdir is None
        self.workdir = workdir or tempfile.mkdtemp(prefix="tpmboot-harness.")
        os.makedirs(self.workdir, exist_ok=True)
        self.processes = []
        self.echo = echo
        self.amdsp_socket = None
        self.proxy_socket = None
        self.kbs_port = None
        # 65-byte public key file that boot() pins as the KBS release key.
        self.release_key_public = None
        self.pki_dir = os.path.join(self.workdir, "pki")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def path(self, name):
        return os.path.join(self.workdir, name)

    def say(self, text):
        if self.echo is not None:
            self.echo(text)

    # Process handling.

    def _start(self, name, argv, ready_pattern):
        """Start argv and wait for a stdout line matching ready_pattern.

        stdout goes to NAME.out and stderr to NAME.log in the workdir.
        Returns the Process and the regex match of the ready line.
        """
        out_path = self.path(name + ".out")
        log_path = self.path(name + ".log")
        with open(out_path, "ab") as out, open(log_path, "ab") as log:
            popen = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                                     stderr=log, cwd=self.workdir,
                                     start_new_session=True)
        proc = Process(name, popen, log_path)
        self.processes.append(proc)

        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            with open(out_path, errors="replace") as out:
                for line in out:
                    match = re.search(ready_pattern, line)
                    if match:
                        return proc, match
            if not proc.alive():
                break
            time.sleep(0.05)
        reason = ("exited with status %s" % popen.poll() if not proc.alive()
                  else "no ready line within %d s" % READY_TIMEOUT_S)
        raise HarnessError("%s did not start (%s): %s" % (name, reason, proc.log_tail()))

    def stop_process(self, proc, sig=signal.SIGTERM):
        if proc.alive():
            try:
                os.killpg(proc.popen.pid, sig)
            except ProcessLookupError:
                pass
            try:
                proc.popen.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(proc.popen.pid, signal.SIGKILL)
                proc.popen.wait()

    def stop(self):
        """Stop every process started here, then remove the workdir unless
        keep was set."""
        for proc in reversed(self.processes):
            self.stop_process(proc)
        self.processes = []
        if self.own_workdir and not self.keep:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def find(self, name):
        for proc in self.processes:
            if proc.name == name:
                return proc
        return None

    # Peers.

    def start_amdsp(self, measurement=None, report_version=None, faults=(), extra=()):
        """Start the AMD-SP simulator on a Unix socket; returns its socket path."""
        self.amdsp_socket = self.path("amdsp.sock")
        argv = [PEER_PYTHON, os.path.join(SOURCE_ROOT, "tests/peers/amdsp/amdsp.py"),
                "--pki-dir", self.pki_dir, "--unix", self.amdsp_socket]
        if measurement:
            argv += ["--measurement", measurement]
        if report_version:
            argv += ["--report-version", str(report_version)]
        for fault in faults:
            argv += ["--fault", fault]
        argv += list(extra)
        self._start("amdsp", argv, r"listening on unix:")
        self.say("AMD-SP simulator listening on %s" % self.amdsp_socket)
        return self.amdsp_socket

    def snp_trust_dir(self):
        """Return a directory with the simulator's ARK, ASK and VCEK. The
        simulator's PKI directory also contains keys and TDX files, which
        the verifiers would try to read as certificates."""
        anchors = self.path("snp-trust")
        os.makedirs(anchors, exist_ok=True)
        for name in ("ark.pem", "ask.pem", "vcek.pem"):
            shutil.copy(os.path.join(self.pki_dir, name), anchors)
        return anchors

    def start_kbs(self, policy, resources=(), keks=(), pkcs11_key=None, faults=(),
                  release_key=None, extra=()):
        """Start the test KBS on 127.0.0.1 with an ephemeral port.

        policy is a dict (kbs_policy.py format), resources a list of
        "repo/type/tag=FILE", keks a list of "ID=HEXFILE". With release_key
        (a PEM path, created when missing) the KBS signs kbs-unwrap releases
        and writes the public key to release_key + ".pub", which boot()
        then pins in the guest. Returns the port.
        """
        policy_path = self.path("kbs-policy.json")
        with open(policy_path, "w") as f:
            json.dump(policy, f)
        anchors = self.snp_trust_dir()
        argv = [PEER_PYTHON, os.path.join(SOURCE_ROOT, "tests/peers/kbs/kbs_server.py"),
                "--listen", "127.0.0.1:0", "--trust-anchor", anchors,
                "--policy", policy_path, "--decision-log", self.path("kbs-decisions.jsonl")]
        for resource in resources:
            argv += ["--resource", resource]
        for kek in keks:
            argv += ["--kek", kek]
        if pkcs11_key:
            argv += ["--pkcs11-key", pkcs11_key]
        if release_key:
            argv += ["--release-key", release_key]
        for fault in faults:
            argv += ["--fault", fault]
        argv += list(extra)
        _, match = self._start("kbs", argv, r"listening on 127\.0\.0\.1:(\d+)")
        self.kbs_port = int(match.group(1))
        self.say("test KBS listening on 127.0.0.1:%d" % self.kbs_port)
        if release_key:
            self.release_key_public = release_key + ".pub"
        return self.kbs_port

    def start_proxy(self, proxy=None, extra=()):
        """Start tpmboot-proxy on a Unix socket towards the running KBS."""
        proxy = proxy or default_host_tool("tpmboot-proxy")
        if proxy:
            proxy = os.path.abspath(proxy)
        if not proxy:
            raise HarnessError("tpmboot-proxy not found; build the host configuration "
                               "(build/host) or set TPMBOOT_HOST_BUILD")
        if self.kbs_port is None:
            raise HarnessError("start the KBS before the proxy")
        self.proxy_socket = self.path("proxy.sock")
        argv = [proxy, "--unix", self.proxy_socket,
                "--kbs", "127.0.0.1:%d" % self.kbs_port] + list(extra)
        self._start("proxy", argv, r"listening on unix:")
        self.say("host proxy listening on %s" % self.proxy_socket)
        return self.proxy_socket

    def start_aproxy(self, secret, measurement=None, faults=()):
        """Start the COCONUT aproxy peer (its mock KBS serves secret) on a
        Unix socket that the guest's proxy stream connects to directly."""
        self.proxy_socket = self.path("aproxy.sock")
        argv = [PEER_PYTHON, os.path.join(SOURCE_ROOT, "tests/peers/aproxy/aproxy_peer.py"),
                "--unix", self.proxy_socket, "--secret", secret.hex(),
                "--trust-anchor", self.snp_trust_dir()]
        if measurement:
            argv += ["--measurement", measurement]
        for fault in faults:
            argv += ["--fault", fault]
        self._start("aproxy", argv, r"listening on ")
        self.say("aproxy peer listening on %s" % self.proxy_socket)
        return self.proxy_socket

    def write_vmpck(self, vmpck=bytes(range(32))):
        """Write the VMPCK file for the guest; the simulator's default
        VMPCK0 is the bytes 0..31."""
        path = self.path("vmpck0.bin")
        with open(path, "wb") as f:
            f.write(vmpck)
        return path

    # Provisioning.

    def write_secret(self, name, data):
        path = self.path(name)
        with open(path, "wb") as f:
            f.write(data)
        os.chmod(path, 0o600)
        return path

    def provision(self, wrap_mode, mkimage=None, nvchip=None, format_options=()):
        """Make an image with a fresh NVChip and Key1 wrapped in wrap_mode.

        Returns (image path, NVChip SHA-256, KBS material) where the KBS
        material is a dict with the start_kbs() arguments resources, keks
        and pkcs11_key.
        """
        mkimage = mkimage or default_host_tool("tpmboot-mkimage")
        if not mkimage:
            raise HarnessError("tpmboot-mkimage not found; build the host configuration "
                               "(build/host) or set TPMBOOT_HOST_BUILD")
        mkimage = os.path.abspath(mkimage)
        nvchip = os.urandom(NVCHIP_SIZE) if nvchip is None else nvchip
        nvchip_path = self.write_secret("nvchip.bin", nvchip)
        key1_path = self.write_secret("key1.bin", os.urandom(KEY1_SIZE))
        image = self.path("image.img")
        kbs = {"resources": [], "keks": [], "pkcs11_key": None}
        argv = [mkimage, "provision", "-i", image, "--nvchip", nvchip_path,
                "--key1-file", key1_path, "--wrap", wrap_mode] + list(format_options)
        if wrap_mode == "kbs-unwrap":
            kek_path = self.path("kek.hex")
            with open(kek_path, "w") as f:
                f.write(os.urandom(32).hex() + "\n")
            os.chmod(kek_path, 0o600)
            argv += ["--kek-file", kek_path, "--key-id", KEK_ID]
            kbs["keks"].append("%s=%s" % (KEK_ID, kek_path))
        elif wrap_mode == "resource":
            argv += ["--resource", RESOURCE_PATH]
            kbs["resources"].append("%s=%s" % (RESOURCE_PATH, key1_path))
        elif wrap_mode == "trustee-pkcs11":
            private = self.path("pkcs11-key.pem")
            public = self.path("pkcs11-public.pem")
            for command in (["openssl", "genrsa", "-out", private, "2048"],
                            ["openssl", "rsa", "-in", private, "-pubout", "-out", public]):
                subprocess.run(command, check=True, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
            argv += ["--rsa-pub", public]
            kbs["pkcs11_key"] = private
        else:
            raise HarnessError("unknown wrap mode %r" % wrap_mode)

        result = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if result.returncode != 0:
            raise HarnessError("provisioning failed (%s): %s" % (
                " ".join(argv), result.stdout.decode(errors="replace")))
        return image, hashlib.sha256(nvchip).hexdigest(), kbs

    def mkimage(self, *args):
        """Run tpmboot-mkimage with args; returns its stdout as text."""
        tool = default_host_tool("tpmboot-mkimage")
        if not tool:
            raise HarnessError("tpmboot-mkimage not found; build the host configuration "
                               "(build/host) or set TPMBOOT_HOST_BUILD")
        argv = [tool] + [str(a) for a in args]
        result = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if result.returncode != 0:
            raise HarnessError("%s failed: %s" % (" ".join(argv),
                                                 result.stderr.decode(errors="replace")))
        return result.stdout.decode(errors="replace")

    def read_wrapped_key_entry(self, image):
        """Return the wrapped-key entry's bytes, read without the key."""
        for line in self.mkimage("aux", "list", "-i", image, "--hex").splitlines():
            fields = line.split()
            if fields and fields[0] == WRAPKEY_UUID:
                return bytes.fromhex(fields[2])
        raise HarnessError("no wrapped-key entry in %s" % image)

    def replace_wrapped_key_entry(self, image, entry):
        """Swap the wrapped-key entry for entry through the keyless aux
        update path, as a host that edits the plaintext metadata could."""
        path = self.path("replaced-entry.bin")
        with open(path, "wb") as f:
            f.write(entry)
        self.mkimage("aux", "remove", "-i", image, WRAPKEY_UUID)
        self.mkimage("aux", "add", "-i", image, WRAPKEY_UUID, path)

    def add_wrapped_key_entry(self, image, key1, salt, layout):
        """Add a resource-mode wrapped-key entry for key1 to an existing
        image without its key (tpmboot-mkimage aux add).

        The entry is built here from docs/wrapped-key-entry.md, apart from
        the module's and the tool's code, so the test also checks that
        reading of the format. salt is the image's CocoonFs salt and layout
        its 21-byte encoded image layout. Returns the KBS material that
        serves key1 as the resource.
        """
        entry_path = self.path("wrapped-key-entry.bin")
        with open(entry_path, "wb") as f:
            f.write(wrapped_key_entry_resource(key1, RESOURCE_PATH, salt, layout))
        self.mkimage("aux", "add", "-i", image, WRAPKEY_UUID, entry_path)
        key1_path = self.write_secret("entry-key1.bin", key1)
        return {"resources": ["%s=%s" % (RESOURCE_PATH, key1_path)], "keks": [],
                "pkcs11_key": None}

    # The VM.

    def boot(self, image, append, timeout=300, image_readonly=False, on_line=None,
             release_key=None, extra=()):
        """Boot the harness kernel; returns (run-vm.sh status, console lines).

        release_key is the 65-byte public key file that the guest pins as
        the KBS release key. It defaults to the public key of a KBS that
        start_kbs() started with a release key. Without either, nothing is
        pinned. on_line, if set, gets each console line as QEMU prints it.
        """
        argv = [os.path.join(QEMU_DIR, "run-vm.sh"), "--kernel", self.kernel,
                "--image", image, "--append", append, "--timeout", str(timeout)]
        if image_readonly:
            argv.append("--image-readonly")
        if self.amdsp_socket:
            argv += ["--amdsp-socket", self.amdsp_socket,
                     "--vmpck-file", self.write_vmpck()]
        if self.proxy_socket:
            argv += ["--proxy-socket", self.proxy_socket]
        release_key = release_key or self.release_key_public
        if release_key:
            argv += ["--kbs-release-key", release_key]
        argv += list(extra)

        lines = []
        console_path = self.path("console.log")
        with open(console_path, "a") as console:
            popen = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, cwd=self.workdir)
            for raw in popen.stdout:
                line = raw.decode(errors="replace").rstrip("\r\n")
                lines.append(line)
                console.write(line + "\n")
                console.flush()
                if on_line:
                    on_line(line)
            popen.stdout.close()
            status = popen.wait()
        return status, lines


def release_key_id(public_key_file):
    """Return the id the guest logs for a pinned release key: the first
    4 bytes of the SHA-256 of the 65-byte public key, in hex."""
    return sha256_file(public_key_file)[:8]


def failed_step(lines):
    """Return the failed_step number of the guest's step summary, or None."""
    steps = console_value(lines, "run: steps ")
    match = re.search(r"\bfailed_step=(\d+)$", steps or "")
    return int(match.group(1)) if match else None


def console_value(lines, prefix):
    """Return the rest of the last console line starting with prefix, or None."""
    value = None
    for line in lines:
        if line.startswith(prefix):
            value = line[len(prefix):]
    return value


def nvchip_digest(lines):
    """Return the NVChip SHA-256 the guest printed, or None."""
    for line in lines:
        match = re.search(r"^run: nvchip size=\d+ sha256=([0-9a-f]{64})$", line)
        if match:
            return match.group(1)
    return None


def guest_error(lines):
    """Return the TPMBOOT_E_* name the guest failed with, from tpmboot_run
    or from reading the NVChip afterwards, or None."""
    patterns = (r"^run: tpmboot_run failed after \d+ ms: (TPMBOOT_E_[A-Z0-9_]+) ",
                r"^run: reading NVChip \(inode 0x[0-9a-f]+\) failed: (TPMBOOT_E_[A-Z0-9_]+) ")
    for line in lines:
        for pattern in patterns:
            match = re.search(pattern, line)
            if match:
                return match.group(1)
    return None

#!/usr/bin/python3
"""One full unlock, measured: the module's instruction count, heap and stack
peaks, the linked module's size and the host wall time of each step.

It provisions an image (kbs-unwrap mode), starts the AMD-SP simulator and
the test KBS, and runs tpmboot-host-run natively (memory, time) and under
valgrind --tool=callgrind (instructions, counted for tpmboot_run() and
everything it calls; the peers are other processes and not counted).

usage: bench/unlock_bench.py [--host-build DIR] [--freestanding-build DIR]
       (defaults: build/host and build/freestanding)
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "peers"))
from host_peers import Peers  # noqa: E402

KEK_ID = "bench-kek"


def run(argv, **kwargs):
    return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, check=False, **kwargs)


def values_of(stdout):
    return dict(line.split(": ", 1) for line in stdout.splitlines() if ": " in line)


def module_size(archive):
    """Bytes of .text* and .rodata* sections in the linked module."""
    out = run(["size", "-A", archive]).stdout
    total = {"text": 0, "rodata": 0}
    for line in out.splitlines():
        fields = line.split()
        if len(fields) >= 2 and fields[1].isdigit():
            if fields[0].startswith(".text"):
                total["text"] += int(fields[1])
            elif fields[0].startswith(".rodata"):
                total["rodata"] += int(fields[1])
    return total


def callgrind_instructions(out_file):
    """Inclusive instruction count of tpmboot_run from a callgrind file."""
    out = run(["callgrind_annotate", "--inclusive=yes", out_file]).stdout
    for line in out.splitlines():
        if re.search(r":tpmboot_run \[", line):
            return int(line.split()[0].replace(",", ""))
    raise RuntimeError("tpmboot_run not found in the callgrind profile")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host-build", default=os.path.join(ROOT, "build", "host"))
    parser.add_argument("--freestanding-build",
                        default=os.path.join(ROOT, "build", "freestanding"))
    args = parser.parse_args()
    host_run = os.path.join(args.host_build, "tests/unit/boot/tpmboot-host-run")
    mkimage = os.path.join(args.host_build, "tools/tpmboot-mkimage/tpmboot-mkimage")
    archive = os.path.join(args.freestanding_build, "libtpmboot.a")

    with tempfile.TemporaryDirectory(prefix="tpmboot-bench.") as workdir:
        peers = Peers(workdir)
        try:
            kek = peers.path("kek.hex")
            with open(kek, "w") as f:
                f.write(os.urandom(32).hex())
            image = peers.path("image.img")
            run([mkimage, "provision", "-i", image, "--wrap", "kbs-unwrap",
                 "--key-id", KEK_ID, "--kek-file", kek])
            peers.start_amdsp()
            peers.start_kbs({"allow_any_measurement": True},
                            "--kek", "%s=%s" % (KEK_ID, kek))
            base = [host_run, "--image", image, "--amdsp-unix", peers.amdsp_socket,
                    "--kbs-port", str(peers.kbs_port), "--quiet"]

            native = values_of(run(base).stdout)
            profile = peers.path("callgrind.out")
            # Each run consumes two sequence numbers of VMPCK0.
            profiled = run(["valgrind", "--tool=callgrind",
                            "--callgrind-out-file=" + profile]
                           + base + ["--msg-seqno", "2"])
            profiled_values = values_of(profiled.stdout)
            instructions = callgrind_instructions(profile)
        finally:
            peers.stop()

    if native.get("result") != "TPMBOOT_OK (0)" or \
       profiled_values.get("result") != "TPMBOOT_OK (0)":
        print("unlock failed: native %s, callgrind %s" % (
            native.get("result"), profiled_values.get("result")))
        return 1

    size = module_size(archive)
    print("unlock (kbs-unwrap, P-256 TEE key, SEV-SNP report v3)")
    print("  instructions in tpmboot_run:  %12d   (target <= 30000000)" % instructions)
    print("  heap peak:                    %12s B (target <= 262144)" % native["heap-peak"])
    print("  stack peak:                   %12s B (target <= 16384)" % native["stack-peak"])
    print("  module .text:                 %12d B" % size["text"])
    print("  module .rodata:               %12d B" % size["rodata"])
    print("  module .text + .rodata:       %12d B (target <= 262144)" %
          (size["text"] + size["rodata"]))
    print("  host wall time per step (ms): %s" % native["steps-ms"])
    return 0


if __name__ == "__main__":
    sys.exit(main())

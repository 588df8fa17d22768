#!/usr/bin/python3
"""End-to-end demo: provision an image, start the peers, boot, unlock.

The demo makes a fresh 16 KiB NVChip and Key1 and provisions a CocoonFs
image with Key1 wrapped for the KBS. It starts the AMD-SP simulator, the
test KBS and the host proxy, boots the harness kernel, and compares the
NVChip digest the guest prints with the provisioned one. With
--pin-release-key the KBS signs its release and the guest pins its public
key (through fw_cfg, which is not measured, so only for tests). run-demo.sh
installs and builds first, then runs this. Every process it starts is
stopped at the end.
"""

import argparse
import os
import re
import shutil
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402


started = time.monotonic()


def say(text):
    print("[demo %6.1f s] %s" % (time.monotonic() - started, text), flush=True)


def show_console_line(line):
    """Print the guest lines a user follows: the module's steps and the result."""
    if line.startswith(("run:", "kernel:", "PANIC")) or " tpmboot " in line:
        print("  guest | " + line, flush=True)


def kek_hex_file(h, path):
    """Return a hex KEK file for the test KBS, which reads KEKs as hex.

    A raw 32-byte file is converted, as tpmboot-mkimage accepts both; any
    other content raises an error that names the file."""
    with open(path, "rb") as f:
        data = f.read()
    text = data.strip()
    if re.fullmatch(rb"[0-9a-fA-F]{64}", text):
        return path
    if len(data) == 32:
        converted = h.path("kek-from-raw.hex")
        with open(converted, "w") as f:
            f.write(data.hex() + "\n")
        os.chmod(converted, 0o600)
        return converted
    raise harness.HarnessError("--kek-file %s is neither 32 raw bytes nor 64 hex digits" % path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image", help="use this provisioned image instead of making one; "
                        "needs --expect-nvchip and the KBS material of its wrap mode")
    parser.add_argument("--expect-nvchip", metavar="HEX",
                        help="SHA-256 of the NVChip in --image")
    parser.add_argument("--kek-file", help="KEK file (32 raw bytes or 64 hex digits) for an "
                        "--image in kbs-unwrap mode")
    parser.add_argument("--key-id", default=harness.KEK_ID, help="KEK id of --kek-file (default %(default)s)")
    parser.add_argument("--key1-file", help="Key1 for an --image in resource mode")
    parser.add_argument("--pkcs11-key", help="RSA private key (PEM) for an --image in "
                        "trustee-pkcs11 mode")
    parser.add_argument("--wrap-mode", choices=("kbs-unwrap", "trustee-pkcs11", "resource"),
                        default="kbs-unwrap", help="how Key1 is wrapped (default %(default)s)")
    parser.add_argument("--tee-key", choices=("p256", "p521", "rsa2048"), default="p256",
                        help="ephemeral TEE key the KBS encrypts Key1 to (default %(default)s)")
    parser.add_argument("--report-version", type=int, choices=(2, 3, 5), default=3,
                        help="SEV-SNP attestation report version of the simulator "
                        "(default %(default)s)")
    parser.add_argument("--pin-release-key", action="store_true",
                        help="start the KBS with a fresh release key and pin its public key "
                        "in the guest, so the guest accepts only a signed kbs-unwrap release")
    parser.add_argument("--kernel", help="harness kernel ELF (default: build/freestanding)")
    parser.add_argument("--mkimage", help="tpmboot-mkimage binary (default: build/host)")
    parser.add_argument("--proxy", help="tpmboot-proxy binary (default: build/host)")
    parser.add_argument("--timeout", type=int, default=600,
                        help="seconds before QEMU is stopped (default %(default)s)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the work directory with logs, image and keys")
    args = parser.parse_args()

    if args.image and not args.expect_nvchip:
        parser.error("--image needs --expect-nvchip HEX")
    if args.expect_nvchip and not re.fullmatch(r"[0-9a-fA-F]{64}", args.expect_nvchip):
        parser.error("--expect-nvchip needs the NVChip's SHA-256 as 64 hex digits, not %r"
                     % args.expect_nvchip)
    # Only kbs-unwrap releases are signed. With a pinned key, the module
    # rejects the other modes before it sends a request.
    if args.pin_release_key and (args.wrap_mode != "kbs-unwrap" or
                                 (args.image and not args.kek_file)):
        parser.error("--pin-release-key needs kbs-unwrap: --wrap-mode kbs-unwrap, "
                     "or --image with --kek-file")

    with harness.Harness(kernel=args.kernel, keep=args.keep, echo=say) as h:
        say("work directory %s" % h.workdir)
        measurement = harness.sha384_file(h.kernel)
        say("simulated launch measurement: SHA-384 of %s = %s..." % (
            os.path.basename(h.kernel), measurement[:16]))

        if args.image:
            image = h.path("demo.img")
            shutil.copy(args.image, image)
            expected = args.expect_nvchip.lower()
            kbs = {"resources": [], "keks": [], "pkcs11_key": args.pkcs11_key}
            if args.kek_file:
                kbs["keks"].append("%s=%s" % (args.key_id, kek_hex_file(h, args.kek_file)))
            if args.key1_file:
                kbs["resources"].append("%s=%s" % (harness.RESOURCE_PATH, args.key1_file))
            say("step 1/5: using the image %s (a copy)" % args.image)
        else:
            mkimage = args.mkimage or harness.default_host_tool("tpmboot-mkimage")
            if not mkimage:
                raise harness.HarnessError("tpmboot-mkimage not found; build build/host")
            say("step 1/5: provisioning an image: fresh 16 KiB NVChip, Key1 wrapped "
                "in %s mode" % args.wrap_mode)
            image, expected, kbs = h.provision(args.wrap_mode, mkimage)
        say("NVChip SHA-256 provisioned: %s" % expected)

        say("step 2/5: starting the AMD-SP simulator (report version %d)" % args.report_version)
        h.start_amdsp(measurement=measurement, report_version=args.report_version)
        say("step 3/5: starting the test KBS with a policy for this measurement")
        policy = {"measurements": [measurement], "vmpl": 0, "min_report_version": 2}
        release_key = h.path("kbs-release.pem") if args.pin_release_key else None
        h.start_kbs(policy, resources=kbs["resources"], keks=kbs["keks"],
                    pkcs11_key=kbs["pkcs11_key"], release_key=release_key)
        if release_key:
            say("the guest pins the KBS release key %s (fw_cfg, not measured: tests only)" %
                harness.release_key_id(h.release_key_public))
        say("step 4/5: starting the host proxy")
        h.start_proxy(proxy=args.proxy)

        say("step 5/5: booting the harness kernel in QEMU (TCG)")
        append = "mode=run tee_key=%s expect_nvchip=%s" % (args.tee_key, expected)
        status, lines = h.boot(image, append, timeout=args.timeout,
                               on_line=show_console_line)

        unlocked = harness.nvchip_digest(lines)
        error = harness.guest_error(lines)
        print(flush=True)
        say("summary:")
        print("  provisioned NVChip SHA-256: %s" % expected)
        print("  unlocked NVChip SHA-256:    %s" % (unlocked or "(none)"))
        steps = harness.console_value(lines, "run: steps ")
        if steps:
            print("  step times: %s" % steps)
        if error:
            print("  module error: %s" % error)
        print("  run-vm.sh status: %d; logs in %s%s" % (
            status, h.workdir, "" if args.keep else " (removed; use --keep)"))
        ok = status == harness.VM_PASS and unlocked == expected
        if ok:
            say("PASS: the unlocked NVChip matches the provisioned one")
        elif unlocked:
            say("FAIL: the VM unlocked an NVChip whose SHA-256 differs from the expected one")
        else:
            say("FAIL: the VM did not unlock the NVChip")
        return 0 if ok else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except harness.HarnessError as err:
        say("error: %s" % err)
        sys.exit(2)

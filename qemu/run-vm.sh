#!/bin/sh
# Boots the harness kernel in QEMU's microvm machine and returns the
# guest's verdict as the exit code.
#
# Devices: COM1 is the console. COM2 (port 0x2f8) is the byte stream to
# the AMD-SP simulator and COM3 (port 0x3e8) the one to the host proxy,
# each connected to a Unix socket. The image is a virtio-mmio block device,
# and isa-debug-exit (port 0xf4) carries the verdict.
set -eu

usage() {
	cat <<'USAGE'
usage: run-vm.sh --kernel ELF [options] [-- extra QEMU arguments]

  --kernel ELF          harness kernel (tpmboot-kernel.elf or
                        tpmboot-kernel-selftest.elf from the build)
  --image FILE          raw disk image for the virtio-blk device
  --image-readonly      attach the image read-only
  --amdsp-socket PATH   COM2: connect to the AMD-SP simulator listening on PATH
  --proxy-socket PATH   COM3: connect to the host proxy listening on PATH
  --proxy-listen PATH   COM3: QEMU listens on PATH and the proxy connects
  --vmpck-file FILE     32-byte VMPCK passed to the guest as fw_cfg file
                        opt/tpmboot/vmpck (test keys only)
  --kbs-release-key FILE
                        65-byte SEC 1 uncompressed P-256 public key that the
                        guest pins as the KBS release key, passed as fw_cfg
                        file opt/tpmboot/kbs-release-key (fw_cfg is not
                        measured, so for tests only)
  --append ARGS         kernel command line (see qemu/kernel/kmain.c)
  --log FILE            write the console to FILE instead of stdout
  --timeout SECONDS     stop QEMU after this many seconds (default 300)
  --accel tcg|kvm       accelerator (default tcg; kvm needs /dev/kvm)
  --cpu MODEL           QEMU CPU model (default max)
  --memory MIB          guest RAM in MiB (default 256)
  --qemu PATH           QEMU binary (default qemu-system-x86_64)
  --dry-run             print the QEMU command line and exit

Exit codes: 0 guest passed, 1 guest failed, 2 guest panicked (CPU
exception or harness error), 3 QEMU stopped without a verdict, 124 timed
out, 125 invalid usage or missing file.
USAGE
}

die() {
	echo "run-vm.sh: $*" >&2
	exit 125
}

kernel=
image=
image_readonly=off
amdsp_socket=
proxy_socket=
proxy_listen=
vmpck_file=
release_key_file=
append=
log=
timeout_s=300
accel=tcg
cpu=max
memory=256
qemu=qemu-system-x86_64
dry_run=0

while [ $# -gt 0 ]; do
	case "$1" in
	--kernel) kernel=${2?}; shift 2 ;;
	--image) image=${2?}; shift 2 ;;
	--image-readonly) image_readonly=on; shift ;;
	--amdsp-socket) amdsp_socket=${2?}; shift 2 ;;
	--proxy-socket) proxy_socket=${2?}; shift 2 ;;
	--proxy-listen) proxy_listen=${2?}; shift 2 ;;
	--vmpck-file) vmpck_file=${2?}; shift 2 ;;
	--kbs-release-key) release_key_file=${2?}; shift 2 ;;
	--append) append=${2?}; shift 2 ;;
	--log) log=${2?}; shift 2 ;;
	--timeout) timeout_s=${2?}; shift 2 ;;
	--accel) accel=${2?}; shift 2 ;;
	--cpu) cpu=${2?}; shift 2 ;;
	--memory) memory=${2?}; shift 2 ;;
	--qemu) qemu=${2?}; shift 2 ;;
	--dry-run) dry_run=1; shift ;;
	-h|--help) usage; exit 0 ;;
	--) shift; break ;;
	*) usage >&2; die "unknown option: $1" ;;
	esac
done

[ -n "$kernel" ] || die "missing --kernel ELF"
[ -f "$kernel" ] || die "kernel not found: $kernel"
[ -z "$image" ] || [ -f "$image" ] || die "image not found: $image"
[ -z "$vmpck_file" ] || [ -f "$vmpck_file" ] || die "VMPCK file not found: $vmpck_file"
[ -z "$release_key_file" ] || [ -f "$release_key_file" ] ||
	die "KBS release key file not found: $release_key_file"
[ -z "$proxy_socket" ] || [ -z "$proxy_listen" ] ||
	die "--proxy-socket and --proxy-listen exclude each other"
case "$accel" in
tcg|kvm) ;;
*) die "invalid --accel '$accel' (expected tcg or kvm)" ;;
esac
case "$timeout_s" in
''|*[!0-9]*) die "invalid --timeout '$timeout_s' (expected seconds)" ;;
esac
if [ "$accel" = kvm ] && [ ! -w /dev/kvm ]; then
	die "--accel kvm needs a writable /dev/kvm; use --accel tcg"
fi

# Comma is QEMU's option separator; paths with one would be split.
for path in "$kernel" "$image" "$amdsp_socket" "$proxy_socket" "$proxy_listen" \
	    "$vmpck_file" "$release_key_file" "$log"; do
	case "$path" in
	*,*) die "path contains a comma, which QEMU cannot parse: $path" ;;
	esac
done

set -- -M microvm,accel="$accel" -cpu "$cpu" -m "$memory" \
	-nodefaults -no-user-config -display none -no-reboot \
	-kernel "$kernel" -append "$append" \
	-global virtio-mmio.force-legacy=false \
	-device isa-debug-exit,iobase=0xf4,iosize=0x04 "$@"

if [ -n "$log" ]; then
	set -- "$@" -chardev file,id=console,path="$log"
else
	set -- "$@" -chardev stdio,id=console,signal=off
fi
set -- "$@" -serial chardev:console

if [ -n "$image" ]; then
	set -- "$@" -drive file="$image",format=raw,if=none,id=image,readonly="$image_readonly",cache=writethrough \
		-device virtio-blk-device,drive=image
fi
if [ -n "$amdsp_socket" ]; then
	set -- "$@" -chardev socket,id=amdsp,path="$amdsp_socket" \
		-device isa-serial,chardev=amdsp,iobase=0x2f8,irq=3
fi
if [ -n "$proxy_socket" ]; then
	# reconnect=1: when the proxy ends a session, QEMU connects again
	# after a second, so the guest's next stream_connect reaches a new one.
	set -- "$@" -chardev socket,id=proxy,path="$proxy_socket",reconnect=1 \
		-device isa-serial,chardev=proxy,iobase=0x3e8,irq=4
elif [ -n "$proxy_listen" ]; then
	set -- "$@" -chardev socket,id=proxy,path="$proxy_listen",server=on,wait=off \
		-device isa-serial,chardev=proxy,iobase=0x3e8,irq=4
fi
if [ -n "$vmpck_file" ]; then
	set -- "$@" -fw_cfg name=opt/tpmboot/vmpck,file="$vmpck_file"
fi
if [ -n "$release_key_file" ]; then
	set -- "$@" -fw_cfg name=opt/tpmboot/kbs-release-key,file="$release_key_file"
fi

if [ "$dry_run" = 1 ]; then
	printf '%s' "$qemu"
	for arg in "$@"; do
		printf " '%s'" "$arg"
	done
	printf '\n'
	exit 0
fi

command -v "$qemu" >/dev/null 2>&1 || die "QEMU not found: $qemu (install qemu-system-x86)"

status=0
timeout --kill-after=5 "$timeout_s" "$qemu" "$@" </dev/null || status=$?

# isa-debug-exit makes QEMU exit with (value << 1) | 1; the values are in
# enum kernel_exit_code (qemu/kernel/kernel.h).
case "$status" in
33) exit 0 ;;
35) exit 1 ;;
37) exit 2 ;;
124|137) echo "run-vm.sh: QEMU timed out after ${timeout_s} s" >&2; exit 124 ;;
*) echo "run-vm.sh: QEMU exited with status $status and no guest verdict" >&2; exit 3 ;;
esac

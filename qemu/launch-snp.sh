#!/bin/sh
# Launches a COCONUT-SVSM guest with the tpmboot module on a real AMD
# SEV-SNP host. The IGVM file contains the SVSM (with libtpmboot.a linked in,
# see docs/svsm-integration.md) and OVMF. The CocoonFs image is the SVSM's
# virtio-blk device on plane 0, and vhost-vsock carries the host proxy.
#
# The command line follows COCONUT-SVSM's scripts/launch_guest.sh and
# INSTALL.md (svsm commit f4bc4bcd, 2026-08): it needs the coconut-svsm/qemu
# "svsm" branch (QEMU 11.0 or later with IGVM and KVM planes) and a host
# kernel from the coconut-svsm/linux "svsm" branch.
set -eu

usage() {
	cat <<'USAGE'
usage: launch-snp.sh --igvm FILE --image FILE [options]

  --igvm FILE           COCONUT-SVSM IGVM file with libtpmboot.a linked in
                        (OVMF is embedded in it at build time)
  --image FILE          CocoonFs image (raw) for the SVSM's virtio-blk device
  --ovmf FILE           OVMF.fd the IGVM was built from; only checked to exist
  --guest-disk FILE     guest OS disk (qcow2), attached as virtio-blk-pci
  --qemu PATH           QEMU with IGVM support (default qemu-system-x86_64)
  --memory SIZE         guest memory, QEMU syntax (default 8G)
  --cpus N              virtual CPUs (default 4)
  --cbitpos N           C-bit position (default: CPUID 0x8000001f EBX[5:0]
                        via /dev/cpu/0/cpuid, else 51)
  --vsock-cid N         guest CID for vhost-vsock (default 3); the host proxy
                        listens on vsock port 1995 (tpmboot-proxy --vsock-port)
  --sev-device PATH     SEV device to check (default /dev/sev)
  --kvm-device PATH     KVM device to check (default /dev/kvm)
  --vsock-device PATH   vhost-vsock device to check (default /dev/vhost-vsock)
  --snp-param PATH      kvm_amd SNP parameter (default
                        /sys/module/kvm_amd/parameters/sev_snp)
  --dry-run             check, report what is missing, print the command
                        line and exit 0 without starting QEMU

Exit codes: 0 QEMU ran (or --dry-run), 1 a prerequisite is missing,
2 invalid usage.
USAGE
}

die_usage() {
	echo "launch-snp.sh: $*" >&2
	exit 2
}

igvm=
image=
ovmf=
guest_disk=
qemu=qemu-system-x86_64
memory=8G
cpus=4
cbitpos=
vsock_cid=3
sev_device=/dev/sev
kvm_device=/dev/kvm
vsock_device=/dev/vhost-vsock
snp_param=/sys/module/kvm_amd/parameters/sev_snp
dry_run=0
min_qemu_major=11

while [ $# -gt 0 ]; do
	case "$1" in
	--igvm) igvm=${2?}; shift 2 ;;
	--image) image=${2?}; shift 2 ;;
	--ovmf) ovmf=${2?}; shift 2 ;;
	--guest-disk) guest_disk=${2?}; shift 2 ;;
	--qemu) qemu=${2?}; shift 2 ;;
	--memory) memory=${2?}; shift 2 ;;
	--cpus) cpus=${2?}; shift 2 ;;
	--cbitpos) cbitpos=${2?}; shift 2 ;;
	--vsock-cid) vsock_cid=${2?}; shift 2 ;;
	--sev-device) sev_device=${2?}; shift 2 ;;
	--kvm-device) kvm_device=${2?}; shift 2 ;;
	--vsock-device) vsock_device=${2?}; shift 2 ;;
	--snp-param) snp_param=${2?}; shift 2 ;;
	--dry-run) dry_run=1; shift ;;
	-h|--help) usage; exit 0 ;;
	*) usage >&2; die_usage "unknown option: $1" ;;
	esac
done

[ -n "$igvm" ] || die_usage "missing --igvm FILE"
[ -n "$image" ] || die_usage "missing --image FILE"
case "$cpus" in ''|*[!0-9]*) die_usage "invalid --cpus '$cpus'" ;; esac
case "$vsock_cid" in ''|*[!0-9]*) die_usage "invalid --vsock-cid '$vsock_cid'" ;; esac
[ "$vsock_cid" -ge 3 ] || die_usage "invalid --vsock-cid $vsock_cid (CIDs 0-2 are reserved)"

missing=0
report_missing() {
	echo "launch-snp.sh: missing: $*" >&2
	missing=$((missing + 1))
}

# Files.
[ -f "$igvm" ] || report_missing "IGVM file $igvm (build COCONUT-SVSM with the module: docs/svsm-integration.md)"
[ -f "$image" ] || report_missing "CocoonFs image $image (make one with tpmboot-mkimage)"
[ -z "$ovmf" ] || [ -f "$ovmf" ] || report_missing "OVMF firmware $ovmf"
[ -z "$guest_disk" ] || [ -f "$guest_disk" ] || report_missing "guest disk $guest_disk"

# Host: SEV-SNP firmware, KVM with SNP enabled, vhost-vsock.
[ -c "$sev_device" ] || report_missing "$sev_device (SEV firmware device; needs an SNP-capable AMD EPYC with SNP enabled in the BIOS and the ccp driver)"
[ -c "$kvm_device" ] || report_missing "$kvm_device (load kvm_amd)"
if [ -r "$snp_param" ]; then
	case "$(cat "$snp_param")" in
	Y|y|1) ;;
	*) report_missing "SNP support in kvm_amd ($snp_param is not Y; load kvm_amd with sev_snp=1)" ;;
	esac
else
	report_missing "$snp_param (kvm_amd without SEV-SNP support; use the coconut-svsm/linux svsm branch)"
fi
[ -c "$vsock_device" ] || report_missing "$vsock_device (load vhost_vsock)"

# QEMU: version, IGVM and SEV-SNP objects.
if command -v "$qemu" >/dev/null 2>&1; then
	version=$("$qemu" --version 2>/dev/null | sed -n 's/^QEMU emulator version \([0-9][0-9]*\)\.\([0-9][0-9]*\).*/\1 \2/p')
	major=${version%% *}
	if [ -z "$major" ]; then
		report_missing "a QEMU version line from '$qemu --version'"
	elif [ "$major" -lt "$min_qemu_major" ]; then
		report_missing "QEMU $min_qemu_major.0 or later with KVM planes (found ${version% *}.${version#* } at $qemu; build the coconut-svsm/qemu svsm branch)"
	fi
	objects=$("$qemu" -object help 2>/dev/null || true)
	printf '%s\n' "$objects" | grep -qx ' *igvm-cfg' ||
		report_missing "IGVM support in $qemu (no igvm-cfg object; configure QEMU with --enable-igvm)"
	printf '%s\n' "$objects" | grep -qx ' *sev-snp-guest' ||
		report_missing "SEV-SNP support in $qemu (no sev-snp-guest object)"
else
	report_missing "QEMU binary $qemu"
fi

# C-bit position: CPUID Fn8000_001F EBX bits 5:0. The Linux cpuid device
# returns EAX, EBX, ECX, EDX of the leaf given as the file offset.
if [ -z "$cbitpos" ]; then
	cbitpos=51
	if [ -r /dev/cpu/0/cpuid ]; then
		ebx=$(dd if=/dev/cpu/0/cpuid bs=16 count=1 iflag=skip_bytes \
			skip=$((0x8000001f)) 2>/dev/null | od -An -tu4 -j4 -N4 | tr -d ' ')
		# Below 32 the leaf is absent (not an AMD CPU with SEV).
		if [ -n "$ebx" ] && [ $((ebx & 63)) -ge 32 ]; then
			cbitpos=$((ebx & 63))
		fi
	fi
fi
case "$cbitpos" in ''|*[!0-9]*) die_usage "invalid --cbitpos '$cbitpos'" ;; esac

set -- -enable-kvm -cpu EPYC-v4 -smp "$cpus" -m "$memory" \
	-machine q35,confidential-guest-support=cgs0,memory-backend=mem0,igvm-cfg=igvm0,accel=kvm,kernel-irqchip=split,device-plane=2,x-svsm-virtio-mmio=on \
	-object memory-backend-memfd,id=mem0,size="$memory",share=true,prealloc=false,reserve=false \
	-object sev-snp-guest,id=cgs0,cbitpos="$cbitpos",reduced-phys-bits=1 \
	-object igvm-cfg,id=igvm0,file="$igvm" \
	-no-reboot -nographic -vga none \
	-serial mon:stdio -serial null -serial null -serial null \
	-global virtio-mmio.force-legacy=false \
	-drive file="$image",format=raw,if=none,id=svsm_storage,cache=none \
	-device virtio-blk-device,drive=svsm_storage,plane=0 \
	-device vhost-vsock-device,guest-cid="$vsock_cid",plane=0
if [ -n "$guest_disk" ]; then
	set -- "$@" -drive file="$guest_disk",if=none,id=guest_disk \
		-device virtio-blk-pci,drive=guest_disk,bootindex=1
fi

if [ "$dry_run" = 1 ]; then
	[ "$missing" = 0 ] || echo "launch-snp.sh: $missing prerequisite(s) missing; printing the command line anyway" >&2
	printf '%s' "$qemu"
	for arg in "$@"; do
		printf ' %s' "$arg"
	done
	printf '\n'
	exit 0
fi

if [ "$missing" != 0 ]; then
	echo "launch-snp.sh: $missing prerequisite(s) missing; not starting QEMU" >&2
	exit 1
fi
exec "$qemu" "$@"

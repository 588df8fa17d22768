#!/bin/sh
# Tests qemu/launch-snp.sh without SEV-SNP hardware: the prerequisite
# checks run against stand-ins (a fake QEMU script, /dev/null as the
# character devices, a file as the kvm_amd parameter), and the printed
# command line is compared with the expected one word for word.
set -eu

root=$(cd "$(dirname "$0")/../.." && pwd)
launch="$root/qemu/launch-snp.sh"
work=$(mktemp -d "${TMPDIR:-/tmp}/tpmboot-launch-snp.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
failures=0

check() {
	name=$1
	shift
	if "$@"; then
		echo "ok - $name"
	else
		echo "not ok - $name"
		failures=$((failures + 1))
	fi
}

# fake_qemu VERSION OBJECTS...: a QEMU stand-in that prints VERSION for
# --version, the OBJECTS for "-object help" and its arguments otherwise.
fake_qemu() {
	path="$work/qemu-$1"
	{
		echo '#!/bin/sh'
		echo "if [ \"\$1\" = --version ]; then echo 'QEMU emulator version $1'; exit 0; fi"
		echo 'if [ "$1" = -object ] && [ "$2" = help ]; then'
		echo "echo 'List of user creatable objects:'"
		shift
		for object in "$@"; do
			echo "echo '  $object'"
		done
		echo 'exit 0; fi'
		echo 'echo "fake-qemu $*"'
	} >"$path"
	chmod +x "$path"
	echo "$path"
}

touch "$work/svsm.igvm" "$work/state.img"
echo Y >"$work/sev_snp"
good_qemu=$(fake_qemu 11.0.0 igvm-cfg sev-snp-guest memory-backend-memfd)
old_qemu=$(fake_qemu 7.2.22 memory-backend-memfd)
plain_qemu=$(fake_qemu 11.1.0 memory-backend-memfd)

common="--igvm $work/svsm.igvm --image $work/state.img --sev-device /dev/null
--kvm-device /dev/null --vsock-device /dev/null --snp-param $work/sev_snp
--cbitpos 51"

expected="$good_qemu -enable-kvm -cpu EPYC-v4 -smp 4 -m 8G \
-machine q35,confidential-guest-support=cgs0,memory-backend=mem0,igvm-cfg=igvm0,accel=kvm,kernel-irqchip=split,device-plane=2,x-svsm-virtio-mmio=on \
-object memory-backend-memfd,id=mem0,size=8G,share=true,prealloc=false,reserve=false \
-object sev-snp-guest,id=cgs0,cbitpos=51,reduced-phys-bits=1 \
-object igvm-cfg,id=igvm0,file=$work/svsm.igvm \
-no-reboot -nographic -vga none -serial mon:stdio -serial null -serial null -serial null \
-global virtio-mmio.force-legacy=false \
-drive file=$work/state.img,format=raw,if=none,id=svsm_storage,cache=none \
-device virtio-blk-device,drive=svsm_storage,plane=0 \
-device vhost-vsock-device,guest-cid=3,plane=0"

# 1. Everything present: exact command line, nothing reported missing.
# shellcheck disable=SC2086
"$launch" $common --qemu "$good_qemu" --dry-run >"$work/out" 2>"$work/err"
check "dry run prints the exact command line" [ "$(cat "$work/out")" = "$expected" ]
check "dry run reports nothing missing" [ ! -s "$work/err" ]

# 2. Without --dry-run the same arguments reach QEMU.
# shellcheck disable=SC2086
"$launch" $common --qemu "$good_qemu" >"$work/out" 2>"$work/err"
check "launch passes the arguments to QEMU" \
	[ "$(cat "$work/out")" = "fake-qemu ${expected#"$good_qemu" }" ]

# 3. Each missing prerequisite is named, and the launch is refused.
status=0
# shellcheck disable=SC2086
"$launch" $common --qemu "$good_qemu" --sev-device "$work/no-sev" >/dev/null 2>"$work/err" || status=$?
check "missing SEV device exits 1" [ "$status" = 1 ]
check "missing SEV device is named" grep -q "missing: $work/no-sev (SEV firmware device" "$work/err"

status=0
# shellcheck disable=SC2086
"$launch" $common --qemu "$old_qemu" >/dev/null 2>"$work/err" || status=$?
check "old QEMU exits 1" [ "$status" = 1 ]
check "old QEMU version is reported" grep -q "missing: QEMU 11.0 or later with KVM planes (found 7.2 at" "$work/err"
check "old QEMU lacks IGVM" grep -q "missing: IGVM support in $old_qemu" "$work/err"
check "old QEMU lacks SEV-SNP" grep -q "missing: SEV-SNP support in $old_qemu" "$work/err"

status=0
# shellcheck disable=SC2086
"$launch" $common --qemu "$plain_qemu" >/dev/null 2>"$work/err" || status=$?
check "QEMU without IGVM exits 1" [ "$status" = 1 ]
check "only IGVM and SEV-SNP are missing" [ "$(grep -c '^launch-snp.sh: missing:' "$work/err")" = 2 ]

echo N >"$work/sev_snp"
status=0
# shellcheck disable=SC2086
"$launch" $common --qemu "$good_qemu" >/dev/null 2>"$work/err" || status=$?
check "SNP disabled in kvm_amd exits 1" [ "$status" = 1 ]
check "SNP disabled is reported" grep -q "missing: SNP support in kvm_amd" "$work/err"

# 4. A dry run still prints the command line when something is missing.
status=0
# shellcheck disable=SC2086
"$launch" $common --qemu "$good_qemu" --dry-run >"$work/out" 2>"$work/err" || status=$?
check "dry run with a missing prerequisite exits 0" [ "$status" = 0 ]
check "dry run counts the missing prerequisite" grep -q "1 prerequisite(s) missing; printing the command line anyway" "$work/err"
check "dry run still prints the command line" [ "$(cat "$work/out")" = "$expected" ]

# 5. Usage errors.
status=0
"$launch" --image "$work/state.img" --dry-run >/dev/null 2>"$work/err" || status=$?
check "missing --igvm exits 2" [ "$status" = 2 ]
check "missing --igvm is explained" grep -q "missing --igvm FILE" "$work/err"

if [ "$failures" != 0 ]; then
	echo "launch-snp-dry-run: $failures check(s) failed"
	exit 1
fi
echo "launch-snp-dry-run: all checks passed"

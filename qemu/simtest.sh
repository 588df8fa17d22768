#!/bin/sh
# Checks the harness kernel's link to the AMD-SP / TDX quote simulator
# (meson test qemu-simtest): starts tests/peers/amdsp/amdsp.py on a Unix
# socket in a temporary directory and boots mode=simtest, which gets a TDX
# quote and checks its REPORTDATA and MRTD, and sends an SNP guest request
# that the simulated firmware must reject. Without the simulator the same
# boot must fail.
#
# usage: simtest.sh KERNEL.elf
set -eu

kernel=${1:?usage: simtest.sh KERNEL.elf}
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
work=$(mktemp -d "${TMPDIR:-/tmp}/tpmboot-simtest.XXXXXX")
sim_pid=

cleanup() {
	if [ -n "$sim_pid" ]; then
		kill "$sim_pid" 2>/dev/null || true
		wait "$sim_pid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

fail() {
	echo "simtest.sh: FAIL: $*" >&2
	for log in "$work/console.log" "$work/amdsp.log"; do
		[ -f "$log" ] && { echo "--- $log ---" >&2; cat "$log" >&2; }
	done
	exit 1
}

/usr/bin/python3 "$root/tests/peers/amdsp/amdsp.py" --pki-dir "$work/pki" \
	--unix "$work/amdsp.sock" >"$work/amdsp.out" 2>"$work/amdsp.log" &
sim_pid=$!
for _ in $(seq 300); do
	grep -q "listening on unix:" "$work/amdsp.out" 2>/dev/null && break
	sleep 0.1
done
grep -q "listening on unix:" "$work/amdsp.out" || fail "the AMD-SP simulator did not start"

mrtd=$(head -c 48 /dev/urandom | od -An -tx1 | tr -d ' \n')
status=0
"$here/run-vm.sh" --kernel "$kernel" --amdsp-socket "$work/amdsp.sock" \
	--append "mode=simtest mrtd=$mrtd" --log "$work/console.log" --timeout 120 || status=$?
[ "$status" = 0 ] || fail "mode=simtest gave exit $status, expected 0 (pass)"
grep -q "^simtest: tdx-quote ok" "$work/console.log" || fail "no TDX quote check passed"
grep -q "^simtest: snp-reject ok" "$work/console.log" || fail "no SNP rejection check passed"

status=0
"$here/run-vm.sh" --kernel "$kernel" --append "mode=simtest" \
	--log "$work/alone.log" --timeout 60 || status=$?
[ "$status" = 1 ] || fail "mode=simtest without the simulator gave exit $status, expected 1"
grep -q "no simulator UART on COM2" "$work/alone.log" || fail "missing simulator not reported"

echo "simtest.sh: PASS"

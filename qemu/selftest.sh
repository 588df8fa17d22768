#!/bin/sh
# Self-test of the harness kernel in QEMU (meson test qemu-selftest):
# boots the kernel in mode=selftest with a random image and two echo
# sockets, then checks its verdict, the disk digests it printed against
# the host's, the one sector it wrote, and the failure and panic exit
# codes of run-vm.sh.
#
# usage: selftest.sh KERNEL.elf [--accel tcg|kvm]
set -eu

kernel=${1:?usage: selftest.sh KERNEL.elf [--accel tcg|kvm]}
shift
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/tpmboot-selftest.XXXXXX")
echo_pid=

cleanup() {
	if [ -n "$echo_pid" ]; then
		kill "$echo_pid" 2>/dev/null || true
		wait "$echo_pid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

fail() {
	echo "selftest.sh: FAIL: $*" >&2
	if [ -f "$work/console.log" ]; then
		echo "--- guest console ---" >&2
		cat "$work/console.log" >&2
	fi
	exit 1
}

sectors=2048
seed=$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')
dd if=/dev/urandom of="$work/disk.img" bs=512 count=$sectors status=none
head -c $(( (sectors - 1) * 512 )) "$work/disk.img" | sha256sum | cut -d' ' -f1 >"$work/untouched.sha256"
host_disk_before=$(sha256sum <"$work/disk.img" | cut -d' ' -f1)

# The echo server lives as long as its stdin pipe (a FIFO held open here).
mkfifo "$work/echo.stdin"
"$here/echo-server.py" "$work/com2.sock" "$work/com3.sock" <"$work/echo.stdin" \
	>"$work/echo.out" 2>"$work/echo.err" &
echo_pid=$!
exec 3>"$work/echo.stdin"
for _ in $(seq 50); do
	grep -q listening "$work/echo.out" 2>/dev/null && break
	sleep 0.1
done
grep -q listening "$work/echo.out" || fail "echo server did not start: $(cat "$work/echo.err")"

start=$(date +%s%N)
status=0
"$here/run-vm.sh" --kernel "$kernel" --image "$work/disk.img" \
	--amdsp-socket "$work/com2.sock" --proxy-socket "$work/com3.sock" \
	--append "mode=selftest disk_sectors=$sectors disk_write=$seed echo=com2,com3 echo_bytes=16384" \
	--log "$work/console.log" --timeout 120 "$@" || status=$?
end=$(date +%s%N)
[ "$status" = 0 ] || fail "run-vm.sh returned $status, expected 0 (pass)"

guest_disk=$(sed -n 's/^selftest: disk sha256=//p' "$work/console.log")
guest_written=$(sed -n 's/^selftest: written sector sha256=//p' "$work/console.log")
host_written=$(tail -c 512 "$work/disk.img" | sha256sum | cut -d' ' -f1)
host_untouched=$(head -c $(( (sectors - 1) * 512 )) "$work/disk.img" | sha256sum | cut -d' ' -f1)

[ -n "$guest_disk" ] || fail "guest printed no disk digest"
grep -q "^selftest: disk sectors $sectors\$" "$work/console.log" ||
	fail "guest hashed a different number of sectors than $sectors"
[ "$guest_written" = "$host_written" ] ||
	fail "last sector on the host ($host_written) differs from what the guest wrote ($guest_written)"
[ "$host_untouched" = "$(cat "$work/untouched.sha256")" ] ||
	fail "guest changed sectors other than the last one"
for test in sha256-abc sha384-abc heap random timer disk-read disk-write echo-com2 echo-com3; do
	grep -q "^selftest: $test ok" "$work/console.log" || fail "guest test $test did not pass"
done

# The guest hashed the whole image before writing its last sector, so its
# digest covers the untouched sectors plus the original last sector.
[ "$guest_disk" = "$host_disk_before" ] ||
	fail "guest disk digest $guest_disk differs from the host's $host_disk_before"

echo "selftest.sh: guest passed in $(( (end - start) / 1000000 )) ms (QEMU start to exit)"
grep -E '^(boot: ready|selftest: (disk-read|echo-com[23])|kernel: stack)' "$work/console.log"

# Failure and panic paths map to their exit codes.
status=0
"$here/run-vm.sh" --kernel "$kernel" --append "mode=no-such-mode" \
	--log "$work/fail.log" --timeout 60 "$@" || status=$?
[ "$status" = 1 ] || fail "unknown mode gave exit $status, expected 1 (guest failed)"
status=0
"$here/run-vm.sh" --kernel "$kernel" --append "mode=crash" \
	--log "$work/crash.log" --timeout 60 "$@" || status=$?
[ "$status" = 2 ] || fail "mode=crash gave exit $status, expected 2 (guest panicked)"
grep -q "CPU exception 6 (#UD invalid opcode)" "$work/crash.log" ||
	fail "panic log lacks the #UD report: $(cat "$work/crash.log")"

echo "selftest.sh: PASS"

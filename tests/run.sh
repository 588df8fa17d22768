#!/bin/sh
# The test command: sets up a fresh Debian bookworm machine (as root),
# fetches and verifies the dependency tarballs, builds every configuration
# and runs every test. Ends with the line "N passed, N failed".
#
#   tests/run.sh            everything
#   tests/run.sh --quick    host configuration only (no sanitizers, fuzz
#                           or freestanding builds)
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
quick=0
[ "${1:-}" = "--quick" ] && quick=1

step() { echo "==> $*"; }

step "installing missing Debian packages"
scripts/install-deps.sh
step "fetching dependency tarballs"
scripts/fetch-deps.sh
step "building picolibc for the freestanding target"
scripts/build-picolibc.sh

configure() {
	dir=$1
	shift
	# Reconfigure existing trees: an area's new meson.build is only
	# picked up by a fresh configuration run.
	reconfigure=""
	[ -f "build/$dir/build.ninja" ] && reconfigure="--reconfigure"
	# shellcheck disable=SC2086
	meson setup $reconfigure "build/$dir" "$@" >"build/setup-$dir.log" 2>&1 || {
		cat "build/setup-$dir.log"
		exit 1
	}
}

# The golden vectors: ../shared next to the checkout, or
# $TPMBOOT_SHARED_DIR.
shared_opt=""
[ -n "${TPMBOOT_SHARED_DIR:-}" ] && shared_opt="-Dshared_dir=$TPMBOOT_SHARED_DIR"

mkdir -p build
configs="host"
configure host $shared_opt
if [ "$quick" = 0 ]; then
	# The shipped module is size-optimised; the SIMD libraries in arch/
	# keep -O2 through their own override.
	configure freestanding --cross-file cross/x86_64-freestanding.ini \
		--buildtype=minsize
	configure asan -Db_sanitize=address,undefined -Db_lundef=false $shared_opt
	CC=clang configure fuzz -Dfuzz=true -Db_sanitize=address,undefined \
		-Db_lundef=false $shared_opt
	# The freestanding build comes first: the end-to-end tests of the host
	# build boot its harness kernel.
	configs="freestanding host asan fuzz"
fi

status=0
for c in $configs; do
	rm -f "build/$c/meson-logs/testlog.json"
	step "building build/$c"
	ninja -C "build/$c" -j2 >"build/build-$c.log" 2>&1 || {
		tail -50 "build/build-$c.log"
		echo "build of build/$c failed (full log: build/build-$c.log)"
		status=1
		continue
	}
	step "testing build/$c"
	# The sanitizer and fuzz builds skip the slow end-to-end and benchmark
	# suites, which the host build runs.
	case $c in
	asan) suites="--no-suite e2e --no-suite bench" ;;
	fuzz) suites="--suite fuzz" ;; # the fuzz targets only
	*) suites="" ;;
	esac
	# shellcheck disable=SC2086
	meson test -C "build/$c" --num-processes 2 --print-errorlogs $suites ||
		status=1
done

# One closing line over every configuration, from meson's test logs.
python3 - $configs <<'PY'
import json, sys
passed = failed = 0
for c in sys.argv[1:]:
    try:
        lines = open(f"build/{c}/meson-logs/testlog.json").read().splitlines()
    except OSError:
        failed += 1
        continue
    for line in lines:
        result = json.loads(line)["result"]
        if result in ("OK", "EXPECTEDFAIL"):
            passed += 1
        elif result != "SKIP":
            failed += 1
print(f"{passed} passed, {failed} failed")
PY
exit $status

#!/bin/sh
# The demo command for a Debian bookworm machine. As root it installs the
# missing packages; then it builds the host tools and the harness kernel.
# It provisions an image with a fresh 16 KiB NVChip and a wrapped Key1 and
# starts the test KBS, the host proxy and the AMD-SP simulator on loopback
# and Unix sockets. It boots the VM and prints the unlocked NVChip digest
# next to the provisioned one. Every process it starts is stopped at the end.
#
# usage: qemu/run-demo.sh [--build-dir DIR] [demo options]
#   --build-dir DIR   build trees DIR/host and DIR/freestanding (default build)
#   demo options      --wrap-mode, --tee-key, --report-version,
#                     --pin-release-key, --image, --keep, ... (listed below)
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/build

if [ "${1:-}" = --build-dir ]; then
	build=${2:?--build-dir needs a directory}
	shift 2
fi
case "${1:-}" in
-h|--help)
	sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
	echo
	exec /usr/bin/python3 "$root/qemu/demo.py" --help
	;;
esac

step() { echo "==> $*"; }

cd "$root"
step "checking Debian packages"
scripts/install-deps.sh
step "fetching and building the freestanding dependencies"
scripts/fetch-deps.sh
scripts/build-picolibc.sh

configure() {
	dir=$1
	shift
	if [ ! -f "$dir/build.ninja" ]; then
		meson setup "$dir" "$@" >"$dir.setup.log" 2>&1 || {
			cat "$dir.setup.log"
			exit 1
		}
	fi
}

mkdir -p "$build"
step "building the host tools in $build/host"
configure "$build/host"
ninja -C "$build/host" -j2 tools/tpmboot-mkimage/tpmboot-mkimage \
	tools/tpmboot-proxy/tpmboot-proxy >"$build/demo-host.log" 2>&1 || {
	tail -40 "$build/demo-host.log"
	exit 1
}
step "building the harness kernel in $build/freestanding"
configure "$build/freestanding" --cross-file cross/x86_64-freestanding.ini \
	--buildtype=minsize
ninja -C "$build/freestanding" -j2 qemu/tpmboot-kernel.elf \
	>"$build/demo-freestanding.log" 2>&1 || {
	tail -40 "$build/demo-freestanding.log"
	exit 1
}

step "running the demo"
exec /usr/bin/python3 "$root/qemu/demo.py" \
	--kernel "$build/freestanding/qemu/tpmboot-kernel.elf" \
	--mkimage "$build/host/tools/tpmboot-mkimage/tpmboot-mkimage" \
	--proxy "$build/host/tools/tpmboot-proxy/tpmboot-proxy" "$@"

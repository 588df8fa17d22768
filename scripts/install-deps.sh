#!/bin/sh
# Install the Debian packages the build, the tests and the demo need.
# Runs as root on Debian bookworm; installs only what is missing.
set -eu

packages="meson ninja-build pkg-config gcc clang lld llvm libclang-rt-14-dev
binutils libcmocka-dev libjansson-dev libssl-dev python3 python3-cryptography
qemu-system-x86 valgrind xz-utils bzip2 ca-certificates"

missing=""
for p in $packages; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
		missing="$missing $p"
	fi
done

if [ -z "$missing" ]; then
	echo "install-deps: all packages present"
	exit 0
fi

if [ "$(id -u)" != 0 ]; then
	echo "install-deps: missing packages:$missing (run as root to install)" >&2
	exit 1
fi

echo "install-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing

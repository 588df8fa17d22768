#!/bin/sh
# Build picolibc 1.8.10 from its release tarball for the freestanding module
# and install it to build-deps/picolibc. Reuses an existing install.
#
# Options: no thread-local storage, so errno and friends are plain globals.
# The default printf is integer-only with long long support, because the
# module prints 64-bit ids. No semihosting and no crt0: the SVSM or the
# harness kernel brings its own start-up code.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
deps="$root/build-deps"
prefix="$deps/picolibc"
tarball="$root/subprojects/packagecache/picolibc_1.8.10.orig.tar.gz"

if [ -f "$prefix/lib/libc.a" ] && [ -f "$prefix/.options" ] &&
	[ "$(cat "$prefix/.options")" = "1.8.10 long-long v2" ]; then
	echo "build-picolibc: $prefix present"
	exit 0
fi

mkdir -p "$deps/src"
rm -rf "$deps/src/picolibc-1.8.10" "$deps/picolibc-build" "$prefix"
tar -C "$deps/src" -xzf "$tarball"

meson setup "$deps/picolibc-build" "$deps/src/picolibc-1.8.10" \
	--cross-file "$root/scripts/picolibc-cross.ini" \
	--buildtype=minsize \
	-Dprefix="$prefix" -Dspecsdir=none \
	-Dmultilib=false -Dtests=false -Dpicocrt=false -Dsemihost=false \
	-Dthread-local-storage=false -Dformat-default=long-long \
	>"$deps/picolibc-setup.log"
ninja -C "$deps/picolibc-build" -j2 install >"$deps/picolibc-build.log"
echo "1.8.10 long-long v2" >"$prefix/.options"
echo "build-picolibc: installed to $prefix"

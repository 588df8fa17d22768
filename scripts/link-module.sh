#!/bin/sh
# Links the freestanding module into libtpmboot.a: one relocatable object
# with the module's objects and the mbedTLS, picolibc and libgcc members
# they use, in which every global symbol except the public API
# (exports.txt) is made local. A foreign runtime (COCONUT-SVSM's memcpy, malloc, printf) then
# neither clashes with nor is used by the module's copies.
#
# usage: link-module.sh OUTPUT EXPORTS MODULE.a MBEDTLS.a LIBC.a LIBGCC.a
set -eu

out=$1
exports=$2
module=$3
mbedtls=$4
libc=$5
libgcc=$6
obj="${out%.a}.o"

# ld -r pulls from the mbedTLS, picolibc and libgcc archives only the
# members that resolve references of the module. The doubled --trace
# writes every input object, archive members included, to the .members
# list that the archive checks read.
ld -r --trace --trace -o "$obj.tmp" --whole-archive "$module" --no-whole-archive \
	--start-group "$mbedtls" "$libc" "$libgcc" --end-group >"${out%.a}.members"
objcopy --keep-global-symbols="$exports" "$obj.tmp" "$obj"
rm -f "$obj.tmp" "$out"
ar rcs "$out" "$obj"

#!/bin/sh
# Checks libtpmboot.a against the freestanding rules:
#   undefined  - nm -u lists exactly scripts/platform-symbols.txt
#   sections   - no .tdata, .tbss, .init_array, .fini_array, .ctors, .dtors
#   simd       - no SSE/AVX instruction in any linked object outside arch/
#                SIMD objects (module, mbedTLS and picolibc members alike)
# usage: check-archive.sh undefined|sections|simd ARCHIVE SOURCE_ROOT
set -eu

what=$1
archive=$2
root=$3
members="${archive%.a}.members"

case $what in
undefined)
	expected=$(grep -v '^#' "$root/scripts/platform-symbols.txt" | sort)
	actual=$(nm -u "$archive" | awk 'NF == 2 { print $2 }' | sort -u)
	if [ "$expected" != "$actual" ]; then
		echo "undefined symbols differ from scripts/platform-symbols.txt:"
		echo "expected:"; echo "$expected"
		echo "actual:"; echo "$actual"
		exit 1
	fi
	echo "undefined symbols: $(echo "$actual" | tr '\n' ' ')"
	;;
sections)
	bad=$(objdump -h "$archive" |
		awk '$2 ~ /^\.(tdata|tbss|init_array|fini_array|ctors|dtors)/ { print $2 }')
	if [ -n "$bad" ]; then
		echo "forbidden sections in $archive: $bad"
		exit 1
	fi
	echo "sections: none of .tdata .tbss .init_array .fini_array .ctors .dtors"
	;;
simd)
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	# The module's own objects, from the objects archive next to it.
	objs_archive="$(dirname "$archive")/libtpmboot-objs.a"
	(cd "$tmp" && ar x "$objs_archive")
	count=0
	failed=0
	for obj in "$tmp"/*.o; do
		count=$((count + 1))
		case $(basename "$obj") in
		arch_x86_64_simd_*) continue ;;
		esac
		n=$(objdump -d "$obj" | grep -cE '%[xyz]mm[0-9]' || true)
		if [ "$n" != 0 ]; then
			echo "SIMD instructions ($n) in $(basename "$obj")"
			failed=1
		fi
	done
	# Library members pulled into the link, as "(archive)member" lines.
	for entry in $(grep -E '^\(.*\)' "$members" | tr -d ' '); do
		lib=${entry%%)*}; lib=${lib#(}
		member=${entry#*)}
		count=$((count + 1))
		mkdir -p "$tmp/lib" && (cd "$tmp/lib" && ar x "$lib" "$member")
		n=$(objdump -d "$tmp/lib/$member" | grep -cE '%[xyz]mm[0-9]' || true)
		if [ "$n" != 0 ]; then
			echo "SIMD instructions ($n) in $lib($member)"
			failed=1
		fi
	done
	echo "simd: checked $count objects"
	exit $failed
	;;
*)
	echo "usage: $0 undefined|sections|simd ARCHIVE SOURCE_ROOT" >&2
	exit 2
	;;
esac

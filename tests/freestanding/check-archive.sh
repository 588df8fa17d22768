#!/bin/sh
# Checks libtpmboot.a against one freestanding rule per mode:
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
	archive=$(realpath "$archive")
	members=$(realpath "$members")
	count=0
	failed=0

	# check_object FILE LABEL: fails when FILE has SSE/AVX instructions.
	check_object() {
		count=$((count + 1))
		n=$(objdump -d "$1" | grep -cE '%[xyz]mm[0-9]' || true)
		if [ "$n" != 0 ]; then
			echo "SIMD instructions ($n) in $2"
			failed=1
		fi
	}

	# Every input of the module link, from ld's trace: plain objects
	# (meson's thin archives list their members as files) and
	# "(archive)member" lines for regular archives. Only arch/ may hold
	# SIMD code.
	cd "$(dirname "$archive")"
	while read -r entry; do
		case $entry in
		*.a) ;;
		arch/* | */arch_x86_64_*) count=$((count + 1)) ;;
		\(*)
			lib=${entry%%)*}
			lib=${lib#(}
			member=${entry#*)}
			mkdir -p "$tmp/x" && (cd "$tmp/x" && ar x "$lib" "$member")
			check_object "$tmp/x/$member" "$lib($member)"
			rm -f "$tmp/x/$member"
			;;
		*) check_object "$entry" "$entry" ;;
		esac
	done <"$members"
	echo "simd: checked $count objects"
	exit $failed
	;;
*)
	echo "usage: $0 undefined|sections|simd ARCHIVE SOURCE_ROOT" >&2
	exit 2
	;;
esac

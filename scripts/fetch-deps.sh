#!/bin/sh
# Fetch the picolibc and mbedTLS release tarballs and the Wycheproof test
# vectors from Debian's archive, verify their SHA-256 and place them where
# the meson wraps look (subprojects/packagecache/).
#
# apt runs with a private sources list, state and cache directory under
# build-deps/apt, so the machine's apt configuration is not changed. Files
# already present with the right digest are reused without network access.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
cache="$root/subprojects/packagecache"
deps="$root/build-deps"
aptdir="$deps/apt"

# name|sha256|how to fetch (source PACKAGE=VERSION or download PACKAGE)
artifacts="picolibc_1.8.10.orig.tar.gz|d1fc2a20f217472f8d9da084a519a25678e8d91852a41c7f3f1840d3508f7163|source picolibc=1.8.10-2
mbedtls_3.6.6.orig.tar.bz2|8fb65fae8dcae5840f793c0a334860a411f884cc537ea290ce1c52bb64ca007a|source mbedtls=3.6.6-0.1~deb13u1
librust-wycheproof-dev_0.6.0-1_amd64.deb|fbdb50e135375223ab03139462b99b397c23344b03eab754aba2c9e16fbfbcd8|download librust-wycheproof-dev=0.6.0-1"

mkdir -p "$cache"

digest_ok() {
	[ -f "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$2" ]
}

apt_ready=0
apt_private() {
	apt-get -q -o Dir::Etc::SourceList="$aptdir/sources.list" \
		-o Dir::Etc::SourceParts=/dev/null \
		-o Dir::State::Lists="$aptdir/lists" \
		-o Dir::Cache="$aptdir/cache" \
		-o Debug::NoLocking=1 "$@"
}

prepare_apt() {
	[ "$apt_ready" = 1 ] && return 0
	mkdir -p "$aptdir/lists/partial" "$aptdir/cache/archives/partial"
	keyring=/usr/share/keyrings/debian-archive-keyring.gpg
	# trixie carries both tarballs; sid carries the Wycheproof package.
	cat > "$aptdir/sources.list" <<LIST
deb-src [signed-by=$keyring] http://deb.debian.org/debian trixie main
deb-src [signed-by=$keyring] http://deb.debian.org/debian sid main
deb [signed-by=$keyring arch=amd64] http://deb.debian.org/debian sid main
LIST
	apt_private update >"$deps/fetch-update.log" 2>&1 || {
		cat "$deps/fetch-update.log" >&2
		echo "fetch-deps: apt-get update with the private sources failed" >&2
		exit 1
	}
	apt_ready=1
}

echo "$artifacts" | while IFS='|' read -r name sum how; do
	if digest_ok "$cache/$name" "$sum"; then
		echo "fetch-deps: $name present, SHA-256 verified"
		continue
	fi

	prepare_apt
	work="$deps/download"
	rm -rf "$work" && mkdir -p "$work"
	verb=${how%% *}
	pkg=${how#* }
	# The .dsc may be missing from a suite's pool while the tarball is
	# there, and apt then reports a 404 for the .dsc. So apt's exit status
	# is not trusted: the digest is checked. apt's output goes to a log.
	log="$deps/fetch-$verb.log"
	(cd "$work" && apt_private "$verb" --download-only "$pkg" ||
		(cd "$work" && apt_private "$verb" "$pkg")) >"$log" 2>&1 || true
	found=$(find "$work" -name "$name" | head -n 1)
	if [ -z "$found" ]; then
		cat "$log" >&2
		echo "fetch-deps: $name not found in Debian's archive ($how)" >&2
		exit 1
	fi
	if ! digest_ok "$found" "$sum"; then
		echo "fetch-deps: $name has the wrong SHA-256 (expected $sum)" >&2
		exit 1
	fi
	mv "$found" "$cache/$name"
	echo "fetch-deps: $name fetched, SHA-256 verified"
done

# The stock mbedTLS source tree, for the benchmark's unmodified mbedTLS
# build (bench/); the module's own build unpacks the tarball through its
# meson wrap.
if [ ! -f "$deps/src/mbedtls-3.6.6/library/aes.c" ]; then
	mkdir -p "$deps/src"
	tar -C "$deps/src" -xjf "$cache/mbedtls_3.6.6.orig.tar.bz2"
fi

# The Wycheproof JSON files: extracted once next to the other dependencies.
wp="$deps/wycheproof"
if [ ! -f "$wp/.done" ]; then
	rm -rf "$wp" && mkdir -p "$wp"
	dpkg-deb -x "$cache/librust-wycheproof-dev_0.6.0-1_amd64.deb" "$wp/pkg"
	ln -s "$(find "$wp/pkg" -type d -path '*/src/data' | head -n 1)" "$wp/data"
	touch "$wp/.done"
fi
echo "fetch-deps: Wycheproof vectors in $wp/data"

#!/bin/sh
# SPDX-License-Identifier: MIT
# Fetches Debian's packaged kernel for the integration tests: downloads the real package behind
# the linux-image-amd64 metapackage with `apt-get download` and unpacks it with `dpkg-deb -x`
# into BUILD_DIR/guest/linux/ (cached: a second run downloads nothing). Prints the path of the
# kernel (vmlinuz-*) on stdout; the modules are under BUILD_DIR/guest/linux/lib/modules/<ver>/.
# Usage: scripts/get-guest-kernel.sh [BUILD_DIR]   (default: build)
# Exit status: 0, or 1 when the package cannot be downloaded (no network / no apt lists).
set -eu

build_dir=${1:-build}
guest_dir="$build_dir/guest"
root="$guest_dir/linux"
stamp="$root/.complete"

find_kernel() {
    # the newest vmlinuz in the unpacked tree
    ls -1 "$root"/boot/vmlinuz-* 2>/dev/null | sort -V | tail -n 1
}

if [ -f "$stamp" ]; then
    k=$(find_kernel)
    if [ -n "$k" ]; then
        echo "$k"
        exit 0
    fi
fi

mkdir -p "$guest_dir"
# linux-image-amd64 is a metapackage: its first linux-image-* dependency is the real kernel.
resolve() {
    apt-cache depends linux-image-amd64 2>/dev/null |
        sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*\)$/\1/p' | head -n 1
}
pkg=$(resolve)
if [ -z "$pkg" ] && [ "$(id -u)" = 0 ]; then
    # a fresh machine has no package lists yet
    apt-get update -q >&2 || true
    pkg=$(resolve)
fi
if [ -z "$pkg" ]; then
    echo "get-guest-kernel: cannot resolve linux-image-amd64 (run apt-get update?)" >&2
    exit 1
fi

dl="$guest_dir/dl"
rm -rf "$dl"
mkdir -p "$dl"
# apt-get download drops privileges to _apt when it can: make the directory writable for it.
chmod 0777 "$dl" 2>/dev/null || true
if ! (cd "$dl" && apt-get download -q "$pkg" >&2); then
    echo "get-guest-kernel: apt-get download $pkg failed (no network?)" >&2
    rm -rf "$dl"
    exit 1
fi
deb=$(ls -1 "$dl"/*.deb | head -n 1)
rm -rf "$root"
mkdir -p "$root"
dpkg-deb -x "$deb" "$root"
rm -rf "$dl"
touch "$stamp"
k=$(find_kernel)
if [ -z "$k" ]; then
    echo "get-guest-kernel: no vmlinuz in $pkg" >&2
    exit 1
fi
echo "$k"

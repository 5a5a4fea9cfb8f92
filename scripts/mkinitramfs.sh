#!/bin/sh
# SPDX-License-Identifier: MIT
# Builds the integration-test initramfs BUILD_DIR/guest/initramfs.cpio.gz (newc, gzip):
# busybox-static as /bin/busybox, tests/guest/initramfs/init as /init, /dev/console, and the
# virtio (and ext4, ACPI button, evdev) modules of Debian's kernel from scripts/get-guest-kernel.sh
# with their dependencies and a modules.dep made by busybox depmod. The archive is written by a
# small Python newc writer so that device nodes need no root. Cached: rebuilt only when its
# inputs change. Prints the archive's path.
# Usage: scripts/mkinitramfs.sh BUILD_DIR
# Exit status: 0, or 1 (kernel package unavailable, busybox-static missing).
set -eu

build_dir=${1:?usage: mkinitramfs.sh BUILD_DIR}
here=$(cd "$(dirname "$0")/.." && pwd)
busybox=/bin/busybox
modules_wanted="virtio_pci virtio_blk virtio_net virtio_console virtio-rng ext4 crc32c_generic
button evdev"

if [ ! -x "$busybox" ] || ! "$busybox" --list 2>/dev/null | grep -qx depmod; then
    echo "mkinitramfs: $busybox (with depmod) missing: apt-get install busybox-static" >&2
    exit 1
fi

kernel=$("$here/scripts/get-guest-kernel.sh" "$build_dir") || exit 1
kroot="$build_dir/guest/linux"
ver=$(basename "$kernel" | sed 's/^vmlinuz-//')
mdir="lib/modules/$ver"

# modules.dep of the whole package (cached next to it)
if [ ! -f "$kroot/$mdir/modules.dep" ]; then
    "$busybox" depmod -b "$kroot" "$ver"
fi

out="$build_dir/guest/initramfs.cpio.gz"
# cached: rebuilt only when /init, this script, busybox or the kernel changed
if [ -f "$out" ] && [ -z "$(find "$here/tests/guest/initramfs/init" "$0" "$busybox" "$kernel" \
    -newer "$out" 2>/dev/null)" ]; then
    echo "$out"
    exit 0
fi

stage="$build_dir/guest/initramfs-root"
rm -rf "$stage"
mkdir -p "$stage/bin" "$stage/$mdir"
cp "$busybox" "$stage/bin/busybox"
cp "$here/tests/guest/initramfs/init" "$stage/init"
chmod 0755 "$stage/init" "$stage/bin/busybox"

# each wanted module and everything modules.dep says it needs
for m in $modules_wanted; do
    line=$(grep -E "(^|/)$(echo "$m" | sed 's/[-_]/[-_]/g')\.ko(\.[a-z]+)?:" "$kroot/$mdir/modules.dep" |
        head -n 1) || true
    if [ -z "$line" ]; then
        echo "mkinitramfs: module $m not in $ver" >&2
        exit 1
    fi
    for f in $(echo "$line" | tr -d ':'); do
        mkdir -p "$stage/$mdir/$(dirname "$f")"
        cp "$kroot/$mdir/$f" "$stage/$mdir/$f"
    done
done
cp "$kroot/$mdir/modules.builtin" "$kroot/$mdir/modules.order" "$stage/$mdir/" 2>/dev/null || true
"$busybox" depmod -b "$stage" "$ver"

python3 "$here/scripts/mkcpio.py" "$stage" "$out.tmp" --level 6 --dev-null
mv "$out.tmp" "$out"
echo "$out"

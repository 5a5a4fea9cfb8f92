#!/bin/sh
# SPDX-License-Identifier: MIT
# Builds the integration-test initramfs BUILD_DIR/guest/initramfs.cpio.gz (newc, gzip):
# busybox-static as /bin/busybox, tests/guest/initramfs/init as /init, /dev/console, and the
# virtio (and ext4, ACPI button, evdev, floppy, vfat, IDE: ata_piix, sd_mod, sr_mod, isofs, and
# the bochs DRM driver: about 0.5 MB of the archive with drm, drm_kms_helper, ttm and the vram
# helpers) modules of Debian's kernel from scripts/get-guest-kernel.sh with their dependencies
# and a modules.dep made by busybox depmod. The archive is written by a small Python newc writer
# so that device nodes need no root. Also /bin/itest-net (the network steps of `itest=netrun`)
# and udhcpc's /etc/udhcpc/default.script.
# With --net it also writes BUILD_DIR/guest/initramfs-net.cpio.gz for the network benchmarks:
# the same archive followed by a second one (Linux unpacks concatenated archives in order) with
# Debian's iperf3 and the shared libraries ldd lists for it, and bench/nested/netrr built
# statically, in /usr/bin. The default archive stays as small as it was.
# Cached: rebuilt only when its inputs change. Prints the archive's path.
# Usage: scripts/mkinitramfs.sh BUILD_DIR [--net]
# Exit status: 0, or 1 (kernel package unavailable, busybox-static missing, --net without
# iperf3: apt-get install iperf3).
set -eu

build_dir=${1:?usage: mkinitramfs.sh BUILD_DIR [--net]}
net=
[ "${2:-}" = --net ] && net=1
here=$(cd "$(dirname "$0")/.." && pwd)
init_dir="$here/tests/guest/initramfs"
busybox=/bin/busybox
modules_wanted="virtio_pci virtio_blk virtio_net virtio_console virtio-rng ext4 crc32c_generic
button evdev virtio_input psmouse floppy vfat nls_cp437 nls_ascii ata_piix sd_mod sr_mod isofs
bochs"

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

# mknet BASE: writes BASE's network variant (see above) and prints its path
mknet() {
    iperf3=$(command -v iperf3) || {
        echo "mkinitramfs: --net needs iperf3: apt-get install iperf3" >&2
        exit 1
    }
    nout="$build_dir/guest/initramfs-net.cpio.gz"
    if [ -f "$nout" ] && [ -z "$(find "$1" "$0" "$iperf3" "$here/bench/nested/netrr.c" \
        -newer "$nout" 2>/dev/null)" ]; then
        echo "$nout"
        return 0
    fi
    nstage="$build_dir/guest/initramfs-net-root"
    rm -rf "$nstage"
    mkdir -p "$nstage/usr/bin"
    cp -L "$iperf3" "$nstage/usr/bin/iperf3"
    for lib in $(ldd "$iperf3" | grep -o '/[^ ]*'); do
        mkdir -p "$nstage$(dirname "$lib")"
        cp -L "$lib" "$nstage$lib"
    done
    ${CC:-cc} -static -O2 -Wall -Wextra -Werror -o "$nstage/usr/bin/netrr" \
        "$here/bench/nested/netrr.c"
    python3 "$here/scripts/mkcpio.py" "$nstage" "$nout.extra" --level 6
    cat "$1" "$nout.extra" >"$nout.tmp"
    rm -rf "$nstage" "$nout.extra"
    mv "$nout.tmp" "$nout"
    echo "$nout"
}

out="$build_dir/guest/initramfs.cpio.gz"
# cached: rebuilt only when /init, its helpers, this script, busybox or the kernel changed
if [ -f "$out" ] && [ -z "$(find "$init_dir" "$0" "$busybox" "$kernel" -newer "$out" \
    2>/dev/null)" ]; then
    if [ -n "$net" ]; then
        mknet "$out"
    else
        echo "$out"
    fi
    exit 0
fi

stage="$build_dir/guest/initramfs-root"
rm -rf "$stage"
mkdir -p "$stage/bin" "$stage/$mdir" "$stage/etc/udhcpc"
cp "$busybox" "$stage/bin/busybox"
cp "$init_dir/init" "$stage/init"
cp "$init_dir/itest-net" "$stage/bin/itest-net"
cp "$init_dir/udhcpc.script" "$stage/etc/udhcpc/default.script"
chmod 0755 "$stage/init" "$stage/bin/busybox" "$stage/bin/itest-net" \
    "$stage/etc/udhcpc/default.script"

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
if [ -n "$net" ]; then
    mknet "$out"
else
    echo "$out"
fi

#!/bin/sh
# SPDX-License-Identifier: MIT
# Boots a demo VM: Debian's stock kernel (scripts/get-guest-kernel.sh) and the project's busybox
# initramfs (scripts/mkinitramfs.sh), dropping into a busybox shell on this terminal (Ctrl-A x
# quits, or type "poweroff -f").
# Usage: scripts/demo.sh [BUILD_DIR] [extra bareiron run options...]   (default: build)
set -eu

here=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${1:-build}
[ $# -gt 0 ] && shift

vmm="$build_dir/src/vmm/bareiron-vmm"
if [ ! -x "$vmm" ]; then
    echo "demo: $vmm is not built (run 'make' first)" >&2
    exit 1
fi
if [ ! -w /dev/kvm ]; then
    echo "demo: /dev/kvm is missing or not writable: the demo needs KVM" >&2
    exit 5
fi
kernel=$("$here/scripts/get-guest-kernel.sh" "$build_dir")
initrd=$("$here/scripts/mkinitramfs.sh" "$build_dir" | tail -n 1)
echo "demo: booting $(basename "$kernel") with 2 vCPUs and 512 MiB; Ctrl-A x quits"
exec "$vmm" --kernel "$kernel" --initrd "$initrd" --cpus 2 --memory 512M \
    --cmdline "console=ttyS0 quiet rdinit=/bin/busybox -- sh" --name demo "$@"

#!/bin/sh
# SPDX-License-Identifier: MIT
# Linux boot time: wall time for Debian's kernel (scripts/get-guest-kernel.sh) to boot until it
# finds no root file system and panics; with panic=-1 it reboots at once and the monitor exits
# (--no-reboot / -no-reboot). Everything before the panic is the kernel's own boot: e820, ACPI,
# SMP bring-up, device probing. bareiron-vmm vs QEMU (-accel kvm, microvm and pc) in the same
# run; prints min/median (ms) and the ratio ours/QEMU.
# Usage: bench/linux_boot.sh [BUILD_DIR] [RUNS]    (defaults: build, 5)
set -eu

here=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${1:-build}
runs=${2:-5}
vmm="$build_dir/src/vmm/bareiron-vmm"
cmdline="console=ttyS0 panic=-1 reboot=k quiet"

if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
    echo "skipped: no /dev/kvm"
    exit 0
fi
[ -x "$vmm" ] || { echo "linux_boot: $vmm not built" >&2; exit 1; }
kernel=$("$here/scripts/get-guest-kernel.sh" "$build_dir") || {
    echo "skipped: no guest kernel (get-guest-kernel.sh failed)"
    exit 0
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

measure() {
    i=0
    : >"$tmp/times"
    while [ "$i" -lt "$runs" ]; do
        t0=$(date +%s%N)
        timeout 120 "$@" >/dev/null 2>&1 </dev/null || true
        t1=$(date +%s%N)
        echo $(((t1 - t0) / 1000)) >>"$tmp/times"
        i=$((i + 1))
    done
    sort -n "$tmp/times" | awk '{ a[NR] = $1 } END {
        m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
        printf "%.1f %.1f\n", a[1] / 1000, m / 1000 }'
}

ratio() {
    awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else printf "n/a" }'
}

ours=$(measure "$vmm" --kernel "$kernel" --cmdline "$cmdline" --cpus 2 --memory 512M \
    --no-reboot --serial none)
printf "%-28s %10s %10s %8s\n" "boot-to-panic (ms)" min median ratio
printf "%-28s %10s %10s %8s\n" bareiron-vmm $ours -
if command -v qemu-system-x86_64 >/dev/null; then
    for m in microvm pc; do
        q=$(measure qemu-system-x86_64 -accel kvm -M "$m" -cpu host -smp 2 -m 512M \
            -nodefaults -nographic -serial none -monitor none -no-reboot \
            -kernel "$kernel" -append "$cmdline")
        printf "%-28s %10s %10s %8s\n" "qemu -M $m" $q \
            "$(ratio "$(echo "$ours" | cut -d' ' -f2)" "$(echo "$q" | cut -d' ' -f2)")"
    done
else
    echo "qemu-system-x86_64 not installed: no peer figures"
fi

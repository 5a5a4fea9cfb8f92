#!/bin/sh
# SPDX-License-Identifier: MIT
# Monitor memory overhead: resident set size (VmRSS) of the monitor process 2 s after start,
# with a guest that halts with interrupts off at its first instruction (so almost no guest RAM
# is touched; what is resident is the monitor's own overhead). bareiron-vmm vs QEMU
# (-accel kvm, microvm and pc) in the same run; prints min/median (MiB) and ratio ours/QEMU.
# Usage: bench/memory.sh [BUILD_DIR] [RUNS]    (defaults: build, 5)
set -eu

here=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${1:-build}
runs=${2:-5}
vmm="$build_dir/src/vmm/bareiron-vmm"

# Tiny guests run directly on real KVM and on kvm-pvm (scripts/host-kind.sh).
if [ "$("$here/scripts/host-kind.sh")" = none ]; then
    echo "skipped: no usable /dev/kvm here (bench/nested.sh measures start latency and peak RSS on a nested KVM)"
    exit 0
fi
[ -x "$vmm" ] || { echo "memory: $vmm not built" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
payload="$tmp/halt.mb"
/usr/bin/python3 -c "
import sys; sys.path.insert(0, '$here/tests/integration')
import vmm_util as u
open('$payload', 'wb').write(u.multiboot_image(b'\xfa'))"  # cli; then the image's hlt loop

# Prints "min median" RSS in MiB over $runs runs of the given command.
measure() {
    i=0
    : >"$tmp/rss"
    while [ "$i" -lt "$runs" ]; do
        "$@" >/dev/null 2>&1 </dev/null &
        pid=$!
        sleep 2
        rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status" 2>/dev/null || echo 0)
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        echo "${rss:-0}" >>"$tmp/rss"
        i=$((i + 1))
    done
    sort -n "$tmp/rss" | awk '{ a[NR] = $1 } END {
        m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
        printf "%.1f %.1f\n", a[1] / 1024, m / 1024 }'
}

ratio() {
    awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else printf "n/a" }'
}

ours=$(measure "$vmm" --kernel "$payload" --serial none --memory 256M)
printf "%-28s %10s %10s %8s\n" "RSS (MiB)" min median ratio
printf "%-28s %10s %10s %8s\n" bareiron-vmm $ours -
if command -v qemu-system-x86_64 >/dev/null; then
    for m in microvm pc; do
        q=$(measure qemu-system-x86_64 -accel kvm -M "$m" -m 256M -nodefaults -nographic \
            -serial none -monitor none -kernel "$payload")
        printf "%-28s %10s %10s %8s\n" "qemu -M $m" $q \
            "$(ratio "$(echo "$ours" | cut -d' ' -f2)" "$(echo "$q" | cut -d' ' -f2)")"
    done
else
    echo "qemu-system-x86_64 not installed: no peer figures"
fi

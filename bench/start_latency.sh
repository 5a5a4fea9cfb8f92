#!/bin/sh
# SPDX-License-Identifier: MIT
# Start latency: wall time from launching the monitor to its exit, for a guest that leaves at
# its first instruction through isa-debug-exit (a multiboot payload made by
# tests/integration/vmm_util.py). Compares bareiron-vmm (the default split irqchip, and the
# full in-kernel chipset of --irqchip kernel) with QEMU (-accel kvm, microvm and pc) in the
# same run; prints min/median (ms) and the ratio of our default's median to each.
# Usage: bench/start_latency.sh [BUILD_DIR] [RUNS]    (defaults: build, 10)
set -eu

here=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${1:-build}
runs=${2:-10}
vmm="$build_dir/src/vmm/bareiron-vmm"

# Tiny guests run directly on real KVM and on kvm-pvm (scripts/host-kind.sh).
if [ "$("$here/scripts/host-kind.sh")" = none ]; then
    echo "skipped: no usable /dev/kvm here (bench/nested.sh measures start latency on a nested KVM)"
    exit 0
fi
[ -x "$vmm" ] || { echo "start_latency: $vmm not built" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
payload="$tmp/exit.mb"
/usr/bin/python3 -c "
import sys; sys.path.insert(0, '$here/tests/integration')
import vmm_util as u
open('$payload', 'wb').write(u.multiboot_image(u.debug_exit(0)))"

# Prints "min median" in ms of $runs runs of the given command (exit status ignored).
measure() {
    i=0
    : >"$tmp/times"
    while [ "$i" -lt "$runs" ]; do
        t0=$(date +%s%N)
        timeout 60 "$@" >/dev/null 2>&1 </dev/null || true
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

ours=$(measure "$vmm" --kernel "$payload" --serial none --memory 128M --debug-exit)
kern=$(measure "$vmm" --kernel "$payload" --serial none --memory 128M --irqchip kernel --debug-exit)
printf "%-30s %10s %10s %8s\n" "start-to-exit (ms)" min median ratio
printf "%-30s %10s %10s %8s\n" bareiron-vmm $ours -
printf "%-30s %10s %10s %8s\n" "bareiron-vmm --irqchip kernel" $kern \
    "$(ratio "$(echo "$ours" | cut -d' ' -f2)" "$(echo "$kern" | cut -d' ' -f2)")"
if command -v qemu-system-x86_64 >/dev/null; then
    for m in microvm pc; do
        q=$(measure qemu-system-x86_64 -accel kvm -M "$m" -m 128M -nodefaults -nographic \
            -serial none -monitor none -device isa-debug-exit,iobase=0xf4,iosize=0x04 -kernel "$payload")
        qmed=$(echo "$q" | cut -d' ' -f2)
        omed=$(echo "$ours" | cut -d' ' -f2)
        printf "%-30s %10s %10s %8s\n" "qemu -M $m" $q "$(ratio "$omed" "$qmed")"
    done
else
    echo "qemu-system-x86_64 not installed: no peer figures"
fi

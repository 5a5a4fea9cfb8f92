#!/bin/sh
# SPDX-License-Identifier: MIT
# Monitor memory overhead: resident set size (VmRSS) of the monitor process 2 s after start,
# with a guest that halts with interrupts off at its first instruction (so almost no guest RAM
# is touched; what is resident is the monitor's own overhead). bareiron-vmm vs QEMU
# (-accel kvm, microvm and pc) in the same run; prints min/median (MiB) and ratio ours/QEMU.
# Usage: bench/memory.sh [BUILD_DIR] [RUNS]    (defaults: build, 5)
set -eu
bench_name=memory
. "$(dirname "$0")/lib.sh"

build_dir=${1:-build}
runs=${2:-5}
vmm="$build_dir/src/vmm/bareiron-vmm"
bench_need_kvm "bench/nested.sh measures start latency and peak RSS on a nested KVM"
bench_need_built "$vmm"
bench_tmp
payload="$tmp/halt.mb"
bench_guest "$payload" halt # cli; then the image's hlt loop

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
    bench_min_median 1024 <"$tmp/rss"
}

ours=$(measure "$vmm" --kernel "$payload" --serial none --memory 256M)
printf "%-28s %10s %10s %8s\n" "RSS (MiB)" min median ratio
printf "%-28s %10s %10s %8s\n" bareiron-vmm $ours -
if command -v qemu-system-x86_64 >/dev/null; then
    for m in microvm pc; do
        q=$(measure qemu-system-x86_64 -accel kvm -M "$m" -m 256M -nodefaults -nographic \
            -serial none -monitor none -kernel "$payload")
        printf "%-28s %10s %10s %8s\n" "qemu -M $m" $q \
            "$(bench_ratio "$(echo "$ours" | cut -d' ' -f2)" "$(echo "$q" | cut -d' ' -f2)")"
    done
else
    echo "qemu-system-x86_64 not installed: no peer figures"
fi

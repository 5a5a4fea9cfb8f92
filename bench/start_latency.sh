#!/bin/sh
# SPDX-License-Identifier: MIT
# Start latency: wall time from launching the monitor to its exit, for a guest that leaves at
# its first instruction through isa-debug-exit (a multiboot payload made by
# tests/integration/vmm_util.py). Compares bareiron-vmm (the default split irqchip, and the
# full in-kernel chipset of --irqchip kernel) with QEMU (-accel kvm, microvm and pc) in the
# same run; prints min/median (ms) and the ratio of our default's median to each.
# Usage: bench/start_latency.sh [BUILD_DIR] [RUNS]    (defaults: build, 10)
set -eu
bench_name=start_latency
. "$(dirname "$0")/lib.sh"

build_dir=${1:-build}
runs=${2:-10}
vmm="$build_dir/src/vmm/bareiron-vmm"
bench_need_kvm "bench/nested.sh measures start latency on a nested KVM"
bench_need_built "$vmm"
bench_tmp
payload="$tmp/exit.mb"
bench_guest "$payload" exit

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
    bench_min_median 1000 <"$tmp/times"
}

ours=$(measure "$vmm" --kernel "$payload" --serial none --memory 128M --debug-exit)
kern=$(measure "$vmm" --kernel "$payload" --serial none --memory 128M --irqchip kernel --debug-exit)
printf "%-30s %10s %10s %8s\n" "start-to-exit (ms)" min median ratio
printf "%-30s %10s %10s %8s\n" bareiron-vmm $ours -
printf "%-30s %10s %10s %8s\n" "bareiron-vmm --irqchip kernel" $kern \
    "$(bench_ratio "$(echo "$ours" | cut -d' ' -f2)" "$(echo "$kern" | cut -d' ' -f2)")"
if command -v qemu-system-x86_64 >/dev/null; then
    for m in microvm pc; do
        q=$(measure qemu-system-x86_64 -accel kvm -M "$m" -m 128M -nodefaults -nographic \
            -serial none -monitor none -device isa-debug-exit,iobase=0xf4,iosize=0x04 -kernel "$payload")
        qmed=$(echo "$q" | cut -d' ' -f2)
        omed=$(echo "$ours" | cut -d' ' -f2)
        printf "%-30s %10s %10s %8s\n" "qemu -M $m" $q "$(bench_ratio "$omed" "$qmed")"
    done
else
    echo "qemu-system-x86_64 not installed: no peer figures"
fi

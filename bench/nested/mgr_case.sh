#!/bin/sh
# SPDX-License-Identifier: MIT
# The benchmark case of bench/nested_mgr.sh, run by tests/nested/init inside the nested L1 guest
# (busybox sh, /x/ = the EXTRA_DIR bench/nested_mgr.sh prepared). Self-contained counterpart of
# bench/mgr_cycle.sh for L1, which has no python3 or socat for QMP: installs /x/root/ (the
# `bareiron` CLI as /bin/bareiron next to L1's /bin/bareiron-vmm, its libraries, QEMU with its
# libraries and firmware), runs each side once with its output shown (warm-up and diagnosis),
# then RUNS rounds, each timing (with /x/runstat, fork to exit) one manager cycle
# `bareiron create` + `start` (returns once the control socket answers: the vCPU is running the
# 128 MiB `jmp $` multiboot guest /x/spin.mb) + `poweroff` + `delete` in one busybox sh, and one
# QEMU -M microvm start of the isa-debug-exit guest /x/exit.mb (leaves at its first instruction;
# QEMU exits with status 1) in one busybox sh, interleaved.
# Prints "BENCH <side> <round> <wall_us> <exit status> <maxrss_kib>" per run, and the same line
# prefixed with LIVE- on /dev/console at once (kept if L1 runs out of time).
# Usage (a /cases line): mgr <timeout> - /bin/sh /x/mgr_case.sh RUNS
runs=${1:-5}

if ! cp -a /x/root/. /; then
    echo "BENCH-ERROR cannot install /x/root"
    exit 1
fi
chmod 0755 /x/runstat /bin/bareiron /usr/bin/qemu-system-x86_64
export BAREIRON_HOME=/tmp/brhome
mkdir -p "$BAREIRON_HOME"

cat >/x/cycle.sh <<'SH'
set -e
bareiron create bench --kernel /x/spin.mb --memory 128M
bareiron start bench
bareiron poweroff bench
bareiron delete bench
SH
qemu="/usr/bin/qemu-system-x86_64 -M microvm -accel kvm -m 128M -nodefaults -no-user-config"
qemu="$qemu -display none -serial none -monitor none"
qemu="$qemu -device isa-debug-exit,iobase=0xf4,iosize=0x04 -kernel /x/exit.mb"
echo "$qemu" >/x/qemu.sh

# the command line of side $1
cmd() {
    case "$1" in
    ours) echo "/bin/sh /x/cycle.sh" ;;
    qemu) echo "/bin/sh /x/qemu.sh" ;;
    esac
}

for m in ours qemu; do
    # shellcheck disable=SC2046 # the command line is words
    timeout -s KILL 120 $(cmd "$m") </dev/null >/tmp/warm.out 2>&1
    echo "BENCH-WARMUP $m status=$?"
    sed "s/^/BENCH-WARMUP $m | /" /tmp/warm.out | head -n 20
done
# a failed warm-up cycle may leave the VM behind
bareiron poweroff bench >/dev/null 2>&1
bareiron delete bench >/dev/null 2>&1

i=1
while [ "$i" -le "$runs" ]; do
    for m in ours qemu; do
        # shellcheck disable=SC2046 # the command line is words
        line="BENCH $m $i $(/x/runstat -t 120 $(cmd "$m"))"
        echo "$line"
        echo "LIVE-$line" >/dev/console 2>/dev/null
    done
    i=$((i + 1))
done

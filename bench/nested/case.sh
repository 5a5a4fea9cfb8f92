#!/bin/sh
# SPDX-License-Identifier: MIT
# The benchmark case of bench/nested.sh, run by tests/nested/init inside the nested L1 guest
# (busybox sh, /x/ = the EXTRA_DIR bench/nested.sh prepared). Installs the copied QEMU, its
# libraries and firmware (/x/root/) at their usual paths, runs each monitor once with its output
# shown (a warm-up and a diagnosis when it fails), then RUNS rounds, each starting bareiron-vmm,
# QEMU -M microvm and QEMU -M pc once (interleaved, so drift of the slow emulated machine
# spreads over all three) with the 128 MiB isa-debug-exit guest /x/exit.mb, timed by /x/runstat.
# Prints one line per run: "BENCH <monitor> <round> <wall_us> <exit status> <maxrss_kib>", and
# the same line prefixed with LIVE- on /dev/console at once (kept if L1 runs out of time); a
# monitor still there 10 s after the 60 s timeout's SIGKILL gets its kernel stacks printed.
# Usage (a /cases line): bench <timeout> - /bin/sh /x/case.sh RUNS
runs=${1:-5}

if ! cp -a /x/root/. /; then
    echo "BENCH-ERROR cannot install /x/root"
    exit 1
fi
chmod 0755 /x/runstat /usr/bin/qemu-system-x86_64

qargs="-accel kvm -m 128M -nodefaults -no-user-config -display none -serial none"
qargs="$qargs -monitor none -device isa-debug-exit,iobase=0xf4,iosize=0x04 -kernel /x/exit.mb"

# the command line of monitor $1
cmd() {
    case "$1" in
    ours) echo "/bin/bareiron-vmm --kernel /x/exit.mb --serial none --memory 128M --debug-exit" ;;
    microvm) echo "/usr/bin/qemu-system-x86_64 -M microvm $qargs" ;;
    pc) echo "/usr/bin/qemu-system-x86_64 -M pc $qargs" ;;
    esac
}

# where the threads of process $1 are in the kernel (a monitor that SIGKILL did not end)
stuck() {
    for t in /proc/"$pid"/task/*; do
        echo "BENCH-STUCK thread ${t##*/} wchan=$(cat "$t/wchan" 2>/dev/null)"
        sed 's/^/BENCH-STUCK   /' "$t/stack" 2>/dev/null
    done | tee /dev/console
}

for m in ours microvm pc; do
    # shellcheck disable=SC2046 # the command line is words
    timeout -s KILL 60 $(cmd "$m") </dev/null >/tmp/warm.out 2>&1 &
    pid=$!
    n=0
    while kill -0 "$pid" 2>/dev/null && [ $n -lt 750 ]; do
        usleep 100000
        n=$((n + 1))
    done
    if kill -0 "$pid" 2>/dev/null; then
        echo "BENCH-WARMUP $m stuck"
        stuck "$pid" # busybox timeout execs the command in its own process
    else
        wait "$pid"
        echo "BENCH-WARMUP $m status=$?"
    fi
    sed "s/^/BENCH-WARMUP $m | /" /tmp/warm.out | head -n 20
done

i=1
while [ "$i" -le "$runs" ]; do
    for m in ours microvm pc; do
        # shellcheck disable=SC2046 # the command line is words
        line="BENCH $m $i $(/x/runstat -t 60 $(cmd "$m"))"
        echo "$line"
        echo "LIVE-$line" >/dev/console 2>/dev/null
        case "$line" in *stuck) stuck "$(echo "$line" | cut -d' ' -f7)" ;; esac
    done
    i=$((i + 1))
done

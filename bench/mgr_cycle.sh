#!/bin/sh
# SPDX-License-Identifier: MIT
# Manager cycle time: `bareiron create` + `start` (returns once the monitor's control socket
# answers, i.e. the vCPUs are running the guest's first instructions: a multiboot payload
# that spins with `jmp $`) + `poweroff` + `delete`, repeated; prints min/median (ms) per cycle
# and starts per second. The peer is QEMU doing the same job: launch with a QMP socket, wait
# for the greeting and "running" from query-status, then "quit" (there is no define/delete
# step in QEMU, so its figure is start+quit only). Ratio ours/QEMU on the medians.
# Usage: bench/mgr_cycle.sh [BUILD_DIR] [RUNS]    (defaults: build, 10)
set -eu
bench_name=mgr_cycle
. "$(dirname "$0")/lib.sh"

build_dir=${1:-build}
runs=${2:-10}
bareiron="$build_dir/src/cli/bareiron"
bench_need_kvm "bench/nested_mgr.sh measures the manager cycle on a nested KVM"
bench_need_built "$bareiron"
bench_tmp
export BAREIRON_HOME="$tmp/home"
payload="$tmp/spin.mb"
bench_guest "$payload" spin

cycle_ours() {
    "$bareiron" create bench --kernel "$payload" --memory 128M >/dev/null
    "$bareiron" start bench >/dev/null
    "$bareiron" poweroff bench >/dev/null
    "$bareiron" delete bench >/dev/null
}

cycle_qemu() {
    /usr/bin/python3 - "$tmp/qmp.sock" "$payload" <<'PY'
import json, os, socket, subprocess, sys, time
sock, payload = sys.argv[1], sys.argv[2]
if os.path.exists(sock):
    os.unlink(sock)
p = subprocess.Popen(["qemu-system-x86_64", "-accel", "kvm", "-M", "microvm", "-m", "128M",
                      "-nodefaults", "-nographic", "-serial", "none", "-monitor", "none",
                      "-qmp", f"unix:{sock},server=on,wait=off", "-kernel", payload],
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
while not os.path.exists(sock):
    time.sleep(0.001)
s = socket.socket(socket.AF_UNIX)
while True:
    try:
        s.connect(sock)
        break
    except OSError:
        time.sleep(0.001)
f = s.makefile("rw")
f.readline()
for cmd in ("qmp_capabilities", "query-status", "quit"):
    f.write(json.dumps({"execute": cmd}) + "\n")
    f.flush()
    f.readline()
p.wait()
PY
}

# Prints "min median" in ms of $runs runs of the given shell function.
measure() {
    i=0
    : >"$tmp/times"
    while [ "$i" -lt "$runs" ]; do
        t0=$(date +%s%N)
        "$@" || bench_fail "$1 failed"
        t1=$(date +%s%N)
        echo $(((t1 - t0) / 1000)) >>"$tmp/times"
        i=$((i + 1))
    done
    bench_min_median 1000 <"$tmp/times"
}

per_second() {
    awk -v m="$1" 'BEGIN { if (m > 0) printf "%.1f", 1000 / m; else printf "n/a" }'
}

ours=$(measure cycle_ours)
omed=$(echo "$ours" | cut -d' ' -f2)
printf "%-36s %10s %10s %10s %8s\n" "cycle (ms)" min median starts/s ratio
printf "%-36s %10s %10s %10s %8s\n" "bareiron create+start+poweroff+delete" $ours \
    "$(per_second "$omed")" -
if command -v qemu-system-x86_64 >/dev/null; then
    q=$(measure cycle_qemu)
    qmed=$(echo "$q" | cut -d' ' -f2)
    printf "%-36s %10s %10s %10s %8s\n" "qemu -M microvm start+quit (QMP)" $q \
        "$(per_second "$qmed")" "$(bench_ratio "$omed" "$qmed")"
else
    echo "qemu-system-x86_64 not installed: no peer figures"
fi

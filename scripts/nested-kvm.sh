#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs bareiron-vmm on a REAL (nested) KVM where the host has none (no /dev/kvm, or kvm-pvm,
# scripts/host-kind.sh): boots Debian's
# kernel (scripts/get-guest-kernel.sh) as "L1" inside QEMU with TCG and an emulated AMD CPU with
# SVM + NPT (QEMU's TCG implements SVM), loads kvm and kvm-amd from the same package in L1 and
# runs bareiron-vmm there against L1's /dev/kvm. The initramfs (BUILD_DIR/guest/nested.cpio.gz,
# newc written by a small Python writer so no root is needed) holds busybox-static, the kvm
# modules and their dependencies, BUILD_DIR's bareiron-vmm with the shared libraries ldd lists
# and the loader (and libpng, for screenshots), the payloads BUILD_DIR/tests/guest/*.elf as
# /p/, tests/nested/init as /init, nested-ctl (tests/nested/ctl.c, a control-socket client),
# nested-dns (tests/nested/dns.c, a DNS server for the network cases), nested-mqtap
# (tests/nested/mqtap.c, makes a multi-queue tap), CASES as /cases and the files of EXTRA_DIR
# as /x/. L1's console (its serial port) is copied to stdout; the format of the
# per-case lines is described in tests/nested/init. docs/testing.md, "Nested KVM under TCG".
# Usage: scripts/nested-kvm.sh BUILD_DIR [CASES [EXTRA_DIR]]   (default CASES: the hello payload)
# Environment: NESTED_CPU (QEMU -cpu, default qemu64,+svm,+npt), NESTED_ACCEL (-accel, default
#   tcg), NESTED_SMP (L1 CPUs, default 1: with 2, L1 sometimes livelocks in its own int3-based
#   code patching under multi-threaded TCG, both CPUs looping in exc_int3/poke_int3_handler
#   while kvm toggles static keys), NESTED_MEM (2G),
#   NESTED_TIMEOUT (seconds for the whole L1 run, default 900), NESTED_STALL (30) and
#   NESTED_SILENT (120): L1 counts as stopped after NESTED_STALL s without console output
#   while QEMU is idle, or NESTED_SILENT s without any output once /dev/kvm is ready (/init
#   prints a heartbeat every 10 s); where L1 was (QEMU monitor: registers, local APIC) then
#   goes to BUILD_DIR/guest/nested.stalls and stderr, a key press and an NMI are tried, and
#   QEMU is killed unless L1 moves again. NESTED_TICK (more L1 timer parameters, default
#   none; "nohz=off highres=off" for a periodic tick, see below), NESTED_KERNEL (L1 kernel),
#   NESTED_MODULES (more modules of that kernel for L1 to load after kvm-amd, with their
#   dependencies, e.g. "tun vhost_net bridge" for the network cases),
#   NESTED_APPEND (more L1 kernel parameters), NESTED_QEMU_ARGS (more QEMU arguments, split
#   on blanks; e.g. "-monitor unix:/tmp/mon.sock,server=on,wait=off" to inspect a stuck L1;
#   the script's own monitor is BUILD_DIR/guest/nested-mon.sock while L1 runs), NESTED_QEMU (the
#   QEMU that runs L1, default qemu-system-x86_64 from PATH; scripts/qemu-gdb.sh runs it under
#   gdb and prints where it was should QEMU itself fail an assertion).
# Exit status: 0 L1 ran every case (NESTED DONE; the cases' own results are in the output),
#   1 setup failure (no kernel, busybox, QEMU or build), 3 L1 stopped, did not finish in
#   time, or QEMU itself ended first (its status is printed, e.g. 134 when it aborted on an
#   assertion), 4 L1 has no usable /dev/kvm (NESTED NOKVM and its dmesg lines are printed).
set -eu

build_dir=${1:?usage: nested-kvm.sh BUILD_DIR [CASES [EXTRA_DIR]]}
cases=${2:-}
extra=${3:-}
here=$(cd "$(dirname "$0")/.." && pwd)
cpu=${NESTED_CPU:-qemu64,+svm,+npt}
accel=${NESTED_ACCEL:-tcg}
smp=${NESTED_SMP:-1}
mem=${NESTED_MEM:-2G}
limit=${NESTED_TIMEOUT:-900}
stall=${NESTED_STALL:-30}
silent=${NESTED_SILENT:-120}
# QEMU 7.2's TCG can lose the wake-up of an interrupt raised from its main thread while the
# CPU leaves an SVM guest (docs/testing.md, "When L1 stops"); with L1's one-shot LAPIC timer
# that was its last interrupt and it halted for good. watch_l1 below notices that and wakes
# it with another interrupt. NESTED_TICK="nohz=off highres=off" gives L1 a periodic timer
# instead, whose next tick re-raises a lost interrupt, but makes some L2 cases slower
tick=${NESTED_TICK:-}
busybox=/bin/busybox
vmm="$build_dir/src/vmm/bareiron-vmm"
qemu=$(command -v "${NESTED_QEMU:-qemu-system-x86_64}") || {
    echo "nested-kvm: ${NESTED_QEMU:-qemu-system-x86_64} missing" >&2
    exit 1
}
[ -x "$busybox" ] || {
    echo "nested-kvm: $busybox missing: apt-get install busybox-static" >&2
    exit 1
}
[ -x "$vmm" ] || {
    echo "nested-kvm: $vmm is not built" >&2
    exit 1
}

kernel=${NESTED_KERNEL:-$("$here/scripts/get-guest-kernel.sh" "$build_dir")} || exit 1
kroot=$(dirname "$(dirname "$kernel")")
ver=$(basename "$kernel" | sed 's/^vmlinuz-//')
mdir="$kroot/lib/modules/$ver"
if [ ! -f "$mdir/modules.dep" ]; then
    "$busybox" depmod -b "$kroot" "$ver"
fi

# One L1 per build directory at a time: its staging tree, initramfs, log, pid file and monitor
# socket are shared, so a second run (a benchmark beside the tests) waits here for the first.
mkdir -p "$build_dir/guest"
exec 9>"$build_dir/guest/nested.lock"
flock 9
stage="$build_dir/guest/nested-root"
rm -rf "$stage"
mkdir -p "$stage/bin" "$stage/lib/modules" "$stage/p" "$stage/x"
cp "$busybox" "$stage/bin/busybox"
cp "$here/tests/nested/init" "$stage/init"
cp "$vmm" "$stage/bin/bareiron-vmm"
chmod 0755 "$stage/init" "$stage/bin/busybox"

# the shared libraries and the loader, at the paths ldd names, and libpng (opened with dlopen
# for PNG screenshots, src/ui/screenshot.c) with what it needs, when the host has it
png=$(PATH="$PATH:/sbin:/usr/sbin" ldconfig -p 2>/dev/null |
    sed -n 's/^[[:space:]]*libpng16\.so\.16 (libc6,x86-64) => //p' | head -n 1)
for lib in $(ldd "$vmm" | grep -o '/[^ ]*') ${png:+$png $(ldd "$png" | grep -o '/[^ ]*')}; do
    mkdir -p "$stage$(dirname "$lib")"
    cp -L "$lib" "$stage$lib"
done
# the data files the monitor opens at fixed paths: the network boot ROM (--boot net)
for f in /usr/lib/ipxe/qemu/efi-virtio.rom; do
    [ -f "$f" ] || continue
    mkdir -p "$stage$(dirname "$f")"
    cp "$f" "$stage$f"
done
${CC:-cc} -O2 -Wall -Wextra -Werror -o "$stage/bin/nested-ctl" "$here/tests/nested/ctl.c"
${CC:-cc} -O2 -Wall -Wextra -Werror -o "$stage/bin/nested-dns" "$here/tests/nested/dns.c"
${CC:-cc} -O2 -Wall -Wextra -Werror -o "$stage/bin/nested-mqtap" "$here/tests/nested/mqtap.c"

# kvm-amd, then the NESTED_MODULES, each with what modules.dep says it needs, in load order
# (dependencies first, each module once)
: >"$stage/modules"
for want in kvm-amd ${NESTED_MODULES:-}; do
    line=$(grep -E "(^|/)$(echo "$want" | sed 's/[-_]/[-_]/g')\.ko(\.[a-z]+)?:" \
        "$mdir/modules.dep") || {
        echo "nested-kvm: $want not in $ver" >&2
        exit 1
    }
    for m in $(echo "${line#*:}" | tr ' ' '\n' | grep . | tac) ${line%%:*}; do
        b=$(basename "$m")
        b=${b%.xz}
        b=${b%.zst}
        grep -qx "$b" "$stage/modules" && continue
        case "$m" in
        *.xz) xz -dc "$mdir/$m" >"$stage/lib/modules/$b" ;;
        *.zst) zstd -qdc "$mdir/$m" >"$stage/lib/modules/$b" ;;
        *) cp "$mdir/$m" "$stage/lib/modules/$b" ;;
        esac
        echo "$b" >>"$stage/modules"
    done
done

for p in "$build_dir"/tests/guest/*.elf; do
    [ -f "$p" ] && cp "$p" "$stage/p/"
done
if [ -n "$cases" ]; then
    cp "$cases" "$stage/cases"
else
    echo "hello 60 - bareiron-vmm --kernel /p/hello.elf --memory 128M --no-reboot --debug-exit" \
        "--serial stdio" >"$stage/cases"
fi
if [ -n "$extra" ]; then
    cp -r "$extra"/. "$stage/x/"
fi

out="$build_dir/guest/nested.cpio.gz"
python3 "$here/scripts/mkcpio.py" "$stage" "$out" --level 1
rm -rf "$stage"

log="$build_dir/guest/nested.log"
pidfile="$build_dir/guest/nested.pid"
mon="$build_dir/guest/nested-mon.sock"
stopped="$build_dir/guest/nested.stopped"
stalls="$build_dir/guest/nested.stalls"
qrc="$build_dir/guest/nested.qemu-rc"
rm -f "$pidfile" "$mon" "$stopped" "$stalls" "$qrc"
: >"$log"

# whether L1's console output grows within (1) seconds
output_within() {
    before=$(wc -c <"$log")
    n=0
    while [ $n -lt "$1" ]; do
        sleep 1
        [ "$(wc -c <"$log")" = "$before" ] || return 0
        n=$((n + 1))
    done
    return 1
}

# Watches L1 (QEMU's pid in $pidfile) while pipeline (1) runs. L1 has stopped when there was
# no console output for $stall s while QEMU used under 3 % of a CPU over the last $stall s
# (every L1 CPU halted with nothing to wake it), or, once /init has L1's /dev/kvm (it then
# prints a NESTED TICK line every 10 s while a case runs), no output at all for $silent s.
# Then where L1 is (QEMU's threads, registers, local APIC, IOAPIC) goes to $stalls; a key
# press (an i8042 interrupt) and then an NMI are tried; if L1 moves again the watch goes on,
# else QEMU is killed and $stopped says why.
watch_l1() {
    tck=$(getconf CLK_TCK)
    size=-1 quiet=0 qpid='' hist=
    keep=$((stall / 5 + 1))
    while kill -0 "$1" 2>/dev/null; do
        sleep 5
        [ -n "$qpid" ] || qpid=$(cat "$pidfile" 2>/dev/null) || continue
        cpu=$(awk '{ print $14 + $15 }' "/proc/$qpid/stat" 2>/dev/null) || return 0
        # shellcheck disable=SC2086 # the samples are words
        hist=$(echo $hist $cpu | tr ' ' '\n' | tail -n "$keep" | tr '\n' ' ')
        now=$(wc -c <"$log")
        if [ "$now" != "$size" ]; then
            size=$now quiet=0
            continue
        fi
        quiet=$((quiet + 5))
        used=$((cpu - ${hist%% *}))
        why=
        if [ $quiet -ge "$stall" ] && [ $used -lt $((stall * tck * 3 / 100)) ]; then
            why="no output for $quiet s and QEMU idle ($((used * 1000 / tck)) ms CPU in $stall s)"
        elif [ $quiet -ge "$silent" ] && grep -q '^NESTED KVM ready' "$log"; then
            why="no output (not even /init's heartbeat) for $quiet s"
        fi
        [ -n "$why" ] || continue
        {
            echo "nested-kvm: L1 stopped making progress at $(date -u +%T): $why"
            for t in /proc/"$qpid"/task/*; do
                echo "QEMU thread ${t##*/} $(cut -d' ' -f3 "$t/stat") wchan=$(cat "$t/wchan")"
            done
            python3 "$here/scripts/hmp.py" "$mon" "info status" "info cpus" \
                "info registers -a" "info lapic" "info pic" 2>&1
        } >>"$stalls"
        how=
        for poke in "sendkey shift" nmi; do
            python3 "$here/scripts/hmp.py" "$mon" "$poke" >/dev/null 2>&1
            if output_within 20; then
                how=$poke
                break
            fi
            echo "nested-kvm: still stopped 20 s after '$poke'" >>"$stalls"
        done
        if [ -n "$how" ]; then
            echo "nested-kvm: L1 moved again after '$how'" >>"$stalls"
            size=-1 quiet=0 hist=
            continue
        fi
        grep '^nested-kvm: L1 stopped' "$stalls" | tail -n 1 >"$stopped"
        kill -s KILL "$qpid"
        return 0
    done
}

set +e
# QEMU's own status goes to $qrc: 137 is the KILL of the time limit or of watch_l1
{
    timeout -s KILL "$limit" "$qemu" -accel "$accel" -cpu "$cpu" -m "$mem" -smp "$smp" \
        -machine q35 -nodefaults -no-user-config -display none -serial stdio -no-reboot \
        -kernel "$kernel" -initrd "$out" -pidfile "$pidfile" \
        -chardev "socket,id=nestedmon,path=$mon,server=on,wait=off" -mon chardev=nestedmon \
        ${NESTED_QEMU_ARGS:-} \
        -append "console=ttyS0 quiet loglevel=3 panic=-1 tsc=reliable $tick ${NESTED_APPEND:-}" \
        </dev/null
    echo "$?" >"$qrc"
} | tee -a "$log" &
run=$!
watch_l1 "$run" &
watcher=$!
wait "$run"
kill "$watcher" 2>/dev/null
wait "$watcher" 2>/dev/null
set -e
rm -f "$pidfile" "$mon"
if grep -q '^NESTED NOKVM' "$log"; then
    exit 4
fi
if [ -s "$stalls" ]; then
    cat "$stalls" >&2
fi
if [ -s "$stopped" ]; then
    cat "$stopped" >&2
    exit 3
fi
qstatus=$(cat "$qrc" 2>/dev/null)
rm -f "$qrc"
if ! grep -q '^NESTED DONE' "$log" && [ -n "$qstatus" ] && [ "$qstatus" != 0 ] &&
    [ "$qstatus" != 137 ]; then
    echo "nested-kvm: QEMU itself ended with status $qstatus before L1 finished" \
        "(its own messages are on stderr above)" >&2
    exit 3
fi
if ! grep -q '^NESTED DONE' "$log"; then
    echo "nested-kvm: L1 did not finish within $limit s" >&2
    exit 3
fi
exit 0

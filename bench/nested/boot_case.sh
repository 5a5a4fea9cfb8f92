#!/bin/sh
# SPDX-License-Identifier: MIT
# The measuring part of bench/linux_boot.sh: run directly on a real KVM host, or by
# tests/nested/init inside the nested L1 guest (busybox sh, DIR = /x/). Times Linux boot to
# userspace: from fork to the first line of the initramfs' /init ("ITEST INIT", printed on the
# serial console first thing), with DIR/runstat -m, which kills the monitor as soon as that line
# appears. Configurations (the same kernel, initramfs, command line, 1 vCPU and 512 MiB):
#   ours-pvh       bareiron-vmm --kernel DIR/vmlinux (the ELF inside Debian's bzImage, PVH entry)
#   microvm-pvh    qemu -M microvm -accel kvm -cpu host -kernel DIR/vmlinux (PVH entry)
#   ours-bz        bareiron-vmm --kernel DIR/vmlinuz (Debian's bzImage, decompressed on the host)
#   microvm-bz     qemu -M microvm -kernel DIR/vmlinuz (qboot, decompressed in the guest)
# Each runs once as a warm-up with its console output shown (a configuration whose warm-up does
# not reach /init is left out of the rounds), then RUNS rounds, each running every configuration
# once (interleaved, so drift spreads over all). Prints one line per run:
#   BENCH <config> <round> <us to the marker> <status: 0, or nomark-N> <maxrss_kib> <pid>
# (in L1 also on /dev/console with a LIVE- prefix, kept if L1 runs out of time). With -d, one
# more run of ours-pvh and microvm-pvh without `quiet` prints the kernel's timestamped log
# (BENCH-DIAG lines): where the guest's time goes.
# Usage: boot_case.sh [-i ROOT] [-d] [-c "CONFIG..."] RUNS DIR VMM QEMU "CMDLINE"
#   -i ROOT: first copy ROOT (QEMU, its libraries and firmware) to / (in L1)
#   -c: only these configurations (default: all four)
set -u

root=
diag=
configs="ours-pvh microvm-pvh ours-bz microvm-bz"
while [ $# -gt 0 ]; do
    case "$1" in
    -i) root=$2 && shift 2 ;;
    -d) diag=1 && shift ;;
    -c) configs=$2 && shift 2 ;;
    *) break ;;
    esac
done
runs=$1
dir=$2
vmm=$3
qemu=$4
cmdline=$5
marker="ITEST INIT"
live=

if [ -n "$root" ]; then
    if ! cp -a "$root/." /; then
        echo "BENCH-ERROR cannot install $root"
        exit 1
    fi
    chmod 0755 "$dir/runstat" "$qemu"
    live=1
fi

# the command line of configuration $1 with the kernel command line $2
cmd() {
    case "$1" in
    *-pvh) k="$dir/vmlinux" ;;
    *) k="$dir/vmlinuz" ;;
    esac
    case "$1" in
    ours-*)
        echo "$vmm --kernel $k --initrd $dir/initrd.gz --memory 512M --serial stdio" \
            "--no-reboot --cmdline"
        ;;
    microvm-*)
        echo "$qemu -M microvm -accel kvm -cpu host -m 512M -nodefaults -no-user-config" \
            "-display none -serial stdio -monitor none -no-reboot -kernel $k" \
            "-initrd $dir/initrd.gz -append"
        ;;
    esac
}

# runs configuration $1 with the kernel command line $2 once, its output to DIR/boot.out;
# prints runstat's line
run() {
    # shellcheck disable=SC2046 # the command line is words, the kernel's one argument
    "$dir/runstat" -t "${BOOT_TIMEOUT:-300}" -m "$marker" -o "$dir/boot.out" $(cmd "$1") "$2"
}

# DIR/boot.out with $1 in front of each line (awk: the last line has no newline when the monitor
# was killed at the marker)
prefix() {
    awk -v p="$1" '{ print p $0 }' "$dir/boot.out"
}

say() {
    echo "$1"
    [ -n "$live" ] && echo "LIVE-$1" >/dev/console 2>/dev/null
    return 0
}

ok=
for c in $configs; do
    r=$(run "$c" "$cmdline")
    say "BENCH-WARMUP $c $r"
    prefix "BENCH-WARMUP $c | " | tail -n 40
    case "$r" in
    *" 0 "*) ok="$ok $c" ;;
    *) say "BENCH-SKIP $c: the warm-up did not reach /init" ;;
    esac
done

i=1
while [ "$i" -le "$runs" ]; do
    for c in $ok; do
        say "BENCH $c $i $(run "$c" "$cmdline")"
    done
    i=$((i + 1))
done

if [ -n "$diag" ]; then
    loud=$(echo " $cmdline " | sed 's/ quiet / /g; s/^ //; s/ $//')
    for c in ours-pvh microvm-pvh; do
        say "BENCH-DIAG $c $(run "$c" "$loud printk.time=1")"
        prefix "BENCH-DIAG $c | "
    done
fi

#!/bin/sh
# SPDX-License-Identifier: MIT
# The measuring part of bench/net.sh: run directly (as root) on a real KVM host, or by
# tests/nested/init inside the nested L1 guest (busybox sh, DIR = /x/). Boots Debian's kernel
# with the --net initramfs (scripts/mkinitramfs.sh --net) in each configuration:
#   ours-nat    bareiron-vmm --nic nat                          (libslirp)
#   qemu-nat    qemu -M q35 -netdev user -device virtio-net-pci (libslirp)
#   ours-tap    bareiron-vmm --nic tap,ifname=tap0,vhost=VHOST
#   qemu-tap    qemu -M q35 -netdev tap,ifname=tap0,vhost=VHOST -device virtio-net-pci
# (1 vCPU, 512 MiB, modern-only virtio-net-pci for QEMU as ours is). The guest's /init
# (itest=netrun, tests/guest/initramfs/itest-net) takes a DHCP lease (NAT) or 10.77.0.2/24
# (tap), then runs iperf3 against the host side for SECS seconds guest->host ("up") and
# host->guest ("down", iperf3 -R), then netrr (bench/nested/netrr.c) request/response with
# 1-byte messages for SECS seconds. The host side (iperf3 -s, netrr server) listens on 127.0.0.1
# for NAT, which the guest reaches as 10.0.2.2 (both monitors' libslirp), and on the bridge's
# 10.77.0.1 for tap: the bridge br0 and the tap tap0 live in a network namespace this script
# makes (unshare -n) for each tap run, which ends with the run. No traffic leaves the loopback
# or that namespace. ours-* are skipped when the monitor has no --nic option (its --help), the
# tap configurations when this is not root or vhost-net is missing (VHOST on, the default; -v
# off runs both monitors' tap without it). A run that fails prints the monitor's last lines.
# Prints per run: "NBENCH <config> <round> up_bps=A down_bps=B rr_per_s=C rr_avg_us=D
# rr_p99_us=E" (also with a LIVE- prefix on /dev/console in L1), "NBENCH-FAIL <config> <round>
# <why>" with the run's last lines when it gave no figures, "NBENCH-SKIP <config>: <why>".
# Usage: net_case.sh [-i ROOT] [-c "CONFIG..."] [-v on|off] RUNS SECS DIR VMM QEMU
#   DIR holds vmlinuz and initrd-net.gz (and netrr, the host side's); -i ROOT: first copy ROOT
#   (QEMU, iperf3, their libraries and firmware) to / (in L1)
set -u
# L1's /init has PATH=/bin; the copied iperf3 is in /usr/bin
export PATH="$PATH:/usr/bin:/usr/sbin:/sbin"

root=
configs="ours-nat qemu-nat ours-tap qemu-tap"
vhost=on
while [ $# -gt 0 ]; do
    case "$1" in
    -i) root=$2 && shift 2 ;;
    -c) configs=$2 && shift 2 ;;
    -v) vhost=$2 && shift 2 ;;
    *) break ;;
    esac
done
runs=$1
secs=$2
dir=$3
vmm=$4
qemu=$5
bb=/bin/busybox
live=
if [ -n "$root" ]; then
    if ! cp -a "$root/." /; then
        echo "NBENCH-ERROR cannot install $root"
        exit 1
    fi
    chmod 0755 "$dir/netrr" "$qemu" /usr/bin/iperf3
    live=1
fi

say() {
    echo "$1"
    [ -n "$live" ] && echo "LIVE-$1" >/dev/console 2>/dev/null
    return 0
}

base="console=ttyS0 quiet panic=-1 itest=netrun itest_timeout=120"
# the kernel command line of configuration $1: the address the guest takes and its peer
kcmd() {
    case "$1" in
    *-nat) echo "$base itest_net=dhcp itest_iperf=client:10.0.2.2:5201:$secs:both" \
        "itest_rr=10.0.2.2:5202:$secs" ;;
    *-tap) echo "$base itest_net=static:10.77.0.2/24 itest_iperf=client:10.77.0.1:5201:$secs:both" \
        "itest_rr=10.77.0.1:5202:$secs" ;;
    esac
}

# the monitor's command line of configuration $1 (the kernel command line comes last)
mcmd() {
    case "$1" in
    ours-*)
        nic="nat"
        [ "$1" = ours-tap ] && nic="tap,ifname=tap0,vhost=$vhost"
        echo "$vmm --kernel $dir/vmlinuz --initrd $dir/initrd-net.gz --memory 512M" \
            "--serial stdio --no-reboot --nic $nic --cmdline"
        ;;
    qemu-*)
        nd="user,id=n0"
        [ "$1" = qemu-tap ] && nd="tap,id=n0,ifname=tap0,script=no,downscript=no,vhost=$vhost"
        echo "$qemu -M q35 -accel kvm -cpu host -m 512M -smp 1 -nodefaults -no-user-config" \
            "-display none -serial stdio -monitor none -no-reboot -kernel $dir/vmlinuz" \
            "-initrd $dir/initrd-net.gz -netdev $nd" \
            "-device virtio-net-pci,netdev=n0,disable-legacy=on,romfile= -append"
        ;;
    esac
}

# host side: iperf3 and netrr servers on address $1; their pids in $servers
servers_up() {
    iperf3 -s -B "$1" -p 5201 >/tmp/nb-iperf.log 2>&1 &
    servers=$!
    "$dir/netrr" server "$1" 5202 >/tmp/nb-rr.log 2>&1 &
    servers="$servers $!"
    # both listening before the guest starts (iperf3 may take a while to start under TCG)
    n=0
    while [ "$($bb netstat -ltn 2>/dev/null | grep -c -e ":5201 " -e ":5202 ")" -lt 2 ] &&
        [ $n -lt 100 ]; do
        sleep 1
        n=$((n + 1))
    done
}

servers_down() {
    for p in $servers; do
        kill "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
}

# one run of configuration $1 with its output in /tmp/nb.out (inside the namespace for tap)
run_guest() {
    case "$1" in
    *-nat) servers_up 127.0.0.1 ;;
    *-tap)
        ip link set lo up
        if ! { $bb brctl addbr br0 && $bb tunctl -t tap0 >/dev/null &&
            $bb brctl addif br0 tap0 && ip link set tap0 up && ip link set br0 up &&
            ip addr add 10.77.0.1/24 dev br0; }; then
            echo "NBENCH-SETUP cannot make br0 and tap0" >/tmp/nb.out
            return 1
        fi
        servers_up 10.77.0.1
        ;;
    esac
    # shellcheck disable=SC2046 # the command line is words, the kernel's one argument
    timeout -s KILL 600 $(mcmd "$1") "$(kcmd "$1")" </dev/null >/tmp/nb.out 2>&1
    rc=$?
    servers_down
    return $rc
}

# field NAME of the ITEST RR line in /tmp/nb.txt
rr_field() {
    sed -n "s/^ITEST RR .*$1=\([0-9.]*\).*/\1/p" /tmp/nb.txt | head -n 1
}

# runs configuration $1 (round $2), prints its NBENCH line
run_one() {
    case "$1" in
    *-tap) unshare -n /bin/sh "$0" --guest "$1" "$vhost" "$secs" "$dir" "$vmm" "$qemu" ;;
    *) run_guest "$1" ;;
    esac
    rc=$?
    tr -d '\r' </tmp/nb.out >/tmp/nb.txt
    up=$(sed -n 's/^ITEST IPERF up \([0-9.e+]*\).*/\1/p' /tmp/nb.txt | head -n 1)
    down=$(sed -n 's/^ITEST IPERF down \([0-9.e+]*\).*/\1/p' /tmp/nb.txt | head -n 1)
    if [ -n "$up" ] && [ -n "$down" ] && grep -q '^ITEST PASS netrun' /tmp/nb.txt; then
        rr="rr_per_s=$(rr_field per_s) rr_avg_us=$(rr_field avg_us) rr_p99_us=$(rr_field p99_us)"
        say "NBENCH $1 $2 up_bps=$up down_bps=$down $rr"
    else
        say "NBENCH-FAIL $1 $2 status=$rc"
        grep -v '^$' /tmp/nb.txt | tail -n 25 | sed "s/^/NBENCH-OUT $1 | /"
        cat /tmp/nb-iperf.log /tmp/nb-rr.log 2>/dev/null | tail -n 10 |
            sed "s/^/NBENCH-OUT $1 server | /"
    fi
}

# inside the namespace unshare -n made: the tap run itself
if [ "$1" = --guest ]; then
    shift
    configs=$1
    vhost=$2
    secs=$3
    dir=$4
    vmm=$5
    qemu=$6
    run_guest "$configs"
    exit $?
fi

# the NAT runs' host side listens on 127.0.0.1 (L1's /init leaves the loopback down)
ip link set lo up 2>/dev/null
ok=
for c in $configs; do
    case "$c" in
    ours-*)
        if ! "$vmm" --help 2>&1 | grep -q -e '--nic'; then
            say "NBENCH-SKIP $c: skipped: monitor has no --nic"
            continue
        fi
        ;;
    esac
    case "$c" in
    *-tap)
        if [ "$(id -u)" != 0 ] || [ ! -c /dev/net/tun ] ||
            { [ "$vhost" = on ] && [ ! -c /dev/vhost-net ]; }; then
            say "NBENCH-SKIP $c: skipped: tap needs root, /dev/net/tun and /dev/vhost-net"
            continue
        fi
        ;;
    esac
    ok="$ok $c"
done

i=1
while [ "$i" -le "$runs" ]; do
    for c in $ok; do
        run_one "$c" "$i"
    done
    i=$((i + 1))
done

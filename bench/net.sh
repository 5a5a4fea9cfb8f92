#!/bin/sh
# SPDX-License-Identifier: MIT
# Network throughput and latency: TCP guest->host ("up") and host->guest ("down", iperf3 -R)
# with Debian's iperf3 inside the guest, and TCP request/response with 1-byte messages
# (bench/nested/netrr.c, netperf's TCP_RR in a few lines), for NAT (libslirp: bareiron-vmm
# --nic nat against QEMU -netdev user) and for a tap on a bridge with vhost-net (--nic
# tap,ifname=tap0,vhost=on against QEMU -netdev tap,vhost=on), QEMU with virtio-net-pci, all in
# the same run with the same kernel (Debian's, scripts/get-guest-kernel.sh), initramfs
# (scripts/mkinitramfs.sh --net: the test initramfs plus iperf3 and netrr), 1 vCPU and 512 MiB.
# bench/nested/net_case.sh does the runs. The host side listens on 127.0.0.1 (reached from the
# guest as 10.0.2.2 through each monitor's NAT) or on a bridge inside a network namespace made
# for each tap run: no traffic leaves the loopback or that namespace.
# Where: on a real KVM host directly (as root for the tap runs); on a kvm-pvm host or without
# /dev/kvm (where Linux cannot reach userspace) inside the nested L1 guest of
# scripts/nested-kvm.sh (QEMU/TCG with an emulated SVM CPU, with tun, vhost_net and bridge
# loaded), where only the ratio ours/QEMU means anything (docs/benchmarks.md).
# A monitor without --nic (its --help) gets "skipped: monitor has no --nic" and QEMU still runs.
# Prints the median of each figure per configuration and the ratios ours/QEMU.
# Usage: bench/net.sh [BUILD_DIR] [RUNS [SECONDS]]   (defaults: build, 1 round, 5 s per test)
# Environment: BAREIRON_HOST_KIND=kvm-pvm|none runs it nested on a KVM host
#   (scripts/host-kind.sh); NET_BENCH_CONFIGS limits the configurations (of ours-nat qemu-nat
#   ours-tap qemu-tap); NET_BENCH_VHOST=off runs both tap configurations without vhost-net
#   (default on); NESTED_* as for scripts/nested-kvm.sh (NESTED_SMP defaults to 1,
#   NESTED_TIMEOUT to 3600).
# Output of the runs: BUILD_DIR/guest/net-bench.log. Exit status: 0 figures printed, or skipped
# (L1 has no nested KVM, no guest kernel, initramfs or iperf3), 1 setup or run failure.
set -eu
bench_name=net
. "$(dirname "$0")/lib.sh"

build_dir=${1:-build}
runs=${2:-1}
secs=${3:-5}
vmm="$build_dir/src/vmm/bareiron-vmm"
saved="$build_dir/guest/net-bench.log"
configs=${NET_BENCH_CONFIGS:-ours-nat qemu-nat ours-tap qemu-tap}
vhost=${NET_BENCH_VHOST:-on}

kind=$("$here/scripts/host-kind.sh") || exit 1
bench_need_qemu
bench_need_built "$vmm"
iperf3=$(command -v iperf3) || {
    echo "skipped: no iperf3 (apt-get install iperf3)"
    exit 0
}
kernel=$("$here/scripts/get-guest-kernel.sh" "$build_dir") || {
    echo "skipped: no guest kernel (get-guest-kernel.sh failed)"
    exit 0
}
initrd=$("$here/scripts/mkinitramfs.sh" "$build_dir" --net) || {
    echo "skipped: no initramfs (mkinitramfs.sh --net failed)"
    exit 0
}
"$vmm" --help 2>&1 | grep -q -e '--nic' ||
    echo "bareiron-vmm: skipped: monitor has no --nic (QEMU's figures only)"

bench_tmp
x="$tmp/x"
mkdir -p "$x"
cp "$kernel" "$x/vmlinuz"
cp "$initrd" "$x/initrd-net.gz"
cp "$here/bench/nested/net_case.sh" "$x/net_case.sh"
${CC:-cc} -static -O2 -Wall -Wextra -Werror -o "$x/netrr" "$here/bench/nested/netrr.c"

if [ "$kind" = kvm ]; then
    where="directly on this host's KVM"
    sh "$x/net_case.sh" -c "$configs" -v "$vhost" "$runs" "$secs" "$x" "$vmm" "$qemu" \
        >"$tmp/log" 2>&1 || true
    cp "$tmp/log" "$saved"
    tr -d '\r' <"$tmp/log" >"$tmp/out"
else
    where="in the nested KVM (this host: $kind)"
    root="$x/root"
    . "$here/bench/nested/lib.sh"
    # QEMU and iperf3 with their libraries and the loader, and what -M q35 loads for a
    # -kernel bzImage (SeaBIOS, the linuxboot and kvmvapic option ROMs)
    nested_ship "$root" "qemu/kvmvapic.bin qemu/linuxboot_dma.bin qemu/linuxboot.bin
        seabios/bios-256k.bin seabios/bios.bin" \
        "$qemu" /usr/bin/qemu-system-x86_64 "$iperf3" /usr/bin/iperf3
    echo "nbench 3500 - /bin/sh /x/net_case.sh -i /x/root -c '$configs' -v $vhost $runs $secs /x" \
        "/bin/bareiron-vmm /usr/bin/qemu-system-x86_64" >"$tmp/cases"
    NESTED_MODULES="tun vhost_net bridge" NESTED_TIMEOUT=${NESTED_TIMEOUT:-3600} \
        nested_run "$tmp/cases" "$x" "$saved"
    grep -e '^NESTED cpu' -e '^NESTED KVM' "$log" || true
    nested_status net "$saved"
    # the case's output, or when L1 ran out of time, the copies it printed on the console
    if grep -q '^NESTED-OUT nbench ' "$log"; then
        sed -n 's/^NESTED-OUT nbench //p' "$log" | tr -d '\r' >"$tmp/out"
    else
        sed -n 's/^LIVE-//p' "$log" | tr -d '\r' >"$tmp/out"
    fi
fi
grep -e '^NBENCH-SKIP' -e '^NBENCH-FAIL' -e '^NBENCH-OUT' -e '^NBENCH-ERROR' "$tmp/out" || true
# "NBENCH <config> <round> up_bps A down_bps B rr_per_s C rr_avg_us D rr_p99_us E"
grep '^NBENCH ' "$tmp/out" | tr '=' ' ' >"$tmp/r" || true
[ -s "$tmp/r" ] || bench_fail "no NBENCH lines; log in $saved"

# median of field $2 for configuration $1, divided by $3
med() {
    awk -v c="$1" -v f="$2" '$2 == c { print $f }' "$tmp/r" | sort -g |
        awk -v d="$3" '{ a[NR] = $1 } END {
            if (NR == 0) { print "-"; exit }
            m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
            printf "%.1f\n", m / d }'
}

# ours/QEMU, n/a when either is missing
ratio() {
    case "$1" in
    -) echo n/a ;;
    *) bench_ratio "$1" "$2" ;;
    esac
}

echo "Network ($where), $secs s per test, medians of $runs round(s), tap with vhost=$vhost"
printf "%-24s %9s %9s %8s %9s %9s %8s\n" metric ours-nat qemu-nat "nat o/q" ours-tap qemu-tap \
    "tap o/q"
for m in "TCP up (Mbit/s):5:1000000" "TCP down (Mbit/s):7:1000000" "RR (trans/s):9:1" \
    "RR avg (us, lower=better):11:1" "RR p99 (us, lower=better):13:1"; do
    name=${m%%:*}
    rest=${m#*:}
    f=${rest%%:*}
    d=${rest#*:}
    a=$(med ours-nat "$f" "$d")
    b=$(med qemu-nat "$f" "$d")
    c=$(med ours-tap "$f" "$d")
    e=$(med qemu-tap "$f" "$d")
    printf "%-24s %9s %9s %8s %9s %9s %8s\n" "$name" "$a" "$b" "$(ratio "$a" "$b")" "$c" "$e" \
        "$(ratio "$c" "$e")"
done
echo "log: $saved"

#!/bin/sh
# SPDX-License-Identifier: MIT
# Sequential read from the ATAPI CD-ROM inside a Linux guest, on a machine WITHOUT a real
# /dev/kvm: Debian's kernel with the itest initramfs (`itest=cdread`: `dd if=/dev/sr0
# of=/dev/null bs=1M` over the whole ISO, timed by the guest's /init from /proc/uptime) against
# bareiron-vmm (--cdrom on its PIIX3-compatible IDE, with the default split irqchip and with
# --irqchip kernel) and QEMU (-M pc, its PIIX3 IDE), the same
# ISO (MIB MiB of random data made by xorriso) in the same L1 run of scripts/nested-kvm.sh,
# against L1's nested /dev/kvm. Both guests use ata_piix with bus-master DMA. QEMU is shipped
# into L1 as bench/nested_disk.sh does it. Prints each run and the median MiB/s per monitor and
# the ratio ours/QEMU; only the ratio means anything (L1 and both monitors run under TCG).
# docs/benchmarks.md, "Nested KVM inside QEMU/TCG: CD-ROM".
# Usage: bench/nested_cdrom.sh BUILD_DIR [RUNS [MIB]]   (defaults 2 rounds, 64 MiB)
# Environment: NESTED_* as for scripts/nested-kvm.sh; NESTED_SMP defaults to 1, NESTED_TIMEOUT
#   to 1800.
# Exit status: 0 figures printed, or skipped (L1 has no /dev/kvm), 1 setup or run failure.
set -eu
bench_name=nested_cdrom
. "$(dirname "$0")/lib.sh"

build_dir=${1:?usage: bench/nested_cdrom.sh BUILD_DIR [RUNS [MIB]]}
runs=${2:-2}
mib=${3:-64}
bench_need_qemu
bench_need_built "$build_dir/src/vmm/bareiron-vmm"
command -v xorriso >/dev/null || bench_fail "xorriso missing (apt-get install xorriso)"
kernel=$("$here/scripts/get-guest-kernel.sh" "$build_dir") || bench_fail "no guest kernel"
initrd=$("$here/scripts/mkinitramfs.sh" "$build_dir") || bench_fail "no initramfs"
bench_tmp
x="$tmp/x"
root="$x/root"
mkdir -p "$x/iso"
. "$here/bench/nested/lib.sh"

# QEMU, its libraries and the loader, and what -M pc loads for a Linux -kernel
nested_ship "$root" "qemu/kvmvapic.bin qemu/linuxboot_dma.bin qemu/linuxboot.bin
    seabios/bios-256k.bin seabios/bios.bin" "$qemu" /usr/bin/qemu-system-x86_64

head -c "$((mib << 20))" /dev/urandom >"$x/iso/data.bin"
xorriso -as mkisofs -quiet -V CDBENCH -o "$x/cd.iso" "$x/iso" 2>/dev/null
rm -rf "$x/iso"
cp "$kernel" "$x/vmlinuz"
cp "$initrd" "$x/initrd.gz"
cp "$here/bench/nested/cdrom_case.sh" "$x/cdrom_case.sh"
echo "cbench 1700 - /bin/sh /x/cdrom_case.sh $runs" >"$tmp/cases"

nested_run "$tmp/cases" "$x" "$build_dir/guest/nested-cdrom-bench.log"
grep -e '^NESTED cpu' -e '^NESTED KVM' -e 'CBENCH-' "$log" | grep -v LIVE-CBENCH |
    sed 's/^NESTED-OUT cbench //' || true
nested_status nested_cdrom "$build_dir/guest/nested-cdrom-bench.log"

# "CBENCH <config> <round> bytes=N ms=M", from the case's output or the console copies
grep '^NESTED-OUT cbench CBENCH ' "$log" | cut -d' ' -f3- >"$tmp/runs" || true
if [ ! -s "$tmp/runs" ]; then
    grep '^LIVE-CBENCH ' "$log" | sed 's/^LIVE-//' >"$tmp/runs" || true
fi
tr '=' ' ' <"$tmp/runs" | tr -d '\r' |
    awk '$7 > 0 { printf "%s %s %.1f\n", $2, $3, $5 / 1048576 / ($7 / 1000) }' >"$tmp/r" || true
[ -s "$tmp/r" ] || bench_fail "no CBENCH lines; log in $build_dir/guest/nested-cdrom-bench.log"
[ "$rc" = 0 ] || echo "note: partial figures (L1 did not finish)"
echo "runs (config round MiB/s), ${mib} MiB ISO:"
awk '{ printf "  %-9s %-3s %8s\n", $1, $2, $3 }' "$tmp/r"
med() {
    awk -v c="$1" '$1 == c { print $3 }' "$tmp/r" | bench_min_median 1 | cut -d' ' -f2
}
a=$(med ours)
k=$(med ours-kirq)
b=$(med qemu)
printf "median sequential read: ours %s MiB/s, ours --irqchip kernel %s MiB/s, QEMU %s MiB/s\n" \
    "$a" "$k" "$b"
printf "ours/QEMU %s, ours --irqchip kernel/QEMU %s\n" "$(bench_ratio "$a" "$b")" \
    "$(bench_ratio "$k" "$b")"

#!/bin/sh
# SPDX-License-Identifier: MIT
# Disk throughput on a machine WITHOUT /dev/kvm: the ring-3 polling virtio-blk payload
# (tests/guest/payloads/virtio_blk.c, `bench=1`: sequential 1 MiB writes then reads over the
# region, then 4 KiB random reads, one request in flight) against bareiron-vmm (--disk raw and
# qcow2) and QEMU (-M q35, virtio-blk-pci, the same raw and qcow2 images, aio=io_uring or
# aio=threads), all in the same run inside the nested L1 guest of scripts/nested-kvm.sh, against
# L1's nested /dev/kvm. The images live in L1's tmpfs (no O_DIRECT there in Linux 6.1, so both
# monitors use cache=writeback); the qcow2 images are fully allocated by the warm-up pass.
# QEMU is shipped into L1 as bench/nested.sh does it (the same few lines, copied). Prints the
# median of each figure per configuration and the ratios ours/QEMU. Only the ratio means
# anything: L1, both monitors and the payload's loop all run under TCG.
# docs/benchmarks.md, "Nested KVM inside QEMU/TCG: disk".
# Usage: bench/nested_disk.sh BUILD_DIR [RUNS [MIB [RAND]]]   (defaults 3 rounds, 64 MiB
#   images, 1000 random reads; one L1 boot for everything)
# Environment: NESTED_* as for scripts/nested-kvm.sh; NESTED_SMP defaults to 1 (see
#   bench/nested.sh) and NESTED_TIMEOUT to 1800.
# Exit status: 0 figures printed, or skipped (L1 has no /dev/kvm), 1 setup or run failure.
set -eu
bench_name=nested_disk
. "$(dirname "$0")/lib.sh"

build_dir=${1:?usage: bench/nested_disk.sh BUILD_DIR [RUNS [MIB [RAND]]]}
runs=${2:-3}
mib=${3:-64}
nrand=${4:-1000}
bench_need_qemu
bench_need_built "$build_dir/src/vmm/bareiron-vmm" "$build_dir/tests/guest/virtio_blk.elf"
bench_tmp
x="$tmp/x"
root="$x/root"
. "$here/bench/nested/lib.sh"

# QEMU, its libraries and the loader, and the firmware -M q35 loads for a multiboot -kernel
nested_ship "$root" "qemu/kvmvapic.bin qemu/multiboot_dma.bin qemu/multiboot.bin
    qemu/linuxboot_dma.bin qemu/linuxboot.bin seabios/bios-256k.bin seabios/bios.bin" \
    "$qemu" /usr/bin/qemu-system-x86_64

# the qcow2 image: empty but for the payload's magic in sector 0
printf BAREIRON >"$tmp/magic.raw"
truncate -s "${mib}M" "$tmp/magic.raw"
qemu-img convert -q -f raw -O qcow2 "$tmp/magic.raw" "$x/disk.qcow2"
rm -f "$tmp/magic.raw"
cp "$here/bench/nested/disk_case.sh" "$x/disk_case.sh"
echo "dbench 1700 - /bin/sh /x/disk_case.sh $runs $mib $nrand" >"$tmp/cases"

nested_run "$tmp/cases" "$x" "$build_dir/guest/nested-disk-bench.log"
grep -e '^NESTED cpu' -e '^NESTED KVM' -e 'DBENCH-' "$log" | grep -v LIVE-DBENCH |
    sed 's/^NESTED-OUT dbench //' || true
nested_status nested_disk "$build_dir/guest/nested-disk-bench.log"

# "DBENCH <config> <round> seqwrite_mibs=A seqread_mibs=B randread_iops=C ...", from the case's
# output or, when L1 ran out of time, from the console copies
grep '^NESTED-OUT dbench DBENCH ' "$log" | cut -d' ' -f3- >"$tmp/runs" || true
if [ ! -s "$tmp/runs" ]; then
    grep '^LIVE-DBENCH ' "$log" | sed 's/^LIVE-//' >"$tmp/runs" || true
fi
grep -v ' warmup ' "$tmp/runs" | tr '=' ' ' | tr -d '\r' >"$tmp/r" || true
[ -s "$tmp/r" ] || {
    echo "nested_disk: no DBENCH lines; log in $build_dir/guest/nested-disk-bench.log" >&2
    exit 1
}
[ "$rc" = 0 ] || echo "note: partial figures (L1 did not finish)"
echo "runs (config round seqwrite MiB/s, seqread MiB/s, randread IOPS):"
awk '{ printf "  %-11s %-6s %8s %8s %8s\n", $2, $3, $5, $7, $9 }' "$tmp/r"

# median of field $2 for configuration $1 ("DBENCH cfg round seqwrite_mibs A seqread_mibs B
# randread_iops C": fields 5, 7, 9)
med() {
    awk -v c="$1" -v f="$2" '$2 == c { print $f }' "$tmp/r" | bench_min_median 1 | cut -d' ' -f2
}

echo "medians of $(awk '$2 == "ours-raw"' "$tmp/r" | wc -l) round(s), ${mib} MiB, $nrand random reads"
printf "%-22s %10s %10s %10s %10s %8s %8s\n" metric ours-raw qemu-raw ours-qcow2 qemu-qcow2 \
    "raw o/q" "qcow2 o/q"
for m in "seqwrite MiB/s:5" "seqread MiB/s:7" "randread 4k IOPS:9"; do
    f=${m##*:}
    a=$(med ours-raw "$f")
    b=$(med qemu-raw "$f")
    c=$(med ours-qcow2 "$f")
    d=$(med qemu-qcow2 "$f")
    printf "%-22s %10s %10s %10s %10s %8s %8s\n" "${m%:*}" "$a" "$b" "$c" "$d" \
        "$(bench_ratio "$a" "$b")" "$(bench_ratio "$c" "$d")"
done
fails=$(grep -c '^NESTED-OUT dbench DBENCH-FAIL' "$log" || true)
[ "$fails" = 0 ] || echo "note: $fails run(s) gave no figures (DBENCH-FAIL lines above)"

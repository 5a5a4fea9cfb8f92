#!/bin/sh
# SPDX-License-Identifier: MIT
# Host-side block layer throughput: our blk.h stack (blk_tool bench: raw and qcow2, io_uring and
# thread-pool engines, O_DIRECT, queue depth 32) next to fio (io_uring, O_DIRECT, iodepth 32) on
# the same 1 GiB file, printing ours, the host's and the ratio. Sequential 1 MiB and random 4 KiB
# reads and writes. Usage: bench/disk_host.sh [BUILD_DIR] [WORK_DIR] [RUNS]
# (default build, /var/tmp/bareiron-disk-bench, 3 runs; the median of the runs is printed).
set -eu
bench_name=disk_host.sh
. "$(dirname "$0")/lib.sh"

BUILD=${1:-build}
WORK=${2:-/var/tmp/bareiron-disk-bench}
RUNS=${3:-3}
TOOL=$BUILD/tests/unit/block/blk_tool
CLI=$BUILD/src/cli/bareiron
SIZE=1G
command -v fio >/dev/null || bench_fail "fio is missing (scripts/install-deps.sh)"
bench_need_built "$TOOL"
mkdir -p "$WORK"
RAW=$WORK/disk.raw
QCOW=$WORK/disk.qcow2
trap 'rm -f "$RAW" "$QCOW"' EXIT

dd if=/dev/zero of="$RAW" bs=1M count=1024 conv=fsync status=none
rm -f "$QCOW"
"$CLI" disk create "$QCOW" "$SIZE" >/dev/null

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# ours FILE ENGINE MODE BS TOTAL -> MiB/s (median of RUNS)
ours() {
    i=0
    while [ $i -lt "$RUNS" ]; do
        BENCH_DIRECT=1 "$TOOL" bench "$1" "$2" "$3" "$4" "$5" 32 | awk '{print $1}'
        i=$((i + 1))
    done | median
}

# host MODE BS TOTAL -> MiB/s of fio on the raw file (median of RUNS)
host() {
    i=0
    while [ $i -lt "$RUNS" ]; do
        fio --name=b --filename="$RAW" --rw="$1" --bs="$2" --size=$SIZE --io_size="$3" \
            --ioengine=io_uring --iodepth=32 --direct=1 --end_fsync=1 --randrepeat=1 \
            --output-format=terse --terse-version=3 |
            awk -F';' -v m="$1" '{ kb = (m ~ /read/) ? $7 : $48; printf "%.1f\n", kb / 1024 }'
        i=$((i + 1))
    done | median
}

# qcow2 first pass: allocating sequential writes (metadata + flush ordering), then overwrite.
alloc=$(BENCH_DIRECT=1 "$TOOL" bench "$QCOW" uring write 1M $SIZE 32 | awk '{print $1}')

printf "%-34s %10s %10s %7s\n" "test (MiB/s)" "ours" "fio" "ratio"
row() {
    printf "%-34s %10s %10s %7s\n" "$1" "$2" "$3" \
        "$(awk -v a="$2" -v b="$3" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')"
}
for mode in read:1M:1G write:1M:1G randread:4k:128M randwrite:4k:128M; do
    m=${mode%%:*}; rest=${mode#*:}; bs=${rest%%:*}; total=${rest#*:}
    fiomode=$m
    h=$(host "$fiomode" "$bs" "$total")
    for eng in uring sync; do
        row "raw   $eng $m $bs" "$(ours "$RAW" $eng $m $bs $total)" "$h"
        row "qcow2 $eng $m $bs" "$(ours "$QCOW" $eng $m $bs $total)" "$h"
    done
done
row "qcow2 uring write 1M (allocating)" "$alloc" "$(host write 1M 1G)"

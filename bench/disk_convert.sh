#!/bin/sh
# SPDX-License-Identifier: MIT
# Converting a sparse image: `bareiron disk convert` next to `qemu-img convert` on the same
# 20 GiB raw file holding 10 MiB of data (in 10 extents of 1 MiB spread over the disk), to
# qcow2 and to raw, then the qcow2 result back to raw. Prints min/median wall time (ms) of
# RUNS runs of each and the ratios of the medians. qemu-img convert's default destination
# cache mode is "unsafe" (no fsync at all); `-t writeback` makes its result durable, as ours
# always is (one fsync before the rename into place), so both are shown. Usage:
#   bench/disk_convert.sh [BUILD_DIR] [WORK_DIR] [RUNS]
# (defaults: build, /var/tmp/bareiron-convert-bench, 5). WORK_DIR's filesystem must support
# sparse files with SEEK_DATA/SEEK_HOLE (ext4, xfs, btrfs, tmpfs).
set -eu
bench_name=disk_convert.sh
. "$(dirname "$0")/lib.sh"

BUILD=${1:-build}
WORK=${2:-/var/tmp/bareiron-convert-bench}
RUNS=${3:-5}
CLI=$BUILD/src/cli/bareiron
command -v qemu-img >/dev/null || bench_fail "qemu-img is missing (qemu-utils)"
bench_need_built "$CLI"
mkdir -p "$WORK"
SRC=$WORK/sparse.raw
trap 'rm -f "$WORK"/sparse.raw "$WORK"/src.qcow2 "$WORK"/out.* "$WORK"/times' EXIT INT TERM

rm -f "$SRC"
truncate -s 20G "$SRC"
i=0
while [ $i -lt 10 ]; do # 1 MiB of random data every 2 GiB
    dd if=/dev/urandom of="$SRC" bs=1M count=1 seek=$((i * 2048 + 7)) conv=notrunc status=none
    i=$((i + 1))
done
qemu-img convert -O qcow2 "$SRC" "$WORK/src.qcow2"

# measure CMD... -> "min median" in ms over RUNS runs (the output file removed before each)
measure() {
    : >"$WORK/times"
    i=0
    while [ $i -lt "$RUNS" ]; do
        rm -f "$WORK"/out.*
        t0=$(date +%s%N)
        "$@" >/dev/null
        t1=$(date +%s%N)
        echo $(((t1 - t0) / 1000)) >>"$WORK/times"
        i=$((i + 1))
    done
    sort -n "$WORK/times" | awk '{ a[NR] = $1 } END {
        printf "%.1f %.1f\n", a[1] / 1000, a[int((NR + 1) / 2)] / 1000 }'
}

printf "%-14s %14s %14s %14s %9s %9s\n" "convert (ms)" "ours" "qemu-img" "qemu-img -t wb" \
    "ours/q" "ours/q-wb"
row() { # NAME SRC FMT
    ours=$(measure "$CLI" disk convert "$2" "$WORK/out.$3" --format "$3" --quiet)
    peer=$(measure qemu-img convert -O "$3" "$2" "$WORK/out.$3")
    wb=$(measure qemu-img convert -t writeback -O "$3" "$2" "$WORK/out.$3")
    printf "%-14s %14s %14s %14s %9s %9s\n" "$1" "$(echo "$ours" | tr ' ' /)" \
        "$(echo "$peer" | tr ' ' /)" "$(echo "$wb" | tr ' ' /)" \
        "$(echo "$ours $peer" | awk '{ if ($4 > 0) printf "%.2f", $2 / $4; else print "-" }')" \
        "$(echo "$ours $wb" | awk '{ if ($4 > 0) printf "%.2f", $2 / $4; else print "-" }')"
}
row "raw -> qcow2" "$SRC" qcow2
row "raw -> raw" "$SRC" raw
row "qcow2 -> raw" "$WORK/src.qcow2" raw

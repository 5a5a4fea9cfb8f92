#!/bin/sh
# SPDX-License-Identifier: MIT
# Saved state: save time, resume latency and RSS right after the resume, bareiron-vmm vs QEMU
# in the same run (docs/benchmarks.md "Saved state"). The guest is the counter payload
# (tests/guest/payloads/counter.c) with its whole 64 MiB buffer written (fill=1), counting, in
# 128 MiB and 1 GiB guests. Ours: the control command save, then --restore (guest memory
# mapped from the file). QEMU: QMP stop + migrate "exec:cat > FILE", then -incoming "exec:cat
# FILE" + cont (-accel kvm on real KVM; TCG on kvm-pvm, where QEMU's KVM is far slower); and
# QEMU's savevm (HMP, through QMP human-monitor-command, the guest stopped) into the internal
# snapshot of a 64 MiB qcow2 drive, then a new QEMU started with -loadvm.
#   save       request to state on disk (ms), and per GiB of state written (the touched memory)
#   resume     spawn of the restoring process to the guest's first output line after it (ms);
#              for ours also the monitor's own figure, main() to vCPUs running (us)
#   RSS        of the restored process at that line (MiB)
# Prints min/median over RUNS and the ratio of our median to QEMU's migrate; then the same
# against savevm/loadvm (state written: the blocks the qcow2 image grew by); then ours with
# "compress": "zstd" against ours uncompressed.
# Usage: bench/savestate.sh [BUILD_DIR] [RUNS]    (defaults: build, 5)
set -eu
bench_name=savestate
. "$(dirname "$0")/lib.sh"

build_dir=${1:-build}
runs=${2:-5}
vmm="$build_dir/src/vmm/bareiron-vmm"
elf="$build_dir/tests/guest/counter.elf"
bench_need_kvm "no nested variant yet"
bench_need_built "$vmm" "$elf"
bench_need_qemu
bench_tmp
accel=tcg
[ "$("$here/scripts/host-kind.sh")" = kvm ] && accel=kvm

/usr/bin/python3 "$here/bench/savestate.py" "$vmm" "$elf" "$tmp" "$runs" "$accel" 128 1024 \
    >"$tmp/raw"

# figure WHO MIB WHAT [DIVISOR]: "min median" of that measurement
figure() {
    awk -v w="$1" -v m="$2" -v k="$3" '$1 == w && $2 == m && $3 == k { printf "%.0f\n", $4 * 1000 }' \
        "$tmp/raw" | bench_min_median "${4:-1000}"
}
# per_gib WHO MIB: save ms per GiB of state, one per run
per_gib() {
    awk -v w="$1" -v m="$2" '$1 == w && $2 == m && $3 == "save_ms" { t[++n] = $4 }
        $1 == w && $2 == m && $3 == "state_mib" { s[++k] = $4 }
        END { for (i = 1; i <= n; i++) printf "%.0f\n", t[i] / (s[i] / 1024) * 1000 }' "$tmp/raw" |
        bench_min_median 1000
}
median() { echo "$1" | cut -d' ' -f2; }

echo "saved-state benchmark: $runs runs, QEMU with -accel $accel"
printf "%-34s %10s %10s %10s %8s\n" "" "ours min" "ours med" "qemu med" ratio
for mib in 128 1024; do
    for row in "save_ms:save (ms)" "state_mib:state written (MiB)" "gib:save per GiB written (ms)" \
        "resume_ms:resume to guest output (ms)" "rss_mib:RSS after resume (MiB)"; do
        what=${row%%:*}
        label="$mib MiB: ${row#*:}"
        if [ "$what" = gib ]; then
            o=$(per_gib ours "$mib")
            q=$(per_gib qemu "$mib")
        else
            o=$(figure ours "$mib" "$what")
            q=$(figure qemu "$mib" "$what")
        fi
        printf "%-34s %10s %10s %10s %8s\n" "$label" $o "$(median "$q")" \
            "$(bench_ratio "$(median "$o")" "$(median "$q")")"
    done
    o=$(figure ours "$mib" resumed_us)
    printf "%-34s %10s %10s %10s %8s\n" "$mib MiB: resumed, monitor's (us)" $o - -
done
echo
echo "against QEMU savevm / -loadvm (qcow2 internal snapshot); ratio of our median to QEMU's"
printf "%-34s %10s %10s %10s %8s\n" "" "ours min" "ours med" "qemu med" ratio
for mib in 128 1024; do
    for row in "save_ms:save (ms)" "state_mib:state written (MiB)" "gib:save per GiB written (ms)" \
        "resume_ms:resume to guest output (ms)" "rss_mib:RSS after resume (MiB)"; do
        what=${row%%:*}
        if [ "$what" = gib ]; then
            o=$(per_gib ours "$mib")
            q=$(per_gib qemu-savevm "$mib")
        else
            o=$(figure ours "$mib" "$what")
            q=$(figure qemu-savevm "$mib" "$what")
        fi
        printf "%-34s %10s %10s %10s %8s\n" "$mib MiB: ${row#*:}" $o "$(median "$q")" \
            "$(bench_ratio "$(median "$o")" "$(median "$q")")"
    done
done
echo
echo "save --compress zstd (restore reads instead of mapping); ratio to our uncompressed median"
printf "%-34s %10s %10s %10s %8s\n" "" "zstd min" "zstd med" "plain med" ratio
for mib in 128 1024; do
    for row in "save_ms:save (ms)" "state_mib:state written (MiB)" \
        "resume_ms:resume to guest output (ms)" "rss_mib:RSS after resume (MiB)" \
        "resumed_us:resumed, monitor's (us)"; do
        what=${row%%:*}
        z=$(figure ours-zstd "$mib" "$what")
        o=$(figure ours "$mib" "$what")
        printf "%-34s %10s %10s %10s %8s\n" "$mib MiB: ${row#*:}" $z "$(median "$o")" \
            "$(bench_ratio "$(median "$z")" "$(median "$o")")"
    done
done

#!/bin/sh
# SPDX-License-Identifier: MIT
# Manager cycle time (bench/mgr_cycle.sh, issue 4) on a machine WITHOUT /dev/kvm: inside the
# nested L1 guest of scripts/nested-kvm.sh (Debian's kernel under QEMU/TCG with an emulated SVM
# CPU, kvm-amd loaded), times `bareiron create` + `start` + `poweroff` + `delete` of a 128 MiB
# `jmp $` multiboot guest against L1's nested /dev/kvm, and as the peer QEMU -M microvm
# (-accel kvm) starting the isa-debug-exit guest of bench/start_latency.sh until it exits (L1
# has no python3/socat for mgr_cycle.sh's QMP start+quit, so the peer is start + first
# instruction + exit, without a define/delete step). Copies into the EXTRA_DIR (/x/ in L1): the
# `bareiron` CLI as /bin/bareiron (next to L1's /bin/bareiron-vmm, where src/mgr/proc.c looks
# first), QEMU, the libraries ldd lists for both and the loader, the firmware -M microvm loads,
# both payloads, bench/nested/runstat (static timer) and bench/nested/mgr_case.sh. Prints
# min/median per cycle, starts per second and the ratio ours/QEMU (medians). Only the ratio
# means anything, and even it is skewed: both sides' host-side work runs under TCG.
# docs/benchmarks.md, "Nested KVM inside QEMU/TCG".
# Usage: bench/nested_mgr.sh BUILD_DIR [RUNS]   (default RUNS 5; one L1 boot)
# Environment: NESTED_* as for scripts/nested-kvm.sh; NESTED_SMP defaults to 1, NESTED_TIMEOUT
#   to 1800.
# Exit status: 0 figures printed, or skipped (L1 has no /dev/kvm), 1 setup or run failure.
set -eu
bench_name=nested_mgr
. "$(dirname "$0")/lib.sh"

build_dir=${1:?usage: bench/nested_mgr.sh BUILD_DIR [RUNS]}
runs=${2:-5}
bench_need_qemu
bareiron="$build_dir/src/cli/bareiron"
bench_need_built "$build_dir/src/vmm/bareiron-vmm" "$bareiron"
bench_tmp
x="$tmp/x"
root="$x/root"
. "$here/bench/nested/lib.sh"

# the CLI and QEMU, their libraries and the loader at the paths ldd names, and what -nodefaults
# -M microvm opens with a multiboot -kernel (see bench/nested.sh)
nested_ship "$root" "qemu/bios-microvm.bin qemu/qboot.rom qemu/multiboot_dma.bin
    qemu/multiboot.bin qemu/linuxboot_dma.bin qemu/linuxboot.bin qemu/pvh.bin
    seabios/bios-microvm.bin" \
    "$bareiron" /bin/bareiron "$qemu" /usr/bin/qemu-system-x86_64

bench_guest "$x/spin.mb" spin "$x/exit.mb" exit
${CC:-cc} -static -O2 -Wall -Wextra -Werror -o "$x/runstat" "$here/bench/nested/runstat.c"
cp "$here/bench/nested/mgr_case.sh" "$x/mgr_case.sh"
echo "mgr 1700 - /bin/sh /x/mgr_case.sh $runs" >"$tmp/cases"

nested_run "$tmp/cases" "$x" "$build_dir/guest/nested-mgr.log"
grep -e '^NESTED cpu' -e '^NESTED KVM' -e 'BENCH-' "$log" | sed 's/^NESTED-OUT mgr //' || true
nested_status nested_mgr "$build_dir/guest/nested-mgr.log"

# "<side> <round> <wall_us> <status> <maxrss_kib>" a run
nested_bench_runs mgr "$build_dir/guest/nested-mgr.log"

# the exit status of a good run of side $1: 0 for our cycle, 1 for QEMU's debug-exit of 0
good() { if [ "$1" = ours ]; then echo 0; else echo 1; fi; }

# Prints "min median" (ms) of the good runs of side $1.
stats() {
    awk -v m="$1" -v g="$(good "$1")" '$1 == m && $4 == g { print $3 }' "$tmp/runs" |
        bench_min_median 1000
}

per_second() {
    awk -v m="$1" 'BEGIN { if (m + 0 > 0) printf "%.2f", 1000 / m; else printf "n/a" }'
}

ours=$(stats ours)
omed=${ours#* }
printf "%-44s %6s %10s %10s %9s %9s\n" "cycle (ms)" runs min median starts/s ours/qemu
for m in ours qemu; do
    s=$(stats "$m")
    med=${s#* }
    n=$(awk -v m="$m" -v g="$(good "$m")" '$1 == m && $4 == g' "$tmp/runs" | wc -l)
    case "$m" in
    ours) label="bareiron create+start+poweroff+delete" r=- ;;
    *) label="qemu -M microvm start+debug-exit" r=$(bench_ratio "$omed" "$med") ;;
    esac
    # shellcheck disable=SC2086 # $s is "min median"
    printf "%-44s %6s %10s %10s %9s %9s\n" "$label" "$n/$runs" $s "$(per_second "$med")" "$r"
done
bad=$(awk '($1 == "ours" && $4 != 0) || ($1 == "qemu" && $4 != 1)' "$tmp/runs" | wc -l)
[ "$bad" = 0 ] || echo "note: $bad run(s) with an unexpected exit status (not counted):" \
    "$(awk '($1 == "ours" && $4 != 0) || ($1 == "qemu" && $4 != 1) { printf "%s#%s=%s ", $1, $2, $4 }' "$tmp/runs")"

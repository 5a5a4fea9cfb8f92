#!/bin/sh
# SPDX-License-Identifier: MIT
# Start latency and monitor memory on a machine WITHOUT /dev/kvm: runs bareiron-vmm and QEMU
# (-accel kvm, -M microvm and -M pc) in the same run inside the nested L1 guest of
# scripts/nested-kvm.sh (Debian's kernel under QEMU/TCG with an emulated SVM CPU, kvm-amd
# loaded), against L1's nested /dev/kvm. The guest is the 128 MiB isa-debug-exit multiboot
# payload of bench/start_latency.sh (tests/integration/vmm_util.py), which leaves at its first
# instruction. Per run, bench/nested/runstat (a static timer built here) reports the wall time
# from fork to exit and the child's peak RSS (wait4 ru_maxrss). Copies into the EXTRA_DIR (/x/
# in L1): qemu-system-x86_64 with the libraries ldd lists and the loader, the firmware and
# option ROMs -M microvm/-M pc load for a multiboot -kernel, the payload, runstat and
# bench/nested/case.sh. Prints min/median of ours and QEMU and the ratio ours/QEMU (medians).
# Only the ratio means anything, and even it is skewed: both monitors' host-side work runs
# under TCG. docs/benchmarks.md, "Nested KVM inside QEMU/TCG".
# Usage: bench/nested.sh BUILD_DIR [RUNS]   (default RUNS 5; one L1 boot for everything)
# Environment: NESTED_* as for scripts/nested-kvm.sh; here NESTED_SMP defaults to 1 (with two L1
#   CPUs L1 was seen to stop after a few runs) and NESTED_TIMEOUT to 1800.
# Exit status: 0 figures printed, or skipped (L1 has no /dev/kvm), 1 setup or run failure.
set -eu
bench_name=nested
. "$(dirname "$0")/lib.sh"

build_dir=${1:?usage: bench/nested.sh BUILD_DIR [RUNS]}
runs=${2:-5}
bench_need_qemu
bench_need_built "$build_dir/src/vmm/bareiron-vmm"
bench_tmp
x="$tmp/x"
root="$x/root"
. "$here/bench/nested/lib.sh"

# QEMU, its libraries and the loader at the paths ldd names, and what -nodefaults -M microvm /
# -M pc open with a multiboot -kernel (strace'd with QEMU 7.2): qboot for microvm, SeaBIOS,
# kvmvapic and the fw_cfg boot ROMs for pc
nested_ship "$root" "qemu/bios-microvm.bin qemu/qboot.rom qemu/kvmvapic.bin qemu/multiboot_dma.bin
    qemu/multiboot.bin qemu/linuxboot_dma.bin qemu/linuxboot.bin qemu/pvh.bin
    seabios/bios-256k.bin seabios/bios.bin seabios/bios-microvm.bin" \
    "$qemu" /usr/bin/qemu-system-x86_64

bench_guest "$x/exit.mb" exit
${CC:-cc} -static -O2 -Wall -Wextra -Werror -o "$x/runstat" "$here/bench/nested/runstat.c"
cp "$here/bench/nested/case.sh" "$x/case.sh"
echo "bench 1700 - /bin/sh /x/case.sh $runs" >"$tmp/cases"

nested_run "$tmp/cases" "$x" "$build_dir/guest/nested-bench.log"
grep -e '^NESTED cpu' -e '^NESTED KVM' -e 'BENCH-' "$log" | sed 's/^NESTED-OUT bench //' || true
nested_status nested "$build_dir/guest/nested-bench.log"

# "<monitor> <round> <wall_us> <status> <maxrss_kib>" a run
nested_bench_runs bench "$build_dir/guest/nested-bench.log"

# Prints "min median" of field $2 (divided by $3) for monitor $1, counting only runs whose
# exit status is 1 (isa-debug-exit of 0: (0 << 1) | 1).
stats() {
    awk -v m="$1" -v f="$2" '$1 == m && $4 == 1 { print $f }' "$tmp/runs" | bench_min_median "$3"
}

printf "%-22s %6s %10s %10s %8s\n" "" runs min median ours/qemu
for metric in "start-to-exit (ms):3:1000" "peak RSS (MiB):5:1024"; do
    name=${metric%%:*}
    rest=${metric#*:}
    field=${rest%%:*}
    div=${rest#*:}
    echo "$name"
    omed=$(stats ours "$field" "$div" | cut -d' ' -f2)
    for m in ours microvm pc; do
        s=$(stats "$m" "$field" "$div")
        n=$(awk -v m="$m" '$1 == m && $4 == 1' "$tmp/runs" | wc -l)
        r=-
        [ "$m" = ours ] || r=$(bench_ratio "$omed" "$(echo "$s" | cut -d' ' -f2)")
        case "$m" in
        ours) label=bareiron-vmm ;;
        *) label="qemu -M $m" ;;
        esac
        # shellcheck disable=SC2086 # $s is "min median"
        printf "  %-20s %6s %10s %10s %8s\n" "$label" "$n/$runs" $s "$r"
    done
done
bad=$(awk '$4 != 1' "$tmp/runs" | wc -l)
[ "$bad" = 0 ] || echo "note: $bad run(s) did not exit with status 1 (not counted):" \
    "$(awk '$4 != 1 { printf "%s#%s=%s ", $1, $2, $4 }' "$tmp/runs")"

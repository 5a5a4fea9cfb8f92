#!/bin/sh
# SPDX-License-Identifier: MIT
# Linux boot to userspace: the wall time from the monitor's process start to the first line the
# initramfs' /init prints ("ITEST INIT", tests/guest/initramfs/init), for bareiron-vmm and QEMU
# -M microvm in the same run, with the same kernel (Debian's, scripts/get-guest-kernel.sh),
# initramfs (scripts/mkinitramfs.sh), command line, 1 vCPU and 512 MiB. Both boot the vmlinux
# inside Debian's bzImage through its PVH entry (the main comparison) and the bzImage itself
# (ours decompresses it on the host, QEMU's qboot lets the kernel decompress itself).
# bench/nested/boot_case.sh does the runs (warm-up, then RUNS interleaved rounds, each run timed
# by bench/nested/runstat, which kills the monitor once the line appears).
# Where: on a real KVM host directly; on a kvm-pvm host or without /dev/kvm (where Linux cannot
# reach userspace) inside the nested L1 guest of scripts/nested-kvm.sh (QEMU/TCG with an
# emulated SVM CPU), where only the ratio ours/QEMU means anything (docs/benchmarks.md).
# Prints min/median (ms) per configuration and the ratio ours/QEMU (medians).
# Usage: bench/linux_boot.sh [BUILD_DIR] [RUNS]   (defaults: build, 5)
# Environment: BAREIRON_HOST_KIND=kvm-pvm|none runs it nested on a KVM host
#   (scripts/host-kind.sh); LINUX_BOOT_CMDLINE replaces the kernel command line (it must keep
#   itest=boot or leave /init its default scenario); LINUX_BOOT_CONFIGS limits the
#   configurations (of ours-pvh microvm-pvh ours-bz microvm-bz, bench/nested/boot_case.sh);
#   LINUX_BOOT_DIAG=1 adds one run of each PVH configuration without `quiet`, whose timestamped
#   kernel log is kept in the log file; NESTED_* as for scripts/nested-kvm.sh (NESTED_SMP
#   defaults to 1, NESTED_TIMEOUT to 3600).
# Output of the runs: BUILD_DIR/guest/linux-boot.log. Exit status: 0 figures printed, or skipped
# (L1 has no nested KVM, no guest kernel or initramfs), 1 setup or run failure.
set -eu
bench_name=linux_boot
. "$(dirname "$0")/lib.sh"

build_dir=${1:-build}
runs=${2:-5}
vmm="$build_dir/src/vmm/bareiron-vmm"
cmdline=${LINUX_BOOT_CMDLINE:-console=ttyS0 quiet panic=-1 8250.nr_uarts=1 no_timer_check \
tsc=reliable itest=boot}
saved="$build_dir/guest/linux-boot.log"

# the host kind (kvm, kvm-pvm or none; BAREIRON_HOST_KIND forces a lesser one): Linux reaches
# userspace only on real KVM, anywhere else it runs in the nested L1
kind=$("$here/scripts/host-kind.sh") || exit 1
bench_need_qemu
bench_need_built "$vmm"
kernel=$("$here/scripts/get-guest-kernel.sh" "$build_dir") || {
    echo "skipped: no guest kernel (get-guest-kernel.sh failed)"
    exit 0
}
initrd=$("$here/scripts/mkinitramfs.sh" "$build_dir") || {
    echo "skipped: no initramfs (mkinitramfs.sh failed)"
    exit 0
}
# the vmlinux inside the bzImage (Debian's has the PVH note, CONFIG_PVH=y), cached
vmlinux="$build_dir/guest/vmlinux-$(basename "$kernel" | sed 's/^vmlinuz-//')"
if [ ! -f "$vmlinux" ] || [ -n "$(find "$kernel" -newer "$vmlinux")" ]; then
    /usr/bin/python3 -c "
import sys; sys.path.insert(0, '$here/tests/integration')
import boot_util
boot_util.extract_vmlinux('$kernel', '$vmlinux.tmp')"
    mv "$vmlinux.tmp" "$vmlinux"
fi

bench_tmp
x="$tmp/x"
mkdir -p "$x"
cp "$vmlinux" "$x/vmlinux"
cp "$kernel" "$x/vmlinuz"
cp "$initrd" "$x/initrd.gz"
cp "$here/bench/nested/boot_case.sh" "$x/boot_case.sh"
${CC:-cc} -static -O2 -Wall -Wextra -Werror -o "$x/runstat" "$here/bench/nested/runstat.c"
diag=
[ "${LINUX_BOOT_DIAG:-0}" = 1 ] && diag=-d
configs=${LINUX_BOOT_CONFIGS:-ours-pvh microvm-pvh ours-bz microvm-bz}

if [ "$kind" = kvm ]; then
    where="directly on this host's KVM"
    # shellcheck disable=SC2086 # $diag is one optional word
    sh "$x/boot_case.sh" $diag -c "$configs" "$runs" "$x" "$vmm" "$qemu" "$cmdline" \
        >"$tmp/log" 2>&1 || true
    cp "$tmp/log" "$saved"
    sed 's/^/BENCH-OUT /' "$tmp/log" >"$tmp/runs.raw"
else
    where="in the nested KVM (this host: $kind)"
    root="$x/root"
    . "$here/bench/nested/lib.sh"
    # QEMU with its libraries and the loader, and what -M microvm opens for a -kernel: qboot
    # (bios-microvm.bin), pvh.bin for an ELF, linuxboot_dma.bin for a bzImage (strace'd, 7.2)
    nested_ship "$root" "qemu/bios-microvm.bin qemu/pvh.bin qemu/linuxboot_dma.bin" \
        "$qemu" /usr/bin/qemu-system-x86_64
    echo "lboot 3500 - /bin/sh /x/boot_case.sh -i /x/root $diag -c '$configs' $runs /x" \
        "/bin/bareiron-vmm /usr/bin/qemu-system-x86_64 '$cmdline'" >"$tmp/cases"
    NESTED_TIMEOUT=${NESTED_TIMEOUT:-3600} nested_run "$tmp/cases" "$x" "$saved"
    grep -e '^NESTED cpu' -e '^NESTED KVM' "$log" || true
    nested_status linux_boot "$saved"
    # the case's output, or when L1 ran out of time, the copies it printed on the console
    if grep -q '^NESTED-OUT lboot ' "$log"; then
        sed -n 's/^NESTED-OUT lboot /BENCH-OUT /p' "$log" >"$tmp/runs.raw"
    else
        sed -n 's/^LIVE-/BENCH-OUT /p' "$log" >"$tmp/runs.raw"
    fi
fi
tr -d '\r' <"$tmp/runs.raw" | grep -e '^BENCH-OUT BENCH-WARMUP [^|]*$' -e '^BENCH-OUT BENCH-SKIP' |
    sed 's/^BENCH-OUT //' || true
# "BENCH <config> <round> <us> <status> <maxrss_kib> <pid>"
tr -d '\r' <"$tmp/runs.raw" | sed -n 's/^BENCH-OUT BENCH //p' >"$tmp/runs"
[ -s "$tmp/runs" ] || bench_fail "no BENCH lines; log in $saved"

# "min median" (ms) of the runs of configuration $1 that reached /init
stats() {
    awk -v c="$1" '$1 == c && $4 == "0" { print $3 }' "$tmp/runs" | bench_min_median 1000
}

echo "Linux boot to /init ($where), command line: $cmdline"
printf "%-34s %6s %10s %10s %8s\n" "process start -> ITEST INIT (ms)" runs min median ours/qemu
for kind_of in pvh bz; do
    omed=$(stats "ours-$kind_of" | cut -d' ' -f2)
    for m in ours microvm; do
        c="$m-$kind_of"
        case " $configs " in *" $c "*) ;; *) continue ;; esac
        s=$(stats "$c")
        n=$(awk -v c="$c" '$1 == c && $4 == "0"' "$tmp/runs" | wc -l)
        r=-
        [ "$m" = ours ] || r=$(bench_ratio "$omed" "$(echo "$s" | cut -d' ' -f2)")
        case "$c" in
        ours-pvh) label="bareiron-vmm, vmlinux (PVH)" ;;
        microvm-pvh) label="qemu -M microvm, vmlinux (PVH)" ;;
        ours-bz) label="bareiron-vmm, bzImage" ;;
        microvm-bz) label="qemu -M microvm, bzImage" ;;
        esac
        # shellcheck disable=SC2086 # $s is "min median"
        printf "  %-32s %6s %10s %10s %8s\n" "$label" "$n/$runs" $s "$r"
    done
done
bad=$(awk '$4 != "0"' "$tmp/runs" | wc -l)
[ "$bad" = 0 ] || echo "note: $bad run(s) did not reach /init (not counted):" \
    "$(awk '$4 != "0" { printf "%s#%s=%s ", $1, $2, $4 }' "$tmp/runs")"
echo "log: $saved"

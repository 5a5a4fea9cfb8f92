#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs bareiron-vmm on a REAL (nested) KVM where the host has none (no /dev/kvm, or kvm-pvm,
# scripts/host-kind.sh): boots Debian's
# kernel (scripts/get-guest-kernel.sh) as "L1" inside QEMU with TCG and an emulated AMD CPU with
# SVM + NPT (QEMU's TCG implements SVM), loads kvm and kvm-amd from the same package in L1 and
# runs bareiron-vmm there against L1's /dev/kvm. The initramfs (BUILD_DIR/guest/nested.cpio.gz,
# newc written by a small Python writer so no root is needed) holds busybox-static, the kvm
# modules and their dependencies, BUILD_DIR's bareiron-vmm with the shared libraries ldd lists
# and the loader, the payloads BUILD_DIR/tests/guest/*.elf as /p/, tests/nested/init as /init,
# nested-ctl (tests/nested/ctl.c, a control-socket client), nested-dns (tests/nested/dns.c, a
# DNS server for the network cases), CASES as /cases and the files of
# EXTRA_DIR as /x/. L1's console (its serial port) is copied to stdout; the format of the
# per-case lines is described in tests/nested/init. docs/testing.md, "Nested KVM under TCG".
# Usage: scripts/nested-kvm.sh BUILD_DIR [CASES [EXTRA_DIR]]   (default CASES: the hello payload)
# Environment: NESTED_CPU (QEMU -cpu, default qemu64,+svm,+npt), NESTED_ACCEL (-accel, default
#   tcg), NESTED_SMP (L1 CPUs, default 1: with 2, L1 sometimes livelocks in its own int3-based
#   code patching under multi-threaded TCG, both CPUs looping in exc_int3/poke_int3_handler
#   while kvm toggles static keys), NESTED_MEM (2G),
#   NESTED_TIMEOUT (seconds for the whole L1 run, default 900), NESTED_KERNEL (L1 kernel),
#   NESTED_APPEND (more L1 kernel parameters), NESTED_QEMU_ARGS (more QEMU arguments, split
#   on blanks; e.g. "-monitor unix:/tmp/mon.sock,server=on,wait=off" to inspect a stuck L1).
# Exit status: 0 L1 ran every case (NESTED DONE; the cases' own results are in the output),
#   1 setup failure (no kernel, busybox, QEMU or build), 3 L1 did not finish in time,
#   4 L1 has no usable /dev/kvm (NESTED NOKVM and its dmesg lines are printed).
set -eu

build_dir=${1:?usage: nested-kvm.sh BUILD_DIR [CASES [EXTRA_DIR]]}
cases=${2:-}
extra=${3:-}
here=$(cd "$(dirname "$0")/.." && pwd)
cpu=${NESTED_CPU:-qemu64,+svm,+npt}
accel=${NESTED_ACCEL:-tcg}
smp=${NESTED_SMP:-1}
mem=${NESTED_MEM:-2G}
limit=${NESTED_TIMEOUT:-900}
busybox=/bin/busybox
vmm="$build_dir/src/vmm/bareiron-vmm"
qemu=$(command -v qemu-system-x86_64) || {
    echo "nested-kvm: qemu-system-x86_64 missing" >&2
    exit 1
}
[ -x "$busybox" ] || {
    echo "nested-kvm: $busybox missing: apt-get install busybox-static" >&2
    exit 1
}
[ -x "$vmm" ] || {
    echo "nested-kvm: $vmm is not built" >&2
    exit 1
}

kernel=${NESTED_KERNEL:-$("$here/scripts/get-guest-kernel.sh" "$build_dir")} || exit 1
kroot=$(dirname "$(dirname "$kernel")")
ver=$(basename "$kernel" | sed 's/^vmlinuz-//')
mdir="$kroot/lib/modules/$ver"
if [ ! -f "$mdir/modules.dep" ]; then
    "$busybox" depmod -b "$kroot" "$ver"
fi

stage="$build_dir/guest/nested-root"
rm -rf "$stage"
mkdir -p "$stage/bin" "$stage/lib/modules" "$stage/p" "$stage/x"
cp "$busybox" "$stage/bin/busybox"
cp "$here/tests/nested/init" "$stage/init"
cp "$vmm" "$stage/bin/bareiron-vmm"
chmod 0755 "$stage/init" "$stage/bin/busybox"

# the shared libraries and the loader, at the paths ldd names
for lib in $(ldd "$vmm" | grep -o '/[^ ]*'); do
    mkdir -p "$stage$(dirname "$lib")"
    cp -L "$lib" "$stage$lib"
done
${CC:-cc} -O2 -Wall -Wextra -Werror -o "$stage/bin/nested-ctl" "$here/tests/nested/ctl.c"
${CC:-cc} -O2 -Wall -Wextra -Werror -o "$stage/bin/nested-dns" "$here/tests/nested/dns.c"

# kvm-amd and what modules.dep says it needs, in load order (dependencies first)
line=$(grep -E '(^|/)kvm-amd\.ko(\.[a-z]+)?:' "$mdir/modules.dep") || {
    echo "nested-kvm: kvm-amd not in $ver" >&2
    exit 1
}
mods="$(echo "${line#*:}" | tr ' ' '\n' | grep . | tac) ${line%%:*}"
: >"$stage/modules"
for m in $mods; do
    b=$(basename "$m")
    case "$b" in
    *.xz) xz -dc "$mdir/$m" >"$stage/lib/modules/${b%.xz}" && b=${b%.xz} ;;
    *.zst) zstd -qdc "$mdir/$m" >"$stage/lib/modules/${b%.zst}" && b=${b%.zst} ;;
    *) cp "$mdir/$m" "$stage/lib/modules/$b" ;;
    esac
    echo "$b" >>"$stage/modules"
done

for p in "$build_dir"/tests/guest/*.elf; do
    [ -f "$p" ] && cp "$p" "$stage/p/"
done
if [ -n "$cases" ]; then
    cp "$cases" "$stage/cases"
else
    echo "hello 60 - bareiron-vmm --kernel /p/hello.elf --memory 128M --no-reboot" \
        "--serial stdio" >"$stage/cases"
fi
if [ -n "$extra" ]; then
    cp -r "$extra"/. "$stage/x/"
fi

out="$build_dir/guest/nested.cpio.gz"
python3 "$here/scripts/mkcpio.py" "$stage" "$out" --level 1
rm -rf "$stage"

log="$build_dir/guest/nested.log"
set +e
timeout -s KILL "$limit" "$qemu" -accel "$accel" -cpu "$cpu" -m "$mem" -smp "$smp" \
    -machine q35 -nodefaults -no-user-config -display none -serial stdio -no-reboot \
    -kernel "$kernel" -initrd "$out" ${NESTED_QEMU_ARGS:-} \
    -append "console=ttyS0 quiet loglevel=3 panic=-1 tsc=reliable ${NESTED_APPEND:-}" \
    </dev/null | tee "$log"
set -e
if grep -q '^NESTED NOKVM' "$log"; then
    exit 4
fi
if ! grep -q '^NESTED DONE' "$log"; then
    echo "nested-kvm: L1 did not finish within $limit s" >&2
    exit 3
fi
exit 0

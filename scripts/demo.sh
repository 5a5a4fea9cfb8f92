#!/bin/sh
# SPDX-License-Identifier: MIT
# Boots a demo VM: Debian's stock kernel (scripts/get-guest-kernel.sh) and the project's busybox
# initramfs (scripts/mkinitramfs.sh), dropping into a busybox shell on this terminal (Ctrl-A x
# quits, or type "poweroff -f").
# Usage: scripts/demo.sh [BUILD_DIR] [extra bareiron run options...]   (default: build)
set -eu

here=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${1:-build}
[ $# -gt 0 ] && shift

vmm="$build_dir/src/vmm/bareiron-vmm"
if [ ! -x "$vmm" ]; then
    echo "demo: $vmm is not built (run 'make' first)" >&2
    exit 1
fi
kernel=$("$here/scripts/get-guest-kernel.sh" "$build_dir")
initrd=$("$here/scripts/mkinitramfs.sh" "$build_dir" | tail -n 1)
kind=$("$here/scripts/host-kind.sh")
if [ "$kind" != kvm ]; then
    # No real KVM here: either no /dev/kvm, or kvm-pvm, where guest ring 0 is emulated and a
    # Linux kernel cannot reach userspace. Where QEMU is installed, run the same VM on a real KVM
    # one level down: Debian's kernel in QEMU/TCG with an emulated SVM CPU loads kvm-amd, and
    # bareiron-vmm runs the demo guest there (scripts/nested-kvm.sh, docs/testing.md "Nested KVM
    # under TCG"). Slow and not interactive: the guest boots to its /init, checks its CPUs and
    # powers off.
    case $kind in
    kvm-pvm) what="/dev/kvm here is kvm-pvm, which cannot run a Linux userland" ;;
    *) what="no usable /dev/kvm on this host" ;;
    esac
    if [ "${BAREIRON_DEMO_NESTED:-1}" != 1 ] || ! command -v qemu-system-x86_64 >/dev/null; then
        echo "demo: $what: the demo needs a real KVM (or QEMU for a nested one)" >&2
        exit 5
    fi
    echo "demo: $what; running the demo VM on a nested KVM inside"
    echo "demo: QEMU/TCG instead (about 1-2 minutes, not interactive; set BAREIRON_DEMO_NESTED=0"
    echo "demo: to skip). The guest's console follows."
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT INT TERM
    mkdir "$tmp/extra"
    cp "$kernel" "$tmp/extra/vmlinuz"
    cp "$initrd" "$tmp/extra/initrd.gz"
    echo "demo 600 - bareiron-vmm --kernel /x/vmlinuz --initrd /x/initrd.gz --cpus 2" \
        "--memory 512M --serial stdio --no-reboot --name demo" \
        "--cmdline 'console=ttyS0 panic=-1 itest=smp itest_cpus=2'" >"$tmp/cases"
    NESTED_TIMEOUT=${NESTED_TIMEOUT:-1200} "$here/scripts/nested-kvm.sh" "$build_dir" \
        "$tmp/cases" "$tmp/extra" >"$tmp/l1.log" 2>&1 &
    l1=$!
    tail -n +1 -f "$tmp/l1.log" --pid=$l1 2>/dev/null |
        sed -n -e 's/\r$//' -e 's/^NESTED-OUT demo //p' \
            -e 's/^NESTED-RC demo \([0-9-]*\) \([0-9-]*\)$/demo: bareiron-vmm exited with status \1 after \2 ms/p' \
            -e 's/^NESTED NOKVM.*/demo: the nested KVM could not be set up (see docs\/testing.md)/p'
    wait $l1 || true
    tr -d '\r' <"$tmp/l1.log" | grep -q "^NESTED-RC demo 0 "
    exit $?
fi
echo "demo: booting $(basename "$kernel") with 2 vCPUs and 512 MiB; Ctrl-A x quits"
exec "$vmm" --kernel "$kernel" --initrd "$initrd" --cpus 2 --memory 512M \
    --cmdline "console=ttyS0 quiet rdinit=/bin/busybox -- sh" --name demo "$@"

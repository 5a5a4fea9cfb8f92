#!/bin/sh
# SPDX-License-Identifier: MIT
# The one host probe (docs/testing.md "Which host runs what"): prints the kind of KVM this host
# offers, and the suite, `make demo` and bench/ decide from it what runs where.
#   kvm       /dev/kvm opens and is a hardware-virtualization KVM (VT-x/AMD-V): everything,
#             Linux guests included, runs directly
#   kvm-pvm   /dev/kvm opens but is kvm-pvm (/sys/module/kvm_pvm): guest ring 3 is native, guest
#             ring 0 is emulated; payloads and vCPU cases run directly, Linux guests that must
#             reach userspace run on the nested KVM (scripts/nested-kvm.sh)
#   none      no usable /dev/kvm: everything that needs KVM runs on the nested KVM
# BAREIRON_HOST_KIND=kvm-pvm|none makes the host behave as a lesser kind (CI uses it to run the
# no-KVM policy on a KVM host); asking for more than the host has is refused (status 2).
# Usage: scripts/host-kind.sh [--why]   (--why adds a second line saying how it decided)
set -eu

why=
[ "${1:-}" = --why ] && why=1

real=none
reason="/dev/kvm is absent"
if [ -e /dev/kvm ]; then
    if (exec 3<>/dev/kvm) 2>/dev/null; then
        if [ -d /sys/module/kvm_pvm ]; then
            real=kvm-pvm
            reason="/dev/kvm is kvm-pvm (/sys/module/kvm_pvm exists)"
        else
            real=kvm
            reason="/dev/kvm opens and is not kvm-pvm"
        fi
    else
        reason="/dev/kvm cannot be opened for reading and writing"
    fi
fi

rank() {
    case $1 in
    none) echo 0 ;;
    kvm-pvm) echo 1 ;;
    kvm) echo 2 ;;
    *) echo -1 ;;
    esac
}

kind=$real
forced=${BAREIRON_HOST_KIND:-}
if [ -n "$forced" ]; then
    if [ "$(rank "$forced")" -lt 0 ]; then
        echo "host-kind: BAREIRON_HOST_KIND=$forced is not one of kvm, kvm-pvm, none" >&2
        exit 2
    fi
    if [ "$(rank "$forced")" -gt "$(rank "$real")" ]; then
        echo "host-kind: BAREIRON_HOST_KIND=$forced asks for more than this host has ($real: $reason)" >&2
        exit 2
    fi
    [ "$forced" != "$real" ] && reason="forced by BAREIRON_HOST_KIND=$forced (really $real: $reason)"
    kind=$forced
fi
echo "$kind"
[ -n "$why" ] && echo "$reason"
exit 0

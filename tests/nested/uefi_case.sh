#!/bin/sh
# SPDX-License-Identifier: MIT
# The UEFI case of tests/integration/nested_util.py (run by tests/nested/init in L1): OVMF
# (--firmware uefi) boots the EFI image of a grub-mkrescue ISO on the IDE CD-ROM, GRUB starts
# the test kernel and initramfs (itest=boot), /init prints ITEST PASS and powers off. Twice,
# with one variable store made from Debian's template: between the boots prints
# "UEFI-VARS written" when OVMF changed the store (its boot options, on the first boot) or
# "UEFI-VARS unchanged". Each boot's output is prefixed "1| " / "2| ", its exit status printed
# as "UEFI status N=S".
# Usage: uefi_case.sh VMM CODE VARS_TEMPLATE ISO
set -u
vmm=$1
code=$2
template=$3
iso=$4
vars=/tmp/uefi-vars.fd
cp "$template" "$vars"

# streamed line by line (sed would hold its output back in a buffer), so that what the boot
# reached shows even if L1 stops (the case's flag live copies it to L1's console)
boot() {
    { "$vmm" --firmware uefi --firmware-file "$code" --firmware-vars "$vars" --cdrom "$iso" \
        --memory 512M --serial stdio --no-reboot --log-level info </dev/null 2>&1
      echo "$?" >/tmp/uefi-status; } | while IFS= read -r l; do echo "$1| $l"; done
    echo "UEFI status $1=$(cat /tmp/uefi-status)"
}

boot 1
if cmp -s "$template" "$vars"; then echo "UEFI-VARS unchanged"; else echo "UEFI-VARS written"; fi
cp "$vars" /tmp/uefi-vars.1
boot 2
if cmp -s /tmp/uefi-vars.1 "$vars"; then echo "UEFI-VARS2 unchanged"; else echo "UEFI-VARS2 written"; fi

#!/bin/sh
# SPDX-License-Identifier: MIT
# The case of bench/nested_cdrom.sh, run by tests/nested/init inside the nested L1 guest (busybox
# sh, /x/ = the EXTRA_DIR bench/nested_cdrom.sh prepared). Installs the copied QEMU (/x/root/),
# then RUNS rounds of both configurations, each booting Debian's kernel with the itest initramfs
# (`itest=cdread`: ata_piix and sr_mod, then `dd if=/dev/sr0 of=/dev/null bs=1M`, timed by
# /init) with /x/cd.iso in the IDE CD-ROM drive: bareiron-vmm (--cdrom, the secondary master;
# PCI native mode on the default split irqchip; "ours-kirq": --irqchip kernel, compatibility
# mode on IRQ 15 as QEMU's) and QEMU (-M pc, its PIIX3 IDE, the CD-ROM on the secondary master
# too). Prints "CBENCH <config> <round> bytes=N ms=M" per run (also as
# LIVE-CBENCH on /dev/console), "CBENCH-FAIL <config> <round> <status>" when a run gave none.
# Usage (a /cases line): cbench <timeout> - /bin/sh /x/cdrom_case.sh RUNS
runs=${1:-2}

if ! cp -a /x/root/. /; then
    echo "CBENCH-ERROR cannot install /x/root"
    exit 1
fi
chmod 0755 /usr/bin/qemu-system-x86_64
append="console=ttyS0 panic=-1 quiet itest=cdread"

run_one() {
    case "$1" in
    ours | ours-kirq)
        irqchip=split
        [ "$1" = ours-kirq ] && irqchip=kernel
        timeout -s KILL 600 /bin/bareiron-vmm --kernel /x/vmlinuz --initrd /x/initrd.gz \
            --memory 512M --serial stdio --no-reboot --cdrom /x/cd.iso --irqchip "$irqchip" \
            --cmdline "$append" </dev/null >/tmp/run.out 2>&1
        ;;
    qemu)
        timeout -s KILL 600 /usr/bin/qemu-system-x86_64 -M pc -accel kvm -m 512M -nodefaults \
            -no-user-config -display none -serial stdio -monitor none -no-reboot \
            -kernel /x/vmlinuz -initrd /x/initrd.gz -append "$append" \
            -drive file=/x/cd.iso,if=ide,index=2,media=cdrom,readonly=on,format=raw \
            </dev/null >/tmp/run.out 2>&1
        ;;
    esac
    rc=$?
    line=$(tr -d '\r' </tmp/run.out | grep -m1 '^ITEST CDREAD ')
    if [ -n "$line" ]; then
        echo "CBENCH $1 $2 ${line#ITEST CDREAD }"
        echo "LIVE-CBENCH $1 $2 ${line#ITEST CDREAD }" >/dev/console 2>/dev/null
    else
        echo "CBENCH-FAIL $1 $2 status=$rc"
        tr -d '\r' </tmp/run.out | tail -n 20 | sed "s/^/CBENCH-OUT $1 | /"
    fi
}

i=1
while [ "$i" -le "$runs" ]; do
    for c in ours ours-kirq qemu; do
        run_one "$c" "$i"
    done
    i=$((i + 1))
done

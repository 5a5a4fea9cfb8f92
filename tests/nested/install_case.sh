#!/bin/sh
# SPDX-License-Identifier: MIT
# The install case of tests/integration/nested_util.py (run by tests/nested/init in L1), the
# install flow in miniature: SeaBIOS boots a grub-mkrescue ISO from the IDE CD-ROM (boot order
# cdrom,disk), GRUB starts the test kernel with itest=install, and /init copies the disc to the
# empty IDE disk (the ISO is a hybrid that also boots from its MBR) with a marker in the
# disk's last sector. At its "ITEST WAIT install-change" the other disc goes in, at "ITEST WAIT
# install-eject" the drive is emptied (media-change through the control socket, nested-ctl),
# each followed by a go-ahead line; the guest powers off. Then the same machine starts again
# with the drive empty (--cdrom empty, the same boot order): SeaBIOS falls through to the disk,
# which boots GRUB and Linux, and /init finds the marker and the installed system.
# Each boot's output is prefixed "1| " / "2| ", followed by "INSTALL status N=S ms=T" (the
# monitor's exit status and the boot's wall time in L1). The same lines go to /dev/console as
# they come, prefixed "LIVE-INSTALL " (they show in the host's log even if L1 runs out of time).
# Usage: install_case.sh VMM BIOS ISO OTHER_ISO   (the disk is /tmp/d/disk.img, made empty by
# the case's blank= flag)
set -u
vmm=$1
bios=$2
iso=$3
other=$4
disk=/tmp/d/disk.img
sock=/tmp/d/install.sock
limit=600

now_ms() {
    read -r up _ </proc/uptime
    echo $((${up%.*} * 1000 + 1${up#*.}0 - 1000))
}

# waits up to $limit s for a line holding $1 in /tmp/install.out while monitor $2 runs
wait_line() {
    w=0
    while [ $w -lt $((limit * 10)) ] && kill -0 "$2" 2>/dev/null; do
        grep -q "$1" /tmp/install.out && return 0
        usleep 100000
        w=$((w + 1))
    done
    return 1
}

# boot N CDROM [ITEM...]: runs the machine with CDROM in the drive; at each "ITEST WAIT" line
# in turn sends the next ITEM through nested-ctl and a go-ahead line
boot() {
    n=$1 cd=$2
    shift 2
    rm -f /tmp/install.in /tmp/install.out "$sock"
    mkfifo /tmp/install.in
    exec 5<>/tmp/install.in
    t0=$(now_ms)
    "$vmm" --memory 512M --serial stdio --no-reboot --firmware-file "$bios" \
        --disk "$disk,format=raw,bus=ide" --cdrom "$cd" --boot cdrom,disk --control "$sock" \
        </tmp/install.in >/tmp/install.out 2>&1 &
    pid=$!
    (
        tail -f /tmp/install.out &
        echo $! >/tmp/install.tail
        wait
    ) | sed "s/^/LIVE-INSTALL $n| /" >/dev/console &
    for item in "$@"; do
        wait_line "ITEST WAIT ${item%%=*}" "$pid" || break
        nested-ctl "$sock" "${item#*=}" >>/tmp/install.ctl 2>&1
        echo go >&5
    done
    wait "$pid"
    rc=$?
    exec 5>&-
    sleep 1
    kill "$(cat /tmp/install.tail)" 2>/dev/null
    sed "s/^/$n| /" /tmp/install.out
    echo "INSTALL status $n=$rc ms=$(($(now_ms) - t0))" | tee /dev/console
}

: >/tmp/install.ctl
boot 1 "$iso" "install-change=cdrom:$other" "install-eject=cdrom:eject"
cat /tmp/install.ctl
boot 2 empty

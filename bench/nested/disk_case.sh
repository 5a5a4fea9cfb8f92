#!/bin/sh
# SPDX-License-Identifier: MIT
# The case of bench/nested_disk.sh, run by tests/nested/init inside the nested L1 guest (busybox
# sh, /x/ = the EXTRA_DIR bench/nested_disk.sh prepared). Installs the copied QEMU (/x/root/),
# makes one MIB-MiB image per configuration in L1's tmpfs (raw: sparse with the payload's
# "BAREIRON" magic; qcow2: a copy of /x/disk.qcow2), runs each configuration once as a warm-up
# (which also allocates every qcow2 cluster), then RUNS rounds of all configurations
# interleaved, each booting /p/virtio_blk.elf with `bench=1` (tests/guest/payloads/virtio_blk.c).
# L1's /tmp is tmpfs, which has no O_DIRECT in Linux 6.1: both monitors use the page cache
# (cache=writeback). QEMU uses aio=io_uring, or aio=threads when that does not start.
# Prints "DBENCH <config> <round> <the payload's BENCH fields>" per run (also as LIVE-DBENCH on
# /dev/console at once), "DBENCH-FAIL <config> <round> <status>" when a run gave no figures.
# Usage (a /cases line): dbench <timeout> - /bin/sh /x/disk_case.sh RUNS MIB RAND
runs=${1:-3}
mib=${2:-64}
nrand=${3:-1000}

if ! cp -a /x/root/. /; then
    echo "DBENCH-ERROR cannot install /x/root"
    exit 1
fi
chmod 0755 /usr/bin/qemu-system-x86_64
mkdir -p /tmp/img
for c in ours-raw qemu-raw; do
    printf BAREIRON >/tmp/img/$c
    truncate -s "${mib}M" /tmp/img/$c
done
for c in ours-qcow2 qemu-qcow2; do
    cp /x/disk.qcow2 /tmp/img/$c
done

append="bench=1 disks=1 bench_mib=$mib bench_rand=$nrand"
aio=io_uring

# the command line of configuration $1
cmd() {
    f=/tmp/img/$1
    case "$1" in
    ours-*)
        echo "/bin/bareiron-vmm --kernel /p/virtio_blk.elf --memory 256M --no-reboot --debug-exit" \
            "--serial stdio --disk $f,format=${1#ours-},cache=writeback"
        ;;
    qemu-*)
        echo "/usr/bin/qemu-system-x86_64 -M q35 -accel kvm -m 256M -nodefaults -no-user-config" \
            "-display none -serial stdio -monitor none" \
            "-device isa-debug-exit,iobase=0xf4,iosize=0x04 -kernel /p/virtio_blk.elf" \
            "-device virtio-blk-pci,drive=d,disable-legacy=on" \
            "-drive file=$f,if=none,id=d,format=${1#qemu-},cache=writeback,aio=$aio"
        ;;
    esac
}

# runs configuration $1 (round $2) with a 300 s timeout, prints its DBENCH line
run_one() {
    opt=-append
    case "$1" in ours-*) opt=--cmdline ;; esac
    # shellcheck disable=SC2046 # the command line is words
    timeout -s KILL 300 $(cmd "$1") "$opt" "$append" </dev/null >/tmp/run.out 2>&1
    rc=$?
    tr -d '\r' </tmp/run.out >/tmp/run.txt
    mv /tmp/run.txt /tmp/run.out
    line=$(grep -m1 '^BENCH ' /tmp/run.out)
    if [ -n "$line" ] && grep -q '^PASS virtio_blk$' /tmp/run.out; then
        echo "DBENCH $1 $2 ${line#BENCH }"
        echo "LIVE-DBENCH $1 $2 ${line#BENCH }" >/dev/console 2>/dev/null
    else
        echo "DBENCH-FAIL $1 $2 status=$rc"
        sed "s/^/DBENCH-OUT $1 | /" /tmp/run.out | head -n 20
    fi
}

for c in ours-raw ours-qcow2 qemu-raw qemu-qcow2; do
    run_one "$c" warmup
    if [ "$c" = qemu-raw ] && [ "$aio" = io_uring ] && ! grep -q '^BENCH ' /tmp/run.out; then
        aio=threads
        echo "DBENCH-NOTE aio=io_uring failed, using aio=threads"
        run_one "$c" warmup
    fi
done
echo "DBENCH-AIO $aio"

i=1
while [ "$i" -le "$runs" ]; do
    for c in ours-raw qemu-raw ours-qcow2 qemu-qcow2; do
        run_one "$c" "$i"
    done
    i=$((i + 1))
done

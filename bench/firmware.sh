#!/bin/sh
# SPDX-License-Identifier: MIT
# Firmware boot: wall time from launching the monitor to the first serial line of a boot sector
# that SeaBIOS loads from a virtio-blk disk, and from an El Torito CD in the IDE CD-ROM drive
# (tests/integration/firmware_util.py: it prints "BOOTED" on COM1 and powers off). Compares
# bareiron-vmm --machine pc with QEMU -M pc (-accel kvm, the same SeaBIOS, the disk on
# virtio-blk-pci, the CD on its IDE secondary master) in the same run; prints min/median (ms)
# and the ratio of our median to QEMU's.
# Usage: bench/firmware.sh [BUILD_DIR] [RUNS]    (defaults: build, 5)
set -eu
bench_name=firmware
. "$(dirname "$0")/lib.sh"

build_dir=${1:-build}
runs=${2:-5}
vmm="$build_dir/src/vmm/bareiron-vmm"
bench_need_kvm "no nested variant yet"
bench_need_built "$vmm"
[ -r /usr/share/seabios/bios-256k.bin ] || bench_fail "seabios not installed"
bench_tmp
/usr/bin/python3 - "$here/tests/integration" "$tmp" <<'PY'
import pathlib, sys
sys.path.insert(0, sys.argv[1])
import firmware_util as fu
fu.disk_image(pathlib.Path(sys.argv[2]), "BOOTED")
fu.iso_image(pathlib.Path(sys.argv[2]), "BOOTED")
PY
img="$tmp/BOOTED.img"
iso="$tmp/BOOTED.iso"

# Prints "min median" in ms of $runs runs: from the launch of the command to "BOOTED" on its
# standard output (the command is then left to power off, or killed after 60 s).
measure() {
    /usr/bin/python3 - "$runs" "$@" <<'PY' | bench_min_median 1000
import os, select, subprocess, sys, time
runs, cmd = int(sys.argv[1]), sys.argv[2:]
for _ in range(runs):
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL)
    out, seen = b"", None
    while seen is None and time.monotonic() - t0 < 60:
        if select.select([p.stdout], [], [], 0.5)[0]:
            chunk = os.read(p.stdout.fileno(), 65536)
            if not chunk:
                break
            out += chunk
            if b"BOOTED" in out:
                seen = time.monotonic()
    try:
        p.wait(timeout=10)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
    if seen is not None:
        print(int((seen - t0) * 1e6))
PY
}

# row LABEL QEMU_ARGS...: our figures ($ours), then QEMU's with QEMU_ARGS and the ratio
row() {
    label=$1
    shift
    printf "%-30s %10s %10s %8s\n" "bareiron-vmm $label" $ours -
    if command -v qemu-system-x86_64 >/dev/null; then
        q=$(measure qemu-system-x86_64 -accel kvm -M pc -m 128M -nodefaults -display none \
            -serial stdio -monitor none "$@")
        printf "%-30s %10s %10s %8s\n" "qemu -M pc $label" $q \
            "$(bench_ratio "$(echo "$ours" | cut -d' ' -f2)" "$(echo "$q" | cut -d' ' -f2)")"
    else
        echo "qemu-system-x86_64 not installed: no peer figures"
    fi
}

printf "%-30s %10s %10s %8s\n" "start-to-boot-sector (ms)" min median ratio
ours=$(measure "$vmm" --machine pc --serial stdio --memory 128M --disk "$img,format=raw")
row disk -drive "file=$img,format=raw,if=none,id=d0" -device virtio-blk-pci,drive=d0,bootindex=1
ours=$(measure "$vmm" --machine pc --serial stdio --memory 128M --cdrom "$iso" --boot cdrom)
row cdrom -drive "file=$iso,format=raw,if=ide,index=2,media=cdrom" -boot order=d

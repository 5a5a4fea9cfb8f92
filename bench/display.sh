#!/bin/sh
# SPDX-License-Identifier: MIT
# The display's cost, bareiron-vmm (--video std --display vnc=unix:) against QEMU (-device VGA
# -vnc unix:) in the same run, with the display payload (tests/guest/payloads/display.c:
# 1024x768x32 drawn once, then idle) and the RFB client of the tests (raw encoding):
#  - idle CPU: CPU time of every thread but the vCPUs' over SECONDS with a viewer connected
#    that keeps an incremental update request pending (what a viewer does), in % of one core;
#  - bytes of a full-screen update (the first frame, 1024x768x32 raw);
#  - bytes sent after the guest inverts a 64x64 square (only changed pixels should travel).
# QEMU runs with the accelerator the payload tests use here (TCG on kvm-pvm, hostkind.py):
# the vCPU threads are left out of the CPU figure, so the figures compare the display paths.
# Usage: bench/display.sh [BUILD_DIR] [SECONDS]    (defaults: build, 10)
set -eu
bench_name=display
. "$(dirname "$0")/lib.sh"

build_dir=${1:-build}
seconds=${2:-10}
vmm="$build_dir/src/vmm/bareiron-vmm"
payload="$build_dir/tests/guest/display.elf"
bench_need_kvm "the display is measured directly only"
bench_need_built "$vmm"
bench_need_built "$payload"
bench_need_qemu
bench_tmp

/usr/bin/python3 - "$here/tests/integration" "$vmm" "$payload" "$qemu" "$tmp" "$seconds" <<'PY'
import os, subprocess, sys, time
sys.path.insert(0, sys.argv[1])
import hostkind
import rfb_client as rfb

vmm, payload, qemu, tmp, seconds = sys.argv[2:7]
seconds = float(seconds)


def cpu_ns(pid, skip):
    """CPU time of the threads (skip) lets through, from schedstat (nanoseconds)."""
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            comm = open(f"/proc/{pid}/task/{tid}/comm").read().strip()
            ns = int(open(f"/proc/{pid}/task/{tid}/schedstat").read().split()[0])
        except OSError:
            continue
        if not skip(comm, int(tid)):
            total += ns
    return total


def run(name, args, sock, skip):
    p = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL)
    try:
        while True:
            line = p.stdout.readline().decode(errors="replace")
            if not line:
                raise SystemExit(f"{name}: no READY line")
            if line.startswith("READY display"):
                break
        for _ in range(100):
            if os.path.exists(sock):
                break
            time.sleep(0.05)
        c = rfb.RfbClient(path=sock)
        start = c.bytes_received
        c.full_frame()
        full = c.bytes_received - start
        # idle, a request always pending
        c.request(True)
        c.sock.settimeout(0.05)
        t0, c0 = time.monotonic(), cpu_ns(p.pid, skip)
        while time.monotonic() - t0 < seconds:
            try:
                c.read_update()
                c.request(True)
            except TimeoutError:
                pass
            except OSError:
                pass
        idle = (cpu_ns(p.pid, skip) - c0) / 1e9 / (time.monotonic() - t0) * 100
        # one 64x64 square changes
        c.sock.settimeout(10)
        before = c.bytes_received
        p.stdin.write(b"c")
        p.stdin.flush()
        got = 0
        deadline = time.monotonic() + 10
        while got < 64 * 64 and time.monotonic() < deadline:
            try:
                got += sum(w * h for (_, _, w, h, _) in c.read_update())
            except (TimeoutError, OSError):
                pass
            c.request(True)
        square = c.bytes_received - before
        c.close()
        return idle, full, square
    finally:
        p.kill()
        p.wait()


ours_args = [vmm, "--kernel", payload, "--debug-exit", "--serial", "stdio", "--video", "std",
             "--display", f"vnc=unix:{tmp}/ours.sock", "--memory", "128M"]
qemu_args = [qemu, "-name", "bench,debug-threads=on", "-machine", "pc", *hostkind.qemu_accel(), "-m", "128M", "-nodefaults",
             "-kernel", payload, "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
             "-serial", "stdio", "-display", "none", "-device", "VGA",
             "-vnc", f"unix:{tmp}/qemu.sock"]
results = []
for name, args, sock in (("bareiron-vmm", ours_args, f"{tmp}/ours.sock"),
                         ("qemu -device VGA -vnc", qemu_args, f"{tmp}/qemu.sock")):
    holder = {}

    def skip(comm, tid, holder=holder):
        if name.startswith("bareiron"):
            return not (tid == holder["pid"] or comm == "vnc")  # main and VNC threads
        return comm.startswith("CPU ")  # QEMU's vCPU threads
    p_args = args
    # run() needs the pid for the main thread: patch it in once the process exists
    orig_popen = subprocess.Popen

    def popen(*a, **kw):
        proc = orig_popen(*a, **kw)
        holder["pid"] = proc.pid
        return proc
    subprocess.Popen = popen
    try:
        results.append((name, *run(name, p_args, sock, skip)))
    finally:
        subprocess.Popen = orig_popen

print(f"{'display, 1024x768x32':28} {'idle CPU %':>11} {'full update B':>14} {'64x64 change B':>15}")
for name, idle, full, square in results:
    print(f"{name:28} {idle:11.3f} {full:14d} {square:15d}")
o, q = results[0], results[1]
ratio = lambda a, b: f"{a / b:.2f}" if b > 0 else "n/a"
print(f"{'ratio ours/QEMU':28} {ratio(o[1], q[1]):>11} {ratio(o[2], q[2]):>14} "
      f"{ratio(o[3], q[3]):>15}")
PY

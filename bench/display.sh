#!/bin/sh
# SPDX-License-Identifier: MIT
# The display's cost, bareiron-vmm (--video std --display vnc=unix:) against QEMU (-device VGA
# -vnc unix:) in the same run, with the display payload (tests/guest/payloads/display.c,
# 1024x768x32) and the RFB client of the tests (tests/integration/rfb_client.py). A viewer
# always keeps one incremental update request pending (what a viewer does). "Monitor CPU" is
# the CPU time of every thread but the vCPUs' (ours: the main and VNC threads; QEMU: all but
# its "CPU n/TCG" threads), from schedstat, in % of one core.
#  - idle: monitor CPU over SECONDS with the screen still (raw encoding);
#  - bytes of a full-screen update (the first frame; raw, and zlib);
#  - bytes sent after the guest inverts a 64x64 square (only changed pixels should travel);
#  - a typical desktop update: a 400x300 window (title bar over a gradient) moved by (+10, +6)
#    over the pattern, MOVES times; the mean bytes a move costs (raw, and zlib);
#  - full-screen redraw: the guest rewrites every pixel again and again with changing content
#    for SECONDS; the frames a second the viewer receives (area received / screen area), the
#    monitor CPU meanwhile, and the frames a second the guest drew (raw, and zlib),
#    and the monitor CPU time a frame received costs (what the load of a shared machine moves
#    least: there the VNC thread mostly waits for a core, and frames/s follow the load).
#    zlib asks for compression level 6 (rfbproto's CompressLevel pseudo-encoding) from both.
# QEMU runs with the accelerator the payload tests use here (TCG on kvm-pvm, hostkind.py): its
# vCPU thread is left out of the CPU figures, but under TCG the guest draws more slowly and
# the framebuffer's dirty tracking is partly paid for in that thread.
# Usage: bench/display.sh [BUILD_DIR] [SECONDS [MOVES]]    (defaults: build, 10, 20)
set -eu
bench_name=display
. "$(dirname "$0")/lib.sh"

build_dir=${1:-build}
seconds=${2:-10}
moves=${3:-20}
vmm="$build_dir/src/vmm/bareiron-vmm"
payload="$build_dir/tests/guest/display.elf"
bench_need_kvm "the display is measured directly only"
bench_need_built "$vmm"
bench_need_built "$payload"
bench_need_qemu
bench_tmp

/usr/bin/python3 - "$here/tests/integration" "$vmm" "$payload" "$qemu" "$tmp" "$seconds" "$moves" <<'PY'
import os, subprocess, sys, time
sys.path.insert(0, sys.argv[1])
import hostkind
import rfb_client as rfb

vmm, payload, qemu, tmp, seconds, moves = sys.argv[2:8]
seconds, moves = float(seconds), int(moves)
W, H, TILE = 1024, 768, 16
WIN_W, WIN_H = 400, 300  # the payload's window, moved by (+10, +6) from (100, 100)


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


def tiles(x, y, w, h):
    return {(tx, ty) for tx in range(x // TILE, (x + w - 1) // TILE + 1)
            for ty in range(y // TILE, (y + h - 1) // TILE + 1)}


def collect(c, want, timeout=20):
    """Reads updates (a request always pending) until every tile of (want) was sent; returns
    the bytes received."""
    before, covered = c.bytes_received, set()
    deadline = time.monotonic() + timeout
    while not want <= covered:
        if time.monotonic() > deadline:
            raise SystemExit(f"{len(want - covered)} changed tiles never sent")
        try:
            for x, y, w, h, _ in c.read_update():
                covered |= tiles(x, y, w, h)
        except (TimeoutError, OSError):
            pass
        c.request(True)
    return c.bytes_received - before


class Payload:
    def __init__(self, p):
        self.p = p

    def send(self, byte, wait=None):
        self.p.stdin.write(byte)
        self.p.stdin.flush()
        while wait:
            line = self.p.stdout.readline().decode(errors="replace")
            if not line:
                raise SystemExit("the payload ended")
            if line.startswith(wait):
                return line


def window_moves(c, guest, where):
    """The payload's window moved (moves) times from (where), or drawn first at (100, 100)
    when None; returns the mean bytes of a move and where it is now."""
    if where is None:  # the first 'w' draws it: not measured
        x, y = 100, 100
        c.request(True)
        guest.send(b"w", "MOVED")
        collect(c, tiles(x, y, WIN_W, WIN_H))
    else:
        x, y = where
    total = 0
    for _ in range(moves):
        nx = x + 10 if x + 10 + WIN_W <= W else 100
        ny = y + 6 if y + 6 + WIN_H <= H else 100
        c.request(True)
        guest.send(b"w", "MOVED")
        total += collect(c, tiles(x, y, WIN_W, WIN_H) | tiles(nx, ny, WIN_W, WIN_H))
        x, y = nx, ny
    return total / moves, (x, y)


def redraw(c, guest, pid, skip):
    """The guest redraws the whole screen for (seconds): frames a second received, monitor
    CPU %, frames a second drawn."""
    c.decode = False
    c.sock.settimeout(0.5)
    c.request(True)
    guest.send(b"f")
    t0, c0, area = time.monotonic(), cpu_ns(pid, skip), 0
    while time.monotonic() - t0 < seconds:
        try:
            area += sum(w * h for (_, _, w, h, e) in c.read_update() if e >= 0)
        except (TimeoutError, OSError):
            pass
        c.request(True)
    t = time.monotonic() - t0
    cpu = (cpu_ns(pid, skip) - c0) / 1e9 / t * 100
    drawn = int(guest.send(b"s", "DRAWN").split()[1])
    return area / (W * H) / t, cpu, drawn / t


def run(name, args, sock, skip):
    p = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL)
    guest = Payload(p)
    r = {}
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
        r["full raw"] = c.bytes_received - start
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
        r["idle"] = (cpu_ns(p.pid, skip) - c0) / 1e9 / (time.monotonic() - t0) * 100
        # one 64x64 square changes
        c.sock.settimeout(1)
        c.request(True)
        guest.send(b"c", "CHANGED")
        r["square raw"] = collect(c, tiles(256, 128, 64, 64))
        r["move raw"], where = window_moves(c, guest, None)
        c.close()
        c = rfb.RfbClient(path=sock, encodings=(rfb.ENC_ZLIB, rfb.ENC_COMPRESS_LEVEL_0 + 6))
        start = c.bytes_received
        c.full_frame()
        r["full zlib"] = c.bytes_received - start
        c.sock.settimeout(1)
        r["move zlib"], _ = window_moves(c, guest, where)
        r["fps zlib"], r["cpu zlib"], r["drawn zlib"] = redraw(c, guest, p.pid, skip)
        c.close()
        c = rfb.RfbClient(path=sock)
        c.full_frame()
        r["fps raw"], r["cpu raw"], r["drawn raw"] = redraw(c, guest, p.pid, skip)
        c.close()
        return r
    finally:
        p.kill()
        p.wait()


ours_args = [vmm, "--kernel", payload, "--debug-exit", "--serial", "stdio", "--video", "std",
             "--display", f"vnc=unix:{tmp}/ours.sock", "--memory", "128M"]
accel = hostkind.qemu_accel()
qemu_args = [qemu, "-name", "bench,debug-threads=on", "-machine", "pc", *accel, "-m", "128M",
             "-nodefaults", "-kernel", payload, "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
             "-serial", "stdio", "-display", "none", "-device", "VGA",
             "-vnc", f"unix:{tmp}/qemu.sock"]
qemu_name = f"qemu VGA -vnc ({accel[1]})"
results = []
for name, args, sock in (("bareiron-vmm", ours_args, f"{tmp}/ours.sock"),
                         (qemu_name, qemu_args, f"{tmp}/qemu.sock")):
    holder = {}

    def skip(comm, tid, holder=holder, name=name):
        if name.startswith("bareiron"):
            return not (tid == holder["pid"] or comm == "vnc")  # main and VNC threads
        return comm.startswith("CPU ")  # QEMU's vCPU threads
    # run() needs the pid for the main thread: patch it in once the process exists
    orig_popen = subprocess.Popen

    def popen(*a, **kw):
        proc = orig_popen(*a, **kw)
        holder["pid"] = proc.pid
        return proc
    subprocess.Popen = popen
    try:
        results.append((name, run(name, args, sock, skip)))
    finally:
        subprocess.Popen = orig_popen

o, q = results[0][1], results[1][1]
ratio = lambda a, b: f"{a / b:.2f}" if b > 0 else "n/a"
rows = [("idle: monitor CPU %", "idle", "{:.3f}"),
        ("full-screen update B, raw", "full raw", "{:.0f}"),
        ("full-screen update B, zlib", "full zlib", "{:.0f}"),
        ("64x64 change B, raw", "square raw", "{:.0f}"),
        ("window move B/frame, raw", "move raw", "{:.0f}"),
        ("window move B/frame, zlib", "move zlib", "{:.0f}"),
        ("redraw: frames/s received, raw", "fps raw", "{:.1f}"),
        ("redraw: monitor CPU %, raw", "cpu raw", "{:.1f}"),
        ("redraw: monitor CPU ms/frame, raw", "ms raw", "{:.1f}"),
        ("redraw: frames/s drawn, raw", "drawn raw", "{:.1f}"),
        ("redraw: frames/s received, zlib", "fps zlib", "{:.1f}"),
        ("redraw: monitor CPU %, zlib", "cpu zlib", "{:.1f}"),
        ("redraw: monitor CPU ms/frame, zlib", "ms zlib", "{:.1f}"),
        ("redraw: frames/s drawn, zlib", "drawn zlib", "{:.1f}")]
for r in (o, q):
    for enc in ("raw", "zlib"):
        r[f"ms {enc}"] = r[f"cpu {enc}"] * 10 / r[f"fps {enc}"] if r[f"fps {enc}"] > 0 else 0
print(f"{'display, 1024x768x32':34} {'bareiron-vmm':>13} {qemu_name:>24} {'ours/QEMU':>10}")
for label, key, fmt in rows:
    print(f"{label:34} {fmt.format(o[key]):>13} {fmt.format(q[key]):>24} "
          f"{ratio(o[key], q[key]):>10}")
PY

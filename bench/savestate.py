#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""The measuring half of bench/savestate.sh (see there): runs the counter payload with all of
its 64 MiB buffer touched (fill=1) under bareiron-vmm and under QEMU (migrate to a file, and
savevm/-loadvm on a qcow2 drive), saves it, restores it,
and prints one line per measurement: "<who> <memory_mib> <what> <value>", what being
save_ms (request to state on disk), state_mib (blocks the state file holds), resume_ms (spawn
of the restoring process to the first COUNT line the guest prints after it), resumed_us (ours
only: the monitor's own figure, main() to vCPUs running) and rss_mib (VmRSS at that line);
<who> is ours, ours-zstd (save with "compress": "zstd"), qemu (migrate) or qemu-savevm.

Usage: savestate.py VMM COUNTER_ELF TMPDIR RUNS ACCEL MEMORY_MIB..."""
import atexit
import json
import os
import re
import socket
import subprocess
import sys
import time

CMDLINE = "ticks=1000000 shift=14 mib=64 fill=1"
SPAWNED = []


@atexit.register
def reap():
    """Kills what a failed measurement left running."""
    for p in SPAWNED:
        if p.poll() is None:
            p.kill()
            p.wait()


def popen(args, stderr=subprocess.DEVNULL):
    p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=stderr, stdin=subprocess.DEVNULL)
    SPAWNED.append(p)
    return p
TOUCHED_TICK = 20  # saved once the guest has counted this far (its buffer is filled by then)


def read_line_matching(p, pattern, timeout=60.0):
    """Reads (p)'s stdout until a line matches (pattern); returns the time it arrived."""
    buf = b""
    os.set_blocking(p.stdout.fileno(), False)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        chunk = p.stdout.read()
        if chunk:
            buf += chunk
            if re.search(pattern, buf, re.M):
                return time.monotonic()
        elif p.poll() is not None:
            break
        else:
            time.sleep(0.0005)
    raise RuntimeError(f"no {pattern!r}: {buf[-300:]!r}")


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        kib = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
    return kib / 1024


def stop(p):
    p.kill()
    p.wait()


def our_control(sock, cmd, args=None):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    for _ in range(200):
        try:
            s.connect(sock)
            break
        except OSError:
            time.sleep(0.01)
    f = s.makefile("rw")
    f.write(json.dumps({"id": 1, "cmd": cmd, "args": args or {}}) + "\n")
    f.flush()
    r = json.loads(f.readline())
    s.close()
    if not r.get("ok"):
        raise RuntimeError(f"{cmd}: {r}")


def ours(vmm, elf, tmp, mib, compress=None):
    sock, state = f"{tmp}/ctl.sock", f"{tmp}/ours.state"
    base = [vmm, "--kernel", elf, "--memory", f"{mib}M", "--serial", "stdio", "--no-reboot",
            "--cmdline", CMDLINE]
    p = popen(base + ["--control", sock])
    read_line_matching(p, rb"^COUNT %d " % TOUCHED_TICK)
    t0 = time.monotonic()
    our_control(sock, "save", {"path": state, **({"compress": compress} if compress else {})})
    save_ms = (time.monotonic() - t0) * 1000
    p.wait(timeout=30)
    state_mib = os.stat(state).st_blocks * 512 / (1 << 20)
    t0 = time.monotonic()
    r = popen(base + ["--restore", state, "--log-level", "info"], stderr=subprocess.PIPE)
    t1 = read_line_matching(r, rb"^COUNT \d+ \d+\r?\n")
    rss = rss_mib(r.pid)
    stop(r)
    m = re.search(rb"the guest runs (\d+) us after the monitor started", r.stderr.read())
    os.unlink(state)
    return {"save_ms": save_ms, "state_mib": state_mib, "resume_ms": (t1 - t0) * 1000,
            "resumed_us": int(m.group(1)) if m else -1, "rss_mib": rss}


class Qmp:
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        for _ in range(500):
            try:
                self.s.connect(path)
                break
            except OSError:
                time.sleep(0.01)
        self.f = self.s.makefile("rw")
        self.f.readline()
        self.cmd("qmp_capabilities")

    def cmd(self, name, args=None):
        msg = {"execute": name}
        if args:
            msg["arguments"] = args
        self.f.write(json.dumps(msg) + "\n")
        self.f.flush()
        while True:
            r = json.loads(self.f.readline())
            if "return" in r:
                return r["return"]
            if "error" in r:
                raise RuntimeError(f"{name}: {r['error']}")


def qemu(elf, tmp, mib, accel):
    qmp, state = f"{tmp}/qmp.sock", f"{tmp}/qemu.state"
    base = ["qemu-system-x86_64", "-machine", "q35", "-accel", accel, "-kernel", elf,
            "-append", CMDLINE, "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
            "-serial", "stdio", "-display", "none", "-nodefaults", "-no-user-config",
            "-m", str(mib), "-no-reboot"]
    p = popen(base + ["-qmp", f"unix:{qmp},server=on,wait=off"])
    read_line_matching(p, rb"^COUNT %d " % TOUCHED_TICK)
    q = Qmp(qmp)
    t0 = time.monotonic()
    q.cmd("stop")  # paused for the whole save, as ours
    q.cmd("migrate", {"uri": f"exec:cat > {state}"})
    while q.cmd("query-migrate").get("status") not in ("completed", "failed"):
        time.sleep(0.001)
    save_ms = (time.monotonic() - t0) * 1000
    q.cmd("quit")
    p.wait(timeout=30)
    state_mib = os.stat(state).st_blocks * 512 / (1 << 20)
    if os.path.exists(qmp):
        os.unlink(qmp)
    t0 = time.monotonic()
    r = popen(base + ["-incoming", f"exec:cat {state}", "-qmp", f"unix:{qmp},server=on,wait=off"])
    q = Qmp(qmp)
    # The stream says the source was paused: the destination stays paused once loaded.
    while q.cmd("query-status")["status"] == "inmigrate":
        time.sleep(0.0005)
    q.cmd("cont")
    t1 = read_line_matching(r, rb"^COUNT \d+ \d+\r?\n")
    rss = rss_mib(r.pid)
    stop(r)
    os.unlink(state)
    return {"save_ms": save_ms, "state_mib": state_mib, "resume_ms": (t1 - t0) * 1000,
            "rss_mib": rss}


def qemu_savevm(elf, tmp, mib, accel):
    """HMP savevm into a qcow2 image (the internal snapshot holds the machine state), then a
    new QEMU started with -loadvm."""
    qmp, img = f"{tmp}/qmp.sock", f"{tmp}/qemu.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", img, "64M"], check=True)
    empty = os.stat(img).st_blocks
    base = ["qemu-system-x86_64", "-machine", "q35", "-accel", accel, "-kernel", elf,
            "-append", CMDLINE, "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
            "-serial", "stdio", "-display", "none", "-nodefaults", "-no-user-config",
            "-m", str(mib), "-no-reboot", "-drive", f"if=none,id=d0,format=qcow2,file={img}"]
    p = popen(base + ["-qmp", f"unix:{qmp},server=on,wait=off"])
    read_line_matching(p, rb"^COUNT %d " % TOUCHED_TICK)
    q = Qmp(qmp)
    t0 = time.monotonic()
    q.cmd("stop")  # paused for the whole save, as ours
    out = q.cmd("human-monitor-command", {"command-line": "savevm s1"})
    if out.strip():
        raise RuntimeError(f"savevm: {out}")
    save_ms = (time.monotonic() - t0) * 1000
    q.cmd("quit")
    p.wait(timeout=30)
    state_mib = (os.stat(img).st_blocks - empty) * 512 / (1 << 20)
    if os.path.exists(qmp):
        os.unlink(qmp)
    t0 = time.monotonic()
    r = popen(base + ["-loadvm", "s1"])
    t1 = read_line_matching(r, rb"^COUNT \d+ \d+\r?\n")
    rss = rss_mib(r.pid)
    stop(r)
    os.unlink(img)
    return {"save_ms": save_ms, "state_mib": state_mib, "resume_ms": (t1 - t0) * 1000,
            "rss_mib": rss}


def main():
    vmm, elf, tmp, runs, accel = sys.argv[1:6]
    for mib in sys.argv[6:]:
        for _ in range(int(runs)):
            for who, res in (("ours", ours(vmm, elf, tmp, int(mib))),
                             ("ours-zstd", ours(vmm, elf, tmp, int(mib), "zstd")),
                             ("qemu", qemu(elf, tmp, int(mib), accel)),
                             ("qemu-savevm", qemu_savevm(elf, tmp, int(mib), accel))):
                for what, v in res.items():
                    print(who, mib, what, f"{v:.3f}", flush=True)


if __name__ == "__main__":
    main()

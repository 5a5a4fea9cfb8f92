# SPDX-License-Identifier: MIT
"""The event loop stays responsive while a guest issues slow block operations
(docs/security.md, "Denial of service"): the ring-3 virtio-blk payload in `slow=` mode writes
32 MiB, then DISCARDs and/or WRITE_ZEROES 1 GiB in one request, round after round, and the
control socket's `query-state` must answer within 50 ms all the while. Raw: a file on tmpfs
(no FALLOC_FL_ZERO_RANGE there, so write-zeroes falls back to writing zeros). qcow2: allocating
writes, then a discard freeing every cluster they allocated.

The development host has 2 cores shared with other work, and the guest's vCPU busy-polls its
queue: a window of samples can catch a scheduling delay that has nothing to do with the monitor.
So the round trips are sampled in windows of 4 s (each spanning several rounds of the guest's
slow operations) and the case passes when one of up to 3 windows stays under 50 ms. Before the
slow operations left the event loop thread, every window saw stalls of 170-1050 ms."""
import os
import pathlib
import shutil
import signal
import subprocess
import threading
import time

import pytest

from conftest import run
import vmm_util as u

pytestmark = pytest.mark.usefixtures("need_kvm")

LIMIT_MS = 50
WINDOW_S = 4.0
WINDOWS = 3
DISK_SIZE = 2 << 30


@pytest.fixture
def shm_dir():
    """A directory on tmpfs (/dev/shm), removed afterwards; skips without one."""
    base = pathlib.Path("/dev/shm")
    if not base.is_dir():
        pytest.skip("no /dev/shm")
    d = base / f"bareiron-slowops-{os.getpid()}-{time.monotonic_ns()}"
    d.mkdir(mode=0o700)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def make_raw(path):
    with open(path, "wb") as f:
        f.write(b"BAREIRON")
        f.truncate(DISK_SIZE)


def make_qcow2(bareiron, path):
    """A 2 GiB qcow2 image holding only the payload's magic in sector 0."""
    raw = path.with_suffix(".raw")
    make_raw(raw)
    r = run([bareiron, "disk", "convert", str(raw), str(path), "--format", "qcow2", "--quiet"])
    raw.unlink()
    assert r.returncode == 0, r.stderr


def query_ms(sock):
    t0 = time.monotonic()
    reply = u.control(sock, "query-state", timeout=10)
    assert reply["ok"], reply
    return (time.monotonic() - t0) * 1000


def window(sock, lines):
    """Samples query-state for WINDOW_S; returns (worst ms, samples, payload rounds seen)."""
    rounds0 = sum(ln.startswith("SLOWOPS round") for ln in lines)
    worst, n = 0.0, 0
    end = time.monotonic() + WINDOW_S
    while time.monotonic() < end:
        worst = max(worst, query_ms(sock))
        n += 1
        time.sleep(0.005)
    return worst, n, sum(ln.startswith("SLOWOPS round") for ln in lines) - rounds0


def measure(vmm, elf, tmp_path, disk_spec, op, env=None):
    """Runs the payload on (disk_spec) in slow=(op) mode and samples query-state in windows
    until one stays under LIMIT_MS (at most WINDOWS); returns [(worst ms, samples, rounds)]."""
    sock = tmp_path / "ctl.sock"
    cmd = [str(vmm), "--kernel", str(elf), "--cmdline", f"disks=1 slow={op}", "--memory", "128M",
           "--serial", "stdio", "--no-reboot", "--debug-exit", "--control", str(sock),
           "--disk", disk_spec]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         stdin=subprocess.DEVNULL, env={**os.environ, **(env or {})})
    lines = []
    started = threading.Event()

    def reader():
        for raw in p.stdout:
            line = raw.decode(errors="replace").rstrip()
            lines.append(line)
            if line.startswith("SLOWOPS start"):
                started.set()

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    wins = []
    try:
        assert started.wait(30), "payload did not start:\n" + "\n".join(lines[-20:])
        assert u.wait_path(sock, 10)
        while len(wins) < WINDOWS and (not wins or wins[-1][0] >= LIMIT_MS):
            wins.append(window(sock, lines))
        fails = [ln for ln in lines if "FAIL" in ln]
        assert not fails, "\n".join(fails)
        assert p.poll() is None, "the monitor stopped:\n" + "\n".join(lines[-20:])
    finally:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=60)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        t.join(5)
    return wins


def check(what, wins):
    text = ", ".join(f"{w:.1f} ms over {n} samples and {r} rounds" for w, n, r in wins)
    print(f"{what}: worst query-state per window: {text}")
    worst, _, rounds = wins[-1]
    assert rounds >= 1, f"{what}: the guest finished no round of its slow operations"
    assert worst < LIMIT_MS, f"{what}: query-state took up to {text} (limit {LIMIT_MS} ms)"


@pytest.fixture
def slow_elf(build_dir):
    elf = build_dir / "tests" / "guest" / "virtio_blk.elf"
    if not elf.exists():
        pytest.skip("payload virtio_blk is not built")
    return elf


@pytest.mark.parametrize("engine", ["io_uring", "sync"])
def test_raw_zeroes_discard(vmm, slow_elf, tmp_path, shm_dir, engine):
    disk = shm_dir / "rw.img"
    make_raw(disk)
    env = {"BAREIRON_BLK_ENGINE": "sync"} if engine == "sync" else {}
    check(f"raw {engine}", measure(vmm, slow_elf, tmp_path, f"{disk},format=raw", "both", env))


@pytest.mark.parametrize("engine", ["io_uring", "sync"])
def test_qcow2_alloc_discard(vmm, bareiron, slow_elf, tmp_path, engine):
    disk = tmp_path / "rw.qcow2"
    make_qcow2(bareiron, disk)
    env = {"BAREIRON_BLK_ENGINE": "sync"} if engine == "sync" else {}
    check(f"qcow2 {engine}",
          measure(vmm, slow_elf, tmp_path, f"{disk},format=qcow2", "discard", env))

# SPDX-License-Identifier: MIT
"""`bareiron save`, `start` of a saved VM and `bareiron discard` (docs/cli.md "Saved state")
with the real monitor and the counter payload (tests/guest/payloads/counter.c), which counts
in memory and on a raw virtio-blk disk: saved, the VM is `saved` in list/show, its machine
settings are refused naming discard, and start resumes the count without a gap with the disk
matching; discard makes it powered-off and the next start boots afresh; a saved state that
is damaged is refused at start in one line naming the section, and the VM stays saved.
The monitor runs as `bareiron start` runs it: in its sandbox when the tests run as root (the
state file's descriptor is passed to it, for save and for the resume), and once more without
(BAREIRON_SANDBOX=0). Skips without /dev/kvm."""
import json
import os
import time

import pytest

from conftest import built
from mgr_util import Mgr
from test_vmm_savestate import check_continues, check_disk, counts

EXIT_STATE, EXIT_INVALID = 4, 6


@pytest.fixture(params=["default", "nosandbox"])
def mgr(request, bareiron, build_dir, tmp_path, need_kvm):
    if request.param == "default":
        m = Mgr(bareiron, tmp_path / "home")
    else:
        m = Mgr(bareiron, tmp_path / "home", extra_env={"BAREIRON_SANDBOX": "0"})
    m.is_sandboxed = os.geteuid() == 0 and request.param == "default"
    m.payload = built(build_dir / "tests" / "guest" / "counter.elf")
    m.serial = tmp_path / "serial.log"
    m.disk = tmp_path / "disk.img"
    m.disk.write_bytes(bytes(1 << 20))
    yield m
    m.kill_monitors()


def serial(mgr):
    return mgr.serial.read_bytes() if mgr.serial.exists() else b""


def wait_count(mgr, n, timeout=30):
    """Waits until the serial log holds COUNT (n) or more; returns it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        c = counts(serial(mgr))
        if c and c[-1] >= n:
            return serial(mgr)
        time.sleep(0.05)
    raise AssertionError(f"no COUNT {n}: {serial(mgr)[-300:]!r}")


def create(mgr, name="c"):
    mgr.ok("create", name, "--kernel", mgr.payload, "--memory", "128M", "--cmdline",
           "ticks=100000 shift=18 disk=1", "--serial", f"file:{mgr.serial}", "--disk",
           f"{mgr.disk},format=raw")


def save(mgr, name="c", after=30):
    """Starts (or resumes) (name), lets it count to (after), saves it; returns the serial."""
    wait_count(mgr, after)
    r = mgr.ok("save", name)
    assert "saved" in r.stdout
    return serial(mgr)


def is_sandboxed(mgr, name):
    """Whether VM (name)'s monitor runs with --sandbox."""
    with open(f"/proc/{mgr.pid(name)}/cmdline", "rb") as f:
        return b"--sandbox" in f.read().split(b"\0")


def test_save_resume_discard(mgr):
    create(mgr)
    mgr.ok("start", "c")
    assert is_sandboxed(mgr, "c") == mgr.is_sandboxed  # saved inside the jail as root
    before = save(mgr)
    assert mgr.state("c") == "saved"
    assert "State:         saved (" in mgr.ok("show", "c").stdout
    rows = json.loads(mgr.ok("list", "--json").stdout)
    assert [r["state"] for r in rows if r["name"] == "c"] == ["saved"]
    state = mgr.vm_dir("c") / "saved.state"
    assert state.exists() and not (mgr.vm_dir("c") / "saved.state.new").exists()
    last = counts(before)[-1]
    check_disk(mgr.disk, last)
    disk_at_save = mgr.disk.read_bytes()

    # the machine's settings wait for discard; the others may change
    for opt, val in (("--cpus", "2"), ("--memory", "256M"), ("--remove-disk", "all")):
        r = mgr.run("set", "c", opt, val)
        assert r.returncode == EXIT_STATE and "discard" in r.stderr, r.stderr
        assert len(r.stderr.strip().splitlines()) == 1
    mgr.ok("set", "c", "--description", "frozen")
    r = mgr.run("save", "c")
    assert r.returncode == EXIT_STATE and "saved: cannot save" in r.stderr, r.stderr
    assert mgr.disk.read_bytes() == disk_at_save  # nothing wrote the disk while saved
    # start resumes: the count goes on from where it stopped, the disk with it
    r = mgr.ok("start", "c")
    assert "resumed" in r.stdout
    assert is_sandboxed(mgr, "c") == mgr.is_sandboxed  # and resumed there
    assert not state.exists()  # dropped once the guest runs (VirtualBox's way)
    after = wait_count(mgr, 20 + min(counts(serial(mgr)) or [0]))
    check_continues(before, after)
    check_disk(mgr.disk, counts(after)[-1])

    # a second save, then discard: powered off, and the next start boots afresh
    save(mgr, after=counts(after)[-1] + 5)
    mgr.ok("discard", "c")
    assert mgr.state("c") == "powered-off" and not state.exists()
    r = mgr.run("discard", "c")
    assert r.returncode == EXIT_STATE and "powered-off: cannot discard" in r.stderr, r.stderr
    mgr.ok("set", "c", "--cpus", "1")
    mgr.ok("start", "c")
    assert counts(wait_count(mgr, 3))[0] == 1
    mgr.ok("poweroff", "c")


def test_damaged_state_refused(mgr):
    create(mgr)
    mgr.ok("start", "c")
    save(mgr, after=5)
    state = mgr.vm_dir("c") / "saved.state"
    data = bytearray(state.read_bytes()[:1 << 16])
    com1 = data.index(b"com1\0")
    with open(state, "r+b") as f:
        f.seek(com1 + 48)
        f.write(bytes([data[com1 + 48] ^ 0x40]))
    r = mgr.run("start", "c")
    assert r.returncode == EXIT_INVALID, r.stderr
    assert "section com1: bad checksum" in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert mgr.state("c") == "saved"
    with open(state, "r+b") as f:  # truncated inside the com1 section
        f.truncate(com1 + 20)
    r = mgr.run("start", "c")
    assert r.returncode == EXIT_INVALID and "truncated" in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    mgr.ok("discard", "c")
    assert mgr.state("c") == "powered-off"


def test_save_with_network_adapter(mgr):
    """A VM with a NAT adapter (virtio-net has its saved state) saves and resumes."""
    create(mgr, "n")
    mgr.ok("set", "n", "--nic1", "nat")
    r = mgr.run("start", "n")
    if r.returncode != 0:
        pytest.skip(f"cannot start a VM with a NAT adapter here: {r.stderr.strip()}")
    before = save(mgr, "n", after=3)
    assert mgr.state("n") == "saved"
    assert "resumed" in mgr.ok("start", "n").stdout
    check_continues(before, wait_count(mgr, 10 + min(counts(serial(mgr)) or [0])))
    mgr.ok("poweroff", "n")


def qcow2_vm(mgr, tmp_path, name="q"):
    from disk_util import need_qemu_img, qemu_img
    need_qemu_img()
    d = tmp_path / f"{name}.qcow2"
    qemu_img("create", "-q", "-f", "qcow2", d, "1M")
    mgr.ok("create", name, "--kernel", mgr.payload, "--memory", "128M", "--cmdline",
           "ticks=100000 shift=18 disk=1", "--serial", f"file:{mgr.serial}", "--disk", d)
    return d


def disk_raw(tmp_path, qcow2):
    from disk_util import qemu_img
    raw = tmp_path / "check.raw"
    qemu_img("convert", "-O", "raw", qcow2, raw)
    return raw


def resumed_run(mgr, tmp_path, disk, name="q", more=30):
    """Starts saved VM (name), lets it count (more) ticks, powers it off; checks that the
    count is contiguous and the disk holds the last ticks; returns the first COUNT seen."""
    r = mgr.ok("start", name)
    assert "resumed" in r.stdout, r.stdout
    first = counts(wait_count(mgr, 0))[0]
    out = wait_count(mgr, first + more)
    mgr.ok("poweroff", name)
    c = counts(serial(mgr))
    assert c == list(range(first, first + len(c))), c[:5]
    check_disk(disk_raw(tmp_path, disk), c[-1])
    return first


def test_snapshot_with_memory(mgr, tmp_path):
    """take on a running VM saves its state with the disks' snapshots and resumes it; restored
    twice, the VM is saved and each start resumes from the same count with the disk as it
    was; take on a saved VM keeps its state too; a raw disk is refused before any pause."""
    from disk_util import qemu_img
    disk = qcow2_vm(mgr, tmp_path)
    mgr.ok("start", "q")
    wait_count(mgr, 20)
    r = mgr.ok("snapshot", "q", "take", "S1")
    assert "with its machine state" in r.stdout
    assert mgr.state("q") == "running"
    first = counts(wait_count(mgr, 0))[0]
    assert first > 20
    wait_count(mgr, first + 30)  # runs on, and writes its disk past the snapshot
    mgr.ok("poweroff", "q")
    snaps = json.loads(qemu_img("info", "--output=json", disk).stdout)["snapshots"]
    assert len(snaps) == 1
    qemu_img("check", disk)
    for _ in range(2):
        r = mgr.ok("snapshot", "q", "restore", "S1")
        assert "saved" in r.stdout and mgr.state("q") == "saved"
        assert resumed_run(mgr, tmp_path, disk) == first

    # a saved VM: the snapshot links its state
    mgr.ok("start", "q")
    save(mgr, "q", after=counts(wait_count(mgr, 0))[0] + 5)
    at = counts(serial(mgr))[-1]
    r = mgr.ok("snapshot", "q", "take", "S2")
    assert "with its machine state" in r.stdout and mgr.state("q") == "saved"
    mgr.ok("discard", "q")
    mgr.ok("snapshot", "q", "restore", "S2")
    # the first whole line after the last whole one saved (the line the save cut is finished)
    assert resumed_run(mgr, tmp_path, disk) in (at + 1, at + 2)
    mgr.ok("snapshot", "q", "delete", "S2")
    assert not (mgr.vm_dir("q") / "snapshots").exists() or \
        len(list((mgr.vm_dir("q") / "snapshots").iterdir())) == 1

    # raw disks: refused before the VM is touched
    create(mgr, "r")
    mgr.ok("start", "r")
    r = mgr.run("snapshot", "r", "take", "X")
    assert r.returncode == EXIT_INVALID and "disk convert" in r.stderr, r.stderr
    assert mgr.state("r") == "running"
    mgr.ok("poweroff", "r")


def test_snapshot_live(mgr, tmp_path):
    """take --live on a running VM: memory copied while the counter runs, the VM paused only
    at the end; restored twice, each start resumes from the same count with the disk as the
    snapshot left it."""
    from disk_util import qemu_img
    disk = qcow2_vm(mgr, tmp_path)
    mgr.ok("set", "q", "--cmdline", "ticks=100000 shift=18 disk=1 mib=32 fill=1")
    mgr.ok("start", "q")
    wait_count(mgr, 20)
    r = mgr.ok("snapshot", "q", "take", "L", "--live")
    assert "with its machine state" in r.stdout and mgr.state("q") == "running"
    first = counts(wait_count(mgr, 0))[0]
    wait_count(mgr, first + 20)
    mgr.ok("poweroff", "q")
    qemu_img("check", disk)
    for _ in range(2):
        mgr.ok("snapshot", "q", "restore", "L")
        assert mgr.state("q") == "saved"
        assert resumed_run(mgr, tmp_path, disk) == first


def test_save_compressed(mgr):
    """save --compress zstd: a small state file, which start resumes (read, not mapped)."""
    create(mgr)
    mgr.ok("set", "c", "--cmdline", "ticks=100000 shift=18 disk=1 mib=64 fill=1")
    r = mgr.run("save", "c", "--compress", "lz4")
    assert r.returncode == 2 and "zstd" in r.stderr, r.stderr
    mgr.ok("start", "c")
    wait_count(mgr, 10)
    mgr.ok("save", "c", "--compress=zstd")
    before = serial(mgr)
    state = mgr.vm_dir("c") / "saved.state"
    assert state.stat().st_blocks * 512 < 4 << 20
    mgr.ok("start", "c")
    after = wait_count(mgr, 20 + min(counts(serial(mgr)) or [0]))
    check_continues(before, after)
    check_disk(mgr.disk, counts(after)[-1])
    mgr.ok("poweroff", "c")

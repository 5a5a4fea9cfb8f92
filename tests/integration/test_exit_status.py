# SPDX-License-Identifier: MIT
"""One exit status per class of error, whichever way the user gets there (base/exit_status.h,
docs/cli.md "Exit statuses"): a missing file, a disk in use and bad content give the same
status from `create`/`set`, `start` (through the real monitor), `run`, `bareiron-vmm` and
`disk`. The monitor fails on these before it opens /dev/kvm, so this runs on any host."""
import fcntl
import os

import pytest

from conftest import run
from mgr_util import Mgr
import vmm_util

EXIT_USAGE, EXIT_NOTFOUND, EXIT_STATE, EXIT_INVALID = 2, 3, 4, 6


@pytest.fixture
def kernel(tmp_path):
    return vmm_util.write_payload(tmp_path, "exit", vmm_util.debug_exit(0))


@pytest.fixture
def mgr(bareiron, vmm, tmp_path):
    m = Mgr(bareiron, tmp_path / "home", vmm=vmm)  # the real monitor
    yield m
    m.kill_monitors()


@pytest.fixture
def held_disk(bareiron, tmp_path):
    """A raw image locked by this process, as a running VM would hold it."""
    img = tmp_path / "busy.img"
    assert run([bareiron, "disk", "create", img, "16M", "--format", "raw"]).returncode == 0
    fd = os.open(img, os.O_RDWR)
    fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # conflicts with the block layer's OFD lock
    yield img
    os.close(fd)


def status_of(r):
    return r.returncode, r.stderr.strip()


def test_missing_file_is_3_everywhere(mgr, bareiron, vmm, kernel, tmp_path):
    nope = tmp_path / "nope"
    assert status_of(mgr.run("create", "a", "--kernel", nope))[0] == EXIT_NOTFOUND
    assert status_of(mgr.run("create", "a", "--disk", nope))[0] == EXIT_NOTFOUND
    mgr.ok("create", "a", "--kernel", kernel)
    assert status_of(mgr.run("set", "a", "--initrd", nope))[0] == EXIT_NOTFOUND
    for cmd in ([bareiron, "run"], [vmm]):
        r = run(cmd + ["--kernel", nope])
        assert r.returncode == EXIT_NOTFOUND and "nope" in r.stderr, r.stderr
        r = run(cmd + ["--kernel", kernel, "--disk", f"{nope},format=raw"])
        assert r.returncode == EXIT_NOTFOUND and "nope" in r.stderr, r.stderr
    assert run([bareiron, "disk", "info", nope]).returncode == EXIT_NOTFOUND
    # The kernel disappears after create: the monitor says 3 and so does start.
    gone = tmp_path / "gone.mb"
    gone.write_bytes(kernel.read_bytes())
    mgr.ok("create", "b", "--kernel", gone)
    gone.unlink()
    r = mgr.run("start", "b")
    assert r.returncode == EXIT_NOTFOUND and "gone.mb" in r.stderr, r.stderr
    assert mgr.state("b") == "powered-off"


def test_disk_in_use_is_4_everywhere(mgr, bareiron, vmm, kernel, held_disk):
    r = run([bareiron, "disk", "resize", held_disk, "32M"])
    assert r.returncode == EXIT_STATE and "in use" in r.stderr, r.stderr
    for cmd in ([bareiron, "run"], [vmm]):
        r = run(cmd + ["--kernel", kernel, "--serial", "none", "--disk", f"{held_disk},format=raw"])
        assert r.returncode == EXIT_STATE and "in use" in r.stderr, r.stderr
    mgr.ok("create", "c", "--kernel", kernel, "--disk", held_disk)
    r = mgr.run("start", "c")
    assert r.returncode == EXIT_STATE and "in use" in r.stderr, r.stderr
    assert mgr.state("c") == "powered-off"


def test_bad_content_is_6_everywhere(mgr, bareiron, vmm, tmp_path):
    junk = tmp_path / "junk"
    junk.write_text("not a kernel\n" * 100)
    bad = tmp_path / "bad.qcow2"
    bad.write_bytes(b"QFI\xfb" + b"\xff" * 508)
    for cmd in ([bareiron, "run"], [vmm]):
        assert run(cmd + ["--kernel", junk]).returncode == EXIT_INVALID
    assert run([bareiron, "disk", "info", bad]).returncode == EXIT_INVALID
    assert status_of(mgr.run("create", "d", "--disk", bad))[0] == EXIT_INVALID
    mgr.ok("create", "d", "--kernel", junk)
    r = mgr.run("start", "d")
    assert r.returncode == EXIT_INVALID and "junk" in r.stderr, r.stderr


def test_limits_agree(mgr, bareiron, vmm, kernel, tmp_path):
    """The same limits in the manager and the monitor (base/vm_limits.h)."""
    disks = []
    for i in range(9):
        d = tmp_path / f"d{i}.img"
        d.write_bytes(b"\0" * 512)
        disks.append(f"{d},format=raw")
    for cmd in ([vmm], [bareiron, "run"]):
        args = cmd + ["--kernel", kernel]
        for d in disks:
            args += ["--disk", d]
        r = run(args)
        assert r.returncode == EXIT_USAGE and "at most 8" in r.stderr, r.stderr
        r = run(cmd + ["--kernel", kernel, "--memory", "1M"])
        assert r.returncode == EXIT_USAGE and "2M" in r.stderr, r.stderr
        r = run(cmd + ["--kernel", kernel, "--name", "n" * 65])
        assert r.returncode == EXIT_USAGE and "--name" in r.stderr, r.stderr
    r = mgr.run("create", "x", *sum((["--disk", d] for d in disks), []))
    assert r.returncode == EXIT_USAGE and "at most 8" in r.stderr
    r = mgr.run("create", "x", "--memory", "1M")
    assert r.returncode == EXIT_USAGE and "2M" in r.stderr
    assert mgr.run("create", "n" * 65).returncode == EXIT_USAGE

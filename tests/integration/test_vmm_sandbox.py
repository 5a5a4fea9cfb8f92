# SPDX-License-Identifier: MIT
"""The sandboxed monitor on a real /dev/kvm with tiny multiboot payloads (docs/security.md,
"Seccomp" and "Sandbox"):

- seccomp: a forbidden system call in each thread class (main, vcpu, blk-worker; the
  BAREIRON_TEST_SECCOMP_TRAP hook makes that thread call execve("") right after its filter is
  loaded) kills the monitor with status 10 and one line naming the call and the class; the
  allowlists cover reboots (the machine rebuilt in the same process), the thread-pool and
  io_uring engines, qcow2 backing chains, cache=none and the control API.
- --sandbox: checked from outside through /proc: no_new_privs, no capabilities, uid 65534,
  an empty root, namespaces of its own, and a reboot still works inside the jail.
"""
import os
import signal
import subprocess
import time

import pytest

from conftest import run
import disk_util as du
import vmm_util as u

SECCOMP_EXIT = 10


@pytest.fixture(scope="module")
def need_seccomp(vmm, need_kvm, tmp_path_factory):
    """Skips in sanitizer builds, which run without filters (docs/security.md)."""
    k = u.write_payload(tmp_path_factory.mktemp("probe"), "probe", u.debug_exit(0))
    r = run([vmm, "--kernel", k, "--no-reboot", "--debug-exit"], stdin=subprocess.DEVNULL, timeout=30)
    if "seccomp filters are off" in r.stderr:
        pytest.skip("sanitizer build: seccomp filters are off")


pytestmark = pytest.mark.usefixtures("need_kvm", "need_seccomp")


def payload(tmp_path, name, code):
    return u.write_payload(tmp_path, name, code)


def hello(tmp_path):
    return payload(tmp_path, "hello", u.serial_write(b"hello\n") + u.debug_exit(0))


@pytest.mark.parametrize("cls", ["main", "vcpu", "blk-worker"])
def test_forbidden_syscall_kills_with_its_name(vmm, tmp_path, cls):
    disk = tmp_path / "d.raw"
    disk.write_bytes(b"\0" * (1 << 20))
    env = dict(os.environ, BAREIRON_TEST_SECCOMP_TRAP=cls, BAREIRON_BLK_ENGINE="sync")
    r = run([vmm, "--kernel", hello(tmp_path), "--no-reboot", "--debug-exit", "--disk", f"{disk},format=raw"],
            env=env, stdin=subprocess.DEVNULL, timeout=30)
    assert r.returncode == SECCOMP_EXIT, r.stderr
    assert f"seccomp: forbidden syscall execve (59) in {cls}\n" in r.stderr, r.stderr


def test_seccomp_off_allows_everything(vmm, tmp_path):
    env = dict(os.environ, BAREIRON_TEST_SECCOMP_TRAP="main")
    r = run([vmm, "--kernel", hello(tmp_path), "--no-reboot", "--debug-exit", "--seccomp", "off"], env=env,
            stdin=subprocess.DEVNULL, timeout=30)
    assert r.returncode == 1 and "hello" in r.stdout, r.stderr
    assert "seccomp" not in r.stderr
    r = run([vmm, "--kernel", hello(tmp_path), "--seccomp", "maybe"])
    assert r.returncode == 2 and "--seccomp 'maybe'" in r.stderr


def reboot_loop(vmm, tmp_path, extra, env=None, seconds=3):
    """Runs a payload that resets itself for (seconds), then SIGTERM; returns (boots, result)."""
    code = payload(tmp_path, "reset", u.serial_write(b"boot\n") + u.out8(0x64, 0xFE))
    p = subprocess.Popen([str(vmm), "--kernel", str(code), "--reboot-limit", "off"] +
                         [str(a) for a in extra],
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=env)
    time.sleep(seconds)
    p.send_signal(signal.SIGTERM)
    out, err = p.communicate(timeout=30)
    return out.count("boot"), p.returncode, err


@pytest.mark.parametrize("engine", ["uring", "sync"])
def test_reboots_under_the_filters(vmm, tmp_path, engine):
    """Every reboot rebuilds the machine (memfd, KVM_CREATE_VM, threads, disks from the
    descriptor cache, io_uring rings or worker threads) under the filters."""
    du.need_qemu_img()
    base, top = tmp_path / "base.qcow2", tmp_path / "top.qcow2"
    du.qemu_img("create", "-q", "-f", "qcow2", str(base), "8M")
    du.qemu_img("create", "-q", "-f", "qcow2", "-b", base.name, "-F", "qcow2", str(top))
    raw = tmp_path / "d.raw"
    raw.write_bytes(b"\0" * (1 << 20))
    iso = tmp_path / "cd.raw"
    iso.write_bytes(b"\1" * (1 << 20))
    ctl = tmp_path / "ctl.sock"
    env = dict(os.environ, BAREIRON_BLK_ENGINE=engine)
    boots, rc, err = reboot_loop(vmm, tmp_path, [
        "--disk", f"{top},format=qcow2", "--disk", f"{raw},format=raw,cache=none",
        "--cdrom", iso, "--rng", "--cpus", "2", "--control", ctl], env=env)
    assert rc == 128 + signal.SIGTERM, err
    assert boots >= 3, err
    assert "seccomp" not in err, err


def test_control_api_under_the_filters(vmm, tmp_path):
    spin = payload(tmp_path, "spin", u.serial_write(b"up\n") + b"\xeb\xfe")
    ctl = tmp_path / "ctl.sock"
    p = subprocess.Popen([str(vmm), "--kernel", str(spin), "--control", str(ctl), "--serial",
                          f"file:{tmp_path / 'ser.txt'}", "--vconsole",
                          f"unix:{tmp_path / 'vc.sock'}"],
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        assert u.wait_path(ctl, 10)
        for cmd in ["hello", "query-state", "query-config", "stats", "pause", "stats", "resume",
                    "power-button", "reset"]:
            assert u.control(ctl, cmd)["ok"], cmd
            time.sleep(0.2)
        time.sleep(0.5)
        stats = u.control(ctl, "stats")["result"]
        assert stats["rss_bytes"] > 0  # /proc/self/statm through the descriptor cache
        assert u.control(ctl, "poweroff")["ok"]
        _, err = p.communicate(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode == 0, err
    assert "seccomp" not in err, err
    assert not ctl.exists()


# ---- --sandbox ----

def need_root():
    if os.geteuid() != 0:
        pytest.skip("--sandbox needs root")


def jailed_pid(keeper):
    """The jailed monitor: the keeper's only child."""
    deadline = time.monotonic() + 10
    path = f"/proc/{keeper}/task/{keeper}/children"
    while time.monotonic() < deadline:
        with open(path) as f:
            kids = f.read().split()
        if kids:
            return int(kids[0])
        time.sleep(0.05)
    raise AssertionError("no jailed monitor")


def wait_running(ctl):
    """Polls query-state until the guest runs (the socket is served from the first boot's
    teardown on, before the jail, so the first answers may still say starting)."""
    deadline = time.monotonic() + 10
    state = None
    while time.monotonic() < deadline:
        state = u.control(ctl, "query-state").get("result", {}).get("state")
        if state == "running":
            return
        time.sleep(0.05)
    raise AssertionError(f"state {state}, expected running")


def status_fields(pid):
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            fields[k] = v.strip()
    return fields


def test_sandbox_from_outside(vmm, tmp_path):
    need_root()
    spin = payload(tmp_path, "spin", u.serial_write(b"up\n") + b"\xeb\xfe")
    disk = tmp_path / "d.raw"
    disk.write_bytes(b"\0" * (1 << 20))
    ctl = tmp_path / "ctl.sock"
    serial = tmp_path / "serial.txt"
    p = subprocess.Popen([str(vmm), "--kernel", str(spin), "--sandbox", "--control", str(ctl),
                          "--disk", f"{disk},format=raw", "--log-level", "info", "--serial",
                          f"file:{serial}"],
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        assert u.wait_path(ctl, 10)
        wait_running(ctl)
        pid = jailed_pid(p.pid)
        st = status_fields(pid)
        assert st["NoNewPrivs"] == "1"
        assert st["Seccomp"] == "2"
        for cap in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
            assert int(st[cap], 16) == 0, (cap, st[cap])
        assert st["Uid"].split() == ["65534"] * 4 and st["Gid"].split() == ["65534"] * 4
        assert st["NSpid"].split()[-1] == "1"  # PID 1 of its own PID namespace
        assert os.listdir(f"/proc/{pid}/root") == []
        for ns in ("mnt", "pid", "ipc", "uts"):
            assert os.readlink(f"/proc/{pid}/ns/{ns}") != os.readlink(f"/proc/self/ns/{ns}"), ns
        with open(f"/proc/{pid}/limits") as f:
            limits = f.read()
        assert [l for l in limits.splitlines() if l.startswith("Max open files")][0].split()[3:5] \
            == ["1024", "1024"]
        assert [l for l in limits.splitlines() if l.startswith("Max core file size")][0].split()[4:6] \
            == ["0", "0"]
        # every descriptor was opened before the jail: the disk is one of them
        fds = {os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")}
        assert str(disk) in fds and "/dev/kvm" in fds
        assert u.control(ctl, "stats")["result"]["rss_bytes"] > 0  # statm, opened before
        assert u.control(ctl, "reset")["ok"]  # a reboot inside the jail
        deadline = time.monotonic() + 10
        while serial.read_text().count("up") < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        wait_running(ctl)
        assert u.control(ctl, "poweroff")["ok"]
        _, err = p.communicate(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode == 0, err
    assert serial.read_text().count("up") == 2, err
    assert oct(serial.stat().st_mode & 0o777) == "0o600"  # created 0600
    assert "jailed: uid 65534 gid 65534" in err
    assert not ctl.exists()  # removed by the keeper


def test_sandbox_signal_and_user(vmm, tmp_path):
    need_root()
    boots, rc, err = reboot_loop(vmm, tmp_path, ["--sandbox", "--sandbox-user", "1234:4321",
                                                 "--log-level", "info"], seconds=2)
    assert rc == 128 + signal.SIGTERM, err
    assert boots >= 2 and "jailed: uid 1234 gid 4321" in err, err


def test_sandbox_forbidden_syscall(vmm, tmp_path):
    need_root()
    env = dict(os.environ, BAREIRON_TEST_SECCOMP_TRAP="vcpu")
    r = run([vmm, "--kernel", hello(tmp_path), "--no-reboot", "--debug-exit", "--sandbox"], env=env,
            stdin=subprocess.DEVNULL, timeout=30)
    assert r.returncode == SECCOMP_EXIT, r.stderr
    assert "seccomp: forbidden syscall execve (59) in vcpu" in r.stderr


def test_serial_log_rotation_under_the_filters(vmm, tmp_path):
    """--serial-log rotates from the vCPU thread (COM1 output) with no open or rename: the
    log is copied over FILE.old through descriptors opened at start."""
    n = 150000
    code = (b"\xb9" + n.to_bytes(4, "little") +  # mov ecx, n
            b"\x66\xba\xf8\x03" +                  # mov dx, 0x3f8
            b"\xb0\x78" +                          # mov al, 'x'
            b"\xee\xe2\xfd" +                      # out dx, al; loop
            u.debug_exit(0))
    log = tmp_path / "console.log"
    r = run([vmm, "--kernel", payload(tmp_path, "chatty", code), "--no-reboot", "--debug-exit", "--serial",
             "none", "--serial-log", f"{log},max=64K"], stdin=subprocess.DEVNULL, timeout=120)
    assert r.returncode == 1, r.stderr
    assert "seccomp" not in r.stderr and "cannot rotate" not in r.stderr, r.stderr
    old = tmp_path / "console.log.old"
    assert old.stat().st_size == 65536 and 0 < log.stat().st_size <= 65536
    assert log.stat().st_size + 2 * 65536 == n
    assert set(old.read_bytes()) == {ord("x")}
    assert oct(log.stat().st_mode & 0o777) == "0o600" == oct(old.stat().st_mode & 0o777)


def control_with_fd(sock_path, cmd, args, fd):
    """One control request with descriptor (fd) passed along (SCM_RIGHTS); the reply."""
    import json
    import socket
    req = (json.dumps({"id": 1, "cmd": cmd, "args": args}) + "\n").encode()
    with u.connect_unix(sock_path, 10) as s:
        socket.send_fds(s, [req], [fd])
        buf = b""
        while not buf.endswith(b"\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
    return json.loads(buf)


@pytest.mark.parametrize("compress", [None, "zstd"], ids=["mapped", "zstd"])
def test_sandbox_save_and_restore(vmm, build_dir, tmp_path, compress):
    """In the jail, save writes the state into a file passed with the request (a path is
    refused: nothing can be opened there), and --restore --sandbox resumes it from a --fd
    descriptor whose file is already removed: the count and the disk go on."""
    need_root()
    import test_vmm_savestate as sv
    counter = build_dir / "tests" / "guest" / "counter.elf"
    if not counter.exists():
        pytest.skip(f"{counter} is not built")
    ctl, state, disk = tmp_path / "ctl.sock", tmp_path / "vm.state", tmp_path / "disk.img"
    disk.write_bytes(bytes(1 << 20))
    extra = ("--sandbox", "--disk", f"{disk},format=raw")
    p = sv.spawn(sv.vmm_args(vmm, counter, "--control", str(ctl), *extra, cmdline="disk=1"))
    before = sv.read_until(p, rb"^COUNT 20 ")
    r = u.control(ctl, "save", {"path": str(tmp_path / "x.state")})
    assert r["error"]["code"] == "ENOTSUP" and "descriptor" in r["error"]["message"], r
    ro = os.open(state, os.O_RDONLY | os.O_CREAT | os.O_EXCL, 0o600)
    r = control_with_fd(ctl, "save", {}, ro)  # not writable: refused, the VM runs on
    os.close(ro)
    assert r["error"]["code"] == "EINVAL" and "read-only" in r["error"]["message"], r
    fd = os.open(state, os.O_RDWR)
    try:
        r = control_with_fd(ctl, "save", {"compress": compress} if compress else {}, fd)
    finally:
        os.close(fd)
    assert r.get("ok"), r
    rest, err = sv.finish(p)
    assert p.returncode == 0, err
    before += rest

    fd = os.open(state, os.O_RDONLY)
    os.unlink(state)  # the jailed monitor could not open it by path anyway
    try:
        p = subprocess.Popen(sv.vmm_args(vmm, counter, "--restore", str(state), "--fd",
                                         f"{fd}:{state}", *extra, cmdline="disk=1"),
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, pass_fds=[fd])
        sv.SPAWNED.append(p)
    finally:
        os.close(fd)
    out = sv.read_until(p, rb"^COUNT \d+ ")
    first = sv.counts(out)[0]
    out += sv.read_until(p, rb"^COUNT %d " % (first + 20))
    p.kill()
    rest, err = sv.finish(p)
    after = out + rest
    sv.check_continues(before, after)
    sv.check_disk(disk, sv.counts(after)[-1])

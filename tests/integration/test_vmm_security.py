# SPDX-License-Identifier: MIT
"""Hostile guests and images against a real monitor (docs/security.md): a guest that writes a
qcow2 header naming a host file over sector 0 of its raw disk must not get that file at the
next open (writable disks are never probed; a reboot keeps the format found at the first open),
an image's backing name is followed only as the disk's backing= policy allows (the host side
is checked directly: the monitor never opens the file, /proc/PID/fd), a guest in a
triple-fault loop is stopped as crashed by --reboot-limit with its register dumps bounded, and
a guest that breaks virtio-net's rules (tests/guest/payloads/hostile_net.c) gets NEEDS_RESET or
its frame or command dropped, while the monitor keeps answering the control socket."""
import os
import pathlib
import signal
import subprocess
import time

import pytest

from conftest import run
import vmm_util as u

pytestmark = pytest.mark.usefixtures("need_kvm")

HALT = b"\xfa\xf4\xeb\xfd"  # cli; hlt; jmp back to hlt: the vCPU sleeps until reset
SECRET = b"root:x:0:0:host secret\n"


def qcow2_header(bareiron, tmp_path, backing):
    """The bytes of a small qcow2 overlay recording (backing) (raw): what a guest would write
    over sector 0 of its disk."""
    ovl = tmp_path / "forged.qcow2"
    r = run([bareiron, "disk", "create", str(ovl), "1M", "--format", "qcow2", "--backing",
             backing, "--backing-format", "raw"])
    assert r.returncode == 0, r.stderr
    data = ovl.read_bytes()
    ovl.unlink()
    return data


def plant(disk, data):
    with open(disk, "r+b") as f:
        f.write(data)


def make_disk(path, size=4 << 20):
    with open(path, "wb") as f:
        f.truncate(size)


def open_files(pid):
    out = []
    d = f"/proc/{pid}/fd"
    for n in os.listdir(d):
        try:
            out.append(os.readlink(f"{d}/{n}"))
        except OSError:
            pass
    return out


def start(vmm, tmp_path, *disk_specs):
    k = u.write_payload(tmp_path, "halt", HALT)
    sock = tmp_path / "ctl.sock"
    args = [vmm, "--kernel", str(k), "--serial", "none", "--control", str(sock),
            "--log-level", "info"]
    for spec in disk_specs:
        args += ["--disk", spec]
    p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         stdin=subprocess.DEVNULL)
    if not u.wait_path(sock, 20):
        p.kill()
        _, err = p.communicate(timeout=20)
        pytest.fail(f"the monitor did not start: {err.decode(errors='replace')}")
    return p, sock


def stop(p):
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=30)
    return err.decode(errors="replace")


def uptime_ns(sock):
    return u.control(sock, "stats")["result"]["uptime_ns"]


@pytest.fixture
def secret(tmp_path):
    s = tmp_path / "secret.txt"
    s.write_bytes(SECRET)
    return s


def test_writable_disk_not_probed(vmm, bareiron, tmp_path, secret):
    """The review's read of a host file: a qcow2 header planted on a raw disk names a file
    next to it (allowed by backing=same-dir, so only the probe rule stands in the way)."""
    disk = tmp_path / "disk.raw"
    make_disk(disk)
    plant(disk, qcow2_header(bareiron, tmp_path, "secret.txt"))
    p, _ = start(vmm, tmp_path, str(disk))
    try:
        assert str(secret) not in open_files(p.pid)
    finally:
        err = stop(p)
    assert "used as raw" in err, err


def test_reboot_keeps_first_format(vmm, bareiron, tmp_path, secret):
    """A read-only disk is probed at the first open only: a header that appears on it later
    (written by whoever can) is not followed at the next reboot."""
    disk = tmp_path / "media.raw"
    make_disk(disk)
    p, sock = start(vmm, tmp_path, f"{disk},readonly")
    try:
        plant(disk, qcow2_header(bareiron, tmp_path, "secret.txt"))
        time.sleep(0.5)
        t0, before = time.monotonic(), uptime_ns(sock)
        assert u.control(sock, "reset")["ok"]
        deadline = t0 + 20
        rebooted = False
        while time.monotonic() < deadline and p.poll() is None:
            time.sleep(0.1)
            try:  # the new machine's uptime restarted from 0
                old = before + (time.monotonic() - t0) * 1e9
                rebooted = uptime_ns(sock) < old - 300e6
            except (OSError, ValueError, KeyError):
                pass
            if rebooted:
                break
        assert rebooted, "the machine did not reboot"
        assert str(secret) not in open_files(p.pid)
    finally:
        stop(p)


def test_backing_policy(vmm, bareiron, tmp_path, secret):
    """A tenant's qcow2 (explicit format=qcow2) naming a file outside its directory: refused by
    default, followed only with backing=any; backing=none refuses any backing file."""
    vmdir = tmp_path / "vm"
    vmdir.mkdir()
    img = vmdir / "tenant.qcow2"
    r = run([bareiron, "disk", "create", str(img), "1M", "--format", "qcow2", "--backing",
             str(secret), "--backing-format", "raw"])
    assert r.returncode == 0, r.stderr
    k = u.write_payload(tmp_path, "halt", HALT)
    r = run([vmm, "--kernel", k, "--serial", "none", "--disk", f"{img},format=qcow2"],
            stdin=subprocess.DEVNULL, timeout=30)
    assert r.returncode == 6, r.stderr
    assert "backing=same-dir" in r.stderr and str(secret) in r.stderr
    r = run([vmm, "--kernel", k, "--serial", "none", "--disk", f"{img},format=qcow2,backing=none"],
            stdin=subprocess.DEVNULL, timeout=30)
    assert r.returncode == 6 and "backing=none" in r.stderr, r.stderr
    p, _ = start(vmm, tmp_path, f"{img},format=qcow2,backing=any")
    try:
        assert str(secret) in open_files(p.pid)  # the user vouched for the chain
    finally:
        stop(p)


def test_reboot_storm_stopped(vmm, tmp_path):
    """A triple fault at every boot: without a limit the machine was rebuilt 16-31 times a
    second for ever, each time with a full register dump. (The default, 10/10s, is checked by
    test_options.c; a 60 s window keeps this test independent of the host's speed.)"""
    k = u.write_payload(tmp_path, "storm", u.triple_fault())
    r = run([vmm, "--kernel", k, "--serial", "none", "--reboot-limit", "10/60s"],
            stdin=subprocess.DEVNULL, timeout=120)
    assert r.returncode == 8, r.stderr
    assert "reset 11 times within 60 s" in r.stderr and "stopped as crashed" in r.stderr
    assert r.stderr.count("registers:") == 3, r.stderr  # the rest only counted
    assert "register dump 8 not printed" in r.stderr
    assert len(r.stderr) < 64 * 1024


def test_reboot_limit_option(vmm, tmp_path):
    k = u.write_payload(tmp_path, "storm", u.triple_fault())
    r = run([vmm, "--kernel", k, "--serial", "none", "--reboot-limit", "2/3600s"],
            stdin=subprocess.DEVNULL, timeout=60)
    assert r.returncode == 8 and "reset 3 times within 3600 s" in r.stderr, r.stderr
    r = run([vmm, "--kernel", k, "--reboot-limit", "0/1s"], timeout=10)
    assert r.returncode == 2 and "--reboot-limit" in r.stderr, r.stderr


NET_MODES = ("txshort", "txempty", "txhuge", "txloop", "txaboveram", "txlapic", "rxsmall",
             "ctrlnoack", "ctrlshort", "ctrltable", "ctrlmq", "ctrltrail")


def test_hostile_net(vmm, build_dir, tmp_path):
    """Each network class ends as bareiron promises (strict=1: NEEDS_RESET for a broken chain,
    the frame dropped and the chain returned for a bad frame or buffer, VIRTIO_NET_ERR for a
    bad command), the device works again after a reset (an ARP exchange with the NAT's
    gateway), and query-state is answered all along."""
    elf = pathlib.Path(build_dir) / "tests" / "guest" / "hostile_net.elf"
    if not elf.exists():
        pytest.skip("the ring-3 payloads are not built")
    sock = tmp_path / "control.sock"
    p = subprocess.Popen([vmm, "--kernel", elf, "--cmdline",
                          f"mode={','.join(NET_MODES)} strict=1", "--memory", "128M",
                          "--serial", "stdio", "--debug-exit", "--no-reboot", "--nic", "nat",
                          "--control", sock], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         stdin=subprocess.DEVNULL)
    answers = []
    try:
        assert u.wait_path(sock)
        while p.poll() is None and len(answers) < 2000:
            try:
                answers.append(u.control(sock, "query-state", timeout=5)["ok"])
            except (OSError, ValueError):
                p.wait(timeout=10)  # only the monitor's exit (the payload's end) may cut it
                break
            time.sleep(0.01)
        out, err = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    text = out.decode(errors="replace").replace("\r\n", "\n")
    assert p.returncode == 1, (p.returncode, text[-2000:], err[-2000:])  # debug-exit 0
    for m in ("open",) + NET_MODES:
        assert f"PASS hostile_net-{m}\n" in text, text[-3000:]
    assert "FAIL" not in text, text[-3000:]
    assert answers and all(answers), answers

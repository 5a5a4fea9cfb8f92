# SPDX-License-Identifier: MIT
"""bareiron-vmm --nic without a Linux guest (docs/vmm.md "Network adapters"): bad adapter
specs, a forward whose host port is in use, a missing tap interface and vhost=on without
/dev/vhost-net each end the monitor with one line and their documented status; with a spinning payload, the forwards listen
on the host's loopback (seccomp on: libslirp's accept runs under the main filter) and the
control API's network commands add, list and remove them and set the link. Traffic stays on
127.0.0.1. The Linux cases (DHCP, DNS, NAT, forwards, restrict=on, link down) are in
test_nested_kvm.py."""
import os
import shutil
import socket
import subprocess

import pytest

from conftest import run
import vmm_util as u

pytestmark = pytest.mark.usefixtures("need_kvm")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def spin_payload(tmp_path):
    return u.write_payload(tmp_path, "spin", b"\xeb\xfe")  # jmp $


@pytest.mark.parametrize("spec,status,text", [
    ("wifi", 2, "the type must be nat, tap or none"),
    ("nat,hostfwd=tcp:127.0.0.1:22", 2, "expected PROTO"),
    ("tap,ifname=bi-no-such0", 3, "no such network interface"),
])
def test_bad_nic(vmm, tmp_path, spec, status, text):
    r = run([vmm, "--kernel", spin_payload(tmp_path), "--serial", "none", "--nic", spec],
            timeout=30, stdin=subprocess.DEVNULL)
    assert r.returncode == status, r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and text in lines[0], r.stderr


def test_hostfwd_port_in_use(vmm, tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        r = run([vmm, "--kernel", spin_payload(tmp_path), "--serial", "none", "--nic",
                 f"nat,hostfwd=tcp::{port}-:22"], timeout=30, stdin=subprocess.DEVNULL)
    assert r.returncode == 4, r.stderr
    assert f"host port {port} is in use" in r.stderr and len(r.stderr.splitlines()) == 1


def connects(port):
    with socket.socket() as c:
        c.settimeout(5)
        return c.connect_ex(("127.0.0.1", port)) == 0


def test_forwards_and_control(vmm, tmp_path):
    port, port2 = free_port(), free_port()
    sock = tmp_path / "control.sock"
    p = subprocess.Popen([vmm, "--kernel", spin_payload(tmp_path), "--serial", "none",
                          "--control", sock, "--nic", f"nat,hostfwd=tcp::{port}-:22",
                          "--nic", "none,mac=02:00:00:00:00:02"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         stdin=subprocess.DEVNULL)
    try:
        assert u.wait_path(sock)
        assert connects(port)  # slirp accepts, then finds no guest behind it
        r = u.control(sock, "query-net")
        if not r["ok"] and r["error"]["message"] == "unknown command":
            pytest.skip("the control API codec has no network commands yet (branch mgrnet)")
        nics = r["result"]["nics"]
        assert [n["type"] for n in nics] == ["nat", "none"]
        assert nics[0]["mac"] == "52:54:00:12:34:56" and nics[0]["link"]
        assert nics[0]["hostfwd"] == [f"tcp:127.0.0.1:{port}-:22"]
        assert nics[1]["mac"] == "02:00:00:00:00:02" and not nics[1]["link"]
        rule = f"tcp::{port2}-:80"
        assert u.control(sock, "net-hostfwd-add", {"nic": 0, "rule": rule})["ok"]
        assert connects(port2)
        r = u.control(sock, "net-hostfwd-add", {"nic": 0, "rule": rule})
        assert not r["ok"] and r["error"]["code"] == "EADDRINUSE"
        r = u.control(sock, "net-hostfwd-add", {"nic": 0, "rule": "tcp:x"})
        assert not r["ok"] and r["error"]["code"] == "EINVAL"
        r = u.control(sock, "net-hostfwd-add", {"nic": 1, "rule": rule})
        assert not r["ok"] and r["error"]["code"] == "ENOTSUP"
        r = u.control(sock, "net-link", {"nic": 3, "up": False})
        assert not r["ok"] and r["error"]["code"] == "ENODEV"
        assert len(u.control(sock, "query-net")["result"]["nics"][0]["hostfwd"]) == 2
        assert u.control(sock, "net-hostfwd-remove", {"nic": 0, "rule": rule})["ok"]
        assert not connects(port2)
        assert u.control(sock, "net-link", {"nic": 0, "up": False})["ok"]
        assert not u.control(sock, "query-net")["result"]["nics"][0]["link"]
        assert u.control(sock, "poweroff")["ok"]
        p.wait(timeout=20)
        assert p.returncode == 0, p.stderr.read()
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def test_tap_fd_not_a_tap(vmm, tmp_path):
    r_fd, w_fd = os.pipe()
    try:
        r = subprocess.run([str(vmm), "--kernel", str(spin_payload(tmp_path)), "--serial", "none",
                            "--nic", f"tap,fd={r_fd}"], capture_output=True, text=True,
                           timeout=30, stdin=subprocess.DEVNULL, pass_fds=(r_fd,))
    finally:
        os.close(r_fd)
        os.close(w_fd)
    assert r.returncode == 6, r.stderr
    assert f"tap fd={r_fd}: not a tap descriptor" in r.stderr


TAP_SCRIPT = r"""
import fcntl, os, struct, subprocess, sys
TUNSETIFF, IFF_TAP, IFF_NO_PI, IFF_VNET_HDR = 0x400454ca, 0x2, 0x1000, 0x4000
subprocess.run(["ip", "tuntap", "add", "dev", "bitap0", "mode", "tap"], check=True)
subprocess.run(["ip", "tuntap", "add", "dev", "bitap1", "mode", "tap"], check=True)
fd = os.open("/dev/net/tun", os.O_RDWR)
fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", b"bitap1", IFF_TAP | IFF_NO_PI | IFF_VNET_HDR))
r = subprocess.run(sys.argv[1:] + ["--nic", "tap,ifname=bitap0", "--nic", f"tap,fd={fd}"],
                   pass_fds=(fd,), capture_output=True, text=True, timeout=30)
print(r.returncode, r.stderr.strip())
"""


def test_tap_ifname_and_fd(vmm, tmp_path):
    """Two tap adapters, one by name and one by descriptor, inside a network namespace of the
    test's own (no frame is sent: the payload only boots and exits)."""
    if os.geteuid() != 0 or shutil.which("unshare") is None or shutil.which("ip") is None:
        pytest.skip("needs root, unshare(1) and ip(8) for a network namespace")
    k = u.write_payload(tmp_path, "exit", u.debug_exit(0))
    r = run(["unshare", "-n", "/usr/bin/python3", "-c", TAP_SCRIPT, vmm, "--kernel", k,
             "--serial", "none", "--debug-exit"], timeout=60)
    if r.returncode != 0:
        pytest.skip(f"no network namespace here: {r.stderr.strip()[-200:]}")
    assert r.stdout.startswith("1 "), r.stdout  # (0 << 1) | 1: the payload ran and exited


VHOST_SCRIPT = r"""
import subprocess, sys
subprocess.run(["ip", "tuntap", "add", "dev", "bitap0", "mode", "tap"], check=True)
r = subprocess.run(sys.argv[2:] + ["--nic", "tap,ifname=bitap0,vhost=" + sys.argv[1]],
                   capture_output=True, text=True, timeout=30)
print(r.returncode, r.stderr.strip())
"""


def vhost_net_opens():
    try:
        os.close(os.open("/dev/vhost-net", os.O_RDWR))
        return True
    except OSError:
        return False


@pytest.mark.parametrize("mode", ["on", "auto", "off"])
def test_tap_vhost(vmm, tmp_path, mode):
    """vhost=on opens /dev/vhost-net at start or ends the monitor with status 3 and one line
    naming it; auto and off always start (auto falls back to the monitor's path). The frames
    themselves are the nested linux-bridge-vhost-* cases'."""
    if os.geteuid() != 0 or shutil.which("unshare") is None or shutil.which("ip") is None:
        pytest.skip("needs root, unshare(1) and ip(8) for a network namespace")
    k = u.write_payload(tmp_path, "exit", u.debug_exit(0))
    r = run(["unshare", "-n", "/usr/bin/python3", "-c", VHOST_SCRIPT, mode, vmm, "--kernel", k,
             "--serial", "none", "--debug-exit"], timeout=60)
    if r.returncode != 0:
        pytest.skip(f"no network namespace here: {r.stderr.strip()[-200:]}")
    if mode == "on" and not vhost_net_opens():
        assert r.stdout.startswith("3 "), r.stdout
        lines = r.stdout.strip().splitlines()
        assert len(lines) == 1 and "vhost=on: /dev/vhost-net: " in lines[0], r.stdout
    else:
        assert r.stdout.startswith("1 "), r.stdout


MQ_SCRIPT = r"""
import subprocess, sys
subprocess.run(["ip", "tuntap", "add", "dev", "bimq0", "mode", "tap", "multi_queue"], check=True)
subprocess.run(["ip", "tuntap", "add", "dev", "bisq0", "mode", "tap"], check=True)
for nic in ("tap,ifname=bimq0,queues=4,vhost=off", "tap,ifname=bisq0,queues=2,vhost=off"):
    r = subprocess.run(sys.argv[1:] + ["--cpus", "4", "--nic", nic], capture_output=True,
                       text=True, timeout=30)
    print(r.returncode, r.stderr.strip().replace("\n", " | "))
"""


def test_tap_multiqueue(vmm, tmp_path):
    """queues=4 on a multi-queue tap starts (4 descriptors attached to it); on a tap made without
    multi_queue the monitor ends with one line saying so. Frames: the nested cases'."""
    if os.geteuid() != 0 or shutil.which("unshare") is None or shutil.which("ip") is None:
        pytest.skip("needs root, unshare(1) and ip(8) for a network namespace")
    k = u.write_payload(tmp_path, "exit", u.debug_exit(0))
    r = run(["unshare", "-n", "/usr/bin/python3", "-c", MQ_SCRIPT, vmm, "--kernel", k,
             "--serial", "none", "--debug-exit"], timeout=90)
    if r.returncode != 0:
        pytest.skip(f"no network namespace here: {r.stderr.strip()[-200:]}")
    lines = r.stdout.strip().splitlines()
    assert lines[0] == "1 ", r.stdout
    assert lines[1].startswith("6 ") and "not a multi-queue tap" in lines[1], r.stdout

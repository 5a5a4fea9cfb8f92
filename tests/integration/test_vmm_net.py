# SPDX-License-Identifier: MIT
"""bareiron-vmm --nic without a Linux guest (docs/vmm.md "Network adapters"): bad adapter
specs, a forward whose host port is in use, a missing tap interface and vhost=on each end the
monitor with one line and their documented status; with a spinning payload, the forwards listen
on the host's loopback (seccomp on: libslirp's accept runs under the main filter) and the
control API's network commands add, list and remove them and set the link. Traffic stays on
127.0.0.1. The Linux cases (DHCP, DNS, NAT, forwards, restrict=on, link down) are in
test_nested_kvm.py."""
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
    ("tap,ifname=lo,vhost=on", 6, "not supported yet"),
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

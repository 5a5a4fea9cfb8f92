# SPDX-License-Identifier: MIT
"""The manager's network adapters (docs/cli.md "Network adapters"): --nic1..4, NAT port
forwards, restrict, MACs generated once and kept, bad input, the monitor's --nic options at
start, forwards changed while the VM runs and the adapters' counters of `stats`. They run
against the fake monitor process (mgr_fake_vmm.py, a test double of the bareiron-vmm process
that speaks the control protocol), so no guest is needed."""
import json
import re

import pytest

from mgr_util import FAKE_VMM, Mgr

EXIT_USAGE, EXIT_NOTFOUND, EXIT_STATE, EXIT_INVALID = 2, 3, 4, 6
MAC = re.compile(r"^52:54:00:[0-9a-f]{2}:[0-9a-f]{2}:[0-9a-f]{2}$")


@pytest.fixture
def mgr(bareiron, tmp_path):
    m = Mgr(bareiron, tmp_path / "home", vmm=FAKE_VMM)
    k = tmp_path / "kernel"
    k.write_bytes(b"k")
    m.kernel = k
    yield m
    m.kill_monitors()


def nics(mgr, name):
    return mgr.show(name)["config"]["network"]


def test_set_show_forward_add_delete(mgr):
    mgr.ok("create", "web", "--kernel", mgr.kernel, "--nic1", "nat",
           "--nat-forward1", "ssh,tcp,,2222,,22")
    mgr.ok("set", "web", "--nic2", "tap:tap0", "--nic3", "none",
           "--nat-forward1", "dns,udp,0.0.0.0,5353,10.0.2.15,53", "--nat-restrict1", "on")
    n = nics(mgr, "web")
    assert [x["mode"] for x in n] == ["nat", "tap", "none"]
    assert n[1]["tap"] == "tap0" and n[0]["restrict"] is True
    assert n[0]["forwards"] == [
        {"name": "ssh", "proto": "tcp", "host_ip": "127.0.0.1", "host_port": 2222,
         "guest_ip": None, "guest_port": 22},
        {"name": "dns", "proto": "udp", "host_ip": "0.0.0.0", "host_port": 5353,
         "guest_ip": "10.0.2.15", "guest_port": 53}]
    text = mgr.ok("show", "web").stdout
    assert re.search(r"NIC 1: +nat, mac 52:54:00:\S+, virtio, restrict on", text), text
    assert "Forward:     ssh: tcp 127.0.0.1:2222 -> guest:22" in text
    assert "Forward:     dns: udp 0.0.0.0:5353 -> 10.0.2.15:53" in text
    assert re.search(r"NIC 2: +tap tap0, mac", text) and "NIC 3:         none (link down)" in text
    mgr.ok("set", "web", "--nat-forward1", "delete", "ssh")
    assert [f["name"] for f in nics(mgr, "web")[0]["forwards"]] == ["dns"]
    mgr.ok("set", "web", "--remove-nic", "2")  # adapter 3 becomes 2
    assert [x["mode"] for x in nics(mgr, "web")] == ["nat", "none"]
    mgr.ok("set", "web", "--remove-nic", "all")
    assert nics(mgr, "web") == []
    assert json.loads((mgr.vm_dir("web") / "vm.json").read_text())["schema"] == 2


def test_mac_generated_once_and_kept(mgr):
    mgr.ok("create", "m", "--nic1", "nat", "--nic", "nat")  # --nic appends adapter 2
    macs = [x["mac"] for x in nics(mgr, "m")]
    assert all(MAC.match(m) for m in macs) and macs[0] != macs[1]
    mgr.ok("set", "m", "--cpus", "2", "--nat-forward1", "a,tcp,,2000,,22")
    mgr.ok("set", "m", "--nic1", "tap:tap1", "--nat-forward1", "delete", "a")
    mgr.ok("set", "m", "--nic1", "nat")
    assert [x["mac"] for x in nics(mgr, "m")] == macs
    mgr.ok("set", "m", "--nic2", "none,mac=52:54:00:aa:bb:cc")
    assert nics(mgr, "m")[1]["mac"] == "52:54:00:aa:bb:cc"
    mgr.ok("create", "other", "--nic1", "nat")
    assert nics(mgr, "other")[0]["mac"] != macs[0]


def test_mac_unique_across_the_library(mgr):
    """A MAC another VM has is refused at create and set with one line naming that VM; clone
    gives the copy MACs no other VM has; a VM may keep its own MACs when it is set again."""
    mgr.ok("create", "a", "--nic1", "nat,mac=52:54:00:aa:00:01")
    r = mgr.run("create", "b", "--nic1", "none", "--nic2", "nat,mac=52:54:00:AA:00:01")
    assert r.returncode == EXIT_USAGE, r.stderr
    assert r.stderr.strip().splitlines() == [
        "bareiron: --nic2: MAC 52:54:00:AA:00:01 is already used by VM 'a' (adapter 1): give "
        "another mac="], r.stderr
    mgr.ok("create", "b", "--nic1", "none")
    r = mgr.run("set", "b", "--nic1", "none,mac=52:54:00:aa:00:01")
    assert r.returncode == EXIT_USAGE and "already used by VM 'a'" in r.stderr, r.stderr
    mgr.ok("set", "a", "--nic1", "none", "--cpus", "2")  # its own MAC: no conflict
    mgr.ok("clone", "a", "c")
    macs = {x["mac"] for n in ("a", "b", "c") for x in nics(mgr, n)}
    assert len(macs) == 3, macs


def test_mac_filled_in_for_a_hand_written_definition(mgr):
    mgr.ok("create", "h", "--kernel", mgr.kernel)
    p = mgr.vm_dir("h") / "vm.json"
    doc = json.loads(p.read_text())
    doc["network"] = [{"mode": "nat"}]
    p.write_text(json.dumps(doc))
    mgr.ok("start", "h")
    mac = nics(mgr, "h")[0]["mac"]
    assert MAC.match(mac)
    argv = json.loads((mgr.vm_dir("h") / "run" / "fake-argv.json").read_text())
    assert argv[argv.index("--nic") + 1] == f"nat,mac={mac}"
    mgr.ok("poweroff", "h")
    mgr.ok("start", "h")
    assert nics(mgr, "h")[0]["mac"] == mac


@pytest.mark.parametrize("args,status,msg", [
    (["--nat-forward1", "ssh,tcp,,2222,,22"], EXIT_USAGE, "there is no network adapter 1"),
    (["--nic2", "nat"], EXIT_USAGE, "define --nic1 first"),
    (["--nic1", "nat", "--nat-forward1", "ssh,tcp,,2222"], EXIT_USAGE, "six comma-separated"),
    (["--nic1", "nat", "--nat-forward1", "ssh,icmp,,2222,,22"], EXIT_USAGE, "tcp or udp"),
    (["--nic1", "nat", "--nat-forward1", "ssh,tcp,,99999,,22"], EXIT_USAGE, "host port"),
    (["--nic1", "nat", "--nat-forward1", "ssh,tcp,,2222,,0"], EXIT_USAGE, "guest port"),
    (["--nic1", "nat", "--nat-forward1", "ssh,tcp,example.com,2222,,22"], EXIT_USAGE,
     "host address"),
    (["--nic1", "nat", "--nat-forward1", "ssh,tcp,,2222,192.168.0.2,22"], EXIT_USAGE,
     "10.0.2.0/24"),
    (["--nic1", "nat", "--nat-forward1", "a,b,tcp,,2222,,22"], EXIT_USAGE, "six"),
    (["--nic1", "nat", "--nat-forward1", "s,tcp,,2222,,22", "--nat-forward1",
      "s,tcp,,2223,,22"], EXIT_USAGE, "a forward named 's' already"),
    (["--nic1", "nat", "--nic2", "nat", "--nat-forward1", "a,tcp,,2222,,22", "--nat-forward2",
      "b,tcp,0.0.0.0,2222,,22"], EXIT_USAGE, "host port tcp 0.0.0.0:2222 is forwarded twice"),
    (["--nic1", "tap:tap0", "--nat-forward1", "a,tcp,,2222,,22"], EXIT_USAGE,
     "port forwards are for NAT adapters"),
    (["--nic1", "tap:tap0", "--nat-restrict1", "on"], EXIT_USAGE, "restrict is for NAT"),
    (["--nic1", "nat", "--nat-restrict1", "maybe"], EXIT_USAGE, "on or off"),
    (["--nic1", "tap:"], EXIT_USAGE, "--nic1"),
    (["--nic1", "tap:much-too-long-name"], EXIT_USAGE, "not an interface name"),
    (["--nic1", "nat", "--nic2", "nat", "--nic3", "nat", "--nic4", "nat", "--nic", "nat"],
     EXIT_USAGE, "at most 4"),
    (["--nic1", "bridge:br0"], EXIT_INVALID, "not supported yet"),
    (["--nic1", "nat,model=e1000"], EXIT_INVALID, "not supported yet"),
    (["--nic1", "nat", "--nat-forward1", "delete", "nosuch"], EXIT_NOTFOUND,
     "no forward named 'nosuch'"),
    (["--nic1", "nat", "--nat-forward1", "delete"], EXIT_USAGE, "needs a forward name"),
    (["--nic5", "nat"], EXIT_USAGE, "unknown option --nic5"),
    (["--nic1", "nat", "--nat-tftp1", "/nonexistent-tftp"], EXIT_NOTFOUND, "/nonexistent-tftp"),
    (["--nic1", "nat", "--nat-tftp1", "/etc/hostname"], EXIT_USAGE, "not a directory"),
    (["--nic1", "nat", "--nat-tftp1", "/"], EXIT_USAGE, "the root directory cannot be served"),
    (["--nic1", "tap:tap0", "--nat-tftp1", "/tmp"], EXIT_USAGE, "TFTP is for NAT adapters"),
    (["--nic1", "nat", "--nat-bootfile1", "pxe.0"], EXIT_USAGE, "no TFTP directory"),
    (["--nic1", "nat", "--nat-tftp1", "/tmp", "--nat-bootfile1", "../pxe.0"], EXIT_USAGE,
     "no '..'"),
    (["--nic1", "nat", "--nat-tftp1", "/tmp", "--nat-bootfile1", "/pxe.0"], EXIT_USAGE,
     "no leading '/'"),
    (["--nat-tftp1", "/tmp"], EXIT_USAGE, "there is no network adapter 1"),
])
def test_bad_input_one_line(mgr, args, status, msg):
    """Each problem is one line naming it, with its documented status; nothing is stored."""
    mgr.ok("create", "b")
    before = (mgr.vm_dir("b") / "vm.json").read_text()
    r = mgr.run("set", "b", *args)
    assert r.returncode == status, r.stderr
    assert msg in r.stderr and len(r.stderr.splitlines()) == 1, r.stderr
    assert (mgr.vm_dir("b") / "vm.json").read_text() == before


def test_start_passes_adapters(mgr):
    # `start` checks only that a tap adapter's interface exists (the monitor opens it as a
    # tap): "lo" stands for one here, where the test may not create devices
    mgr.ok("create", "s", "--kernel", mgr.kernel, "--nic1", "nat", "--nat-forward1",
           "ssh,tcp,,2222,,22", "--nat-forward1", "web,tcp,0.0.0.0,8080,10.0.2.15,80",
           "--nat-restrict1", "on", "--nic2", "tap:lo", "--nic3", "none")
    macs = [x["mac"] for x in nics(mgr, "s")]
    mgr.ok("start", "s")
    argv = json.loads((mgr.vm_dir("s") / "run" / "fake-argv.json").read_text())
    got = [argv[i + 1] for i, a in enumerate(argv) if a == "--nic"]
    assert got == [
        f"nat,mac={macs[0]},hostfwd=tcp:127.0.0.1:2222-:22,"
        f"hostfwd=tcp:0.0.0.0:8080-10.0.2.15:80,restrict=on",
        f"tap,ifname=lo,mac={macs[1]}",
        f"none,mac={macs[2]}"]


def test_start_missing_tap_device(mgr):
    mgr.ok("create", "t", "--kernel", mgr.kernel, "--nic1", "nat", "--nic2", "tap:nosuchtap7")
    r = mgr.run("start", "t")
    assert r.returncode == EXIT_NOTFOUND, r.stderr
    assert "network adapter 2: there is no network interface 'nosuchtap7'" in r.stderr
    assert len(r.stderr.splitlines()) == 1 and mgr.state("t") == "powered-off"


def test_start_refused_by_a_monitor_without_network(mgr):
    mgr.ok("create", "old", "--kernel", mgr.kernel, "--nic1", "nat")
    r = mgr.run("start", "old", env={"FAKE_VMM_MODE": "no-nic"})
    assert r.returncode == EXIT_INVALID and "does not support yet" in r.stderr
    assert "--remove-nic all" in r.stderr and len(r.stderr.splitlines()) == 1
    assert mgr.state("old") == "powered-off"
    mgr.ok("set", "old", "--remove-nic", "all")
    mgr.ok("start", "old", env={"FAKE_VMM_MODE": "no-nic"})
    st = json.loads(mgr.ok("stats", "old", "--json").stdout)
    assert "nics" not in st  # the monitor answers ENOTSUP: no network rows


def test_forwards_change_live(mgr):
    mgr.ok("create", "l", "--kernel", mgr.kernel, "--nic1", "nat", "--nic2", "none",
           "--nat-forward1", "ssh,tcp,,2222,,22")
    mgr.ok("start", "l", env={"FAKE_VMM_BUSY_PORTS": "8080"})

    def live():
        return json.loads(mgr.ok("stats", "l", "--json").stdout)["nics"][0]["hostfwd"]

    assert live() == ["tcp:127.0.0.1:2222-:22"]
    mgr.ok("set", "l", "--nat-forward1", "web,tcp,,8000,,80")
    assert live() == ["tcp:127.0.0.1:2222-:22", "tcp:127.0.0.1:8000-:80"]
    mgr.ok("set", "l", "--nat-forward1", "delete", "ssh")
    assert live() == ["tcp:127.0.0.1:8000-:80"]
    assert [f["name"] for f in nics(mgr, "l")[0]["forwards"]] == ["web"]
    # the monitor refuses a port in use: nothing changes, in the VM or its definition
    before = (mgr.vm_dir("l") / "vm.json").read_text()
    r = mgr.run("set", "l", "--nat-forward1", "delete", "web", "--nat-forward1",
                "busy,tcp,,8080,,80")
    assert r.returncode == EXIT_STATE and "8080" in r.stderr and "in use" in r.stderr, r.stderr
    assert len(r.stderr.splitlines()) == 1
    assert live() == ["tcp:127.0.0.1:8000-:80"]
    assert (mgr.vm_dir("l") / "vm.json").read_text() == before
    # other network settings need the VM off
    for args in (["--nic2", "tap:tap0"], ["--nat-restrict1", "on"], ["--remove-nic", "1"]):
        r = mgr.run("set", "l", *args)
        assert r.returncode == EXIT_STATE and "powered off" in r.stderr


def test_stats_lists_adapters(mgr):
    mgr.ok("create", "st", "--kernel", mgr.kernel, "--nic1", "nat", "--nic2", "none")
    mgr.ok("start", "st")
    st = json.loads(mgr.ok("stats", "st", "--json").stdout)
    assert [n["index"] for n in st["nics"]] == [0, 1]
    assert st["nics"][0]["rx_packets"] == 10 and st["nics"][0]["rx_dropped"] == 1
    assert st["nics"][1]["link"] is False
    text = mgr.ok("stats", "st").stdout
    assert re.search(r"nic 1: nat, mac 52:54:00:\S+, link up", text), text
    assert "nic 2: none" in text and "link down" in text
    for key in ("rx_packets", "tx_bytes", "rx_dropped", "tx_dropped", "errors"):
        assert key in text


def test_tftp_and_boot_file(mgr, tmp_path):
    """--nat-tftpN / --nat-bootfileN (network boot): stored absolute, shown, passed to the
    monitor as tftp= and bootfile=, cleared with none."""
    d = tmp_path / "tftp"
    d.mkdir()
    mgr.ok("create", "pxe", "--nic1", "nat", "--nat-tftp1", d, "--nat-bootfile1", "pxelinux.0",
           "--boot", "net,disk")
    n = nics(mgr, "pxe")[0]
    assert n["tftp"] == str(d) and n["bootfile"] == "pxelinux.0"
    assert f"  TFTP:        {d}, boot file pxelinux.0" in mgr.ok("show", "pxe").stdout
    mgr.ok("start", "pxe")  # the fake monitor records its command line
    argv = json.loads((mgr.vm_dir("pxe") / "run" / "fake-argv.json").read_text())
    nic = argv[argv.index("--nic") + 1]
    assert nic.endswith(f",tftp={d},bootfile=pxelinux.0"), nic
    assert argv[argv.index("--boot") + 1] == "net,disk"
    mgr.ok("poweroff", "pxe")
    r = mgr.run("set", "pxe", "--remove-nic", "1")
    assert r.returncode == EXIT_INVALID and "--boot net needs a network adapter" in r.stderr
    mgr.ok("set", "pxe", "--nat-tftp1", "none")
    n = nics(mgr, "pxe")[0]
    assert "tftp" not in n and "bootfile" not in n

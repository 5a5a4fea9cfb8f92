# SPDX-License-Identifier: MIT
"""`bareiron snapshot` and `bareiron clone` on powered-off VMs: a snapshot tree taken,
restored and deleted in many orders with `qemu-img snapshot -l` and `qemu-img check`
agreeing at each step, disk content and settings brought back by restore, full and linked
clones whose disks stay apart and which get new MACs, and bad input. Disk content is written
and checked with qemu-io; a running VM is the fake monitor (mgr_fake_vmm.py). No KVM needed,
except for the linked clones run beside their originals (real guests)."""
import itertools
import json
import subprocess

import pytest

from disk_util import need_qemu_img, qemu_img
from mgr_util import FAKE_VMM, Mgr

EXIT_USAGE, EXIT_NOTFOUND, EXIT_STATE, EXIT_INVALID = 2, 3, 4, 6
CHUNK = 65536


@pytest.fixture
def mgr(bareiron, tmp_path):
    need_qemu_img()
    m = Mgr(bareiron, tmp_path / "home", vmm=FAKE_VMM)
    yield m
    m.kill_monitors()


def qio(img, cmd):
    r = subprocess.run(["qemu-io", "-c", cmd, str(img)], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0 and "failed" not in r.stdout + r.stderr, r.stdout + r.stderr
    return r.stdout


def write(img, pattern, slot=0):
    qio(img, f"write -P {pattern} {slot * CHUNK} {CHUNK}")


def holds(img, pattern, slot=0):
    r = subprocess.run(["qemu-io", "-c", f"read -P {pattern} {slot * CHUNK} {CHUNK}", str(img)],
                       capture_output=True, text=True, timeout=60)
    return r.returncode == 0 and "failed" not in r.stdout + r.stderr


def tree(mgr, name):
    p = mgr.vm_dir(name) / "snapshots.json"
    return json.loads(p.read_text()) if p.exists() else {"snapshots": [], "current": None}


def check_disks(mgr, name, disks):
    """Every disk is clean and holds exactly the snapshots of the tree, by UUID."""
    want = sorted(s["uuid"] for s in tree(mgr, name)["snapshots"])
    for d in disks:
        qemu_img("check", d)
        info = json.loads(qemu_img("info", "--output=json", d).stdout)
        assert sorted(s["name"] for s in info.get("snapshots", [])) == want


def make_vm(mgr, tmp_path, name="vm", ndisks=2):
    disks = []
    for i in range(ndisks):
        d = tmp_path / f"{name}-d{i}.qcow2"
        qemu_img("create", "-q", "-f", "qcow2", d, "4M")
        disks.append(d)
    args = [a for d in disks for a in ("--disk", d)]
    mgr.ok("create", name, "--nic1", "nat", "--cpus", "1", *args)
    return disks


def build_tree(mgr, disks):
    """A -> B -> C and A -> D; snapshot X holds pattern P[X] in every disk, cpus C[X]."""
    pat, cpus = {"A": 1, "B": 2, "C": 3, "D": 4}, {"A": 1, "B": 2, "C": 3, "D": 4}
    for s in ["A", "B", "C"]:
        mgr.ok("set", "vm", "--cpus", cpus[s])
        for d in disks:
            write(d, pat[s])
        mgr.ok("snapshot", "vm", "take", s, "--description", f"snap {s}")
        check_disks(mgr, "vm", disks)
    mgr.ok("snapshot", "vm", "restore", "A")
    assert all(holds(d, 1) for d in disks) and mgr.show("vm")["config"]["cpus"] == 1
    mgr.ok("set", "vm", "--cpus", 4)
    for d in disks:
        write(d, 4)
    mgr.ok("snapshot", "vm", "take", "D")
    check_disks(mgr, "vm", disks)
    return pat, cpus


def test_tree_list_show(mgr, tmp_path):
    disks = make_vm(mgr, tmp_path)
    build_tree(mgr, disks)
    out = mgr.ok("snapshot", "vm", "list").stdout.splitlines()
    names = [(len(line) - len(line.lstrip()), line.split()[1]) for line in out]
    assert names == [(3, "A"), (6, "B"), (9, "C"), (6, "D")]
    assert out[3].endswith(" *") and sum(line.endswith("*") for line in out) == 1
    show = mgr.ok("snapshot", "vm", "show", "B").stdout
    assert "Parent:      A" in show and "Children:    1" in show and "snap B" in show
    assert "CPUs:        2" in show
    j = mgr.show("vm")
    assert j["snapshot_count"] == 4 and j["current_snapshot"] == "D"
    assert "Snapshots:     4 (current: D)" in mgr.ok("show", "vm").stdout
    mgr.ok("snapshot", "vm", "edit", "B", "--name", "B2", "--description", "renamed")
    assert "renamed" in mgr.ok("snapshot", "vm", "show", "B2").stdout
    check_disks(mgr, "vm", disks)  # a rename leaves the disks alone


ORDERS = [list(p) for p in itertools.permutations("ABCD")][::5]


@pytest.mark.parametrize("order", ORDERS, ids=["".join(o) for o in ORDERS])
def test_delete_in_order_then_restore_the_rest(mgr, tmp_path, order):
    disks = make_vm(mgr, tmp_path)
    pat, cpus = build_tree(mgr, disks)
    left = set("ABCD")
    for s in order:
        mgr.ok("snapshot", "vm", "delete", s)
        left.discard(s)
        check_disks(mgr, "vm", disks)
        t = tree(mgr, "vm")
        assert sorted(x["name"] for x in t["snapshots"]) == sorted(left)
        by_uuid = {x["uuid"]: x for x in t["snapshots"]}
        for x in t["snapshots"]:  # parents were re-linked to surviving ancestors
            assert x["parent"] is None or x["parent"] in by_uuid
        for r in sorted(left):
            mgr.ok("snapshot", "vm", "restore", r)
            assert all(holds(d, pat[r]) for d in disks), f"restore {r} after deleting {s}"
            assert mgr.show("vm")["config"]["cpus"] == cpus[r]
            assert mgr.show("vm")["current_snapshot"] == r
            check_disks(mgr, "vm", disks)


def test_take_on_restored_branch_and_delete_current(mgr, tmp_path):
    disks = make_vm(mgr, tmp_path, ndisks=1)
    build_tree(mgr, disks)
    mgr.ok("snapshot", "vm", "restore", "B")
    mgr.ok("snapshot", "vm", "take", "E")
    t = tree(mgr, "vm")
    uu = {x["name"]: x["uuid"] for x in t["snapshots"]}
    assert [x["parent"] for x in t["snapshots"] if x["name"] == "E"] == [uu["B"]]
    mgr.ok("snapshot", "vm", "delete", "E")
    assert mgr.show("vm")["current_snapshot"] == "B"
    mgr.ok("snapshot", "vm", "delete", "A")  # the root: B and D become roots
    t = tree(mgr, "vm")
    assert sorted(x["name"] for x in t["snapshots"] if x["parent"] is None) == ["B", "D"]
    for s in ["B", "C", "D"]:
        mgr.ok("snapshot", "vm", "delete", s)
    assert not (mgr.vm_dir("vm") / "snapshots.json").exists()
    assert "Snapshots:     0" in mgr.ok("show", "vm").stdout
    check_disks(mgr, "vm", disks)


def test_raw_refused_readonly_skipped(mgr, tmp_path):
    raw, ro = tmp_path / "d.raw", tmp_path / "ro.raw"
    for p in (raw, ro):
        p.write_bytes(b"\0" * 1048576)
    q = tmp_path / "q.qcow2"
    qemu_img("create", "-q", "-f", "qcow2", q, "1M")
    mgr.ok("create", "vm", "--disk", f"{q}", "--disk", f"{raw},format=raw")
    r = mgr.run("snapshot", "vm", "take", "A")
    assert r.returncode == EXIT_INVALID and "disk convert" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    check_disks(mgr, "vm", [q])  # nothing was left in the qcow2 disk
    mgr.ok("create", "vm2", "--disk", f"{q}", "--disk", f"{ro},format=raw,readonly")
    mgr.ok("snapshot", "vm2", "take", "A")
    check_disks(mgr, "vm2", [q])


def test_failure_on_second_disk_undoes_the_first(mgr, tmp_path):
    disks = make_vm(mgr, tmp_path)
    mgr.ok("snapshot", "vm", "take", "A")
    uuid = tree(mgr, "vm")["snapshots"][0]["uuid"]
    qemu_img("snapshot", "-d", uuid, disks[0])
    r = mgr.run("snapshot", "vm", "restore", "A")
    assert r.returncode == EXIT_NOTFOUND and "does not hold" in r.stderr
    assert holds(disks[1], 0)  # refused before any disk was touched
    # the second disk refuses snapshots (1-bit refcounts): the first one's is deleted again
    good, bad = tmp_path / "good.qcow2", tmp_path / "bad.qcow2"
    qemu_img("create", "-q", "-f", "qcow2", good, "1M")
    qemu_img("create", "-q", "-f", "qcow2", "-o", "refcount_bits=1", bad, "1M")
    mgr.ok("create", "vm2", "--disk", good, "--disk", bad)
    r = mgr.run("snapshot", "vm2", "take", "B")
    assert r.returncode != 0 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    for d in (good, bad):
        qemu_img("check", d)
        assert "snapshots" not in json.loads(qemu_img("info", "--output=json", d).stdout)
    assert tree(mgr, "vm2")["snapshots"] == []


def test_bad_input(mgr, tmp_path):
    make_vm(mgr, tmp_path, ndisks=1)
    mgr.ok("snapshot", "vm", "take", "A")
    cases = [
        (["snapshot", "vm", "take", "A"], EXIT_STATE, "already has a snapshot 'A'"),
        (["snapshot", "vm", "restore", "nope"], EXIT_NOTFOUND, "no snapshot 'nope'"),
        (["snapshot", "vm", "delete", "nope"], EXIT_NOTFOUND, "no snapshot 'nope'"),
        (["snapshot", "novm", "list"], EXIT_NOTFOUND, "no VM named 'novm'"),
        (["snapshot", "vm", "frob", "A"], EXIT_USAGE, "unknown command 'frob'"),
        (["snapshot", "vm", "take"], EXIT_USAGE, "needs a snapshot name"),
        (["snapshot", "vm", "list", "A"], EXIT_USAGE, "takes no snapshot name"),
        (["snapshot", "vm", "take", "x\ty"], EXIT_USAGE, "printable"),
        (["snapshot", "vm", "take", "11111111-1111-4111-8111-111111111111"], EXIT_USAGE, "UUID"),
        (["snapshot", "vm", "take", "B", "--name", "x"], EXIT_USAGE, "do not apply"),
        (["snapshot", "vm", "take", "B", "--bogus"], EXIT_USAGE, "unknown"),
        (["snapshot", "vm"], EXIT_USAGE, "usage"),
        (["snapshot", "vm", "edit", "A"], EXIT_USAGE, "nothing to change"),
        (["snapshot", "vm", "take", "B", "--description", "a\nb"], EXIT_USAGE, "control"),
        (["snapshot", "vm", "take", "B", "--description", "x" * 1025], EXIT_USAGE, "1024"),
        (["snapshot", "vm", "take", "x" * 65], EXIT_USAGE, "1 to 64"),
        (["clone", "vm"], EXIT_USAGE, "usage"),
        (["clone", "vm", "vm"], EXIT_STATE, "exists already"),
        (["clone", "novm", "new"], EXIT_NOTFOUND, "no VM named 'novm'"),
        (["clone", "vm", "new", "--snapshot", "nope"], EXIT_NOTFOUND, "no snapshot 'nope'"),
        (["clone", "vm", "new", "--linked"], EXIT_INVALID, "not supported yet"),
        (["clone", "vm", "new", "--linked", "--snapshot", "A"], EXIT_INVALID,
         "not supported yet"),
        (["clone", "vm", "bad/name"], EXIT_USAGE, "name"),
    ]
    for args, status, msg in cases:
        r = mgr.run(*args)
        assert r.returncode == status and msg in r.stderr, (args, r.returncode, r.stderr)
        assert len(r.stderr.strip().splitlines()) <= 2, r.stderr
    assert not (mgr.home / "vms" / "new").exists()
    for cmd in ("snapshot", "clone"):
        out = mgr.ok(cmd, "--help").stdout
        assert out.startswith("NAME") and "SYNOPSIS" in out and "EXIT STATUS" in out


def test_running_vm_refused(mgr, tmp_path):
    k = tmp_path / "kernel"
    k.write_bytes(b"k")
    make_vm(mgr, tmp_path, ndisks=1)
    mgr.ok("set", "vm", "--kernel", k)
    mgr.ok("snapshot", "vm", "take", "A")
    mgr.ok("start", "vm")
    for args in (["restore", "A"], ["delete", "A"]):
        r = mgr.run("snapshot", "vm", *args)
        assert r.returncode == EXIT_STATE and "power it off first" in r.stderr, r.stderr
    # take saves the machine state through the monitor (test_mgr_savestate.py), which the fake
    # one cannot: refused, nothing recorded, the VM runs on
    r = mgr.run("snapshot", "vm", "take", "B")
    assert r.returncode != 0 and "save" in r.stderr, r.stderr
    assert [s["name"] for s in tree(mgr, "vm")["snapshots"]] == ["A"]
    assert mgr.state("vm") == "running"
    r = mgr.run("snapshot", "vm", "take", "B", "--live")
    assert r.returncode != 0 and "save" in r.stderr, r.stderr
    assert mgr.state("vm") == "running"
    r = mgr.run("snapshot", "vm", "restore", "A", "--live")
    assert r.returncode == EXIT_USAGE and "--live applies to take only" in r.stderr, r.stderr
    mgr.ok("snapshot", "vm", "list")
    mgr.ok("snapshot", "vm", "show", "A")
    r = mgr.run("clone", "vm", "c")
    assert r.returncode == EXIT_STATE and "power the VM off first" in r.stderr
    mgr.ok("poweroff", "vm")


def macs(mgr, name):
    return [n["mac"] for n in mgr.show(name)["config"]["network"]]


def disk_paths(mgr, name):
    return [d["path"] for d in mgr.show(name)["config"]["disks"]]


def test_full_clone(mgr, tmp_path):
    disks = make_vm(mgr, tmp_path)
    for d in disks:
        write(d, 7, slot=5)
    mgr.ok("snapshot", "vm", "take", "A")
    for d in disks:
        write(d, 8, slot=5)
    mgr.ok("clone", "vm", "c")
    cd = disk_paths(mgr, "c")
    assert all(p.startswith(str(mgr.vm_dir("c") / "disks")) for p in cd)
    assert macs(mgr, "c") != macs(mgr, "vm") and len(macs(mgr, "c")) == 1
    assert all(holds(p, 8, slot=5) for p in cd)
    assert mgr.show("c")["snapshot_count"] == 0
    for p in cd:  # snapshots are not copied, holes are kept
        qemu_img("check", p)
        assert "snapshots" not in json.loads(qemu_img("info", "--output=json", p).stdout)
    write(cd[0], 9, slot=5)
    write(disks[1], 10, slot=5)
    assert holds(disks[0], 8, slot=5) and holds(cd[1], 8, slot=5)
    # from the snapshot: its content and its settings
    mgr.ok("set", "vm", "--cpus", 3)
    mgr.ok("clone", "vm", "c2", "--snapshot", "A")
    assert mgr.show("c2")["config"]["cpus"] == 1
    assert all(holds(p, 7, slot=5) for p in disk_paths(mgr, "c2"))
    assert all(holds(d, 8, slot=5) for d in disks[:1])  # the source is untouched
    check_disks(mgr, "vm", disks)
    mgr.ok("delete", "c")
    assert not mgr.vm_dir("c").exists()


def test_linked_clone(mgr, tmp_path):
    disks = make_vm(mgr, tmp_path)
    for d in disks:
        write(d, 5, slot=1)
    mgr.ok("clone", "vm", "l", "--linked")
    src, cl = disk_paths(mgr, "vm"), disk_paths(mgr, "l")
    for p, base in zip(src + cl, disks + disks):
        info = json.loads(qemu_img("info", "--output=json", p).stdout)
        assert info["backing-filename"] == str(base)
        assert holds(p, 5, slot=1)
    assert src[0].startswith(str(mgr.vm_dir("vm"))) and cl[0].startswith(str(mgr.vm_dir("l")))
    assert all(d["backing"] == "any" for d in mgr.show("l")["config"]["disks"])
    assert macs(mgr, "l") != macs(mgr, "vm")
    write(src[0], 6, slot=1)
    write(cl[0], 7, slot=1)
    assert holds(disks[0], 5, slot=1)  # the shared base does not change
    assert holds(src[0], 6, slot=1) and holds(cl[0], 7, slot=1)
    mgr.ok("delete", "l")
    assert holds(src[0], 6, slot=1) and holds(src[1], 5, slot=1)
    for p in src:
        qemu_img("check", p)
    # the source's disks now have backing files (backing=any): a second linked clone is fine;
    # a disk with a backing file under backing=same-dir is refused (its chain would be followed
    # with backing=any)
    b, o = tmp_path / "b.qcow2", tmp_path / "o.qcow2"
    qemu_img("create", "-q", "-f", "qcow2", b, "1M")
    qemu_img("create", "-q", "-f", "qcow2", "-b", "b.qcow2", "-F", "qcow2", o)
    mgr.ok("create", "sd", "--disk", o)
    r = mgr.run("clone", "sd", "sdl", "--linked")
    assert r.returncode == EXIT_INVALID and "backing file of its own" in r.stderr, r.stderr
    assert not mgr.vm_dir("sdl").exists()
    mgr.ok("clone", "sd", "sdf")  # a full clone flattens the chain
    assert "backing-filename" not in json.loads(
        qemu_img("info", "--output=json", disk_paths(mgr, "sdf")[0]).stdout)
    # a linked clone whose base lives in the source's directory keeps the source from going
    mgr.ok("clone", "vm", "l2", "--linked")
    r = mgr.run("delete", "vm")
    assert r.returncode == EXIT_STATE and "linked clone" in r.stderr and "'l2'" in r.stderr
    assert mgr.run("delete", "vm", "--keep-disks").returncode == EXIT_STATE
    mgr.ok("delete", "l2")
    mgr.ok("delete", "vm")


def wait_hold(path, timeout=120):
    import time
    deadline, out = time.monotonic() + timeout, ""
    while time.monotonic() < deadline and "HOLD virtio_blk" not in out:
        out = path.read_text(errors="replace") if path.exists() else ""
        if "exception 13" in out:
            pytest.skip("ring-3 port I/O of the payload runtime faults on this host (kvm-pvm "
                        "does not honour IOPL 3): " + out.strip().splitlines()[-1])
        time.sleep(0.1)
    return out


def test_linked_clone_runs_beside_the_original(bareiron, build_dir, tmp_path, need_kvm):
    """The virtio_blk payload writes and reads its disk in the original and, at the same
    time, in a linked clone: both pass, and the shared base is unchanged."""
    import hashlib

    import payload_util as pu
    from conftest import built
    elf = built(build_dir / "tests" / "guest" / "virtio_blk.elf")
    mgr = Mgr(bareiron, tmp_path / "home")
    rw, ro = pu.make_disks(tmp_path)
    base = tmp_path / "rw.qcow2"
    mgr.ok("disk", "convert", rw, base)
    before = hashlib.sha256(base.read_bytes()).hexdigest()
    logs = {n: tmp_path / f"{n}.log" for n in ("orig", "lc")}
    mgr.ok("create", "orig", "--kernel", elf, "--memory", "64M", "--serial",
           f"file:{logs['orig']}", "--cmdline", f"disks=2 sectors={pu.DISK_SIZE // 512} hold=1",
           "--disk", base, "--disk", f"{ro},format=raw,readonly")
    mgr.ok("clone", "orig", "lc", "--linked")
    mgr.ok("set", "lc", "--serial", "none")  # the clone's serial file is the original's
    mgr.ok("set", "lc", "--serial", f"file:{logs['lc']}")
    try:
        mgr.ok("start", "orig")
        mgr.ok("start", "lc")
        for n in ("orig", "lc"):
            assert "HOLD virtio_blk failures=0" in wait_hold(logs[n]), logs[n].read_text()
            assert mgr.state(n) == "running"
        mgr.ok("poweroff", "orig")
        mgr.ok("poweroff", "lc")
    finally:
        mgr.kill_monitors()
    assert hashlib.sha256(base.read_bytes()).hexdigest() == before
    for p in disk_paths(mgr, "orig")[:1] + disk_paths(mgr, "lc")[:1]:
        qemu_img("check", p)
        assert json.loads(qemu_img("info", "--output=json", p).stdout)["backing-filename"] \
            == str(base)


def test_linked_clone_counts_apart(bareiron, build_dir, tmp_path, need_kvm):
    """The counter payload (tests/guest/payloads/counter.c) counts on its qcow2 disk in the
    original; a linked clone is started while it runs and counts on its own overlay: each
    overlay holds only its own VM's ticks, and the shared base stays as it was."""
    import hashlib
    import time

    from conftest import built
    from test_vmm_savestate import DISK_SLOTS, check_disk, counts, disk_ticks
    need_qemu_img()
    counter = built(build_dir / "tests" / "guest" / "counter.elf")
    mgr = Mgr(bareiron, tmp_path / "home")
    base = tmp_path / "base.qcow2"
    qemu_img("create", "-q", "-f", "qcow2", base, "1M")
    before = hashlib.sha256(base.read_bytes()).hexdigest()
    logs = {n: tmp_path / f"{n}.log" for n in ("orig", "lc")}

    def upto(name, n, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            c = counts(logs[name].read_bytes()) if logs[name].exists() else []
            if c and c[-1] >= n:
                return c[-1]
            time.sleep(0.05)
        raise AssertionError(f"{name}: no COUNT {n}")

    def ticks(name):
        raw = tmp_path / f"{name}.raw"
        qemu_img("convert", "-O", "raw", disk_paths(mgr, name)[0], raw)
        return raw

    mgr.ok("create", "orig", "--kernel", counter, "--memory", "128M", "--cmdline",
           "ticks=100000 shift=18 disk=1", "--serial", f"file:{logs['orig']}", "--disk", base)
    mgr.ok("clone", "orig", "lc", "--linked")
    mgr.ok("set", "lc", "--serial", "none")  # the clone's serial file is the original's
    mgr.ok("set", "lc", "--serial", f"file:{logs['lc']}")
    # the clone counts 16 times slower, so that it stops before it has written every slot
    mgr.ok("set", "lc", "--cmdline", "ticks=100000 shift=22 disk=1")
    try:
        mgr.ok("start", "orig")
        upto("orig", 2 * DISK_SLOTS)  # every slot of its disk written
        mgr.ok("start", "lc")  # boots while the original runs
        assert mgr.state("orig") == "running"
        upto("lc", 3)
        mgr.ok("poweroff", "lc")
        lc_last = counts(logs["lc"].read_bytes())[-1]
        assert lc_last < DISK_SLOTS - 2, "the clone counted too far for the check"
        orig_last = upto("orig", 2 * DISK_SLOTS + 10)
        mgr.ok("poweroff", "orig")
        orig_last = counts(logs["orig"].read_bytes())[-1]
    finally:
        mgr.kill_monitors()
    check_disk(ticks("orig"), orig_last)
    lc = disk_ticks(ticks("lc"))
    check_disk(tmp_path / "lc.raw", lc_last)
    # the slots the clone never reached hold nothing: none of the original's ticks
    assert all(t == 0 for t in lc[lc_last + 2:]), lc
    assert hashlib.sha256(base.read_bytes()).hexdigest() == before
    for n in ("orig", "lc"):
        qemu_img("check", disk_paths(mgr, n)[0])


def test_clone_progress_on_a_terminal(mgr, tmp_path):
    import os
    import pty
    disks = make_vm(mgr, tmp_path, ndisks=1)
    write(disks[0], 3, slot=2)
    master, slave = pty.openpty()
    try:
        r = subprocess.run([mgr.bareiron, "clone", "vm", "c"], stderr=slave,
                           stdout=subprocess.PIPE, text=True, env=mgr.env, timeout=60)
        os.close(slave)
        out = b""
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
    finally:
        os.close(master)
    assert r.returncode == 0
    text = out.decode(errors="replace")
    assert "100.0%" in text and "MiB/s" in text and "/4.0 MiB" in text, text
    assert "MiB/s" not in mgr.ok("clone", "vm", "c2").stderr  # not a terminal: no bar


def test_hostile_tree_file(mgr, tmp_path):
    make_vm(mgr, tmp_path, ndisks=1)
    p = mgr.vm_dir("vm") / "snapshots.json"
    for text in ["{", "[]", '{"version":1,"current":null,"snapshots":[{}]}',
                 '{"version":9,"current":null,"snapshots":[]}']:
        p.write_text(text)
        r = mgr.run("snapshot", "vm", "list")
        assert r.returncode == EXIT_INVALID and "snapshots.json" in r.stderr, r.stderr
        assert len(r.stderr.strip().splitlines()) == 1
        r = mgr.run("show", "vm")  # the settings are still shown, with a warning
        assert r.returncode == 0 and "snapshots.json" in r.stderr
    p.unlink()
    mgr.ok("snapshot", "vm", "take", "A")


def test_uuid(mgr, tmp_path):
    """A VM gets a UUID at create, kept by set and snapshot restore, new for a clone; a vm.json
    without one (an older bareiron's) gets one at its next write."""
    import re
    make_vm(mgr, tmp_path, ndisks=1)
    u = mgr.show("vm")["uuid"]
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", u)
    assert mgr.show("vm")["config"]["uuid"] == u
    assert f"UUID:          {u}" in mgr.ok("show", "vm").stdout
    mgr.ok("snapshot", "vm", "take", "A")
    mgr.ok("set", "vm", "--cpus", "2")
    mgr.ok("snapshot", "vm", "restore", "A")
    assert mgr.show("vm")["uuid"] == u
    mgr.ok("clone", "vm", "c")
    assert mgr.show("c")["uuid"] not in (u, None)
    p = mgr.vm_dir("vm") / "vm.json"
    j = json.loads(p.read_text())
    del j["uuid"]
    p.write_text(json.dumps(j))
    assert mgr.show("vm")["uuid"] is None
    mgr.ok("set", "vm", "--description", "x")
    assert mgr.show("vm")["uuid"] not in (u, None)

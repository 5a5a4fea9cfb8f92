# SPDX-License-Identifier: MIT
"""The manager's drives and display settings and its statuses, against the fake monitor
process (mgr_fake_vmm.py, no KVM): IDE disks (--disk bus=ide, four IDE drives with the CD-ROM),
empty CD-ROM and floppy drives kept by the definition, --boot-menu, a display size or video
memory without an adapter, and the statuses of screenshot, sendkey and console."""
import json
import subprocess

import pytest

from mgr_util import FAKE_VMM, Mgr

EXIT_USAGE, EXIT_NOTFOUND, EXIT_STATE, EXIT_INVALID = 2, 3, 4, 6


@pytest.fixture
def mgr(bareiron, tmp_path):
    m = Mgr(bareiron, tmp_path / "home", vmm=FAKE_VMM)
    m.kernel = tmp_path / "kernel"
    m.kernel.write_bytes(b"k")
    yield m
    m.kill_monitors()  # never leave a fake monitor behind


def images(tmp_path, n, size=4096):
    out = []
    for i in range(n):
        f = tmp_path / f"d{i}.img"
        f.write_bytes(b"\0" * size)
        out.append(f)
    return out


def vm_json(mgr, name):
    return json.loads((mgr.vm_dir(name) / "vm.json").read_text())


def monitor_args(mgr, name):
    return json.loads((mgr.vm_dir(name) / "run" / "fake-argv.json").read_text())


def arg_values(args, opt):
    return [args[i + 1] for i, a in enumerate(args) if a == opt]


def test_ide_disks_are_stored_and_passed(mgr, tmp_path):
    """--disk FILE,bus=ide is a setting (it was refused as an unknown attribute): stored, shown
    and given to the monitor; four IDE drives at most, the CD-ROM drive included."""
    d = images(tmp_path, 5)
    mgr.ok("create", "ide1", "--disk", f"{d[0]},bus=ide", "--disk", f"{d[1]},bus=virtio")
    disks = vm_json(mgr, "ide1")["disks"]
    assert disks[0]["bus"] == "ide" and "bus" not in disks[1]  # virtio is the default
    assert f"{d[0]} (raw, IDE, read-write" in mgr.ok("show", "ide1").stdout
    mgr.ok("start", "ide1")
    assert arg_values(monitor_args(mgr, "ide1"), "--disk") == [
        f"{d[0]},format=raw,cache=writeback,bus=ide", f"{d[1]},format=raw,cache=writeback"]
    mgr.ok("poweroff", "ide1")
    mgr.ok("set", "ide1", "--disk", f"{d[2]},bus=ide", "--disk", f"{d[3]},bus=ide", "--cdrom",
           "empty")  # four IDE drives
    before = (mgr.vm_dir("ide1") / "vm.json").read_text()
    r = mgr.run("set", "ide1", "--disk", f"{d[4]},bus=ide")
    assert r.returncode == EXIT_USAGE and "at most 4 IDE drives" in r.stderr, r.stderr
    r = mgr.run("set", "ide1", "--disk", f"{d[4]},bus=scsi")
    assert r.returncode == EXIT_USAGE and "bus must be virtio or ide" in r.stderr
    assert (mgr.vm_dir("ide1") / "vm.json").read_text() == before
    mgr.ok("set", "ide1", "--cdrom", "none", "--disk", f"{d[4]},bus=ide")
    r = mgr.run("set", "ide1", "--cdrom", "empty")
    assert r.returncode == EXIT_USAGE and "IDE drives" in r.stderr


def test_empty_drives_are_kept(mgr, tmp_path):
    """--cdrom empty / --floppy empty store a drive without a disc, passed as the monitor's
    `empty`; eject (live too) keeps the drive, so a disc can go in after the next start; none
    removes the drive."""
    iso, = images(tmp_path, 1)
    fl = tmp_path / "a.img"
    fl.write_bytes(b"\0" * 1474560)
    mgr.ok("create", "dos", "--cdrom", "empty", "--floppy", "empty")
    c = vm_json(mgr, "dos")
    assert c["cdrom"] == "empty" and c["floppy"] == "empty"
    text = mgr.ok("show", "dos").stdout
    assert "CD-ROM:        empty" in text and "Floppy:        empty" in text
    mgr.ok("start", "dos")
    args = monitor_args(mgr, "dos")
    assert arg_values(args, "--cdrom") == ["empty"] and arg_values(args, "--floppy") == ["empty"]
    mgr.ok("set", "dos", "--cdrom", iso, "--floppy", fl)  # into the running drives
    assert mgr.show("dos")["runtime"]["media"] == {"cdrom": str(iso), "floppy": str(fl)}
    mgr.ok("set", "dos", "--cdrom", "eject")
    assert vm_json(mgr, "dos")["cdrom"] == "empty"
    assert mgr.show("dos")["runtime"]["media"]["cdrom"] is None
    assert "CD-ROM:        empty" in mgr.ok("show", "dos").stdout
    mgr.ok("poweroff", "dos")
    mgr.ok("start", "dos")
    assert arg_values(monitor_args(mgr, "dos"), "--cdrom") == ["empty"]
    mgr.ok("set", "dos", "--cdrom", iso)  # the drive is still there (it was refused: 4)
    mgr.ok("set", "dos", "--floppy", "none")  # ejected now, no drive at the next start
    assert vm_json(mgr, "dos")["floppy"] is None
    assert mgr.show("dos")["runtime"]["media"]["floppy"] is None
    mgr.ok("poweroff", "dos")
    mgr.ok("start", "dos")
    assert "--floppy" not in monitor_args(mgr, "dos")
    r = mgr.run("set", "dos", "--floppy", "empty")  # a drive cannot be added while it runs
    assert r.returncode == EXIT_STATE and "without a floppy drive" in r.stderr
    mgr.ok("poweroff", "dos")


def test_boot_menu_is_stored_and_passed(mgr):
    mgr.ok("create", "bm", "--boot-menu", "on")
    assert vm_json(mgr, "bm")["boot_menu"] is True
    assert "(boot menu on)" in mgr.ok("show", "bm").stdout
    mgr.ok("start", "bm")
    assert arg_values(monitor_args(mgr, "bm"), "--boot-menu") == ["on"]
    mgr.ok("poweroff", "bm")
    mgr.ok("set", "bm", "--boot-menu", "off")
    mgr.ok("start", "bm")
    assert "--boot-menu" not in monitor_args(mgr, "bm")
    mgr.ok("poweroff", "bm")
    r = mgr.run("create", "k", "--kernel", mgr.kernel, "--boot-menu", "on")
    assert r.returncode == EXIT_INVALID and "not supported yet" in r.stderr
    assert mgr.run("show", "k").returncode == EXIT_NOTFOUND
    assert mgr.run("set", "bm", "--boot-menu", "maybe").returncode == EXIT_USAGE


@pytest.mark.parametrize("args", [
    ["--video", "none", "--vram", "4M"],
    ["--vram", "4M", "--video", "none"],
    ["--kernel", "KERNEL", "--vram", "4M"],
    ["--kernel", "KERNEL", "--video", "800x600"],
])
def test_display_size_without_adapter_refused(mgr, args):
    """A display size or video memory without an adapter is refused at create and set with
    status 6 and nothing stored, as --help says (it was stored and refused at start)."""
    args = [str(mgr.kernel) if a == "KERNEL" else a for a in args]
    r = mgr.run("create", "v", *args)
    assert r.returncode == EXIT_INVALID and "not supported yet" in r.stderr, r.stderr
    assert mgr.run("show", "v").returncode == EXIT_NOTFOUND
    mgr.ok("create", "v")
    before = (mgr.vm_dir("v") / "vm.json").read_text()
    r = mgr.run("set", "v", *args)
    assert r.returncode == EXIT_INVALID and "not supported yet" in r.stderr, r.stderr
    assert (mgr.vm_dir("v") / "vm.json").read_text() == before


def test_video_none_drops_the_display_size(mgr):
    mgr.ok("create", "dos", "--video", "800x600", "--vram", "4M")
    mgr.ok("set", "dos", "--video", "none")
    assert vm_json(mgr, "dos")["video"] == {"adapter": "none", "width": 1024, "height": 768,
                                            "vram_mib": 16}
    assert "Video:         none (none)\n" in mgr.ok("show", "dos").stdout


def test_stored_display_size_without_adapter(mgr):
    """A vm.json holding one (by hand, an older bareiron): show says what is stored, start
    refuses with the set that removes it, and that set works."""
    mgr.ok("create", "old")
    path = mgr.vm_dir("old") / "vm.json"
    c = json.loads(path.read_text())
    c["video"] = {"adapter": "none", "width": 800, "height": 600, "vram_mib": 4}
    path.write_text(json.dumps(c))
    assert "stored 800x600, 4 MiB VRAM" in mgr.ok("show", "old").stdout
    r = mgr.run("start", "old")
    assert r.returncode == EXIT_INVALID and "'bareiron set old --video none'" in r.stderr
    mgr.ok("set", "old", "--video", "none")
    mgr.ok("start", "old")
    mgr.ok("poweroff", "old")


def test_values_before_state(mgr):
    """On a running VM a bad value is a usage error (2) before the state (4) is looked at."""
    mgr.ok("create", "r", "--kernel", mgr.kernel)
    mgr.ok("start", "r")
    assert mgr.run("set", "r", "--vram", "3M").returncode == EXIT_USAGE
    assert mgr.run("set", "r", "--boot", "disk,disk").returncode == EXIT_USAGE
    assert mgr.run("set", "r", "--cpus", "2").returncode == EXIT_STATE
    mgr.ok("poweroff", "r")


def test_statuses_of_screen_keys_console(mgr):
    mgr.ok("create", "s")
    for args in (["s"], ["s", "a.png", "b.png"], ["s", "--bogus"]):
        r = mgr.run("screenshot", *args)
        assert r.returncode == EXIT_USAGE, (args, r.stderr)
    assert mgr.ok("sendkey", "s", "--help").stdout.startswith("NAME")
    assert mgr.ok("sendkey", "--help").stdout.startswith("NAME")
    for cmd in (["sendkey", "s", "ret"], ["screenshot", "s", "--text"], ["display", "s"],
                ["stats", "s"], ["console", "s"]):
        r = mgr.run(*cmd)
        assert r.returncode == EXIT_STATE, (cmd, r.stderr)
        assert "is powered-off" in r.stderr and "only while it runs" in r.stderr
    for cmd in (["sendkey", "nosuch", "ret"], ["console", "nosuch"]):
        assert mgr.run(*cmd).returncode == EXIT_NOTFOUND
    mgr.ok("start", "s")
    mgr.ok("sendkey", "s", "ctrl-alt-delete")
    mgr.ok("sendkey", "s", "--text", "--help")  # text to type, not an option
    r = mgr.run("save", "s")  # the fake cannot save: the error names the VM, not "save:"
    assert r.returncode != 0 and r.stderr.startswith("bareiron: VM 's': "), r.stderr
    mgr.ok("poweroff", "s")


def test_show_boot_order_without_kernel(mgr):
    mgr.ok("create", "fw", "--firmware", "uefi")
    assert "Boot order:    cdrom, disk\n" in mgr.ok("show", "fw").stdout
    mgr.ok("create", "k", "--kernel", mgr.kernel)
    assert "Boot order:    kernel, cdrom, disk\n" in mgr.ok("show", "k").stdout


def test_file_errors(mgr, tmp_path):
    """A directory is bad input (6) as for the disk commands; a floppy of the wrong size names
    its size."""
    mgr.ok("create", "f")
    r = mgr.run("set", "f", "--cdrom", tmp_path)
    assert r.returncode == EXIT_INVALID and "not a regular file" in r.stderr
    bad = tmp_path / "bad.img"
    bad.write_bytes(b"\0" * 1000)
    r = mgr.run("set", "f", "--floppy", bad)
    assert r.returncode == EXIT_INVALID and "1000 bytes" in r.stderr, r.stderr


def test_run_help_and_cdrom(mgr, bareiron, tmp_path):
    """`run --help` lists the firmware-boot options it passes on; `run --cdrom` refuses a
    qcow2 image as `set --cdrom` does (the guest saw the container)."""
    text = mgr.ok("run", "--help").stdout
    for opt in ("--floppy", "--video", "--vram", "--display", "--boot-menu", "--boot "):
        assert opt in text, opt
    q = tmp_path / "q.qcow2"
    subprocess.run([bareiron, "disk", "create", q, "16M"], check=True, capture_output=True)
    for args in (["--cdrom", q], [f"--cdrom={q},bus=ide"]):
        r = mgr.run("run", *args)
        assert r.returncode == EXIT_INVALID and "qcow2 image cannot be the CD-ROM" in r.stderr
    assert "take (running too)" in mgr.ok("--help").stdout


def test_video_memory_must_hold_the_size(mgr):
    """--vram that cannot hold --video WxH at 32 bits a pixel is refused at create and set
    (status 6, nothing stored), not at start by the monitor."""
    r = mgr.run("create", "big", "--video", "4096x2160", "--vram", "16M")
    assert r.returncode == EXIT_INVALID and "cannot hold the display size 4096x2160" in r.stderr
    mgr.ok("create", "big", "--video", "4096x2160", "--vram", "64M")
    r = mgr.run("set", "big", "--vram", "2M")
    assert r.returncode == EXIT_INVALID and "--vram 2M" in r.stderr, r.stderr
    assert vm_json(mgr, "big")["video"]["vram_mib"] == 64

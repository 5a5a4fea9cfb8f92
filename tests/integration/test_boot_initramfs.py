# SPDX-License-Identifier: MIT
"""Debian's kernel with the itest initramfs (scripts/mkinitramfs.sh, tests/guest/initramfs/init):
each scenario prints "ITEST PASS <name>" or "ITEST FAIL <name>: why" on the serial console, then
powers off.

- Under QEMU, as the reference that the initramfs and its /init are right: the `boot` scenario
  always (TCG unless the host has a real KVM, about 15 s), the others on real KVM or when
  BAREIRON_SLOW_TESTS=1 is set.
- Under bareiron-vmm, on a real KVM (hostkind.py; elsewhere test_nested_kvm.py runs them):
  boot, virtio-blk on raw and qcow2 (mkfs, write, remount, read back; e2fsck / qemu-img check on
  the host afterwards) and the ACPI power button through the control socket. SMP boot to /init
  is in test_vmm_boot.py.
"""
import os
import shutil
import socket
import subprocess
import time

import pytest

from conftest import built, linux_problem, run
import boot_util as bu
import hostkind
import nested_util as nu
import vmm_util

QEMU = shutil.which("qemu-system-x86_64")
BASE_CMDLINE = "console=ttyS0 panic=-1 quiet"


@pytest.fixture(scope="module")
def guest(build_dir):
    return bu.or_skip(bu.guest_kernel(build_dir)), bu.or_skip(bu.initramfs(build_dir))


def itest_result(text, name):
    """'PASS', 'FAIL: why' or None from a console log."""
    for line in text.splitlines():
        if line.startswith(f"ITEST PASS {name}") or f"ITEST PASS {name}" in line:
            return "PASS"
        if f"ITEST FAIL {name}" in line:
            return "FAIL" + line.split(f"ITEST FAIL {name}", 1)[1]
    return None


def wait_for_text(path, text, proc, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and text in path.read_text(errors="replace"):
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.2)
    return False


def stop(proc):
    if proc.poll() is None:
        proc.kill()
    proc.wait()


# --- QEMU reference ------------------------------------------------------------------------

def qemu_cmd(kernel, initrd, cmdline, log, extra=()):
    accel = hostkind.qemu_accel()
    return [QEMU, "-M", "q35", "-m", "256", "-display", "none", "-no-reboot", "-nodefaults",
            "-serial", f"file:{log}", "-kernel", str(kernel), "-initrd", str(initrd),
            "-append", f"{BASE_CMDLINE} {cmdline}"] + accel + list(extra)


QEMU_SCENARIOS = {
    "boot": ([], "itest=boot"),
    "smp": (["-smp", "2"], "itest=smp itest_cpus=2"),
    "blk": (["-drive", "file={disk},format=raw,if=none,id=d0",
             "-device", "virtio-blk-pci,drive=d0,disable-legacy=on"], "itest=blk"),
    "rng": (["-device", "virtio-rng-pci,disable-legacy=on"], "itest=rng"),
    "console": (["-device", "virtio-serial-pci,disable-legacy=on", "-chardev", "null,id=hvc",
                 "-device", "virtconsole,chardev=hvc"], "itest=console"),
}


@pytest.mark.parametrize("name", sorted(QEMU_SCENARIOS))
def test_qemu_reference(guest, tmp_path, name):
    if QEMU is None:
        pytest.skip("qemu-system-x86_64 is not installed")
    if name != "boot" and hostkind.kind() != "kvm" and not os.environ.get("BAREIRON_SLOW_TESTS"):
        pytest.skip("QEMU runs Linux under TCG here, which is slow (set BAREIRON_SLOW_TESTS=1)")
    disk = tmp_path / "disk.img"
    with open(disk, "wb") as f:
        f.truncate(64 << 20)
    extra, cmdline = QEMU_SCENARIOS[name]
    log = tmp_path / "console.log"
    cmd = qemu_cmd(*guest, cmdline, log, [a.format(disk=disk) for a in extra])
    r = run(cmd, timeout=300, stdin=subprocess.DEVNULL)
    text = log.read_text(errors="replace") if log.exists() else ""
    assert itest_result(text, name) == "PASS", (r.returncode, r.stderr, text[-2000:])
    assert r.returncode == 0


def test_qemu_reference_powerbutton(guest, tmp_path):
    if QEMU is None:
        pytest.skip("qemu-system-x86_64 is not installed")
    if hostkind.kind() != "kvm" and not os.environ.get("BAREIRON_SLOW_TESTS"):
        pytest.skip("QEMU runs Linux under TCG here, which is slow (set BAREIRON_SLOW_TESTS=1)")
    log, mon = tmp_path / "console.log", tmp_path / "mon.sock"
    cmd = qemu_cmd(*guest, "itest=powerbutton", log,
                   ["-monitor", f"unix:{mon},server,nowait"])
    proc = subprocess.Popen([str(c) for c in cmd], stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        assert wait_for_text(log, "ITEST WAIT powerbutton", proc, 300), log.read_text()
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(str(mon))
            s.sendall(b"system_powerdown\n")
            assert proc.wait(timeout=120) == 0
    finally:
        stop(proc)
    assert itest_result(log.read_text(errors="replace"), "powerbutton") == "PASS"


def test_qemu_reference_ide(guest, tmp_path):
    """itest=ide against QEMU's PIIX IDE (-M pc): the same ISOs and the same /init as the
    nested linux-ide case, the media change through QEMU's monitor (`change ide1-cd0`)."""
    if QEMU is None:
        pytest.skip("qemu-system-x86_64 is not installed")
    if hostkind.kind() != "kvm" and not os.environ.get("BAREIRON_SLOW_TESTS"):
        pytest.skip("QEMU runs Linux under TCG here, which is slow (set BAREIRON_SLOW_TESTS=1)")
    a, b, disk = tmp_path / "a.iso", tmp_path / "b.iso", tmp_path / "disk.img"
    if not (nu.make_iso(a, "ITEST-CD-A") and nu.make_iso(b, "ITEST-CD-B", pad_mib=2)):
        pytest.skip("xorriso is not installed")
    with open(disk, "wb") as f:
        f.truncate(64 << 20)
    log, mon, ser = tmp_path / "console.log", tmp_path / "mon.sock", tmp_path / "ser.sock"
    kernel, initrd = guest
    cmd = [QEMU, "-M", "pc", "-m", "256", "-display", "none", "-no-reboot", "-nodefaults",
           "-chardev", f"socket,id=s0,path={ser},server=on,wait=off,logfile={log}",
           "-serial", "chardev:s0", "-monitor", f"unix:{mon},server,nowait",
           "-kernel", str(kernel), "-initrd", str(initrd), "-append",
           f"{BASE_CMDLINE} itest=ide", "-drive", f"file={disk},format=raw,if=ide,index=0",
           "-drive", f"file={a},format=raw,if=ide,index=2,media=cdrom,readonly=on"]
    cmd += hostkind.qemu_accel()
    proc = subprocess.Popen([str(c) for c in cmd], stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        assert wait_for_text(log, "ITEST WAIT ide", proc, 300), log.read_text()
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(str(mon))
            s.sendall(f"change ide1-cd0 {b} raw\n".encode())
            time.sleep(1)
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(str(ser))
            s.sendall(b"go\n")
            assert proc.wait(timeout=120) == 0
    finally:
        stop(proc)
    assert itest_result(log.read_text(errors="replace"), "ide") == "PASS", log.read_text()[-2000:]


def qemu_hmp(mon, command):
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(str(mon))
        s.sendall(command.encode() + b"\n")
        time.sleep(1)


def test_qemu_reference_install(guest, tmp_path):
    """itest=install against QEMU -M pc and its SeaBIOS: the grub-mkrescue ISO of the nested
    linux-install case boots from the IDE CD-ROM, /init copies it to the IDE disk, sees the
    disc changed (`change ide1-cd0`) and ejected (`eject -f ide1-cd0`); then QEMU starts again
    with the drive empty and the same boot order, and the disk alone boots to /init."""
    if QEMU is None:
        pytest.skip("qemu-system-x86_64 is not installed")
    if hostkind.kind() != "kvm" and not os.environ.get("BAREIRON_SLOW_TESTS"):
        pytest.skip("QEMU runs Linux under TCG here, which is slow (set BAREIRON_SLOW_TESTS=1)")
    iso, b, disk = tmp_path / "linux.iso", tmp_path / "b.iso", tmp_path / "disk.img"
    if not (nu.make_iso(b, "ITEST-CD-B", pad_mib=2) and nu.make_grub_iso(iso, *guest)):
        pytest.skip("xorriso, grub-mkrescue (grub-pc-bin) or SeaBIOS is not installed")
    with open(disk, "wb") as f:
        f.truncate(64 << 20)
    for n, cd in ((1, f"file={iso},format=raw,readonly=on,"), (2, "")):
        log, mon, ser = (tmp_path / f"{x}{n}" for x in ("console.log", "mon.sock", "ser.sock"))
        cmd = [QEMU, "-M", "pc", "-m", "512", "-display", "none", "-no-reboot", "-nodefaults",
               "-chardev", f"socket,id=s0,path={ser},server=on,wait=off,logfile={log}",
               "-serial", "chardev:s0", "-monitor", f"unix:{mon},server,nowait",
               "-drive", f"file={disk},format=raw,if=ide,index=0",
               "-drive", f"{cd}if=ide,index=2,media=cdrom",
               "-boot", "order=dc"] + hostkind.qemu_accel()
        proc = subprocess.Popen([str(c) for c in cmd], stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            for wait, hmp in (("install-change", f"change ide1-cd0 {b} raw"),
                              ("install-eject", "eject -f ide1-cd0")) if n == 1 else ():
                assert wait_for_text(log, f"ITEST WAIT {wait}", proc, 600), log.read_text()
                qemu_hmp(mon, hmp)
                with socket.socket(socket.AF_UNIX) as s:
                    s.connect(str(ser))
                    s.sendall(b"go\n")
            assert proc.wait(timeout=600) == 0, proc.stderr.read()
        finally:
            stop(proc)
        text = log.read_text(errors="replace")
        assert itest_result(text, "install") == "PASS", text[-2000:]
        assert ("ITEST INSTALL booted from the disk" in text) == (n == 2), text[-2000:]


# --- bareiron-vmm --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def vmm(build_dir):
    why = linux_problem()
    if why:
        pytest.skip(why)
    return built(build_dir / "src" / "vmm" / "bareiron-vmm")


def vmm_boot(vmm, guest, cmdline, *args, timeout=120):
    k, i = guest
    return run([vmm, "--kernel", k, "--initrd", i, "--memory", "512M", "--serial", "stdio",
                "--no-reboot", "--cmdline", f"{BASE_CMDLINE} {cmdline}"] + list(args),
               timeout=timeout, stdin=subprocess.DEVNULL)


def test_vmm_boot(vmm, guest):
    r = vmm_boot(vmm, guest, "itest=boot")
    assert itest_result(r.stdout, "boot") == "PASS", (r.stderr, r.stdout[-2000:])
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("fmt", ["raw", "qcow2"])
def test_vmm_virtio_blk(vmm, guest, tmp_path, fmt):
    disk = tmp_path / f"disk.{fmt}"
    if fmt == "raw":
        with open(disk, "wb") as f:
            f.truncate(64 << 20)
    else:
        if shutil.which("qemu-img") is None:
            pytest.skip("qemu-img is not installed")
        assert run(["qemu-img", "create", "-q", "-f", "qcow2", disk, "64M"]).returncode == 0
    r = vmm_boot(vmm, guest, "itest=blk", "--disk", f"{disk},format={fmt}")
    assert itest_result(r.stdout, "blk") == "PASS", (r.stderr, r.stdout[-2000:])
    assert r.returncode == 0, r.stderr
    if fmt == "qcow2":
        c = run(["qemu-img", "check", disk])
        assert c.returncode == 0, c.stdout + c.stderr
        raw = tmp_path / "flat.img"
        assert run(["qemu-img", "convert", "-O", "raw", disk, raw]).returncode == 0
        disk = raw
    e2fsck = shutil.which("e2fsck") or "/sbin/e2fsck"
    if os.path.exists(e2fsck):
        c = run([e2fsck, "-fn", disk])
        assert c.returncode == 0, c.stdout + c.stderr


def test_vmm_virtio_rng(vmm, guest):
    r = vmm_boot(vmm, guest, "itest=rng", "--rng")
    assert itest_result(r.stdout, "rng") == "PASS", (r.stderr, r.stdout[-2000:])
    assert r.returncode == 0, r.stderr


def test_vmm_virtio_console(vmm, guest, tmp_path):
    hvc = tmp_path / "hvc.log"
    r = vmm_boot(vmm, guest, "itest=console", "--vconsole", f"file:{hvc}")
    assert itest_result(r.stdout, "console") == "PASS", (r.stderr, r.stdout[-2000:])
    assert r.returncode == 0, r.stderr
    assert "ITEST HVC hello" in hvc.read_text(errors="replace")


def test_vmm_power_button(vmm, guest, tmp_path):
    k, i = guest
    log, ctl = tmp_path / "console.log", tmp_path / "control.sock"
    proc = subprocess.Popen(
        [str(vmm), "--kernel", str(k), "--initrd", str(i), "--memory", "512M", "--serial",
         f"file:{log}", "--control", str(ctl), "--no-reboot", "--cmdline",
         f"{BASE_CMDLINE} itest=powerbutton"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        assert wait_for_text(log, "ITEST WAIT powerbutton", proc, 120), \
            log.read_text(errors="replace") if log.exists() else "no console log"
        reply = vmm_util.control(ctl, "power-button")
        assert reply.get("ok") is True, reply
        assert proc.wait(timeout=60) == 0
    finally:
        stop(proc)
    assert itest_result(log.read_text(errors="replace"), "powerbutton") == "PASS"

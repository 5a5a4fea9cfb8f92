# SPDX-License-Identifier: MIT
"""Firmware boot on --machine pc (docs/vmm.md "Machines and firmware"): Debian's SeaBIOS
(bios-256k.bin) runs from the ROM at the top of 4 GiB, reads fw_cfg, prints its banner to the
debug port 0x402 (the VM log) and, through sercon, to COM1, and boots the guest's own media.

The boot sectors (firmware_util.py, assembled with binutils) print a word on COM1 with `out`
instructions and power off through the PIIX4 PM block at the base SeaBIOS gave it (ACPI S5).
The same images boot under QEMU -M pc as the reference. SeaBIOS and the boot sectors run
directly on kvm-pvm (real mode is emulated there), so only a host without KVM skips."""
import json
import os
import select
import shutil
import subprocess
import time

import pytest

import firmware_util as fu
import hostkind


@pytest.fixture(autouse=True)
def _need_firmware(vmm):
    problem = hostkind.firmware_problem()
    if problem:
        pytest.skip(problem)
    if not shutil.which("as") or not shutil.which("ld"):
        pytest.skip("binutils (as, ld) not installed")
    try:
        open(fu.SEABIOS, "rb").close()
    except OSError:
        pytest.skip(f"{fu.SEABIOS} missing (Debian package seabios)")


def run_vmm(vmm, args, timeout=60):
    return subprocess.run([str(vmm), "--serial", "stdio", "--no-reboot", "--log-level", "warn"]
                          + [str(a) for a in args], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=timeout, check=False)


def run_until(vmm, args, text, timeout=60):
    """Runs until (text) is on the serial console, then stops the monitor. Returns (stdout,
    stderr)."""
    p = subprocess.Popen([str(vmm), "--serial", "stdio", "--no-reboot", "--log-level", "warn"]
                         + [str(a) for a in args], stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out = b""
    deadline = time.monotonic() + timeout
    try:
        while text.encode() not in out and time.monotonic() < deadline and p.poll() is None:
            ready, _, _ = select.select([p.stdout], [], [], 0.5)
            if ready:
                out += os.read(p.stdout.fileno(), 65536)
    finally:
        p.terminate()
        rest, err = p.communicate(timeout=30)
    return (out + rest).decode(errors="replace"), err.decode(errors="replace")


def run_qemu(tmp_path, drives, timeout=120, extra=()):
    """QEMU -M pc with (drives) (virtio-blk, [(path, bootindex)]), serial to a file."""
    if not shutil.which("qemu-system-x86_64"):
        pytest.skip("qemu-system-x86_64 is not installed")
    log = tmp_path / "qemu-serial.log"
    args = ["qemu-system-x86_64", "-M", "pc", "-m", "128", "-nodefaults", "-display", "none",
            "-no-reboot", "-serial", f"file:{log}"] + hostkind.firmware_qemu_accel()
    for i, (path, index) in enumerate(drives):
        args += ["-drive", f"file={path},format=raw,if=none,id=d{i}",
                 "-device", f"virtio-blk-pci,drive=d{i},bootindex={index}"]
    args += list(extra)
    r = subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False)
    return r, log.read_text(errors="replace")


def test_banner_and_no_bootable_device(vmm):
    out, err = run_until(vmm, ["--memory", "128", "--log-level", "info"], "No bootable device")
    assert "SeaBIOS (version" in out  # sercon: the BIOS's text on COM1
    assert "No bootable device" in out
    assert "bios" in err and "SeaBIOS (version" in err  # the debug port 0x402 in the log
    assert "Found QEMU fw_cfg" in err and "QEMU fw_cfg DMA interface supported" in err
    assert "id=8086:1237" in err and "id=8086:7000" in err and "id=8086:7113" in err
    assert "Press ESC for boot menu" not in out  # no prompt, no wait without --boot-menu on


def test_boot_menu(vmm):
    """The menu key is ESC (SeaBIOS's default; no etc/boot-menu-key). At --log-level warn the
    debug port's lines are dropped."""
    out, err = run_until(vmm, ["--memory", "128", "--boot-menu", "on"], "No bootable device")
    assert "Press ESC for boot menu" in out
    assert "bios[" not in err and "SeaBIOS (version" not in err, err[-1000:]


def test_disk_boots(vmm, tmp_path):
    img = fu.disk_image(tmp_path, "DISK")
    r = run_vmm(vmm, ["--memory", "128", "--disk", f"{img},format=raw"])
    assert r.returncode == 0, r.stderr  # ACPI S5 through the PIIX4 PM block
    assert "DISK" in r.stdout
    q, log = run_qemu(tmp_path, [(img, 1)])
    assert q.returncode == 0, q.stderr
    assert "DISK" in log


@pytest.mark.parametrize("order,word", [("cdrom,disk", "CDROM"), ("disk,cdrom", "DISK")])
def test_boot_order(vmm, tmp_path, order, word):
    """A --cdrom on virtio-blk (bus=virtio: an MBR boot sector, not El Torito) and a disk, each
    with its own boot sector: --boot picks which one SeaBIOS boots through fw_cfg bootorder."""
    disk, cd = fu.disk_image(tmp_path, "DISK"), fu.disk_image(tmp_path, "CDROM")
    r = run_vmm(vmm, ["--memory", "128", "--disk", f"{disk},format=raw", "--cdrom",
                      f"{cd},bus=virtio", "--boot", order])
    assert r.returncode == 0, r.stderr
    assert word in r.stdout and ({"DISK", "CDROM"} - {word}).pop() not in r.stdout


def test_ide_disk_boots_first(vmm, tmp_path):
    """An ATA disk on the PIIX3 IDE (01.1, bus=ide) before a virtio disk: bootorder's
    /pci@i0cf8/ide@1,1/drive@0/disk@0 comes first; QEMU -M pc boots the same disk on IDE."""
    ide, vd = fu.disk_image(tmp_path, "IDEDISK"), fu.disk_image(tmp_path, "VIRTIODISK")
    r = run_vmm(vmm, ["--memory", "128", "--disk", f"{ide},format=raw,bus=ide", "--disk",
                      f"{vd},format=raw", "--boot", "disk"])
    assert r.returncode == 0, r.stderr
    assert "IDEDISK" in r.stdout and "VIRTIODISK" not in r.stdout
    q, log = run_qemu(tmp_path, [], extra=["-drive", f"file={ide},format=raw,if=ide"])
    assert q.returncode == 0 and "IDEDISK" in log, (q.stderr, log)


def test_boot_order_disks_reference(vmm, tmp_path):
    """Two disks: the order follows the slots (the first --disk first), as QEMU with bootindex
    in the same order."""
    a, b = fu.disk_image(tmp_path, "FIRST"), fu.disk_image(tmp_path, "SECOND")
    r = run_vmm(vmm, ["--memory", "128", "--disk", f"{a},format=raw", "--disk", f"{b},format=raw",
                      "--boot", "disk"])
    assert r.returncode == 0, r.stderr
    assert "FIRST" in r.stdout and "SECOND" not in r.stdout
    q, log = run_qemu(tmp_path, [(b, 2), (a, 1)])
    assert q.returncode == 0 and "FIRST" in log and "SECOND" not in log


def test_kernel_through_fw_cfg(vmm, tmp_path):
    """--kernel with --firmware bios: fw_cfg's kernel items and QEMU's linuxboot_dma.bin option
    ROM; the stand-in bzImage prints its command line. QEMU -kernel as the reference."""
    rom = "/usr/share/qemu/linuxboot_dma.bin"
    if not os.path.exists(rom):
        pytest.skip(f"{rom} missing (Debian package qemu-system-data)")
    k = fu.fake_bzimage(tmp_path)
    r = run_vmm(vmm, ["--memory", "128", "--firmware", "bios", "--kernel", k, "--cmdline",
                      "hello fw_cfg", "--initrd", k])
    assert r.returncode == 0, r.stderr
    assert "KERNEL:hello fw_cfg" in r.stdout
    q, log = run_qemu(tmp_path, [], extra=["-kernel", str(k), "-append", "hello fw_cfg"])
    assert q.returncode == 0, q.stderr
    assert "KERNEL:hello fw_cfg" in log


def qemu_ide(disk=None, cdrom=None):
    """QEMU -M pc arguments for an IDE disk (primary master) and a CD-ROM drive (secondary
    master, as ours; cdrom "" is an empty drive)."""
    args = []
    if disk is not None:
        args += ["-drive", f"file={disk},format=raw,if=ide,index=0"]
    if cdrom == "":
        args += ["-drive", "if=ide,index=2,media=cdrom"]
    elif cdrom is not None:
        args += ["-drive", f"file={cdrom},format=raw,if=ide,index=2,media=cdrom"]
    return args


# QEMU -boot order letters: a floppy, c disk, d CD-ROM
QEMU_ORDER = {"cdrom": "d", "disk": "c", "floppy": "a"}


def qemu_order(order):
    return ["-boot", "order=" + "".join(QEMU_ORDER[d] for d in order.split(","))]


@pytest.mark.parametrize("order,word", [("cdrom,disk", "CDROM"), ("disk,cdrom", "DISK")])
def test_el_torito_boot_order(vmm, tmp_path, order, word):
    """An El Torito CD (xorriso, a no-emulation boot image) in the ATAPI CD-ROM drive (IDE
    secondary master) and an IDE disk: SeaBIOS boots the one --boot puts first. QEMU -M pc
    with the same images and order as the reference."""
    disk, iso = fu.disk_image(tmp_path, "DISK"), fu.iso_image(tmp_path, "CDROM")
    other = ({"DISK", "CDROM"} - {word}).pop()
    r = run_vmm(vmm, ["--memory", "128", "--disk", f"{disk},format=raw,bus=ide", "--cdrom", iso,
                      "--boot", order])
    assert r.returncode == 0, r.stderr
    assert word in r.stdout and other not in r.stdout, r.stdout[-500:]
    q, log = run_qemu(tmp_path, [], extra=qemu_ide(disk, iso) + qemu_order(order))
    assert q.returncode == 0 and word in log and other not in log, (q.stderr, log[-500:])


@pytest.mark.parametrize("image", ["empty", "zero", "short"])
def test_empty_cdrom_falls_through(vmm, tmp_path, image):
    """--cdrom empty first in the boot order: SeaBIOS finds no disc and boots the disk. So it
    does with a hostile image in the drive: a 0-byte file (no medium) or 1000 bytes (no whole
    2048-byte sector)."""
    disk = fu.disk_image(tmp_path, "DISK")
    cdrom, qemu_cdrom = "empty", ""
    if image != "empty":
        path = tmp_path / f"{image}.iso"
        path.write_bytes(b"" if image == "zero" else b"\xcd" * 1000)
        cdrom = qemu_cdrom = str(path)
    r = run_vmm(vmm, ["--memory", "128", "--disk", f"{disk},format=raw,bus=ide", "--cdrom",
                      cdrom, "--boot", "cdrom,disk"])
    assert r.returncode == 0, r.stderr
    assert "DISK" in r.stdout
    q, log = run_qemu(tmp_path, [], extra=qemu_ide(disk, qemu_cdrom) + qemu_order("cdrom,disk"))
    assert q.returncode == 0 and "DISK" in log, (q.stderr, log[-500:])


def test_el_torito_floppy_emulation(vmm, tmp_path):
    """An El Torito CD whose boot image is a 1.44 MB floppy image (floppy emulation)."""
    iso = fu.iso_image(tmp_path, "FECDROM", floppy_emulation=True)
    r = run_vmm(vmm, ["--memory", "128", "--cdrom", iso, "--boot", "cdrom"])
    assert r.returncode == 0, r.stderr
    assert "FECDROM" in r.stdout


def qemu_pit_discard():
    """QEMU's in-kernel PIT dropping lost ticks, as ours on the pc machine (where a slow POST
    leaves a backlog of IRQ 0 ticks that ends SeaBIOS's floppy waits early)."""
    return ["-global", "kvm-pit.lost_tick_policy=discard"] if hostkind.kind() != "none" else []


def test_floppy_boots(vmm, tmp_path):
    """A 1.44 MB floppy whose boot sector prints FLOPPY, booted from drive A: of the floppy
    controller (SeaBIOS's reset, RECALIBRATE, READ ID and READ DATA over ISA DMA, IRQ 6)."""
    fd = fu.floppy_image(tmp_path, "FLOPPY")
    disk = fu.disk_image(tmp_path, "DISK")
    r = run_vmm(vmm, ["--memory", "128", "--floppy", fd, "--disk", f"{disk},format=raw",
                      "--boot", "floppy,disk"])
    assert r.returncode == 0, r.stderr
    assert "FLOPPY" in r.stdout and "DISK" not in r.stdout, r.stdout[-500:]
    q, log = run_qemu(tmp_path, [], extra=["-drive", f"file={fd},format=raw,if=floppy"]
                      + qemu_pit_discard() + qemu_order("floppy"))
    assert q.returncode == 0 and "FLOPPY" in log, (q.stderr, log[-500:])


def test_empty_floppy_falls_through(vmm, tmp_path):
    """--floppy empty first in the boot order: SeaBIOS cannot read drive A: and boots the
    disk."""
    disk = fu.disk_image(tmp_path, "DISK")
    r = run_vmm(vmm, ["--memory", "128", "--floppy", "empty", "--disk", f"{disk},format=raw",
                      "--boot", "floppy,disk"], timeout=120)
    assert r.returncode == 0, r.stderr
    assert "DISK" in r.stdout


def test_refusals(vmm):
    for args, text in [(["--firmware", "uefi", "--kernel", "k"], "not supported yet"),
                       (["--boot", "net"], "needs a network adapter (--nic)"),
                       (["--irqchip", "split"], "needs --irqchip kernel"),
                       (["--firmware-file", "/nonexistent.bin"], "/nonexistent.bin")]:
        r = run_vmm(vmm, args)
        assert r.returncode != 0 and text in r.stderr, (args, r.stderr)


def test_netboot_file_under_qemu(tmp_path):
    """The network boot file of the nested linux-netboot case (a boot sector printing NETBOOT)
    boots under QEMU -M pc through the same iPXE ROM, DHCP and TFTP of libslirp: the reference
    for our --boot net (iPXE does not run on kvm-pvm's emulator, so QEMU runs TCG here)."""
    rom = "/usr/lib/ipxe/qemu/efi-virtio.rom"
    if not shutil.which("qemu-system-x86_64") or not os.path.exists(rom):
        pytest.skip("qemu-system-x86_64 or ipxe-qemu is not installed")
    tftp = tmp_path / "tftp"
    tftp.mkdir()
    (tftp / "netboot.0").write_bytes(fu.boot_sector(tmp_path, "NETBOOT"))
    log = tmp_path / "serial.log"
    accel = ["-accel", "tcg"] if hostkind.kind() != "kvm" else ["-accel", "kvm"]
    r = subprocess.run(["qemu-system-x86_64", "-M", "pc", "-m", "128", "-display", "none",
                        "-no-reboot", "-serial", f"file:{log}", "-boot", "n", "-netdev",
                        f"user,id=n0,tftp={tftp},bootfile=netboot.0", "-device",
                        f"virtio-net-pci,netdev=n0,disable-legacy=on,romfile={rom}"] + accel,
                       capture_output=True, text=True, timeout=180, check=False)
    text = log.read_text(errors="replace")
    assert "NETBOOT" in text, (r.stderr, text[-2000:])  # nothing else on the network could boot


def test_manager_firmware_boot(bareiron, vmm, tmp_path):
    """bareiron create without --kernel: the manager starts the pc machine with SeaBIOS and
    --boot from the definition; the boot sector powers the VM off."""
    from mgr_util import Mgr
    m = Mgr(bareiron, tmp_path / "home", vmm=vmm)
    try:
        disk = fu.disk_image(tmp_path, "MGRDISK")
        serial = tmp_path / "serial.log"
        m.ok("create", "fw", "--disk", f"{disk},format=raw", "--memory", "128M", "--serial",
             f"file:{serial}", "--boot", "disk,cdrom")
        assert "Firmware:      auto (bios)" in m.ok("show", "fw").stdout
        m.ok("start", "fw")
        m.wait_state("fw", "powered-off", timeout=60)
        assert "MGRDISK" in serial.read_text(errors="replace")
        vmjson = json.loads((m.vm_dir("fw") / "vm.json").read_text())
        assert vmjson["firmware"] == "auto"
        # the VM's uuid is the SMBIOS system UUID: SeaBIOS prints it to the debug port
        log = (m.vm_dir("fw") / "run" / "vmm.log").read_text(errors="replace")
        assert f"Machine UUID {vmjson['uuid']}" in log, log[-2000:]
    finally:
        m.kill_monitors()


def counter_lines(text):
    """The round counts COUNTER_SECTOR printed ("C" and 4 hex digits a line)."""
    return [int(line[1:5], 16) for line in text.splitlines()
            if len(line) >= 5 and line[0] == "C" and all(c in "0123456789ABCDEF" for c in line[1:5])]


def wait_counts(path, n, boots=None, timeout=90):
    """Waits until (path) holds (n) count lines, after the (boots)th boot when given (each boot
    starts with C0010); returns its text from that boot's first count on (else all of it)."""
    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline:
        text = path.read_text(errors="replace") if path.exists() else ""
        assert "FAIL" not in text, text[-500:]
        if boots is not None:
            if text.count("C0010") == boots:
                tail = text[text.rindex("C0010"):]
                if len(counter_lines(tail)) >= n:
                    return tail
        elif len(counter_lines(text)) >= n:
            return text
        time.sleep(0.2)
    raise AssertionError(f"{path}: fewer than {n} counts: {text[-300:]!r}")


def assert_consecutive(counts):
    """COUNTER_SECTOR prints every 16th round: the counts go 16, 32, ... with no gap and no
    repeat (a resume that lost or replayed rounds, or booted again, breaks the sequence)."""
    assert counts and counts == list(range(counts[0], counts[0] + 16 * len(counts), 16)), counts


@pytest.mark.parametrize("media", ["disk", "cdrom"])
def test_save_restore_and_reset(vmm, tmp_path, media):
    """A SeaBIOS VM saves and resumes while its boot sector reads the IDE disk (ATA) or the
    IDE CD-ROM (ATAPI) through INT 13h over and over (COUNTER_SECTOR, which checks every
    sector it reads; a save often lands inside one of SeaBIOS's PIO reads, with a sector in
    the channel buffer that SeaBIOS has not taken yet): the restored
    monitor goes on counting from where the saved one stopped, without booting again, and the
    guest's ACPI S5 at the PM base SeaBIOS programmed before the save powers it off (status 0).
    With the disk, a reset through the control API before the save boots SeaBIOS again first.
    query-config shows --uuid (test_manager_firmware_boot sees SeaBIOS read it back)."""
    import vmm_util as u
    img = fu.counter_disk_image(tmp_path) if media == "disk" else fu.counter_iso_image(tmp_path)
    dev = ["--disk", f"{img},bus=ide,format=raw"] if media == "disk" else ["--cdrom", str(img)]
    uuid = "0123abcd-4567-89ab-cdef-0011223344ff"
    base = [str(vmm), "--memory", "128", "--uuid", uuid.upper(), "--log-level", "info", *dev]
    state = tmp_path / "state"
    out = [tmp_path / "com1-a.txt", tmp_path / "com1-b.txt"]
    sock = [tmp_path / "a.sock", tmp_path / "b.sock"]
    log = [tmp_path / "a.log", tmp_path / "b.log"]
    procs = []
    try:
        with open(log[0], "w") as logf:
            procs.append(subprocess.Popen(
                base + ["--serial", f"file:{out[0]}", "--control", str(sock[0])],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=logf))
        u.wait_path(sock[0], 10)
        assert u.control(sock[0], "query-config")["result"]["uuid"] == uuid.upper()
        boots = 1
        if media == "disk":  # SeaBIOS boots again after a reset and the count starts anew
            wait_counts(out[0], 1, boots=1)
            u.control(sock[0], "reset")
            boots = 2
        wait_counts(out[0], 3, boots=boots, timeout=120)
        r = u.control(sock[0], "save", {"path": str(state)})
        assert r.get("ok"), r
        assert procs[0].wait(timeout=30) == 0
        assert log[0].read_text().count("Booting from 0000:7c00") == boots
        text = out[0].read_text(errors="replace")
        saved = text[text.rindex("C0010"):]  # the counts of the last boot
        # the restored machine's COM1 on a pipe: a byte sent there asks for the S5
        with open(log[1], "w") as logf, open(out[1], "wb") as outf:
            procs.append(subprocess.Popen(
                base + ["--serial", "stdio", "--control", str(sock[1]), "--restore", str(state)],
                stdin=subprocess.PIPE, stdout=outf, stderr=logf))
        u.wait_path(sock[1], 10)
        wait_counts(out[1], 3)
        procs[1].stdin.write(b"q")
        procs[1].stdin.flush()
        assert procs[1].wait(timeout=60) == 0
    finally:
        for p in procs:
            p.kill()
            p.wait()
    resumed = out[1].read_text(errors="replace")
    err = log[1].read_text()
    assert "SeaBIOS" not in resumed and "resumed from" in err, err[-2000:]
    assert "guest entered S5" in err, err[-2000:]
    # the line being printed at the save is finished by the restored monitor
    assert_consecutive(counter_lines(saved + resumed))


def test_manager_save_and_start(bareiron, vmm, tmp_path):
    """`bareiron save` of a firmware VM (SeaBIOS, the counter boot sector reading its CD-ROM,
    on IDE) and `bareiron start` of the saved VM: it resumes counting where it stopped."""
    from mgr_util import Mgr
    m = Mgr(bareiron, tmp_path / "home", vmm=vmm)
    try:
        iso = fu.counter_iso_image(tmp_path)
        serial = tmp_path / "serial.log"
        m.ok("create", "fw", "--cdrom", iso, "--memory", "128M", "--serial", f"file:{serial}")
        m.ok("start", "fw")
        wait_counts(serial, 3)
        assert "saved" in m.ok("save", "fw").stdout
        # `save` returns once the monitor stops answering; until its process is gone a probe
        # may call it aborted (mgr/state.c), so wait for the state to settle
        m.wait_state("fw", "saved", timeout=30)
        before = counter_lines(serial.read_text(errors="replace"))
        assert "resumed" in m.ok("start", "fw").stdout
        after = counter_lines(wait_counts(serial, 3))  # file: starts afresh at the resume
        assert_consecutive(before)
        assert_consecutive(after)
        assert after[0] - before[-1] in (16, 32), (before[-3:], after[:3])
        m.ok("poweroff", "fw")
    finally:
        m.kill_monitors()


def test_ide_and_floppy_stats(vmm, tmp_path):
    """`stats` counts the IDE disk, the CD-ROM's disc and the floppy as it counts virtio-blk
    disks: SeaBIOS reads the boot sector of each (none is bootable) and then waits."""
    import vmm_util as u
    sock = tmp_path / "ctl.sock"
    fd, disk, iso = tmp_path / "blank-fd.img", tmp_path / "blank.img", tmp_path / "blank.iso"
    fd.write_bytes(bytes(1474560))
    disk.write_bytes(bytes(1 << 20))
    iso.write_bytes(bytes(1 << 20))
    p = subprocess.Popen([str(vmm), "--serial", "stdio", "--memory", "128", "--control", sock,
                          "--floppy", fd, "--disk", f"{disk},format=raw,bus=ide", "--cdrom", iso,
                          "--boot", "floppy,cdrom,disk"],
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL)
    try:
        out = b""
        deadline = time.monotonic() + 240
        while b"No bootable device" not in out and time.monotonic() < deadline:
            ready, _, _ = select.select([p.stdout], [], [], 0.5)
            if ready:
                out += os.read(p.stdout.fileno(), 65536)
        assert b"No bootable device" in out, out[-1000:]
        disks = {d["path"]: d for d in u.control(sock, "stats")["result"]["disks"]}
        for path in (fd, disk, iso):
            d = disks[str(path)]
            assert d["read_ops"] >= 1 and d["read_bytes"] >= 512, d
            assert d["write_ops"] == 0 and d["in_flight"] == 0, d
    finally:
        p.kill()
        p.wait()

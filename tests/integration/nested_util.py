# SPDX-License-Identifier: MIT
"""Nested KVM under TCG (docs/testing.md): the cases that scripts/nested-kvm.sh runs inside an
L1 Linux with a nested /dev/kvm, and the parser of its console output.

The payload cases are payload_util.CASES with their bareiron-vmm command lines rewritten to the
initramfs' paths (payloads in /p, disks in /tmp/d); the vCPU cases are the tiny multiboot
images of vmm_util (as test_vmm_boot.py uses them) in /x. Each case's output is turned back
into a payload_util.Result so that payload_util.problems() judges it exactly as on a real KVM.
"""
import base64
import dataclasses
import gzip
import hashlib
import json
import os
import pathlib
import re
import shlex
import shutil
import subprocess
import tempfile

import boot_util as bu
import payload_util as pu
import rfb_client as rfb
import vmm_util as vu

ROOT = pathlib.Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "nested-kvm.sh"
VMM = "bareiron-vmm"
HANG_LIMIT = 12  # seconds a case expected to hang may run before L1 kills it
KILLED = 137  # L1's `timeout -s KILL` ended the monitor


@dataclasses.dataclass
class VcpuCase:
    """A case beyond the payloads: (args) after `bareiron-vmm`, with the multiboot image of
    (code), if any, as --kernel. Passes when the status is (status) and every (out_has) string
    is in the output; (check)(text) may return more problems."""
    id: str
    code: bytes
    args: tuple
    status: int
    out_has: tuple = ()
    flags: str = "-"
    timeout: int = 60
    check: object = None
    linux: bool = False  # needs /x/vmlinuz and /x/initrd.gz
    env: tuple = ()  # NAME=VALUE words for the monitor's environment
    script: str = ""  # run tests/nested/<script> with (args) instead of the monitor
    skip_if: object = None  # (skip_if)(text) -> a reason to skip the case, or None


def _ctl_replies(text):
    """{cmd: [reply, ...]} from nested-ctl's `CTL <cmd> <json>` lines."""
    out = {}
    for line in text.splitlines():
        m = re.match(r"CTL (\S+) (\{.*\})$", line)
        if m:
            out.setdefault(m[1], []).append(json.loads(m[2]))
    return out


def check_control(text):
    """test_vmm_boot.test_control_socket's checks on the replies."""
    r = _ctl_replies(text)
    probs = []
    try:
        states = [x["result"]["state"] for x in r["query-state"]]
        if states != ["running", "paused"]:
            probs.append(f"query-state gave {states}, expected running then paused")
        if [x["ok"] for x in r["pause"]] != [True, False] or \
                r["pause"][1]["error"]["code"] != "EBUSY":
            probs.append(f"pause, pause gave {r['pause']}, expected ok then EBUSY")
        if not r["resume"][0]["ok"]:
            probs.append(f"resume: {r['resume'][0]}")
        st = r["stats"][0]["result"]
        if st["vcpu_count"] != 2 or st["guest_mem_bytes"] != 256 << 20:
            probs.append(f"stats: {st}")
        cfg = r["query-config"][0]["result"]
        if cfg["name"] != "ctl-test" or cfg["cpus"] != 2:
            probs.append(f"query-config: {cfg}")
        if not r["poweroff"][0]["ok"]:
            probs.append(f"poweroff: {r['poweroff'][0]}")
    except (KeyError, IndexError, TypeError) as e:
        probs.append(f"control replies incomplete ({e!r}): {r}")
    return probs


def check_ctl_ok(text, cmds):
    r = _ctl_replies(text)
    return [f"{c}: {r.get(c)}" for c in cmds if not (r.get(c) and r[c][0].get("ok"))]


def check_ctl_all_ok(text):
    """Every nested-ctl command got an ok reply (the key:, text: and ptr: items)."""
    r = _ctl_replies(text)
    bad = [f"{c}: {v}" for c, vs in r.items() for v in vs if not v.get("ok")]
    return bad if r else ["no control replies"]


def check_reboots(text):
    n = text.splitlines().count("boot")
    return [] if n >= 2 else [f"the payload ran {n} time(s), expected a reboot loop"]


def _itest(name):
    return (f"ITEST PASS {name}",)


LINUX = ["--kernel", "/x/vmlinuz", "--initrd", "/x/initrd.gz", "--memory", "512M",
         "--serial", "stdio", "--no-reboot"]
LINUX_CMDLINE = "console=ttyS0 panic=-1 quiet"
DRM_MODE = "1280x800"  # linux-drm: not the adapter's default 1024x768

VCPU_CASES = [
    VcpuCase("vcpu-debugexit", vu.debug_exit(0x21), (), (0x21 << 1) | 1),
    VcpuCase("vcpu-serial", vu.serial_write(b"hello from the guest\n") + vu.debug_exit(0), (), 1,
             out_has=("hello from the guest",)),
    VcpuCase("vcpu-serial-none", vu.serial_write(b"to-nowhere\n") + vu.debug_exit(0),
             ("--serial", "none"), 1, check=lambda t: ["output with --serial none"]
             if "to-nowhere" in t else []),
    VcpuCase("vcpu-s5", vu.out16(0x604, (0 << 10) | (1 << 13)), (), 0),
    VcpuCase("vcpu-i8042", vu.out8(0x64, 0xFE), (), 0),
    VcpuCase("vcpu-triple", vu.triple_fault(), (), 8, out_has=("rip=", "cr0=", "code:")),
    VcpuCase("vcpu-smp8-4g", vu.debug_exit(3), ("--cpus", "8", "--memory", "4G"), 7),
    VcpuCase("vcpu-baseline", vu.debug_exit(0), ("--cpu-model", "baseline"), 1),
    VcpuCase("vcpu-host", vu.debug_exit(0), ("--cpu-model", "host"), 1),
    # without --no-reboot a reset builds a new machine; SIGTERM after 4 s ends the loop (with no
    # --reboot-limit, which would stop it as crashed first)
    VcpuCase("vcpu-reboot-loop", vu.serial_write(b"boot\n") + vu.out8(0x64, 0xFE),
             ("--reboot", "--reboot-limit", "off"), 128 + 15, flags="term", timeout=4,
             check=check_reboots),
    VcpuCase("vcpu-control", b"\xeb\xfe",
             ("--serial", "none", "--control", "/tmp/d/control.sock", "--name", "ctl-test",
              "--cpus", "2"), 0,
             flags="ctl=sleep:500+query-state+pause+query-state+pause+resume+stats+query-config"
                   "+poweroff", check=check_control),
    VcpuCase("linux-smp", b"", tuple(LINUX) + (
        "--cpus", "2", "--cmdline", f"{LINUX_CMDLINE} itest=smp itest_cpus=2"), 0,
        out_has=_itest("smp"), timeout=300, linux=True),
    # without ACPI the second CPU is found through the MP table; poweroff could only halt (no
    # S5 without ACPI), so /init resets the machine instead and --no-reboot ends the monitor
    VcpuCase("linux-mptable", b"", tuple(LINUX) + (
        "--cpus", "2", "--cmdline",
        f"{LINUX_CMDLINE} acpi=off itest=smp itest_cpus=2 itest_end=reboot"), 0,
        out_has=_itest("smp"), timeout=300, linux=True),
    VcpuCase("linux-blk", b"", tuple(LINUX) + (
        "--disk", "/tmp/d/disk.img,format=raw", "--cmdline", f"{LINUX_CMDLINE} itest=blk"), 0,
        out_has=_itest("blk"), flags="blank=64M", timeout=300, linux=True),
    VcpuCase("linux-blk-qcow2", b"", tuple(LINUX) + (
        "--disk", "/tmp/d/disk.qcow2,format=qcow2", "--cmdline",
        f"{LINUX_CMDLINE} itest=blk"), 0, out_has=_itest("blk"), flags="copy=disk.qcow2",
        timeout=300, linux=True),
    # the same workload jailed (docs/security.md "Sandbox"): the disk is opened before the jail
    VcpuCase("linux-blk-sandbox", b"", tuple(LINUX) + (
        "--sandbox", "--disk", "/tmp/d/disk.qcow2,format=qcow2", "--cmdline",
        f"{LINUX_CMDLINE} itest=blk"), 0, out_has=_itest("blk"), flags="copy=disk.qcow2",
        timeout=300, linux=True),
    # the thread-pool block engine's workers under their seccomp filter
    VcpuCase("linux-blk-sync", b"", tuple(LINUX) + (
        "--disk", "/tmp/d/disk.qcow2,format=qcow2", "--cmdline",
        f"{LINUX_CMDLINE} itest=blk"), 0, out_has=_itest("blk"), flags="copy=disk.qcow2",
        timeout=300, linux=True, env=("BAREIRON_BLK_ENGINE=sync",)),
    VcpuCase("linux-rng", b"", tuple(LINUX) + (
        "--rng", "--cmdline", f"{LINUX_CMDLINE} itest=rng"), 0, out_has=_itest("rng"),
        timeout=300, linux=True),
    VcpuCase("linux-console", b"", tuple(LINUX) + (
        "--vconsole", "file:/tmp/d/hvc.log", "--cmdline", f"{LINUX_CMDLINE} itest=console"), 0,
        out_has=_itest("console"), timeout=300, linux=True),
    # paused for 2 s first (KVM_KVMCLOCK_CTRL on a kvmclock guest). The itest /init prints
    # ITEST WAIT just BEFORE it opens the evdev device: a press that comes too soon is lost,
    # so wait a little (a real host's harness is slower than nested-ctl)
    VcpuCase("linux-powerbutton", b"", tuple(LINUX) + (
        "--control", "/tmp/d/control.sock", "--cmdline",
        f"{LINUX_CMDLINE} itest=powerbutton"), 0, out_has=_itest("powerbutton"),
        flags="wait,ctl=pause+sleep:2000+resume+sleep:3000+power-button", timeout=300,
        linux=True, check=lambda t: check_ctl_ok(t, ("pause", "resume", "power-button"))),
    # host input (send-key, input-pointer) read by /init from evdev: PS/2 through the i8042
    # (atkbd, psmouse), then the virtio-input keyboard and tablet (--input virtio)
    VcpuCase("linux-input-ps2", b"", tuple(LINUX) + (
        "--control", "/tmp/d/control.sock", "--cmdline",
        f"{LINUX_CMDLINE} itest=input itest_input=ps2"), 0, out_has=_itest("input"),
        flags="wait,ctl=sleep:1000+key:a+text:B+ptr:100:100:640:480:0+ptr:110:95:640:480:1",
        timeout=300, linux=True,
        check=check_ctl_all_ok),
    VcpuCase("linux-input-virtio", b"", tuple(LINUX) + (
        "--control", "/tmp/d/control.sock", "--input", "virtio", "--cmdline",
        f"{LINUX_CMDLINE} itest=input itest_input=virtio"), 0, out_has=_itest("input"),
        flags="wait,ctl=sleep:1000+key:a+text:B+ptr:100:100:640:480:0+ptr:110:95:640:480:1",
        timeout=300, linux=True,
        check=check_ctl_all_ok),
    # the full in-kernel chipset (8259 PIC, IOAPIC, PIT) instead of the default split irqchip
    VcpuCase("linux-smp-irqchip-kernel", b"", tuple(LINUX) + (
        "--irqchip", "kernel", "--cpus", "2", "--cmdline",
        f"{LINUX_CMDLINE} itest=smp itest_cpus=2"), 0, out_has=_itest("smp"), timeout=300,
        linux=True),
    VcpuCase("linux-blk-irqchip-kernel", b"", tuple(LINUX) + (
        "--irqchip", "kernel", "--disk", "/tmp/d/disk.img,format=raw", "--cmdline",
        f"{LINUX_CMDLINE} itest=blk"), 0, out_has=_itest("blk"), flags="blank=64M", timeout=300,
        linux=True),
    # no ACPI tables at all: the second CPU comes from the MP table; poweroff would only halt,
    # so /init ends with a reset (i8042), which --no-reboot turns into status 0
    VcpuCase("linux-acpi-off", b"", tuple(LINUX) + (
        "--acpi", "off", "--cpus", "2", "--cmdline",
        f"{LINUX_CMDLINE} itest=smp itest_cpus=2 itest_end=reboot"), 0, out_has=_itest("smp"),
        timeout=300, linux=True),
    # the default split irqchip with the whole kernel log: Linux finds no 8259 and no PIT and
    # does not miss them
    VcpuCase("linux-split-dmesg", b"", tuple(LINUX) + (
        "--cmdline", "console=ttyS0 panic=-1 itest=boot"), 0, out_has=_itest("boot"),
        timeout=300, linux=True, check=lambda t: check_split_dmesg(t)),
    # virtio-net on the NAT network (docs/vmm.md "Network adapters"): a lease, DNS through
    # 10.0.2.3 (libslirp relays it to L1's 127.0.0.1:53, nested-dns), HTTP to L1's loopback
    # through 10.0.2.2, then the adapter's counters through the control socket; all traffic
    # stays inside L1
    VcpuCase("linux-net", b"", tuple(LINUX) + (
        "--nic", "nat", "--control", "/tmp/d/control.sock", "--cmdline",
        f"{LINUX_CMDLINE} itest=net itest_port=8123 itest_dns=192.0.2.53"), 0,
        out_has=_itest("net"), flags="dns,httpd=8123,wait,ctl=query-net,rx=go", timeout=300,
        linux=True, check=lambda t: check_net_counters(t)),
    # the same jailed: the NAT backend's sockets under the sandbox and its seccomp filter
    VcpuCase("linux-net-sandbox", b"", tuple(LINUX) + (
        "--sandbox", "--nic", "nat", "--control", "/tmp/d/control.sock", "--cmdline",
        f"{LINUX_CMDLINE} itest=net itest_port=8123 itest_dns=192.0.2.53"), 0,
        out_has=_itest("net"), flags="dns,httpd=8123,wait,ctl=query-net,rx=go", timeout=300,
        linux=True, check=lambda t: check_net_counters(t)),
    # a forward into the guest: L1 fetches 127.0.0.1:8124, which reaches the guest's port 80
    VcpuCase("linux-net-hostfwd", b"", tuple(LINUX) + (
        "--nic", "nat,hostfwd=tcp::8124-:80", "--cmdline", f"{LINUX_CMDLINE} itest=net_fwd"), 0,
        out_has=_itest("net_fwd") + ("GOT ITEST-GUEST-HELLO",), flags="wait,get=8124,rx=go",
        timeout=300, linux=True),
    VcpuCase("linux-net-restrict", b"", tuple(LINUX) + (
        "--nic", "nat,restrict=on", "--cmdline",
        f"{LINUX_CMDLINE} itest=net_restrict itest_port=8123"), 0,
        out_has=_itest("net_restrict"), flags="httpd=8123", timeout=300, linux=True),
    VcpuCase("linux-net-down", b"", tuple(LINUX) + (
        "--nic", "none", "--cmdline", f"{LINUX_CMDLINE} itest=net_down"), 0,
        out_has=_itest("net_down"), timeout=300, linux=True),
    # the floppy controller under Linux's floppy.ko (docs/vmm.md "Floppy"): a FAT disk made by
    # mtools is read and written, then another disk goes in (media-change, its descriptor sent
    # by nested-ctl) and the guest mounts the new one; the host reads the guest's file back
    VcpuCase("linux-floppy", b"", tuple(LINUX) + (
        "--floppy", "/tmp/d/floppy.img", "--control", "/tmp/d/control.sock", "--cmdline",
        f"{LINUX_CMDLINE} itest=floppy"), 0, out_has=_itest("floppy"),
        flags="copy=floppy.img,copy=floppy2.img,wait,ctl=floppy:/tmp/d/floppy2.img,rx=go",
        timeout=300, linux=True, check=lambda t: check_floppy(t)),
    # IDE (ata_piix): an ISO made by xorriso on the ATAPI CD-ROM (sr_mod, isofs), a raw disk on
    # bus=ide written and read back, then a media change through the control socket (the image's
    # descriptor passed with it) that the guest's next mount sees. The split irqchip puts the
    # controller in PCI native mode (INTA), the kernel irqchip in compatibility mode (IRQ 14/15)
    *[VcpuCase(f"linux-ide{sfx}", b"", tuple(LINUX) + irqchip + (
        "--disk", "/tmp/d/disk.img,format=raw,bus=ide", "--cdrom", "/tmp/d/a.iso", "--control",
        "/tmp/d/control.sock", "--cmdline", "console=ttyS0 panic=-1 itest=ide"), 0,
        out_has=_itest("ide"),
        flags="blank=64M,copy=a.iso,copy=b.iso,wait,ctl=cdrom:/tmp/d/b.iso,rx=go",
        timeout=300, linux=True, check=lambda t: check_ctl_ok(t, ("cdrom:/tmp/d/b.iso",)))
      for sfx, irqchip in (("", ()), ("-irqchip-kernel", ("--irqchip", "kernel")))],
    # a live save under disk I/O (docs/vmm.md "Saved state", Live): the guest writes files on
    # an ext4 file system made by the host, the monitor saves it live mid-loop and exits, L1
    # restores it, the guest writes on, checks its files and unmounts; L1 sends the disk back
    # and e2fsck -fn must find it clean
    VcpuCase("linux-livefs", b"", tuple(LINUX) + (
        "--disk", "/tmp/d/livefs.img,format=raw", "--control", "/tmp/d/control.sock",
        "--cmdline", f"{LINUX_CMDLINE} itest=livefs"), 0, out_has=_itest("livefs"),
        flags="copy=livefs.img,wait,ctl=sleep:3000+save:/tmp/d/vm.state:live,"
              "restore=/tmp/d/vm.state,rx=go,back=livefs.img",
        timeout=300, linux=True, check=lambda t: check_livefs(t)),
    # the install flow in miniature (tests/nested/install_case.sh, docs/testing.md): no
    # --kernel; SeaBIOS boots the grub-mkrescue ISO by El Torito from the IDE CD-ROM, GRUB loads
    # Debian's kernel and the initramfs from it, and /init (itest=install) reads the disc back,
    # copies it to the IDE disk, sees a disc change and an eject; then the machine starts again
    # with the drive empty and boots from the disk alone to /init
    VcpuCase("linux-install", b"", (VMM, "/x/bios-256k.bin", "/tmp/d/linux.iso",
                                    "/tmp/d/b.iso"), 0,
             out_has=("INSTALL status 1=0", "INSTALL status 2=0"),
             flags="blank=64M,copy=linux.iso,copy=b.iso", timeout=600, linux=True,
             script="install_case.sh", check=lambda t: check_install(t)),
    # network boot (docs/vmm.md "Machines and firmware"), jailed: SeaBIOS runs the adapter's
    # iPXE ROM, iPXE gets the boot file's name from the NAT network's DHCP and the file from
    # its TFTP server (a directory bound into the jail, read-only opens let through the
    # filter), and runs it: the boot sector of firmware_util, which prints NETBOOT on COM1 and
    # powers off (iPXE cannot run on kvm-pvm's emulator, hence L1)
    VcpuCase("linux-netboot", b"", (
        "--machine", "pc", "--memory", "128M", "--serial", "stdio", "--no-reboot", "--boot",
        "net", "--nic", "nat,tftp=/tmp/d/tftp,bootfile=netboot.0", "--firmware-file",
        "/x/bios-256k.bin", "--sandbox"), 0,
        out_has=("iPXE", "NETBOOT"), flags="tftp=netboot.0", timeout=180, linux=True),
    # Linux's bochs DRM driver on the std-VGA (docs/vmm.md "Display"): the EDID prefers
    # DRM_MODE (mode=); the guest reads its connector's first mode and fb0's size back from
    # sysfs, then L1 takes a PNG screenshot (nested-ctl's shot:PATH) and sends it back. Loading
    # the DRM modules makes it one of the slower boots: 155-300 s on a loaded 2-core host
    VcpuCase("linux-drm", b"", tuple(LINUX) + (
        "--video", f"std,mode={DRM_MODE}", "--control", "/tmp/d/control.sock", "--cmdline",
        f"{LINUX_CMDLINE} itest=drm itest_mode={DRM_MODE}"), 0, out_has=_itest("drm"),
        flags="wait,ctl=sleep:500+shot:/tmp/d/drm.png+query-display,rx=go,back=drm.png",
        timeout=420, linux=True, check=lambda t: check_drm(t)),
]


GRUB_CFG = """serial --unit=0 --speed=115200
terminal_input serial
terminal_output serial
set timeout=0
menuentry "itest" {
    linux /vmlinuz console=ttyS0 panic=-1 quiet itest=install
    initrd /initrd.gz
}
"""


SEABIOS = "/usr/share/seabios/bios-256k.bin"


def make_grub_iso(path, vmlinuz, initrd):
    """A BIOS-bootable ISO (grub-mkrescue, GRUB's i386-pc modules) carrying (vmlinuz), (initrd)
    and /itest.txt ITEST-CD-A, whose GRUB boots the install scenario on the serial console; a
    hybrid image, so a copy of it on a disk boots from its MBR too. False when grub-mkrescue,
    GRUB's i386-pc files or xorriso are missing."""
    mods = pathlib.Path("/usr/lib/grub/i386-pc")
    if not shutil.which("grub-mkrescue") or not shutil.which("xorriso") or not mods.is_dir():
        return False
    src = pathlib.Path(str(path) + ".d")
    shutil.rmtree(src, ignore_errors=True)
    (src / "boot" / "grub").mkdir(parents=True)
    (src / "boot" / "grub" / "grub.cfg").write_text(GRUB_CFG)
    (src / "itest.txt").write_text("ITEST-CD-A\n")
    shutil.copy(vmlinuz, src / "vmlinuz")
    shutil.copy(initrd, src / "initrd.gz")
    if not os.path.exists(SEABIOS):
        return False
    shutil.copy(SEABIOS, pathlib.Path(path).parent / "bios-256k.bin")  # L1 has no seabios
    subprocess.run(["grub-mkrescue", "-d", str(mods), "-o", str(path), str(src)], check=True,
                   capture_output=True, timeout=120)
    shutil.rmtree(src)
    return True


def png_size(data):
    """(width, height) from a PNG's IHDR, or None when (data) is no PNG."""
    if len(data) < 24 or data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        return None
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def check_drm(text):
    """The bochs DRM case: the guest saw DRM_MODE (its own ITEST DRM line and PASS), the
    adapter is in that VBE mode (query-display), and the PNG L1 sent back has that size and
    the band the guest wrote to /dev/fb0."""
    w, h = map(int, DRM_MODE.split("x"))
    probs = check_ctl_ok(text, ("shot:/tmp/d/drm.png", "query-display"))
    r = _ctl_replies(text).get("query-display")
    try:
        d = r[0]["result"]
        if (d["mode"], d["width"], d["height"]) != ("vbe", w, h):
            probs.append(f"query-display: {d}")
    except (TypeError, IndexError, KeyError):
        probs.append(f"no query-display reply: {r}")
    if not re.search(rf"^ITEST DRM \S+ modes={DRM_MODE} .* fb={w},{h} name=bochs", text, re.M):
        probs.append("no ITEST DRM line with the mode, fb0's size and bochs' fb0")
    b64 = "".join(l.split(" ", 1)[1] for l in text.splitlines() if l.startswith("BACK-GZ "))
    if not b64:
        return probs + ["L1 sent no screenshot back"]
    data = gzip.decompress(base64.b64decode(b64))
    size = png_size(data)
    if size != (w, h):
        return probs + [f"the screenshot is {size}, expected {(w, h)}"]
    with tempfile.TemporaryDirectory() as d:
        png = pathlib.Path(d) / "drm.png"
        png.write_bytes(data)
        _, _, rows = rfb.read_png(png)
    # the guest's white band through /dev/fb0, rows 400..415, and black around it
    bad = [y for y in range(399, 417) if set(rows[y]) != ({0xFFFFFF} if 400 <= y < 416 else {0})]
    if bad:
        probs.append(f"the screenshot's rows {bad} are not what the guest drew")
    return probs


def check_install(text):
    """The install case (tests/nested/install_case.sh): the first boot came from the CD,
    installed, saw the disc change and the eject (both media-change requests taken); the
    second came from the disk with the drive empty."""
    probs = check_ctl_ok(text, ("cdrom:/tmp/d/b.iso", "cdrom:eject"))
    want = {"1": ("Booting from DVD/CD", "ITEST INSTALL copied", "ITEST INSTALL new medium",
                  "ITEST INSTALL no medium after the eject", "ITEST PASS install"),
            "2": ("Booting from Hard Disk", "ITEST INSTALL booted from the disk",
                  "ITEST PASS install")}
    for n, lines in want.items():
        out = "\n".join(l[len(n) + 2:] for l in text.splitlines() if l.startswith(f"{n}| "))
        probs += [f"boot {n}: no {w!r}" for w in lines if w not in out]
    return probs


def check_floppy(text):
    """The floppy case: the media change reached the monitor, and the disk the guest wrote
    (sent back gzip'ed and base64'ed by L1's /init) holds GUEST.TXT, read with mtools."""
    probs = check_ctl_ok(text, ("floppy:/tmp/d/floppy2.img",))
    b64 = "".join(l.split(" ", 1)[1] for l in text.splitlines() if l.startswith("FLOPPY-GZ "))
    if not b64:
        return probs + ["L1 sent no floppy image back"]
    with tempfile.TemporaryDirectory() as d:
        img = pathlib.Path(d) / "floppy.img"
        img.write_bytes(gzip.decompress(base64.b64decode(b64)))
        r = subprocess.run(["mtype", "-i", str(img), "::GUEST.TXT"], capture_output=True,
                           text=True, timeout=30)
    if r.returncode != 0 or r.stdout.strip() != "written by the guest":
        probs.append(f"mtype GUEST.TXT: {r.returncode} {r.stdout!r} {r.stderr.strip()}")
    return probs


def _e2fs_tool(name):
    """The path of e2fsprogs' (name), or None."""
    path = shutil.which(name) or f"/sbin/{name}"
    return path if os.path.exists(path) else None


def make_ext4(extra):
    """livefs.img: an empty 64 MiB ext4 file system made by mkfs.ext4; False without it."""
    mkfs = _e2fs_tool("mkfs.ext4")
    if not mkfs:
        return False
    img = pathlib.Path(extra) / "livefs.img"
    img.unlink(missing_ok=True)
    subprocess.run([mkfs, "-q", "-F", "-L", "LIVEFS", str(img), "64M"], check=True, timeout=60)
    return True


def check_livefs(text):
    """The live-save case: the save was taken, the restored guest wrote on (progress lines
    after RESTORE, no second boot) and e2fsck -fn finds the disk L1 sent back clean."""
    probs = check_ctl_ok(text, ("save:/tmp/d/vm.state:live",))
    lines = text.splitlines()
    if "RESTORE" not in lines:
        return probs + ["the monitor was not restored (no RESTORE line)"]
    after = lines[lines.index("RESTORE") + 1:]
    if not any(l.startswith("ITEST LIVEFS wrote") for l in after):
        probs.append("the restored guest wrote no more files")
    if "ITEST INIT" in after:
        probs.append("the restored guest booted again")
    b64 = "".join(l.split(" ", 1)[1] for l in lines if l.startswith("BACK-GZ "))
    if not b64:
        return probs + ["L1 sent no disk back"]
    with tempfile.TemporaryDirectory() as d:
        img = pathlib.Path(d) / "livefs.img"
        img.write_bytes(gzip.decompress(base64.b64decode(b64)))
        r = subprocess.run([_e2fs_tool("e2fsck") or "e2fsck", "-fn", str(img)],
                           capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        probs.append(f"e2fsck -fn: status {r.returncode}: {(r.stdout + r.stderr).strip()}")
    return probs


def make_netboot(extra):
    """netboot.0, the network boot file of linux-netboot (a boot sector that prints NETBOOT and
    powers off), and SeaBIOS, which L1 does not have."""
    import firmware_util as fu
    (extra / "netboot.0").write_bytes(fu.boot_sector(extra, "NETBOOT"))
    for f in ("NETBOOT.S", "NETBOOT.o", "NETBOOT.bin"):
        (extra / f).unlink(missing_ok=True)
    if os.path.exists(SEABIOS):
        shutil.copy(SEABIOS, extra / "bios-256k.bin")


def make_floppies(extra):
    """floppy.img (HELLO.TXT) and floppy2.img (SECOND.TXT), 1.44M FAT made with mtools; False
    when mtools is missing."""
    if not shutil.which("mformat"):
        return False
    for name, fname, text in (("floppy.img", "HELLO.TXT", "hello from the host"),
                              ("floppy2.img", "SECOND.TXT", "the second disk")):
        img = pathlib.Path(extra) / name
        img.unlink(missing_ok=True)
        subprocess.run(["mformat", "-C", "-f", "1440", "-i", str(img), "::"], check=True,
                       timeout=60)
        src = pathlib.Path(extra) / fname
        src.write_text(text + "\n")
        subprocess.run(["mcopy", "-i", str(img), str(src), "::" + fname], check=True, timeout=60)
        src.unlink()
    return True


def make_iso(path, text, pad_mib=0):
    """An ISO 9660 image at (path) whose /itest.txt holds (text) (and a file of (pad_mib) MiB),
    made with xorriso; False when xorriso is missing."""
    if not shutil.which("xorriso"):
        return False
    src = pathlib.Path(str(path) + ".d")
    shutil.rmtree(src, ignore_errors=True)
    src.mkdir()
    (src / "itest.txt").write_text(text + "\n")
    if pad_mib:
        (src / "pad.bin").write_bytes(os.urandom(pad_mib << 20))
    subprocess.run(["xorriso", "-as", "mkisofs", "-quiet", "-V", "ITEST", "-o", str(path),
                    str(src)], check=True, timeout=120, capture_output=True)
    shutil.rmtree(src)
    return True


def check_net_counters(text):
    """query-net's counters after the DHCP, DNS and HTTP exchanges of itest=net."""
    r = _ctl_replies(text).get("query-net")
    try:
        nic = r[0]["result"]["nics"][0]
    except (TypeError, IndexError, KeyError):
        return [f"no query-net reply: {r}"]
    probs = []
    if nic["type"] != "nat" or nic["mac"] != "52:54:00:12:34:56" or not nic["link"]:
        probs.append(f"query-net: {nic}")
    if nic["rx_packets"] < 6 or nic["tx_packets"] < 6 or nic["errors"] != 0:
        probs.append(f"query-net counters: {nic}")
    return probs


def check_split_dmesg(text):
    """Problems in the kernel log of a split-irqchip boot (no 8259, no PIT)."""
    probs = [] if "Using NULL legacy PIC" in text else ["Linux did not find the 8259 missing"]
    # the last one: Linux wanted a PIT (no TSC-deadline timer in CPUID) and found no IRQ 0
    for bad in ("timer doesn't work", "MP-BIOS bug", "IO-APIC + timer", "Kernel panic",
                "APIC calibration not consistent", "spurious 8259A interrupt",
                "Failed to register legacy timer interrupt"):
        if bad in text:
            probs.append(f"kernel log has {bad!r}")
    return probs


def check_bridge(vhost, queues=1):
    """The checks of a bridge case (tests/nested/bridge_case.sh): both guests passed, B reached A
    (ping) and A received exactly what B sent; with vhost-net on, each monitor has
    /dev/vhost-net open once per queue pair, with it off neither has."""
    def check(text):
        lines = text.splitlines()
        probs = []
        m = re.search(r"^BRIDGE status A=(\S+) B=(\S+)$", text, re.M)
        if not m or m.groups() != ("0", "0"):
            probs.append(f"monitor exit statuses: {m.groups() if m else 'none printed'}")
        for g in "AB":
            if f"{g}| ITEST PASS netrun" not in lines:
                probs.append(f"guest {g} did not pass")
        if "B| ITEST PING 10.9.0.1 ok" not in lines:
            probs.append("B could not ping A")
        got = re.findall(r"^A\| ITEST TCP received (\d+ \S+)$", text, re.M)
        sent = re.findall(r"^B\| ITEST TCP sent (\d+ \S+)$", text, re.M)
        if not got or got != sent:
            probs.append(f"A received {got}, B sent {sent}")
        m = re.search(r"^BRIDGE vhost A=(\S+) B=(\S+)$", text, re.M)
        fds = m.groups() if m else ("?", "?")
        ok = all(f.isdigit() and int(f) == (queues if vhost else 0) for f in fds)
        if not ok:
            probs.append(f"/dev/vhost-net descriptors A={fds[0]} B={fds[1]} with vhost="
                         f"{'on' if vhost else 'off'}")
        return probs
    return check


def bridge_skip(text):
    """Why a bridge case could not run, or None: the monitor has no --nic (the case's
    BRIDGE-SKIP line), or it refused a setting ("... not supported yet", e.g. vhost=on)."""
    m = re.search(r"^BRIDGE-SKIP (.*)$", text, re.M)
    if m:
        return m[1]
    m = re.search(r"^[AB]\| (.*not supported yet.*)$", text, re.M)
    return f"the monitor refused: {m[1]}" if m else None


# Two guests on one bridge through tap (made by the case in a network namespace of its own in
# L1), with vhost-net on and off. They need tun, vhost_net and bridge in L1 (NET_MODULES).
BRIDGE_CASES = [
    VcpuCase(f"linux-bridge-vhost-{v}", b"", (v, VMM, "/x/vmlinuz", "/x/initrd.gz"), 0,
             timeout=600, linux=True, script="bridge_case.sh", check=check_bridge(v == "on"),
             skip_if=bridge_skip)
    for v in ("on", "off")
] + [
    # multiqueue: 2 queue pairs, 2 vCPUs per guest, vhost-net per pair (2 descriptors each)
    VcpuCase("linux-bridge-mq-vhost-on", b"", ("on", VMM, "/x/vmlinuz", "/x/initrd.gz", "2"), 0,
             timeout=600, linux=True, script="bridge_case.sh", check=check_bridge(True, 2),
             skip_if=bridge_skip),
    # the in-kernel irqchip (PIC, IOAPIC, PIT in KVM): vhost's queue interrupts through irqfds
    # whose MSI routes sit beside KVM's default PIC/IOAPIC routes
    VcpuCase("linux-bridge-irqchip-kernel-vhost-on", b"",
             ("on", VMM, "/x/vmlinuz", "/x/initrd.gz", "1", "kernel"), 0, timeout=600,
             linux=True, script="bridge_case.sh", check=check_bridge(True), skip_if=bridge_skip),
]
VCPU_CASES += BRIDGE_CASES

OVMF_CODE = "/usr/share/OVMF/OVMF_CODE_4M.fd"
OVMF_VARS = "/usr/share/OVMF/OVMF_VARS_4M.fd"


def check_uefi(text):
    """The UEFI case (tests/nested/uefi_case.sh): both boots reached /init and powered off,
    and the first one wrote the variable store."""
    probs = []
    for n in ("1", "2"):
        if not re.search(rf"^{n}\| .*ITEST PASS boot", text, re.M):
            probs.append(f"boot {n}: no ITEST PASS boot")
        if f"UEFI status {n}=0" not in text:
            probs.append(f"boot {n}: the monitor's status is not 0")
    if "UEFI-VARS written" not in text:
        probs.append("the first boot left the variable store as it was")
    return probs


def make_uefi_iso(extra, kernel_cmdline):
    """uefi.iso (grub-mkrescue: GRUB's EFI image booting /x's vmlinuz and initrd.gz with
    (kernel_cmdline)) and Debian's OVMF in (extra); False when a tool or OVMF is missing."""
    if not shutil.which("grub-mkrescue") or not shutil.which("xorriso") or \
            not shutil.which("mformat") or not os.path.exists(OVMF_CODE) or \
            not os.path.isdir("/usr/lib/grub/x86_64-efi"):
        return False
    extra = pathlib.Path(extra)
    src = extra / "uefi-iso.d"
    (src / "boot" / "grub").mkdir(parents=True, exist_ok=True)
    shutil.copy(extra / "vmlinuz", src / "vmlinuz")
    shutil.copy(extra / "initrd.gz", src / "initrd.gz")
    (src / "boot" / "grub" / "grub.cfg").write_text(
        "set timeout=0\nserial --unit=0 --speed=115200\nterminal_output serial console\n"
        f"menuentry itest {{\n linux /vmlinuz {kernel_cmdline}\n initrd /initrd.gz\n}}\n")
    subprocess.run(["grub-mkrescue", "-o", str(extra / "uefi.iso"), str(src),
                    "-d", "/usr/lib/grub/x86_64-efi"], check=True, timeout=300,
                   capture_output=True)
    shutil.rmtree(src)
    shutil.copy(OVMF_CODE, extra / "OVMF_CODE_4M.fd")
    shutil.copy(OVMF_VARS, extra / "OVMF_VARS_4M.fd")
    return True


# OVMF boots GRUB's EFI image from the IDE CD-ROM, then Linux, twice with one variable store.
# Opt-in (BAREIRON_NESTED_ONLY=linux-uefi): on the development host QEMU 7.2 itself (TCG, the
# L0 under L1) aborts about 10 s into OVMF ("tcg_handle_interrupt: assertion failed:
# (qemu_mutex_iothread_locked())"), which would take every later case of the run down with it.
# EDK2 restores CR8 after every interrupt, and QEMU 7.2 handles a CR8 write in an SVM guest
# with a virtual interrupt pending by calling cpu_interrupt() without the iothread lock;
# docs/testing.md, "When QEMU itself aborts". Its lines are copied live (flag live) so that
# what OVMF reached shows even then.
UEFI_CASES = [
    VcpuCase("linux-uefi", b"", (VMM, "/x/OVMF_CODE_4M.fd", "/x/OVMF_VARS_4M.fd", "/x/uefi.iso"),
             0, out_has=("UEFI status 1=",), flags="live", timeout=800, linux=True,
             script="uefi_case.sh",
             check=check_uefi),
]
VCPU_CASES += UEFI_CASES
NET_MODULES = "tun vhost_net bridge"


def vmm_help(vmm):
    """The monitor's --help text ("" when it does not run)."""
    try:
        r = subprocess.run([str(vmm), "--help"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return r.stdout + r.stderr


def in_l1(case):
    """Whether L1's /init can run (case): not with reboots, its own disks or host files."""
    return not (case.reboot or case.vmm_disks or case.setup or case.disk_mib != 8)


def payload_line(case):
    """The /cases line of a payload_util.Case."""
    cmdline = f"{case.cmdline} {case.vmm_cmdline}".strip()
    cmd = [VMM, "--kernel", f"/p/{case.payload}.elf", "--cmdline", cmdline,
           "--cpus", str(case.cpus), "--memory", "128M", "--no-reboot", "--serial", "stdio",
           "--debug-exit"]
    cmd += list(case.vmm_args)
    flags = []
    if case.press_power:
        cmd += ["--control", "/tmp/d/control.sock"]
        flags += ["wait", "ctl=power-button"]
    if case.send_input:  # payload_util.input_vmm's commands through nested-ctl
        cmd += ["--control", "/tmp/d/control.sock"]
        flags += ["wait", "ctl=key:a+ptr:100:100:640:480:0+ptr:110:95:640:480:1"]
    if case.disks:
        cmd += ["--disk", "/tmp/d/rw.img,format=raw", "--disk", "/tmp/d/ro.img,format=raw,readonly"]
        flags.append("disks")
    if case.send_on_ready:
        flags += ["wait", "rx=" + case.send_on_ready.decode().strip()]
    expected = case.vmm_status if isinstance(case.vmm_status, tuple) else (case.vmm_status,)
    limit = HANG_LIMIT if pu.HANG in expected else int(case.timeout) * 2
    return f"{case.id} {limit} {','.join(flags) or '-'} " + " ".join(map(shlex.quote, cmd))


def linux_inputs(build_dir):
    """(vmlinuz, initramfs) for the Linux cases, or None when they cannot be had."""
    k, _ = bu.guest_kernel(build_dir)
    i, _ = bu.initramfs(build_dir) if k else (None, None)
    return (k, i) if k and i else None


def write_inputs(tmp, linux=None, linux_only=False):
    """Writes tmp/cases and the images into tmp/extra; returns (cases, extra, case ids).
    (linux): (vmlinuz, initramfs) to add the Linux cases. (linux_only): leave out the payload
    and vCPU cases (a kvm-pvm host runs those directly)."""
    tmp = pathlib.Path(tmp)
    extra = tmp / "extra"
    extra.mkdir(exist_ok=True)
    payloads = [] if linux_only else [c for c in pu.CASES if not c.vmm_skip and in_l1(c)]
    lines = [payload_line(c) for c in payloads]
    ids = [c.id for c in payloads]
    if linux:
        shutil.copy(linux[0], extra / "vmlinuz")
        shutil.copy(linux[1], extra / "initrd.gz")
        if shutil.which("qemu-img"):
            subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(extra / "disk.qcow2"),
                            "64M"], check=True, timeout=60)
        make_floppies(extra)
        make_ext4(extra)
        make_netboot(extra)
        if make_iso(extra / "a.iso", "ITEST-CD-A"):
            make_iso(extra / "b.iso", "ITEST-CD-B", pad_mib=2)
            make_grub_iso(extra / "linux.iso", linux[0], linux[1])
        # opt-in (UEFI_CASES): only when BAREIRON_NESTED_ONLY names it
        only = os.environ.get("BAREIRON_NESTED_ONLY")
        if only and any(p.startswith("linux-u") for p in only.split(",")):
            make_uefi_iso(extra, f"{LINUX_CMDLINE} itest=boot")
    for c in VCPU_CASES:
        if linux_only and not c.linux:
            continue
        if c.linux and (not linux or ("qcow2" in c.flags and not (extra / "disk.qcow2").exists())
                        or ("floppy.img" in c.flags and not (extra / "floppy.img").exists())
                        or ("livefs.img" in c.flags and not (extra / "livefs.img").exists())
                        or ("a.iso" in c.flags and not (extra / "a.iso").exists())
                        or ("linux.iso" in c.flags and not (extra / "linux.iso").exists())
                        or (c.script == "uefi_case.sh" and not (extra / "uefi.iso").exists())):
            continue
        if c.script:
            shutil.copy(ROOT / "tests" / "nested" / c.script, extra / c.script)
            cmd = ["/bin/sh", f"/x/{c.script}"] + list(c.args)
            lines.append(f"{c.id} {c.timeout} {c.flags} " + " ".join(map(shlex.quote, cmd)))
            ids.append(c.id)
            continue
        cmd = (["env"] + list(c.env) if c.env else []) + [VMM]
        if c.code:
            (extra / f"{c.id}.mb").write_bytes(vu.multiboot_image(c.code))
            cmd += ["--kernel", f"/x/{c.id}.mb", "--serial", "stdio", "--no-reboot", "--debug-exit"]
        cmd += list(c.args)
        if "--reboot" in cmd:  # not an option: marks the case that must loop
            cmd = [a for a in cmd if a not in ("--reboot", "--no-reboot")]
        lines.append(f"{c.id} {c.timeout} {c.flags} " + " ".join(map(shlex.quote, cmd)))
        ids.append(c.id)
    cases = tmp / "cases"
    cases.write_text("\n".join(lines) + "\n")
    return cases, extra, ids


@dataclasses.dataclass
class Outcome:
    lines: list
    status: int = None  # None: no NESTED-RC line (L1 died or timed out first)
    ms: int = 0
    disks: dict = dataclasses.field(default_factory=dict)


def parse(text):
    """{case id: Outcome} from L1's console output."""
    res = {}
    for raw in text.splitlines():
        line = raw.rstrip("\r")
        m = re.match(r"NESTED-OUT (\S+) ?(.*)$", line)
        if m:
            res.setdefault(m[1], Outcome([])).lines.append(m[2])
            continue
        m = re.match(r"NESTED-RC (\S+) (\d+) (-?\d+)$", line)
        if m:
            o = res.setdefault(m[1], Outcome([]))
            o.status, o.ms = int(m[2]), int(m[3])
            continue
        m = re.match(r"NESTED-DISK (\S+) (.*)$", line)
        if m:
            o = res.setdefault(m[1], Outcome([]))
            o.disks = dict(kv.split("=", 1) for kv in m[2].split())
    return res


def disk_problems(o):
    """payload_util.check_disks() on the digests L1 printed."""
    probs = []
    ro = hashlib.md5(pu.DISK_MAGIC + bytes(pu.DISK_SIZE - len(pu.DISK_MAGIC))).hexdigest()
    last = hashlib.md5(pu.pattern(pu.DISK_SIZE // 512 - 1, 1, 99)).hexdigest()
    if o.disks.get("ro") != ro:
        probs.append("ro.img changed")
    if o.disks.get("rw_last") != last:
        probs.append("rw.img: last sector does not hold the payload's pattern")
    if o.disks.get("rw_magic") != pu.DISK_MAGIC.decode():
        probs.append("rw.img: sector 0 magic lost")
    return probs


def payload_problems(case, o):
    """payload_util.problems() for a payload case run in L1."""
    if o is None or o.status is None:
        return ["no result from L1 (it stopped before this case finished)"]
    expected = case.vmm_status if isinstance(case.vmm_status, tuple) else (case.vmm_status,)
    status, timed_out = o.status, False
    if o.status == KILLED:
        if pu.HANG in expected:
            status = pu.HANG
        else:
            timed_out = True
    result = pu.Result(status, "\n".join(o.lines), o.ms / 1000, timed_out)
    probs = [p for p in pu.problems(dataclasses.replace(case, post_check=None), result,
                                    case.vmm_status, None) if not p.startswith("timed out")]
    if timed_out:
        probs.insert(0, f"killed by L1 after {o.ms / 1000:.1f} s")
    if case.post_check:
        probs += disk_problems(o)
    return probs


def vcpu_problems(case, o):
    if o is None or o.status is None:
        return ["no result from L1 (it stopped before this case finished)"]
    probs = []
    if o.status != case.status:
        probs.append(f"exit status {o.status}, expected {case.status}")
    text = "\n".join(o.lines)
    probs += [f"no {w!r} in the output" for w in case.out_has if w not in text]
    if case.check:
        probs += case.check(text)
    return probs


def tcg_svm_problem():
    """None when QEMU can run an L1 with SVM under TCG here, else why not."""
    if shutil.which("qemu-system-x86_64") is None:
        return "qemu-system-x86_64 is not installed"
    if not os.path.exists("/bin/busybox"):
        return "busybox-static is not installed"
    try:
        r = subprocess.run(["qemu-system-x86_64", "-accel", "tcg", "-cpu", "help"],
                           capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"qemu-system-x86_64 does not run: {e}"
    if r.returncode != 0 or "svm" not in r.stdout:
        return "this QEMU's TCG offers no svm CPU flag"
    return None

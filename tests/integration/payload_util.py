# SPDX-License-Identifier: MIT
"""Runs the ring-3 test payloads (tests/guest/, docs/testing.md) under QEMU and bareiron-vmm.

A payload is a multiboot ELF32 that reports `PASS <name>[-<check>]` / `FAIL <name>-<check>: <why>`
lines on COM1 and leaves through isa-debug-exit (port 0xf4): writing 0 gives exit status 1
(pass), writing 1 gives 3 (fail). Some payloads leave otherwise on purpose (power-off,
reset, triple fault, a halted CPU); each Case states the exit status expected from QEMU and
from bareiron-vmm, and why they differ where they do.
"""
import dataclasses
import json
import pathlib
import shutil
import socket
import subprocess
import threading
import time

import hostkind

HANG = "hang"  # expected outcome: the machine stops doing anything until the harness kills it


@dataclasses.dataclass
class Case:
    id: str
    payload: str
    cmdline: str = ""
    cpus: int = 1
    qemu_status: object = 1  # int, or HANG
    vmm_status: object = 1  # int, HANG, or a tuple of acceptable outcomes
    lines: tuple = ()  # lines (prefixes) that must appear in the output
    require_pass: bool = True  # the final "PASS <payload>" line must appear
    press_power: bool = False  # press the ACPI power button when "READY <payload>" appears
    send_input: bool = False  # press 'a' and move the pointer when "READY <payload>" appears
    send_on_ready: bytes = b""  # written to the guest's COM1 (stdin) when "READY" appears
    disks: bool = False  # attach the virtio-blk test disks
    timeout: float = 30.0
    hang_after: float = 2.0  # for HANG: seconds to wait after the last line before killing
    note: str = ""  # the expected QEMU/bareiron difference, if any
    post_check: object = None  # callable(tmp) -> list of problems found in the disk images
    expected_fails: tuple = ()  # FAIL lines (prefixes) that this case provokes on purpose
    qemu_args: tuple = ()  # extra QEMU arguments (devices)
    vmm_args: tuple = ()  # extra bareiron-vmm arguments
    vmm_skip: str = ""  # why this case cannot run under bareiron-vmm yet ("" = it can)
    iopl0: bool = True  # also run it as "<id>-iopl0" with `iopl=0` (see IOPL0_NOTE)
    vmm_cmdline: str = ""  # appended to cmdline under bareiron-vmm (e.g. "strict=1")
    qemu_skip: str = ""  # why this case does not run under QEMU ("" = it does)
    reboot: bool = False  # let the guest reboot (no -no-reboot / --no-reboot)
    disk_mib: int = 8  # size of each test disk (sparse beyond the first sector)
    vmm_disks: tuple = ()  # --disk specs replacing the default pair ("{tmp}" = the temp dir)
    setup: object = None  # callable(tmp) run before the machine starts (host-side files)
    max_rss_mib: int = 0  # bareiron-vmm's VmRSS must stay below this (0: not checked)
    forbidden: tuple = ()  # strings that must not appear in the output (host data)
    max_lines: int = 0  # the output must stay under this many lines (0: not checked)


CASES = [
    Case("hello", "hello"),
    Case("serial", "serial", cmdline="rx=1", send_on_ready=b"hello-uart\n"),
    # the PIT check needs the legacy chipset: the default split irqchip has no PIT
    Case("legacy", "legacy", vmm_args=("--irqchip", "kernel")),
    Case("memory", "memory", cmdline="mem=128"),
    Case("acpi", "acpi", cmdline="cpus=2 mcfg=1", cpus=2),
    Case("pci", "pci", cmdline="mcfg=1",
         note="QEMU q35 (-nodefaults) shows 00:00.0 host bridge, 1f.0 LPC, 1f.2 AHCI and "
              "1f.3 SMBus; bareiron shows its host bridge and virtio devices only"),
    Case("pci-virtio", "pci", cmdline="mcfg=1 expect=1af4:1042", disks=True),
    Case("smp-1", "smp", cmdline="cpus=1", cpus=1),
    Case("smp-4", "smp", cmdline="cpus=4", cpus=4),
    Case("powerbutton", "powerbutton", cmdline="timeout=20", qemu_status=0, vmm_status=0,
         require_pass=False, press_power=True,
         lines=("PASS powerbutton-press", "PASS powerbutton-clear", "EXIT s5")),
    Case("ps2", "ps2", cmdline="timeout=20", send_input=True,
         note="QEMU gets QMP send-key and input-send-event, bareiron the control socket's "
              "send-key and input-pointer"),
    Case("exit-debugexit", "exits", cmdline="mode=debugexit code=5", qemu_status=11,
         vmm_status=11, require_pass=False, lines=("EXIT debugexit 5",)),
    Case("exit-triple", "exits", cmdline="mode=triple", qemu_status=0, vmm_status=8,
         require_pass=False, lines=("EXIT triple",),
         note="QEMU turns a triple fault into a reset (exit 0 with -no-reboot); "
              "bareiron-vmm reports a crash (status 8)"),
    Case("exit-hlt", "exits", cmdline="mode=hlt", qemu_status=HANG, vmm_status=(HANG, 8),
         require_pass=False, lines=("EXIT hlt",), iopl0=False,
         note="HLT with interrupts off never wakes: QEMU just sits there; bareiron-vmm sits too "
              "(in-kernel HLT) or may report the dead machine as a crash (8)"),
    Case("exit-i8042", "exits", cmdline="mode=i8042", qemu_status=0, vmm_status=0,
         require_pass=False, lines=("EXIT i8042",)),
    Case("exit-port92", "exits", cmdline="mode=port92", qemu_status=0, vmm_status=0,
         require_pass=False, lines=("EXIT port92",)),
    Case("exit-acpireset", "exits", cmdline="mode=acpireset", qemu_status=0, vmm_status=0,
         require_pass=False, lines=("EXIT acpireset",),
         note="QEMU q35's FADT reset register is 0xcf9/0x0f, bareiron's is 0x64/0xfe"),
    Case("exit-s5", "exits", cmdline="mode=s5", qemu_status=0, vmm_status=0,
         require_pass=False, lines=("EXIT s5",)),
    Case("exit-exception", "exits", cmdline="mode=ud", qemu_status=3, vmm_status=3,
         require_pass=False, lines=("EXIT ud", "FAIL exits: exception 6 "),
         expected_fails=("FAIL exits: exception 6 ",)),
    Case("exit-outs", "exits", cmdline="mode=outs iopl=0", qemu_status=3, vmm_status=3,
         require_pass=False, lines=("EXIT outs", "FAIL exits: exception 13 "),
         expected_fails=("FAIL exits: exception 13 ",), iopl0=False,
         note="string port I/O without IOPL 3 is refused, not emulated, by the runtime"),
    Case("irq", "irq", disks=True),
    Case("virtio-rng", "virtio_rng", cmdline="rngs=1",
         qemu_args=("-device", "virtio-rng-pci,disable-legacy=on"), vmm_args=("--rng",)),
    Case("virtio-blk", "virtio_blk", cmdline=f"disks=2 sectors={8 * 1024 * 1024 // 512}",
         disks=True, post_check=lambda tmp: check_disks(tmp),
         note="QEMU also offers DISCARD/WRITE_ZEROES on the read-only disk; bareiron offers "
              "RO instead of them"),
]

def write_secret(tmp):
    """A host file the qcow2probe guest names as its backing file."""
    (pathlib.Path(tmp) / "secret.txt").write_bytes(HOST_SECRET * 64)


HOST_SECRET = b"HOSTSECRET-not-for-guests\n"

# The malicious-guest suite (docs/security.md "Malicious-guest suite"): tests/guest/payloads/
# hostile.c against the first virtio-blk disk. `strict=1` (bareiron only) also checks the outcome
# the monitor promises; each case bounds the monitor's RSS.
CASES += [
    Case("hostile-chains", "hostile", disks=True, iopl0=False, vmm_cmdline="strict=1",
         max_rss_mib=192,
         cmdline="mode=loop,selfloop,nextout,headout,long,nested,indloop,availjump",
         note="QEMU marks the device broken (NEEDS_RESET) on these too"),
    Case("hostile-buffers", "hostile", disks=True, iopl0=False, vmm_cmdline="strict=1",
         max_rss_mib=192, cmdline="mode=wrap,wraplen,lapic,hole,aboveram,top,own",
         note="QEMU completes wrap, lapic, hole, aboveram and top (its DMA to addresses that "
              "are not RAM is dropped) and sets NEEDS_RESET for wraplen and own; bareiron sets "
              "NEEDS_RESET for all"),
    Case("hostile-inflight", "hostile", disks=True, iopl0=False, vmm_cmdline="strict=1",
         max_rss_mib=192, cmdline="mode=inflight"),
    Case("hostile-regs", "hostile", disks=True, iopl0=False, vmm_cmdline="strict=1",
         max_rss_mib=192, cmdline="mode=regs mcfg=1",
         note="QEMU ignores a byte write to queue_select's high byte (bareiron applies it) and "
              "splits a 64-bit ECAM read in two (bareiron answers all-ones)"),
    Case("hostile-msix", "hostile", disks=True, iopl0=False, vmm_cmdline="strict=1",
         max_rss_mib=192, cmdline="mode=msix",
         note="QEMU (TCG) turns an MSI-X message aimed at guest RAM into a RAM write; "
              "bareiron drops it"),
    Case("hostile-qcow2probe", "hostile", disks=True, iopl0=False, reboot=True, timeout=60,
         cmdline="mode=qcow2probe secret={tmp}/secret.txt", setup=write_secret,
         vmm_disks=("{tmp}/rw.img", "{tmp}/ro.img,format=raw,readonly"),
         lines=("BOOT qcow2probe 1", "BOOT qcow2probe 2"), forbidden=("HOSTSECRET",)),
    Case("hostile-bounce", "hostile", disks=True, iopl0=False, disk_mib=1100, timeout=120,
         cmdline="mode=bounce", max_rss_mib=192,
         vmm_disks=("{tmp}/rw.img,format=raw,cache=none", "{tmp}/ro.img,format=raw,readonly"),
         qemu_skip="QEMU would bounce 2 GiB too; not run on a shared machine"),
    Case("hostile-teardown", "hostile", disks=True, iopl0=False, reboot=True, timeout=90,
         cmdline="mode=teardown boots=6", max_rss_mib=192, lines=("BOOT teardown 5",)),
    Case("hostile-storm", "hostile", disks=True, iopl0=False, reboot=True, cmdline="mode=storm",
         require_pass=False, vmm_status=8, lines=("BOOT storm",), max_lines=400,
         vmm_args=("--reboot-limit", "5/10s"), max_rss_mib=192, timeout=30,
         qemu_skip="QEMU reboots a triple-faulting guest forever without -no-reboot",
         note="bareiron-vmm stops the VM as crashed (status 8) past --reboot-limit"),
]

# The network classes (tests/guest/payloads/hostile_net.c) against a virtio-net adapter on a
# restricted NAT (QEMU: -netdev user,restrict=on): the same comparison. QEMU 7.2 aborts (an
# assertion, status 134) on a transmit chain shorter than the header and on a receive buffer
# too small for it, so those two classes are a case of their own that QEMU skips.
NET_QEMU_ARGS = ("-netdev", "user,id=n0,restrict=on",
                 "-device", "virtio-net-pci,netdev=n0,disable-legacy=on")
CASES += [
    Case("hostile-net", "hostile_net", iopl0=False, vmm_cmdline="strict=1", max_rss_mib=192,
         cmdline="mode=txempty,txhuge,txloop,txaboveram,txlapic,ctrlnoack,ctrlshort,ctrltable,"
                 "ctrlmq,ctrltrail",
         qemu_args=NET_QEMU_ARGS, vmm_args=("--nic", "nat,restrict=on"),
         note="QEMU sets NEEDS_RESET for txempty and ctrlshort (bareiron drops the 0-byte "
              "frame and answers VIRTIO_NET_ERR), completes txaboveram and txlapic (bareiron: "
              "NEEDS_RESET) and accepts ctrltrail's extra byte (bareiron: VIRTIO_NET_ERR)"),
    Case("hostile-net-short", "hostile_net", iopl0=False, vmm_cmdline="strict=1",
         max_rss_mib=192, cmdline="mode=txshort,rxsmall", qemu_args=NET_QEMU_ARGS,
         vmm_args=("--nic", "nat,restrict=on"),
         qemu_skip="QEMU 7.2 aborts on these (assertions in iov_copy and iov_from_buf_full): "
                   "the guest ends the process"),
]

IOPL0_NOTE = ("`iopl=0`: ring 3 runs with IOPL 0, so every IN/OUT and CLI/STI traps to the "
              "runtime's #GP handler, which performs it in ring 0 (the path kvm-pvm hosts always "
              "take, as they do not honour IOPL 3)")


def with_iopl0(case):
    """(case) again with `iopl=0` on the payload's command line: same expectations."""
    note = f"{case.note}; {IOPL0_NOTE}" if case.note else IOPL0_NOTE
    return dataclasses.replace(case, id=f"{case.id}-iopl0", note=note,
                               cmdline=f"{case.cmdline} iopl=0".strip())


CASES += [with_iopl0(c) for c in CASES if c.iopl0]

DISK_SIZE = 8 * 1024 * 1024
DISK_MAGIC = b"BAREIRON"


def pattern(sector, nsect, seed):
    """The bytes tests/guest/payloads/virtio_blk.c's fill() writes (same 64-bit arithmetic)."""
    out = bytearray(nsect * 512)
    for i in range(len(out)):
        x = ((sector * 512 + i) * 2654435761 + seed) & 0xFFFFFFFFFFFFFFFF
        out[i] = (x ^ (x >> 13) ^ (x >> 29)) & 0xFF
    return bytes(out)


def check_disks(tmp):
    """After the virtio_blk payload: the read-only image is untouched and the writable one
    holds the pattern the payload wrote to its last sector (the data reached the file)."""
    probs = []
    ro = (pathlib.Path(tmp) / "ro.img").read_bytes()
    if ro[:8] != DISK_MAGIC or any(ro[8:4096]) or len(ro) != DISK_SIZE:
        probs.append("ro.img changed")
    rw = (pathlib.Path(tmp) / "rw.img").read_bytes()
    last = DISK_SIZE // 512 - 1
    if rw[last * 512:] != pattern(last, 1, 99):
        probs.append("rw.img: last sector does not hold the payload's pattern")
    if rw[:8] != DISK_MAGIC:
        probs.append("rw.img: sector 0 magic lost")
    return probs


@dataclasses.dataclass
class Result:
    status: object  # int, or HANG when the harness had to kill a machine that was expected to hang
    output: str
    elapsed: float
    timed_out: bool
    max_rss_kib: int = 0  # the largest VmRSS of the machine's process seen while it ran


def vm_rss_kib(pid):
    """VmRSS of process (pid) in KiB from /proc/PID/status (0 once it is gone)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def make_disks(tmp, size=DISK_SIZE):
    """Creates the raw images the virtio_blk payload expects: a writable disk and a read-only
    one, each (size) bytes (DISK_SIZE by default) with a known pattern in its first sector."""
    paths = []
    for name in ("rw.img", "ro.img"):
        p = pathlib.Path(tmp) / name
        with open(p, "wb") as f:
            f.write(DISK_MAGIC + bytes(504))
            f.truncate(size)
        paths.append(p)
    return paths


def qemu_command(case, elf, tmp, accel=None):
    """QEMU's command line for (case); (accel) "kvm" or "tcg", by default KVM on a real KVM
    host only (hostkind.py: on kvm-pvm QEMU is far slower with KVM than with TCG)."""
    accel = accel or ("kvm" if hostkind.kind() == "kvm" else "tcg")
    cmd = [shutil.which("qemu-system-x86_64") or "qemu-system-x86_64",
           "-machine", "q35", "-accel", accel,
           "-kernel", str(elf), "-append", case.cmdline.replace("{tmp}", str(tmp)),
           "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
           "-serial", "stdio", "-display", "none", "-nodefaults", "-no-user-config",
           "-smp", str(case.cpus), "-m", "128"]
    cmd += [] if case.reboot else ["-no-reboot"]
    cmd += list(case.qemu_args)
    if case.setup:
        case.setup(tmp)
    if case.press_power or case.send_input:
        cmd += ["-qmp", f"unix:{tmp}/qmp.sock,server=on,wait=off"]
    if case.disks:
        rw, ro = make_disks(tmp, case.disk_mib << 20)
        cmd += ["-drive", f"file={rw},format=raw,if=none,id=d0,discard=unmap",
                "-device", "virtio-blk-pci,drive=d0,disable-legacy=on",
                "-drive", f"file={ro},format=raw,if=none,id=d1,readonly=on",
                "-device", "virtio-blk-pci,drive=d1,disable-legacy=on"]
    return cmd


def vmm_command(case, elf, vmm, tmp):
    cmdline = f"{case.cmdline} {case.vmm_cmdline}".strip().replace("{tmp}", str(tmp))
    cmd = [str(vmm), "--kernel", str(elf), "--cmdline", cmdline, "--cpus", str(case.cpus),
           "--memory", "128M", "--serial", "stdio", "--debug-exit"]
    cmd += [] if case.reboot else ["--no-reboot"]
    cmd += list(case.vmm_args)
    if case.setup:
        case.setup(tmp)
    if case.press_power or case.send_input:
        cmd += ["--control", f"{tmp}/control.sock"]
    if case.disks:
        rw, ro = make_disks(tmp, case.disk_mib << 20)
        specs = case.vmm_disks or (f"{rw},format=raw", f"{ro},format=raw,readonly")
        for spec in specs:
            cmd += ["--disk", spec.replace("{tmp}", str(tmp))]
    return cmd


def _connect(path, deadline):
    while True:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(str(path))
            s.settimeout(max(0.1, deadline - time.monotonic()))
            return s
        except OSError:
            s.close()
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _qmp(tmp, cmds):
    """Runs the QMP commands (name, arguments) on QEMU's QMP socket."""
    with _connect(pathlib.Path(tmp) / "qmp.sock", time.monotonic() + 5) as s:
        f = s.makefile("rw")
        f.readline()  # greeting
        for cmd, args in [("qmp_capabilities", {})] + list(cmds):
            f.write(json.dumps({"execute": cmd, "arguments": args}) + "\n")
            f.flush()
            while True:  # skip asynchronous events
                msg = json.loads(f.readline())
                if "return" in msg or "error" in msg:
                    break
            if "error" in msg:
                raise RuntimeError(f"QMP {cmd}: {msg['error']}")


def press_qemu(tmp):
    """Presses the power button through QEMU's QMP socket (system_powerdown)."""
    _qmp(tmp, [("system_powerdown", {})])


def input_qemu(tmp):
    """Presses 'a', then moves the PS/2 mouse right 10, up 5 with the left button down."""
    rel = [{"type": "rel", "data": {"axis": "x", "value": 10}},
           {"type": "rel", "data": {"axis": "y", "value": -5}},
           {"type": "btn", "data": {"down": True, "button": "left"}}]
    _qmp(tmp, [("send-key", {"keys": [{"type": "qcode", "data": "a"}]}),
               ("input-send-event", {"events": rel})])


def _control(tmp, cmds):
    """Runs the control commands (name, arguments) on bareiron-vmm's control socket."""
    with _connect(pathlib.Path(tmp) / "control.sock", time.monotonic() + 5) as s:
        f = s.makefile("rw")
        for i, (cmd, args) in enumerate([("hello", {"version": 1})] + list(cmds)):
            f.write(json.dumps({"id": i + 1, "cmd": cmd, "args": args}) + "\n")
            f.flush()
            reply = json.loads(f.readline())
            if not reply.get("ok"):
                raise RuntimeError(f"control {cmd}: {reply}")


def press_vmm(tmp):
    """Presses the power button through bareiron-vmm's control socket (docs/control-api.md)."""
    _control(tmp, [("power-button", {})])


def input_vmm(tmp):
    """The same input as input_qemu through the control socket's send-key and input-pointer."""
    screen = {"width": 640, "height": 480}
    _control(tmp, [("send-key", {"keys": "a"}),
                   ("input-pointer", {"x": 100, "y": 100, "buttons": 0, **screen}),
                   ("input-pointer", {"x": 110, "y": 95, "buttons": 1, **screen})])


def presser(case, is_vmm):
    """What the harness does when the payload prints READY: a callable(tmp), or None."""
    if case.press_power:
        return press_vmm if is_vmm else press_qemu
    if case.send_input:
        return input_vmm if is_vmm else input_qemu
    return None


def run_guest(case, cmd, tmp, expected, press=None):
    """Runs (cmd) with a hard timeout, collecting the serial output. For HANG cases the machine
    is killed once its output has been quiet for case.hang_after seconds after the last
    expected line. Calls (press)(tmp) and writes case.send_on_ready to the guest's console when
    the payload prints `READY`."""
    start = time.monotonic()
    proc = subprocess.Popen([str(c) for c in cmd],
                            stdin=subprocess.PIPE if case.send_on_ready else subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    lines = []
    last = [time.monotonic()]
    errors = []

    def reader():
        for raw in proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            lines.append(line)
            last[0] = time.monotonic()
            if press and line.startswith("READY "):
                try:
                    press(tmp)
                except Exception as e:  # noqa: BLE001 - reported through the output
                    errors.append(f"HARNESS could not act on READY: {e}")
            if case.send_on_ready and line.startswith("READY "):
                try:
                    proc.stdin.write(case.send_on_ready)
                    proc.stdin.flush()
                except OSError as e:
                    errors.append(f"HARNESS could not write to the guest's console: {e}")

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    timed_out = False
    killed_hang = False
    expecting_hang = HANG in (expected if isinstance(expected, tuple) else (expected,))
    max_rss = 0
    while proc.poll() is None:
        max_rss = max(max_rss, vm_rss_kib(proc.pid))
        now = time.monotonic()
        if now - start > case.timeout:
            timed_out = True
            break
        if expecting_hang and all(any(l.startswith(w) for l in lines) for w in case.lines) \
                and now - last[0] > case.hang_after:
            killed_hang = True
            break
        time.sleep(0.02)
    if proc.poll() is None:
        proc.kill()
    proc.wait()
    t.join(timeout=5)
    status = HANG if killed_hang else (None if timed_out else proc.returncode)
    return Result(status, "\n".join(lines + errors), time.monotonic() - start, timed_out,
                  max_rss)


def problems(case, result, expected, tmp, is_vmm=False):
    """Returns the list of ways (result) misses the expectations (empty when it passed);
    (is_vmm): the machine was bareiron-vmm (its RSS bound applies)."""
    out = list(case.post_check(tmp)) if case.post_check else []
    if is_vmm and case.max_rss_mib and result.max_rss_kib > case.max_rss_mib * 1024:
        out.append(f"VmRSS reached {result.max_rss_kib // 1024} MiB "
                   f"(limit {case.max_rss_mib} MiB)")
    out += [f"host data {s!r} reached the guest's output" for s in case.forbidden
            if s in result.output]
    if case.max_lines and len(result.output.splitlines()) > case.max_lines:
        out.append(f"{len(result.output.splitlines())} output lines (limit {case.max_lines})")
    allowed = expected if isinstance(expected, tuple) else (expected,)
    if result.timed_out:
        out.append(f"timed out after {case.timeout} s")
    elif result.status not in allowed:
        out.append(f"exit status {result.status}, expected {' or '.join(map(str, allowed))}")
    lines = result.output.splitlines()
    for line in lines:
        if line.startswith("HARNESS ") or (line.startswith("FAIL ") and not any(
                line.startswith(f) for f in case.expected_fails)):
            out.append(line)
    if case.require_pass and f"PASS {case.payload}" not in lines:
        out.append(f"no final 'PASS {case.payload}' line")
    for want in case.lines:
        if not any(l.startswith(want) for l in lines):
            out.append(f"no line starting with {want!r}")
    return out


def main(argv=None):
    """Runs payload cases by hand:
    payload_util.py [--build-dir D] [--bareiron | --accel kvm|tcg] [CASE...]."""
    import argparse
    import tempfile

    ap = argparse.ArgumentParser(description="run ring-3 test payloads under QEMU or bareiron")
    ap.add_argument("--build-dir", default="build")
    ap.add_argument("--bareiron", action="store_true", help="run under bareiron-vmm, not QEMU")
    ap.add_argument("--accel", choices=("kvm", "tcg"),
                    help="QEMU accelerator (default: kvm on a real KVM host, else tcg)")
    ap.add_argument("cases", nargs="*", help="case ids (default: all)")
    args = ap.parse_args(argv)
    root = pathlib.Path(__file__).resolve().parents[2]
    build = pathlib.Path(args.build_dir)
    build = build if build.is_absolute() else root / build
    vmm = build / "src" / "vmm" / "bareiron-vmm"
    failed = 0
    for case in CASES:
        if args.cases and case.id not in args.cases:
            continue
        skip = case.vmm_skip if args.bareiron else case.qemu_skip
        if skip:
            print(f"SKIP {case.id}: {skip}")
            continue
        elf = build / "tests" / "guest" / f"{case.payload}.elf"
        expected = case.vmm_status if args.bareiron else case.qemu_status
        with tempfile.TemporaryDirectory() as tmp:
            if args.bareiron:
                cmd, press = vmm_command(case, elf, vmm, tmp), presser(case, True)
            else:
                cmd, press = qemu_command(case, elf, tmp, args.accel), presser(case, False)
            result = run_guest(case, cmd, tmp, expected, press)
            probs = problems(case, result, expected, tmp, args.bareiron)
        print(result.output)
        verdict = "OK" if not probs else "BAD: " + "; ".join(probs)
        print(f"== {case.id}: status {result.status} in {result.elapsed:.2f} s: {verdict}")
        failed += bool(probs)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())

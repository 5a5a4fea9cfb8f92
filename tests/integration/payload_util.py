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


CASES = [
    Case("hello", "hello"),
    Case("serial", "serial", cmdline="rx=1", send_on_ready=b"hello-uart\n"),
    Case("legacy", "legacy"),
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


def make_disks(tmp):
    """Creates the raw images the virtio_blk payload expects: a writable disk and a read-only
    one, each DISK_SIZE bytes with a known pattern in its first sector."""
    paths = []
    for name in ("rw.img", "ro.img"):
        p = pathlib.Path(tmp) / name
        with open(p, "wb") as f:
            f.write(DISK_MAGIC + bytes(504))
            f.truncate(DISK_SIZE)
        paths.append(p)
    return paths


def qemu_command(case, elf, tmp, accel=None):
    """QEMU's command line for (case); (accel) "kvm" or "tcg", by default KVM on a real KVM
    host only (hostkind.py: on kvm-pvm QEMU is far slower with KVM than with TCG)."""
    accel = accel or ("kvm" if hostkind.kind() == "kvm" else "tcg")
    cmd = [shutil.which("qemu-system-x86_64") or "qemu-system-x86_64",
           "-machine", "q35", "-accel", accel,
           "-kernel", str(elf), "-append", case.cmdline,
           "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
           "-serial", "stdio", "-display", "none", "-nodefaults", "-no-user-config",
           "-no-reboot", "-smp", str(case.cpus), "-m", "128"]
    cmd += list(case.qemu_args)
    if case.press_power:
        cmd += ["-qmp", f"unix:{tmp}/qmp.sock,server=on,wait=off"]
    if case.disks:
        rw, ro = make_disks(tmp)
        cmd += ["-drive", f"file={rw},format=raw,if=none,id=d0,discard=unmap",
                "-device", "virtio-blk-pci,drive=d0,disable-legacy=on",
                "-drive", f"file={ro},format=raw,if=none,id=d1,readonly=on",
                "-device", "virtio-blk-pci,drive=d1,disable-legacy=on"]
    return cmd


def vmm_command(case, elf, vmm, tmp):
    cmd = [str(vmm), "--kernel", str(elf), "--cmdline", case.cmdline, "--cpus", str(case.cpus),
           "--memory", "128M", "--no-reboot", "--serial", "stdio"]
    cmd += list(case.vmm_args)
    if case.press_power:
        cmd += ["--control", f"{tmp}/control.sock"]
    if case.disks:
        rw, ro = make_disks(tmp)
        cmd += ["--disk", f"{rw},format=raw", "--disk", f"{ro},format=raw,readonly"]
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


def press_qemu(tmp):
    """Presses the power button through QEMU's QMP socket (system_powerdown)."""
    with _connect(pathlib.Path(tmp) / "qmp.sock", time.monotonic() + 5) as s:
        f = s.makefile("rw")
        f.readline()  # greeting
        for cmd in ("qmp_capabilities", "system_powerdown"):
            f.write(json.dumps({"execute": cmd}) + "\n")
            f.flush()
            while True:  # skip asynchronous events
                msg = json.loads(f.readline())
                if "return" in msg or "error" in msg:
                    break
            if "error" in msg:
                raise RuntimeError(f"QMP {cmd}: {msg['error']}")


def press_vmm(tmp):
    """Presses the power button through bareiron-vmm's control socket (docs/control-api.md)."""
    with _connect(pathlib.Path(tmp) / "control.sock", time.monotonic() + 5) as s:
        f = s.makefile("rw")
        for i, (cmd, args) in enumerate((("hello", {"version": 1}), ("power-button", {}))):
            f.write(json.dumps({"id": i + 1, "cmd": cmd, "args": args}) + "\n")
            f.flush()
            reply = json.loads(f.readline())
            if not reply.get("ok"):
                raise RuntimeError(f"control {cmd}: {reply}")


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
                    errors.append(f"HARNESS could not press the power button: {e}")
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
    while proc.poll() is None:
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
    return Result(status, "\n".join(lines + errors), time.monotonic() - start, timed_out)


def problems(case, result, expected, tmp):
    """Returns the list of ways (result) misses the expectations (empty when it passed)."""
    out = list(case.post_check(tmp)) if case.post_check else []
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
        if args.bareiron and case.vmm_skip:
            print(f"SKIP {case.id}: {case.vmm_skip}")
            continue
        elf = build / "tests" / "guest" / f"{case.payload}.elf"
        expected = case.vmm_status if args.bareiron else case.qemu_status
        with tempfile.TemporaryDirectory() as tmp:
            if args.bareiron:
                cmd, press = vmm_command(case, elf, vmm, tmp), press_vmm
            else:
                cmd, press = qemu_command(case, elf, tmp, args.accel), press_qemu
            result = run_guest(case, cmd, tmp, expected, press if case.press_power else None)
            probs = problems(case, result, expected, tmp)
        print(result.output)
        verdict = "OK" if not probs else "BAD: " + "; ".join(probs)
        print(f"== {case.id}: status {result.status} in {result.elapsed:.2f} s: {verdict}")
        failed += bool(probs)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())

# SPDX-License-Identifier: MIT
"""Nested KVM under TCG (docs/testing.md): the cases that scripts/nested-kvm.sh runs inside an
L1 Linux with a nested /dev/kvm, and the parser of its console output.

The payload cases are payload_util.CASES with their bareiron-vmm command lines rewritten to the
initramfs' paths (payloads in /p, disks in /tmp/d); the vCPU cases are the tiny multiboot
images of vmm_util (as test_vmm_boot.py uses them) in /x. Each case's output is turned back
into a payload_util.Result so that payload_util.problems() judges it exactly as on a real KVM.
"""
import dataclasses
import hashlib
import os
import pathlib
import re
import shlex
import shutil
import subprocess

import payload_util as pu
import vmm_util as vu

ROOT = pathlib.Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "nested-kvm.sh"
VMM = "bareiron-vmm"
HANG_LIMIT = 12  # seconds a case expected to hang may run before L1 kills it
KILLED = 137  # L1's `timeout -s KILL` ended the monitor


@dataclasses.dataclass
class VcpuCase:
    id: str
    code: bytes
    args: tuple
    status: int
    stdout_has: str = ""
    out_has: tuple = ()


VCPU_CASES = [
    VcpuCase("vcpu-debugexit", vu.debug_exit(0x21), (), (0x21 << 1) | 1),
    VcpuCase("vcpu-serial", vu.serial_write(b"hello from the guest\n") + vu.debug_exit(0), (), 1,
             out_has=("hello from the guest",)),
    VcpuCase("vcpu-s5", vu.out16(0x604, (0 << 10) | (1 << 13)), (), 0),
    VcpuCase("vcpu-i8042", vu.out8(0x64, 0xFE), (), 0),
    VcpuCase("vcpu-triple", vu.triple_fault(), (), 8, out_has=("rip=", "cr0=", "code:")),
    VcpuCase("vcpu-smp8-4g", vu.debug_exit(3), ("--cpus", "8", "--memory", "4G"), 7),
    VcpuCase("vcpu-baseline", vu.debug_exit(0), ("--cpu-model", "baseline"), 1),
    VcpuCase("vcpu-host", vu.debug_exit(0), ("--cpu-model", "host"), 1),
]


def payload_line(case):
    """The /cases line of a payload_util.Case."""
    cmd = [VMM, "--kernel", f"/p/{case.payload}.elf", "--cmdline", case.cmdline,
           "--cpus", str(case.cpus), "--memory", "128M", "--no-reboot", "--serial", "stdio"]
    cmd += list(case.vmm_args)
    flags = []
    if case.press_power:
        cmd += ["--control", "/tmp/d/control.sock"]
        flags.append("power")
    if case.disks:
        cmd += ["--disk", "/tmp/d/rw.img,format=raw", "--disk", "/tmp/d/ro.img,format=raw,readonly"]
        flags.append("disks")
    if case.send_on_ready:
        flags.append("rx=" + case.send_on_ready.decode().strip())
    expected = case.vmm_status if isinstance(case.vmm_status, tuple) else (case.vmm_status,)
    limit = HANG_LIMIT if pu.HANG in expected else int(case.timeout) * 2
    return f"{case.id} {limit} {','.join(flags) or '-'} " + " ".join(map(shlex.quote, cmd))


def write_inputs(tmp, with_vcpu=True):
    """Writes tmp/cases and the vCPU images into tmp/extra; returns (cases, extra)."""
    tmp = pathlib.Path(tmp)
    extra = tmp / "extra"
    extra.mkdir(exist_ok=True)
    lines = [payload_line(c) for c in pu.CASES if not c.vmm_skip]
    if with_vcpu:
        for c in VCPU_CASES:
            (extra / f"{c.id}.mb").write_bytes(vu.multiboot_image(c.code))
            cmd = [VMM, "--kernel", f"/x/{c.id}.mb", "--serial", "stdio", "--no-reboot"]
            lines.append(f"{c.id} 60 - " + " ".join(map(shlex.quote, cmd + list(c.args))))
    cases = tmp / "cases"
    cases.write_text("\n".join(lines) + "\n")
    return cases, extra


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

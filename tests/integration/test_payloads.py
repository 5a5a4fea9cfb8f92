# SPDX-License-Identifier: MIT
"""Ring-3 test payloads (tests/guest/, docs/testing.md) under QEMU and under bareiron-vmm.

Every case runs under QEMU (q35, KVM on a real KVM host, else TCG) to prove the payload
against QEMU's devices, and under bareiron-vmm (needs KVM) to probe ours. The expected exit
status of each case, and the expected differences between the two, are in payload_util.CASES.
"""
import shutil

import pytest

import hostkind
import payload_util as pu
from conftest import run


@pytest.fixture(scope="session")
def payload_dir(build_dir):
    d = build_dir / "tests" / "guest"
    if not (d / "hello.elf").exists():
        pytest.skip(f"payloads not built in {d} (needs gcc and objcopy for x86-64)")
    return d


def elf_of(payload_dir, case):
    elf = payload_dir / f"{case.payload}.elf"
    if not elf.exists():
        pytest.skip(f"payload {case.payload} is not built")
    return elf


def report(case, result, probs, runner):
    print(f"{runner} {case.id}: status {result.status} in {result.elapsed:.2f} s")
    print(result.output)
    if probs:
        pytest.fail(f"{runner} {case.id}: " + "; ".join(probs) +
                    f"\n--- serial output ---\n{result.output}", pytrace=False)


@pytest.mark.parametrize("case", pu.CASES, ids=lambda c: c.id)
def test_payload_qemu(case, payload_dir, tmp_path):
    if case.qemu_skip:
        pytest.skip(case.qemu_skip)
    if not shutil.which("qemu-system-x86_64"):
        pytest.skip("qemu-system-x86_64 is not installed")
    elf = elf_of(payload_dir, case)
    cmd = pu.qemu_command(case, elf, tmp_path)
    result = pu.run_guest(case, cmd, tmp_path, case.qemu_status,
                          pu.presser(case, False))
    report(case, result, pu.problems(case, result, case.qemu_status, tmp_path), "qemu")


@pytest.mark.parametrize("case", pu.CASES, ids=lambda c: c.id)
def test_payload_bareiron(case, need_kvm, build_dir, payload_dir, tmp_path):
    if case.vmm_skip:
        pytest.skip(case.vmm_skip)
    vmm = build_dir / "src" / "vmm" / "bareiron-vmm"
    assert vmm.exists(), f"{vmm} is not built"
    elf = elf_of(payload_dir, case)
    cmd = pu.vmm_command(case, elf, vmm, tmp_path)
    result = pu.run_guest(case, cmd, tmp_path, case.vmm_status,
                          pu.presser(case, True))
    report(case, result, pu.problems(case, result, case.vmm_status, tmp_path, True), "bareiron")


@pytest.mark.parametrize("payload", sorted({c.payload for c in pu.CASES}))
def test_payload_loads_in_bareiron_loader(payload, boot_check, payload_dir):
    """bareiron's multiboot loader (through the KVM-free boot-check tool) accepts every
    payload as a multiboot32 image with the entry and info address the payload expects."""
    elf = payload_dir / f"{payload}.elf"
    if not elf.exists():
        pytest.skip(f"payload {payload} is not built")
    r = run([boot_check, "--memory", "128", "--cmdline", "cpus=2", elf])
    assert r.returncode == 0, r.stderr
    kv = dict(line.split("=", 1) for line in r.stdout.splitlines() if "=" in line)
    assert kv.get("format") == "multiboot" and kv.get("mode") == "multiboot32", r.stdout
    assert kv.get("magic") == "0x2badb002"
    assert int(kv["kernel_start"], 16) == 0x100000


@pytest.mark.parametrize("case", [c for c in pu.CASES if not c.vmm_skip], ids=lambda c: c.id)
def test_payload_vmm_accepts_command_line(case, vmm, payload_dir, tmp_path):
    """Where KVM is missing, bareiron-vmm still validates the whole command line the payload
    cases use (kernel, disks, control socket) before it opens /dev/kvm: status 5, not 2 or 6.
    Where KVM works, test_payload_bareiron covers this."""
    if hostkind.dev_kvm_usable():
        pytest.skip("KVM works here: test_payload_bareiron runs the case for real")
    r = run(pu.vmm_command(case, elf_of(payload_dir, case), vmm, tmp_path), timeout=30)
    assert r.returncode == 5, f"status {r.returncode}: {r.stderr}"

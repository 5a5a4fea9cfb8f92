# SPDX-License-Identifier: MIT
"""The suite's side of the one host probe, scripts/host-kind.sh (docs/testing.md "Which host
runs what"), and the policy built on it:

| kind    | payloads, vCPU cases       | Linux guests to userspace | QEMU reference runs |
|---------|----------------------------|---------------------------|---------------------|
| kvm     | directly on /dev/kvm       | directly on /dev/kvm      | -accel kvm          |
| kvm-pvm | directly on /dev/kvm       | nested KVM                | -accel tcg          |
| none    | nested KVM                 | nested KVM                | -accel tcg          |

The nested KVM is test_nested_kvm.py: one boot of an L1 Linux under QEMU/TCG runs every case
that this host cannot. BAREIRON_HOST_KIND=kvm-pvm|none forces a lesser kind.
"""
import functools
import os
import pathlib
import subprocess

ROOT = pathlib.Path(__file__).resolve().parents[2]
NESTED = "they run on the nested KVM in test_nested_kvm.py"


@functools.lru_cache(maxsize=None)
def _probe():
    r = subprocess.run([str(ROOT / "scripts" / "host-kind.sh"), "--why"], capture_output=True,
                       text=True, timeout=30, check=False)
    if r.returncode != 0:
        raise RuntimeError(r.stderr.strip() or "scripts/host-kind.sh failed")
    kind, why = (r.stdout.splitlines() + ["", ""])[:2]
    return kind, why


def kind():
    """'kvm', 'kvm-pvm' or 'none'."""
    return _probe()[0]


def why():
    """How the probe decided, for skip reasons."""
    return _probe()[1]


def vcpu_problem():
    """None when payloads and vCPU cases run directly on this host's /dev/kvm, else why not."""
    if kind() == "none":
        return f"no usable KVM here ({why()}): {NESTED}"
    return None


def linux_problem():
    """None when a Linux guest can reach userspace directly on this host, else why not."""
    if kind() == "kvm":
        return None
    if kind() == "kvm-pvm":
        return (f"kvm-pvm host ({why()}): guest ring 0 is emulated and a Linux userland "
                f"cannot run; {NESTED}")
    return f"no usable KVM here ({why()}): {NESTED}"


def qemu_accel():
    """QEMU's accelerator arguments for reference runs: KVM only on real KVM (QEMU cannot boot
    Linux on kvm-pvm either), TCG otherwise."""
    return ["-accel", "kvm", "-cpu", "host"] if kind() == "kvm" else ["-accel", "tcg"]


def firmware_problem():
    """None when SeaBIOS and boot sectors run directly on this host (real mode and the BIOS's
    ring 0 are within what kvm-pvm emulates), else why not."""
    if kind() == "none":
        return f"no usable KVM here ({why()}): {NESTED}"
    return None


def firmware_qemu_accel():
    """QEMU's accelerator for firmware reference runs: KVM wherever /dev/kvm works (QEMU -M pc
    boots SeaBIOS and boot sectors on kvm-pvm too), TCG otherwise."""
    return ["-accel", "kvm"] if kind() != "none" else ["-accel", "tcg"]


def dev_kvm_usable():
    """Whether /dev/kvm really opens, whatever the policy: for the tests of the binaries'
    own no-KVM error paths, which only a host without /dev/kvm can exercise."""
    try:
        fd = os.open("/dev/kvm", os.O_RDWR)
    except OSError:
        return False
    os.close(fd)
    return True

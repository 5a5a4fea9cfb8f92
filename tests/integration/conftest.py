# SPDX-License-Identifier: MIT
"""Shared fixtures for the integration suite (pytest, Debian's python3-pytest).

Fixtures give the paths of the built binaries and tell, from the one host probe (hostkind.py),
what can run directly here. Tests that need what is absent skip with the reason.
"""
import pathlib
import subprocess

import pytest

import hostkind

ROOT = pathlib.Path(__file__).resolve().parents[2]


def pytest_addoption(parser):
    parser.addoption("--build-dir", default="build", help="meson build directory")


@pytest.fixture(scope="session")
def build_dir(request):
    d = pathlib.Path(request.config.getoption("--build-dir"))
    if not d.is_absolute():
        d = ROOT / d
    return d


@pytest.fixture(scope="session")
def bareiron(build_dir):
    """Path of the `bareiron` CLI."""
    return build_dir / "src" / "cli" / "bareiron"


def built(path):
    """Returns (path), or skips the test when that build output is absent."""
    if not path.exists():
        pytest.skip(f"{path} is not built")
    return path


@pytest.fixture(scope="session")
def vmm(build_dir):
    """Path of `bareiron-vmm`; skips when it is not built."""
    return built(build_dir / "src" / "vmm" / "bareiron-vmm")


@pytest.fixture(scope="session")
def boot_check(build_dir):
    """Path of boot-check (tests/unit/boot), which loads a kernel into guest memory without KVM
    and prints what the loader decided; skips when it is not built."""
    return built(build_dir / "tests" / "unit" / "boot" / "boot-check")


def kvm_problem():
    """Returns None when payloads and vCPU cases run directly on this host's /dev/kvm (real KVM
    or kvm-pvm, hostkind.py), else the reason they cannot."""
    return hostkind.vcpu_problem()


def linux_problem():
    """Returns None when a Linux guest reaches userspace directly on this host (real KVM only),
    else the reason it cannot; those cases then run on the nested KVM."""
    return hostkind.linux_problem()


@pytest.fixture(scope="session")
def need_kvm():
    why = kvm_problem()
    if why:
        pytest.skip(why)


@pytest.fixture(scope="session")
def need_linux_kvm():
    why = linux_problem()
    if why:
        pytest.skip(why)


def run(cmd, timeout=60, **kw):
    """Runs (cmd) and returns the CompletedProcess with text output."""
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True,
                          timeout=timeout, **kw)

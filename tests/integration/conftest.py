# SPDX-License-Identifier: MIT
"""Shared fixtures for the integration suite (pytest, Debian's python3-pytest).

Fixtures give the paths of the built binaries and tell whether KVM can run guests here.
Tests that need what is absent skip with the reason.
"""
import os
import pathlib
import subprocess

import pytest

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
    """Returns None when /dev/kvm can run guests, else the reason it cannot."""
    if not os.path.exists("/dev/kvm"):
        return ("/dev/kvm is absent on this host (no KVM: the kernel has no usable kvm module);"
                " the payload, vCPU and Linux cases run on a nested KVM in test_nested_kvm.py")
    try:
        fd = os.open("/dev/kvm", os.O_RDWR)
        os.close(fd)
    except OSError as e:
        return f"/dev/kvm cannot be opened: {e.strerror}"
    return None


@pytest.fixture(scope="session")
def need_kvm():
    why = kvm_problem()
    if why:
        pytest.skip(why)


def run(cmd, timeout=60, **kw):
    """Runs (cmd) and returns the CompletedProcess with text output."""
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True,
                          timeout=timeout, **kw)

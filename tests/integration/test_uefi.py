# SPDX-License-Identifier: MIT
"""--firmware uefi on the kvm-pvm host (docs/vmm.md "UEFI"): the monitor maps Debian's
OVMF_CODE_4M.fd read-only at the top of 4 GiB and the variable store (a CFI flash) below it,
and refuses variable stores of the wrong size. OVMF itself stops early on kvm-pvm (its SEC
phase runs `fninit`, which the host's ring-0 emulator refuses), so booting it is the nested
KVM's test (tests/nested/test_uefi_boot.py)."""
import os
import shutil
import time
import subprocess

import pytest

CODE = "/usr/share/OVMF/OVMF_CODE_4M.fd"
VARS = "/usr/share/OVMF/OVMF_VARS_4M.fd"


@pytest.fixture(autouse=True)
def _need_ovmf():
    if not os.path.exists(CODE) or not os.path.exists(VARS):
        pytest.skip("OVMF missing (Debian package ovmf)")
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        pytest.skip("no /dev/kvm")


def run_vmm(vmm, args, timeout=30):
    return subprocess.run([str(vmm), "--serial", "none", "--no-reboot", "--log-level", "info",
                           "--memory", "128", "--firmware", "uefi"] + [str(a) for a in args],
                          stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=timeout, check=False)


def test_maps_code_and_vars(vmm, tmp_path):
    vars_fd = tmp_path / "vars.fd"
    shutil.copy(VARS, vars_fd)
    r = run_vmm(vmm, ["--firmware-vars", vars_fd])
    assert f"firmware {CODE}: 3568 KiB at 0xffc84000" in r.stderr, r.stderr
    assert f"variable store {vars_fd}: 528 KiB at 0xffc00000" in r.stderr, r.stderr
    # without --firmware-vars: a private copy of Debian's template
    r = run_vmm(vmm, [])
    assert f"variable store {VARS}: 528 KiB at 0xffc00000 (a private copy)" in r.stderr, r.stderr


def test_refuses_bad_vars(vmm, tmp_path):
    for size in (0, 131072, 540672 + 4096):
        bad = tmp_path / f"bad{size}.fd"
        bad.write_bytes(b"\xff" * size)
        r = run_vmm(vmm, ["--firmware-vars", bad])
        assert r.returncode != 0
        assert f"--firmware-vars {bad}: expected a regular file of 540672 bytes" in r.stderr, \
            r.stderr
    r = run_vmm(vmm, ["--firmware-vars", tmp_path / "missing.fd"])
    assert r.returncode == 3 and "missing.fd" in r.stderr, (r.returncode, r.stderr)
    r = run_vmm(vmm, ["--firmware-vars", tmp_path])
    assert r.returncode != 0 and "--firmware-vars" in r.stderr
    r = run_vmm(vmm, ["--kernel", "k"])
    assert r.returncode == 2 and "not supported yet" in r.stderr


def test_manager_uefi(bareiron, vmm, tmp_path):
    """create/set --firmware uefi give the VM its own copy of the template (kept by later
    saves) and start passes it to the monitor; start refuses a kernel under uefi."""
    from mgr_util import Mgr
    m = Mgr(bareiron, tmp_path / "home", vmm=vmm)
    try:
        m.ok("create", "u1", "--memory", "128M", "--serial", "none")
        vars_fd = m.vm_dir("u1") / "uefi-vars.fd"
        assert not vars_fd.exists()
        m.ok("set", "u1", "--firmware", "uefi")
        assert vars_fd.read_bytes() == open(VARS, "rb").read()
        assert vars_fd.stat().st_mode & 0o777 == 0o600
        vars_fd.write_bytes(b"\x01" * 540672)  # the VM's variables: kept by the next save
        m.ok("set", "u1", "--memory", "256M")
        assert vars_fd.read_bytes() == b"\x01" * 540672
        shutil.copy(VARS, vars_fd)
        m.ok("create", "u2", "--firmware", "uefi", "--serial", "none")
        assert (m.vm_dir("u2") / "uefi-vars.fd").stat().st_size == 540672
        m.ok("set", "u2", "--kernel", VARS)
        r = m.run("start", "u2")
        assert r.returncode == 6 and "--kernel none" in r.stderr, r.stderr
        m.run("start", "u1")  # OVMF stops early on kvm-pvm; the monitor has mapped the store
        log = ""
        for _ in range(50):
            logs = list(m.vm_dir("u1").glob("**/*.log"))
            log = "".join(p.read_text(errors="replace") for p in logs)
            if "uefi-vars.fd" in log or "registers" in log or m.state("u1") == "running":
                break
            time.sleep(0.1)
        assert "--firmware-vars" not in log  # the monitor accepted it
    finally:
        m.kill_monitors()

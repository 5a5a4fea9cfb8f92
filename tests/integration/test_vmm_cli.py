# SPDX-License-Identifier: MIT
"""bareiron-vmm / `bareiron run` command line: every bad input gives one line on stderr and the
documented exit status (docs/vmm.md) without touching /dev/kvm, so these run on any host."""
import os
import pathlib

import pytest

from conftest import run
import hostkind
import vmm_util

USAGE, NOTFOUND, KVM, INPUT = 2, 3, 5, 6


@pytest.fixture
def kernel(tmp_path):
    return vmm_util.write_payload(tmp_path, "exit", vmm_util.debug_exit(0))


def one_line_error(r, status, *words):
    assert r.returncode == status, (r.returncode, r.stderr)
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("bareiron-vmm: "), lines[0]
    for w in words:
        assert w in lines[0], (w, lines[0])
    assert r.stdout == ""


def test_help_and_version(vmm):
    r = run([vmm, "--help"])
    assert r.returncode == 0
    assert "--kernel" in r.stdout and "Exit status" in r.stdout
    assert "--rng" in r.stdout and "--vconsole" in r.stdout
    assert "boot menu (ESC" in r.stdout and "F12" not in r.stdout  # SeaBIOS's menu key
    r = run([vmm, "--version"])
    assert r.returncode == 0 and r.stdout.startswith("bareiron-vmm ")


def test_no_kernel_option(vmm):
    """Without --kernel the default is the pc machine with SeaBIOS (test_firmware.py); the
    direct-boot machine still needs one."""
    one_line_error(run([vmm, "--machine", "microvm"]), USAGE, "--kernel")


def test_missing_kernel_file(vmm, tmp_path):
    one_line_error(run([vmm, "--kernel", tmp_path / "nope"]), NOTFOUND, "nope")


def test_not_a_kernel(vmm, tmp_path):
    f = tmp_path / "text"
    f.write_text("this is not a kernel\n" * 100)
    one_line_error(run([vmm, "--kernel", f]), INPUT, "text")
    one_line_error(run([vmm, "--kernel", "/bin/sh"]), INPUT)


def test_empty_kernel(vmm, tmp_path):
    f = tmp_path / "empty"
    f.write_bytes(b"")
    one_line_error(run([vmm, "--kernel", f]), INPUT)


def test_truncated_multiboot(vmm, tmp_path):
    img = vmm_util.multiboot_image(vmm_util.debug_exit(0), pad_to=8192)
    f = tmp_path / "trunc.mb"
    f.write_bytes(img[:100])
    one_line_error(run([vmm, "--kernel", f]), INPUT, "trunc.mb")
    f.write_bytes(img[:20])
    one_line_error(run([vmm, "--kernel", f]), INPUT, "trunc.mb")


def test_truncated_bzimage(vmm, tmp_path):
    k = vmm_util.guest_kernel()
    if k is None:
        pytest.skip("no guest kernel (scripts/get-guest-kernel.sh has not been run)")
    data = k.read_bytes()
    for cut in (300, 0x1000, len(data) // 2):
        f = tmp_path / f"vmlinuz-cut{cut}"
        f.write_bytes(data[:cut])
        one_line_error(run([vmm, "--kernel", f], timeout=120), INPUT, f.name)


def test_missing_initrd(vmm, kernel, tmp_path):
    one_line_error(run([vmm, "--kernel", kernel, "--initrd", tmp_path / "no-initrd"]), NOTFOUND,
                   "no-initrd")


@pytest.mark.parametrize("cpus", ["0", "65", "1000", "-1", "two", ""])
def test_bad_cpus(vmm, kernel, cpus):
    one_line_error(run([vmm, "--kernel", kernel, "--cpus", cpus]), USAGE, "--cpus")


@pytest.mark.parametrize("mem", ["0", "99T", "junk", "1M", "12345K", "-1G", ""])
def test_bad_memory(vmm, kernel, mem):
    one_line_error(run([vmm, "--kernel", kernel, "--memory", mem]), USAGE, "--memory")


@pytest.mark.parametrize("args,word", [
    (["--frobnicate"], "--frobnicate"),
    (["--serial", "tcp:localhost:1"], "--serial"),
    (["--log-level", "chatty"], "--log-level"),
    (["--cpu-model", "pentium"], "--cpu-model"),
    (["--disk", "x.img,format=vmdk"], "--disk"),
    (["stray-argument"], "stray-argument"),
    (["--cpus"], "--cpus"),
    (["--vconsole", "tcp:localhost:1"], "--vconsole"),
    (["--vconsole"], "--vconsole"),
    (["--rng=yes"], "--rng"),
    (["--serial", "stdio", "--vconsole", "stdio"], "--vconsole stdio"),
    (["--name", "n" * 65], "--name"),
    (["--cmdline", "x" * 65536], "--cmdline"),
])
def test_bad_options(vmm, kernel, args, word):
    one_line_error(run([vmm, "--kernel", kernel] + args), USAGE, word)


def test_missing_disk(vmm, kernel, tmp_path):
    r = run([vmm, "--kernel", kernel, "--disk", tmp_path / "no-disk.img"])
    one_line_error(r, NOTFOUND, "no-disk.img")


def test_no_kvm_exit_status(vmm, kernel):
    if hostkind.dev_kvm_usable():
        pytest.skip("/dev/kvm works here; the no-KVM path cannot be exercised")
    one_line_error(run([vmm, "--kernel", kernel]), KVM, "/dev/kvm")


def test_bareiron_run_forwards(bareiron, kernel, tmp_path):
    if not bareiron.exists():
        pytest.skip(f"{bareiron} is not built")
    r = run([bareiron, "run", "--help"])
    assert r.returncode == 0 and "Exit status" in r.stdout and "--kernel" in r.stdout
    assert "--rng" in r.stdout and "--vconsole" in r.stdout
    r = run([bareiron, "help", "run"])
    assert r.returncode == 0 and "--cdrom" in r.stdout
    one_line_error(run([bareiron, "run", "--kernel", kernel, "--cpus", "0"]), USAGE, "--cpus")
    one_line_error(run([bareiron, "run", "--kernel", tmp_path / "none"]), NOTFOUND)
    if not hostkind.dev_kvm_usable():
        one_line_error(run([bareiron, "run", "--kernel", kernel]), KVM, "/dev/kvm")


def test_bareiron_run_env_override(bareiron, kernel, tmp_path):
    if not bareiron.exists():
        pytest.skip(f"{bareiron} is not built")
    env = dict(os.environ, BAREIRON_VMM=str(tmp_path / "missing-vmm"))
    r = run([bareiron, "run", "--kernel", kernel], env=env)
    assert r.returncode == 1
    assert "cannot find bareiron-vmm" in r.stderr


def test_bareiron_run_gives_disks_their_format(bareiron, tmp_path):
    """run passes format= for a --disk without one, read from the image's header: the monitor
    takes a writable disk without format= as raw, and a qcow2 file must not reach the guest
    as a raw disk."""
    if not bareiron.exists():
        pytest.skip(f"{bareiron} is not built")
    q, raw = tmp_path / "d.qcow2", tmp_path / "d.raw"
    assert run([bareiron, "disk", "create", q, "16M", "--format", "qcow2"]).returncode == 0
    assert run([bareiron, "disk", "create", raw, "16M", "--format", "raw"]).returncode == 0
    argv = tmp_path / "argv"
    fake = tmp_path / "fake-vmm"
    fake.write_text(f"#!/bin/sh\nprintf '%s\\n' \"$@\" >{argv}\n")
    fake.chmod(0o755)
    env = dict(os.environ, BAREIRON_VMM=str(fake))
    r = run([bareiron, "run", "--kernel", "k", "--disk", q, f"--disk={raw},readonly",
             "--disk", f"{q},format=raw", "--disk", tmp_path / "missing"], env=env)
    assert r.returncode == 0, r.stderr
    assert argv.read_text().splitlines() == [
        "--kernel", "k", "--disk", f"{q},format=qcow2", f"--disk={raw},readonly,format=raw",
        "--disk", f"{q},format=raw", "--disk", str(tmp_path / "missing")]

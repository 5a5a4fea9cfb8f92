# SPDX-License-Identifier: MIT
"""Kernel loaders on real images, without KVM: Debian's packaged bzImage (xz payload decompressed
on the host, vmlinux entered at startup_64) and the ring-3 test payloads (multiboot ELF32) are
loaded into guest memory by boot-check, and bad images are refused with one line. The monitor's
own refusal of bad kernels (exit status 6) is tested in test_vmm_cli.py."""
import pytest

from conftest import run
import boot_util as bu

MiB = 1 << 20


@pytest.fixture(scope="module")
def boot_check(build_dir):
    p = bu.boot_check_path(build_dir)
    if not p.exists():
        pytest.skip(f"{p} is not built")
    return p


@pytest.fixture(scope="module")
def kernel(build_dir):
    k, why = bu.guest_kernel(build_dir)
    if k is None:
        pytest.skip(why)
    return k


def test_debian_kernel_loads(boot_check, kernel, tmp_path):
    initrd = tmp_path / "initrd"
    initrd.write_bytes(b"\x07" * (3 * MiB + 123))
    r = run([boot_check, "--memory", "512", kernel, initrd], timeout=120)
    assert r.returncode == 0, r.stderr
    kv = bu.parse_kv(r.stdout)
    assert kv["format"] == "bzImage" and kv["mode"] == "linux64"
    entry, start, end = (int(kv[k], 16) for k in ("entry", "kernel_start", "kernel_end"))
    # Debian's kernel is linked at LOAD_PHYSICAL_ADDR = 16 MiB; startup_64 is its first byte
    assert entry == start == 16 * MiB
    assert 16 * MiB < end < 256 * MiB
    assert int(kv["info"], 16) == 0x7000
    rd, rd_size = int(kv["initrd"], 16), int(kv["initrd_size"])
    assert rd_size == 3 * MiB + 123
    assert rd % 4096 == 0 and rd >= end and rd + rd_size <= 512 * MiB
    assert rd + rd_size > 512 * MiB - 2 * MiB  # as high as low RAM allows


def test_debian_kernel_needs_memory(boot_check, kernel):
    r = run([boot_check, "--memory", "32", kernel], timeout=120)
    assert r.returncode == 6
    assert "beyond the end of guest RAM" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_debian_kernel_probe(boot_check, kernel):
    r = run([boot_check, "--probe", kernel])
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "format=bzImage"


@pytest.mark.parametrize("what", ["half", "header", "payload-corrupt", "cmdline"])
def test_bad_debian_kernels(boot_check, kernel, tmp_path, what):
    data = bytearray(kernel.read_bytes())
    args = []
    if what == "half":
        data = data[:len(data) // 2]
    elif what == "header":
        data = data[:0x400]
    elif what == "payload-corrupt":
        setup = (data[0x1F1] + 1) * 512
        off = setup + int.from_bytes(data[0x248:0x24C], "little")
        data[off + 4096:off + 8192] = b"\x55" * 4096
    else:
        args = ["--cmdline", "x" * 5000]  # cmdline_size of Debian's kernel is 2047
    f = tmp_path / f"vmlinuz-{what}"
    f.write_bytes(bytes(data))
    r = run([boot_check] + args + [f], timeout=120)
    assert r.returncode == 6, (r.returncode, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and f.name in lines[0], r.stderr


def test_payloads_load(boot_check, build_dir):
    payloads = sorted((build_dir / "tests" / "guest").glob("*.elf"))
    if not payloads:
        pytest.skip("no test payloads built (tests/guest)")
    for p in payloads:
        r = run([boot_check, "--memory", "64", p])
        assert r.returncode == 0, (p.name, r.stderr)
        kv = bu.parse_kv(r.stdout)
        assert kv["format"] == "multiboot" and kv["mode"] == "multiboot32", p.name
        assert kv["magic"] == "0x2badb002"

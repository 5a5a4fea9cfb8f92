# SPDX-License-Identifier: MIT
"""Kernel loaders on real images, without KVM: Debian's packaged bzImage (xz payload decompressed
on the host, vmlinux entered at startup_64) and the ring-3 test payloads (multiboot ELF32) are
loaded into guest memory by boot-check, and bad images are refused with one line; then that guest
memory is run under QEMU (TCG without KVM) to show the kernel boots from it. The monitor's own
refusal of bad kernels (exit status 6) is tested in test_vmm_cli.py."""
import subprocess

import pytest

from conftest import run
import hostkind
import boot_util as bu

MiB = 1 << 20


@pytest.fixture(scope="module")
def kernel(build_dir):
    return bu.or_skip(bu.guest_kernel(build_dir))


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
    assert "guest RAM" in r.stderr and "more memory" in r.stderr
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
        # 128 MiB: the counter payload's 64 MiB buffer sits above 1 MiB
        r = run([boot_check, "--memory", "128", p])
        assert r.returncode == 0, (p.name, r.stderr)
        kv = bu.parse_kv(r.stdout)
        assert kv["format"] == "multiboot" and kv["mode"] == "multiboot32", p.name
        assert kv["magic"] == "0x2badb002"


# --- the loaders' guest memory, run under QEMU ---------------------------------------------
# boot-check --dump gives exactly the memory bareiron would start the guest with; a small
# multiboot trampoline (boot_util.trampoline) copies it into a QEMU machine after its BIOS is
# done and enters the kernel in the state core/x86/regs.c sets up. Debian's kernel then boots to
# the itest /init: proof, without KVM, that host-side decompression, the zero page / start_info
# and the e820 map are what Linux wants. --rsdp 0 lets Linux find the RSDP of QEMU's BIOS.

def run_dumped(boot_check, tmp_path, kernel, initrd, cmdline, qemu_extra=(), timeout=300):
    """Loads (kernel) with boot-check, runs the dump under QEMU; returns (kv, console)."""
    if bu.QEMU is None:
        pytest.skip("qemu-system-x86_64 is not installed")
    dump = tmp_path / "dump"
    dump.mkdir()
    args = [boot_check, "--memory", "256", "--rsdp", "0", "--cmdline", cmdline, "--dump", dump,
            kernel] + ([initrd] if initrd else [])
    r = run(args, timeout=120)
    assert r.returncode == 0, r.stderr
    kv = bu.parse_kv(r.stdout)
    try:
        qargs = bu.trampoline(tmp_path, dump, kv)
    except (OSError, subprocess.CalledProcessError) as e:
        pytest.skip(f"cannot assemble the trampoline (binutils): {e}")
    log = tmp_path / "console.log"
    accel = hostkind.qemu_accel()
    q = run([bu.QEMU, "-M", "q35", "-m", "1024", "-display", "none", "-no-reboot",
             "-nodefaults", "-serial", f"file:{log}"] + accel + qargs + list(qemu_extra),
            timeout=timeout, stdin=subprocess.DEVNULL)
    return kv, q, log.read_text(errors="replace") if log.exists() else ""


@pytest.fixture(scope="module")
def initramfs(build_dir, kernel):
    return bu.or_skip(bu.initramfs(build_dir))


def test_bzimage_boots_to_init(boot_check, kernel, initramfs, tmp_path):
    kv, q, console = run_dumped(boot_check, tmp_path, kernel, initramfs,
                                "console=ttyS0 panic=-1 itest=boot")
    assert kv["mode"] == "linux64"
    assert "ITEST PASS boot" in console, console[-3000:]
    assert "RAMDISK: [mem 0x%08x-" % int(kv["initrd"], 16) in console
    assert q.returncode == 0  # /init powered off through ACPI S5


def test_pvh_vmlinux_boots_to_init(boot_check, kernel, initramfs, tmp_path):
    vmlinux = tmp_path / "vmlinux"
    bu.extract_vmlinux(kernel, vmlinux)  # Debian's vmlinux has the PVH note (CONFIG_PVH=y)
    kv, q, console = run_dumped(boot_check, tmp_path, vmlinux, initramfs,
                                "console=ttyS0 panic=-1 itest=boot")
    assert kv["format"] == "elf-pvh" and kv["mode"] == "pvh32"
    assert "ITEST PASS boot" in console, console[-3000:]
    assert q.returncode == 0


def test_multiboot_payload_runs(boot_check, build_dir, tmp_path):
    hello = build_dir / "tests" / "guest" / "hello.elf"
    if not hello.exists():
        pytest.skip("the hello payload is not built (tests/guest)")
    kv, q, console = run_dumped(boot_check, tmp_path, hello, None, "",
                                ["-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"], timeout=60)
    assert kv["mode"] == "multiboot32"
    assert "PASS hello" in console, console[-3000:]
    assert q.returncode == 1  # isa-debug-exit 0

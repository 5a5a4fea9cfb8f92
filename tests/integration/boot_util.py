# SPDX-License-Identifier: MIT
"""Helpers for the loader and initramfs tests (test_boot_*.py): Debian's kernel from
scripts/get-guest-kernel.sh, the itest initramfs from scripts/mkinitramfs.sh, and the output of
boot-check (conftest's boot_check fixture), which loads a kernel into guest memory without KVM
and prints what the loader decided."""
import pathlib
import shutil
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
QEMU = shutil.which("qemu-system-x86_64")


def _script(name, build_dir, timeout):
    """Runs scripts/(name) BUILD_DIR; returns (path or None, stderr tail)."""
    try:
        r = subprocess.run([str(ROOT / "scripts" / name), str(build_dir)], capture_output=True,
                           text=True, timeout=timeout, cwd=ROOT)
    except (OSError, subprocess.TimeoutExpired) as e:
        return None, str(e)
    out = r.stdout.strip().splitlines()
    if r.returncode != 0 or not out:
        return None, r.stderr.strip()[-300:]
    return pathlib.Path(out[-1]), ""


def guest_kernel(build_dir):
    """(path, None) of Debian's kernel, or (None, why) when it cannot be downloaded."""
    k, why = _script("get-guest-kernel.sh", build_dir, 600)
    return (k, None) if k else (None, f"get-guest-kernel.sh failed (no network?): {why}")


def initramfs(build_dir):
    """(path, None) of the itest initramfs, or (None, why)."""
    i, why = _script("mkinitramfs.sh", build_dir, 600)
    return (i, None) if i else (None, f"mkinitramfs.sh failed: {why}")


def or_skip(found):
    """The path of a (path, why) pair from guest_kernel() or initramfs(); skips the test with
    (why) when there is none."""
    path, why = found
    if path is None:
        pytest.skip(why)
    return path


def parse_kv(text):
    """boot-check's "key=value" lines as a dict."""
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)


# A multiboot (a.out kludge) trampoline for QEMU that recreates, with no firmware left running,
# the machine state bareiron's loaders produce: it copies the ranges boot-check --dump wrote
# (given to QEMU with -device loader at STAGE_GPA + gpa, out of reach of the BIOS) to their
# addresses, then enters the kernel like core/x86/regs.c does: long mode with the first 4 GiB
# identity mapped and RSI = zero page (linux64), or 32-bit protected mode with EBX = the boot
# info (pvh32, multiboot32 with EAX = 0x2badb002).
STAGE_GPA = 0x20000000
_TRAMPOLINE = """
    .code32
    .text
    .globl _start
hdr:
    .long 0x1badb002, 0x00010000, -(0x1badb002 + 0x00010000)
    .long hdr, hdr, 0, 0, _start
_start:
    cli
    cld
    mov $copy_table, %ebx
1:  mov 8(%ebx), %ecx
    test %ecx, %ecx
    jz 2f
    mov (%ebx), %esi
    mov 4(%ebx), %edi
    rep movsb
    add $12, %ebx
    jmp 1b
2:  lgdt gdt_desc
    ljmp $0x08, $flat32
flat32:
    mov $0x18, %eax
    mov %eax, %ds
    mov %eax, %es
    mov %eax, %ss
    mov %eax, %fs
    mov %eax, %gs
    cmpl $0, is_64
    jne paging
    mov boot_magic, %eax
    mov $0x30000, %ebx
    jmp *entry
paging:
    mov $0x9000, %edi
    xor %eax, %eax
    mov $0x1800, %ecx
    rep stosl
    movl $0xa003, 0x9000
    movl $0xb003, 0xa000
    movl $0xc003, 0xa008
    movl $0xd003, 0xa010
    movl $0xe003, 0xa018
    mov $0xb000, %edi
    mov $0x83, %eax
    mov $2048, %ecx
3:  mov %eax, (%edi)
    add $0x200000, %eax
    add $8, %edi
    loop 3b
    mov $0x9000, %eax
    mov %eax, %cr3
    mov %cr4, %eax
    or $0x20, %eax
    mov %eax, %cr4
    mov $0xc0000080, %ecx
    rdmsr
    or $0x100, %eax
    wrmsr
    mov %cr0, %eax
    or $0x80000001, %eax
    mov %eax, %cr0
    ljmp $0x10, $long_mode
    .code64
long_mode:
    mov $0x7000, %esi
    xor %ebp, %ebp
    mov entry(%rip), %eax
    jmp *%rax
    .balign 8
gdt:
    .quad 0
    .quad 0x00cf9a000000ffff  /* 0x08: 32-bit code */
    .quad 0x00af9a000000ffff  /* 0x10: 64-bit code */
    .quad 0x00cf92000000ffff  /* 0x18: data */
gdt_desc:
    .word gdt_desc - gdt - 1
    .long gdt
    .balign 4
entry:      .long {entry:#x}
is_64:      .long {is_64}
boot_magic: .long {magic:#x}
copy_table:
{table}    .long 0, 0, 0
"""


def trampoline(tmp, dump_dir, kv):
    """Assembles the trampoline for boot-check's result (kv) and dump; returns the QEMU
    arguments (-kernel trampoline, -device loader...) or raises OSError without binutils."""
    blobs = sorted((int(p.stem, 16), p) for p in pathlib.Path(dump_dir).glob("*.bin"))
    table = "".join(f"    .long {STAGE_GPA + a:#x}, {a:#x}, {p.stat().st_size:#x}\n"
                    for a, p in blobs)
    src = _TRAMPOLINE.format(entry=int(kv["entry"], 16), is_64=int(kv["mode"] == "linux64"),
                             magic=int(kv["magic"], 16), table=table)
    (tmp / "tramp.S").write_text(src)
    subprocess.run(["as", "--64", "-o", str(tmp / "tramp.o"), str(tmp / "tramp.S")],
                   check=True, capture_output=True)
    # linked 1 MiB below the staging area, clear of every range it copies
    subprocess.run(["ld", "-m", "elf_x86_64", "-Ttext", f"{STAGE_GPA - 0x100000:#x}",
                    "-e", "_start", "--oformat", "binary", "-o", str(tmp / "tramp.bin"),
                    str(tmp / "tramp.o")], check=True, capture_output=True)
    args = ["-kernel", str(tmp / "tramp.bin")]
    for a, p in blobs:
        args += ["-device", f"loader,file={p},addr={STAGE_GPA + a:#x},force-raw=on"]
    return args


def extract_vmlinux(bzimage, out):
    """Writes the vmlinux inside an xz-compressed bzImage to (out), for the PVH test."""
    import lzma
    import struct
    d = pathlib.Path(bzimage).read_bytes()
    setup = ((d[0x1F1] or 4) + 1) * 512
    off, length = struct.unpack_from("<II", d, 0x248)
    pathlib.Path(out).write_bytes(
        lzma.decompress(d[setup + off:setup + off + length - 4], format=lzma.FORMAT_XZ))

# SPDX-License-Identifier: MIT
"""--firmware uefi on the kvm-pvm host (docs/vmm.md "UEFI"): the monitor maps Debian's
OVMF_CODE_4M.fd read-only at the top of 4 GiB and the variable store (a CFI flash) below it,
and refuses variable stores of the wrong size. OVMF itself stops early on kvm-pvm (its SEC
phase runs `fninit`, which the host's ring-0 emulator refuses), so booting it is the nested
KVM's test (the opt-in nested case linux-uefi, tests/nested/uefi_case.sh); a tiny firmware
assembled here drives the flash from the guest instead."""
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


# A 64 KiB segment at the top of a 192 KiB "firmware" (--firmware-file): from the reset vector
# into flat 32-bit protected mode (its GDT in the ROM has the accessed bits set: the CPU must
# not write them), then the variable store below it (64 KiB at 0xfffc0000) as OVMF drives it:
# its probe (0x50, 0x70, status 0), a CFI query, a program, a block erase, reads in read array
# mode; "PFLASH OK" on COM1 and isa-debug-exit 0x10 (status 33), or exit 0x01 (status 3).
FLASH_FW = r"""
.code16
.org 0xf000
start:
    cli
    lgdtl %cs:gdt_desc
    movl %cr0, %eax
    orl $1, %eax
    movl %eax, %cr0
    .byte 0x66, 0xea
    .long 0xffff0000 + pm32
    .word 0x08
.code32
pm32:
    movw $0x10, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    movl $0xfffc0000, %ebx
    /* OVMF's probe: clear status, read status must be 0 */
    movb $0x50, (%ebx)
    movb $0x70, (%ebx)
    movb (%ebx), %al
    cmpb $0, %al
    jne fail
    movb $0xff, (%ebx)
    /* CFI query: 'Q' at 0x10 */
    movb $0x98, (%ebx)
    movb 0x10(%ebx), %al
    cmpb $'Q', %al
    jne fail
    movb $0xff, (%ebx)
    /* program 0x5a at 0x100, read status (ready), back to array */
    movb $0x10, 0x100(%ebx)
    movb $0x5a, 0x100(%ebx)
    movb (%ebx), %al
    testb $0x80, %al
    jz fail
    movb $0xff, (%ebx)
    /* erase block 1 */
    movb $0x20, 0x1000(%ebx)
    movb $0xd0, 0x1000(%ebx)
    movb $0xff, (%ebx)
    /* read array: the programmed byte and the erased block, directly */
    movb 0x100(%ebx), %al
    cmpb $0x5a, %al
    jne fail
    movl 0x1ffc(%ebx), %eax
    cmpl $0xffffffff, %eax
    jne fail
    movl $msg, %esi
    addl $0xffff0000, %esi
    movw $0x3f8, %dx
1:  movb (%esi), %al
    testb %al, %al
    jz 2f
    outb %al, %dx
    incl %esi
    jmp 1b
2:  movb $0x10, %al
    outb %al, $0xf4
    hlt
fail:
    movb $0x01, %al
    outb %al, $0xf4
    hlt
msg: .asciz "PFLASH OK\n"
.p2align 3
gdt:
    .quad 0
    .quad 0x00cf9b000000ffff
    .quad 0x00cf93000000ffff
gdt_desc:
    .word 23
    .long 0xffff0000 + gdt
.code16
.org 0xfff0
    jmp start
.org 0x10000
"""


def test_guest_drives_the_flash(vmm, tmp_path):
    if not shutil.which("as") or not shutil.which("ld"):
        pytest.skip("binutils (as, ld) not installed")
    (tmp_path / "fw.S").write_text(FLASH_FW)
    subprocess.run(["as", "--32", "-o", tmp_path / "fw.o", tmp_path / "fw.S"], check=True)
    subprocess.run(["ld", "-m", "elf_i386", "-Ttext", "0", "-e", "0", "--oformat", "binary",
                    "-o", tmp_path / "seg.bin", tmp_path / "fw.o"], check=True)
    fw = tmp_path / "fw.bin"
    fw.write_bytes(b"\0" * 0x20000 + (tmp_path / "seg.bin").read_bytes())
    store = tmp_path / "vars.fd"
    store.write_bytes(b"\xaa" * 0x10000)
    r = subprocess.run([str(vmm), "--firmware", "uefi", "--firmware-file", fw, "--firmware-vars",
                        store, "--debug-exit", "--serial", "stdio", "--no-reboot", "--memory",
                        "64"], stdin=subprocess.DEVNULL, capture_output=True, text=True,
                       timeout=60, check=False)
    assert r.returncode == 33 and "PFLASH OK" in r.stdout, (r.returncode, r.stdout, r.stderr)
    d = store.read_bytes()  # written in place: the program and the erase, nothing else
    assert d[0x100] == 0x5a
    assert d[0x1000:0x2000] == b"\xff" * 0x1000
    assert d[:0x100] == b"\xaa" * 0x100 and d[0x101:0x1000] == b"\xaa" * 0xeff
    assert d[0x2000:] == b"\xaa" * 0xe000


# FLASH_FW's variant for a save: it programs 0x5a at 0x100 and leaves the bank in read status
# mode, prints "WAIT" and polls COM1 for a byte (the test saves there and resumes); then the
# status must still be ready, read array mode must show the byte, "PFLASH OK" and exit 0x10.
FLASH_SAVE_FW = FLASH_FW.replace(r"""    /* OVMF's probe: clear status, read status must be 0 */
    movb $0x50, (%ebx)
    movb $0x70, (%ebx)
    movb (%ebx), %al
    cmpb $0, %al
    jne fail
    movb $0xff, (%ebx)
    /* CFI query: 'Q' at 0x10 */
    movb $0x98, (%ebx)
    movb 0x10(%ebx), %al
    cmpb $'Q', %al
    jne fail
    movb $0xff, (%ebx)
    /* program 0x5a at 0x100, read status (ready), back to array */
    movb $0x10, 0x100(%ebx)
    movb $0x5a, 0x100(%ebx)
    movb (%ebx), %al
    testb $0x80, %al
    jz fail
    movb $0xff, (%ebx)
    /* erase block 1 */
    movb $0x20, 0x1000(%ebx)
    movb $0xd0, 0x1000(%ebx)
    movb $0xff, (%ebx)
    /* read array: the programmed byte and the erased block, directly */
    movb 0x100(%ebx), %al
    cmpb $0x5a, %al
    jne fail
    movl 0x1ffc(%ebx), %eax
    cmpl $0xffffffff, %eax
    jne fail
""", r"""    movb $0x10, 0x100(%ebx)
    movb $0x5a, 0x100(%ebx)
    movw $0x3f8, %dx
    movb $'W', %al
    outb %al, %dx
    movb $'\n', %al
    outb %al, %dx
    movw $0x3fd, %dx
3:  inb %dx, %al
    testb $1, %al
    jz 3b
    movb (%ebx), %al
    testb $0x80, %al
    jz fail
    movb $0xff, (%ebx)
    movb 0x100(%ebx), %al
    cmpb $0x5a, %al
    jne fail
""")


def test_save_restore_flash(vmm, tmp_path):
    """A save while the variable store is in read status mode after a program: the restored
    bank is in that mode (reads exit to the state machine), its bytes are the saved ones and
    the file holds them again even when it changed after the save (an older state resumed)."""
    import vmm_util as u
    if not shutil.which("as") or not shutil.which("ld"):
        pytest.skip("binutils (as, ld) not installed")
    (tmp_path / "fw.S").write_text(FLASH_SAVE_FW)
    subprocess.run(["as", "--32", "-o", tmp_path / "fw.o", tmp_path / "fw.S"], check=True)
    subprocess.run(["ld", "-m", "elf_i386", "-Ttext", "0", "-e", "0", "--oformat", "binary",
                    "-o", tmp_path / "seg.bin", tmp_path / "fw.o"], check=True)
    fw = tmp_path / "fw.bin"
    fw.write_bytes(b"\0" * 0x20000 + (tmp_path / "seg.bin").read_bytes())
    store, state, sock = tmp_path / "vars.fd", tmp_path / "state", tmp_path / "ctl.sock"
    store.write_bytes(b"\xaa" * 0x10000)
    base = [str(vmm), "--firmware", "uefi", "--firmware-file", fw, "--firmware-vars", store,
            "--debug-exit", "--serial", "stdio", "--no-reboot", "--memory", "64"]
    p = subprocess.Popen(base + ["--control", sock], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert p.stdout.readline() == b"W\n"
        u.wait_path(sock, 10)
        r = u.control(sock, "save", {"path": str(state)})
        assert r.get("ok"), r
        assert p.wait(timeout=30) == 0
    finally:
        p.kill()
        p.wait()
    assert store.read_bytes()[0x100] == 0x5a
    store.write_bytes(b"\xaa" * 0x10000)  # the store moved on after the save
    r = subprocess.run(base + ["--restore", state], input=b"g", capture_output=True,
                       timeout=60, check=False)
    assert r.returncode == 33 and b"PFLASH OK" in r.stdout, (r.returncode, r.stdout, r.stderr)
    d = store.read_bytes()
    assert d[0x100] == 0x5a and d[:0x100] == b"\xaa" * 0x100 and d[0x1000:] == b"\xaa" * 0xf000

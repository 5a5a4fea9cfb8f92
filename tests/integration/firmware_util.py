# SPDX-License-Identifier: MIT
"""Boot media for the firmware tests and bench/firmware.sh: a raw disk whose MBR boot sector
(assembled with binutils) prints a word on COM1 with `out` instructions and powers off through
ACPI S5 at the PIIX4 PM base SeaBIOS programmed (PMBA, config 0x40 of 00:01.3). It avoids the
instructions the kvm-pvm emulator refuses (int3, popcnt, cmpxchg16b, xrstor)."""
import pathlib
import shutil
import subprocess

SEABIOS = "/usr/share/seabios/bios-256k.bin"

BOOT_SECTOR = r"""
    .code16
    .globl _start
_start:
    cli
    xorw %ax, %ax
    movw %ax, %ds
    movw $msg, %si
next:
    lodsb
    testb %al, %al
    jz done
    movb %al, %ah
    movw $0x3fd, %dx
wait:
    inb %dx, %al
    testb $0x20, %al
    jz wait
    movb %ah, %al
    movw $0x3f8, %dx
    outb %al, %dx
    jmp next
done:
    /* ACPI S5: PM1a_CNT at PMBA + 4 (PIIX4 config 0x40 of 00:01.3), SLP_TYP 0 | SLP_EN */
    movl $0x80000b40, %eax
    movw $0xcf8, %dx
    outl %eax, %dx
    movw $0xcfc, %dx
    inl %dx, %eax
    andw $0xffc0, %ax
    addw $4, %ax
    movw %ax, %dx
    movw $0x2000, %ax
    outw %ax, %dx
halt:
    hlt
    jmp halt
msg:
    .asciz "\r\n@WORD@\r\n"
    .org 510
    .word 0xaa55
"""


def boot_sector(tmp_path: pathlib.Path, word: str) -> bytes:
    """The 512-byte boot sector that prints (word) on COM1 and powers off."""
    src = tmp_path / f"{word}.S"
    src.write_text(BOOT_SECTOR.replace("@WORD@", word))
    obj, binf = tmp_path / f"{word}.o", tmp_path / f"{word}.bin"
    subprocess.run(["as", "--32", "-o", obj, src], check=True, capture_output=True)
    subprocess.run(["ld", "-m", "elf_i386", "-Ttext", "0x7c00", "--oformat", "binary", "-o",
                    binf, obj], check=True, capture_output=True)
    sector = binf.read_bytes()
    assert len(sector) == 512 and sector[510:] == b"\x55\xaa"
    return sector


def disk_image(tmp_path: pathlib.Path, word: str) -> pathlib.Path:
    """A 1 MiB raw disk whose MBR boot sector prints (word) on COM1 and powers off."""
    img = tmp_path / f"{word}.img"
    img.write_bytes(boot_sector(tmp_path, word) + bytes((1 << 20) - 512))
    return img


def floppy_image(tmp_path: pathlib.Path, word: str) -> pathlib.Path:
    """A 1.44 MB floppy image whose boot sector prints (word) on COM1 and powers off."""
    img = tmp_path / f"{word}-fd.img"
    img.write_bytes(boot_sector(tmp_path, word) + bytes(1474560 - 512))
    return img


def iso_image(tmp_path: pathlib.Path, word: str, floppy_emulation=False) -> pathlib.Path:
    """An El Torito CD image (xorriso -as mkisofs) whose boot image prints (word) on COM1 and
    powers off: a no-emulation boot image of one 2048-byte sector loaded at 0x7c00, or with
    (floppy_emulation) a 1.44 MB floppy image the BIOS serves as drive A:."""
    if not shutil.which("xorriso"):
        import pytest
        pytest.skip("xorriso is not installed")
    root = tmp_path / f"{word}-iso"
    root.mkdir(exist_ok=True)
    if floppy_emulation:
        shutil.copy(floppy_image(tmp_path, word), root / "boot.img")
        opts = ["-b", "boot.img"]
    else:
        (root / "boot.img").write_bytes(boot_sector(tmp_path, word) + bytes(2048 - 512))
        opts = ["-b", "boot.img", "-no-emul-boot", "-boot-load-size", "4"]
    iso = tmp_path / f"{word}{'-fe' if floppy_emulation else ''}.iso"
    subprocess.run(["xorriso", "-as", "mkisofs", "-quiet", "-o", iso, *opts, root], check=True,
                   capture_output=True)
    return iso


# A stand-in for a Linux bzImage (boot protocol 2.12, Documentation/arch/x86/boot.rst): its
# real-mode setup prints "KERNEL:" and the command line (at cmd_line_ptr, 0x20000) on COM1
# and powers off, so a test can see the firmware's kernel loader at work without Linux.
FAKE_BZIMAGE = r"""
    .code16
    .globl _start
_start:
    .org 0x1f1
    .byte 1                 /* setup_sects */
    .org 0x1fe
    .word 0xaa55
    jmp setup               /* 0x200 */
    .ascii "HdrS"           /* 0x202 */
    .word 0x020c            /* version */
    .org 0x211
    .byte 0x01              /* loadflags: LOADED_HIGH */
    .org 0x22c
    .long 0x7fffffff        /* initrd_addr_max */
    .org 0x238
    .long 2048              /* cmdline_size */
    .org 0x280
setup:
    movw %cs, %ax
    subw $0x20, %ax
    movw %ax, %ds
    movw $msg, %si
    call print
    movl %ds:0x228, %eax    /* cmd_line_ptr */
    shrl $4, %eax
    movw %ax, %ds
    xorw %si, %si
    call print
    movw $0x0a0d, %ax
    call putc
    movb %ah, %al
    call putc
    movl $0x80000b40, %eax  /* ACPI S5 as in BOOT_SECTOR */
    movw $0xcf8, %dx
    outl %eax, %dx
    movw $0xcfc, %dx
    inl %dx, %eax
    andw $0xffc0, %ax
    addw $4, %ax
    movw %ax, %dx
    movw $0x2000, %ax
    outw %ax, %dx
1:  hlt
    jmp 1b
print:
    lodsb
    testb %al, %al
    jz 2f
    call putc
    jmp print
2:  ret
putc:                       /* %al to COM1, %ah kept */
    movb %al, %bl
    movw $0x3fd, %dx
3:  inb %dx, %al
    testb $0x20, %al
    jz 3b
    movb %bl, %al
    movw $0x3f8, %dx
    outb %al, %dx
    ret
msg:
    .asciz "\r\nKERNEL:"
    .org 0x400
    .fill 512, 1, 0         /* the protected-mode part */
"""


def fake_bzimage(tmp_path: pathlib.Path) -> pathlib.Path:
    """The FAKE_BZIMAGE stand-in, assembled."""
    src, obj, out = tmp_path / "fake.S", tmp_path / "fake.o", tmp_path / "fake-bzImage"
    src.write_text(FAKE_BZIMAGE)
    subprocess.run(["as", "--32", "-o", obj, src], check=True, capture_output=True)
    subprocess.run(["ld", "-m", "elf_i386", "-Ttext", "0", "--oformat", "binary", "-o", out,
                    obj], check=True, capture_output=True)
    assert out.stat().st_size == 0x600
    return out


# A boot sector that writes through the VGA BIOS (INT 10h): text mode 3, the cursor hidden, at
# row 10 column 20 (@WORD@) in teletype output, then "READY" on COM1 with `out` (so a test knows
# the screen is drawn) and halts with the text on the screen.
INT10_SECTOR = r"""
    .code16
    .globl _start
_start:
    cli
    xorw %ax, %ax
    movw %ax, %ds
    movw $0x0003, %ax       /* set mode 3, 80x25 text */
    int $0x10
    movw $0x0100, %ax       /* cursor shape: hidden */
    movw $0x2000, %cx
    int $0x10
    movw $0x0200, %ax       /* cursor to row 10, column 20, page 0 */
    xorw %bx, %bx
    movw $0x0a14, %dx
    int $0x10
    movw $msg, %si
1:  lodsb
    testb %al, %al
    jz 2f
    movb $0x0e, %ah         /* teletype output */
    movw $0x0007, %bx
    int $0x10
    jmp 1b
2:  movw $ready, %si
3:  lodsb
    testb %al, %al
    jz halt
    movb %al, %ah
    movw $0x3fd, %dx
4:  inb %dx, %al
    testb $0x20, %al
    jz 4b
    movb %ah, %al
    movw $0x3f8, %dx
    outb %al, %dx
    jmp 3b
halt:
    hlt
    jmp halt
msg:
    .asciz "@WORD@"
ready:
    .asciz "\r\nREADY\r\n"
    .org 510
    .word 0xaa55
"""


# Mode 13h through INT 10h, then pixel (x, y) = (x + y) & 0xff written at 0xa000:(320 y + x)
# (the default palette's 256 colours), then "READY" on COM1 as INT10_SECTOR does.
MODE13_SECTOR = INT10_SECTOR.replace(r"""    movw $0x0100, %ax       /* cursor shape: hidden */
    movw $0x2000, %cx
    int $0x10
    movw $0x0200, %ax       /* cursor to row 10, column 20, page 0 */
    xorw %bx, %bx
    movw $0x0a14, %dx
    int $0x10
    movw $msg, %si
1:  lodsb
    testb %al, %al
    jz 2f
    movb $0x0e, %ah         /* teletype output */
    movw $0x0007, %bx
    int $0x10
    jmp 1b
2:""", r"""    movw $0xa000, %ax
    movw %ax, %es
    xorw %di, %di
    xorw %dx, %dx           /* y */
5:  xorw %cx, %cx           /* x */
6:  movw %cx, %ax
    addw %dx, %ax
    stosb
    incw %cx
    cmpw $320, %cx
    jb 6b
    incw %dx
    cmpw $200, %dx
    jb 5b
""").replace("movw $0x0003, %ax       /* set mode 3, 80x25 text */",
             "movw $0x0013, %ax       /* set mode 13h, 320x200x256 */")


def int10_disk_image(tmp_path: pathlib.Path, word: str, sector: str = INT10_SECTOR
                     ) -> pathlib.Path:
    """A 1 MiB raw disk whose boot sector writes (word) on the screen through INT 10h (or runs
    (sector), MODE13_SECTOR)."""
    src = tmp_path / f"{word}-int10.S"
    src.write_text(sector.replace("@WORD@", word))
    obj, binf = tmp_path / f"{word}-int10.o", tmp_path / f"{word}-int10.bin"
    subprocess.run(["as", "--32", "-o", obj, src], check=True, capture_output=True)
    subprocess.run(["ld", "-m", "elf_i386", "-Ttext", "0x7c00", "--oformat", "binary", "-o",
                    binf, obj], check=True, capture_output=True)
    sector = binf.read_bytes()
    assert len(sector) == 512 and sector[510:] == b"\x55\xaa"
    img = tmp_path / f"{word}-int10.img"
    img.write_bytes(sector + bytes((1 << 20) - 512))
    return img


# A boot sector that keeps reading the boot drive through INT 13h (extended read, AH=42h) and
# counting: each round reads @COUNT@ sectors of @SIZE@ bytes from LBA @LBA@ into 0x8000 and
# checks that each starts with "\x01CD00" (the ISO 9660 volume descriptors at LBA 16 of a CD;
# counter_disk_image writes them on a disk), then every 16 rounds prints "C" and the round
# count in hex on COM1. A failed read or check prints "FAIL" and halts. A byte received on
# COM1 powers it off through ACPI S5 (as BOOT_SECTOR does); until then a save/restore test sees
# the count go on across the restore.
COUNTER_SECTOR = r"""
    .code16
    .globl _start
_start:
    cli
    xorw %ax, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    movw $0x7c00, %sp
    movb %dl, drive
    sti
round:
    movw $dap, %si
    movw $@COUNT@, 2(%si)
    movw $0x8000, 4(%si)
    movw $0, 6(%si)
    movl $@LBA@, 8(%si)
    movl $0, 12(%si)
    movb drive, %dl
    movb $0x42, %ah
    int $0x13
    jc fail
    movw $0x8000, %bx
    movw $@COUNT@, %cx
check:
    cmpl $0x30304443, 1(%bx)
    jne fail
    addw $@SIZE@, %bx
    loop check
    movw $0x3fd, %dx
    inb %dx, %al
    testb $1, %al
    jnz poweroff
    incw count
    testw $15, count
    jnz round
    movb $'C', %al
    call putc
    movw count, %bx
    movw $4, %cx
hex:
    rolw $4, %bx
    movb %bl, %al
    andb $15, %al
    addb $'0', %al
    cmpb $'9', %al
    jbe 1f
    addb $7, %al
1:  call putc
    loop hex
    movb $13, %al
    call putc
    movb $10, %al
    call putc
    jmp round
poweroff:
    movl $0x80000b40, %eax  /* ACPI S5 at the PIIX4's PMBA, as in BOOT_SECTOR */
    movw $0xcf8, %dx
    outl %eax, %dx
    movw $0xcfc, %dx
    inl %dx, %eax
    andw $0xffc0, %ax
    addw $4, %ax
    movw %ax, %dx
    movw $0x2000, %ax
    outw %ax, %dx
    jmp halt
fail:
    movw $failmsg, %si
2:  lodsb
    testb %al, %al
    jz halt
    call putc
    jmp 2b
halt:
    cli
    hlt
    jmp halt
putc:
    movb %al, %ah
    movw $0x3fd, %dx
3:  inb %dx, %al
    testb $0x20, %al
    jz 3b
    movb %ah, %al
    movw $0x3f8, %dx
    outb %al, %dx
    ret
drive:
    .byte 0
count:
    .word 0
    .p2align 2
dap:
    .byte 16, 0
    .word 0, 0, 0
    .long 0, 0
failmsg:
    .asciz "\r\nFAIL\r\n"
    .org 510
    .word 0xaa55
"""


def counter_sector(tmp_path: pathlib.Path, lba: int, count: int, size: int) -> bytes:
    """COUNTER_SECTOR reading (count) sectors of (size) bytes at (lba), assembled."""
    src = tmp_path / "counter.S"
    src.write_text(COUNTER_SECTOR.replace("@LBA@", str(lba)).replace("@COUNT@", str(count))
                   .replace("@SIZE@", str(size)))
    obj, binf = tmp_path / "counter.o", tmp_path / "counter.bin"
    subprocess.run(["as", "--32", "-o", obj, src], check=True, capture_output=True)
    subprocess.run(["ld", "-m", "elf_i386", "-Ttext", "0x7c00", "--oformat", "binary", "-o",
                    binf, obj], check=True, capture_output=True)
    sector = binf.read_bytes()
    assert len(sector) == 512 and sector[510:] == b"\x55\xaa"
    return sector


def counter_disk_image(tmp_path: pathlib.Path) -> pathlib.Path:
    """A 1 MiB raw disk booting COUNTER_SECTOR, which reads its sectors 1-8 (each starting with
    "\\x01CD001") over and over."""
    img = tmp_path / "counter.img"
    data = bytearray((1 << 20))
    data[:512] = counter_sector(tmp_path, 1, 8, 512)
    for s in range(1, 9):
        data[s * 512:s * 512 + 6] = b"\x01CD001"
    img.write_bytes(bytes(data))
    return img


def counter_iso_image(tmp_path: pathlib.Path) -> pathlib.Path:
    """An El Torito CD (no emulation) booting COUNTER_SECTOR, which reads its LBAs 16-18 (the
    primary volume descriptor, the boot record, the terminator: "\\x01CD001", "\\x00CD001",
    "\\xffCD001" each at offset 0, so the check at offset 1 holds) over and over."""
    if not shutil.which("xorriso"):
        import pytest
        pytest.skip("xorriso is not installed")
    root = tmp_path / "counter-iso"
    root.mkdir(exist_ok=True)
    (root / "boot.img").write_bytes(counter_sector(tmp_path, 16, 3, 2048) + bytes(2048 - 512))
    iso = tmp_path / "counter.iso"
    subprocess.run(["xorriso", "-as", "mkisofs", "-quiet", "-o", iso, "-b", "boot.img",
                    "-no-emul-boot", "-boot-load-size", "4", root], check=True,
                   capture_output=True)
    return iso

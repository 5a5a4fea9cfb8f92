/* SPDX-License-Identifier: MIT */
/*
 * Direct kernel boot: recognises a kernel image, loads it into guest memory and writes the boot
 * structures its entry protocol wants, so that no firmware has to run. Three formats:
 *   - bzImage (Documentation/arch/x86/boot.rst, protocol >= 2.12, 64-bit kernels only): the
 *     compressed payload is decompressed on the host (gzip, xz, lzma, zstd, lz4), the resulting
 *     ELF vmlinux is loaded at its physical addresses and entered at startup_64 in long mode,
 *     with a filled boot_params (zero page). The kernel never runs its own decompressor.
 *   - ELF (32 or 64-bit) with the PVH note XEN_ELFNOTE_PHYS32_ENTRY (xen/include/public/
 *     arch-x86/hvm/start_info.h): entered in 32-bit protected mode with an hvm_start_info.
 *   - Multiboot v1 (ELF32 or the a.out kludge, header in the first 8 KiB), as QEMU accepts it:
 *     entered in 32-bit protected mode with a multiboot_info.
 * Formats are recognised in QEMU's order: "HdrS" setup header, then a multiboot header, then
 * an ELF with the PVH note. Everything here works on a plain gmem, without /dev/kvm: a loader is
 * also a validator.
 *
 * Guest memory written (core/x86/layout.h): the zero page at BOOT_PARAMS_GPA (bzImage), the
 * command line at BOOT_CMDLINE_GPA, hvm_start_info / multiboot_info and their tables in
 * [BOOT_INFO_GPA, +64 KiB) (PVH, multiboot), the kernel at its own addresses (which must be
 * E820_RAM) and the initrd, page-aligned as high as possible in E820_RAM below 4 GiB (and below
 * the bzImage's initrd_addr_max). The boot GDT, IDT and page tables (regs_write_boot_tables)
 * are left alone.
 */
#ifndef BAREIRON_BOOT_BOOT_H
#define BAREIRON_BOOT_BOOT_H

#include <stddef.h>
#include <stdint.h>

#include "base/compiler.h"
#include "base/error.h"

struct gmem;
struct e820_map;

enum boot_format {
    BOOT_FORMAT_BZIMAGE,   /* -> BOOT_ENTRY_LINUX64 */
    BOOT_FORMAT_MULTIBOOT, /* -> BOOT_ENTRY_MULTIBOOT32 */
    BOOT_FORMAT_ELF_PVH,   /* -> BOOT_ENTRY_PVH32 */
};

/*
 * How the boot vCPU must be started (core/x86/regs.c does it). In every mode interrupts are
 * off (RFLAGS = 0x2), segments are flat 4 GiB (CS code, DS/ES/SS/FS/GS data) and A20 is on.
 *   BOOT_ENTRY_LINUX64:     long mode, paging on with the first 4 GiB identity mapped,
 *                           CS 64-bit code selector 0x10, data 0x18, RIP = entry_gpa,
 *                           RSI = info_gpa (boot_params), other GPRs 0.
 *   BOOT_ENTRY_PVH32:       32-bit protected mode, paging off (CR0 = PE|ET, CR4 = 0),
 *                           CS 0x10 / data 0x18, EIP = entry_gpa, EBX = info_gpa
 *                           (hvm_start_info), other GPRs 0.
 *   BOOT_ENTRY_MULTIBOOT32: 32-bit protected mode, paging off, EIP = entry_gpa,
 *                           EAX = boot_magic (0x2badb002), EBX = info_gpa (multiboot_info).
 */
enum boot_entry_mode {
    BOOT_ENTRY_LINUX64,
    BOOT_ENTRY_PVH32,
    BOOT_ENTRY_MULTIBOOT32,
};

struct boot_config {
    const char *kernel_path;
    const char *initrd_path; /* NULL: no initrd */
    const char *cmdline;     /* NULL: empty */
    /* the guest's memory map (core/x86/e820.h, e820_build_pc); the kernel and initrd must lie
     * in E820_RAM ranges of it that also exist in the gmem. Copied, never kept. */
    const struct e820_map *e820;
    uint64_t acpi_rsdp_gpa; /* 0: none (bzImage protocol >= 2.14 and PVH pass it on) */
};

struct boot_result {
    enum boot_format format;
    enum boot_entry_mode mode;
    uint64_t entry_gpa;        /* RIP/EIP */
    uint64_t info_gpa;         /* zero page, hvm_start_info or multiboot_info (RSI/EBX) */
    uint32_t boot_magic;       /* EAX for multiboot (0x2badb002), 0 otherwise */
    uint64_t kernel_start_gpa; /* lowest loaded byte */
    uint64_t kernel_end_gpa;   /* end (exclusive) of the kernel's footprint incl. bss/init_size */
    uint64_t initrd_gpa;       /* 0 when none */
    uint64_t initrd_size;
    uint64_t cmdline_gpa; /* BOOT_CMDLINE_GPA */
};

/*
 * Reads (cfg->kernel_path) and (cfg->initrd_path), recognises the kernel's format, loads it
 * into (gm) (which must already hold the RAM described by cfg->e820) together with the command
 * line, the initrd and the format's boot structures, and fills (out). Nothing needs KVM.
 * Returns 0; -ENOENT/-EACCES/... for unreadable files; -ENOEXEC for a file that is not a
 * supported kernel (unknown format, truncated, malformed, unsupported compression); -EINVAL
 * for an inconsistent configuration (command line too long for the kernel); -ENOSPC when the
 * kernel or initrd do not fit in RAM. (err) gets one line naming the file and the reason.
 */
MUST_CHECK int boot_load(struct gmem *gm, const struct boot_config *cfg, struct boot_result *out,
                         struct error *err);

/*
 * Like boot_load, with the kernel (and initrd, when initrd is non-NULL) already in memory;
 * cfg->kernel_path and cfg->initrd_path only name them in messages (may be NULL).
 * Used by boot_load, the tests and the fuzzers. Never keeps a pointer to the buffers.
 */
MUST_CHECK int boot_load_image(struct gmem *gm, const struct boot_config *cfg,
                               const uint8_t *kernel, size_t kernel_len, const uint8_t *initrd,
                               size_t initrd_len, struct boot_result *out, struct error *err);

/*
 * Validates (path) as a kernel without guest memory or KVM: reads it, recognises the format and
 * checks its headers (for a bzImage: the setup header and that the payload's compression is
 * supported; the payload itself is not decompressed). For `bareiron run` to fail with exit
 * status 6 before /dev/kvm is opened. Returns 0 and the format in (*fmt) (may be NULL), or
 * the errors of boot_load with a message in (err).
 */
MUST_CHECK int boot_probe(const char *path, enum boot_format *fmt, struct error *err);

/* Human name of a format / entry mode ("bzImage", "linux64"...), for logs. */
const char *boot_format_name(enum boot_format fmt);
const char *boot_entry_mode_name(enum boot_entry_mode mode);

#endif

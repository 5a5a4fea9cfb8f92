/* SPDX-License-Identifier: MIT */
/*
 * Boot CPU state for the three direct-boot entry modes, and the guest-side structures it needs:
 *  - Linux 64-bit (Documentation/arch/x86/boot.rst "64-bit Boot Protocol"): long mode, identity
 *    page tables for 0..4 GiB with 2 MiB pages at BOOT_PML4_GPA, GDT at BOOT_GDT_GPA with
 *    __BOOT_CS = 0x10 and __BOOT_DS = 0x18, rsi = boot_params, rip = the 64-bit entry;
 *  - PVH (xen/include/public/arch-x86/hvm/start_info.h, "PVH boot ABI"): 32-bit flat protected
 *    mode, paging off, ebx = hvm_start_info;
 *  - Multiboot v1 (Multiboot Specification 0.6.96 §3.2 "Machine state"): 32-bit flat protected
 *    mode, eax = 0x2BADB002, ebx = multiboot_info.
 * Also a guest page-table walker and a register dump for crash reports. All of it is pure
 * (gmem and struct kvm_regs/kvm_sregs), so it is unit-tested without /dev/kvm.
 */
#ifndef BAREIRON_CORE_X86_REGS_H
#define BAREIRON_CORE_X86_REGS_H

#include <stdint.h>
#include <stdio.h>

#include "base/compiler.h"

struct gmem;
struct kvm_regs;
struct kvm_sregs;
struct kvm_segment;

/* Mirrors boot/boot.h's enum boot_entry_mode (core may not include boot headers). */
enum regs_entry_mode {
    REGS_ENTRY_LINUX64,
    REGS_ENTRY_PVH32,
    REGS_ENTRY_MULTIBOOT32,
};

struct boot_cpu {
    enum regs_entry_mode mode;
    uint64_t entry_gpa; /* rip / eip */
    uint64_t arg_gpa;   /* boot_params (rsi), hvm_start_info or multiboot_info (ebx) */
};

/* GDT layout at BOOT_GDT_GPA. The boot code selector is always 0x10 (Linux __BOOT_CS): a
 * 64-bit code segment for REGS_ENTRY_LINUX64, a 32-bit one for the 32-bit entries. */
#define GDT_SEL_CODE32 0x08
#define GDT_SEL_CODE 0x10 /* Linux __BOOT_CS */
#define GDT_SEL_DATA 0x18 /* Linux __BOOT_DS */
#define GDT_SEL_TSS 0x20
#define GDT_ENTRIES 6 /* [5]: upper half of the TSS descriptor in long mode (SDM 3A 8.2.3) */
#define MULTIBOOT_BOOTLOADER_MAGIC 0x2BADB002U

/* Fills (gdt) with the boot GDT for (mode): null, code32, boot code (64-bit for
 * REGS_ENTRY_LINUX64, else 32-bit), data, TSS (all flat). */
void regs_build_gdt(enum regs_entry_mode mode, uint64_t gdt[GDT_ENTRIES]);
/* Unpacks GDT descriptor (desc) loaded with selector (sel) into KVM's segment form. */
void regs_gdt_to_segment(uint64_t desc, uint16_t sel, struct kvm_segment *out);

/*
 * Writes the boot GDT for (mode), an empty IDT and the identity page tables (0..4 GiB, 2 MiB
 * pages at BOOT_PML4_GPA/BOOT_PDPT_GPA/BOOT_PD_GPA) into guest memory. Returns 0 or -EFAULT
 * when low RAM does not cover them.
 */
MUST_CHECK int regs_write_boot_tables(struct gmem *gm, enum regs_entry_mode mode);

/*
 * Sets (r) and (s) (previously read with KVM_GET_SREGS, so APIC base and the like are kept)
 * to the boot state for (b). Does not touch guest memory (see regs_write_boot_tables).
 */
void regs_boot_state(const struct boot_cpu *b, struct kvm_regs *r, struct kvm_sregs *s);

/*
 * Translates linear address (lin) to a guest-physical address in (*gpa) by walking the guest's
 * page tables (4-/5-level long mode, PAE or 2-level 32-bit, per CR0.PG/CR4/EFER in (s)); with
 * paging off, gpa = lin. Returns 0, or -EFAULT when a table is not RAM or an entry is not
 * present.
 */
MUST_CHECK int regs_translate(const struct gmem *gm, const struct kvm_sregs *s, uint64_t lin,
                              uint64_t *gpa);

/* Prints GPRs, RIP, RFLAGS, CR0/2/3/4, EFER, segment selectors and (ncode) instruction bytes
 * (ncode 0: "unavailable") to (f). */
void regs_dump(FILE *f, const struct kvm_regs *r, const struct kvm_sregs *s, const uint8_t *code,
               size_t ncode);

#endif

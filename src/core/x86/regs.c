/* SPDX-License-Identifier: MIT */
/*
 * Implementation of core/x86/regs.h: boot GDT/page tables, entry CPU state
 * (Documentation/arch/x86/boot.rst §"64-bit Boot Protocol", PVH start_info.h, Multiboot 0.6.96
 * §3.2), the page walker (Intel SDM vol. 3A §4.3-4.5) and the crash register dump.
 */
#include "core/x86/regs.h"

#include <errno.h>
#include <linux/kvm.h>
#include <string.h>

#include "core/gmem.h"
#include "core/x86/layout.h"

#define CR0_PE (1ULL << 0)
#define CR0_ET (1ULL << 4)
#define CR0_PG (1ULL << 31)
#define CR4_PSE (1ULL << 4)
#define CR4_PAE (1ULL << 5)
#define CR4_LA57 (1ULL << 12)
#define EFER_LME (1ULL << 8)
#define EFER_LMA (1ULL << 10)
#define PTE_P 1ULL
#define PTE_RW 2ULL
#define PTE_PS (1ULL << 7)
#define PTE_ADDR 0x000ffffffffff000ULL

/* Packs a descriptor from (flags: G D/B L AVL in bits 12..15, P DPL S type in 0..7). */
static uint64_t gdt_entry(uint16_t flags, uint32_t base, uint32_t limit)
{
    return ((uint64_t)(base & 0xff000000U) << 32) | ((uint64_t)(flags & 0xf0ffU) << 40) |
           ((uint64_t)(limit & 0x000f0000U) << 32) | ((uint64_t)(base & 0x00ffffffU) << 16) |
           (uint64_t)(limit & 0x0000ffffU);
}

void regs_build_gdt(enum regs_entry_mode mode, uint64_t gdt[GDT_ENTRIES])
{
    gdt[0] = 0;
    gdt[GDT_SEL_CODE32 >> 3] = gdt_entry(0xc09b, 0, 0xfffff);
    gdt[GDT_SEL_CODE >> 3] =
        mode == REGS_ENTRY_LINUX64 ? gdt_entry(0xa09b, 0, 0xfffff) : gdt_entry(0xc09b, 0, 0xfffff);
    gdt[GDT_SEL_DATA >> 3] = gdt_entry(0xc093, 0, 0xfffff);
    gdt[GDT_SEL_TSS >> 3] = gdt_entry(0x008b, 0, 0x67);
    gdt[(GDT_SEL_TSS >> 3) + 1] = 0; /* base 63:32 of the 16-byte long-mode TSS descriptor */
}

/* The empty IDT must not overwrite the GDT's last entries (it once zeroed the TSS). */
_Static_assert(BOOT_GDT_GPA + GDT_ENTRIES * 8 <= BOOT_IDT_GPA, "boot GDT overlaps the IDT");
_Static_assert((GDT_SEL_TSS >> 3) + 2 <= GDT_ENTRIES, "no room for a 16-byte TSS descriptor");

void regs_gdt_to_segment(uint64_t desc, uint16_t sel, struct kvm_segment *out)
{
    uint32_t limit = (uint32_t)((desc & 0xffff) | ((desc >> 32) & 0xf0000));
    memset(out, 0, sizeof(*out));
    out->base = ((desc >> 16) & 0xffffff) | (((desc >> 56) & 0xff) << 24);
    out->g = (desc >> 55) & 1;
    out->limit = out->g ? (limit << 12) | 0xfff : limit;
    out->selector = sel;
    out->type = (desc >> 40) & 0xf;
    out->s = (desc >> 44) & 1;
    out->dpl = (desc >> 45) & 3;
    out->present = (desc >> 47) & 1;
    out->avl = (desc >> 52) & 1;
    out->l = (desc >> 53) & 1;
    out->db = (desc >> 54) & 1;
    out->unusable = !out->present;
}

static int write_u64(struct gmem *gm, uint64_t gpa, uint64_t v)
{
    return gmem_write(gm, gpa, &v, sizeof(v));
}

int regs_write_boot_tables(struct gmem *gm, enum regs_entry_mode mode)
{
    uint64_t gdt[GDT_ENTRIES];
    int ret;
    regs_build_gdt(mode, gdt);
    ret = gmem_write(gm, BOOT_GDT_GPA, gdt, sizeof(gdt));
    if (ret == 0)
        ret = write_u64(gm, BOOT_IDT_GPA, 0);
    if (ret == 0)
        ret = write_u64(gm, BOOT_PML4_GPA, BOOT_PDPT_GPA | PTE_P | PTE_RW);
    for (uint64_t i = 0; i < 4 && ret == 0; i++)
        ret = write_u64(gm, BOOT_PDPT_GPA + i * 8, (BOOT_PD_GPA + i * 0x1000) | PTE_P | PTE_RW);
    for (uint64_t i = 0; i < 4 * 512 && ret == 0; i++)
        ret = write_u64(gm, BOOT_PD_GPA + i * 8, (i << 21) | PTE_P | PTE_RW | PTE_PS);
    return ret;
}

static void load_segments(struct kvm_sregs *s, enum regs_entry_mode mode)
{
    uint64_t gdt[GDT_ENTRIES];
    regs_build_gdt(mode, gdt);
    regs_gdt_to_segment(gdt[GDT_SEL_CODE >> 3], GDT_SEL_CODE, &s->cs);
    regs_gdt_to_segment(gdt[GDT_SEL_DATA >> 3], GDT_SEL_DATA, &s->ds);
    s->es = s->fs = s->gs = s->ss = s->ds;
    regs_gdt_to_segment(gdt[GDT_SEL_TSS >> 3], GDT_SEL_TSS, &s->tr);
    s->gdt.base = BOOT_GDT_GPA;
    s->gdt.limit = sizeof(gdt) - 1;
    s->idt.base = BOOT_IDT_GPA;
    s->idt.limit = 7;
}

void regs_boot_state(const struct boot_cpu *b, struct kvm_regs *r, struct kvm_sregs *s)
{
    memset(r, 0, sizeof(*r));
    r->rflags = 0x2; /* bit 1 is reserved and reads as one; IF clear */
    r->rip = b->entry_gpa;
    s->cr0 = CR0_PE | CR0_ET;
    s->cr4 = 0;
    s->efer = 0;
    s->cr3 = 0;
    switch (b->mode) {
    case REGS_ENTRY_LINUX64:
        load_segments(s, b->mode);
        s->cr3 = BOOT_PML4_GPA;
        s->cr4 = CR4_PAE;
        s->cr0 |= CR0_PG;
        s->efer = EFER_LME | EFER_LMA;
        r->rsi = b->arg_gpa;
        r->rsp = r->rbp = BOOT_STACK_GPA;
        break;
    case REGS_ENTRY_PVH32:
        load_segments(s, b->mode);
        r->rbx = b->arg_gpa;
        break;
    case REGS_ENTRY_MULTIBOOT32:
        load_segments(s, b->mode);
        r->rax = MULTIBOOT_BOOTLOADER_MAGIC;
        r->rbx = b->arg_gpa;
        break;
    }
}

/* Reads the (width)-byte entry (4 or 8) at (table + idx * width). */
static int read_pte(const struct gmem *gm, uint64_t table, uint64_t idx, unsigned width,
                    uint64_t *pte)
{
    uint64_t v = 0;
    int ret = gmem_read(gm, table + idx * width, &v, width);
    *pte = v;
    if (ret == 0 && !(v & PTE_P))
        ret = -EFAULT;
    return ret;
}

/* 4-/5-level (long mode) and 3-level (PAE) walks share this loop over 9-bit indices. */
static int walk64(const struct gmem *gm, uint64_t table, int top_shift, uint64_t lin, uint64_t *gpa)
{
    for (int shift = top_shift; shift >= 12; shift -= 9) {
        uint64_t pte;
        uint64_t idx = (lin >> shift) & (shift == 30 && top_shift == 30 ? 3 : 511);
        int ret = read_pte(gm, table, idx, 8, &pte);
        if (ret < 0)
            return ret;
        if ((shift == 30 || shift == 21) && (pte & PTE_PS) && shift != top_shift) {
            uint64_t mask = (1ULL << shift) - 1;
            *gpa = (pte & PTE_ADDR & ~mask) | (lin & mask);
            return 0;
        }
        table = pte & PTE_ADDR;
    }
    *gpa = table | (lin & 0xfff);
    return 0;
}

static int walk32(const struct gmem *gm, const struct kvm_sregs *s, uint64_t lin, uint64_t *gpa)
{
    uint64_t pde, pte;
    int ret = read_pte(gm, s->cr3 & 0xfffff000U, (lin >> 22) & 0x3ff, 4, &pde);
    if (ret < 0)
        return ret;
    if ((pde & PTE_PS) && (s->cr4 & CR4_PSE)) {
        *gpa = (pde & 0xffc00000U) | (lin & 0x3fffff);
        return 0;
    }
    ret = read_pte(gm, pde & 0xfffff000U, (lin >> 12) & 0x3ff, 4, &pte);
    if (ret < 0)
        return ret;
    *gpa = (pte & 0xfffff000U) | (lin & 0xfff);
    return 0;
}

int regs_translate(const struct gmem *gm, const struct kvm_sregs *s, uint64_t lin, uint64_t *gpa)
{
    if (!(s->cr0 & CR0_PG)) {
        *gpa = (s->efer & EFER_LMA) ? lin : (lin & 0xffffffffU);
        return 0;
    }
    if (s->efer & EFER_LMA)
        return walk64(gm, s->cr3 & PTE_ADDR, (s->cr4 & CR4_LA57) ? 48 : 39, lin, gpa);
    if (s->cr4 & CR4_PAE)
        return walk64(gm, s->cr3 & 0xffffffe0U, 30, lin & 0xffffffffU, gpa);
    return walk32(gm, s, lin & 0xffffffffU, gpa);
}

void regs_dump(FILE *f, const struct kvm_regs *r, const struct kvm_sregs *s, const uint8_t *code,
               size_t ncode)
{
    fprintf(f,
            "rax=%016llx rbx=%016llx rcx=%016llx rdx=%016llx\n"
            "rsi=%016llx rdi=%016llx rbp=%016llx rsp=%016llx\n"
            "r8 =%016llx r9 =%016llx r10=%016llx r11=%016llx\n"
            "r12=%016llx r13=%016llx r14=%016llx r15=%016llx\n"
            "rip=%016llx rflags=%08llx\n",
            r->rax, r->rbx, r->rcx, r->rdx, r->rsi, r->rdi, r->rbp, r->rsp, r->r8, r->r9, r->r10,
            r->r11, r->r12, r->r13, r->r14, r->r15, r->rip, r->rflags);
    fprintf(f, "cr0=%08llx cr2=%016llx cr3=%016llx cr4=%08llx efer=%08llx\n", s->cr0, s->cr2,
            s->cr3, s->cr4, s->efer);
    fprintf(f, "cs=%04x(base %llx) ds=%04x es=%04x fs=%04x gs=%04x ss=%04x tr=%04x\n",
            s->cs.selector, s->cs.base, s->ds.selector, s->es.selector, s->fs.selector,
            s->gs.selector, s->ss.selector, s->tr.selector);
    fprintf(f, "code:");
    if (ncode == 0)
        fprintf(f, " unavailable");
    for (size_t i = 0; i < ncode; i++)
        fprintf(f, " %02x", code[i]);
    fprintf(f, "\n");
}

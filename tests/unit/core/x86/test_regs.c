/* SPDX-License-Identifier: MIT */
/* Unit tests for core/x86/regs.c and msr.c: GDT encoding, identity page tables (checked with
 * the page walker), the three boot entry states, the crash dump and the boot MSR list. */
#include <errno.h>
#include <linux/kvm.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/gmem.h"
#include "core/x86/layout.h"
#include "core/x86/msr.h"
#include "core/x86/regs.h"

static void test_gdt(void **state)
{
    uint64_t gdt[GDT_ENTRIES];
    struct kvm_segment seg;
    (void)state;
    regs_build_gdt(REGS_ENTRY_LINUX64, gdt);
    assert_int_equal(gdt[0], 0);
    /* The classic encodings (Firecracker/kvmtool use the same descriptors). */
    assert_true(gdt[GDT_SEL_CODE >> 3] == 0x00af9b000000ffffULL);
    assert_true(gdt[GDT_SEL_DATA >> 3] == 0x00cf93000000ffffULL);
    assert_true(gdt[GDT_SEL_CODE32 >> 3] == 0x00cf9b000000ffffULL);
    regs_gdt_to_segment(gdt[GDT_SEL_CODE >> 3], GDT_SEL_CODE, &seg);
    assert_int_equal(seg.base, 0);
    assert_int_equal(seg.limit, 0xffffffffU);
    assert_int_equal(seg.l, 1);
    assert_int_equal(seg.db, 0);
    assert_int_equal(seg.g, 1);
    assert_int_equal(seg.present, 1);
    assert_int_equal(seg.s, 1);
    assert_int_equal(seg.type, 0xb);
    assert_int_equal(seg.selector, 0x10);
    regs_gdt_to_segment(gdt[GDT_SEL_TSS >> 3], GDT_SEL_TSS, &seg);
    assert_int_equal(seg.limit, 0x67);
    assert_int_equal(seg.s, 0);
    assert_int_equal(seg.type, 0xb);
    regs_build_gdt(REGS_ENTRY_PVH32, gdt);
    regs_gdt_to_segment(gdt[GDT_SEL_CODE >> 3], GDT_SEL_CODE, &seg);
    assert_int_equal(seg.l, 0);
    assert_int_equal(seg.db, 1);
    regs_gdt_to_segment(0x00cf93000000ffffULL | (0x12ULL << 56) | (0x345678ULL << 16), 0x18, &seg);
    assert_true(seg.base == 0x12345678ULL);
}

static void test_page_tables_identity(void **state)
{
    struct gmem *gm;
    struct kvm_sregs s;
    struct kvm_regs r;
    struct boot_cpu b = {.mode = REGS_ENTRY_LINUX64, .entry_gpa = 0x1000000, .arg_gpa = 0x7000};
    uint64_t gpa;
    (void)state;
    assert_int_equal(gmem_create(&gm), 0);
    assert_int_equal(gmem_add_pc_ram(gm, 64ULL << 20), 0);
    assert_int_equal(regs_write_boot_tables(gm, REGS_ENTRY_LINUX64), 0);
    /* the GDT in guest memory is the whole built one: the IDT does not overlap its TSS entry */
    uint64_t want[GDT_ENTRIES], got[GDT_ENTRIES];
    regs_build_gdt(REGS_ENTRY_LINUX64, want);
    assert_int_equal(gmem_read(gm, BOOT_GDT_GPA, got, sizeof(got)), 0);
    assert_memory_equal(got, want, sizeof(want));
    memset(&s, 0, sizeof(s));
    regs_boot_state(&b, &r, &s);
    assert_true(s.cr3 == BOOT_PML4_GPA);
    const uint64_t probes[] = {0, 0x1234, 0x200000, 0x7fffffff, 0xfee00000, 0xffffffffULL};
    for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
        assert_int_equal(regs_translate(gm, &s, probes[i], &gpa), 0);
        assert_true(gpa == probes[i]);
    }
    /* Beyond 4 GiB nothing is mapped. */
    assert_int_equal(regs_translate(gm, &s, 0x100000000ULL, &gpa), -EFAULT);
    /* Paging off: linear == physical, truncated to 32 bits outside long mode. */
    s.cr0 = 1;
    s.efer = 0;
    assert_int_equal(regs_translate(gm, &s, 0x1234567890ULL, &gpa), 0);
    assert_true(gpa == 0x34567890ULL);
    gmem_destroy(gm);
}

static void test_translate_4k_and_32bit(void **state)
{
    struct gmem *gm;
    struct kvm_sregs s;
    uint64_t gpa, e;
    uint32_t e32;
    (void)state;
    assert_int_equal(gmem_create(&gm), 0);
    assert_int_equal(gmem_add_pc_ram(gm, 16ULL << 20), 0);
    /* long mode, 4 KiB page: 0xffff800000001000 -> 0x555000 */
    memset(&s, 0, sizeof(s));
    s.cr0 = 0x80000011;
    s.cr4 = 0x20;
    s.efer = 0x500;
    s.cr3 = 0x100000;
    e = 0x101003;
    assert_int_equal(gmem_write(gm, 0x100000 + 256 * 8, &e, 8), 0); /* PML4[256] */
    e = 0x102003;
    assert_int_equal(gmem_write(gm, 0x101000, &e, 8), 0); /* PDPT[0] */
    e = 0x103003;
    assert_int_equal(gmem_write(gm, 0x102000, &e, 8), 0); /* PD[0] */
    e = 0x555003;
    assert_int_equal(gmem_write(gm, 0x103000 + 8, &e, 8), 0); /* PT[1] */
    assert_int_equal(regs_translate(gm, &s, 0xffff800000001abcULL, &gpa), 0);
    assert_true(gpa == 0x555abc);
    assert_int_equal(regs_translate(gm, &s, 0xffff800000002000ULL, &gpa), -EFAULT);
    /* 32-bit paging with a 4 MiB page (PSE): 0xc0400123 -> 0x800123 */
    memset(&s, 0, sizeof(s));
    s.cr0 = 0x80000011;
    s.cr4 = 0x10;
    s.cr3 = 0x200000;
    e32 = 0x800083;
    assert_int_equal(gmem_write(gm, 0x200000 + (0xc0400123U >> 22) * 4, &e32, 4), 0);
    assert_int_equal(regs_translate(gm, &s, 0xc0400123U, &gpa), 0);
    assert_true(gpa == 0x800123);
    gmem_destroy(gm);
}

static void test_boot_states(void **state)
{
    struct kvm_regs r;
    struct kvm_sregs s;
    struct boot_cpu pvh = {.mode = REGS_ENTRY_PVH32, .entry_gpa = 0x1000000, .arg_gpa = 0x30000};
    struct boot_cpu mb = {
        .mode = REGS_ENTRY_MULTIBOOT32, .entry_gpa = 0x100010, .arg_gpa = 0x30000};
    struct boot_cpu lx = {.mode = REGS_ENTRY_LINUX64, .entry_gpa = 0x1000200, .arg_gpa = 0x7000};
    (void)state;
    memset(&s, 0xff, sizeof(s));
    s.apic_base = 0xfee00900;
    regs_boot_state(&pvh, &r, &s);
    assert_true(s.apic_base == 0xfee00900); /* untouched */
    assert_true(r.rip == 0x1000000 && r.rbx == 0x30000 && r.rflags == 2);
    assert_true(s.cr0 == 0x11 && s.cr4 == 0 && s.efer == 0);
    assert_int_equal(s.cs.selector, 0x10);
    assert_int_equal(s.cs.db, 1);
    assert_int_equal(s.ss.selector, 0x18);
    regs_boot_state(&mb, &r, &s);
    assert_true(r.rax == 0x2badb002 && r.rbx == 0x30000 && r.rip == 0x100010);
    regs_boot_state(&lx, &r, &s);
    assert_true(r.rsi == 0x7000 && r.rip == 0x1000200 && r.rbx == 0);
    assert_true((s.cr0 & 0x80000001) == 0x80000001);
    assert_true(s.cr4 & 0x20);
    assert_true(s.efer == 0x500);
    assert_int_equal(s.cs.l, 1);
    assert_int_equal(s.ds.selector, 0x18);
    assert_true(s.gdt.base == BOOT_GDT_GPA && s.gdt.limit == GDT_ENTRIES * 8 - 1);
}

static void test_dump(void **state)
{
    struct kvm_regs r;
    struct kvm_sregs s;
    const uint8_t code[] = {0x0f, 0x0b, 0xf4};
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    (void)state;
    memset(&r, 0, sizeof(r));
    memset(&s, 0, sizeof(s));
    r.rip = 0xdeadbeef;
    s.efer = 0x500;
    regs_dump(f, &r, &s, code, sizeof(code));
    regs_dump(f, &r, &s, NULL, 0);
    fclose(f);
    assert_non_null(strstr(buf, "rip=00000000deadbeef"));
    assert_non_null(strstr(buf, "efer=00000500"));
    assert_non_null(strstr(buf, "code: 0f 0b f4\n"));
    assert_non_null(strstr(buf, "code: unavailable\n"));
    free(buf);
}

static void test_boot_msrs(void **state)
{
    struct msr_value v[32];
    size_t n = msr_boot_values(v, 32);
    bool has_mtrr = false, has_misc = false;
    (void)state;
    assert_true(n > 2);
    for (size_t i = 0; i < n; i++) {
        if (v[i].index == MSR_MTRR_DEF_TYPE) {
            has_mtrr = true;
            assert_true(v[i].data == 0x806);
        }
        if (v[i].index == MSR_IA32_MISC_ENABLE) {
            has_misc = true;
            assert_true(v[i].data == (1 | (1 << 11) | (1 << 12)));
        }
    }
    assert_true(has_mtrr && has_misc);
    assert_int_equal(msr_boot_values(v, 1), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gdt),
        cmocka_unit_test(test_page_tables_identity),
        cmocka_unit_test(test_translate_4k_and_32bit),
        cmocka_unit_test(test_boot_states),
        cmocka_unit_test(test_dump),
        cmocka_unit_test(test_boot_msrs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

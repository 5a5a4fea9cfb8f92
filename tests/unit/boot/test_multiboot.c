/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for boot/multiboot.c over a real gmem (no KVM): multiboot v1 ELF32 kernels and
 * the a.out kludge, the multiboot_info they get (Multiboot Specification 0.6.96 §3.3), and
 * headers that must be refused (checksum, unsupported flags, 64-bit ELF, ranges outside the
 * file).
 */
#include <elf.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "boot/boot.h"
#include "core/gmem.h"
#include "core/x86/layout.h"
#include "fixtures.h"

#define MB_MAGIC 0x1badb002u
#define KBASE 0x100000u

static uint32_t rd32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}
static void put32(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, 4);
}

static void put_header(uint8_t *p, uint32_t flags)
{
    put32(p, MB_MAGIC);
    put32(p + 4, flags);
    put32(p + 8, (uint32_t)(0u - MB_MAGIC - flags));
}

/* An ELF32 multiboot kernel: one PT_LOAD at 1 MiB whose first bytes are the header. */
static uint8_t *mb_elf(bool is_64, size_t *len)
{
    struct fx_seg seg = {PT_LOAD, KBASE, KBASE, 0x2000, 0x3000, 0x90};
    uint8_t *k = fx_elf(is_64, KBASE + 0x20, &seg, 1, NULL, 0, len);
    size_t off =
        is_64 ? sizeof(Elf64_Ehdr) + sizeof(Elf64_Phdr) : sizeof(Elf32_Ehdr) + sizeof(Elf32_Phdr);
    put_header(k + off, 0x3);
    return k;
}

/* An a.out kludge image: 0x40 bytes of junk, header at 0x40, code after it. */
static uint8_t *mb_kludge(size_t *len)
{
    size_t n = 0x1000;
    uint8_t *k = calloc(1, n);
    memset(k, 0xcc, n);
    put_header(k + 0x40, 0x10003);
    put32(k + 0x4c, KBASE + 0x40);   /* header_addr */
    put32(k + 0x50, KBASE);          /* load_addr: file offset 0 */
    put32(k + 0x54, KBASE + 0x800);  /* load_end_addr */
    put32(k + 0x58, KBASE + 0x2000); /* bss_end_addr */
    put32(k + 0x5c, KBASE + 0x60);   /* entry_addr */
    *len = n;
    return k;
}

static void check_info(struct fx_machine *m, const struct boot_result *r, bool has_initrd)
{
    const uint8_t *mbi = gmem_ptr(m->gm, BOOT_INFO_GPA, 88);

    assert_int_equal(r->format, BOOT_FORMAT_MULTIBOOT);
    assert_int_equal(r->mode, BOOT_ENTRY_MULTIBOOT32);
    assert_int_equal(r->boot_magic, 0x2badb002);
    assert_int_equal(r->info_gpa, BOOT_INFO_GPA);
    uint32_t flags = rd32(mbi);
    assert_true(flags & 1);         /* mem_lower/upper */
    assert_true(flags & (1u << 2)); /* cmdline */
    assert_true(flags & (1u << 6)); /* mmap */
    assert_true(flags & (1u << 9)); /* loader name */
    assert_int_equal(!!(flags & (1u << 3)), has_initrd);
    assert_int_equal(rd32(mbi + 4), 639);
    assert_int_equal(rd32(mbi + 8), (64u << 10) - 1024);
    assert_string_equal((const char *)gmem_ptr(m->gm, rd32(mbi + 16), 14), "console=ttyS0");
    assert_int_equal(rd32(mbi + 44), 24 * m->map.n);
    const uint8_t *mm = gmem_ptr(m->gm, rd32(mbi + 48), 24 * m->map.n);
    for (unsigned i = 0; i < m->map.n; i++) {
        assert_int_equal(rd32(mm + 24 * i), 20);
        assert_memory_equal(mm + 24 * i + 4, &m->map.entries[i], 20);
    }
    assert_string_equal((const char *)gmem_ptr(m->gm, rd32(mbi + 64), 9), "bareiron");
    if (has_initrd) {
        assert_int_equal(rd32(mbi + 20), 1);
        const uint8_t *mod = gmem_ptr(m->gm, rd32(mbi + 24), 16);
        assert_int_equal(rd32(mod), r->initrd_gpa);
        assert_int_equal(rd32(mod + 4), r->initrd_gpa + 5);
        assert_memory_equal(gmem_ptr(m->gm, rd32(mod), 5), "MODUL", 5);
        assert_int_equal(rd32(mod) % 4096, 0);
    }
}

static void test_elf32(void **state)
{
    struct fx_machine m;
    struct boot_result r;
    size_t len;
    (void)state;
    uint8_t *k = mb_elf(false, &len);

    fx_machine_init(&m, 64);
    assert_int_equal(fx_load(&m, k, len, NULL, 0, &r), 0);
    check_info(&m, &r, false);
    assert_int_equal(r.entry_gpa, KBASE + 0x20);
    assert_int_equal(r.kernel_start_gpa, KBASE);
    assert_int_equal(r.kernel_end_gpa, KBASE + 0x3000);
    assert_int_equal(fx_load(&m, k, len, (const uint8_t *)"MODULE", 5, &r), 0);
    check_info(&m, &r, true);
    fx_machine_fini(&m);
    free(k);
}

static void test_kludge(void **state)
{
    struct fx_machine m;
    struct boot_result r;
    size_t len;
    (void)state;
    uint8_t *k = mb_kludge(&len);

    fx_machine_init(&m, 64);
    int rc = fx_load(&m, k, len, (const uint8_t *)"MODULE", 5, &r);
    if (rc != 0)
        fail_msg("%s", m.err.message);
    check_info(&m, &r, true);
    assert_int_equal(r.entry_gpa, KBASE + 0x60);
    assert_int_equal(r.kernel_end_gpa, KBASE + 0x2000);
    const uint8_t *mem = gmem_ptr(m.gm, KBASE, 0x2000);
    assert_memory_equal(mem, k, 0x800);
    assert_int_equal(mem[0x800], 0); /* bss */
    assert_int_equal(mem[0x1fff], 0);
    fx_machine_fini(&m);
    free(k);
}

static void test_bad(void **state)
{
    size_t len;
    (void)state;

    uint8_t *k = mb_elf(false, &len);
    size_t off = sizeof(Elf32_Ehdr) + sizeof(Elf32_Phdr);
    k[off + 8] ^= 1; /* checksum */
    fx_expect_refused(k, len, -ENOEXEC, "checksum");
    put_header(k + off, 0x3 | 0x8); /* required flag bit 3 unknown */
    fx_expect_refused(k, len, -ENOEXEC, "unknown required flag");
    free(k);

    k = mb_elf(true, &len);
    fx_expect_refused(k, len, -ENOEXEC, "ELF64 multiboot");
    free(k);

    k = mb_kludge(&len);
    uint8_t *bad = malloc(len);
    assert_non_null(bad);
    memcpy(bad, k, len);
    put32(bad + 0x54, KBASE + 0x100000); /* load_end past the file */
    fx_expect_refused(bad, len, -ENOEXEC, "load_end past EOF");
    memcpy(bad, k, len);
    put32(bad + 0x4c, KBASE + 0x10000); /* header_addr - load_addr > header offset */
    fx_expect_refused(bad, len, -ENOEXEC, "header_addr");
    memcpy(bad, k, len);
    put32(bad + 0x58, KBASE + 0x10); /* bss_end < load_end */
    fx_expect_refused(bad, len, -ENOEXEC, "bss_end");
    memcpy(bad, k, len);
    put32(bad + 0x5c, KBASE + 0x3000); /* entry outside */
    fx_expect_refused(bad, len, -ENOEXEC, "entry");
    memcpy(bad, k, len);
    put32(bad + 0x4c, ACPI_GPA + 0x40); /* over the ACPI tables */
    put32(bad + 0x50, ACPI_GPA);
    put32(bad + 0x54, ACPI_GPA + 0x800);
    put32(bad + 0x58, 0);
    put32(bad + 0x5c, ACPI_GPA + 0x60);
    fx_expect_refused(bad, len, -ENOEXEC, "over ACPI");
    memcpy(bad, k, len);
    put32(bad + 0x58, 0xfff00000); /* bss to near 4 GiB: beyond RAM */
    fx_expect_refused(bad, len, -ENOSPC, "beyond RAM");
    memcpy(bad, k, len);
    put32(bad + 0x54, 0);            /* load_end 0: the whole file (0x1000 bytes)... */
    put32(bad + 0x58, KBASE + 0x80); /* ...but bss_end inside it (fuzz_elf crasher) */
    fx_expect_refused(bad, len, -ENOEXEC, "bss_end inside a whole-file image");
    for (size_t n = 0x40; n < 0x60; n++)
        fx_expect_refused(k, n, -ENOEXEC, "truncated header");
    free(bad);
    free(k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_elf32),
        cmocka_unit_test(test_kludge),
        cmocka_unit_test(test_bad),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for boot/elf.c and boot/pvh.c over a real gmem (no KVM): ELF kernels with the PVH
 * note (4 and 8-byte descriptors, 32 and 64-bit files), the hvm_start_info they get, and
 * malformed ELF files and notes that must be refused cleanly.
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

#define PVH_NOTE 18
#define KBASE 0x200000ull

static uint64_t rd64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}
static uint32_t rd32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* A PVH kernel: PT_LOAD at 2 MiB (filesz 0x3000, memsz 0x5000) and the PVH note. */
static uint8_t *pvh_kernel(bool is_64, const void *desc, uint32_t desc_len, size_t *len)
{
    size_t nl;
    uint8_t *note = fx_note("Xen", PVH_NOTE, desc, desc_len, &nl);
    struct fx_seg segs[] = {
        {PT_NOTE, 0, 0, 0, 0, 0},
        {PT_LOAD, KBASE, 0xffffffff80000000ull + KBASE, 0x3000, 0x5000, 0x77},
    };
    uint8_t *k = fx_elf(is_64, 0xffffffff80000000ull + KBASE, segs, 2, note, nl, len);
    free(note);
    return k;
}

static void test_pvh_ok(void **state)
{
    uint64_t entry64 = KBASE + 0x40;
    uint32_t entry32 = KBASE + 0x80;
    (void)state;

    for (int variant = 0; variant < 3; variant++) {
        struct fx_machine m;
        struct boot_result r;
        size_t len;
        bool is_64 = variant != 2;
        uint8_t *k = variant == 0 ? pvh_kernel(is_64, &entry64, 8, &len)
                                  : pvh_kernel(is_64, &entry32, 4, &len);
        fx_machine_init(&m, 64);
        int rc = fx_load(&m, k, len, (const uint8_t *)"RAMDISK", 7, &r);
        if (rc != 0)
            fail_msg("variant %d: %s", variant, m.err.message);
        assert_int_equal(r.format, BOOT_FORMAT_ELF_PVH);
        assert_int_equal(r.mode, BOOT_ENTRY_PVH32);
        assert_int_equal(r.entry_gpa, variant == 0 ? entry64 : entry32);
        assert_int_equal(r.info_gpa, BOOT_INFO_GPA);
        assert_int_equal(r.kernel_start_gpa, KBASE);
        assert_int_equal(r.kernel_end_gpa, KBASE + 0x5000);
        const uint8_t *kmem = gmem_ptr(m.gm, KBASE, 0x5000);
        assert_int_equal(kmem[0x2fff], 0x77);
        assert_int_equal(kmem[0x3000], 0);

        const uint8_t *si = gmem_ptr(m.gm, BOOT_INFO_GPA, 56);
        assert_int_equal(rd32(si), 0x336ec578);
        assert_int_equal(rd32(si + 4), 1);
        assert_int_equal(rd32(si + 12), 1); /* nr_modules */
        assert_int_equal(rd64(si + 24), BOOT_CMDLINE_GPA);
        assert_int_equal(rd64(si + 32), 0xe0000);
        assert_int_equal(rd32(si + 48), m.map.n);
        const uint8_t *mod = gmem_ptr(m.gm, rd64(si + 16), 32);
        assert_int_equal(rd64(mod), r.initrd_gpa);
        assert_int_equal(rd64(mod + 8), 7);
        assert_memory_equal(gmem_ptr(m.gm, r.initrd_gpa, 7), "RAMDISK", 7);
        const uint8_t *mm = gmem_ptr(m.gm, rd64(si + 40), 24 * m.map.n);
        for (unsigned i = 0; i < m.map.n; i++) {
            assert_int_equal(rd64(mm + 24 * i), m.map.entries[i].addr);
            assert_int_equal(rd64(mm + 24 * i + 8), m.map.entries[i].size);
            assert_int_equal(rd32(mm + 24 * i + 16), m.map.entries[i].type);
        }
        assert_string_equal((const char *)gmem_ptr(m.gm, BOOT_CMDLINE_GPA, 14), "console=ttyS0");
        fx_machine_fini(&m);
        free(k);
    }
}

static void test_pvh_bad_notes(void **state)
{
    uint64_t entry = KBASE + 0x40, far = 0x100000000ull;
    uint16_t small = 1;
    size_t len;
    (void)state;

    uint8_t *k = pvh_kernel(true, &small, 2, &len);
    fx_expect_refused(k, len, -ENOEXEC, "2-byte desc");
    free(k);
    k = pvh_kernel(true, &far, 8, &len);
    fx_expect_refused(k, len, -ENOEXEC, "entry above 4 GiB");
    free(k);
    entry = 0x900000; /* outside the kernel */
    k = pvh_kernel(true, &entry, 8, &len);
    fx_expect_refused(k, len, -ENOEXEC, "entry outside");
    free(k);

    /* note with a huge namesz / descsz */
    entry = KBASE + 0x40;
    k = pvh_kernel(true, &entry, 8, &len);
    size_t note_off = sizeof(Elf64_Ehdr) + 2 * sizeof(Elf64_Phdr);
    static uint8_t bad[16384];
    assert_true(len <= sizeof(bad) && len > note_off + 12);
    memcpy(bad, k, len);
    memset(bad + note_off, 0xff, 4);
    fx_expect_refused(bad, len, -ENOEXEC, "namesz huge");
    memcpy(bad, k, len);
    memset(bad + note_off + 4, 0xff, 4);
    fx_expect_refused(bad, len, -ENOEXEC, "descsz huge");
    memcpy(bad, k, len);
    bad[note_off + 8] = 17; /* another note type: no PVH entry */
    fx_expect_refused(bad, len, -ENOEXEC, "no PVH note");
    /* note segment past the end of the file */
    memcpy(bad, k, len);
    Elf64_Phdr ph;
    memcpy(&ph, bad + sizeof(Elf64_Ehdr), sizeof(ph));
    ph.p_offset = len - 4;
    memcpy(bad + sizeof(Elf64_Ehdr), &ph, sizeof(ph));
    fx_expect_refused(bad, len, -ENOEXEC, "note outside file");
    free(k);
}

/* Corrupts the ELF header / program headers of a good PVH kernel. */
static void test_elf_malformed(void **state)
{
    uint64_t entry = KBASE + 0x40;
    size_t len;
    Elf64_Ehdr eh;
    Elf64_Phdr ph;
    (void)state;
    uint8_t *k = pvh_kernel(true, &entry, 8, &len);
    uint8_t *bad = malloc(len);
    assert_non_null(bad);
    size_t load_ph = sizeof(Elf64_Ehdr) + sizeof(Elf64_Phdr);

#define MUTATE_EH(stmt, what)                                                                      \
    do {                                                                                           \
        memcpy(bad, k, len);                                                                       \
        memcpy(&eh, bad, sizeof(eh));                                                              \
        stmt;                                                                                      \
        memcpy(bad, &eh, sizeof(eh));                                                              \
        fx_expect_refused(bad, len, -ENOEXEC, what);                                               \
    } while (0)
#define MUTATE_PH(stmt, want, what)                                                                \
    do {                                                                                           \
        memcpy(bad, k, len);                                                                       \
        memcpy(&ph, bad + load_ph, sizeof(ph));                                                    \
        stmt;                                                                                      \
        memcpy(bad + load_ph, &ph, sizeof(ph));                                                    \
        fx_expect_refused(bad, len, want, what);                                                   \
    } while (0)

    MUTATE_EH(eh.e_phoff = len - 10, "phdrs out of file");
    MUTATE_EH(eh.e_phoff = UINT64_MAX - 8, "phoff wraps");
    MUTATE_EH(eh.e_phnum = 0xfff0, "phnum huge");
    MUTATE_EH(eh.e_phnum = 0, "phnum 0");
    MUTATE_EH(eh.e_phentsize = 8, "phentsize small");
    MUTATE_EH(eh.e_machine = EM_AARCH64, "machine");
    MUTATE_EH(eh.e_type = ET_DYN, "type");
    MUTATE_EH(eh.e_ident[EI_DATA] = ELFDATA2MSB, "big endian");
    MUTATE_EH(eh.e_ident[EI_CLASS] = 7, "class");
    MUTATE_PH(ph.p_filesz = ph.p_memsz + 1, -ENOEXEC, "filesz > memsz");
    MUTATE_PH(ph.p_offset = len, -ENOEXEC, "segment past EOF");
    MUTATE_PH(ph.p_offset = UINT64_MAX, -ENOEXEC, "segment offset wraps");
    MUTATE_PH(ph.p_paddr = UINT64_MAX - 0x10, -ENOEXEC, "paddr wraps");
    MUTATE_PH(ph.p_paddr = 0x7fff000, -ENOSPC, "beyond RAM");
    MUTATE_PH(ph.p_paddr = BOOT_PARAMS_GPA, -ENOEXEC, "over the zero page");
    MUTATE_PH(ph.p_paddr = ACPI_GPA, -ENOEXEC, "over ACPI");
    MUTATE_PH(ph.p_memsz = 0x10000000000ull, -ENOSPC, "memsz huge");
    for (size_t n = 0; n < len; n += 3)
        fx_expect_refused(k, n, -ENOEXEC, "truncated");
    free(bad);
    free(k);
}

static void test_not_a_kernel(void **state)
{
    static const uint8_t junk[600] = {'M', 'Z'};
    size_t len;
    struct fx_seg seg = {PT_LOAD, KBASE, KBASE, 0x100, 0x100, 1};
    (void)state;

    fx_expect_refused(junk, sizeof(junk), -ENOEXEC, "junk");
    fx_expect_refused(junk, 0, -ENOEXEC, "empty");
    /* an ELF without PVH note or multiboot header */
    uint8_t *k = fx_elf(true, KBASE, &seg, 1, NULL, 0, &len);
    fx_expect_refused(k, len, -ENOEXEC, "plain ELF");
    free(k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pvh_ok),
        cmocka_unit_test(test_pvh_bad_notes),
        cmocka_unit_test(test_elf_malformed),
        cmocka_unit_test(test_not_a_kernel),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

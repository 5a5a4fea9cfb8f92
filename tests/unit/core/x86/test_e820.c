/* SPDX-License-Identifier: MIT */
/* Unit tests for core/x86/e820.c: insertion rules and the PC map for several RAM sizes. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/gmem.h"
#include "core/x86/e820.h"
#include "core/x86/layout.h"

#define MIB (1ULL << 20)
#define GIB (1ULL << 30)

/* Returns the type of the entry containing [addr, addr+len), or 0 when none does. */
static uint32_t type_at(const struct e820_map *m, uint64_t addr, uint64_t len)
{
    for (unsigned i = 0; i < m->n; i++) {
        const struct e820_entry *e = &m->entries[i];
        if (addr >= e->addr && addr + len <= e->addr + e->size)
            return e->type;
    }
    return 0;
}

static void check_sorted(const struct e820_map *m)
{
    assert_true(m->n > 0);
    for (unsigned i = 0; i < m->n; i++) {
        assert_true(m->entries[i].size > 0);
        if (i > 0)
            assert_true(m->entries[i - 1].addr + m->entries[i - 1].size <= m->entries[i].addr);
    }
}

static void check_pc_map(uint64_t ram_bytes)
{
    uint64_t low = ram_bytes < LOW_RAM_MAX ? ram_bytes : LOW_RAM_MAX;
    uint64_t reserved_low = BOOT_AREA_END + (MIB - EBDA_GPA);
    struct e820_map m;
    struct gmem *gm;

    assert_int_equal(gmem_create(&gm), 0);
    assert_int_equal(gmem_add_pc_ram(gm, ram_bytes), 0);
    assert_int_equal(e820_build_pc(&m, gm), 0);
    check_sorted(&m);
    assert_int_equal(e820_ram_bytes(&m), ram_bytes - reserved_low);
    /* The boot structures are reserved, the ACPI area has the ACPI type. */
    assert_int_equal(type_at(&m, 0, BOOT_AREA_END), E820_RESERVED);
    assert_int_equal(type_at(&m, BOOT_GDT_GPA, 0x100), E820_RESERVED);
    assert_int_equal(type_at(&m, BOOT_PARAMS_GPA, 0x1000), E820_RESERVED);
    assert_int_equal(type_at(&m, BOOT_PML4_GPA, 0x6000), E820_RESERVED);
    assert_int_equal(type_at(&m, BOOT_CMDLINE_GPA, BOOT_CMDLINE_MAX), E820_RESERVED);
    assert_int_equal(type_at(&m, BOOT_INFO_GPA, 0x1000), E820_RESERVED);
    assert_int_equal(type_at(&m, BOOT_AREA_END, EBDA_GPA - BOOT_AREA_END), E820_RAM);
    assert_int_equal(type_at(&m, EBDA_GPA, 0x400), E820_RESERVED);
    assert_int_equal(type_at(&m, ACPI_GPA, MPTABLE_GPA - ACPI_GPA), E820_ACPI);
    assert_int_equal(type_at(&m, MPTABLE_GPA, MPTABLE_SIZE), E820_RESERVED);
    assert_int_equal(type_at(&m, KERNEL_DEFAULT_GPA, low - KERNEL_DEFAULT_GPA), E820_RAM);
    assert_int_equal(type_at(&m, PCI_ECAM_BASE, PCI_ECAM_SIZE), E820_RESERVED);
    assert_int_equal(type_at(&m, LOW_RAM_MAX, 1), 0); /* the PCI hole */
    if (ram_bytes > LOW_RAM_MAX)
        assert_int_equal(type_at(&m, HIGH_RAM_BASE, ram_bytes - LOW_RAM_MAX), E820_RAM);
    else
        assert_int_equal(type_at(&m, HIGH_RAM_BASE, 1), 0);
    gmem_destroy(gm);
}

static void test_pc_64m(void **state)
{
    (void)state;
    check_pc_map(64 * MIB);
}

static void test_pc_3g(void **state)
{
    (void)state;
    check_pc_map(3 * GIB);
}

static void test_pc_5g(void **state)
{
    struct e820_map m;
    struct gmem *gm;

    (void)state;
    check_pc_map(5 * GIB);
    assert_int_equal(gmem_create(&gm), 0);
    assert_int_equal(gmem_add_pc_ram(gm, 5 * GIB), 0);
    assert_int_equal(e820_build_pc(&m, gm), 0);
    /* reserved, RAM, reserved, ACPI, reserved (MP table), RAM, ECAM, high RAM */
    assert_int_equal(m.n, 8);
    assert_int_equal(m.entries[7].addr, HIGH_RAM_BASE);
    assert_int_equal(m.entries[7].size, 2 * GIB);
    gmem_destroy(gm);
}

static void test_pc_too_small(void **state)
{
    struct e820_map m;
    struct gmem *gm;

    (void)state;
    assert_int_equal(gmem_create(&gm), 0);
    assert_int_equal(gmem_add_pc_ram(gm, 1 * MIB), 0);
    assert_int_equal(e820_build_pc(&m, gm), -EINVAL);
    gmem_destroy(gm);
}

static void test_add_rules(void **state)
{
    struct e820_map m;

    (void)state;
    e820_init(&m);
    assert_int_equal(e820_add(&m, 0x1000, 0, E820_RAM), -EINVAL);
    assert_int_equal(e820_add(&m, UINT64_MAX, 2, E820_RAM), -EINVAL);
    assert_int_equal(e820_add(&m, 0x10000, 0x1000, E820_RAM), 0);
    assert_int_equal(e820_add(&m, 0x0, 0x1000, E820_RESERVED), 0);
    assert_int_equal(e820_add(&m, 0x10800, 0x1000, E820_RAM), -EEXIST);
    assert_int_equal(e820_add(&m, 0xf800, 0x1000, E820_RAM), -EEXIST);
    assert_int_equal(e820_add(&m, 0x0, 0x20000, E820_RAM), -EEXIST);
    assert_int_equal(m.n, 2);
    /* Adjacent ranges of the same type merge, on both sides. */
    assert_int_equal(e820_add(&m, 0x12000, 0x1000, E820_RAM), 0);
    assert_int_equal(m.n, 3);
    assert_int_equal(e820_add(&m, 0x11000, 0x1000, E820_RAM), 0);
    assert_int_equal(m.n, 2);
    assert_int_equal(m.entries[1].addr, 0x10000);
    assert_int_equal(m.entries[1].size, 0x3000);
    /* Different type: no merge. */
    assert_int_equal(e820_add(&m, 0x13000, 0x1000, E820_ACPI), 0);
    assert_int_equal(m.n, 3);
    assert_string_equal(e820_type_name(m.entries[2].type), "acpi");
    assert_string_equal(e820_type_name(99), "unknown");
    check_sorted(&m);
}

static void test_add_full(void **state)
{
    struct e820_map m;

    (void)state;
    e820_init(&m);
    for (unsigned i = 0; i < E820_MAX; i++)
        assert_int_equal(e820_add(&m, (uint64_t)i * 0x2000, 0x1000, E820_RAM), 0);
    assert_int_equal(e820_add(&m, 0x1000000, 0x1000, E820_RAM), -ENOSPC);
    check_sorted(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pc_64m),    cmocka_unit_test(test_pc_3g),
        cmocka_unit_test(test_pc_5g),     cmocka_unit_test(test_pc_too_small),
        cmocka_unit_test(test_add_rules), cmocka_unit_test(test_add_full),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

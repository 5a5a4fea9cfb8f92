/* SPDX-License-Identifier: MIT */
/* Unit tests for core/gmem.c: region layout and bounds-checked lookups. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/gmem.h"
#include "core/x86/layout.h"

static void test_pc_ram_and_ptr(void **state)
{
    struct gmem *gm;
    uint32_t v = 0x12345678, r = 0;
    (void)state;
    assert_int_equal(gmem_create(&gm), 0);
    assert_int_equal(gmem_add_pc_ram(gm, 64ULL << 20), 0);
    assert_int_equal(gm->nregions, 1);
    assert_non_null(gmem_ptr(gm, 0, 64ULL << 20));
    assert_null(gmem_ptr(gm, 0, (64ULL << 20) + 1));
    assert_null(gmem_ptr(gm, (64ULL << 20) - 1, 2));
    assert_null(gmem_ptr(gm, UINT64_MAX, 2));
    assert_null(gmem_ptr(gm, 64ULL << 20, 1));
    assert_int_equal(gmem_write(gm, 0x1000, &v, sizeof(v)), 0);
    assert_int_equal(gmem_read(gm, 0x1000, &r, sizeof(r)), 0);
    assert_int_equal(r, v);
    assert_int_equal(gmem_read(gm, (64ULL << 20) - 2, &r, sizeof(r)), -EFAULT);
    assert_int_equal(gmem_add_region(gm, 0x1000, 0x1000, "overlap", false, NULL), -EEXIST);
    assert_int_equal(gmem_add_region(gm, 0x1001, 0x1000, "unaligned", false, NULL), -EINVAL);
    assert_int_equal(gmem_low_ram_end(gm), 64ULL << 20);
    gmem_destroy(gm);
}

static void test_pc_ram_split(void **state)
{
    struct gmem *gm;
    (void)state;
    assert_int_equal(gmem_create(&gm), 0);
    assert_int_equal(gmem_add_pc_ram(gm, 4ULL << 30), 0);
    assert_int_equal(gm->nregions, 2);
    assert_int_equal(gmem_low_ram_end(gm), LOW_RAM_MAX);
    assert_non_null(gmem_ptr(gm, HIGH_RAM_BASE, 4096));
    assert_null(gmem_ptr(gm, LOW_RAM_MAX, 1));
    /* Access straddling the two regions is refused even though both sides are RAM. */
    assert_null(gmem_ptr(gm, LOW_RAM_MAX - 1, 2));
    assert_int_equal(gmem_add_pc_ram(gm, 12345), -EINVAL);
    gmem_destroy(gm);
}

/* The marks of a live save: nothing while not tracking, pages of a range (cut at the region's
 * end), nothing outside RAM or in a ROM; taken without clearing, then with. */
static void test_dirty_marks(void **state)
{
    struct gmem *gm;
    struct gmem_region *ram, *rom;
    uint64_t bm[2] = {0};
    (void)state;
    assert_int_equal(gmem_create(&gm), 0);
    assert_int_equal(gmem_add_region(gm, 0, 64 * 4096, "ram", false, &ram), 0);
    assert_int_equal(gmem_add_region(gm, 0x100000, 4096, "rom", true, &rom), 0);
    assert_int_equal(gmem_bitmap_words(ram), 1);
    gmem_mark_dirty(gm, 4096, 1); /* not tracking: ignored */
    assert_int_equal(gmem_track_start(gm), 0);
    assert_null(rom->dirty);
    gmem_take_dirty(ram, bm, true);
    assert_int_equal(bm[0], 0);
    gmem_mark_dirty(gm, 4096 + 10, 4096);           /* pages 1 and 2 */
    gmem_mark_dirty(gm, 63 * 4096 + 8, 1ULL << 40); /* cut at the end: page 63 */
    gmem_mark_dirty(gm, 0x100000, 16);              /* ROM */
    gmem_mark_dirty(gm, 0x200000, 16);              /* not RAM */
    gmem_mark_dirty(gm, 5 * 4096, 0);               /* empty */
    gmem_take_dirty(ram, bm, false);
    assert_int_equal(bm[0], (1ULL << 1) | (1ULL << 2) | (1ULL << 63));
    bm[0] = 0;
    gmem_take_dirty(ram, bm, true); /* still there, and now cleared */
    assert_int_equal(bm[0], (1ULL << 1) | (1ULL << 2) | (1ULL << 63));
    bm[0] = 0;
    gmem_take_dirty(ram, bm, true);
    assert_int_equal(bm[0], 0);
    gmem_track_stop(gm);
    assert_null(ram->dirty);
    gmem_mark_dirty(gm, 4096, 1);
    gmem_destroy(gm);
}

static void test_pc_ram_vga_hole(void **state)
{
    struct gmem *gm;
    (void)state;
    assert_int_equal(gmem_create(&gm), 0);
    assert_int_equal(gmem_add_pc_ram_vga(gm, 1ULL << 20, true), 0);
    assert_int_equal(gm->nregions, 2);
    assert_int_equal(gm->ram_bytes, 1ULL << 20);
    assert_int_equal(gmem_low_ram_end(gm), 1ULL << 20);
    assert_non_null(gmem_ptr(gm, 0, LEGACY_VGA_GPA));
    assert_null(gmem_find(gm, LEGACY_VGA_GPA));
    assert_null(gmem_find(gm, LEGACY_VGA_END - 1));
    assert_null(gmem_ptr(gm, LEGACY_VGA_GPA - 1, 2));
    assert_non_null(gmem_ptr(gm, LEGACY_VGA_END, (1ULL << 20) - LEGACY_VGA_END));
    gmem_destroy(gm);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pc_ram_and_ptr),
        cmocka_unit_test(test_pc_ram_split),
        cmocka_unit_test(test_dirty_marks),
        cmocka_unit_test(test_pc_ram_vga_hole),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: MIT */
/* Unit tests for dev/display/vga_state.c: a saved adapter loaded into a fresh one saves to the
 * same bytes and shows the same mode; sections of another video memory size, truncated ones,
 * out-of-range pages, indices or banks are refused. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/statefile.h"
#include "dev/display/vga.h"
#include "vga_test_util.h"

#define MIB (1ULL << 20)

/* An adapter with registers, DAC entries, planar memory and a dispi mode with pixels. */
static struct vga *busy_vga(void)
{
    struct vga *v = vt_create(2 * MIB);
    vt_reg(v, 0x3c4, 2, 0x0f);    /* map mask */
    vt_reg(v, 0x3d4, 0x0e, 0x12); /* cursor location */
    vt_out(v, 0x3c8, 5);          /* DAC entry 5 */
    vt_out(v, 0x3c9, 0x3f);
    vt_out(v, 0x3c9, 0x20);
    vt_out(v, 0x3c9, 0x01);
    vt_mem_write(v, 0xa0010, 0x5a);
    vt_set_mode(v, 640, 480, 32);
    memset(vga_vram(v) + 4096 * 3, 0xc3, 4096);
    vt_dispi(v, 5, 3); /* bank */
    return v;
}

static void t_round_trip(void **state)
{
    struct vga *a = busy_vga(), *b = vt_create(2 * MIB);
    struct sf_buf s1 = {0}, s2 = {0};
    struct sf_in in;
    unsigned w, h, bpp;
    (void)state;
    vga_save_state(a, &s1);
    assert_false(s1.failed);
    assert_true(s1.len < 4 * 4096 + 2048); /* only the non-zero pages */
    sf_in_init(&in, s1.data, s1.len);
    assert_int_equal(vga_load_state(b, &in), 0);
    vga_save_state(b, &s2);
    assert_int_equal(s1.len, s2.len);
    assert_memory_equal(s1.data, s2.data, s1.len);
    assert_memory_equal(vga_vram(a), vga_vram(b), 2 * MIB);
    assert_string_equal(vga_mode_name(b, &w, &h, &bpp), "vbe");
    assert_int_equal(w, 640);
    assert_int_equal(bpp, 32);
    assert_int_equal(vt_dispi_read(b, 5), 3);
    sf_buf_free(&s1);
    sf_buf_free(&s2);
    vga_destroy(a);
    vga_destroy(b);
}

static int load_bytes(struct vga *v, const uint8_t *p, size_t len)
{
    struct sf_in in;
    sf_in_init(&in, p, len);
    return vga_load_state(v, &in);
}

static void t_refused(void **state)
{
    struct vga *a = busy_vga(), *other = vt_create(4 * MIB), *b = vt_create(2 * MIB);
    struct sf_buf s = {0};
    uint8_t *copy;
    (void)state;
    vga_save_state(a, &s);
    copy = test_malloc(s.len);
    assert_int_equal(load_bytes(other, s.data, s.len), -EINVAL); /* another vram size */
    assert_int_equal(load_bytes(b, s.data, s.len - 1), -EINVAL); /* truncated */
    assert_int_equal(load_bytes(b, s.data, 20), -EINVAL);
    /* the seq index (byte 12: has_legacy, vram size, misc, feature, st01 before it) */
    memcpy(copy, s.data, s.len);
    copy[12] = 8;
    assert_int_equal(load_bytes(b, copy, s.len), -EINVAL);
    /* the last saved page's index (a page is saved as its u32 index and 4096 bytes) */
    memcpy(copy, s.data, s.len);
    memset(copy + s.len - (4 + 4096), 0xff, 4);
    assert_int_equal(load_bytes(b, copy, s.len), -EINVAL);
    assert_int_equal(load_bytes(b, s.data, s.len), 0);
    test_free(copy);
    sf_buf_free(&s);
    vga_destroy(a);
    vga_destroy(other);
    vga_destroy(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_round_trip),
        cmocka_unit_test(t_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: MIT */
/* Unit tests for dev/display/vga_render.c: each dispi depth (8 through the DAC, 15, 16, 24, 32)
 * converted to XRGB8888, only changed tiles reported (and none on an idle screen), a resize
 * reported once, mode 13h, and text mode drawn from a glyph in plane 2 with the text screenshot
 * reading it back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "dev/display/vga.h"
#include "vga_test_util.h"

#define MIB (1ULL << 20)

struct rects {
    unsigned n;
    unsigned x, y, w, h; /* the last one */
};

static void count_rect(void *opaque, unsigned x, unsigned y, unsigned w, unsigned h)
{
    struct rects *r = opaque;
    r->n++;
    r->x = x, r->y = y, r->w = w, r->h = h;
}

static uint32_t pixel(struct vga *v, unsigned x, unsigned y)
{
    struct vga_frame f;
    vga_frame_lock(v, &f);
    uint32_t p = f.pixels[y * f.width + x];
    vga_frame_unlock(v);
    return p;
}

static struct rects take(struct vga *v, bool *is_resized)
{
    struct rects r = {0};
    struct vga_frame f;
    vga_frame_lock(v, &f);
    vga_take_dirty(v, count_rect, &r, is_resized);
    vga_frame_unlock(v);
    return r;
}

static void t_depths(void **state)
{
    static const struct {
        unsigned bpp;
        uint8_t bytes[4];
        uint32_t xrgb;
    } cases[] = {
        {32, {0x33, 0x22, 0x11, 0x00}, 0x112233},
        {24, {0x33, 0x22, 0x11}, 0x112233},
        {16, {0x1f, 0xf8}, 0xff00ff}, /* 565: red and blue full */
        {15, {0xe0, 0x03}, 0x00ff00}, /* 555: green full */
        {8, {0x05}, 0x00ffff},        /* DAC entry 5 */
    };
    (void)state;
    for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct vga *v = vt_create(4 * MIB);
        unsigned bpp = cases[i].bpp, bytes = (bpp + 7) / 8;
        vt_out(v, 0x3c8, 5);
        vt_out(v, 0x3c9, 0);
        vt_out(v, 0x3c9, 63);
        vt_out(v, 0x3c9, 63);
        assert_int_equal(vt_set_mode(v, 64, 32, bpp) & 1, 1);
        /* pixel (3, 2) */
        memcpy(vga_vram(v) + (2 * 64 + 3) * bytes, cases[i].bytes, bytes);
        vga_invalidate(v);
        assert_true(vga_refresh(v));
        assert_int_equal(pixel(v, 3, 2), cases[i].xrgb);
        assert_int_equal(pixel(v, 2, 2), 0);
        vga_destroy(v);
    }
}

static void t_dirty_tiles(void **state)
{
    struct vga *v = vt_create(4 * MIB);
    bool is_resized = false;
    (void)state;
    assert_int_equal(vt_set_mode(v, 640, 480, 32) & 1, 1);
    (void)vga_refresh(v);
    struct rects r = take(v, &is_resized);
    assert_true(is_resized);
    assert_int_equal(r.n, 480 / 16); /* every tile row, one run each */
    /* idle: nothing to do, nothing reported */
    assert_false(vga_refresh(v));
    r = take(v, &is_resized);
    assert_false(is_resized);
    assert_int_equal(r.n, 0);
    /* one pixel through the trapped framebuffer: one tile */
    vga_lfb_ops.write(v, (100 * 640 + 200) * 4, 0x00ff0000, 4);
    assert_true(vga_refresh(v));
    r = take(v, &is_resized);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.x, 192);
    assert_int_equal(r.y, 96);
    assert_int_equal(r.w, 16);
    assert_int_equal(pixel(v, 200, 100), 0xff0000);
    /* writing the same value again changes no pixel: no tile */
    vga_lfb_ops.write(v, (100 * 640 + 200) * 4, 0x00ff0000, 4);
    assert_false(vga_refresh(v));
    /* a new mode is a resize */
    assert_int_equal(vt_set_mode(v, 800, 600, 16) & 1, 1);
    (void)vga_refresh(v);
    r = take(v, &is_resized);
    assert_true(is_resized);
    vga_destroy(v);
}

static void t_mode_13h(void **state)
{
    struct vga *v = vt_create(MIB);
    unsigned w, h, bpp;
    (void)state;
    vt_reg(v, 0x3c4, 4, 0x0e);
    vt_reg(v, 0x3c4, 2, 0x0f);
    vt_reg(v, 0x3ce, 5, 0x40);
    vt_reg(v, 0x3ce, 6, 0x05);
    vt_reg(v, 0x3d4, 1, 0x4f);
    vt_reg(v, 0x3d4, 9, 0x41);
    vt_reg(v, 0x3d4, 0x12, 0x8f);
    vt_reg(v, 0x3d4, 7, 0x1f);
    vt_reg(v, 0x3d4, 0x13, 0x28);
    (void)vt_in(v, 0x3da);
    vt_out(v, 0x3c0, 0x20);
    vt_out(v, 0x3c8, 9);
    vt_out(v, 0x3c9, 63);
    vt_out(v, 0x3c9, 0);
    vt_out(v, 0x3c9, 0);
    vt_mem_write(v, 0xa0000 + 10 * 320 + 7, 9);
    assert_string_equal(vga_mode_name(v, &w, &h, &bpp), "vga");
    assert_int_equal(w, 320);
    assert_int_equal(h, 200);
    (void)vga_refresh(v);
    assert_int_equal(pixel(v, 7, 10), 0xff0000);
    vga_destroy(v);
}

/* Mode 3 as the VGA BIOS leaves it, with the glyph of 'A' loaded into plane 2. */
static void text_mode(struct vga *v)
{
    static const uint8_t glyph[16] = {0,    0,    0x10, 0x38, 0x6c, 0xc6, 0xc6, 0xfe,
                                      0xc6, 0xc6, 0xc6, 0xc6, 0,    0,    0,    0};
    /* font load: planar, plane 2, 0xa0000 window */
    vt_reg(v, 0x3c4, 2, 0x04);
    vt_reg(v, 0x3c4, 4, 0x06);
    vt_reg(v, 0x3ce, 5, 0x00);
    vt_reg(v, 0x3ce, 6, 0x04);
    vt_reg(v, 0x3ce, 8, 0xff);
    for (unsigned i = 0; i < 16; i++)
        vt_mem_write(v, 0xa0000 + 'A' * 32 + i, glyph[i]);
    /* text: odd/even at 0xb8000 */
    vt_reg(v, 0x3c4, 1, 0x01); /* 8-dot characters */
    vt_reg(v, 0x3c4, 2, 0x03);
    vt_reg(v, 0x3c4, 4, 0x02);
    vt_reg(v, 0x3ce, 5, 0x10);
    vt_reg(v, 0x3ce, 6, 0x0e);
    vt_reg(v, 0x3d4, 1, 79);
    vt_reg(v, 0x3d4, 9, 15);
    vt_reg(v, 0x3d4, 0x12, 0x8f);
    vt_reg(v, 0x3d4, 7, 0x1f);
    vt_reg(v, 0x3d4, 0x13, 40);
    vt_reg(v, 0x3d4, 0x0a, 0x20); /* cursor off */
    (void)vt_in(v, 0x3da);
    for (unsigned i = 0; i < 16; i++) { /* attribute palette: identity */
        vt_out(v, 0x3c0, (uint8_t)i);
        vt_out(v, 0x3c0, (uint8_t)i);
    }
    vt_out(v, 0x3c0, 0x20);
    vt_out(v, 0x3c8, 7); /* colour 7: light grey */
    vt_out(v, 0x3c9, 42);
    vt_out(v, 0x3c9, 42);
    vt_out(v, 0x3c9, 42);
}

static void t_text_mode(void **state)
{
    struct vga *v = vt_create(MIB);
    char buf[4096];
    unsigned rows, cols, w, h, bpp;
    (void)state;
    text_mode(v);
    /* "A" at row 1, column 2; "Hi" at row 0 */
    vt_mem_write(v, 0xb8000 + 2 * (80 + 2), 'A');
    vt_mem_write(v, 0xb8000 + 2 * (80 + 2) + 1, 0x07);
    vt_mem_write(v, 0xb8000, 'H');
    vt_mem_write(v, 0xb8002, 'i');
    assert_string_equal(vga_mode_name(v, &w, &h, &bpp), "text");
    assert_int_equal(w, 640);
    assert_int_equal(h, 400);
    (void)vga_refresh(v);
    /* glyph row 7 of 'A' is 0xfe: pixels 0..6 on, 7 off */
    unsigned x0 = 2 * 8, y0 = 16 + 7;
    for (unsigned x = 0; x < 7; x++)
        assert_int_equal(pixel(v, x0 + x, y0), 0xaaaaaa);
    assert_int_equal(pixel(v, x0 + 7, y0), 0);
    assert_int_equal(pixel(v, x0 + 3, 16 + 2), 0xaaaaaa); /* row 2: 0x10 */
    assert_int_equal(pixel(v, x0 + 2, 16 + 2), 0);
    int n = vga_text(v, buf, sizeof(buf), &rows, &cols);
    assert_true(n > 0);
    assert_int_equal(rows, 25);
    assert_int_equal(cols, 80);
    assert_int_equal(strncmp(buf, "Hi\n  A\n\n", 8), 0);
    /* CP437 arrows, triangles and box drawing read as ASCII (GRUB's menu footer and frame) */
    static const uint8_t cp437[] = {0x18, 0x19, 0x1a, 0x1b, 0x1e, 0x1f,
                                    0x10, 0x11, 0xc9, 0xcd, 0xba};
    for (unsigned i = 0; i < sizeof(cp437); i++)
        vt_mem_write(v, 0xb8000 + 2 * (2 * 80 + i), cp437[i]);
    assert_true(vga_text(v, buf, sizeof(buf), &rows, &cols) > 0);
    assert_non_null(strstr(buf, "\n^v><^v><+-|\n"));
    assert_int_equal(vga_text(v, buf, 8, &rows, &cols), -ENOSPC);
    /* not text: refused */
    assert_int_equal(vt_set_mode(v, 640, 480, 8) & 1, 1);
    assert_int_equal(vga_text(v, buf, sizeof(buf), &rows, &cols), -ENOTSUP);
    vga_destroy(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_depths),
        cmocka_unit_test(t_dirty_tiles),
        cmocka_unit_test(t_mode_13h),
        cmocka_unit_test(t_text_mode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: MIT */
/* Unit tests for dev/display/vga_vbe.c: the dispi registers (ID, capabilities, video memory
 * size, bank), modes refused when they do not fit video memory, geometry frozen while enabled,
 * panning past the end rendered as nothing, the MMIO BAR (dispi, VGA ports, QEMU's extended
 * registers, EDID checksum) and hostile indices. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "dev/display/vga.h"
#include "vga_test_util.h"

#define MIB (1ULL << 20)

static void t_ids_and_caps(void **state)
{
    struct vga *v = vt_create(16 * MIB);
    (void)state;
    assert_int_equal(vt_dispi_read(v, 0), 0xb0c5);
    vt_dispi(v, 0, 0xb0c2);
    assert_int_equal(vt_dispi_read(v, 0), 0xb0c2);
    vt_dispi(v, 0, 0x1234); /* not an ID: ignored */
    assert_int_equal(vt_dispi_read(v, 0), 0xb0c2);
    assert_int_equal(vt_dispi_read(v, 10), 256); /* 16 MiB in 64 KiB units */
    vt_dispi(v, 4, 0x02);                        /* GETCAPS */
    assert_int_equal(vt_dispi_read(v, 1), VGA_MAX_XRES);
    assert_int_equal(vt_dispi_read(v, 3), 32);
    vt_dispi(v, 4, 0);
    vt_dispi(v, 5, 0xffff); /* bank masked to video memory */
    assert_int_equal(vt_dispi_read(v, 5), 255);
    assert_int_equal(vt_dispi_read(v, 0x7fff), 0);
    vga_destroy(v);
}

static void t_mode_limits(void **state)
{
    struct vga *v = vt_create(2 * MIB);
    unsigned w, h, bpp;
    (void)state;
    /* 1024x768x32 needs 3 MiB: refused, the adapter stays off */
    assert_int_equal(vt_set_mode(v, 1024, 768, 32) & 1, 0);
    assert_string_equal(vga_mode_name(v, &w, &h, &bpp), "off");
    /* at 16 bpp it fits (1.5 MiB) */
    assert_int_equal(vt_set_mode(v, 1024, 768, 16) & 1, 1);
    assert_string_equal(vga_mode_name(v, &w, &h, &bpp), "vbe");
    assert_int_equal(w, 1024);
    assert_int_equal(bpp, 16);
    /* geometry is frozen while enabled */
    vt_dispi(v, 1, 640);
    assert_int_equal(vt_dispi_read(v, 1), 1024);
    /* a virtual width that does not fit is refused, one that fits is taken */
    vt_dispi(v, 6, 4096);
    assert_int_equal(vt_dispi_read(v, 6), 1024);
    vt_dispi(v, 6, 1280);
    assert_int_equal(vt_dispi_read(v, 6), 1280);
    assert_int_equal(vt_dispi_read(v, 7), 2 * MIB / (1280 * 2));
    /* panning past the end of video memory: nothing is shown, nothing is read out of range */
    vt_dispi(v, 9, 0xffff);
    (void)vga_refresh(v);
    assert_string_equal(vga_mode_name(v, &w, &h, &bpp), "off");
    /* bad depths, zero sizes and sizes over the maximum are refused */
    assert_int_equal(vt_set_mode(v, 640, 480, 12) & 1, 0);
    assert_int_equal(vt_set_mode(v, 0, 480, 8) & 1, 0);
    assert_int_equal(vt_set_mode(v, 0xffff, 1, 8) & 1, 0);
    vga_destroy(v);
}

/* A mode within video memory but over the pixel cap (host memory for the frame) is refused. */
static void t_pixel_cap(void **state)
{
    struct vga *v = vt_create(64 * MIB);
    (void)state;
    assert_int_equal(vt_set_mode(v, 8192, 4096, 8) & 1, 0);
    assert_int_equal(vt_set_mode(v, 4096, 4096, 8) & 1, 1);
    vga_destroy(v);
}

static void t_mmio_bar(void **state)
{
    struct vga *v = vt_create(4 * MIB);
    uint8_t sum = 0;
    (void)state;
    for (unsigned i = 0; i < 128; i++)
        sum = (uint8_t)(sum + vga_mmio_ops.read(v, i, 1));
    assert_int_equal(sum, 0);
    assert_int_equal(vga_mmio_ops.read(v, 0, 4), 0xffffff00u);
    /* dispi register 1 at 0x502 */
    vga_mmio_ops.write(v, 0x502, 800, 2);
    assert_int_equal(vga_mmio_ops.read(v, 0x502, 2), 800);
    assert_int_equal(vt_dispi_read(v, 1), 800);
    /* a 32-bit store writes two registers (XRES, YRES) */
    vga_mmio_ops.write(v, 0x502, 600u << 16 | 800u, 4);
    assert_int_equal(vt_dispi_read(v, 2), 600);
    /* the VGA ports at 0x400 + (port - 0x3c0) */
    vga_mmio_ops.write(v, 0x404, 0x0f02, 2);
    assert_int_equal(vt_reg_read(v, 0x3c4, 2), 0x0f);
    /* QEMU's extended registers: size 8, little-endian framebuffer */
    assert_int_equal(vga_mmio_ops.read(v, 0x600, 4), 8);
    assert_int_equal(vga_mmio_ops.read(v, 0x604, 4), 0x1e1e1e1e);
    /* the rest reads all-ones, writes there are ignored */
    vga_mmio_ops.write(v, 0xff0, ~0ULL, 8);
    assert_int_equal(vga_mmio_ops.read(v, 0xff0, 2), 0xffff);
    /* the framebuffer fallback refuses accesses past video memory */
    vga_lfb_ops.write(v, 4 * MIB - 2, 0xffffffff, 4);
    assert_int_equal(vga_lfb_ops.read(v, 4 * MIB - 2, 4), 0);
    vga_lfb_ops.write(v, 16, 0xdeadbeef, 4);
    assert_int_equal(vga_lfb_ops.read(v, 16, 4), 0xdeadbeef);
    vga_destroy(v);
}

static void t_bank_window(void **state)
{
    struct vga *v = vt_create(4 * MIB);
    (void)state;
    assert_int_equal(vt_set_mode(v, 640, 480, 8) & 1, 1);
    vt_dispi(v, 5, 3); /* bank 3: the 0xa0000 window shows 0x30000.. */
    vt_mem_write(v, 0xa0004, 0x77);
    assert_int_equal(vga_vram(v)[0x30004], 0x77);
    vga_destroy(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_ids_and_caps), cmocka_unit_test(t_mode_limits),
        cmocka_unit_test(t_pixel_cap),    cmocka_unit_test(t_mmio_bar),
        cmocka_unit_test(t_bank_window),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

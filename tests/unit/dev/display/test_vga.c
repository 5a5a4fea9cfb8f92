/* SPDX-License-Identifier: MIT */
/* Unit tests for dev/display/vga.c: register files and their index masks, the attribute
 * flip-flop, the DAC, CRTC write protection, 16-bit index/data writes, and the planar memory
 * window (write modes, plane masks, chain-4, odd/even, read mode 1, window selection), with
 * hostile sequences that must stay inside the device. */
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

static void t_register_files(void **state)
{
    struct vga *v = vt_create(MIB);
    (void)state;
    vt_reg(v, 0x3c4, 2, 0xff);
    assert_int_equal(vt_reg_read(v, 0x3c4, 2), 0x0f); /* map mask: 4 bits */
    vt_reg(v, 0x3c4, 0xfa, 0x0e);                     /* index masked to 2 */
    assert_int_equal(vt_reg_read(v, 0x3c4, 2), 0x0e);
    vt_reg(v, 0x3ce, 0x18, 0xff); /* index 8 (bit mask) */
    assert_int_equal(vt_reg_read(v, 0x3ce, 8), 0xff);
    vt_reg(v, 0x3ce, 0x0f, 0xff); /* no register 15: reads zero */
    assert_int_equal(vt_reg_read(v, 0x3ce, 0x0f), 0);
    vt_reg(v, 0x3d4, 0x13, 0x28);
    assert_int_equal(vt_reg_read(v, 0x3d4, 0x13), 0x28);
    vt_reg(v, 0x3d4, 0xff, 0x12); /* out of range: ignored, reads all-ones */
    assert_int_equal(vt_reg_read(v, 0x3d4, 0xff), 0xff);
    /* 16-bit out to the sequencer: index in the low byte, data in the high one */
    vga_port_ops.write(v, 4, 0x0702, 2);
    assert_int_equal(vt_reg_read(v, 0x3c4, 2), 0x07);
    /* unknown ports read all-ones and ignore writes */
    vt_out(v, 0x3c3, 0x55);
    assert_int_equal(vt_in(v, 0x3c3), 0xff);
    vga_destroy(v);
}

static void t_crtc_protect(void **state)
{
    struct vga *v = vt_create(MIB);
    (void)state;
    vt_reg(v, 0x3d4, 1, 0x4f);
    vt_reg(v, 0x3d4, 0x11, 0x80);
    vt_reg(v, 0x3d4, 1, 0x27); /* protected */
    assert_int_equal(vt_reg_read(v, 0x3d4, 1), 0x4f);
    vt_reg(v, 0x3d4, 7, 0xff); /* only the line compare bit */
    assert_int_equal(vt_reg_read(v, 0x3d4, 7), 0x10);
    vt_reg(v, 0x3d4, 0x11, 0x00);
    vt_reg(v, 0x3d4, 1, 0x27);
    assert_int_equal(vt_reg_read(v, 0x3d4, 1), 0x27);
    vga_destroy(v);
}

static void t_attribute_flip_flop(void **state)
{
    struct vga *v = vt_create(MIB);
    (void)state;
    (void)vt_in(v, 0x3da); /* flip-flop to index */
    vt_out(v, 0x3c0, 0x01);
    vt_out(v, 0x3c0, 0x3f);
    vt_out(v, 0x3c0, 0x21); /* index 1 with the video-on bit */
    assert_int_equal(vt_in(v, 0x3c0), 0x21);
    assert_int_equal(vt_in(v, 0x3c1), 0x3f);
    (void)vt_in(v, 0x3da);
    vt_out(v, 0x3c0, 0x1f); /* no attribute register 0x1f: the data write is dropped */
    vt_out(v, 0x3c0, 0x99);
    assert_int_equal(vt_in(v, 0x3c1), 0);
    /* input status 1 toggles, so retrace polling loops end */
    uint8_t a = vt_in(v, 0x3da), b = vt_in(v, 0x3da);
    assert_int_not_equal(a & 0x08, b & 0x08);
    vga_destroy(v);
}

static void t_dac(void **state)
{
    struct vga *v = vt_create(MIB);
    (void)state;
    vt_out(v, 0x3c8, 0xff);
    for (int i = 0; i < 6; i++) /* entry 255, then the index wraps to entry 0 */
        vt_out(v, 0x3c9, (uint8_t)(0x10 + i));
    assert_int_equal(vt_in(v, 0x3c8), 1);
    vt_out(v, 0x3c7, 0xff);
    assert_int_equal(vt_in(v, 0x3c7), 3);
    for (int i = 0; i < 6; i++)
        assert_int_equal(vt_in(v, 0x3c9), 0x10 + i);
    vga_destroy(v);
}

/* Planar write mode 0 with the map mask on plane 2 only: other planes keep their bytes. */
static void t_planar_write_modes(void **state)
{
    struct vga *v = vt_create(MIB);
    uint8_t *vram = vga_vram(v);
    (void)state;
    vt_reg(v, 0x3ce, 6, 0x04); /* graphics window 0xa0000, 64 KiB */
    vt_reg(v, 0x3c4, 4, 0x06); /* planar, no chain-4 */
    vt_reg(v, 0x3ce, 5, 0x00); /* write mode 0, read mode 0 */
    vt_reg(v, 0x3ce, 8, 0xff);
    vt_reg(v, 0x3c4, 2, 0x04);
    vt_mem_write(v, 0xa0010, 0xa5);
    assert_int_equal(vram[4 * 0x10 + 2], 0xa5);
    assert_int_equal(vram[4 * 0x10 + 0], 0);
    vt_reg(v, 0x3ce, 4, 2); /* read map select: plane 2 */
    assert_int_equal(vt_mem_read(v, 0xa0010), 0xa5);
    /* map mask 0: nothing is written */
    vt_reg(v, 0x3c4, 2, 0x00);
    vt_mem_write(v, 0xa0011, 0xff);
    assert_int_equal(memcmp(&vram[4 * 0x11], "\0\0\0\0", 4), 0);
    /* write mode 2: the low nibble picks the planes, all four enabled */
    vt_reg(v, 0x3c4, 2, 0x0f);
    vt_reg(v, 0x3ce, 5, 0x02);
    vt_mem_write(v, 0xa0012, 0x05);
    assert_int_equal(vram[4 * 0x12 + 0], 0xff);
    assert_int_equal(vram[4 * 0x12 + 1], 0x00);
    assert_int_equal(vram[4 * 0x12 + 2], 0xff);
    /* write mode 1 copies the latches loaded by a read */
    vt_reg(v, 0x3ce, 5, 0x00);
    (void)vt_mem_read(v, 0xa0012);
    vt_reg(v, 0x3ce, 5, 0x01);
    vt_mem_write(v, 0xa0013, 0x00);
    assert_int_equal(memcmp(&vram[4 * 0x13], &vram[4 * 0x12], 4), 0);
    /* read mode 1: colour compare of plane 0 and 2 set against colour 5 */
    vt_reg(v, 0x3ce, 5, 0x08);
    vt_reg(v, 0x3ce, 2, 0x05);
    vt_reg(v, 0x3ce, 7, 0x0f);
    assert_int_equal(vt_mem_read(v, 0xa0012), 0xff);
    vga_destroy(v);
}

static void t_chain4_and_odd_even(void **state)
{
    struct vga *v = vt_create(MIB);
    uint8_t *vram = vga_vram(v);
    (void)state;
    vt_reg(v, 0x3ce, 6, 0x05);
    vt_reg(v, 0x3c4, 4, 0x0e); /* chain-4 */
    vt_reg(v, 0x3c4, 2, 0x0f);
    vt_mem_write(v, 0xa0007, 0x42);
    assert_int_equal(vram[7], 0x42);
    assert_int_equal(vt_mem_read(v, 0xa0007), 0x42);
    /* odd/even text window at 0xb8000: even bytes to plane 0, odd ones to plane 1 */
    vt_reg(v, 0x3ce, 6, 0x0e);
    vt_reg(v, 0x3c4, 4, 0x02);
    vt_reg(v, 0x3ce, 5, 0x10);
    vt_mem_write(v, 0xb8002, 'A');
    vt_mem_write(v, 0xb8003, 0x1f);
    assert_int_equal(vram[4], 'A');
    assert_int_equal(vram[5], 0x1f);
    /* outside the selected window (0xa0000 with the 0xb8000 map): ignored */
    vt_mem_write(v, 0xa0000, 0x99);
    assert_int_equal(vt_mem_read(v, 0xa0000), 0xff);
    assert_int_equal(vram[0], 0);
    vga_destroy(v);
}

/* Every port and window byte written with every value: nothing outside the device moves and
 * the device keeps answering (run under ASan in CI). */
static void t_hostile_sequences(void **state)
{
    struct vga *v = vt_create(MIB);
    (void)state;
    for (unsigned port = 0; port < VGA_PORT_COUNT; port++)
        for (unsigned val = 0; val < 256; val += 7)
            vga_port_ops.write(v, port, val, 1 + (val & 1));
    for (uint64_t off = 0; off < VGA_LEGACY_MEM_BYTES; off += 509)
        vga_mem_ops.write(v, off, off * 0x9e3779b97f4a7c15ULL, 8);
    for (uint64_t off = 0; off < VGA_LEGACY_MEM_BYTES; off += 509)
        (void)vga_mem_ops.read(v, off, 4);
    vt_reg(v, 0x3c4, 2, 0x0f);
    assert_int_equal(vt_reg_read(v, 0x3c4, 2), 0x0f);
    (void)vga_refresh(v);
    vga_reset(v);
    assert_int_equal(vt_reg_read(v, 0x3c4, 2), 0);
    vga_destroy(v);
}

static void t_create_limits(void **state)
{
    struct vga_config cfg = {.vram_bytes = 3 * MIB, .has_legacy = true};
    struct vga *v = NULL;
    (void)state;
    assert_int_equal(vga_create(&cfg, NULL, NULL, &v), -EINVAL);
    cfg.vram_bytes = 1024 * MIB;
    assert_int_equal(vga_create(&cfg, NULL, NULL, &v), -EINVAL);
    cfg.vram_bytes = 512 * 1024;
    assert_int_equal(vga_create(&cfg, NULL, NULL, &v), -EINVAL);
    vga_destroy(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_register_files),      cmocka_unit_test(t_crtc_protect),
        cmocka_unit_test(t_attribute_flip_flop), cmocka_unit_test(t_dac),
        cmocka_unit_test(t_planar_write_modes),  cmocka_unit_test(t_chain4_and_odd_even),
        cmocka_unit_test(t_hostile_sequences),   cmocka_unit_test(t_create_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

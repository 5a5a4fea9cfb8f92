/* SPDX-License-Identifier: MIT */
/* Implementation of vga_test_util.h. */
#include "vga_test_util.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

struct vga *vt_create(uint64_t vram_bytes)
{
    struct vga_config cfg = {.vram_bytes = vram_bytes, .has_legacy = true};
    struct vga *v = NULL;
    assert_int_equal(vga_create(&cfg, NULL, NULL, &v), 0);
    return v;
}

void vt_out(struct vga *v, unsigned port, uint8_t val)
{
    vga_port_ops.write(v, port - VGA_PORT_BASE, val, 1);
}

uint8_t vt_in(struct vga *v, unsigned port)
{
    return (uint8_t)vga_port_ops.read(v, port - VGA_PORT_BASE, 1);
}

void vt_reg(struct vga *v, unsigned index_port, uint8_t index, uint8_t val)
{
    vt_out(v, index_port, index);
    vt_out(v, index_port + 1, val);
}

uint8_t vt_reg_read(struct vga *v, unsigned index_port, uint8_t index)
{
    vt_out(v, index_port, index);
    return vt_in(v, index_port + 1);
}

void vt_dispi(struct vga *v, unsigned index, uint16_t val)
{
    vga_dispi_port_ops.write(v, 0, index, 2);
    vga_dispi_port_ops.write(v, 1, val, 2);
}

uint16_t vt_dispi_read(struct vga *v, unsigned index)
{
    vga_dispi_port_ops.write(v, 0, index, 2);
    return (uint16_t)vga_dispi_port_ops.read(v, 1, 2);
}

void vt_mem_write(struct vga *v, uint64_t gpa, uint8_t val)
{
    vga_mem_ops.write(v, gpa - VGA_LEGACY_MEM_GPA, val, 1);
}

uint8_t vt_mem_read(struct vga *v, uint64_t gpa)
{
    return (uint8_t)vga_mem_ops.read(v, gpa - VGA_LEGACY_MEM_GPA, 1);
}

uint16_t vt_set_mode(struct vga *v, unsigned w, unsigned h, unsigned bpp)
{
    vt_dispi(v, 4, 0);
    vt_dispi(v, 1, (uint16_t)w);
    vt_dispi(v, 2, (uint16_t)h);
    vt_dispi(v, 3, (uint16_t)bpp);
    vt_dispi(v, 4, 0x41);
    return vt_dispi_read(v, 4);
}

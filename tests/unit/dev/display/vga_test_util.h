/* SPDX-License-Identifier: MIT */
/* Helpers of the display adapter's unit tests: port, dispi and memory accesses through the
 * device's io_ops, as a guest makes them. */
#ifndef BAREIRON_TESTS_VGA_TEST_UTIL_H
#define BAREIRON_TESTS_VGA_TEST_UTIL_H

#include <stdint.h>

#include "dev/display/vga.h"

struct vga *vt_create(uint64_t vram_bytes);
void vt_out(struct vga *v, unsigned port, uint8_t val);
uint8_t vt_in(struct vga *v, unsigned port);
/* Index/data register files: seq 0x3c4, gr 0x3ce, crtc 0x3d4. */
void vt_reg(struct vga *v, unsigned index_port, uint8_t index, uint8_t val);
uint8_t vt_reg_read(struct vga *v, unsigned index_port, uint8_t index);
void vt_dispi(struct vga *v, unsigned index, uint16_t val);
uint16_t vt_dispi_read(struct vga *v, unsigned index);
/* A byte at (gpa) in 0xa0000..0xbffff. */
void vt_mem_write(struct vga *v, uint64_t gpa, uint8_t val);
uint8_t vt_mem_read(struct vga *v, uint64_t gpa);
/* Sets a dispi mode (w x h x bpp) with the linear framebuffer; returns ENABLE as read back. */
uint16_t vt_set_mode(struct vga *v, unsigned w, unsigned h, unsigned bpp);

#endif

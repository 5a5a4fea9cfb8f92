/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the display adapter (dev/display/vga.h) driven by a hostile guest. The input
 * is a sequence of 6-byte records: op (port write/read, dispi write/read, legacy window
 * write/read, MMIO BAR write/read, framebuffer write, refresh), a 16-bit offset or index and a
 * 24-bit value; every few records the screen is refreshed and the text screen read. Sanitizers
 * catch any access outside the device.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "dev/display/vga.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void dirty_rect(void *opaque, unsigned x, unsigned y, unsigned w, unsigned h)
{
    (void)opaque;
    (void)x;
    (void)y;
    (void)w;
    (void)h;
}

static void refresh(struct vga *v)
{
    struct vga_frame f;
    char text[8192];
    unsigned rows, cols;
    bool is_resized;
    (void)vga_refresh(v);
    vga_frame_lock(v, &f);
    vga_take_dirty(v, dirty_rect, NULL, &is_resized);
    vga_frame_unlock(v);
    (void)vga_text(v, text, sizeof(text), &rows, &cols);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct vga_config cfg = {.vram_bytes = 1u << 20, .has_legacy = (size & 1) == 0};
    struct vga *v = NULL;
    if (vga_create(&cfg, NULL, NULL, &v) < 0)
        return 0;
    for (size_t i = 0; i + 6 <= size; i += 6) {
        const uint8_t *r = data + i;
        uint16_t off = (uint16_t)(r[1] | r[2] << 8);
        uint32_t val = (uint32_t)(r[3] | r[4] << 8 | r[5] << 16);
        unsigned sz = 1u << (r[0] >> 6); /* 1, 2, 4, 8 */
        switch (r[0] & 0x0f) {
        case 0:
            vga_port_ops.write(v, off % VGA_PORT_COUNT, val, sz > 2 ? 1 : sz);
            break;
        case 1:
            (void)vga_port_ops.read(v, off % VGA_PORT_COUNT, sz > 2 ? 1 : sz);
            break;
        case 2:
            vga_dispi_port_ops.write(v, off % VGA_PORT_DISPI_COUNT, val, 2);
            break;
        case 3:
            (void)vga_dispi_port_ops.read(v, off % VGA_PORT_DISPI_COUNT, 2);
            break;
        case 4:
            vga_mem_ops.write(v, ((uint32_t)off << 1) % VGA_LEGACY_MEM_BYTES, val, sz);
            break;
        case 5:
            (void)vga_mem_ops.read(v, ((uint32_t)off << 1) % VGA_LEGACY_MEM_BYTES, sz);
            break;
        case 6:
            vga_mmio_ops.write(v, off % VGA_MMIO_BAR_BYTES, val, sz);
            break;
        case 7:
            (void)vga_mmio_ops.read(v, off % VGA_MMIO_BAR_BYTES, sz);
            break;
        case 8:
            vga_lfb_ops.write(v, (uint64_t)val << 4, off, sz);
            break;
        case 9:
            refresh(v);
            break;
        default:
            vga_reset(v);
            break;
        }
    }
    refresh(v);
    vga_destroy(v);
    return 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * The user-interface area (src/ui/): what a remote display (ui/vnc.h) and screenshots
 * (ui/png.h) share with the monitor. ui depends on base only; the monitor connects it to the
 * display adapter and to the input devices.
 *
 * struct ui_input_ops is how a viewer's keyboard and pointer reach the machine: keys as X11
 * keysyms, the pointer as an absolute position in a (width x height) screen with the RFB
 * button mask (bit 0 left, 1 middle, 2 right, 3/4 wheel up/down). The ops are called on the
 * display thread and must not block.
 */
#ifndef BAREIRON_UI_UI_H
#define BAREIRON_UI_UI_H

#include <stdbool.h>
#include <stdint.h>

struct ui_input_ops {
    void (*key)(void *opaque, uint32_t keysym, bool is_down); /* X11 keysym */
    void (*pointer)(void *opaque, uint32_t x, uint32_t y, uint32_t width, uint32_t height,
                    uint32_t buttons); /* absolute, RFB mask */
};

/* A screen image: XRGB8888 pixels (blue in the low byte), (stride) pixels from row to row. */
struct ui_image {
    const uint32_t *pixels;
    unsigned width, height, stride;
};

#endif

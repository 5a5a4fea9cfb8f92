/* SPDX-License-Identifier: MIT */
/*
 * The display adapter's part of the machine (vmm/machine_display.c): the machine_parts[] rows,
 * the VNC server connection and the screenshots for the control API (event-loop thread).
 */
#ifndef BAREIRON_VMM_MACHINE_DISPLAY_H
#define BAREIRON_VMM_MACHINE_DISPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/compiler.h"
#include "base/error.h"

struct machine;
struct sf_buf;
struct sf_in;
struct ui_vnc;

/* The rows of machine_parts[]: the ROM (load phase) and the adapter (after the PCI host). */
bool machine_has_display(const struct machine *m);
MUST_CHECK int machine_read_vga_rom(struct machine *m, struct error *err);
void machine_free_vga_rom(struct machine *m);
MUST_CHECK int machine_add_display(struct machine *m, struct error *err);
void machine_remove_display(struct machine *m);
/* The "display" section of a saved state. */
int machine_save_display(struct machine *m, struct sf_buf *b);
int machine_load_display(struct machine *m, struct sf_in *in);

/* Gives (m) the VNC server of --display (main.c's, lives across reboots; NULL: none) before
 * machine_attach. */
void machine_set_display(struct machine *m, struct ui_vnc *vnc);

/* Writes the screen as a PNG file at (path). Returns 0 or -errno with (err) set (-ENOENT: no
 * display adapter). */
MUST_CHECK int machine_screenshot_png(struct machine *m, const char *path, struct error *err);
/* The screen as a PNG in a malloc'd buffer (*out) of (*len) bytes (the caller frees it).
 * Returns 0 or -errno with (err) set. */
MUST_CHECK int machine_screenshot_png_mem(struct machine *m, uint8_t **out, size_t *len,
                                          struct error *err);
/* The text screen (vga_text of dev/display/vga.h) in (buf). Returns its length or -errno with
 * (err) set (-ENOTSUP: not a text mode; -ENOENT: no adapter). */
MUST_CHECK int machine_screenshot_text(struct machine *m, char *buf, size_t size, unsigned *rows,
                                       unsigned *cols, struct error *err);

struct machine_display_info {
    const char *mode; /* "text", "vga", "vbe" or "off" */
    unsigned width, height, bpp;
    uint64_t vram_bytes;
    unsigned viewers;
    unsigned long long bytes_sent;
};
/* Fills (out). Returns 0 or -ENOENT with (err) set. */
MUST_CHECK int machine_display_info(struct machine *m, struct machine_display_info *out,
                                    struct error *err);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * A std-VGA compatible display adapter, as QEMU's `-device VGA` and Bochs present it:
 *
 *  - legacy VGA (IBM VGA technical reference; FreeVGA's register descriptions): the sequencer,
 *    CRT, graphics and attribute controllers, the DAC and the miscellaneous output register at
 *    ports 0x3c0..0x3df, and the planar memory window 0xa0000..0xbffff (write modes 0..3, read
 *    modes 0..1, chain-4 and odd/even addressing);
 *  - the Bochs "dispi" extension (VBE) at ports 0x1ce/0x1cf and in the MMIO BAR: resolution,
 *    depth (8, 15, 16, 24, 32 bpp), virtual width and panning, a 64 KiB bank for the legacy
 *    window, and the linear framebuffer (video memory, `--vram`);
 *  - the MMIO BAR of QEMU's std-vga (4 KiB): an EDID block at 0x000, the VGA ports 0x3c0..0x3df
 *    at 0x400, the dispi registers at 0x500 (16-bit, register i at 0x500 + 2i) and QEMU's
 *    extended registers at 0x600 (size of the block, framebuffer endianness).
 *
 * Video memory is one host mapping of (vram_bytes) owned by the device: the PCI glue maps it
 * into the guest as RAM (so guest stores do not exit) and reports its dirty pages; writes that
 * come through the legacy window or the MMIO fallback mark pages dirty here. In memory, plane p
 * of VGA address a is byte 4a + p (QEMU's layout): chain-4 modes are then linear bytes and
 * text mode finds character and attribute in bytes 0 and 1 of each word, the font in byte 2.
 *
 * The screen is rendered (vga_render.c) into an XRGB8888 frame owned by the device, tile by
 * tile: only tiles whose pixels changed are marked for the viewer.
 *
 * Threading: register handlers run on vCPU threads and take (lock). vga_refresh and the frame
 * accessors run on the event loop or the display thread and take (frame_lock), then (lock)
 * briefly to copy the registers; lock order frame_lock -> lock.
 */
#ifndef BAREIRON_DEV_DISPLAY_VGA_H
#define BAREIRON_DEV_DISPLAY_VGA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/compiler.h"
#include "dev/bus.h"

#define VGA_VRAM_MIN_BYTES (1ULL << 20)
#define VGA_VRAM_MAX_BYTES (512ULL << 20)
#define VGA_VRAM_DEFAULT_BYTES (16ULL << 20)
#define VGA_MMIO_BAR_BYTES 0x1000
#define VGA_LEGACY_MEM_GPA 0xa0000ULL
#define VGA_LEGACY_MEM_BYTES 0x20000ULL
#define VGA_PORT_BASE 0x3c0
#define VGA_PORT_COUNT 0x20
#define VGA_PORT_DISPI 0x1ce /* index at 0x1ce, data at 0x1cf (16-bit at 0x1ce/0x1d0 too) */
#define VGA_PORT_DISPI_COUNT 4
#define VGA_TILE 16 /* the frame is tracked in tiles of 16x16 pixels */
#define VGA_PAGE_BYTES 4096

/* Largest frame the device renders (the dispi limits; larger modes are refused). The pixel cap
 * bounds the host memory a guest can make the frame take (4 bytes a pixel, plus the VNC copy)
 * whatever the size of video memory. */
#define VGA_MAX_XRES 16000
#define VGA_MAX_YRES 12000
#define VGA_MAX_PIXELS (4096ULL * 4096)

struct vga;

/* What the device needs from the machine (the PCI glue); every op is optional. */
struct vga_host_ops {
    /*
     * ORs into (bitmap) (one bit per 4 KiB page of video memory, bit i in word i / 64) the
     * pages the guest wrote through the RAM mapping since the last call, and clears the log.
     * Returns 0, or a negative errno when there is no mapping (nothing is added).
     */
    int (*get_dirty)(void *opaque, uint64_t *bitmap, size_t npages);
};

struct vga_config {
    uint64_t vram_bytes;  /* power of two, VGA_VRAM_MIN_BYTES..VGA_VRAM_MAX_BYTES */
    bool has_legacy;      /* false: bochs-display (no VGA ports, no legacy window) */
    unsigned edid_width;  /* preferred mode in the EDID block (0: 1024) */
    unsigned edid_height; /* (0: 768) */
};

/* A rendered screen: XRGB8888 pixels, (width) per row. */
struct vga_frame {
    const uint32_t *pixels;
    unsigned width, height;
};

/*
 * Creates the device with zeroed video memory (an anonymous shared mapping of
 * cfg->vram_bytes). (host, opaque) may be NULL. Returns 0, -EINVAL (bad size) or -ENOMEM.
 */
MUST_CHECK int vga_create(const struct vga_config *cfg, const struct vga_host_ops *host,
                          void *opaque, struct vga **out);
/* Frees (v) and unmaps its video memory. NULL is allowed. */
void vga_destroy(struct vga *v);
/* Power-on state of every register (machine reset); video memory is kept. */
void vga_reset(struct vga *v);

/* Video memory: the host mapping and its size (for the RAM mapping of the framebuffer BAR). */
uint8_t *vga_vram(struct vga *v);
uint64_t vga_vram_bytes(const struct vga *v);
/* Marks all of video memory dirty (the RAM mapping moved: its log was lost). Any thread. */
void vga_invalidate(struct vga *v);

/* Handlers, each over its own range (offsets from the range base):
 * vga_port_ops at VGA_PORT_BASE (VGA_PORT_COUNT ports), vga_dispi_port_ops at VGA_PORT_DISPI,
 * vga_mem_ops over the legacy window (VGA_LEGACY_MEM_BYTES), vga_mmio_ops over the MMIO BAR,
 * vga_lfb_ops over the framebuffer BAR (used only while the RAM mapping is absent). */
extern const struct io_ops vga_port_ops;
extern const struct io_ops vga_dispi_port_ops;
extern const struct io_ops vga_mem_ops;
extern const struct io_ops vga_mmio_ops;
extern const struct io_ops vga_lfb_ops;

/*
 * Renders the screen as the registers describe it into the device's frame, from the pages
 * dirtied since the last refresh (or everything after a mode or palette change), and marks
 * the tiles whose pixels changed. Returns true when some tile changed or the size did.
 */
bool vga_refresh(struct vga *v);

/*
 * Locks the frame and describes it in (out) (pixels stay valid until vga_frame_unlock). The
 * frame is what the last vga_refresh produced.
 */
void vga_frame_lock(struct vga *v, struct vga_frame *out);
void vga_frame_unlock(struct vga *v);

typedef void (*vga_rect_fn)(void *opaque, unsigned x, unsigned y, unsigned w, unsigned h);
/*
 * With the frame locked: calls (fn) for each changed rectangle (runs of changed tiles, clipped
 * to the frame) since the last call and clears them. (*is_resized) tells that the frame size
 * changed since the last call (then every tile is reported). Returns the number of rectangles.
 */
unsigned vga_take_dirty(struct vga *v, vga_rect_fn fn, void *opaque, bool *is_resized);

/*
 * The text screen when the adapter is in a text mode: (rows) lines of (cols) characters (at
 * most 132x60) written to (buf) as ASCII (code page 437 line drawing as + - |, shades as #,
 * 0x00 and 0xff as blanks, other bytes outside 0x20..0x7e as '.'), each line ending in '\n'
 * with its trailing blanks dropped.
 * Returns the length written (buf is NUL-terminated), or -ENOTSUP when the adapter is not in
 * a text mode, -ENOSPC when (size) is too small.
 */
MUST_CHECK int vga_text(struct vga *v, char *buf, size_t size, unsigned *rows, unsigned *cols);

struct sf_buf;
struct sf_in;
/*
 * Saved state (docs/vmm.md "Saved state"): the registers and the non-zero pages of video
 * memory. vga_load_state refuses (-EINVAL) a section of another adapter kind or video memory
 * size, out-of-range indices or a bank outside video memory; on success the whole frame is
 * drawn again at the next refresh.
 */
void vga_save_state(struct vga *v, struct sf_buf *b);
MUST_CHECK int vga_load_state(struct vga *v, struct sf_in *in);

/* Describes the current mode for `query-display`: "text", "vga", "vbe" or "off". */
const char *vga_mode_name(struct vga *v, unsigned *width, unsigned *height, unsigned *bpp);

#endif

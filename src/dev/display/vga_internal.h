/* SPDX-License-Identifier: MIT */
/*
 * Private to dev/display/vga*.c: the device state and the helpers the register, VBE and
 * rendering files share.
 *
 *   dispi registers (16 bits each; index at port 0x1ce, data at 0x1cf; MMIO BAR 0x500 + 2i)
 *   0 ID   1 XRES   2 YRES   3 BPP   4 ENABLE   5 BANK   6 VIRT_WIDTH   7 VIRT_HEIGHT
 *   8 X_OFFSET   9 Y_OFFSET   10 VIDEO_MEMORY_64K (read-only)
 */
#ifndef BAREIRON_DEV_DISPLAY_VGA_INTERNAL_H
#define BAREIRON_DEV_DISPLAY_VGA_INTERNAL_H

#include <pthread.h>

#include "dev/display/vga.h"

#define VBE_ID 0
#define VBE_XRES 1
#define VBE_YRES 2
#define VBE_BPP 3
#define VBE_ENABLE 4
#define VBE_BANK 5
#define VBE_VIRT_WIDTH 6
#define VBE_VIRT_HEIGHT 7
#define VBE_X_OFFSET 8
#define VBE_Y_OFFSET 9
#define VBE_VIDEO_MEMORY_64K 10
#define VBE_NREGS 11

#define VBE_ID0 0xb0c0
#define VBE_ID5 0xb0c5
#define VBE_ENABLED 0x01
#define VBE_GETCAPS 0x02
#define VBE_8BIT_DAC 0x20
#define VBE_LFB_ENABLED 0x40
#define VBE_NOCLEARMEM 0x80

#define VGA_SEQ_NREGS 8
#define VGA_GR_NREGS 16
#define VGA_CRTC_NREGS 32
#define VGA_AR_NREGS 32

/* Sequencer memory mode (SR04) and graphics mode (GR05) bits. */
#define SR04_CHAIN4 0x08
#define SR04_ODD_EVEN_OFF 0x04
#define GR05_ODD_EVEN 0x10
#define GR05_SHIFT256 0x40
#define GR06_GRAPHICS 0x01
#define AR10_GRAPHICS 0x01
#define AR10_PAL_SELECT 0x80
#define AR_INDEX_VIDEO_ON 0x20

enum vga_kind { VGA_KIND_OFF, VGA_KIND_TEXT, VGA_KIND_GFX256, VGA_KIND_VBE, VGA_KIND_PLANAR };

/* What the renderer needs, copied under (lock) by vga_snapshot. */
struct vga_mode {
    enum vga_kind kind;
    unsigned width, height; /* pixels */
    unsigned bpp;           /* VBE: 8, 15, 16, 24, 32 */
    uint64_t start_bytes;   /* first byte of the screen in video memory */
    uint64_t line_bytes;    /* bytes from one line to the next */
    /* text mode */
    unsigned cols, rows, char_width, char_height;
    uint32_t font_offset[2]; /* byte offsets of the two character maps (plane 2) */
    unsigned cursor;         /* character index of the cursor, or UINT_MAX when hidden */
    unsigned cursor_start, cursor_end;
    uint32_t palette[256]; /* XRGB of each DAC entry (text: the 16 attribute colours first) */
    uint32_t gen;          /* register generation: a change redraws the whole frame */
};

struct vga {
    pthread_mutex_t lock; /* registers and soft_dirty */
    bool has_legacy;
    uint8_t *vram;
    uint64_t vram_bytes;
    size_t npages;
    const struct vga_host_ops *host;
    void *host_opaque;

    uint8_t misc, feature, st01;
    uint8_t seq_index, seq[VGA_SEQ_NREGS];
    uint8_t gr_index, gr[VGA_GR_NREGS];
    uint8_t crtc_index, crtc[VGA_CRTC_NREGS];
    uint8_t ar_index, ar[VGA_AR_NREGS];
    bool ar_is_data; /* the attribute controller's index/data flip-flop */
    uint8_t dac_read_index, dac_write_index, dac_sub, dac_state, pel_mask;
    uint8_t dac_cache[3];
    uint8_t dac[768];
    uint32_t latch;
    uint64_t bank_offset;
    uint16_t vbe_index;
    uint16_t vbe[VBE_NREGS];
    uint8_t edid[128];
    uint32_t gen;         /* bumped by every register write that changes the picture */
    uint64_t *soft_dirty; /* pages written through trapped paths */

    pthread_mutex_t frame_lock; /* everything below */
    uint64_t *dirty;            /* scratch page bitmap of a refresh */
    uint32_t *frame;
    unsigned width, height;
    uint64_t *tiles; /* changed tiles, bit (ty * tiles_x + tx) */
    unsigned tiles_x, tiles_y;
    bool is_resized;
    uint32_t drawn_gen; /* the register generation the frame shows */
    enum vga_kind drawn_kind;
    uint32_t *line;       /* one converted line (VGA_MAX_XRES pixels) */
    struct vga_mode mode; /* the registers of the refresh running */
};

/* Marks the pages of video memory [off, off + len) written (lock held). */
void vga_mark_dirty(struct vga *v, uint64_t off, uint64_t len);
/* Copies what the renderer needs into (m). Called with (lock) held. */
void vga_snapshot(struct vga *v, struct vga_mode *m);
/* The legacy port handlers by port number (0x3c0..0x3df). Called with (lock) held. */
uint8_t vga_ioport_read(struct vga *v, unsigned port);
void vga_ioport_write(struct vga *v, unsigned port, uint8_t val);
/* The dispi registers (vga_vbe.c). Called with (lock) held. */
uint16_t vga_vbe_read(struct vga *v, unsigned index);
void vga_vbe_write(struct vga *v, unsigned index, uint16_t val);
/* Whether the dispi extension drives the screen, and its geometry (vga_vbe.c, lock held). */
bool vga_vbe_snapshot(struct vga *v, struct vga_mode *m);
/* Power-on dispi state and the EDID block for (width x height) (vga_vbe.c). */
void vga_vbe_reset(struct vga *v);
void vga_edid_build(uint8_t edid[128], unsigned width, unsigned height);

/* DAC entry (i) as XRGB: 6-bit components, or 8-bit ones with (is_8bit). */
static inline uint32_t vga_dac_rgb(const struct vga *v, unsigned i, bool is_8bit)
{
    const uint8_t *c = &v->dac[3 * (i & 0xff)];
    if (is_8bit)
        return (uint32_t)c[0] << 16 | (uint32_t)c[1] << 8 | c[2];
    uint32_t r = (uint32_t)((c[0] & 0x3f) << 2 | (c[0] & 0x3f) >> 4);
    uint32_t g = (uint32_t)((c[1] & 0x3f) << 2 | (c[1] & 0x3f) >> 4);
    uint32_t b = (uint32_t)((c[2] & 0x3f) << 2 | (c[2] & 0x3f) >> 4);
    return r << 16 | g << 8 | b;
}

#endif

/* SPDX-License-Identifier: MIT */
/*
 * The Bochs dispi (VBE) extension of dev/display/vga.h, as Bochs' vbe.h and QEMU's std-vga
 * define it: the registers at ports 0x1ce (index) / 0x1cf (data), the 4 KiB MMIO BAR of
 * QEMU's std-vga (EDID at 0x000, VGA ports at 0x400, dispi registers at 0x500, QEMU's extended
 * registers at 0x600), the framebuffer BAR's trapped fallback, and an EDID 1.4 block (VESA
 * E-EDID Standard Release A2) announcing the configured resolution as the preferred mode.
 *
 * Enabling a mode checks it against video memory: a resolution, depth or virtual width that
 * does not fit is refused (ENABLE keeps its bit clear; the guest reads that back), and the
 * renderer checks the panned window again, so no register sequence reads outside video memory.
 */
#include <string.h>

#include "dev/display/vga_internal.h"

#define LOG_TAG "vga"
#include "base/log.h"

#define MMIO_EDID 0x000
#define MMIO_VGA 0x400
#define MMIO_DISPI 0x500
#define MMIO_QEXT 0x600
#define QEXT_SIZE_BYTES 8
#define QEXT_LITTLE_ENDIAN 0x1e1e1e1eu

static unsigned bytes_pp(unsigned bpp)
{
    return (bpp + 7) / 8;
}

static bool bpp_is_valid(unsigned bpp)
{
    return bpp == 8 || bpp == 15 || bpp == 16 || bpp == 24 || bpp == 32;
}

/* True when (xres x yres) at (bpp) with lines of (virt_width) pixels fits video memory. */
static bool mode_fits(const struct vga *v, uint64_t xres, uint64_t yres, unsigned bpp,
                      uint64_t virt_width)
{
    if (xres == 0 || yres == 0 || xres > VGA_MAX_XRES || yres > VGA_MAX_YRES ||
        xres * yres > VGA_MAX_PIXELS || !bpp_is_valid(bpp) || virt_width < xres ||
        virt_width > 0xffff)
        return false;
    return virt_width * bytes_pp(bpp) * yres <= v->vram_bytes;
}

void vga_vbe_reset(struct vga *v)
{
    memset(v->vbe, 0, sizeof(v->vbe));
    v->vbe[VBE_ID] = VBE_ID5;
    v->vbe[VBE_BPP] = 8;
    v->vbe_index = 0;
}

static void enable_mode(struct vga *v, uint16_t val)
{
    unsigned bpp = v->vbe[VBE_BPP], xres = v->vbe[VBE_XRES], yres = v->vbe[VBE_YRES];
    if (!mode_fits(v, xres, yres, bpp, xres)) {
        log_ratelimited(LOG_INFO, "dispi mode %ux%ux%u refused: does not fit %llu bytes", xres,
                        yres, bpp, (unsigned long long)v->vram_bytes);
        v->vbe[VBE_ENABLE] = val & (uint16_t)~VBE_ENABLED;
        return;
    }
    v->vbe[VBE_VIRT_WIDTH] = (uint16_t)xres;
    uint64_t lines = v->vram_bytes / ((uint64_t)xres * bytes_pp(bpp));
    v->vbe[VBE_VIRT_HEIGHT] = (uint16_t)MIN(lines, 0xffffu);
    v->vbe[VBE_X_OFFSET] = v->vbe[VBE_Y_OFFSET] = 0;
    if (!(val & VBE_NOCLEARMEM)) {
        memset(v->vram, 0, (size_t)xres * yres * bytes_pp(bpp));
        vga_mark_dirty(v, 0, (uint64_t)xres * yres * bytes_pp(bpp));
    }
    /* What the legacy side shows while VBE drives the screen: graphics, 64 KiB window at
     * 0xa0000 for banked access, chain-4 (QEMU does the same). */
    v->gr[6] = (uint8_t)((v->gr[6] & ~0x0c) | 0x05);
    v->seq[4] |= SR04_CHAIN4;
    v->seq[2] = 0x0f;
    v->bank_offset = 0;
    v->vbe[VBE_ENABLE] = val;
}

void vga_vbe_write(struct vga *v, unsigned index, uint16_t val)
{
    bool is_enabled = v->vbe[VBE_ENABLE] & VBE_ENABLED;
    switch (index) {
    case VBE_ID:
        if (val >= VBE_ID0 && val <= VBE_ID5)
            v->vbe[VBE_ID] = val;
        return;
    case VBE_XRES:
    case VBE_YRES:
    case VBE_BPP:
        if (is_enabled) /* geometry changes only while disabled (Bochs) */
            return;
        v->vbe[index] = index == VBE_BPP && val == 0 ? 8 : val;
        return;
    case VBE_BANK:
        v->vbe[VBE_BANK] = (uint16_t)(val & ((v->vram_bytes >> 16) - 1));
        v->bank_offset = (uint64_t)v->vbe[VBE_BANK] << 16;
        return;
    case VBE_ENABLE:
        if ((val & VBE_ENABLED) && !is_enabled) {
            enable_mode(v, val);
        } else {
            v->vbe[VBE_ENABLE] = val;
            if (!(val & VBE_ENABLED))
                v->bank_offset = 0;
        }
        break;
    case VBE_VIRT_WIDTH:
        if (!mode_fits(v, v->vbe[VBE_XRES], v->vbe[VBE_YRES], v->vbe[VBE_BPP], val))
            return;
        v->vbe[VBE_VIRT_WIDTH] = val;
        v->vbe[VBE_VIRT_HEIGHT] =
            (uint16_t)MIN(v->vram_bytes / ((uint64_t)val * bytes_pp(v->vbe[VBE_BPP])), 0xffffu);
        break;
    case VBE_X_OFFSET:
    case VBE_Y_OFFSET:
        v->vbe[index] = val; /* checked against video memory when rendering */
        break;
    default: /* VIRT_HEIGHT, VIDEO_MEMORY_64K and unknown indices are read-only */
        return;
    }
    v->gen++;
}

uint16_t vga_vbe_read(struct vga *v, unsigned index)
{
    if ((v->vbe[VBE_ENABLE] & VBE_GETCAPS) && index >= VBE_XRES && index <= VBE_BPP) {
        static const uint16_t caps[] = {0, VGA_MAX_XRES, VGA_MAX_YRES, 32};
        return caps[index];
    }
    if (index == VBE_VIDEO_MEMORY_64K)
        return (uint16_t)MIN(v->vram_bytes >> 16, 0xffffu);
    return index < VBE_NREGS ? v->vbe[index] : 0;
}

bool vga_vbe_snapshot(struct vga *v, struct vga_mode *m)
{
    if (!(v->vbe[VBE_ENABLE] & VBE_ENABLED))
        return false;
    unsigned bpp = v->vbe[VBE_BPP], vw = v->vbe[VBE_VIRT_WIDTH];
    uint64_t w = v->vbe[VBE_XRES], h = v->vbe[VBE_YRES];
    m->kind = VGA_KIND_OFF;
    if (!mode_fits(v, w, h, bpp, vw))
        return true;
    uint64_t line = (uint64_t)vw * bytes_pp(bpp);
    uint64_t start =
        (uint64_t)v->vbe[VBE_Y_OFFSET] * line + (uint64_t)v->vbe[VBE_X_OFFSET] * bytes_pp(bpp);
    /* the panned window must lie inside video memory, last line included */
    if (start + (h - 1) * line + w * bytes_pp(bpp) > v->vram_bytes)
        return true;
    m->kind = VGA_KIND_VBE;
    m->width = (unsigned)w;
    m->height = (unsigned)h;
    m->bpp = bpp;
    m->start_bytes = start;
    m->line_bytes = line;
    bool is_8bit = v->vbe[VBE_ENABLE] & VBE_8BIT_DAC;
    for (unsigned i = 0; i < 256; i++)
        m->palette[i] = vga_dac_rgb(v, i, is_8bit);
    return true;
}

/* Ports 0x1ce..0x1d1: index at 0x1ce, data at 0x1cf (16-bit: 0x1ce index, 0x1d0 data). */
static uint64_t dispi_port_read(void *opaque, uint64_t off, unsigned size)
{
    struct vga *v = opaque;
    uint64_t val;
    (void)size;
    pthread_mutex_lock(&v->lock);
    val = off == 0 ? v->vbe_index : vga_vbe_read(v, v->vbe_index);
    pthread_mutex_unlock(&v->lock);
    return val;
}

static void dispi_port_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    struct vga *v = opaque;
    (void)size;
    pthread_mutex_lock(&v->lock);
    if (off == 0)
        v->vbe_index = (uint16_t)val;
    else
        vga_vbe_write(v, v->vbe_index, (uint16_t)val);
    pthread_mutex_unlock(&v->lock);
}

const struct io_ops vga_dispi_port_ops = {.read = dispi_port_read, .write = dispi_port_write};

static uint64_t mmio_read(void *opaque, uint64_t off, unsigned size)
{
    struct vga *v = opaque;
    uint64_t val = 0;
    pthread_mutex_lock(&v->lock);
    for (unsigned i = 0; i < size; i++) {
        uint64_t o = off + i, b = 0xff;
        if (o < MMIO_EDID + sizeof(v->edid))
            b = v->edid[o];
        else if (o >= MMIO_VGA && o < MMIO_VGA + VGA_PORT_COUNT && v->has_legacy)
            b = vga_ioport_read(v, VGA_PORT_BASE + (unsigned)(o - MMIO_VGA));
        else if (o >= MMIO_DISPI && o < MMIO_DISPI + 2 * VBE_NREGS)
            b = vga_vbe_read(v, (unsigned)(o - MMIO_DISPI) / 2) >> (8 * (o & 1));
        else if (o >= MMIO_QEXT && o < MMIO_QEXT + 4)
            b = QEXT_SIZE_BYTES >> (8 * (o - MMIO_QEXT));
        else if (o >= MMIO_QEXT + 4 && o < MMIO_QEXT + 8)
            b = QEXT_LITTLE_ENDIAN >> (8 * (o - MMIO_QEXT - 4));
        val |= (b & 0xff) << (8 * i);
    }
    pthread_mutex_unlock(&v->lock);
    return val;
}

static void mmio_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    struct vga *v = opaque;
    pthread_mutex_lock(&v->lock);
    if (off >= MMIO_VGA && off < MMIO_VGA + VGA_PORT_COUNT && v->has_legacy) {
        for (unsigned i = 0; i < size && off + i < MMIO_VGA + VGA_PORT_COUNT; i++)
            vga_ioport_write(v, VGA_PORT_BASE + (unsigned)(off + i - MMIO_VGA),
                             (uint8_t)(val >> (8 * i)));
    } else if (off >= MMIO_DISPI && off < MMIO_DISPI + 2 * VBE_NREGS && !(off & 1)) {
        /* 16-bit registers; a 32-bit store writes two of them */
        for (unsigned i = 0; i + 2 <= size || (i == 0 && size == 1); i += 2)
            vga_vbe_write(v, (unsigned)(off - MMIO_DISPI) / 2 + i / 2, (uint16_t)(val >> (8 * i)));
    }
    pthread_mutex_unlock(&v->lock);
}

const struct io_ops vga_mmio_ops = {.read = mmio_read, .write = mmio_write};

/* The framebuffer BAR while it is not mapped as RAM: plain video memory, trapped. */
static uint64_t lfb_read(void *opaque, uint64_t off, unsigned size)
{
    struct vga *v = opaque;
    uint64_t val = 0;
    if (off < v->vram_bytes && size <= v->vram_bytes - off)
        memcpy(&val, v->vram + off, size);
    return val;
}

static void lfb_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    struct vga *v = opaque;
    if (off >= v->vram_bytes || size > v->vram_bytes - off)
        return;
    memcpy(v->vram + off, &val, size);
    pthread_mutex_lock(&v->lock);
    vga_mark_dirty(v, off, size);
    pthread_mutex_unlock(&v->lock);
}

const struct io_ops vga_lfb_ops = {.read = lfb_read, .write = lfb_write};

/* One 18-byte detailed timing descriptor for (w x h) at 60 Hz with simple blanking. */
static void edid_timing(uint8_t *d, unsigned w, unsigned h)
{
    unsigned hb = 160, vb = 30, hso = 48, hsw = 32, vso = 3, vsw = 5;
    uint64_t clock = (uint64_t)(w + hb) * (h + vb) * 60 / 10000;
    w = MIN(w, 4095u);
    h = MIN(h, 4095u);
    clock = MIN(clock, 0xffffu);
    d[0] = (uint8_t)clock;
    d[1] = (uint8_t)(clock >> 8);
    d[2] = (uint8_t)w;
    d[3] = (uint8_t)hb;
    d[4] = (uint8_t)((w >> 8) << 4 | hb >> 8);
    d[5] = (uint8_t)h;
    d[6] = (uint8_t)vb;
    d[7] = (uint8_t)((h >> 8) << 4 | vb >> 8);
    d[8] = (uint8_t)hso;
    d[9] = (uint8_t)hsw;
    d[10] = (uint8_t)((vso & 0xf) << 4 | (vsw & 0xf));
    d[11] = 0;
    d[17] = 0x18; /* digital separate sync */
}

void vga_edid_build(uint8_t edid[128], unsigned width, unsigned height)
{
    static const uint8_t header[8] = {0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0};
    static const char name[] = "bareiron\n   ";
    unsigned sum = 0;
    memset(edid, 0, 128);
    memcpy(edid, header, sizeof(header));
    /* manufacturer "BRN" (5-bit letters, big-endian), product 0x1234, EDID 1.4 */
    uint16_t mfg = (uint16_t)(('B' - '@') << 10 | ('R' - '@') << 5 | ('N' - '@'));
    edid[8] = (uint8_t)(mfg >> 8);
    edid[9] = (uint8_t)mfg;
    edid[10] = 0x34;
    edid[11] = 0x12;
    edid[17] = 30; /* year of manufacture - 1990 */
    edid[18] = 1;
    edid[19] = 4;
    edid[20] = 0xa5; /* digital, 8 bits per colour, DisplayPort */
    edid[23] = 120;  /* gamma 2.2 */
    edid[24] = 0x06; /* RGB, preferred timing is native */
    for (unsigned i = 38; i < 54; i++)
        edid[i] = 1; /* no standard timings */
    edid_timing(&edid[54], width, height);
    edid[72 + 3] = 0xfc; /* display product name */
    memcpy(&edid[72 + 5], name, 13);
    edid[90 + 3] = 0x10; /* dummy descriptors */
    edid[108 + 3] = 0x10;
    for (unsigned i = 0; i < 127; i++)
        sum += edid[i];
    edid[127] = (uint8_t)(256 - (sum & 0xff));
}

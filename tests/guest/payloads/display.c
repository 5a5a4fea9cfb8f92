/* SPDX-License-Identifier: MIT */
/*
 * The std-VGA adapter (1234:1111) through its MMIO BAR only (ring 3 reaches MMIO on every
 * host): the dispi ID and video memory size registers, the EDID header, a mode larger than
 * video memory refused (ENABLE reads back without its bit; with `strict=1`, as bareiron does:
 * QEMU enables it clamped to what fits, which passes otherwise), then 1024x768x32 with the linear
 * framebuffer, filled with the pattern tests/integration/test_display.py recomputes:
 *   pixel (x, y) = (x & 0xff) << 16 | (y & 0xff) << 8 | ((x ^ y) >> 2 & 0xff)
 * It prints `READY display` and waits for a byte on COM1 (the harness has taken its screenshots
 * by then). A byte 'c' makes it invert the 64x64 square at (256, 128) and print `CHANGED
 * display` (the harness checks that only that square is sent again), then wait for the next
 * byte. For bench/display.sh:
 *  - 'f' redraws the whole screen again and again (every pixel XORed with a value that changes
 *    each frame) until the next byte, then prints `DRAWN <frames> display`;
 *  - 'w' moves a 400x300 "window" (a title bar over a gradient) by (+10, +6) over the pattern,
 *    starting at (100, 100): the background is restored where it was, it is drawn where it
 *    goes; then `MOVED display`. The first 'w' draws it at (100, 100). It restores the
 *    pattern, not what 'f' left: 'f' comes last.
 * Any other byte ends it. `mode=WxH` chooses another resolution (the pattern is the same).
 */
#include "pci.h"

const char payload_name[] = "display";

#define DISPI 0x500 /* dispi register i at BAR2 + 0x500 + 2i */
#define VBE_ID 0
#define VBE_XRES 1
#define VBE_YRES 2
#define VBE_BPP 3
#define VBE_ENABLE 4
#define VBE_VIRT_WIDTH 6
#define VBE_VIDEO_MEMORY_64K 10
#define VBE_ENABLED 0x01
#define VBE_LFB 0x40

static uint64_t mmio;

static void dispi_write(unsigned reg, uint16_t v)
{
    mmio_write16(mmio + DISPI + 2 * reg, v);
}

static uint16_t dispi_read(unsigned reg)
{
    return mmio_read16(mmio + DISPI + 2 * reg);
}

static uint32_t pattern(uint32_t x, uint32_t y)
{
    return (x & 0xff) << 16 | (y & 0xff) << 8 | (((x ^ y) >> 2) & 0xff);
}

/* The window's pixel at (u, v) of its own area. */
static uint32_t window_pixel(uint32_t u, uint32_t v)
{
    if (v < 20)
        return 0x2050a0u + (u & 0x3f);
    return 0x400000u | (u * 2 & 0xff) << 8 | (v * 3 & 0xff);
}

#define WIN_W 400
#define WIN_H 300

/* Moves the window from (x0, y0) to (x1, y1) on a w x h screen showing the pattern. */
static void move_window(volatile uint32_t *fb, uint32_t w, uint32_t h, uint32_t x0, uint32_t y0,
                        uint32_t x1, uint32_t y1)
{
    for (uint32_t y = y0; y < y0 + WIN_H && y < h; y++)
        for (uint32_t x = x0; x < x0 + WIN_W && x < w; x++)
            if (!(x >= x1 && x < x1 + WIN_W && y >= y1 && y < y1 + WIN_H))
                fb[y * w + x] = pattern(x, y);
    for (uint32_t y = y1; y < y1 + WIN_H && y < h; y++)
        for (uint32_t x = x1; x < x1 + WIN_W && x < w; x++)
            fb[y * w + x] = window_pixel(x - x1, y - y1);
}

/* Redraws every pixel of the screen (n 32-bit pixels) until a byte waits on COM1, which it
 * leaves there; returns the number of frames drawn. */
static uint64_t redraw_until_byte(volatile uint32_t *fb, uint64_t n)
{
    volatile uint64_t *fb64 = (volatile uint64_t *)fb;
    uint64_t frames = 0;
    while (!(inb(COM1 + 5) & 1)) {
        uint64_t v = ((frames + 1) * 0x9e3779b9u & 0xffffffu) | 1;
        v |= v << 32;
        for (uint64_t i = 0; i < n / 2; i++)
            fb64[i] ^= v;
        frames++;
    }
    return frames;
}

static void set_mode(unsigned w, unsigned h, unsigned bpp)
{
    dispi_write(VBE_ENABLE, 0);
    dispi_write(VBE_XRES, (uint16_t)w);
    dispi_write(VBE_YRES, (uint16_t)h);
    dispi_write(VBE_BPP, (uint16_t)bpp);
    dispi_write(VBE_ENABLE, VBE_ENABLED | VBE_LFB);
}

static uint8_t wait_com1_byte(void)
{
    while (!(inb(COM1 + 5) & 1))
        rt_udelay(1000);
    return inb(COM1);
}

void payload_main(void)
{
    struct pci_bar lfb, regs;
    uint16_t bdf;
    unsigned w = 1024, h = 768;
    char mode[32];
    if (rt_cmdline_get("mode", mode, sizeof(mode))) {
        uint64_t a = 0, b = 0;
        char *x = mode;
        while (*x && *x != 'x')
            x++;
        if (*x == 'x') {
            *x = '\0';
            if (rt_parse_u64(mode, &a) && rt_parse_u64(x + 1, &b)) {
                w = (unsigned)a;
                h = (unsigned)b;
            }
        }
    }
    if (!rt_check(pci_find_device(0x1234, 0x1111, &bdf), "display-find", "no 1234:1111"))
        return;
    pci_bar_probe(bdf, 0, &lfb);
    pci_bar_probe(bdf, 2, &regs);
    rt_check(lfb.prefetch && lfb.size >= (1u << 20), "display-lfb", "BAR0 %llx size %llx",
             (unsigned long long)lfb.addr, (unsigned long long)lfb.size);
    rt_check(regs.size == 0x1000, "display-mmio", "BAR2 size %llx", (unsigned long long)regs.size);
    mmio = regs.addr;
    uint16_t id = dispi_read(VBE_ID), mem64k = dispi_read(VBE_VIDEO_MEMORY_64K);
    rt_check(id >= 0xb0c0 && id <= 0xb0c5, "display-id", "dispi ID %x", id);
    rt_check((uint64_t)mem64k << 16 == lfb.size, "display-vram", "%u x 64K, BAR0 %llx", mem64k,
             (unsigned long long)lfb.size);
    rt_check(mmio_read32(mmio) == 0xffffff00u && mmio_read32(mmio + 4) == 0x00ffffffu,
             "display-edid", "EDID header %08x %08x", mmio_read32(mmio), mmio_read32(mmio + 4));
    /* bareiron refuses the mode (strict=1); QEMU enables it clamped to what fits */
    set_mode(16000, 12000, 32);
    bool is_on = dispi_read(VBE_ENABLE) & VBE_ENABLED;
    uint64_t shown = (uint64_t)dispi_read(VBE_XRES) * dispi_read(VBE_YRES) * 4;
    if (rt_cmdline_u64("strict", 0))
        rt_check(!is_on, "display-refuse", "16000x12000x32 enabled with %llu bytes of video memory",
                 (unsigned long long)lfb.size);
    else
        rt_check(!is_on || shown <= lfb.size, "display-refuse", "%llu bytes shown of %llu",
                 (unsigned long long)shown, (unsigned long long)lfb.size);
    set_mode(w, h, 32);
    if (!rt_check(dispi_read(VBE_ENABLE) & VBE_ENABLED, "display-mode", "%ux%ux32 not enabled", w,
                  h))
        return;
    rt_check(dispi_read(VBE_VIRT_WIDTH) == w, "display-virt", "virtual width %u",
             dispi_read(VBE_VIRT_WIDTH));
    volatile uint32_t *fb = (volatile uint32_t *)(uintptr_t)lfb.addr;
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++)
            fb[y * w + x] = pattern(x, y);
    rt_check(fb[(h - 1) * w + w - 1] == pattern(w - 1, h - 1), "display-readback",
             "last pixel %08x", fb[(h - 1) * w + w - 1]);
    rt_puts("READY display\n");
    uint32_t wx = 0, wy = 0;
    for (;;) {
        uint8_t c = wait_com1_byte();
        if (c == 'c') {
            for (uint32_t y = 128; y < 192 && y < h; y++)
                for (uint32_t x = 256; x < 320 && x < w; x++)
                    fb[y * w + x] ^= 0xffffff;
            rt_puts("CHANGED display\n");
        } else if (c == 'f') {
            uint64_t frames = redraw_until_byte(fb, (uint64_t)w * h);
            inb(COM1); /* the byte that stopped it */
            rt_printf("DRAWN %llu display\n", (unsigned long long)frames);
        } else if (c == 'w') {
            if (wx == 0) { /* the first move draws it at (100, 100) */
                wx = 100;
                wy = 100;
                move_window(fb, w, h, wx, wy, wx, wy);
            } else {
                uint32_t nx = wx + 10 + WIN_W <= w ? wx + 10 : 100;
                uint32_t ny = wy + 6 + WIN_H <= h ? wy + 6 : 100;
                move_window(fb, w, h, wx, wy, nx, ny);
                wx = nx;
                wy = ny;
            }
            rt_puts("MOVED display\n");
        } else {
            break;
        }
    }
}

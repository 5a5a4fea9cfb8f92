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
 * byte; any other byte ends it. `mode=WxH` chooses another resolution (the pattern is the
 * same).
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
    while (wait_com1_byte() == 'c') {
        for (uint32_t y = 128; y < 192 && y < h; y++)
            for (uint32_t x = 256; x < 320 && x < w; x++)
                fb[y * w + x] ^= 0xffffff;
        rt_puts("CHANGED display\n");
    }
}

/* SPDX-License-Identifier: MIT */
/*
 * The legacy VGA of dev/display/vga.h (IBM VGA technical reference; FreeVGA): the sequencer,
 * graphics, CRT and attribute controllers, the DAC, the miscellaneous output and input status
 * registers at ports 0x3c0..0x3df, and the planar memory window at 0xa0000 with its write
 * modes 0..3, read modes 0..1, chain-4 and odd/even addressing. Every index is masked to its
 * register file and every memory access is checked against video memory, so no register
 * sequence reaches outside the device. Also the device's life cycle.
 */
#include "dev/display/vga.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "base/ckd.h"
#include "dev/display/vga_internal.h"

#define LOG_TAG "vga"
#include "base/log.h"

/* Writable bits of each sequencer and graphics register (the rest read as zero). */
static const uint8_t seq_mask[VGA_SEQ_NREGS] = {0x03, 0x3d, 0x0f, 0x3f, 0x0e, 0, 0, 0};
static const uint8_t gr_mask[VGA_GR_NREGS] = {0x0f, 0x0f, 0x0f, 0x1f, 0x03, 0x7b, 0x0f, 0x0f,
                                              0xff, 0,    0,    0,    0,    0,    0,    0};
#define AR_REGS 0x15
#define CRTC_REGS 0x19

/* Each bit of a 4-bit plane mask as a byte of 0xff (plane p is byte p of a VGA word). */
static uint32_t expand4(unsigned mask)
{
    uint32_t v = 0;
    for (unsigned p = 0; p < 4; p++)
        if (mask & (1u << p))
            v |= 0xffu << (8 * p);
    return v;
}

void vga_mark_dirty(struct vga *v, uint64_t off, uint64_t len)
{
    if (len == 0 || off >= v->vram_bytes)
        return;
    uint64_t last = MIN(off + len, v->vram_bytes) - 1;
    for (uint64_t p = off / VGA_PAGE_BYTES; p <= last / VGA_PAGE_BYTES; p++)
        v->soft_dirty[p / 64] |= 1ULL << (p % 64);
}

void vga_invalidate(struct vga *v)
{
    pthread_mutex_lock(&v->lock);
    v->gen++;
    pthread_mutex_unlock(&v->lock);
}

static void attr_write(struct vga *v, uint8_t val)
{
    if (!v->ar_is_data) {
        v->ar_index = val & 0x3f;
    } else if ((v->ar_index & 0x1f) < AR_REGS) {
        v->ar[v->ar_index & 0x1f] = val;
    }
    v->ar_is_data = !v->ar_is_data;
}

static void dac_write(struct vga *v, uint8_t val)
{
    v->dac_cache[v->dac_sub++] = val;
    if (v->dac_sub == 3) {
        memcpy(&v->dac[3 * v->dac_write_index], v->dac_cache, 3);
        v->dac_write_index++; /* wraps at 256 as the hardware's index does */
        v->dac_sub = 0;
    }
}

static uint8_t dac_read(struct vga *v)
{
    uint8_t val = v->dac[3 * v->dac_read_index + v->dac_sub];
    if (++v->dac_sub == 3) {
        v->dac_sub = 0;
        v->dac_read_index++;
    }
    return val;
}

static void crtc_write(struct vga *v, uint8_t val)
{
    unsigned i = v->crtc_index;
    if (i >= CRTC_REGS)
        return;
    /* CR11 bit 7 protects CR00..CR07, except the line compare bit of CR07. */
    if ((v->crtc[0x11] & 0x80) && i <= 7) {
        if (i == 7)
            v->crtc[7] = (uint8_t)((v->crtc[7] & ~0x10) | (val & 0x10));
        return;
    }
    v->crtc[i] = val;
}

void vga_ioport_write(struct vga *v, unsigned port, uint8_t val)
{
    switch (port) {
    case 0x3c0:
        attr_write(v, val);
        break;
    case 0x3c2:
        v->misc = val & (uint8_t)~0x10;
        break;
    case 0x3c4:
        v->seq_index = val & (VGA_SEQ_NREGS - 1);
        return;
    case 0x3c5:
        v->seq[v->seq_index] = val & seq_mask[v->seq_index];
        break;
    case 0x3c6:
        v->pel_mask = val;
        break;
    case 0x3c7:
        v->dac_read_index = val;
        v->dac_sub = 0;
        v->dac_state = 3;
        return;
    case 0x3c8:
        v->dac_write_index = val;
        v->dac_sub = 0;
        v->dac_state = 0;
        return;
    case 0x3c9:
        dac_write(v, val);
        break;
    case 0x3ce:
        v->gr_index = val & (VGA_GR_NREGS - 1);
        return;
    case 0x3cf:
        v->gr[v->gr_index] = val & gr_mask[v->gr_index];
        break;
    case 0x3d4:
        v->crtc_index = val;
        return;
    case 0x3d5:
        crtc_write(v, val);
        break;
    default: /* 0x3da feature control and the rest: nothing */
        return;
    }
    v->gen++;
}

uint8_t vga_ioport_read(struct vga *v, unsigned port)
{
    switch (port) {
    case 0x3c0:
        return v->ar_index;
    case 0x3c1:
        return (v->ar_index & 0x1f) < AR_REGS ? v->ar[v->ar_index & 0x1f] : 0;
    case 0x3c2:
        return 0x10; /* input status 0: switch sense */
    case 0x3c4:
        return v->seq_index;
    case 0x3c5:
        return v->seq[v->seq_index];
    case 0x3c6:
        return v->pel_mask;
    case 0x3c7:
        return v->dac_state;
    case 0x3c8:
        return v->dac_write_index;
    case 0x3c9:
        return dac_read(v);
    case 0x3ca:
        return v->feature;
    case 0x3cc:
        return v->misc;
    case 0x3ce:
        return v->gr_index;
    case 0x3cf:
        return v->gr[v->gr_index];
    case 0x3d4:
        return v->crtc_index;
    case 0x3d5:
        return v->crtc_index < CRTC_REGS ? v->crtc[v->crtc_index] : 0xff;
    case 0x3da:
        /* Input status 1: display enable and vertical retrace toggle, so polling loops end;
         * reading it also resets the attribute flip-flop to "index". */
        v->ar_is_data = false;
        v->st01 ^= 0x09;
        return v->st01;
    default:
        return 0xff;
    }
}

static uint64_t port_read(void *opaque, uint64_t off, unsigned size)
{
    struct vga *v = opaque;
    uint64_t val = 0;
    pthread_mutex_lock(&v->lock);
    for (unsigned i = 0; i < size && off + i < VGA_PORT_COUNT; i++)
        val |= (uint64_t)vga_ioport_read(v, VGA_PORT_BASE + (unsigned)off + i) << (8 * i);
    pthread_mutex_unlock(&v->lock);
    return val;
}

/* A 16-bit out to an index port writes index then data, as on the ISA bus. */
static void port_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    struct vga *v = opaque;
    pthread_mutex_lock(&v->lock);
    for (unsigned i = 0; i < size && off + i < VGA_PORT_COUNT; i++)
        vga_ioport_write(v, VGA_PORT_BASE + (unsigned)off + i, (uint8_t)(val >> (8 * i)));
    pthread_mutex_unlock(&v->lock);
}

const struct io_ops vga_port_ops = {.read = port_read, .write = port_write};

/* The window offset (off) as an address in the mapped memory (GR06 memory map), or false. */
static bool window_addr(const struct vga *v, uint64_t off, uint64_t *addr)
{
    switch ((v->gr[6] >> 2) & 3) {
    case 0:
        *addr = off;
        return true;
    case 1:
        *addr = off + v->bank_offset;
        return off < 0x10000;
    case 2:
        *addr = off - 0x10000;
        return off >= 0x10000 && off < 0x18000;
    default:
        *addr = off - 0x18000;
        return off >= 0x18000;
    }
}

static uint8_t mem_readb(struct vga *v, uint64_t off)
{
    uint64_t addr, byte;
    if (!window_addr(v, off, &addr))
        return 0xff;
    if (v->seq[4] & SR04_CHAIN4)
        return addr < v->vram_bytes ? v->vram[addr] : 0xff;
    if (v->gr[5] & GR05_ODD_EVEN) {
        byte = ((addr & ~1ULL) << 1) | ((v->gr[4] & 2) | (addr & 1));
        return byte < v->vram_bytes ? v->vram[byte] : 0xff;
    }
    if (addr >= v->vram_bytes / 4)
        return 0xff;
    memcpy(&v->latch, &v->vram[4 * addr], 4);
    if (!(v->gr[5] & 0x08))
        return (uint8_t)(v->latch >> (8 * (v->gr[4] & 3)));
    /* read mode 1: colour compare against GR02, planes selected by GR07 */
    uint32_t r = (v->latch ^ expand4(v->gr[2])) & expand4(v->gr[7]);
    r |= r >> 16;
    r |= r >> 8;
    return (uint8_t)~r;
}

/* The value written by a planar (latched) write of (val) in write modes 0..3 and the ALU. */
static uint32_t planar_value(struct vga *v, uint8_t val)
{
    unsigned rot = v->gr[3] & 7;
    uint32_t bit_mask = v->gr[8], out;
    uint8_t r = (uint8_t)((val >> rot) | (val << ((8 - rot) & 7)));
    switch (v->gr[5] & 3) {
    case 0:
        out = r * 0x01010101u;
        out = (out & ~expand4(v->gr[1])) | (expand4(v->gr[0]) & expand4(v->gr[1]));
        break;
    case 1:
        return v->latch;
    case 2:
        out = expand4(val & 0x0f);
        break;
    default:
        bit_mask &= r;
        out = expand4(v->gr[0]);
        break;
    }
    switch (v->gr[3] >> 3) {
    case 1:
        out &= v->latch;
        break;
    case 2:
        out |= v->latch;
        break;
    case 3:
        out ^= v->latch;
        break;
    default:
        break;
    }
    bit_mask *= 0x01010101u;
    return (out & bit_mask) | (v->latch & ~bit_mask);
}

static void mem_writeb(struct vga *v, uint64_t off, uint8_t val)
{
    uint64_t addr, byte;
    unsigned plane;
    if (!window_addr(v, off, &addr))
        return;
    if (v->seq[4] & SR04_CHAIN4) {
        if (addr < v->vram_bytes && (v->seq[2] & (1u << (addr & 3)))) {
            v->vram[addr] = val;
            vga_mark_dirty(v, addr, 1);
        }
        return;
    }
    if (v->gr[5] & GR05_ODD_EVEN) {
        plane = (v->gr[4] & 2) | (addr & 1);
        byte = ((addr & ~1ULL) << 1) | plane;
        if (byte < v->vram_bytes && (v->seq[2] & (1u << plane))) {
            v->vram[byte] = val;
            vga_mark_dirty(v, byte, 1);
        }
        return;
    }
    if (addr >= v->vram_bytes / 4)
        return;
    uint32_t word, mask = expand4(v->seq[2]), out = planar_value(v, val);
    memcpy(&word, &v->vram[4 * addr], 4);
    word = (word & ~mask) | (out & mask);
    memcpy(&v->vram[4 * addr], &word, 4);
    vga_mark_dirty(v, 4 * addr, 4);
}

static uint64_t mem_read(void *opaque, uint64_t off, unsigned size)
{
    struct vga *v = opaque;
    uint64_t val = 0;
    pthread_mutex_lock(&v->lock);
    for (unsigned i = 0; i < size; i++)
        val |= (uint64_t)mem_readb(v, off + i) << (8 * i);
    pthread_mutex_unlock(&v->lock);
    return val;
}

static void mem_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    struct vga *v = opaque;
    pthread_mutex_lock(&v->lock);
    for (unsigned i = 0; i < size; i++)
        mem_writeb(v, off + i, (uint8_t)(val >> (8 * i)));
    pthread_mutex_unlock(&v->lock);
}

const struct io_ops vga_mem_ops = {.read = mem_read, .write = mem_write};

void vga_reset(struct vga *v)
{
    pthread_mutex_lock(&v->lock);
    v->misc = v->feature = v->st01 = 0;
    v->seq_index = v->gr_index = v->crtc_index = v->ar_index = 0;
    memset(v->seq, 0, sizeof(v->seq));
    memset(v->gr, 0, sizeof(v->gr));
    memset(v->crtc, 0, sizeof(v->crtc));
    memset(v->ar, 0, sizeof(v->ar));
    memset(v->dac, 0, sizeof(v->dac));
    v->ar_is_data = false;
    v->dac_read_index = v->dac_write_index = v->dac_sub = v->dac_state = 0;
    v->pel_mask = 0xff;
    v->latch = 0;
    v->bank_offset = 0;
    vga_vbe_reset(v);
    v->gen++;
    pthread_mutex_unlock(&v->lock);
}

int vga_create(const struct vga_config *cfg, const struct vga_host_ops *host, void *opaque,
               struct vga **out)
{
    uint64_t size = cfg->vram_bytes;
    if (!IS_POW2(size) || size < VGA_VRAM_MIN_BYTES || size > VGA_VRAM_MAX_BYTES)
        return -EINVAL;
    struct vga *v = calloc(1, sizeof(*v));
    if (v == NULL)
        return -ENOMEM;
    pthread_mutex_init(&v->lock, NULL);
    pthread_mutex_init(&v->frame_lock, NULL);
    v->vram_bytes = size;
    v->npages = size / VGA_PAGE_BYTES;
    v->soft_dirty = calloc((v->npages + 63) / 64, sizeof(uint64_t));
    v->dirty = calloc((v->npages + 63) / 64, sizeof(uint64_t));
    v->line = calloc(VGA_MAX_XRES, sizeof(uint32_t));
    v->vram =
        mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (v->vram == MAP_FAILED)
        v->vram = NULL;
    if (!v->soft_dirty || !v->dirty || !v->line || !v->vram) {
        vga_destroy(v);
        return -ENOMEM;
    }
    v->has_legacy = cfg->has_legacy;
    v->host = host;
    v->host_opaque = opaque;
    vga_edid_build(v->edid, cfg->edid_width ? cfg->edid_width : 1024,
                   cfg->edid_height ? cfg->edid_height : 768);
    v->drawn_gen = UINT32_MAX;
    vga_reset(v);
    *out = v;
    return 0;
}

void vga_destroy(struct vga *v)
{
    if (v == NULL)
        return;
    if (v->vram != NULL)
        munmap(v->vram, v->vram_bytes);
    pthread_mutex_destroy(&v->lock);
    pthread_mutex_destroy(&v->frame_lock);
    free(v->soft_dirty);
    free(v->dirty);
    free(v->line);
    free(v->frame);
    free(v->tiles);
    free(v);
}

uint8_t *vga_vram(struct vga *v)
{
    return v->vram;
}

uint64_t vga_vram_bytes(const struct vga *v)
{
    return v->vram_bytes;
}

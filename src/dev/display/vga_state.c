/* SPDX-License-Identifier: MIT */
/*
 * Saved state of the display adapter (dev/display/vga.h): the registers (VGA, DAC, dispi) and
 * the non-zero pages of video memory. The EDID and the frame are not saved: the EDID comes from
 * the options, and the frame is drawn again from the registers after a load.
 */
#include <errno.h>
#include <string.h>

#include "base/statefile.h"
#include "dev/display/vga_internal.h"

static bool page_is_zero(const uint8_t *p)
{
    for (size_t i = 0; i < VGA_PAGE_BYTES; i++)
        if (p[i] != 0)
            return false;
    return true;
}

static void put_regs(struct vga *v, struct sf_buf *b)
{
    sf_put_u8(b, v->has_legacy);
    sf_put_u64(b, v->vram_bytes);
    sf_put_u8(b, v->misc);
    sf_put_u8(b, v->feature);
    sf_put_u8(b, v->st01);
    sf_put_u8(b, v->seq_index);
    sf_put_bytes(b, v->seq, sizeof(v->seq));
    sf_put_u8(b, v->gr_index);
    sf_put_bytes(b, v->gr, sizeof(v->gr));
    sf_put_u8(b, v->crtc_index);
    sf_put_bytes(b, v->crtc, sizeof(v->crtc));
    sf_put_u8(b, v->ar_index);
    sf_put_bytes(b, v->ar, sizeof(v->ar));
    sf_put_u8(b, v->ar_is_data);
    sf_put_u8(b, v->dac_read_index);
    sf_put_u8(b, v->dac_write_index);
    sf_put_u8(b, v->dac_sub);
    sf_put_u8(b, v->dac_state);
    sf_put_u8(b, v->pel_mask);
    sf_put_bytes(b, v->dac_cache, sizeof(v->dac_cache));
    sf_put_bytes(b, v->dac, sizeof(v->dac));
    sf_put_u32(b, v->latch);
    sf_put_u64(b, v->bank_offset);
    sf_put_u16(b, v->vbe_index);
    for (unsigned i = 0; i < VBE_NREGS; i++)
        sf_put_u16(b, v->vbe[i]);
}

void vga_save_state(struct vga *v, struct sf_buf *b)
{
    uint64_t n = 0;
    pthread_mutex_lock(&v->lock);
    put_regs(v, b);
    for (size_t p = 0; p < v->npages; p++)
        n += !page_is_zero(v->vram + p * VGA_PAGE_BYTES);
    sf_put_u64(b, n);
    for (size_t p = 0; p < v->npages; p++) {
        if (page_is_zero(v->vram + p * VGA_PAGE_BYTES))
            continue;
        sf_put_u32(b, (uint32_t)p);
        sf_put_bytes(b, v->vram + p * VGA_PAGE_BYTES, VGA_PAGE_BYTES);
    }
    pthread_mutex_unlock(&v->lock);
}

/* Reads the registers into (r), a scratch copy of the device. */
static int get_regs(const struct vga *v, struct vga *r, struct sf_in *in)
{
    bool has_legacy = sf_get_u8(in) != 0;
    uint64_t vram_bytes = sf_get_u64(in);
    r->misc = sf_get_u8(in);
    r->feature = sf_get_u8(in);
    r->st01 = sf_get_u8(in);
    r->seq_index = sf_get_u8(in);
    sf_get_bytes(in, r->seq, sizeof(r->seq));
    r->gr_index = sf_get_u8(in);
    sf_get_bytes(in, r->gr, sizeof(r->gr));
    r->crtc_index = sf_get_u8(in);
    sf_get_bytes(in, r->crtc, sizeof(r->crtc));
    r->ar_index = sf_get_u8(in);
    sf_get_bytes(in, r->ar, sizeof(r->ar));
    r->ar_is_data = sf_get_u8(in) != 0;
    r->dac_read_index = sf_get_u8(in);
    r->dac_write_index = sf_get_u8(in);
    r->dac_sub = sf_get_u8(in);
    r->dac_state = sf_get_u8(in);
    r->pel_mask = sf_get_u8(in);
    sf_get_bytes(in, r->dac_cache, sizeof(r->dac_cache));
    sf_get_bytes(in, r->dac, sizeof(r->dac));
    r->latch = sf_get_u32(in);
    r->bank_offset = sf_get_u64(in);
    r->vbe_index = sf_get_u16(in);
    for (unsigned i = 0; i < VBE_NREGS; i++)
        r->vbe[i] = sf_get_u16(in);
    if (in->bad || has_legacy != v->has_legacy || vram_bytes != v->vram_bytes)
        return -EINVAL;
    /* the indices as the port handlers keep them, and a bank inside video memory */
    if (r->seq_index >= VGA_SEQ_NREGS || r->gr_index >= VGA_GR_NREGS || r->ar_index > 0x3f ||
        r->dac_sub >= 3 || r->vbe[VBE_BANK] >= (v->vram_bytes >> 16) ||
        (r->bank_offset != 0 && r->bank_offset != (uint64_t)r->vbe[VBE_BANK] << 16) ||
        r->vbe[VBE_ID] < VBE_ID0 || r->vbe[VBE_ID] > VBE_ID5)
        return -EINVAL;
    return 0;
}

static void apply_regs(struct vga *v, const struct vga *r)
{
    v->misc = r->misc;
    v->feature = r->feature;
    v->st01 = r->st01;
    v->seq_index = r->seq_index;
    memcpy(v->seq, r->seq, sizeof(v->seq));
    v->gr_index = r->gr_index;
    memcpy(v->gr, r->gr, sizeof(v->gr));
    v->crtc_index = r->crtc_index;
    memcpy(v->crtc, r->crtc, sizeof(v->crtc));
    v->ar_index = r->ar_index;
    memcpy(v->ar, r->ar, sizeof(v->ar));
    v->ar_is_data = r->ar_is_data;
    v->dac_read_index = r->dac_read_index;
    v->dac_write_index = r->dac_write_index;
    v->dac_sub = r->dac_sub;
    v->dac_state = r->dac_state;
    v->pel_mask = r->pel_mask;
    memcpy(v->dac_cache, r->dac_cache, sizeof(v->dac_cache));
    memcpy(v->dac, r->dac, sizeof(v->dac));
    v->latch = r->latch;
    v->bank_offset = r->bank_offset;
    v->vbe_index = r->vbe_index;
    memcpy(v->vbe, r->vbe, sizeof(v->vbe));
}

int vga_load_state(struct vga *v, struct sf_in *in)
{
    struct vga r = {0}; /* scratch registers, applied once all of the section checks out */
    uint64_t n;
    int ret = get_regs(v, &r, in);
    if (ret < 0)
        return ret;
    n = sf_get_u64(in);
    if (in->bad || n > v->npages)
        return -EINVAL;
    pthread_mutex_lock(&v->lock);
    memset(v->vram, 0, v->vram_bytes);
    for (uint64_t i = 0; i < n && ret == 0; i++) {
        uint32_t p = sf_get_u32(in);
        if (in->bad || p >= v->npages)
            ret = -EINVAL;
        else
            sf_get_bytes(in, v->vram + (size_t)p * VGA_PAGE_BYTES, VGA_PAGE_BYTES);
    }
    if (ret == 0 && (in->bad || sf_in_end(in) < 0))
        ret = -EINVAL;
    if (ret == 0)
        apply_regs(v, &r);
    memset(v->soft_dirty, 0xff, (v->npages + 63) / 64 * sizeof(uint64_t));
    v->gen++; /* the whole frame is drawn again */
    pthread_mutex_unlock(&v->lock);
    return ret;
}

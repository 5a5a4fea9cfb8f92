/* SPDX-License-Identifier: MIT */
/*
 * The two 8237A DMA controllers and the page registers (dev/legacy/i8237.h). Registers of
 * one controller, by index (port - base for controller 1, (port - 0xc0) / 2 for controller 2):
 *   0-7  address (even) and count (odd) of channels 0-3, two bytes each through the flip-flop
 *   8    status (read: TC bits 0-3, cleared by the read; request bits 4-7) / command (write)
 *   9    request (write)          10 single mask bit (write)      11 mode (write)
 *   12   clear flip-flop (write)  13 temporary (read) / master clear (write)
 *   14   clear all masks (write)  15 all mask bits (read and write)
 */
#include "dev/legacy/i8237.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/gmem.h"

#define PORT_DMA1 0x00
#define PORT_DMA2 0xc0
#define PORT_DMA_PAGE 0x80

struct dma_chan {
    uint16_t base_addr, base_count;
    uint16_t cur_addr, cur_count;
    uint8_t mode;
    uint8_t page;
};

struct dma_ctl {
    struct dma_chan ch[4];
    uint8_t command, status, request, mask, temp;
    bool flipflop;
};

struct i8237 {
    pthread_mutex_t lock;
    struct gmem *gm;
    struct dma_ctl ctl[2];
    uint8_t page_regs[16]; /* the bytes of 0x80-0x8f as written */
};

/* Page register port offset (0x80 + n) of each channel; channel 4 cascades and has none. */
static const int8_t page_port[I8237_NR_CHANNELS] = {7, 3, 1, 2, -1, 0xb, 9, 0xa};

static void master_clear(struct dma_ctl *c)
{
    c->command = c->status = c->request = c->temp = 0;
    c->flipflop = false;
    c->mask = 0x0f;
}

int i8237_create(struct gmem *gm, struct i8237 **out)
{
    struct i8237 *d = calloc(1, sizeof(*d));
    if (d == NULL)
        return -ENOMEM;
    pthread_mutex_init(&d->lock, NULL);
    d->gm = gm;
    master_clear(&d->ctl[0]);
    master_clear(&d->ctl[1]);
    *out = d;
    return 0;
}

void i8237_destroy(struct i8237 *d)
{
    if (d == NULL)
        return;
    pthread_mutex_destroy(&d->lock);
    free(d);
}

/* Reads or writes one byte of a 16-bit register through the flip-flop. */
static uint8_t reg16_read(struct dma_ctl *c, uint16_t v)
{
    uint8_t b = c->flipflop ? (uint8_t)(v >> 8) : (uint8_t)v;
    c->flipflop = !c->flipflop;
    return b;
}

static void reg16_write(struct dma_ctl *c, uint16_t *base, uint16_t *cur, uint8_t val)
{
    if (c->flipflop)
        *base = (uint16_t)((*base & 0x00ff) | (val << 8));
    else
        *base = (uint16_t)((*base & 0xff00) | val);
    *cur = *base;
    c->flipflop = !c->flipflop;
}

static uint8_t ctl_read(struct dma_ctl *c, unsigned reg)
{
    uint8_t v;
    if (reg < 8) {
        struct dma_chan *ch = &c->ch[reg / 2];
        return reg16_read(c, reg & 1 ? ch->cur_count : ch->cur_addr);
    }
    switch (reg) {
    case 8:
        v = c->status;
        c->status &= 0xf0; /* the TC bits clear when read */
        return v;
    case 13:
        return c->temp;
    case 15:
        return (uint8_t)(0xf0 | c->mask);
    default:
        return 0xff;
    }
}

static void ctl_write(struct dma_ctl *c, unsigned reg, uint8_t val)
{
    if (reg < 8) {
        struct dma_chan *ch = &c->ch[reg / 2];
        if (reg & 1)
            reg16_write(c, &ch->base_count, &ch->cur_count, val);
        else
            reg16_write(c, &ch->base_addr, &ch->cur_addr, val);
        return;
    }
    switch (reg) {
    case 8:
        c->command = val;
        break;
    case 9: /* software request: recorded in the status, no transfer without a device */
        if (val & 4)
            c->request |= (uint8_t)(1u << (val & 3));
        else
            c->request &= (uint8_t) ~(1u << (val & 3));
        c->status = (uint8_t)((c->status & 0x0f) | (c->request << 4));
        break;
    case 10:
        if (val & 4)
            c->mask |= (uint8_t)(1u << (val & 3));
        else
            c->mask &= (uint8_t) ~(1u << (val & 3));
        break;
    case 11:
        c->ch[val & 3].mode = (uint8_t)(val & 0xfc);
        break;
    case 12:
        c->flipflop = false;
        break;
    case 13:
        master_clear(c);
        break;
    case 14:
        c->mask = 0;
        break;
    case 15:
        c->mask = val & 0x0f;
        break;
    default:
        break;
    }
}

static uint64_t ctl1_read(void *opaque, uint64_t off, unsigned size)
{
    struct i8237 *d = opaque;
    uint8_t v;
    (void)size;
    pthread_mutex_lock(&d->lock);
    v = ctl_read(&d->ctl[0], (unsigned)off & 15);
    pthread_mutex_unlock(&d->lock);
    return v;
}

static void ctl1_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    struct i8237 *d = opaque;
    (void)size;
    pthread_mutex_lock(&d->lock);
    ctl_write(&d->ctl[0], (unsigned)off & 15, (uint8_t)val);
    pthread_mutex_unlock(&d->lock);
}

/* Controller 2's registers sit on even ports; the odd ones read 0xff and ignore writes. */
static uint64_t ctl2_read(void *opaque, uint64_t off, unsigned size)
{
    struct i8237 *d = opaque;
    uint8_t v = 0xff;
    (void)size;
    if (off & 1)
        return v;
    pthread_mutex_lock(&d->lock);
    v = ctl_read(&d->ctl[1], (unsigned)(off / 2) & 15);
    pthread_mutex_unlock(&d->lock);
    return v;
}

static void ctl2_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    struct i8237 *d = opaque;
    (void)size;
    if (off & 1)
        return;
    pthread_mutex_lock(&d->lock);
    ctl_write(&d->ctl[1], (unsigned)(off / 2) & 15, (uint8_t)val);
    pthread_mutex_unlock(&d->lock);
}

static uint64_t page_read(void *opaque, uint64_t off, unsigned size)
{
    struct i8237 *d = opaque;
    uint8_t v;
    (void)size;
    pthread_mutex_lock(&d->lock);
    v = d->page_regs[off & 15];
    pthread_mutex_unlock(&d->lock);
    return v;
}

static void page_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    struct i8237 *d = opaque;
    (void)size;
    pthread_mutex_lock(&d->lock);
    d->page_regs[off & 15] = (uint8_t)val;
    for (unsigned ch = 0; ch < I8237_NR_CHANNELS; ch++)
        if (page_port[ch] == (int)(off & 15))
            d->ctl[ch / 4].ch[ch % 4].page = (uint8_t)val;
    pthread_mutex_unlock(&d->lock);
}

const struct io_ops i8237_io_ops_ctl1 = {.read = ctl1_read, .write = ctl1_write};
const struct io_ops i8237_io_ops_ctl2 = {.read = ctl2_read, .write = ctl2_write};
const struct io_ops i8237_io_ops_page = {.read = page_read, .write = page_write};

int i8237_attach(struct i8237 *d, struct bus *pio)
{
    int ret = bus_register(pio, PORT_DMA1, 16, &i8237_io_ops_ctl1, d, "dma1");
    if (ret == 0)
        ret = bus_register(pio, PORT_DMA_PAGE, 16, &i8237_io_ops_page, d, "dma-page");
    if (ret == 0)
        ret = bus_register(pio, PORT_DMA2, 32, &i8237_io_ops_ctl2, d, "dma2");
    return ret;
}

static struct dma_chan *chan(struct i8237 *d, unsigned ch)
{
    return &d->ctl[ch / 4].ch[ch % 4];
}

static bool is_masked(struct i8237 *d, unsigned ch)
{
    return (d->ctl[ch / 4].mask >> (ch % 4)) & 1;
}

bool i8237_is_armed(struct i8237 *d, unsigned ch)
{
    bool armed;
    if (ch >= I8237_NR_CHANNELS || ch == 4)
        return false;
    pthread_mutex_lock(&d->lock);
    armed = !is_masked(d, ch);
    pthread_mutex_unlock(&d->lock);
    return armed;
}

uint32_t i8237_remaining(struct i8237 *d, unsigned ch)
{
    uint32_t n;
    if (ch >= I8237_NR_CHANNELS)
        return 0;
    pthread_mutex_lock(&d->lock);
    n = ((uint32_t)chan(d, ch)->cur_count + 1) << (ch >= 4 ? 1 : 0);
    pthread_mutex_unlock(&d->lock);
    return n;
}

uint8_t i8237_mode(struct i8237 *d, unsigned ch)
{
    uint8_t m;
    if (ch >= I8237_NR_CHANNELS)
        return 0;
    pthread_mutex_lock(&d->lock);
    m = chan(d, ch)->mode;
    pthread_mutex_unlock(&d->lock);
    return m;
}

/*
 * Moves one unit (1 byte, or 2 on a 16-bit channel) at the channel's current address: the
 * guest physical address is the page's window (64 KiB, or 128 KiB with bit 0 of the page
 * ignored) plus the current address (in words on a 16-bit channel), so it never leaves the
 * window whatever the guest programmed.
 */
static void move_unit(struct i8237 *d, unsigned ch, uint8_t *p, unsigned unit, int dir)
{
    struct dma_chan *c = chan(d, ch);
    uint64_t gpa = ch >= 4 ? ((uint64_t)(c->page & 0xfe) << 16) | ((uint64_t)c->cur_addr << 1)
                           : ((uint64_t)c->page << 16) | c->cur_addr;
    uint8_t type = c->mode & I8237_MODE_TYPE_MASK;
    uint8_t *mem = gmem_ptr(d->gm, gpa, unit);
    if (dir > 0) { /* device to memory */
        if (type == I8237_MODE_WRITE && mem != NULL) {
            memcpy(mem, p, unit);
            gmem_mark_dirty(d->gm, gpa, unit); /* for a live save: KVM does not see it */
        }
    } else if (type == I8237_MODE_READ && mem != NULL) {
        memcpy(p, mem, unit);
    } else {
        memset(p, 0xff, unit);
    }
    c->cur_addr = (uint16_t)(c->cur_addr + ((c->mode & I8237_MODE_DECREMENT) ? -1 : 1));
}

/* Terminal count on channel (ch): status bit, then reload or mask. */
static void terminal_count(struct i8237 *d, unsigned ch)
{
    struct dma_ctl *ctl = &d->ctl[ch / 4];
    struct dma_chan *c = &ctl->ch[ch % 4];
    ctl->status |= (uint8_t)(1u << (ch % 4));
    ctl->request &= (uint8_t) ~(1u << (ch % 4));
    if (c->mode & I8237_MODE_AUTOINIT) {
        c->cur_addr = c->base_addr;
        c->cur_count = c->base_count;
    } else {
        ctl->mask |= (uint8_t)(1u << (ch % 4));
    }
}

size_t i8237_transfer(struct i8237 *d, unsigned ch, void *buf, size_t len, bool is_to_mem, bool *tc)
{
    unsigned unit = ch >= 4 ? 2 : 1;
    uint8_t *p = buf, pad[2];
    size_t done = 0;
    *tc = false;
    if (ch >= I8237_NR_CHANNELS || ch == 4)
        return 0;
    pthread_mutex_lock(&d->lock);
    while (done < len && !is_masked(d, ch) && !*tc) {
        struct dma_chan *c = chan(d, ch);
        size_t n = len - done < unit ? len - done : unit;
        /* a last odd byte on a 16-bit channel goes through a padded word */
        uint8_t *u = n == unit ? p + done : pad;
        if (u == pad) {
            memset(pad, 0, sizeof(pad));
            memcpy(pad, p + done, n);
        }
        move_unit(d, ch, u, unit, is_to_mem ? 1 : -1);
        if (u == pad && !is_to_mem)
            memcpy(p + done, pad, n);
        done += n;
        if (c->cur_count-- == 0) {
            terminal_count(d, ch);
            *tc = true;
        }
    }
    pthread_mutex_unlock(&d->lock);
    return done;
}

void i8237_save(struct i8237 *d, struct sf_buf *b)
{
    pthread_mutex_lock(&d->lock);
    for (unsigned i = 0; i < 2; i++) {
        const struct dma_ctl *c = &d->ctl[i];
        for (unsigned j = 0; j < 4; j++) {
            sf_put_u16(b, c->ch[j].base_addr);
            sf_put_u16(b, c->ch[j].base_count);
            sf_put_u16(b, c->ch[j].cur_addr);
            sf_put_u16(b, c->ch[j].cur_count);
            sf_put_u8(b, c->ch[j].mode);
            sf_put_u8(b, c->ch[j].page);
        }
        sf_put_u8(b, c->command);
        sf_put_u8(b, c->status);
        sf_put_u8(b, c->request);
        sf_put_u8(b, c->mask);
        sf_put_u8(b, c->temp);
        sf_put_u8(b, c->flipflop);
    }
    sf_put_bytes(b, d->page_regs, sizeof(d->page_regs));
    pthread_mutex_unlock(&d->lock);
}

int i8237_load(struct i8237 *d, struct sf_in *in)
{
    struct dma_ctl ctl[2];
    uint8_t pages[16];
    uint8_t ff[2];
    for (unsigned i = 0; i < 2; i++) {
        struct dma_ctl *c = &ctl[i];
        for (unsigned j = 0; j < 4; j++) {
            c->ch[j].base_addr = sf_get_u16(in);
            c->ch[j].base_count = sf_get_u16(in);
            c->ch[j].cur_addr = sf_get_u16(in);
            c->ch[j].cur_count = sf_get_u16(in);
            c->ch[j].mode = sf_get_u8(in);
            c->ch[j].page = sf_get_u8(in);
        }
        c->command = sf_get_u8(in);
        c->status = sf_get_u8(in);
        c->request = sf_get_u8(in);
        c->mask = sf_get_u8(in);
        c->temp = sf_get_u8(in);
        ff[i] = sf_get_u8(in);
        c->flipflop = ff[i] != 0;
    }
    sf_get_bytes(in, pages, sizeof(pages));
    if (sf_in_end(in) < 0 || ff[0] > 1 || ff[1] > 1 || (ctl[0].mask | ctl[1].mask) > 0x0f)
        return -EINVAL;
    pthread_mutex_lock(&d->lock);
    memcpy(d->ctl, ctl, sizeof(ctl));
    memcpy(d->page_regs, pages, sizeof(pages));
    pthread_mutex_unlock(&d->lock);
    return 0;
}

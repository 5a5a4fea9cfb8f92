/* SPDX-License-Identifier: MIT */
/*
 * Implementation of dev/legacy/pflash.h: the Intel/Sharp CFI command set of an 8-bit flash
 * (CFI primary command set 0x0001; the query table of the JEDEC CFI publication JESD68).
 */
#include "dev/legacy/pflash.h"

#include <errno.h>
#include <string.h>

#include "base/statefile.h"

#define CMD_READ_ARRAY 0xff
#define CMD_READ_ARRAY_ALT 0x00 /* an old alias QEMU also takes */
#define CMD_READ_STATUS 0x70
#define CMD_CLEAR_STATUS 0x50
#define CMD_READ_ID 0x90
#define CMD_CFI_QUERY 0x98
#define CMD_PROGRAM 0x10
#define CMD_PROGRAM_ALT 0x40
#define CMD_ERASE 0x20
#define CMD_ERASE_CONFIRM 0xd0

static unsigned log2_floor(uint64_t v)
{
    unsigned n = 0;
    while (v > 1) {
        v >>= 1;
        n++;
    }
    return n;
}

static void put16(uint8_t *p, unsigned v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

/* The CFI query table, byte-addressed (an 8-bit device in x8 mode). */
static void build_cfi(struct pflash *f)
{
    uint8_t *c = f->cfi;
    uint64_t nblocks = f->size / f->block_size;
    memset(c, 0, sizeof(f->cfi));
    c[0x10] = 'Q';
    c[0x11] = 'R';
    c[0x12] = 'Y';
    put16(&c[0x13], 0x0001); /* Intel/Sharp extended command set */
    c[0x1b] = 0x45;          /* Vcc min 4.5 V */
    c[0x1c] = 0x55;          /* Vcc max 5.5 V */
    c[0x1f] = 0x07;          /* typical program: 2^7 us */
    c[0x21] = 0x0a;          /* typical block erase: 2^10 ms */
    c[0x23] = 0x04;
    c[0x25] = 0x04;
    c[0x27] = (uint8_t)log2_floor(f->size); /* device size 2^n bytes (rounded down) */
    put16(&c[0x28], 0x0000);                /* x8 interface */
    c[0x2c] = 1;                            /* one erase block region */
    put16(&c[0x2d], (unsigned)(nblocks - 1));
    put16(&c[0x2f], f->block_size >> 8);
}

static void set_mode(struct pflash *f, enum pflash_mode mode)
{
    bool was_array = f->mode == PFLASH_READ_ARRAY, is_array = mode == PFLASH_READ_ARRAY;
    f->mode = mode;
    if (is_array && f->is_dirty) {
        f->is_dirty = false;
        if (f->hooks.sync != NULL)
            f->hooks.sync(f->opaque);
    }
    if (was_array != is_array && f->hooks.set_array_mode != NULL)
        f->hooks.set_array_mode(f->opaque, is_array);
}

int pflash_init(struct pflash *f, uint8_t *array, uint64_t size, uint32_t block_size,
                const struct pflash_hooks *hooks, void *opaque)
{
    memset(f, 0, sizeof(*f));
    if (array == NULL || block_size < 256 || (block_size & (block_size - 1)) != 0 || size == 0 ||
        size % block_size != 0 || size / block_size > 0x10000)
        return -EINVAL;
    f->array = array;
    f->size = size;
    f->block_size = block_size;
    if (hooks != NULL)
        f->hooks = *hooks;
    f->opaque = opaque;
    build_cfi(f);
    f->mode = PFLASH_READ_ARRAY;
    f->status = PFLASH_STATUS_READY;
    return 0;
}

void pflash_reset(struct pflash *f)
{
    f->status = PFLASH_STATUS_READY;
    set_mode(f, PFLASH_READ_ARRAY);
}

static bool in_range(const struct pflash *f, uint64_t off, unsigned size)
{
    return (size == 1 || size == 2 || size == 4 || size == 8) && off < f->size &&
           size <= f->size - off;
}

/* The byte at (off) in the current mode. */
static uint8_t read_byte(const struct pflash *f, uint64_t off)
{
    switch (f->mode) {
    case PFLASH_READ_ARRAY:
        return f->array[off];
    case PFLASH_READ_ID:
        /* x8: manufacturer at 0, device at 1, repeated every 2 bytes as QEMU does */
        return (off & 1) == 0 ? PFLASH_MANUFACTURER : PFLASH_DEVICE;
    case PFLASH_CFI_QUERY:
        return off < PFLASH_CFI_LEN ? f->cfi[off] : 0;
    default: /* status, and while a program or an erase waits for its second write */
        return f->status;
    }
}

uint64_t pflash_read(struct pflash *f, uint64_t off, unsigned size)
{
    uint64_t v = 0;
    if (!in_range(f, off, size))
        return ~0ULL;
    for (unsigned i = 0; i < size; i++)
        v |= (uint64_t)read_byte(f, off + i) << (8 * i);
    return v;
}

static void changed(struct pflash *f, uint64_t off, size_t len)
{
    f->is_dirty = true;
    if (f->hooks.persist != NULL)
        f->hooks.persist(f->opaque, off, len);
}

static void program(struct pflash *f, uint64_t off, uint64_t val, unsigned size)
{
    for (unsigned i = 0; i < size; i++)
        f->array[off + i] = (uint8_t)(val >> (8 * i));
    changed(f, off, size);
    f->status |= PFLASH_STATUS_READY;
    set_mode(f, PFLASH_READ_STATUS);
}

static void erase(struct pflash *f)
{
    uint64_t start = f->erase_off & ~(uint64_t)(f->block_size - 1);
    memset(f->array + start, 0xff, f->block_size);
    changed(f, start, f->block_size);
    f->status |= PFLASH_STATUS_READY;
    set_mode(f, PFLASH_READ_STATUS);
}

/* A command byte (cmd) written at (off) outside a program or erase sequence. */
static void command(struct pflash *f, uint64_t off, uint8_t cmd)
{
    switch (cmd) {
    case CMD_READ_ARRAY:
    case CMD_READ_ARRAY_ALT:
        set_mode(f, PFLASH_READ_ARRAY);
        break;
    case CMD_READ_STATUS:
        set_mode(f, PFLASH_READ_STATUS);
        break;
    case CMD_CLEAR_STATUS:
        f->status = 0;
        set_mode(f, PFLASH_READ_ARRAY);
        break;
    case CMD_READ_ID:
        set_mode(f, PFLASH_READ_ID);
        break;
    case CMD_CFI_QUERY:
        set_mode(f, PFLASH_CFI_QUERY);
        break;
    case CMD_PROGRAM:
    case CMD_PROGRAM_ALT:
        set_mode(f, PFLASH_PROGRAM);
        break;
    case CMD_ERASE:
        f->erase_off = off;
        set_mode(f, PFLASH_ERASE_SETUP);
        break;
    default: /* unknown, or a confirm without its setup: a sequence error */
        f->status |= PFLASH_STATUS_SEQ_ERROR;
        set_mode(f, PFLASH_READ_ARRAY);
        break;
    }
}

void pflash_write(struct pflash *f, uint64_t off, uint64_t val, unsigned size)
{
    if (!in_range(f, off, size))
        return;
    switch (f->mode) {
    case PFLASH_PROGRAM:
        program(f, off, val, size);
        return;
    case PFLASH_ERASE_SETUP:
        if ((uint8_t)val == CMD_ERASE_CONFIRM) {
            erase(f);
        } else {
            f->status |= PFLASH_STATUS_SEQ_ERROR;
            set_mode(f, PFLASH_READ_ARRAY);
        }
        return;
    default:
        command(f, off, (uint8_t)val);
        return;
    }
}

void pflash_save(const struct pflash *f, struct sf_buf *b)
{
    sf_put_u64(b, f->size);
    sf_put_u32(b, f->block_size);
    sf_put_u8(b, (uint8_t)f->mode);
    sf_put_u8(b, f->status);
    sf_put_u64(b, f->erase_off);
    sf_put_u8(b, f->is_dirty);
    sf_put_bytes(b, f->array, (size_t)f->size);
}

int pflash_load(struct pflash *f, struct sf_in *in)
{
    uint64_t size = sf_get_u64(in);
    uint32_t block_size = sf_get_u32(in);
    uint8_t mode = sf_get_u8(in), status = sf_get_u8(in);
    uint64_t erase_off = sf_get_u64(in);
    uint8_t is_dirty = sf_get_u8(in);
    const uint8_t *data = in->p + in->pos;
    bool has_changed = false;
    if (in->bad || size != f->size || block_size != f->block_size || mode > PFLASH_ERASE_SETUP ||
        erase_off >= f->size || is_dirty > 1 || f->mode != PFLASH_READ_ARRAY ||
        in->len - in->pos != size)
        return -EINVAL;
    in->pos = in->len;
    for (uint64_t off = 0; off < size; off += block_size) {
        if (memcmp(f->array + off, data + off, block_size) == 0)
            continue;
        memcpy(f->array + off, data + off, block_size);
        if (f->hooks.persist != NULL)
            f->hooks.persist(f->opaque, off, block_size);
        has_changed = true;
    }
    if (has_changed && f->hooks.sync != NULL)
        f->hooks.sync(f->opaque);
    f->status = status;
    f->erase_off = erase_off;
    f->is_dirty = is_dirty;
    set_mode(f, (enum pflash_mode)mode);
    return 0;
}

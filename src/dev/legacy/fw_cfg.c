/* SPDX-License-Identifier: MIT */
/*
 * Implementation of dev/legacy/fw_cfg.h, QEMU's fw_cfg interface as its firmware reads it
 * (the file directory of big-endian {size, select, reserved, name[56]} records after a
 * big-endian count; DMA accesses of big-endian {control, length, address}).
 */
#include "dev/legacy/fw_cfg.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/ckd.h"
#include "base/statefile.h"
#include "core/gmem.h"
#include "core/x86/layout.h"

#define LOG_TAG "fw_cfg"
#include "base/log.h"

#define DIR_ENTRY_BYTES 64

struct entry {
    uint16_t key;
    uint32_t len;
    uint8_t *data;
    char name[FW_CFG_MAX_FILE_NAME]; /* "" for an item that is not a file */
};

struct fw_cfg {
    pthread_mutex_t lock;
    struct gmem *gm;
    struct bus *pio; /* set by fw_cfg_attach */
    struct entry entries[FW_CFG_MAX_ENTRIES];
    unsigned nentries;
    unsigned nfiles;
    uint16_t cur_key; /* the selector as written (write and arch bits included) */
    uint32_t offset;  /* in the selected item, saturating at its length */
    uint32_t dma_high;
};

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static struct entry *find(struct fw_cfg *c, uint16_t key)
{
    for (unsigned i = 0; i < c->nentries; i++)
        if (c->entries[i].key == key)
            return &c->entries[i];
    return NULL;
}

/* Replaces (or adds) the blob of (key). Takes ownership of (data). */
static int set_entry(struct fw_cfg *c, uint16_t key, uint8_t *data, size_t len, const char *name)
{
    struct entry *e = find(c, key);
    if (len > UINT32_MAX) {
        free(data);
        return -EINVAL;
    }
    if (e == NULL) {
        if (c->nentries == FW_CFG_MAX_ENTRIES) {
            free(data);
            return -ENOSPC;
        }
        e = &c->entries[c->nentries++];
        e->key = key;
    }
    free(e->data);
    e->data = data;
    e->len = (uint32_t)len;
    snprintf(e->name, sizeof(e->name), "%s", name);
    return 0;
}

static uint8_t *dup_blob(const void *data, size_t len)
{
    uint8_t *p = malloc(len ? len : 1);
    if (p != NULL && len > 0)
        memcpy(p, data, len);
    return p;
}

/* The directory: the files in key order. Called with the lock held or before attach. */
static int rebuild_dir(struct fw_cfg *c)
{
    size_t bytes = 4 + (size_t)c->nfiles * DIR_ENTRY_BYTES;
    uint8_t *d = calloc(1, bytes), *p;
    if (d == NULL)
        return -ENOMEM;
    put_be32(d, c->nfiles);
    p = d + 4;
    for (unsigned i = 0; i < c->nentries; i++) {
        const struct entry *e = &c->entries[i];
        if (e->name[0] == '\0')
            continue;
        put_be32(p, e->len);
        p[4] = (uint8_t)(e->key >> 8);
        p[5] = (uint8_t)e->key;
        memcpy(p + 8, e->name, strlen(e->name));
        p += DIR_ENTRY_BYTES;
    }
    return set_entry(c, FW_CFG_FILE_DIR, d, bytes, "");
}

int fw_cfg_add_file(struct fw_cfg *c, const char *name, const void *data, size_t len)
{
    size_t nlen = strlen(name);
    uint8_t *copy;
    int ret;
    if (nlen == 0 || nlen >= FW_CFG_MAX_FILE_NAME || len > UINT32_MAX)
        return -EINVAL;
    for (unsigned i = 0; i < c->nentries; i++)
        if (strcmp(c->entries[i].name, name) == 0)
            return -EEXIST;
    if (c->nentries + 1 >= FW_CFG_MAX_ENTRIES || FW_CFG_FILE_FIRST + c->nfiles >= 0x4000)
        return -ENOSPC;
    copy = dup_blob(data, len);
    if (copy == NULL)
        return -ENOMEM;
    ret = set_entry(c, (uint16_t)(FW_CFG_FILE_FIRST + c->nfiles), copy, len, name);
    if (ret < 0)
        return ret;
    c->nfiles++;
    return rebuild_dir(c);
}

int fw_cfg_add_item(struct fw_cfg *c, uint16_t key, const void *data, size_t len)
{
    uint16_t index = key & (uint16_t)~FW_CFG_ARCH_LOCAL;
    uint8_t *copy;
    if ((key & FW_CFG_WRITE_CHANNEL) || key == FW_CFG_FILE_DIR ||
        (index >= FW_CFG_FILE_FIRST && !(key & FW_CFG_ARCH_LOCAL)))
        return -EINVAL;
    copy = dup_blob(data, len);
    if (copy == NULL)
        return -ENOMEM;
    return set_entry(c, key, copy, len, "");
}

int fw_cfg_create(struct gmem *gm, struct fw_cfg **out)
{
    struct fw_cfg *c = calloc(1, sizeof(*c));
    uint32_t id = FW_CFG_VERSION | FW_CFG_VERSION_DMA; /* little-endian, as QEMU's items */
    uint8_t id_le[4] = {(uint8_t)id, 0, 0, 0};
    int ret;
    if (c == NULL)
        return -ENOMEM;
    pthread_mutex_init(&c->lock, NULL);
    c->gm = gm;
    ret = fw_cfg_add_item(c, FW_CFG_SIGNATURE, "QEMU", 4);
    if (ret == 0)
        ret = fw_cfg_add_item(c, FW_CFG_ID, id_le, sizeof(id_le));
    if (ret == 0)
        ret = rebuild_dir(c);
    if (ret < 0) {
        fw_cfg_destroy(c);
        return ret;
    }
    *out = c;
    return 0;
}

/* Selects (key). Lock held. */
static void select_key(struct fw_cfg *c, uint16_t key)
{
    c->cur_key = key;
    c->offset = 0;
}

/* The selected item, or NULL (absent, or the write channel). Lock held. */
static const struct entry *cur_entry(struct fw_cfg *c)
{
    if (c->cur_key & FW_CFG_WRITE_CHANNEL)
        return NULL;
    return find(c, c->cur_key);
}

static uint8_t read_byte(struct fw_cfg *c)
{
    const struct entry *e = cur_entry(c);
    if (e == NULL || c->offset >= e->len)
        return 0;
    return e->data[c->offset++];
}

/* Guest memory a DMA may write (RAM, not a ROM), or NULL. */
static uint8_t *dma_ptr(struct fw_cfg *c, uint64_t gpa, uint32_t len)
{
    const struct gmem_region *r = gmem_find(c->gm, gpa);
    if (r == NULL || r->is_readonly)
        return NULL;
    return gmem_ptr(c->gm, gpa, len);
}

/* Runs one DMA read/skip of (len) bytes to (gpa). Returns the control word to write back. Lock
 * held. */
static uint32_t dma_transfer(struct fw_cfg *c, uint32_t control, uint32_t len, uint64_t gpa)
{
    const struct entry *e = cur_entry(c);
    uint32_t avail = e != NULL && c->offset < e->len ? e->len - c->offset : 0;
    uint32_t n = MIN(avail, len);
    if (control & FW_CFG_DMA_READ) {
        uint8_t *dst = len > 0 ? dma_ptr(c, gpa, len) : NULL;
        if (len > 0 && dst == NULL)
            return FW_CFG_DMA_ERROR;
        if (n > 0)
            memcpy(dst, e->data + c->offset, n);
        if (len > n)
            memset(dst + n, 0, len - n); /* past the end of the item: zeros, as QEMU gives */
        if (len > 0)
            gmem_mark_dirty(c->gm, gpa, len); /* a live save: KVM does not see it */
    } else if (control & FW_CFG_DMA_WRITE) {
        return FW_CFG_DMA_ERROR; /* nothing is writable */
    } else if (!(control & FW_CFG_DMA_SKIP)) {
        return 0;
    }
    c->offset += n;
    return 0;
}

/* Runs the DMA access at (gpa): {be32 control, be32 length, be64 address}. Lock held. */
static void dma_run(struct fw_cfg *c, uint64_t gpa)
{
    uint8_t acc[16], done[4];
    uint32_t control, len, result = 0;
    uint64_t addr;
    if (gmem_read(c->gm, gpa, acc, sizeof(acc)) < 0 || dma_ptr(c, gpa, sizeof(acc)) == NULL) {
        log_ratelimited(LOG_DEBUG, "DMA access at 0x%llx outside RAM", (unsigned long long)gpa);
        return;
    }
    control = get_be32(acc);
    len = get_be32(acc + 4);
    addr = (uint64_t)get_be32(acc + 8) << 32 | get_be32(acc + 12);
    if (control & FW_CFG_DMA_SELECT)
        select_key(c, (uint16_t)(control >> 16));
    if (control & (FW_CFG_DMA_READ | FW_CFG_DMA_WRITE | FW_CFG_DMA_SKIP))
        result = dma_transfer(c, control, len, addr);
    put_be32(done, result);
    if (gmem_write(c->gm, gpa, done, sizeof(done)) < 0)
        log_ratelimited(LOG_DEBUG, "DMA access at 0x%llx: cannot write back",
                        (unsigned long long)gpa);
    gmem_mark_dirty(c->gm, gpa, sizeof(done));
}

static uint64_t io_read(void *opaque, uint64_t off, unsigned size)
{
    struct fw_cfg *c = opaque;
    uint64_t v = 0;
    if (off != 1)
        return off == 0 ? 0 : UINT64_MAX;
    pthread_mutex_lock(&c->lock);
    for (unsigned i = 0; i < size && i < 8; i++) /* wider reads: consecutive bytes */
        v |= (uint64_t)read_byte(c) << (8 * i);
    pthread_mutex_unlock(&c->lock);
    return v;
}

static void io_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    struct fw_cfg *c = opaque;
    if (off != 0 || size != 2) /* the data port is read-only */
        return;
    pthread_mutex_lock(&c->lock);
    select_key(c, (uint16_t)val);
    pthread_mutex_unlock(&c->lock);
}

static const struct io_ops fw_cfg_io_ops = {.read = io_read, .write = io_write};

static uint32_t bswap32(uint32_t v)
{
    return __builtin_bswap32(v);
}

/* 0x514..0x51b: reads give the signature "QEMU CFG", big-endian as on QEMU. */
static uint64_t dma_io_read(void *opaque, uint64_t off, unsigned size)
{
    static const uint8_t sig[8] = {'Q', 'E', 'M', 'U', ' ', 'C', 'F', 'G'};
    uint64_t v = 0;
    (void)opaque;
    for (unsigned i = 0; i < size && off + i < sizeof(sig); i++)
        v |= (uint64_t)sig[off + i] << (8 * i);
    return v;
}

static void dma_io_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    struct fw_cfg *c = opaque;
    if (size != 4 || (off != 0 && off != 4))
        return;
    pthread_mutex_lock(&c->lock);
    if (off == 0) {
        c->dma_high = bswap32((uint32_t)val);
    } else {
        dma_run(c, (uint64_t)c->dma_high << 32 | bswap32((uint32_t)val));
        c->dma_high = 0;
    }
    pthread_mutex_unlock(&c->lock);
}

static const struct io_ops fw_cfg_dma_ops = {.read = dma_io_read, .write = dma_io_write};

int fw_cfg_attach(struct fw_cfg *c, struct bus *pio)
{
    int ret = bus_register(pio, PORT_FW_CFG, FW_CFG_NR_PORTS, &fw_cfg_io_ops, c, "fw_cfg");
    if (ret < 0)
        return ret;
    ret = bus_register(pio, PORT_FW_CFG_DMA, FW_CFG_DMA_NR_PORTS, &fw_cfg_dma_ops, c, "fw_cfg-dma");
    if (ret < 0) {
        bus_unregister(pio, PORT_FW_CFG, c);
        return ret;
    }
    c->pio = pio;
    return 0;
}

void fw_cfg_save(struct fw_cfg *c, struct sf_buf *b)
{
    pthread_mutex_lock(&c->lock);
    sf_put_u16(b, c->cur_key);
    sf_put_u32(b, c->offset);
    sf_put_u32(b, c->dma_high);
    pthread_mutex_unlock(&c->lock);
}

int fw_cfg_load(struct fw_cfg *c, struct sf_in *in)
{
    uint16_t key = sf_get_u16(in);
    uint32_t offset = sf_get_u32(in), dma_high = sf_get_u32(in);
    const struct entry *e;
    uint16_t old;
    int ret = sf_in_end(in);
    pthread_mutex_lock(&c->lock);
    old = c->cur_key;
    c->cur_key = key; /* looked up as the guest's selector is */
    e = cur_entry(c);
    if (ret == 0 && offset <= (e != NULL ? e->len : 0)) {
        c->offset = offset;
        c->dma_high = dma_high;
    } else {
        c->cur_key = old;
        ret = -EINVAL;
    }
    pthread_mutex_unlock(&c->lock);
    return ret;
}

void fw_cfg_destroy(struct fw_cfg *c)
{
    if (c == NULL)
        return;
    if (c->pio != NULL) {
        bus_unregister(c->pio, PORT_FW_CFG, c);
        bus_unregister(c->pio, PORT_FW_CFG_DMA, c);
    }
    for (unsigned i = 0; i < c->nentries; i++)
        free(c->entries[i].data);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

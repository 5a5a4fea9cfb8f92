/* SPDX-License-Identifier: MIT */
/*
 * Compressed guest memory in a saved state (docs/vmm.md "Saved state", `save` with
 * "compress": "zstd"): a RAM region is written as the checksummed section "<region>.zstd"
 * instead of the raw, sparse, mappable "<region>", holding one zstd frame (RFC 8878) whose
 * content is a record per non-zero page:
 *
 *   +----------------------+-------------------------+
 *   | u64 offset in region | 4096 bytes of the page  |   ... in increasing offset order
 *   +----------------------+-------------------------+
 *
 * A restore decompresses the records into the region's ordinary (memfd) memory: it reads the
 * whole file instead of mapping it, so it costs time and resident memory in proportion to what
 * the guest touched, for a smaller file. The section is hostile input: every offset is checked
 * against the region (page-aligned, increasing, inside), and a frame that is cut short, has
 * trailing data or does not decode is refused naming the section.
 */
#define LOG_TAG "machine"
#include "vmm/machine_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>

#include "base/log.h"
#include "base/statefile.h"
#include "base/util.h"
#include "core/gmem.h"

#define PAGE_BYTES 4096u
#define RECORD_BYTES (8u + PAGE_BYTES)
#define ZSTD_LEVEL 1 /* the fastest standard level: a save pauses the guest */
/* The window a save uses (1 MiB) and the most a restore accepts from a frame header. */
#define ZSTD_WINDOW_LOG_MAX 20

struct zwriter {
    ZSTD_CCtx *cctx;
    int fd;
    uint64_t off, len; /* where the next compressed byte goes; bytes written */
    uint32_t crc;
    uint8_t out[128 * 1024];
};

/* Compresses (p, n) (end: finishes the frame) and writes what comes out. */
static int zwrite(struct zwriter *z, const void *p, size_t n, bool end)
{
    ZSTD_inBuffer in = {p, n, 0};
    for (;;) {
        ZSTD_outBuffer out = {z->out, sizeof(z->out), 0};
        size_t left = ZSTD_compressStream2(z->cctx, &out, &in, end ? ZSTD_e_end : ZSTD_e_continue);
        int ret;
        if (ZSTD_isError(left))
            return -EIO;
        if (out.pos > 0) {
            if ((ret = pwrite_full(z->fd, z->out, out.pos, z->off)) < 0)
                return ret;
            z->crc = sf_crc_update(z->crc, z->out, out.pos);
            z->off += out.pos;
            z->len += out.pos;
        }
        if (end ? left == 0 : in.pos == in.size)
            return 0;
    }
}

static bool is_zero_page(const uint8_t *p)
{
    static const uint8_t zero[PAGE_BYTES];
    return memcmp(p, zero, PAGE_BYTES) == 0;
}

/* Writes the records of the non-zero pages in [start, end) of (r). */
static int write_range(struct zwriter *z, const struct gmem_region *r, uint64_t start, uint64_t end,
                       uint64_t *pages)
{
    for (uint64_t o = start; o + PAGE_BYTES <= end; o += PAGE_BYTES) {
        uint8_t off[8];
        int ret;
        if (is_zero_page(r->hva + o))
            continue;
        for (int i = 0; i < 8; i++)
            off[i] = (uint8_t)(o >> (8 * i));
        if ((ret = zwrite(z, off, sizeof(off), false)) < 0 ||
            (ret = zwrite(z, r->hva + o, PAGE_BYTES, false)) < 0)
            return ret;
        (*pages)++;
    }
    return 0;
}

/* The memfd's data extents (SEEK_DATA/SEEK_HOLE), or the whole region once it is mapped from a
 * state file, as gmem_region_save walks them. */
static int write_region(struct zwriter *z, const struct gmem_region *r, uint64_t *pages)
{
    uint64_t pos = 0;
    if (r->memfd < 0)
        return write_range(z, r, 0, r->size_bytes, pages);
    while (pos < r->size_bytes) {
        off_t data = lseek(r->memfd, (off_t)pos, SEEK_DATA), hole;
        int ret;
        if (data < 0)
            return errno == ENXIO ? 0 : -errno;
        if ((hole = lseek(r->memfd, data, SEEK_HOLE)) < 0)
            return -errno;
        if ((uint64_t)hole > r->size_bytes)
            hole = (off_t)r->size_bytes;
        if ((ret = write_range(z, r, (uint64_t)data, (uint64_t)hole, pages)) < 0)
            return ret;
        pos = (uint64_t)hole;
    }
    return 0;
}

int machine_save_region_zstd(const struct gmem_region *r, struct sf_writer *w, uint64_t *written,
                             struct error *err)
{
    struct zwriter *z = calloc(1, sizeof(*z));
    char name[SF_NAME_BYTES];
    uint64_t pages = 0;
    int ret;
    snprintf(name, sizeof(name), "%s.zstd", r->name);
    if (z == NULL || (z->cctx = ZSTD_createCCtx()) == NULL) {
        free(z);
        return error_set(err, -ENOMEM, "out of memory");
    }
    ZSTD_CCtx_setParameter(z->cctx, ZSTD_c_compressionLevel, ZSTD_LEVEL);
    ZSTD_CCtx_setParameter(z->cctx, ZSTD_c_windowLog, ZSTD_WINDOW_LOG_MAX);
    z->fd = w->fd;
    z->off = sf_stream_offset(w);
    ret = write_region(z, r, &pages);
    if (ret == 0)
        ret = zwrite(z, NULL, 0, true);
    if (ret == 0)
        ret = sf_write_streamed(w, name, MACHINE_ZSTD_VERSION, z->len, z->crc);
    if (ret == 0)
        log_info("%s: %llu pages compressed to %llu KiB", r->name, (unsigned long long)pages,
                 (unsigned long long)(z->len >> 10));
    *written = z->len;
    ZSTD_freeCCtx(z->cctx);
    free(z);
    return ret < 0 ? error_set(err, ret, "cannot save %s: %s", name, strerror(-ret)) : 0;
}

/* Copies a complete record (rec) into (r); (*next) is the lowest offset the next may have. */
static bool put_record(struct gmem_region *r, const uint8_t *rec, uint64_t *next)
{
    uint64_t o = 0;
    for (int i = 0; i < 8; i++)
        o |= (uint64_t)rec[i] << (8 * i);
    if (o % PAGE_BYTES || o < *next || o > r->size_bytes - PAGE_BYTES)
        return false;
    memcpy(r->hva + o, rec + 8, PAGE_BYTES);
    *next = o + PAGE_BYTES;
    return true;
}

/* Decodes the frame (p, len) into (r). Returns true when it held whole records only and
 * nothing follows it. */
static bool decode(ZSTD_DCtx *d, struct gmem_region *r, const uint8_t *p, size_t len)
{
    uint8_t rec[RECORD_BYTES];
    ZSTD_inBuffer in = {p, len, 0};
    ZSTD_outBuffer out = {rec, sizeof(rec), 0};
    uint64_t next = 0;
    bool is_done = false;
    if (r->size_bytes < PAGE_BYTES)
        return false;
    for (;;) {
        size_t left;
        if (out.pos == out.size) {
            if (!put_record(r, rec, &next))
                return false;
            out.pos = 0;
        }
        if (is_done)
            break;
        left = ZSTD_decompressStream(d, &out, &in);
        if (ZSTD_isError(left))
            return false;
        if (left == 0) /* the frame is decoded and flushed */
            is_done = true;
        else if (in.pos == in.size && out.pos < out.size)
            return false; /* it needs more input: cut short */
    }
    return in.pos == in.size && out.pos == 0;
}

int machine_load_region_zstd(struct gmem_region *r, const uint8_t *p, size_t len, struct error *err)
{
    ZSTD_DCtx *d = ZSTD_createDCtx();
    bool ok;
    if (d == NULL)
        return error_set(err, -ENOMEM, "out of memory");
    /* A frame header may ask for a window up to the library's default limit (128 MiB of
     * memory per restore); the saves write at most ZSTD_WINDOW_LOG_MAX. */
    if (ZSTD_isError(ZSTD_DCtx_setParameter(d, ZSTD_d_windowLogMax, ZSTD_WINDOW_LOG_MAX))) {
        ZSTD_freeDCtx(d);
        return error_set(err, -ENOMEM, "cannot limit the zstd window");
    }
    ok = decode(d, r, p, len);
    ZSTD_freeDCtx(d);
    if (!ok)
        return error_set(err, -EINVAL, "state file: section %s.zstd: cannot be loaded into %s",
                         r->name, r->name);
    return 0;
}

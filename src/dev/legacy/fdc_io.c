/* SPDX-License-Identifier: MIT */
/*
 * The floppy controller's data commands (dev/legacy/fdc.h): the checks of READ DATA, WRITE
 * DATA, FORMAT TRACK and READ ID against the disk in the drive, the plan of one block request
 * per command, its submission on the event loop (fdc_service), its completion (DMA and result
 * phase), and the media change.
 *
 * A command is checked in full before anything moves: a cylinder, head or sector the disk
 * does not have, a sector size other than 512 bytes (N != 2) or a data rate other than the
 * disk's end the command abnormally, as the sector would not be found on a real disk. The
 * transfer is bounded by the track (EOT, at most two heads with multi-track) and by the DMA
 * channel's count, so it never exceeds FDC_MAX_SECTORS; the DMA controller confines it to
 * guest RAM.
 */
#define LOG_TAG "fdc"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "base/log.h"
#include "base/util.h"
#include "block/blk.h"
#include "dev/legacy/fdc_internal.h"
#include "dev/legacy/i8237.h"

static const struct fdc_geometry geometries[] = {
    {1474560, 80, 2, 18, 0, 4, "1.44M"},
    {2949120, 80, 2, 36, 3, 5, "2.88M"},
    {737280, 80, 2, 9, 2, 3, "720K"},
    {1228800, 80, 2, 15, 0, 2, "1.2M"},
};

const struct fdc_geometry *fdc_geometry_for_size(uint64_t size_bytes)
{
    for (size_t i = 0; i < ARRAY_SIZE(geometries); i++)
        if (geometries[i].size_bytes == size_bytes)
            return &geometries[i];
    return NULL;
}

/* One block request of a command: the request, its buffer and the reset generation. */
struct fdc_io {
    struct blk_req req;
    struct iovec iov;
    struct fdc *fdc;
    uint64_t gen;
    struct fdc_plan plan;
    size_t dma_bytes; /* WRITE/FORMAT: moved from memory before the request */
    bool has_tc;
    uint8_t buf[];
};

/* Ends a data command with a 7-byte result and the interrupt. */
static void rw_result(struct fdc *f, uint8_t st0, uint8_t st1, uint8_t st2, uint8_t c, uint8_t h,
                      uint8_t r)
{
    uint8_t res[7] = {st0, st1, st2, c, h, r, 2};
    fdc_set_result(f, res, sizeof(res), true);
}

/* Ends the command (f->cmd) abnormally before any transfer. */
static void rw_fail(struct fdc *f, uint8_t st1, uint8_t st2)
{
    uint8_t st0 = (uint8_t)(ST0_IC_ABNORMAL | (f->cmd[1] & 7));
    rw_result(f, st0, st1, st2, f->cmd[2], f->cmd[3], f->cmd[4]);
}

/* The drive of (f->cmd)'s unit byte if it holds a disk readable at the programmed rate, else
 * NULL with the command ended (no disk, or the wrong rate: no address mark is found). */
static struct fdc_drive *media_drive(struct fdc *f)
{
    struct fdc_drive *d = fdc_drive(f, f->cmd[1] & 3);
    if (d == NULL || d->geo == NULL || d->geo->rate != f->rate) {
        rw_fail(f, ST1_MA, 0);
        return NULL;
    }
    return d;
}

/* Queues the plan for fdc_service. One kick at a time: a guest repeating "command, reset"
 * would otherwise pile up event-loop calls as fast as it exits. */
static void queue_plan(struct fdc *f)
{
    f->phase = FDC_PHASE_EXEC;
    f->is_queued = true;
    if (f->is_kicked)
        return; /* the pending fdc_service runs this plan */
    if (f->kick(f->kick_opaque, f) < 0) {
        f->is_queued = false; /* nothing will serve the data: overrun */
        rw_result(f, (uint8_t)(ST0_IC_ABNORMAL | f->plan.hd << 2 | f->plan.ds), ST1_OR, 0,
                  f->plan.c, f->plan.h, f->plan.r);
        return;
    }
    f->is_kicked = true;
}

/* Checks of READ/WRITE DATA before the plan; returns the drive or NULL (command ended). */
static struct fdc_drive *rw_check(struct fdc *f, bool is_write)
{
    uint8_t c = f->cmd[2], h = f->cmd[3], r = f->cmd[4], n = f->cmd[5];
    unsigned hd = (f->cmd[1] >> 2) & 1;
    struct fdc_drive *d = media_drive(f);
    if (d == NULL)
        return NULL;
    if (f->config & FDC_CONFIG_EIS) /* implied seek */
        fdc_seek_to(d, c);
    d->head = (uint8_t)hd;
    if (f->specify[1] & 1 || !i8237_is_armed(f->dma, FDC_DMA_CHANNEL)) {
        rw_fail(f, ST1_OR, 0); /* no DMA to serve the data (non-DMA mode: not supported) */
        return NULL;
    }
    if (c != d->cyl) {
        rw_fail(f, ST1_ND, ST2_WC);
        return NULL;
    }
    if (c >= d->geo->tracks || hd >= d->geo->heads || h != hd || n != 2 || r == 0 ||
        r > d->geo->sectors) {
        rw_fail(f, ST1_ND, 0);
        return NULL;
    }
    if (is_write && d->is_wp) {
        rw_fail(f, ST1_NW, 0);
        return NULL;
    }
    return d;
}

void fdc_cmd_rw(struct fdc *f)
{
    bool is_write = (f->cmd[0] & 0x1f) == 0x05;
    struct fdc_drive *d = rw_check(f, is_write);
    struct fdc_plan *p = &f->plan;
    uint32_t dma_sect;
    if (d == NULL)
        return;
    memset(p, 0, sizeof(*p));
    p->op = is_write ? FDC_OP_WRITE : FDC_OP_READ;
    p->ds = f->cmd[1] & 3;
    p->hd = d->head;
    p->c = f->cmd[2];
    p->h = f->cmd[3];
    p->r = f->cmd[4];
    p->last = MIN(f->cmd[6], d->geo->sectors);
    p->is_past_eot = f->cmd[6] > d->geo->sectors;
    /* head 1 follows head 0 on the disk only when the whole track is read */
    p->is_mt = (f->cmd[0] & 0x80) && p->hd == 0 && d->geo->heads == 2 && p->last == d->geo->sectors;
    p->nsect = p->r <= p->last ? p->last - p->r + 1u : 1u;
    if (p->is_mt)
        p->nsect += p->last;
    dma_sect = (i8237_remaining(f->dma, FDC_DMA_CHANNEL) + FDC_SECTOR_SIZE - 1) / FDC_SECTOR_SIZE;
    p->nsect = MIN(p->nsect, dma_sect);
    p->nsect = MIN(p->nsect, FDC_MAX_SECTORS);
    p->offset =
        (((uint64_t)p->c * d->geo->heads + p->hd) * d->geo->sectors + p->r - 1) * FDC_SECTOR_SIZE;
    d->sect = p->r;
    queue_plan(f);
}

void fdc_cmd_format(struct fdc *f)
{
    unsigned hd = (f->cmd[1] >> 2) & 1;
    struct fdc_drive *d = media_drive(f);
    struct fdc_plan *p = &f->plan;
    if (d == NULL)
        return;
    d->head = (uint8_t)hd;
    if (f->specify[1] & 1 || !i8237_is_armed(f->dma, FDC_DMA_CHANNEL)) {
        rw_fail(f, ST1_OR, 0);
        return;
    }
    /* an image keeps its geometry: only the track layout it already has can be written */
    if (f->cmd[2] != 2 || f->cmd[3] != d->geo->sectors || d->cyl >= d->geo->tracks ||
        hd >= d->geo->heads) {
        rw_fail(f, ST1_ND, 0);
        return;
    }
    if (d->is_wp) {
        rw_fail(f, ST1_NW, 0);
        return;
    }
    memset(p, 0, sizeof(*p));
    p->op = FDC_OP_FORMAT;
    p->ds = f->cmd[1] & 3;
    p->hd = (uint8_t)hd;
    p->c = d->cyl;
    p->h = (uint8_t)hd;
    p->r = 1;
    p->nsect = d->geo->sectors;
    p->fill = f->cmd[5];
    p->offset = ((uint64_t)d->cyl * d->geo->heads + hd) * d->geo->sectors * FDC_SECTOR_SIZE;
    queue_plan(f);
}

void fdc_cmd_read_id(struct fdc *f)
{
    unsigned hd = (f->cmd[1] >> 2) & 1;
    struct fdc_drive *d = media_drive(f);
    uint8_t st0;
    if (d == NULL)
        return;
    d->head = (uint8_t)hd;
    if (hd >= d->geo->heads) {
        rw_fail(f, ST1_MA, 0);
        return;
    }
    /* the next sector to pass under the head */
    d->sect = (uint8_t)(d->sect >= d->geo->sectors ? 1 : d->sect + 1);
    st0 = (uint8_t)(f->cmd[1] & 7);
    rw_result(f, st0, 0, 0, d->cyl, (uint8_t)hd, d->sect);
}

/* The ID after (done) sectors from the plan's first, in the order the controller reads. */
static void advance(const struct fdc_plan *p, unsigned done, uint8_t *c, uint8_t *h, uint8_t *r)
{
    unsigned cyl = p->c, head = p->h, sect = p->r;
    bool is_head1 = false;
    for (unsigned i = 0; i < done; i++) {
        if (sect < p->last) {
            sect++;
            continue;
        }
        sect = 1;
        if (p->is_mt && !is_head1) {
            is_head1 = true;
            head ^= 1;
        } else {
            cyl++;
            if (p->is_mt)
                head ^= 1;
        }
    }
    *c = (uint8_t)cyl;
    *h = (uint8_t)head;
    *r = (uint8_t)sect;
}

/* The result of a finished transfer of (bytes) with or without terminal count, or (ret) < 0. */
static void finish(struct fdc *f, const struct fdc_plan *p, size_t bytes, bool has_tc, int ret)
{
    size_t want = (size_t)p->nsect * FDC_SECTOR_SIZE;
    unsigned done = (unsigned)((bytes + FDC_SECTOR_SIZE - 1) / FDC_SECTOR_SIZE);
    uint8_t st0 = (uint8_t)(p->hd << 2 | p->ds), st1 = 0, st2 = 0, c, h, r;
    if (p->op == FDC_OP_FORMAT)
        done = 0;
    if (ret < 0) {
        st1 = ST1_DE;
        st2 = ST2_DD;
    } else if (p->op == FDC_OP_FORMAT || has_tc) {
        /* normal termination */
    } else if (bytes < want) {
        st1 = ST1_OR; /* the DMA channel stopped serving */
    } else {
        st1 = p->is_past_eot ? ST1_ND : ST1_EN; /* the track ended before terminal count */
    }
    if (st1 != 0)
        st0 |= ST0_IC_ABNORMAL;
    advance(p, done, &c, &h, &r);
    rw_result(f, st0, st1, st2, c, h, r);
}

static void io_done(struct blk_req *req, int ret)
{
    struct fdc_io *io = req->opaque;
    struct fdc *f = io->fdc;
    size_t bytes = io->dma_bytes;
    bool has_tc = io->has_tc;
    pthread_mutex_lock(&f->lock);
    f->in_flight--;
    if (io->gen == f->gen && f->phase == FDC_PHASE_EXEC) {
        if (io->plan.op == FDC_OP_READ && ret == 0)
            bytes =
                i8237_transfer(f->dma, FDC_DMA_CHANNEL, io->buf, io->iov.iov_len, true, &has_tc);
        if (ret < 0)
            log_ratelimited(LOG_WARN, "fdc: disk I/O failed: %s", strerror(-ret));
        finish(f, &io->plan, bytes, has_tc, ret);
    }
    pthread_mutex_unlock(&f->lock);
    free(io);
}

/* WRITE and FORMAT: the data (or the sector IDs) from memory before the request. */
static void fetch(struct fdc *f, struct fdc_io *io)
{
    size_t len = io->iov.iov_len;
    if (io->plan.op == FDC_OP_FORMAT) {
        uint8_t ids[4 * FDC_MAX_SECTORS]; /* C, H, R, N per sector: taken, not kept */
        io->dma_bytes =
            i8237_transfer(f->dma, FDC_DMA_CHANNEL, ids, 4u * io->plan.nsect, false, &io->has_tc);
        memset(io->buf, io->plan.fill, len);
        return;
    }
    io->dma_bytes = i8237_transfer(f->dma, FDC_DMA_CHANNEL, io->buf, len, false, &io->has_tc);
    if (io->dma_bytes < len) /* the rest of a sector cut by terminal count is zeros */
        memset(io->buf + io->dma_bytes, 0, len - io->dma_bytes);
    if (!io->has_tc && io->dma_bytes < len) /* the channel stopped: write only what came */
        io->iov.iov_len = (io->dma_bytes + FDC_SECTOR_SIZE - 1) / FDC_SECTOR_SIZE * FDC_SECTOR_SIZE;
}

void fdc_service(struct fdc *f)
{
    struct fdc_io *io;
    size_t len;
    int ret;
    pthread_mutex_lock(&f->lock);
    f->is_kicked = false;
    if (!f->is_queued || f->phase != FDC_PHASE_EXEC || f->drv.blk == NULL) {
        if (f->is_queued && f->phase == FDC_PHASE_EXEC) /* ejected meanwhile */
            rw_result(f, (uint8_t)(ST0_IC_ABNORMAL | f->plan.hd << 2 | f->plan.ds), ST1_MA, 0,
                      f->plan.c, f->plan.h, f->plan.r);
        f->is_queued = false;
        pthread_mutex_unlock(&f->lock);
        return;
    }
    f->is_queued = false;
    len = (size_t)f->plan.nsect * FDC_SECTOR_SIZE;
    io = calloc(1, sizeof(*io) + len);
    if (io == NULL) {
        finish(f, &f->plan, 0, false, -ENOMEM);
        pthread_mutex_unlock(&f->lock);
        return;
    }
    io->fdc = f;
    io->gen = f->gen;
    io->plan = f->plan;
    io->iov.iov_base = io->buf;
    io->iov.iov_len = len;
    if (f->plan.op != FDC_OP_READ)
        fetch(f, io);
    io->req.op = f->plan.op == FDC_OP_READ ? BLK_OP_READ : BLK_OP_WRITE;
    io->req.offset_bytes = f->plan.offset;
    io->req.len_bytes = io->iov.iov_len;
    io->req.iov = &io->iov;
    io->req.iovcnt = 1;
    io->req.done = io_done;
    io->req.opaque = io;
    if (io->req.len_bytes == 0) /* a write the channel gave no byte for */
        ret = -EIO;
    else
        ret = blk_submit(f->drv.blk, &io->req);
    if (ret < 0) {
        finish(f, &f->plan, io->dma_bytes, false, ret);
        free(io);
    } else {
        f->in_flight++;
    }
    pthread_mutex_unlock(&f->lock);
}

int fdc_change_media(struct fdc *f, struct blk *disk, bool is_readonly)
{
    const struct fdc_geometry *geo = NULL;
    struct blk *old;
    if (disk != NULL && (geo = fdc_geometry_for_size(blk_size_bytes(disk))) == NULL)
        return -EINVAL;
    pthread_mutex_lock(&f->lock);
    old = f->drv.blk;
    f->drv.blk = disk;
    f->drv.geo = geo;
    f->drv.is_wp = disk != NULL && (is_readonly || blk_is_readonly(disk));
    f->drv.has_changed = true;
    f->drv.sect = 1;
    pthread_mutex_unlock(&f->lock);
    blk_close(old); /* its requests complete first, with the lock free */
    return 0;
}

unsigned fdc_in_flight(struct fdc *f)
{
    unsigned n;
    pthread_mutex_lock(&f->lock);
    n = f->in_flight;
    pthread_mutex_unlock(&f->lock);
    return n;
}

bool fdc_has_media(struct fdc *f)
{
    bool has;
    pthread_mutex_lock(&f->lock);
    has = f->drv.blk != NULL;
    pthread_mutex_unlock(&f->lock);
    return has;
}

void fdc_destroy(struct fdc *f)
{
    struct blk *b;
    if (f == NULL)
        return;
    pthread_mutex_lock(&f->lock);
    f->gen++; /* the completions blk_close runs end nothing */
    b = f->drv.blk;
    f->drv.blk = NULL;
    pthread_mutex_unlock(&f->lock);
    blk_close(b);
    pthread_mutex_destroy(&f->lock);
    free(f);
}

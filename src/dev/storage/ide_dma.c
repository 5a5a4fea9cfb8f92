/* SPDX-License-Identifier: MIT */
/*
 * Block I/O and bus-master DMA of the IDE controller (SFF-8038i rev 1.0): the per-channel
 * command (START, direction), status (ACTIVE, ERROR and INTR write-1-to-clear, the drives' DMA
 * capable bits) and PRD table address registers in BAR4, and the PRD walk. A PRD entry is
 *
 *   0: base address u32 (bit 0 zero)   4: byte count u16 (0: 64 KiB)   6: bit 15 end of table
 *
 * and the table lives in guest RAM; every entry and every region is checked with gmem (a table
 * or region outside RAM, a region in ROM that a read would write, a table without end-of-table
 * past IDE_PRD_MAX_ENTRIES or shorter than the transfer, more than IDE_MAX_IOV separate regions:
 * the command fails with ABRT and the bus master reports ERROR). Requests go to the disk from the
 * event loop (block/blk.h); the vCPU only queues them with evloop_call.
 */
#include "dev/storage/ide_internal.h"

#include <errno.h>
#include <string.h>

#define LOG_TAG "ide"
#include "base/ckd.h"
#include "base/evloop.h"
#include "base/log.h"
#include "core/gmem.h"

static void io_submit(void *opaque);

/* Hands the result of the channel's request to its command; a DMA transfer ends on the bus
 * master first (ACTIVE off; ERROR when the PRD table was at fault). */
static void finish(struct ide_channel *ch, int ret)
{
    ide_io_fn done = ch->io_done;
    ch->io_done = NULL;
    if (ch->dma.is_pending) {
        ch->dma.is_pending = false;
        ch->bm_status &= (uint8_t)~BM_ST_ACTIVE;
        if (ret == -EFAULT || ret == -ENOSPC || ret == -E2BIG)
            ch->bm_status |= BM_ST_ERROR;
    }
    done(ch, ret);
}

static void io_complete(struct blk_req *br, int ret)
{
    struct ide_channel *ch = br->opaque;
    struct ide *ide = ch->ide;

    pthread_mutex_lock(&ide->lock);
    ch->is_inflight = false;
    for (int i = 0; i < br->iovcnt; i++) /* a live save: what the disk wrote into RAM */
        gmem_mark_dirty_hva(ide->gm, br->iov[i].iov_base, br->iov[i].iov_len);
    if (ch->io_epoch == ch->epoch && ch->io_done != NULL)
        finish(ch, ret);
    if (ch->needs_submit && !ide->is_stopped) {
        ch->needs_submit = false;
        pthread_mutex_unlock(&ide->lock);
        io_submit(ch);
        return;
    }
    pthread_mutex_unlock(&ide->lock);
}

/* Queues io_submit on the loop (the vCPU thread never touches the disk). */
static void io_queue(struct ide_channel *ch, ide_io_fn done)
{
    struct ide_drive *d = ide_xfer(ch);
    d->status = (uint8_t)((d->status & ~ATA_DRQ) | ATA_BSY);
    ch->io_done = done;
    if (ch->is_queued || ch->ide->is_stopped)
        return;
    if (evloop_call(ch->ide->loop, io_submit, ch) < 0) {
        finish(ch, -ENOMEM);
        return;
    }
    ch->is_queued = true;
}

void ide_io_cancel(struct ide_channel *ch)
{
    ch->epoch++;
    ch->io_done = NULL;
}

void ide_io_buf(struct ide_channel *ch, enum blk_op op, uint64_t offset, uint32_t len,
                ide_io_fn done)
{
    /* Kept apart from ch->br, which a request from before a reset may still be using: io_submit
     * fills it once that one is done. */
    ch->pio_op = op;
    ch->pio_offset = offset;
    ch->pio_len = len;
    ch->dma.is_pending = false;
    io_queue(ch, done);
}

/* Appends [hva, hva+len) to the request, merging with the previous region when adjacent. */
static int iov_add(struct ide_channel *ch, void *hva, size_t len)
{
    struct iovec *last = ch->br.iovcnt > 0 ? &ch->iov[ch->br.iovcnt - 1] : NULL;
    if (last != NULL && (uint8_t *)last->iov_base + last->iov_len == (uint8_t *)hva) {
        last->iov_len += len;
        return 0;
    }
    if ((unsigned)ch->br.iovcnt >= IDE_MAX_IOV)
        return -E2BIG;
    ch->iov[ch->br.iovcnt++] = (struct iovec){.iov_base = hva, .iov_len = len};
    return 0;
}

/* Walks the PRD table into ch->iov for (len) bytes; a transfer to memory (is_to_mem) must not
 * land in ROM. Returns 0 or -EFAULT/-E2BIG/-ENOSPC. */
static int prd_walk(struct ide_channel *ch, uint64_t len, bool is_to_mem)
{
    uint64_t gpa = ch->prd_gpa & ~3u;
    ch->br.iovcnt = 0;
    for (unsigned i = 0; i < IDE_PRD_MAX_ENTRIES && len > 0; i++, gpa += 8) {
        uint8_t e[8];
        uint32_t base;
        uint32_t count;
        void *hva;
        int ret;
        if (gmem_read(ch->ide->gm, gpa, e, sizeof(e)) < 0)
            return -EFAULT;
        base = (uint32_t)(e[0] | e[1] << 8 | e[2] << 16 | (uint32_t)e[3] << 24) & ~1u;
        count = (uint32_t)(e[4] | e[5] << 8) & ~1u;
        if (count == 0)
            count = 0x10000;
        if (count > len)
            count = (uint32_t)len;
        hva = gmem_ptr(ch->ide->gm, base, count);
        if (hva == NULL || (is_to_mem && gmem_find(ch->ide->gm, base)->is_readonly))
            return -EFAULT;
        ret = iov_add(ch, hva, count);
        if (ret < 0)
            return ret;
        len -= count;
        if (e[7] & 0x80)
            break;
    }
    return len == 0 ? 0 : -ENOSPC;
}

/* Copies the reply in ch->buf into the PRD regions (ATAPI data-in by DMA). */
static int copy_from_buf(struct ide_channel *ch)
{
    size_t off = 0;
    for (int i = 0; i < ch->br.iovcnt; i++) {
        memcpy(ch->iov[i].iov_base, ch->buf + off, ch->iov[i].iov_len);
        gmem_mark_dirty_hva(ch->ide->gm, ch->iov[i].iov_base, ch->iov[i].iov_len);
        off += ch->iov[i].iov_len;
    }
    return 0;
}

/* Prepares the DMA request in ch->br. Returns 0, 1 (done without the disk) or -errno. */
static int dma_prepare(struct ide_channel *ch)
{
    int ret = prd_walk(ch, ch->dma.len_bytes, !ch->dma.is_write);
    if (ret < 0) {
        log_ratelimited(LOG_WARN, "channel %u: bad PRD table at 0x%x for %llu bytes: %d", ch->index,
                        ch->prd_gpa, (unsigned long long)ch->dma.len_bytes, ret);
        return ret;
    }
    if (ch->dma.is_from_buf)
        return copy_from_buf(ch) == 0 ? 1 : -EIO;
    ch->br.op = ch->dma.is_write ? BLK_OP_WRITE : BLK_OP_READ;
    ch->br.offset_bytes = ch->dma.offset_bytes;
    ch->br.len_bytes = ch->dma.len_bytes;
    return 0;
}

/* Runs on the loop thread: hands the channel's request to the disk. */
static void io_submit(void *opaque)
{
    struct ide_channel *ch = opaque;
    struct ide *ide = ch->ide;
    struct ide_drive *d;
    int ret = 0;

    pthread_mutex_lock(&ide->lock);
    ch->is_queued = false;
    if (ch->io_done == NULL || ide->is_stopped)
        goto out;
    if (ch->is_inflight) { /* a stale request (before a reset) still runs */
        ch->needs_submit = true;
        goto out;
    }
    d = ide_xfer(ch);
    if (ch->dma.is_pending) {
        if (!(ch->bm_cmd & BM_CMD_START))
            goto out; /* stopped before we got here: the START write queues again */
        ret = dma_prepare(ch);
    } else {
        ch->br.op = ch->pio_op;
        ch->br.offset_bytes = ch->pio_offset;
        ch->br.len_bytes = ch->pio_len;
        ch->iov[0] = (struct iovec){.iov_base = ch->buf, .iov_len = ch->pio_len};
        ch->br.iovcnt = ch->pio_op == BLK_OP_FLUSH ? 0 : 1;
    }
    if (ret == 0 && d->blk == NULL)
        ret = -ENOMEDIUM;
    if (ret == 0) {
        ch->br.iov = ch->iov;
        ch->br.done = io_complete;
        ch->br.opaque = ch;
        ch->io_epoch = ch->epoch;
        ret = blk_submit(d->blk, &ch->br);
        if (ret == 0) {
            ch->is_inflight = true;
            goto out;
        }
    }
    finish(ch, ret == 1 ? 0 : ret);
out:
    pthread_mutex_unlock(&ide->lock);
}

void ide_dma_setup(struct ide_channel *ch, bool is_write, uint64_t offset, uint64_t len,
                   bool is_from_buf, ide_io_fn done)
{
    ch->dma = (struct ide_dma){
        .is_pending = true,
        .is_write = is_write,
        .is_from_buf = is_from_buf,
        .offset_bytes = offset,
        .len_bytes = len,
        .done = done,
    };
    if (ch->bm_cmd & BM_CMD_START) {
        ch->bm_status |= BM_ST_ACTIVE;
        io_queue(ch, done);
    } else {
        struct ide_drive *d = ide_xfer(ch);
        d->status = (uint8_t)(ide_ready_status(d) | ATA_BSY);
    }
}

static uint64_t bm_read(void *opaque, uint64_t off, unsigned size)
{
    struct ide *ide = opaque;
    struct ide_channel *ch = &ide->ch[off >= 8];
    uint64_t val;
    off &= 7;
    pthread_mutex_lock(&ide->lock);
    if (off == 0)
        val = ch->bm_cmd;
    else if (off == 2)
        val = ch->bm_status;
    else if (off >= 4)
        val = ch->prd_gpa >> ((off - 4) * 8);
    else
        val = 0;
    pthread_mutex_unlock(&ide->lock);
    if (size < 8)
        val &= (1ull << (size * 8)) - 1;
    return val;
}

static void bm_cmd_write(struct ide_channel *ch, uint8_t v)
{
    bool was_started = ch->bm_cmd & BM_CMD_START;
    ch->bm_cmd = v & (BM_CMD_START | BM_CMD_TO_MEMORY);
    if (!(v & BM_CMD_START)) {
        /* Stopping aborts nothing already with the disk: its completion finishes the command */
        ch->bm_status &= (uint8_t)~BM_ST_ACTIVE;
        return;
    }
    if (was_started || !ch->dma.is_pending)
        return;
    ch->bm_status |= BM_ST_ACTIVE;
    io_queue(ch, ch->dma.done);
}

static void bm_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    struct ide *ide = opaque;
    struct ide_channel *ch = &ide->ch[off >= 8];
    off &= 7;
    pthread_mutex_lock(&ide->lock);
    for (unsigned i = 0; i < size && off + i < 8; i++) {
        uint8_t b = (uint8_t)(val >> (i * 8));
        unsigned r = (unsigned)off + i;
        if (r == 0) {
            bm_cmd_write(ch, b);
        } else if (r == 2) {
            ch->bm_status = (uint8_t)((ch->bm_status & ~BM_ST_DMA_CAPABLE & ~(b & 0x06)) |
                                      (b & BM_ST_DMA_CAPABLE));
        } else if (r >= 4) {
            unsigned sh = (r - 4) * 8;
            ch->prd_gpa = (ch->prd_gpa & ~(0xffu << sh)) | ((uint32_t)b << sh);
            ch->prd_gpa &= ~3u;
        }
    }
    pthread_mutex_unlock(&ide->lock);
}

const struct io_ops ide_bm_ops = {.read = bm_read, .write = bm_write};

/* SPDX-License-Identifier: MIT */
/*
 * The IDE controller's saved state (dev/storage/ide.h). Per channel:
 *
 *   registers   cur, xfer_unit, task file (6), HOB bytes (5), devctl, irq_pending
 *   PIO piece   end kind (what runs when the data port has moved it), direction, pos, end
 *   command     cmd, lba, left, per_drq, bcl, reply_left, reply_off, piece, packet DMA bit
 *   DMA         pending, write, from the buffer, offset and length in bytes
 *   bus master  command, status, PRD table address
 *   buffer      the bytes of the channel buffer the command still needs (u32 length, data)
 *   drives (2)  kind, medium present, sectors, status, error, current geometry, multiple
 *               count, write cache, transfer mode, sense, unit attention, lock, tray, event
 *
 * The functions a command continues with are saved as small numbers (the end kinds below; a
 * DMA's completion follows from the drive's kind), never as pointers. No block I/O is saved:
 * the save waits until none is queued or in flight (ide_busy), so a DMA transfer is either done
 * or still waits for the bus master's START, and a PIO command sits in a DRQ piece whose bytes
 * are in the buffer. Everything loaded is checked before anything changes.
 */
#include "dev/storage/ide_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/ckd.h"
#include "base/statefile.h"

enum end_kind {
    END_NONE,
    END_ATA_READ,
    END_ATA_WRITE,
    END_PIO_DONE,
    END_ATAPI_PIECE,
    END_ATAPI_PACKET,
    END_KINDS,
};

static const ide_end_fn end_fns[END_KINDS] = {
    [END_NONE] = NULL,
    [END_ATA_READ] = ide_ata_read_end,
    [END_ATA_WRITE] = ide_ata_write_end,
    [END_PIO_DONE] = ide_pio_done,
    [END_ATAPI_PIECE] = ide_atapi_piece_end,
    [END_ATAPI_PACKET] = ide_atapi_packet_end,
};

#define ATA_MAX_SECTORS 65536u /* an LBA48 count of 0 */
/* Where an ATAPI transfer may end: a READ(12) at the last 32-bit LBA. Not the medium's size:
 * the medium may change while a command waits for the guest (ide_change_media refuses only
 * while block I/O is queued or in flight), and the disk refuses what lies past it. */
#define ATAPI_END_MAX ((1ULL << 32) + ATAPI_MAX_READ_SECTORS)

static unsigned end_kind_of(ide_end_fn fn)
{
    for (unsigned k = 0; k < END_KINDS; k++)
        if (end_fns[k] == fn)
            return k;
    return END_KINDS;
}

/* The bytes of ch->buf the command still needs: the PIO piece, the ATAPI reply it is part of,
 * or an ATAPI reply waiting to go by DMA. */
static uint64_t buf_needed(const struct ide_channel *ch)
{
    if (ch->end_fn == ide_atapi_piece_end)
        return (uint64_t)ch->reply_off + ch->reply_left;
    if (ch->end_fn != NULL)
        return ch->end;
    if (ch->dma.is_pending && ch->dma.is_from_buf)
        return ch->dma.len_bytes;
    return 0;
}

unsigned ide_busy(struct ide *ide)
{
    unsigned n = 0;
    pthread_mutex_lock(&ide->lock);
    for (unsigned c = 0; c < IDE_CHANNELS; c++)
        n += ide->ch[c].is_inflight || ide->ch[c].is_queued || ide->ch[c].needs_submit;
    pthread_mutex_unlock(&ide->lock);
    return n;
}

static void put_drive(struct sf_buf *b, const struct ide_drive *d)
{
    sf_put_u8(b, (uint8_t)d->kind);
    sf_put_u8(b, d->blk != NULL);
    sf_put_u64(b, d->nsectors);
    sf_put_u8(b, d->status);
    sf_put_u8(b, d->error);
    sf_put_u16(b, d->cur_heads);
    sf_put_u16(b, d->cur_secs);
    sf_put_u8(b, (uint8_t)d->multiple);
    sf_put_u8(b, d->has_wcache);
    sf_put_u8(b, d->xfer_mode);
    sf_put_u8(b, d->sense_key);
    sf_put_u8(b, d->asc);
    sf_put_u8(b, d->ascq);
    sf_put_u8(b, d->has_unit_attention);
    sf_put_u8(b, d->is_locked);
    sf_put_u8(b, d->is_tray_open);
    sf_put_u8(b, (uint8_t)d->event);
}

static void put_channel(struct sf_buf *b, const struct ide_channel *ch)
{
    const uint8_t regs[] = {(uint8_t)ch->cur, (uint8_t)ch->xfer_unit,
                            ch->feature,      ch->nsector,
                            ch->sector,       ch->lcyl,
                            ch->hcyl,         ch->select,
                            ch->hob_feature,  ch->hob_nsector,
                            ch->hob_sector,   ch->hob_lcyl,
                            ch->hob_hcyl,     ch->devctl,
                            ch->irq_pending};
    uint32_t need = (uint32_t)buf_needed(ch);
    sf_put_bytes(b, regs, sizeof(regs));
    sf_put_u8(b, (uint8_t)end_kind_of(ch->end_fn));
    sf_put_u8(b, ch->is_out);
    sf_put_u32(b, ch->pos);
    sf_put_u32(b, ch->end);
    sf_put_u8(b, ch->cmd);
    sf_put_u64(b, ch->lba);
    sf_put_u64(b, ch->left);
    sf_put_u32(b, ch->per_drq);
    sf_put_u32(b, ch->bcl);
    sf_put_u32(b, ch->reply_left);
    sf_put_u32(b, ch->reply_off);
    sf_put_u32(b, ch->piece);
    sf_put_u8(b, ch->is_packet_dma);
    sf_put_u8(b, ch->dma.is_pending);
    sf_put_u8(b, ch->dma.is_write);
    sf_put_u8(b, ch->dma.is_from_buf);
    sf_put_u64(b, ch->dma.offset_bytes);
    sf_put_u64(b, ch->dma.len_bytes);
    sf_put_u8(b, ch->bm_cmd);
    sf_put_u8(b, ch->bm_status);
    sf_put_u32(b, ch->prd_gpa);
    sf_put_u32(b, need);
    sf_put_bytes(b, ch->buf, need);
    for (unsigned u = 0; u < 2; u++)
        put_drive(b, &ch->drive[u]);
}

int ide_save(struct ide *ide, struct sf_buf *b)
{
    int ret = 0;
    pthread_mutex_lock(&ide->lock);
    for (unsigned c = 0; c < IDE_CHANNELS && ret == 0; c++) {
        const struct ide_channel *ch = &ide->ch[c];
        if (ch->is_inflight || ch->is_queued || ch->needs_submit)
            ret = -EBUSY;
        else if (end_kind_of(ch->end_fn) == END_KINDS || buf_needed(ch) > IDE_BUF_BYTES)
            ret = -ENOTSUP; /* a state this file does not know how to write */
    }
    for (unsigned c = 0; c < IDE_CHANNELS && ret == 0; c++)
        put_channel(b, &ide->ch[c]);
    pthread_mutex_unlock(&ide->lock);
    return ret;
}

/* A byte that must be 0 or 1; clears (*ok) otherwise. */
static bool get_flag(struct sf_in *in, bool *ok)
{
    uint8_t v = sf_get_u8(in);
    if (v > 1)
        *ok = false;
    return v == 1;
}

static bool range_ok(uint64_t lba, uint64_t count, uint64_t nsectors)
{
    uint64_t end;
    return !ckd_add(&end, lba, count) && end <= nsectors;
}

/* The medium the drive had at the save differs from this one's: a media change for the guest,
 * as ide_change_media gives. */
static void media_changed(struct ide_drive *d)
{
    d->is_tray_open = false;
    d->is_locked = d->is_locked && d->blk != NULL;
    d->has_unit_attention = true;
    d->event = d->blk != NULL ? GESN_NEW_MEDIA : GESN_MEDIA_REMOVAL;
}

/* Reads drive (d) (a copy of the live one: kind, medium and geometry are this machine's). */
static void get_drive(struct sf_in *in, struct ide_drive *d, bool *ok)
{
    uint8_t kind = sf_get_u8(in), event;
    bool had_medium = get_flag(in, ok);
    uint64_t nsectors = sf_get_u64(in);
    unsigned m;
    d->status = sf_get_u8(in);
    d->error = sf_get_u8(in);
    d->cur_heads = sf_get_u16(in);
    d->cur_secs = sf_get_u16(in);
    d->multiple = m = sf_get_u8(in);
    d->has_wcache = get_flag(in, ok);
    d->xfer_mode = sf_get_u8(in);
    d->sense_key = sf_get_u8(in);
    d->asc = sf_get_u8(in);
    d->ascq = sf_get_u8(in);
    d->has_unit_attention = get_flag(in, ok);
    d->is_locked = get_flag(in, ok);
    d->is_tray_open = get_flag(in, ok);
    event = sf_get_u8(in);
    d->event = (enum ide_gesn_event)event;
    if (kind != d->kind || m > IDE_MAX_MULTIPLE || (m & (m - 1)) != 0 || d->xfer_mode > 0x45 ||
        d->sense_key > 0x0f ||
        (event != GESN_NONE && event != GESN_NEW_MEDIA && event != GESN_MEDIA_REMOVAL))
        *ok = false;
    if (d->kind == IDE_KIND_ATA) {
        /* the same disk: a restore with another size is another machine */
        if (!had_medium || nsectors != d->nsectors || d->cur_heads < 1 || d->cur_heads > 16 ||
            d->cur_secs < 1 || d->cur_secs > 255)
            *ok = false;
        return;
    }
    if (d->cur_heads != d->heads || d->cur_secs != d->secs || m != 0)
        *ok = false;
    if (d->kind == IDE_KIND_ATAPI &&
        (had_medium != (d->blk != NULL) || (had_medium && nsectors != d->nsectors)))
        media_changed(d);
}

/* The PIO piece of (t) can continue: its kind fits the drive, its bytes are in the buffer and
 * what follows it stays on the medium. */
static bool piece_is_valid(const struct ide_channel *t, const struct ide_drive *d, unsigned kind)
{
    bool is_ata = d->kind == IDE_KIND_ATA, is_atapi = d->kind == IDE_KIND_ATAPI;
    bool has_drq = t->per_drq >= 1 && t->per_drq <= IDE_MAX_MULTIPLE;
    bool has_bcl = t->bcl >= 2 && t->bcl <= 0xfffe;
    switch (kind) {
    case END_NONE:
        return true;
    case END_ATA_READ:
        return is_ata && !t->is_out && t->end % IDE_SECTOR_BYTES == 0 && has_drq &&
               range_ok(t->lba, t->left, d->nsectors);
    case END_ATA_WRITE:
        return is_ata && t->is_out && t->end > 0 && t->end % IDE_SECTOR_BYTES == 0 &&
               t->end / IDE_SECTOR_BYTES <= t->left && has_drq &&
               range_ok(t->lba, t->left, d->nsectors);
    case END_PIO_DONE: /* IDENTIFY (PACKET) DEVICE */
        return d->kind != IDE_KIND_NONE && !t->is_out && t->end <= 512;
    case END_ATAPI_PIECE:
        return is_atapi && !t->is_out && has_bcl && t->piece > 0 && t->piece <= t->reply_left &&
               (uint64_t)t->reply_off + t->reply_left <= IDE_BUF_BYTES && t->pos >= t->reply_off &&
               t->end == (uint64_t)t->reply_off + t->piece && t->left <= ATAPI_MAX_READ_SECTORS &&
               range_ok(t->lba, t->left, ATAPI_END_MAX);
    case END_ATAPI_PACKET:
        return is_atapi && t->is_out && t->end == ATAPI_PACKET_BYTES && has_bcl;
    default:
        return false;
    }
}

/* The DMA transfer of (t) waiting for START moves whole sectors of the medium, or a reply of
 * the buffer. */
static bool dma_is_valid(const struct ide_channel *t, const struct ide_drive *d)
{
    const struct ide_dma *dma = &t->dma;
    uint64_t sector = d->kind == IDE_KIND_ATA ? IDE_SECTOR_BYTES : ATAPI_SECTOR_BYTES;
    uint64_t max = d->kind == IDE_KIND_ATA ? ATA_MAX_SECTORS : ATAPI_MAX_READ_SECTORS;
    if (!dma->is_pending)
        return true;
    /* a started transfer was submitted, and the save waited for it to complete */
    if ((t->bm_cmd & BM_CMD_START) || t->end_fn != NULL || dma->len_bytes == 0)
        return false;
    if (dma->is_from_buf)
        return d->kind == IDE_KIND_ATAPI && !dma->is_write && dma->len_bytes <= IDE_BUF_BYTES;
    if (d->kind == IDE_KIND_NONE || (d->kind == IDE_KIND_ATAPI && dma->is_write))
        return false;
    return dma->offset_bytes % sector == 0 && dma->len_bytes % sector == 0 &&
           dma->len_bytes / sector <= max &&
           range_ok(dma->offset_bytes / sector, dma->len_bytes / sector,
                    d->kind == IDE_KIND_ATA ? d->nsectors : ATAPI_END_MAX);
}

/* A command in progress shows in its unit's status (DRQ for a PIO piece, BSY for a DMA that
 * waits), and the other unit of the channel is idle meanwhile (the task file is the running
 * unit's own: ide.c ignores a command for the other one). */
static bool busy_is_valid(const struct ide_channel *t)
{
    uint8_t mine = t->drive[t->xfer_unit].status, other = t->drive[!t->xfer_unit].status;
    if (t->end_fn == NULL && !t->dma.is_pending)
        return true;
    if ((other & (ATA_BSY | ATA_DRQ)) != 0)
        return false;
    return t->end_fn != NULL ? (mine & ATA_DRQ) != 0 : (mine & ATA_BSY) != 0;
}

/* Reads channel (t) (a copy of the live one) and its buffer bytes into (buf). */
static bool get_channel(struct sf_in *in, struct ide_channel *t, uint8_t *buf)
{
    uint8_t regs[15];
    unsigned kind;
    uint32_t need;
    bool ok = true;
    sf_get_bytes(in, regs, sizeof(regs));
    t->cur = regs[0];
    t->xfer_unit = regs[1];
    t->feature = regs[2];
    t->nsector = regs[3];
    t->sector = regs[4];
    t->lcyl = regs[5];
    t->hcyl = regs[6];
    t->select = regs[7];
    t->hob_feature = regs[8];
    t->hob_nsector = regs[9];
    t->hob_sector = regs[10];
    t->hob_lcyl = regs[11];
    t->hob_hcyl = regs[12];
    t->devctl = regs[13];
    t->irq_pending = regs[14] == 1;
    kind = sf_get_u8(in);
    t->is_out = get_flag(in, &ok);
    t->pos = sf_get_u32(in);
    t->end = sf_get_u32(in);
    t->cmd = sf_get_u8(in);
    t->lba = sf_get_u64(in);
    t->left = sf_get_u64(in);
    t->per_drq = sf_get_u32(in);
    t->bcl = sf_get_u32(in);
    t->reply_left = sf_get_u32(in);
    t->reply_off = sf_get_u32(in);
    t->piece = sf_get_u32(in);
    t->is_packet_dma = get_flag(in, &ok);
    t->dma.is_pending = get_flag(in, &ok);
    t->dma.is_write = get_flag(in, &ok);
    t->dma.is_from_buf = get_flag(in, &ok);
    t->dma.offset_bytes = sf_get_u64(in);
    t->dma.len_bytes = sf_get_u64(in);
    t->bm_cmd = sf_get_u8(in);
    t->bm_status = sf_get_u8(in);
    t->prd_gpa = sf_get_u32(in);
    need = sf_get_u32(in);
    if (need > IDE_BUF_BYTES)
        return false;
    sf_get_bytes(in, buf, need);
    for (unsigned u = 0; u < 2; u++)
        get_drive(in, &t->drive[u], &ok);
    if (!ok || in->bad || kind >= END_KINDS || regs[0] > 1 || regs[1] > 1 || regs[14] > 1 ||
        (t->bm_cmd & ~(BM_CMD_START | BM_CMD_TO_MEMORY)) || (t->prd_gpa & 3) ||
        t->per_drq > IDE_MAX_MULTIPLE || t->bcl > 0xfffe || t->left > ATA_MAX_SECTORS ||
        t->pos > t->end || t->end > IDE_BUF_BYTES)
        return false;
    t->end_fn = end_fns[kind];
    if (!busy_is_valid(t))
        return false;
    return piece_is_valid(t, &t->drive[t->xfer_unit], kind) &&
           dma_is_valid(t, &t->drive[t->xfer_unit]) && buf_needed(t) == need;
}

/* Makes the checked copy (t) the live channel (ch), with (buf) as its buffer's first bytes. */
static void commit_channel(struct ide_channel *ch, const struct ide_channel *t, const uint8_t *buf)
{
    uint8_t *live_buf = ch->buf;
    const struct ide_drive *d = &t->drive[t->xfer_unit];
    uint32_t epoch = ch->epoch + 1;
    memcpy(live_buf, buf, (size_t)buf_needed(t));
    *ch = *t;
    ch->buf = live_buf;
    ch->dma.done = !t->dma.is_pending        ? NULL
                   : d->kind == IDE_KIND_ATA ? ide_ata_rw_done
                                             : ide_atapi_dma_done;
    if (!t->dma.is_pending)
        ch->dma = (struct ide_dma){0};
    ch->io_done = NULL; /* a START write queues the pending DMA again */
    ch->is_queued = ch->is_inflight = ch->needs_submit = false;
    ch->epoch = ch->io_epoch = epoch;
    ide_update_irq(ch);
}

int ide_load(struct ide *ide, struct sf_in *in)
{
    struct ide_channel *t = malloc(IDE_CHANNELS * sizeof(*t));
    uint8_t *bufs = malloc((size_t)IDE_CHANNELS * IDE_BUF_BYTES);
    bool ok = t != NULL && bufs != NULL;
    int ret = ok ? 0 : -ENOMEM;
    pthread_mutex_lock(&ide->lock);
    for (unsigned c = 0; c < IDE_CHANNELS && ok; c++) {
        const struct ide_channel *ch = &ide->ch[c];
        if (ch->is_inflight || ch->is_queued || ch->needs_submit) {
            ok = false;
            ret = -EBUSY;
            break;
        }
        t[c] = *ch;
        ok = get_channel(in, &t[c], bufs + (size_t)c * IDE_BUF_BYTES);
    }
    if (ok && sf_in_end(in) < 0)
        ok = false;
    if (ok) {
        for (unsigned c = 0; c < IDE_CHANNELS; c++)
            commit_channel(&ide->ch[c], &t[c], bufs + (size_t)c * IDE_BUF_BYTES);
    } else if (ret == 0) {
        ret = -EINVAL;
    }
    pthread_mutex_unlock(&ide->lock);
    free(t);
    free(bufs);
    return ret;
}

/* SPDX-License-Identifier: MIT */
/*
 * The ATAPI CD-ROM (SFF-8020i PACKET protocol, MMC-3): IDENTIFY PACKET DEVICE, the PACKET
 * command (a 12-byte CDB through the data port, then data-in by PIO in pieces of at most the
 * byte count limit, or by DMA when the PACKET's feature bit 0 asks for it), the command
 * dispatch with unit attention and NOT READY checks, READ(10)/READ(12) from the medium in
 * 2048-byte sectors, the commands without data (TEST UNIT READY, START STOP UNIT, PREVENT ALLOW
 * MEDIUM REMOVAL, SET CD SPEED, SEEK) and media change from the host. The replies of the other
 * data-in commands are built in ide_mmc.c. Errors are CHECK CONDITION: ERR in the status, the
 * sense key in the high nibble of the error register, the sense data for REQUEST SENSE. After a
 * media change the next command other than INQUIRY, REQUEST SENSE, GET CONFIGURATION and GET
 * EVENT STATUS NOTIFICATION fails once with UNIT ATTENTION, NOT READY TO READY CHANGE (28h).
 */
#include "dev/storage/ide_internal.h"

#include <errno.h>
#include <string.h>

#define LOG_TAG "ide"
#include "base/ckd.h"
#include "base/log.h"
#include "block/blk.h"
#include "dev/storage/ide_mmc.h"

#define SENSE_NOT_READY 0x02
#define SENSE_MEDIUM_ERROR 0x03
#define SENSE_ILLEGAL_REQUEST 0x05
#define SENSE_UNIT_ATTENTION 0x06

static uint32_t be16(const uint8_t *p)
{
    return (uint32_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* An image without one whole 2048-byte sector (0 bytes, say) is no medium, as QEMU has it. */
static bool has_medium(const struct ide_drive *d)
{
    return d->blk != NULL && !d->is_tray_open && d->nsectors > 0;
}

void ide_atapi_identify(struct ide_channel *ch)
{
    struct ide_drive *d = ide_xfer(ch);
    uint16_t *id = (uint16_t *)ch->buf;
    memset(id, 0, 512);
    id[0] = 0x85c0; /* ATAPI, CD-ROM, removable, accelerated DRQ, 12-byte packets */
    ide_put_string(id, 10, d->serial, 10);
    ide_put_string(id, 23, "1.0", 4);
    ide_put_string(id, 27, "BAREIRON DVD-ROM", 20);
    id[49] = 0x0300; /* LBA, DMA */
    id[53] = 0x0007;
    id[62] = 0x0007;
    id[63] = 0x0007;
    id[64] = 0x0003;
    id[65] = id[66] = id[67] = id[68] = 0xb4;
    id[71] = id[72] = 30;
    id[80] = 0x001e;
    id[82] = 1 << 14 | 1 << 4; /* NOP, PACKET */
    id[83] = 1 << 14;
    id[84] = 1 << 14;
    id[85] = 1 << 14 | 1 << 4;
    id[87] = 1 << 14;
    id[88] = 0x003f;
    ide_pio_start(ch, 0, 512, false, ide_pio_done);
    ide_raise_irq(ch);
}

/* CHECK CONDITION with (key, asc). */
static void check_condition(struct ide_channel *ch, uint8_t key, uint8_t asc)
{
    struct ide_drive *d = ide_xfer(ch);
    d->sense_key = key;
    d->asc = asc;
    d->ascq = 0;
    ch->nsector = ATAPI_IO | ATAPI_COD;
    ide_cmd_abort(ch, (uint8_t)(key << 4));
}

static void good(struct ide_channel *ch)
{
    struct ide_drive *d = ide_xfer(ch);
    d->sense_key = d->asc = d->ascq = 0;
    ch->nsector = ATAPI_IO | ATAPI_COD;
    ide_cmd_ok(ch);
}

static void read_next(struct ide_channel *ch);
static void send_piece(struct ide_channel *ch);

void ide_atapi_piece_end(struct ide_channel *ch)
{
    ch->reply_off += ch->piece;
    ch->reply_left -= ch->piece;
    if (ch->reply_left > 0)
        send_piece(ch);
    else if (ch->left > 0)
        read_next(ch);
    else
        good(ch);
}

/* One DRQ piece of the reply: at most the byte count limit, even unless it is the last. */
static void send_piece(struct ide_channel *ch)
{
    uint32_t n = ch->reply_left;
    if (n > ch->bcl)
        n = ch->bcl & ~1u;
    ch->piece = n;
    ch->lcyl = (uint8_t)n;
    ch->hcyl = (uint8_t)(n >> 8);
    ch->nsector = ATAPI_IO;
    ide_pio_start(ch, ch->reply_off, n, false, ide_atapi_piece_end);
    ide_raise_irq(ch);
}

void ide_atapi_dma_done(struct ide_channel *ch, int ret)
{
    if (ret == -ENOMEDIUM)
        check_condition(ch, SENSE_NOT_READY, ASC_NO_MEDIUM);
    else if (ret < 0)
        check_condition(ch, SENSE_MEDIUM_ERROR, 0x11); /* unrecovered read error */
    else
        good(ch);
}

/* Sends the (len)-byte reply in ch->buf, cut to the allocation length (alloc). */
static void reply(struct ide_channel *ch, int len, uint32_t alloc)
{
    uint32_t n = (uint32_t)len < alloc ? (uint32_t)len : alloc;
    if (len < 0) {
        check_condition(ch, SENSE_ILLEGAL_REQUEST, (uint8_t)-len);
        return;
    }
    ch->left = 0;
    if (n == 0) {
        good(ch);
    } else if (ch->is_packet_dma) {
        ide_dma_setup(ch, false, 0, n, true, ide_atapi_dma_done);
    } else {
        ch->reply_off = 0;
        ch->reply_left = n;
        send_piece(ch);
    }
}

static void read_done(struct ide_channel *ch, int ret)
{
    uint32_t n = (uint32_t)(ch->br.len_bytes / ATAPI_SECTOR_BYTES);
    if (ret < 0) {
        ide_atapi_dma_done(ch, ret);
        return;
    }
    ch->lba += n;
    ch->left -= n;
    ch->reply_off = 0;
    ch->reply_left = n * ATAPI_SECTOR_BYTES;
    send_piece(ch);
}

static void read_next(struct ide_channel *ch)
{
    uint64_t n = IDE_BUF_BYTES / ATAPI_SECTOR_BYTES;
    if (ch->left < n)
        n = ch->left;
    ide_io_buf(ch, BLK_OP_READ, ch->lba * ATAPI_SECTOR_BYTES, (uint32_t)(n * ATAPI_SECTOR_BYTES),
               read_done);
}

static void cmd_read(struct ide_channel *ch, const uint8_t *cdb)
{
    struct ide_drive *d = ide_xfer(ch);
    uint64_t lba = be32(cdb + 2);
    uint64_t count = cdb[0] == 0x28 ? be16(cdb + 7) : be32(cdb + 6);
    uint64_t end;
    if (ckd_add(&end, lba, count) || end > d->nsectors) {
        log_ratelimited(LOG_WARN, "channel %u: read of %llu sectors at %llu past the medium",
                        ch->index, (unsigned long long)count, (unsigned long long)lba);
        check_condition(ch, SENSE_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
        return;
    }
    if (count > ATAPI_MAX_READ_SECTORS) {
        check_condition(ch, SENSE_ILLEGAL_REQUEST, ASC_INVALID_FIELD);
        return;
    }
    if (count == 0) {
        good(ch);
        return;
    }
    ch->lba = lba;
    ch->left = count;
    if (ch->is_packet_dma) {
        ch->left = 0;
        ide_dma_setup(ch, false, lba * ATAPI_SECTOR_BYTES, count * ATAPI_SECTOR_BYTES, false,
                      ide_atapi_dma_done);
        return;
    }
    read_next(ch);
}

static void start_stop(struct ide_channel *ch, const uint8_t *cdb)
{
    struct ide_drive *d = ide_xfer(ch);
    bool is_load_eject = cdb[4] & 2, is_start = cdb[4] & 1;
    if (is_load_eject && !is_start) {
        if (d->is_locked) {
            check_condition(ch, SENSE_ILLEGAL_REQUEST, ASC_REMOVAL_PREVENTED);
            return;
        }
        if (!d->is_tray_open && d->blk != NULL)
            d->event = GESN_MEDIA_REMOVAL;
        d->is_tray_open = true;
    } else if (is_load_eject) {
        if (d->is_tray_open && d->blk != NULL) {
            d->event = GESN_NEW_MEDIA;
            d->has_unit_attention = true;
        }
        d->is_tray_open = false;
    }
    good(ch);
}

/* Unit attention first, then NOT READY for the commands that need a medium. */
static bool check_ready(struct ide_channel *ch, uint8_t op)
{
    struct ide_drive *d = ide_xfer(ch);
    if (op == 0x12 || op == 0x03 || op == 0x46 || op == 0x4a)
        return true;
    if (d->has_unit_attention) {
        d->has_unit_attention = false;
        check_condition(ch, SENSE_UNIT_ATTENTION, ASC_MEDIUM_CHANGED);
        return false;
    }
    switch (op) {
    case 0x00:
    case 0x25:
    case 0x28:
    case 0xa8:
    case 0x43:
    case 0x51:
    case 0x2b:
        if (!has_medium(d)) {
            check_condition(ch, SENSE_NOT_READY, ASC_NO_MEDIUM);
            return false;
        }
        return true;
    default:
        return true;
    }
}

static void dispatch(struct ide_channel *ch, const uint8_t *cdb)
{
    struct ide_drive *d = ide_xfer(ch);
    uint8_t *b = ch->buf;
    switch (cdb[0]) {
    case 0x00:
    case 0xbb:
    case 0x2b: /* TEST UNIT READY, SET CD SPEED, SEEK(10) */
        good(ch);
        break;
    case 0x03: {
        int len = mmc_request_sense(d, b);
        d->sense_key = d->asc = d->ascq = 0;
        reply(ch, len, cdb[4]);
        break;
    }
    case 0x12:
        reply(ch, mmc_inquiry(d, cdb, b), be16(cdb + 3));
        break;
    case 0x1b:
        start_stop(ch, cdb);
        break;
    case 0x1e:
        d->is_locked = cdb[4] & 1;
        good(ch);
        break;
    case 0x25:
        reply(ch, mmc_read_capacity(d, b), 8);
        break;
    case 0x28:
    case 0xa8:
        cmd_read(ch, cdb);
        break;
    case 0x43:
        reply(ch, mmc_read_toc(d, cdb, b), be16(cdb + 7));
        break;
    case 0x46:
        reply(ch, mmc_get_configuration(d, cdb, b), be16(cdb + 7));
        break;
    case 0x4a:
        reply(ch, mmc_event_status(d, cdb, b), be16(cdb + 7));
        break;
    case 0x51:
        reply(ch, mmc_disc_information(d, cdb, b), be16(cdb + 7));
        break;
    case 0x5a:
        reply(ch, mmc_mode_sense10(d, cdb, b), be16(cdb + 7));
        break;
    case 0xbd:
        reply(ch, mmc_mechanism_status(d, b), be16(cdb + 8));
        break;
    default:
        log_ratelimited(LOG_DEBUG, "channel %u: ATAPI command 0x%02x not supported", ch->index,
                        cdb[0]);
        check_condition(ch, SENSE_ILLEGAL_REQUEST, ASC_INVALID_OPCODE);
        break;
    }
}

void ide_atapi_packet_end(struct ide_channel *ch)
{
    uint8_t cdb[ATAPI_PACKET_BYTES];
    memcpy(cdb, ch->buf, sizeof(cdb));
    ch->end_fn = NULL;
    if (check_ready(ch, cdb[0]))
        dispatch(ch, cdb);
}

void ide_atapi_packet(struct ide_channel *ch)
{
    uint32_t bcl = (uint32_t)(ch->lcyl | ch->hcyl << 8);
    /* 0 is not allowed for PIO and FFFFh means FFFEh (SFF-8020i §7.16): both as FFFEh */
    ch->bcl = bcl < 2 || bcl == 0xffff ? 0xfffe : bcl;
    ch->is_packet_dma = ch->feature & 1;
    ch->left = 0;
    ch->nsector = ATAPI_COD;
    /* accelerated DRQ (IDENTIFY word 0): the CDB is asked for without an interrupt */
    ide_pio_start(ch, 0, ATAPI_PACKET_BYTES, true, ide_atapi_packet_end);
}

int ide_change_media(struct ide *ide, unsigned drive, struct blk *blk, bool is_forced,
                     struct blk **old)
{
    struct ide_channel *ch;
    struct ide_drive *d;
    int ret = 0;
    if (drive >= IDE_DRIVES)
        return -ENODEV;
    ch = &ide->ch[drive / 2];
    d = &ch->drive[drive % 2];
    pthread_mutex_lock(&ide->lock);
    if (d->kind != IDE_KIND_ATAPI) {
        ret = -ENODEV;
    } else if (ch->is_inflight || ch->is_queued) {
        ret = -EBUSY;
    } else if (d->is_locked && d->blk != NULL && !is_forced) {
        ret = -EBUSY;
    } else {
        *old = d->blk;
        d->blk = blk;
        d->nsectors = blk != NULL ? blk_size_bytes(blk) / ATAPI_SECTOR_BYTES : 0;
        d->is_tray_open = false;
        d->is_locked = d->is_locked && blk != NULL;
        d->has_unit_attention = true;
        d->event = blk != NULL ? GESN_NEW_MEDIA : GESN_MEDIA_REMOVAL;
    }
    pthread_mutex_unlock(&ide->lock);
    return ret;
}

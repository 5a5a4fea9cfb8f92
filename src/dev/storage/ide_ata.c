/* SPDX-License-Identifier: MIT */
/*
 * ATA commands of the IDE disks (ATA/ATAPI-7 vol. 1): IDENTIFY DEVICE (§6.17), READ/WRITE
 * SECTORS (EXT), READ/WRITE MULTIPLE (EXT) with SET MULTIPLE MODE, READ/WRITE DMA (EXT),
 * READ VERIFY SECTORS (EXT), FLUSH CACHE (EXT), SET FEATURES, INITIALIZE DEVICE PARAMETERS
 * (CHS translation), CHECK POWER MODE and the power and seek commands that need no work. Every
 * sector range is checked against the disk (IDNF past the end) before any I/O; a CHS address
 * outside the current geometry is IDNF too. PIO moves one DRQ block (one sector, or the
 * multiple count) per disk request through the channel buffer; DMA goes straight between the
 * disk and the PRD regions (ide_dma.c).
 */
#include "dev/storage/ide_internal.h"

#include <string.h>

#define LOG_TAG "ide"
#include "base/ckd.h"
#include "base/log.h"

void ide_ata_identify_geometry(struct ide_drive *d)
{
    uint64_t cyls = d->nsectors / (16 * 63);
    d->heads = 16;
    d->secs = 63;
    d->cyls = (uint16_t)(cyls > 16383 ? 16383 : cyls == 0 ? 1 : cyls);
}

static void put_u32(uint16_t *id, unsigned word, uint32_t v)
{
    id[word] = (uint16_t)v;
    id[word + 1] = (uint16_t)(v >> 16);
}

static void fill_identify(const struct ide_drive *d, uint16_t *id)
{
    uint64_t chs = (uint64_t)d->cyls * d->cur_heads * d->cur_secs;
    memset(id, 0, 512);
    id[0] = 0x0040; /* fixed disk */
    id[1] = d->cyls;
    id[3] = d->heads;
    id[6] = d->secs;
    ide_put_string(id, 10, d->serial, 10);
    ide_put_string(id, 23, "1.0", 4);
    ide_put_string(id, 27, "BAREIRON HARDDISK", 20);
    id[47] = 0x8000 | IDE_MAX_MULTIPLE;
    id[49] = 0x0300; /* LBA, DMA */
    id[50] = 0x4000;
    id[51] = 0x0200;
    id[53] = 0x0007; /* words 54-58, 64-70 and 88 valid */
    id[54] = d->cyls;
    id[55] = d->cur_heads;
    id[56] = d->cur_secs;
    put_u32(id, 57, (uint32_t)(chs > UINT32_MAX ? UINT32_MAX : chs));
    id[59] = (uint16_t)(d->multiple ? 0x100 | d->multiple : 0);
    put_u32(id, 60, (uint32_t)(d->nsectors > 0x0fffffff ? 0x0fffffff : d->nsectors));
    id[62] = 0x0007;
    id[63] = (uint16_t)(0x0007 | ((d->xfer_mode >> 3) == 4 ? 0x100 << (d->xfer_mode & 7) : 0));
    id[64] = 0x0003; /* PIO 3 and 4 */
    id[65] = id[66] = id[67] = id[68] = 120;
    id[80] = 0x00f0; /* ATA-4 to ATA-7 */
    id[81] = 0x0016;
    id[82] = 1 << 14 | 1 << 5;                      /* NOP, write cache */
    id[83] = 1 << 14 | 1 << 13 | 1 << 12 | 1 << 10; /* FLUSH EXT, FLUSH, LBA48 */
    id[84] = 1 << 14;
    id[85] = (uint16_t)(1 << 14 | (d->has_wcache ? 1 << 5 : 0));
    id[86] = 1 << 13 | 1 << 12 | 1 << 10;
    id[87] = 1 << 14;
    id[88] = (uint16_t)(0x003f | ((d->xfer_mode >> 3) == 8 ? 0x100 << (d->xfer_mode & 7) : 0));
    id[93] = 1 << 14 | 1 << 13 | 1;
    put_u32(id, 100, (uint32_t)d->nsectors);
    put_u32(id, 102, (uint32_t)(d->nsectors >> 32));
}

/* The sector address of the task file (LBA48, LBA28 or CHS). Returns false when a CHS address
 * lies outside the current geometry. */
static bool get_lba(struct ide_channel *ch, struct ide_drive *d, bool is_lba48, uint64_t *lba)
{
    unsigned cyl = ch->lcyl | ch->hcyl << 8;
    unsigned head = ch->select & 0x0f;
    if (is_lba48) {
        *lba = (uint64_t)ch->sector | (uint64_t)ch->lcyl << 8 | (uint64_t)ch->hcyl << 16 |
               (uint64_t)ch->hob_sector << 24 | (uint64_t)ch->hob_lcyl << 32 |
               (uint64_t)ch->hob_hcyl << 40;
        return true;
    }
    if (ch->select & ATA_LBA) {
        *lba = (uint64_t)ch->sector | (uint64_t)ch->lcyl << 8 | (uint64_t)ch->hcyl << 16 |
               (uint64_t)head << 24;
        return true;
    }
    if (ch->sector == 0 || ch->sector > d->cur_secs || head >= d->cur_heads)
        return false;
    *lba = ((uint64_t)cyl * d->cur_heads + head) * d->cur_secs + ch->sector - 1;
    return true;
}

/* Latches the range of a data command into ch->lba/left. Aborts with IDNF and returns false
 * when it does not lie inside the disk. */
static bool setup_range(struct ide_channel *ch, bool is_lba48)
{
    struct ide_drive *d = ide_xfer(ch);
    uint64_t lba, end;
    uint64_t count = is_lba48 ? (uint64_t)(ch->nsector | ch->hob_nsector << 8) : ch->nsector;
    if (count == 0)
        count = is_lba48 ? 65536 : 256;
    if (!get_lba(ch, d, is_lba48, &lba) || ckd_add(&end, lba, count) || end > d->nsectors) {
        log_ratelimited(LOG_WARN, "channel %u: command 0x%02x for %llu sectors past the disk",
                        ch->index, ch->cmd, (unsigned long long)count);
        ide_cmd_abort(ch, ATA_IDNF | ATA_ABRT);
        return false;
    }
    ch->lba = lba;
    ch->left = count;
    return true;
}

static void pio_read_done(struct ide_channel *ch, int ret)
{
    uint32_t n = (uint32_t)(ch->br.len_bytes / IDE_SECTOR_BYTES);
    if (ret < 0) {
        ide_cmd_abort(ch, ATA_UNC | ATA_ABRT);
        return;
    }
    ch->lba += n;
    ch->left -= n;
    ide_pio_start(ch, 0, n * IDE_SECTOR_BYTES, false, ide_ata_read_end);
    ide_raise_irq(ch);
}

static void pio_read_next(struct ide_channel *ch)
{
    uint32_t n = (uint32_t)(ch->left < ch->per_drq ? ch->left : ch->per_drq);
    ide_io_buf(ch, BLK_OP_READ, ch->lba * IDE_SECTOR_BYTES, n * IDE_SECTOR_BYTES, pio_read_done);
}

void ide_ata_read_end(struct ide_channel *ch)
{
    if (ch->left > 0)
        pio_read_next(ch);
    else
        ide_pio_done(ch); /* no interrupt after the last block of a PIO read */
}

static void pio_write_block(struct ide_channel *ch)
{
    uint32_t n = (uint32_t)(ch->left < ch->per_drq ? ch->left : ch->per_drq);
    ide_pio_start(ch, 0, n * IDE_SECTOR_BYTES, true, ide_ata_write_end);
}

static void pio_write_done(struct ide_channel *ch, int ret)
{
    uint32_t n = (uint32_t)(ch->br.len_bytes / IDE_SECTOR_BYTES);
    if (ret < 0) {
        ide_cmd_abort(ch, ATA_UNC | ATA_ABRT);
        return;
    }
    ch->lba += n;
    ch->left -= n;
    if (ch->left == 0) {
        ide_cmd_ok(ch);
        return;
    }
    pio_write_block(ch);
    ide_raise_irq(ch);
}

void ide_ata_write_end(struct ide_channel *ch)
{
    ch->end_fn = NULL;
    ide_io_buf(ch, BLK_OP_WRITE, ch->lba * IDE_SECTOR_BYTES, ch->end, pio_write_done);
}

void ide_ata_rw_done(struct ide_channel *ch, int ret)
{
    if (ret < 0)
        ide_cmd_abort(ch, ATA_UNC | ATA_ABRT);
    else
        ide_cmd_ok(ch);
}

enum rw_kind { RW_PIO, RW_MULTIPLE, RW_DMA };

static void do_rw(struct ide_channel *ch, enum rw_kind kind, bool is_write, bool is_lba48)
{
    struct ide_drive *d = ide_xfer(ch);
    if (is_write && d->is_readonly) {
        ide_cmd_abort(ch, ATA_ABRT);
        return;
    }
    if (kind == RW_MULTIPLE && d->multiple == 0) {
        ide_cmd_abort(ch, ATA_ABRT);
        return;
    }
    if (!setup_range(ch, is_lba48))
        return;
    ch->per_drq = kind == RW_MULTIPLE ? d->multiple : 1;
    if (kind == RW_DMA)
        ide_dma_setup(ch, is_write, ch->lba * IDE_SECTOR_BYTES, ch->left * IDE_SECTOR_BYTES, false,
                      ide_ata_rw_done);
    else if (is_write)
        pio_write_block(ch); /* DRQ without an interrupt for the first block */
    else
        pio_read_next(ch);
}

static void identify(struct ide_channel *ch)
{
    fill_identify(ide_xfer(ch), (uint16_t *)ch->buf);
    ide_pio_start(ch, 0, 512, false, ide_pio_done);
    ide_raise_irq(ch);
}

static void set_features(struct ide_channel *ch)
{
    struct ide_drive *d = ide_xfer(ch);
    switch (ch->feature) {
    case 0x02: /* enable write cache */
    case 0x82:
        d->has_wcache = ch->feature == 0x02;
        break;
    case 0x03: /* transfer mode: PIO (0x08+n), multiword DMA (0x20+n), UDMA (0x40+n) */
        if (ch->nsector > 0x45) {
            ide_cmd_abort(ch, ATA_ABRT);
            return;
        }
        d->xfer_mode = ch->nsector;
        break;
    case 0x05:
    case 0x85:
    case 0x31:
    case 0x55:
    case 0xaa:
    case 0x66:
    case 0xcc:
        break; /* power management, read look-ahead, defaults: nothing to change */
    default:
        ide_cmd_abort(ch, ATA_ABRT);
        return;
    }
    ide_cmd_ok(ch);
}

static void set_multiple(struct ide_channel *ch)
{
    struct ide_drive *d = ide_xfer(ch);
    unsigned n = ch->nsector;
    if (n > IDE_MAX_MULTIPLE || (n & (n - 1)) != 0) {
        ide_cmd_abort(ch, ATA_ABRT);
        return;
    }
    d->multiple = n;
    ide_cmd_ok(ch);
}

static void init_params(struct ide_channel *ch)
{
    struct ide_drive *d = ide_xfer(ch);
    if (ch->nsector == 0) {
        ide_cmd_abort(ch, ATA_ABRT);
        return;
    }
    d->cur_secs = ch->nsector;
    d->cur_heads = (uint16_t)((ch->select & 0x0f) + 1);
    ide_cmd_ok(ch);
}

static void verify(struct ide_channel *ch, bool is_lba48)
{
    if (setup_range(ch, is_lba48))
        ide_cmd_ok(ch);
}

static void flush(struct ide_channel *ch)
{
    ide_io_buf(ch, BLK_OP_FLUSH, 0, 0, ide_ata_rw_done);
}

/* The commands an ATAPI device also takes, and those that need no work. */
static bool simple_command(struct ide_channel *ch, uint8_t cmd)
{
    switch (cmd) {
    case 0xef:
        set_features(ch);
        return true;
    case 0xe5: /* CHECK POWER MODE: active or idle */
        ch->nsector = 0xff;
        ide_cmd_ok(ch);
        return true;
    case 0xe0:
    case 0xe1:
    case 0xe2:
    case 0xe3:
    case 0xe6: /* standby, idle, sleep */
    case 0x70: /* SEEK */
        ide_cmd_ok(ch);
        return true;
    default:
        if (cmd >= 0x10 && cmd <= 0x1f) { /* RECALIBRATE */
            ide_cmd_ok(ch);
            return true;
        }
        return false;
    }
}

void ide_ata_command(struct ide_channel *ch, uint8_t cmd)
{
    if (simple_command(ch, cmd))
        return;
    if (ide_xfer(ch)->kind != IDE_KIND_ATA) {
        ide_cmd_abort(ch, ATA_ABRT);
        return;
    }
    switch (cmd) {
    case 0xec:
        identify(ch);
        break;
    case 0x20:
    case 0x21:
        do_rw(ch, RW_PIO, false, false);
        break;
    case 0x24:
        do_rw(ch, RW_PIO, false, true);
        break;
    case 0x30:
    case 0x31:
        do_rw(ch, RW_PIO, true, false);
        break;
    case 0x34:
        do_rw(ch, RW_PIO, true, true);
        break;
    case 0xc4:
        do_rw(ch, RW_MULTIPLE, false, false);
        break;
    case 0x29:
        do_rw(ch, RW_MULTIPLE, false, true);
        break;
    case 0xc5:
        do_rw(ch, RW_MULTIPLE, true, false);
        break;
    case 0x39:
        do_rw(ch, RW_MULTIPLE, true, true);
        break;
    case 0xc8:
    case 0xc9:
        do_rw(ch, RW_DMA, false, false);
        break;
    case 0x25:
        do_rw(ch, RW_DMA, false, true);
        break;
    case 0xca:
    case 0xcb:
        do_rw(ch, RW_DMA, true, false);
        break;
    case 0x35:
        do_rw(ch, RW_DMA, true, true);
        break;
    case 0x40:
    case 0x41:
        verify(ch, false);
        break;
    case 0x42:
        verify(ch, true);
        break;
    case 0xe7:
    case 0xea:
        flush(ch);
        break;
    case 0xc6:
        set_multiple(ch);
        break;
    case 0x91:
        init_params(ch);
        break;
    default:
        log_ratelimited(LOG_DEBUG, "channel %u: ATA command 0x%02x not supported", ch->index, cmd);
        ide_cmd_abort(ch, ATA_ABRT);
        break;
    }
}

/* SPDX-License-Identifier: MIT */
/*
 * The IDE controller of dev/storage/ide.h: the PIIX3 function's config space (IDETIM decode
 * enables at 0x40/0x42, BAR4 for the bus master), the command and control block registers of
 * both channels (ATA/ATAPI-7 vol. 2 §4: task file with the LBA48 "previous content" FIFO, HOB
 * reads, status/alternate status, device control with nIEN and SRST), INTRQ, and the PIO data
 * port over the channel's buffer. A channel without drives reads 0 on every register but the
 * data port (as QEMU's IDE does), and so does an absent unit on a populated channel (but its
 * device register): status 0 is "no device, not busy" to libata, SeaBIOS and OVMF. All-ones,
 * a floating bus, kept OVMF's probe polling BSY until its 35 s timeout for each unit.
 */
#include "dev/storage/ide_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_TAG "ide"
#include "base/evloop.h"
#include "base/log.h"
#include "block/blk.h"

struct ide_drive *ide_cur(struct ide_channel *ch)
{
    return &ch->drive[ch->cur];
}

struct ide_drive *ide_xfer(struct ide_channel *ch)
{
    return &ch->drive[ch->xfer_unit];
}

static bool channel_irq(const struct ide_channel *ch)
{
    return ch->irq_pending && !(ch->devctl & ATA_NIEN);
}

/* Compatibility mode: each channel drives its ISA IRQ. Native mode: both share INTA. */
void ide_update_irq(struct ide_channel *ch)
{
    struct ide *ide = ch->ide;
    if (ide->is_native)
        pci_dev_set_intx(&ide->pci, channel_irq(&ide->ch[0]) || channel_irq(&ide->ch[1]));
    else
        ide->plat.ops->set_irq(ide->plat.opaque, ch->gsi, channel_irq(ch));
}

void ide_raise_irq(struct ide_channel *ch)
{
    ch->irq_pending = true;
    ch->bm_status |= BM_ST_INTR; /* the PIIX mirrors INTRQ in the bus master status */
    ide_update_irq(ch);
}

uint8_t ide_ready_status(const struct ide_drive *d)
{
    return d->kind == IDE_KIND_ATAPI ? ATA_DRDY : ATA_DRDY | ATA_DSC;
}

static void transfer_stop(struct ide_channel *ch)
{
    ch->pos = ch->end = 0;
    ch->end_fn = NULL;
    ch->dma.is_pending = false;
}

void ide_cmd_ok(struct ide_channel *ch)
{
    struct ide_drive *d = ide_xfer(ch);
    transfer_stop(ch);
    d->status = ide_ready_status(d);
    ide_raise_irq(ch);
}

void ide_cmd_abort(struct ide_channel *ch, uint8_t error)
{
    struct ide_drive *d = ide_xfer(ch);
    transfer_stop(ch);
    d->error = error;
    d->status = ide_ready_status(d) | ATA_ERR;
    ide_raise_irq(ch);
}

void ide_pio_start(struct ide_channel *ch, uint32_t off, uint32_t len, bool is_out, ide_end_fn end)
{
    struct ide_drive *d = ide_xfer(ch);
    if (off > IDE_BUF_BYTES || len > IDE_BUF_BYTES - off) {
        /* callers keep [off, off + len) inside the buffer; if one did not, the data port must
         * not open a window past it: the command ends with ABRT */
        log_ratelimited(LOG_ERROR, "channel %u: PIO piece of %u bytes at %u past the buffer",
                        ch->index, len, off);
        ide_cmd_abort(ch, ATA_ABRT);
        return;
    }
    ch->pos = off;
    ch->end = off + len;
    ch->is_out = is_out;
    ch->end_fn = end;
    d->status = ide_ready_status(d) | ATA_DRQ;
}

void ide_pio_done(struct ide_channel *ch)
{
    struct ide_drive *d = ide_xfer(ch);
    ch->end_fn = NULL;
    d->status = ide_ready_status(d);
}

void ide_put_string(uint16_t *id, unsigned word, const char *s, unsigned words)
{
    size_t n = strlen(s);
    for (unsigned i = 0; i < words * 2; i++) {
        uint8_t c = i < n ? (uint8_t)s[i] : ' ';
        if (i % 2 == 0)
            id[word + i / 2] = (uint16_t)(c << 8);
        else
            id[word + i / 2] |= c;
    }
}

void ide_set_signature(struct ide_channel *ch, unsigned unit)
{
    ch->select = (uint8_t)(0xa0 | (unit ? ATA_DEV1 : 0));
    ch->nsector = ch->sector = 1;
    if (ch->drive[unit].kind == IDE_KIND_ATAPI) {
        ch->lcyl = 0x14;
        ch->hcyl = 0xeb;
    } else {
        ch->lcyl = ch->hcyl = 0;
    }
}

/* Power-on / SRST state of (ch): both units idle with their signature, diagnostics passed. */
static void channel_reset(struct ide_channel *ch, bool is_srst_held)
{
    ide_io_cancel(ch);
    transfer_stop(ch);
    for (unsigned u = 0; u < 2; u++) {
        struct ide_drive *d = &ch->drive[u];
        d->error = 0x01;
        d->multiple = 0;
        d->cur_heads = d->heads;
        d->cur_secs = d->secs;
        /* ATAPI devices leave DRDY clear after a reset (SFF-8020i §7.1) */
        d->status = is_srst_held ? ATA_BSY : d->kind == IDE_KIND_ATAPI ? 0 : ATA_DRDY | ATA_DSC;
        d->sense_key = d->asc = d->ascq = 0;
    }
    ch->cur = 0;
    ide_set_signature(ch, 0);
    ch->feature = ch->hob_feature = ch->hob_nsector = ch->hob_sector = 0;
    ch->hob_lcyl = ch->hob_hcyl = 0;
    ch->irq_pending = false;
    ide_update_irq(ch);
}

static bool channel_is_empty(const struct ide_channel *ch)
{
    return ch->drive[0].kind == IDE_KIND_NONE && ch->drive[1].kind == IDE_KIND_NONE;
}

/* The data port: moves (size) bytes of the current PIO piece. */
static uint64_t data_read(struct ide_channel *ch, unsigned size)
{
    uint64_t val = 0;
    if (ch->end_fn == NULL || ch->is_out || ch->cur != ch->xfer_unit || ch->pos >= ch->end)
        return UINT64_MAX;
    if (size > ch->end - ch->pos)
        size = ch->end - ch->pos;
    memcpy(&val, ch->buf + ch->pos, size); /* little endian host */
    ch->pos += size;
    if (ch->pos >= ch->end)
        ch->end_fn(ch);
    return val;
}

static void data_write(struct ide_channel *ch, uint64_t val, unsigned size)
{
    if (ch->end_fn == NULL || !ch->is_out || ch->cur != ch->xfer_unit || ch->pos >= ch->end)
        return;
    if (size > ch->end - ch->pos)
        size = ch->end - ch->pos;
    memcpy(ch->buf + ch->pos, &val, size);
    ch->pos += size;
    if (ch->pos >= ch->end)
        ch->end_fn(ch);
}

static uint8_t taskfile_read(struct ide_channel *ch, unsigned reg)
{
    bool hob = ch->devctl & ATA_HOB;
    switch (reg) {
    case 1:
        return ide_cur(ch)->error;
    case 2:
        return hob ? ch->hob_nsector : ch->nsector;
    case 3:
        return hob ? ch->hob_sector : ch->sector;
    case 4:
        return hob ? ch->hob_lcyl : ch->lcyl;
    case 5:
        return hob ? ch->hob_hcyl : ch->hcyl;
    case 6:
        return ch->select;
    default: /* 7: status */
        return ide_cur(ch)->status;
    }
}

static uint64_t cmd_read(void *opaque, uint64_t off, unsigned size)
{
    struct ide_channel *ch = opaque;
    struct ide *ide = ch->ide;
    uint64_t val;

    pthread_mutex_lock(&ide->lock);
    if (channel_is_empty(ch)) {
        val = off == 0 ? UINT64_MAX : 0;
    } else if (off == 0) {
        val = data_read(ch, size);
    } else if (ide_cur(ch)->kind == IDE_KIND_NONE && off != 6) {
        val = 0; /* absent unit next to a present one */
    } else {
        val = taskfile_read(ch, (unsigned)off);
        if (off == 7) { /* reading status acknowledges INTRQ */
            ch->irq_pending = false;
            ide_update_irq(ch);
        }
    }
    pthread_mutex_unlock(&ide->lock);
    return val;
}

/* Which commands an ATAPI device takes (SFF-8020i §8): the rest abort with its signature. */
static bool atapi_takes(uint8_t cmd)
{
    switch (cmd) {
    case 0x08: /* DEVICE RESET */
    case 0xa0: /* PACKET */
    case 0xa1: /* IDENTIFY PACKET DEVICE */
    case 0xef: /* SET FEATURES */
    case 0x90: /* EXECUTE DEVICE DIAGNOSTIC */
    case 0xe5: /* CHECK POWER MODE */
    case 0xe0:
    case 0xe1:
    case 0xe6: /* STANDBY IMMEDIATE, IDLE IMMEDIATE, SLEEP */
        return true;
    default:
        return false;
    }
}

static void device_diagnostic(struct ide_channel *ch)
{
    for (unsigned u = 0; u < 2; u++) {
        ch->drive[u].error = 0x01;
        ch->drive[u].status = ch->drive[u].kind == IDE_KIND_ATAPI ? 0 : ATA_DRDY | ATA_DSC;
    }
    ide_set_signature(ch, ch->cur);
    ide_raise_irq(ch);
}

static void exec_command(struct ide_channel *ch, uint8_t cmd)
{
    struct ide_drive *d = ide_cur(ch);

    if (d->kind == IDE_KIND_NONE)
        return; /* commands to an absent unit are ignored (ATA-7 vol. 2 §4.1) */
    if ((d->status | ide_xfer(ch)->status) & (ATA_BSY | ATA_DRQ)) {
        /* only DEVICE RESET may interrupt an ATAPI command in progress, on its own unit */
        if (!(d->kind == IDE_KIND_ATAPI && cmd == 0x08 && ch->cur == ch->xfer_unit))
            return;
    }
    ch->xfer_unit = ch->cur;
    ch->cmd = cmd;
    ch->irq_pending = false;
    ide_update_irq(ch);
    if (cmd == 0x90) {
        device_diagnostic(ch);
        return;
    }
    if (d->kind == IDE_KIND_ATAPI) {
        if (cmd == 0x08) { /* DEVICE RESET: no interrupt */
            ide_io_cancel(ch);
            transfer_stop(ch);
            ide_set_signature(ch, ch->cur);
            d->error = 0x01;
            d->status = 0;
        } else if (cmd == 0xa1) {
            ide_atapi_identify(ch);
        } else if (cmd == 0xa0) {
            ide_atapi_packet(ch);
        } else if (atapi_takes(cmd)) {
            ide_ata_command(ch, cmd);
        } else {
            ide_set_signature(ch, ch->cur);
            ide_cmd_abort(ch, ATA_ABRT);
        }
        return;
    }
    ide_ata_command(ch, cmd);
}

static void taskfile_write(struct ide_channel *ch, unsigned reg, uint8_t v)
{
    /* While the unit running a command is BSY or DRQ the task file is its own: writes are
     * ignored (the command register still takes DEVICE RESET). Above all the other unit cannot
     * be selected and given a command then, which would share the channel's buffer and
     * request with the running one. */
    if (reg != 7 && (ide_xfer(ch)->status & (ATA_BSY | ATA_DRQ)))
        return;
    ch->devctl &= (uint8_t)~ATA_HOB; /* a write clears HOB (ATA-7 vol. 1 §6.20) */
    switch (reg) {
    case 1:
        ch->hob_feature = ch->feature;
        ch->feature = v;
        break;
    case 2:
        ch->hob_nsector = ch->nsector;
        ch->nsector = v;
        break;
    case 3:
        ch->hob_sector = ch->sector;
        ch->sector = v;
        break;
    case 4:
        ch->hob_lcyl = ch->lcyl;
        ch->lcyl = v;
        break;
    case 5:
        ch->hob_hcyl = ch->hcyl;
        ch->hcyl = v;
        break;
    case 6:
        ch->select = v | 0xa0;
        ch->cur = (v & ATA_DEV1) ? 1 : 0;
        break;
    default:
        exec_command(ch, v);
        break;
    }
}

static void cmd_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    struct ide_channel *ch = opaque;
    pthread_mutex_lock(&ch->ide->lock);
    if (off == 0)
        data_write(ch, val, size);
    else
        taskfile_write(ch, (unsigned)off, (uint8_t)val);
    pthread_mutex_unlock(&ch->ide->lock);
}

const struct io_ops ide_cmd_ops = {.read = cmd_read, .write = cmd_write};

static uint64_t ctl_read(void *opaque, uint64_t off, unsigned size)
{
    struct ide_channel *ch = opaque;
    uint64_t val;
    (void)off;
    (void)size;
    pthread_mutex_lock(&ch->ide->lock);
    if (channel_is_empty(ch) || ide_cur(ch)->kind == IDE_KIND_NONE)
        val = 0;
    else
        val = ide_cur(ch)->status; /* no INTRQ ack */
    pthread_mutex_unlock(&ch->ide->lock);
    return val;
}

static void ctl_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    struct ide_channel *ch = opaque;
    uint8_t old;
    (void)off;
    (void)size;
    pthread_mutex_lock(&ch->ide->lock);
    old = ch->devctl;
    ch->devctl = (uint8_t)val;
    if ((val & ATA_SRST) && !(old & ATA_SRST))
        channel_reset(ch, true);
    else if (!(val & ATA_SRST) && (old & ATA_SRST))
        channel_reset(ch, false);
    ide_update_irq(ch);
    pthread_mutex_unlock(&ch->ide->lock);
}

const struct io_ops ide_ctl_ops = {.read = ctl_read, .write = ctl_write};

static void pci_reset(struct pci_dev *dev)
{
    ide_reset(dev->opaque);
}

static const struct pci_dev_ops ide_pci_ops = {.reset = pci_reset};

/* Native mode's control block BAR (4 bytes): device control / alternate status at offset 2,
 * where Linux's ata_pci_sff_init_host looks (ATA_PCI_CTL_OFS). */
static uint64_t native_ctl_read(void *opaque, uint64_t off, unsigned size)
{
    return off == 2 ? ctl_read(opaque, 0, size) : UINT64_MAX;
}

static void native_ctl_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    if (off == 2)
        ctl_write(opaque, 0, val, size);
}

static const struct io_ops native_ctl_ops = {.read = native_ctl_read, .write = native_ctl_write};

static int init_pci(struct ide *ide)
{
    struct pci_dev_id id = {
        .vendor = 0x8086,
        .device = 0x7010,
        .class_code = 0x010180, /* IDE, compatibility mode on both channels, bus master */
    };
    int ret = 0;
    if (ide->is_native) {
        id.class_code = 0x01018f; /* both channels in native mode (and switchable) */
        id.int_pin = 1;
    }
    pci_dev_init(&ide->pci, &id, &ide_pci_ops, ide, "piix3-ide");
    for (unsigned c = 0; ide->is_native && c < IDE_CHANNELS && ret == 0; c++) {
        ret = pci_dev_set_bar(&ide->pci, c * 2, PCI_BAR_IO, 8, false, &ide_cmd_ops, &ide->ch[c]);
        if (ret == 0)
            ret = pci_dev_set_bar(&ide->pci, c * 2 + 1, PCI_BAR_IO, 4, false, &native_ctl_ops,
                                  &ide->ch[c]);
    }
    if (ret == 0)
        ret = pci_dev_set_bar(&ide->pci, 4, PCI_BAR_IO, BM_BAR_BYTES, false, &ide_bm_ops, ide);
    if (ret < 0)
        return ret;
    /* IDETIM: IDE decode enable on both channels (as firmware leaves it; ata_piix checks it) */
    pci_cfg_set16(&ide->pci, 0x40, 0x8000);
    pci_cfg_set16(&ide->pci, 0x42, 0x8000);
    pci_dev_set_wmask(&ide->pci, 0x40, 0xffffffff, 4);
    pci_dev_set_wmask(&ide->pci, 0x44, 0xff, 1);
    return 0;
}

static int init_drive(struct ide_drive *d, const struct ide_drive_config *c)
{
    d->kind = c->kind;
    d->blk = c->blk;
    d->is_readonly = c->is_readonly || (c->blk != NULL && blk_is_readonly(c->blk));
    d->has_wcache = true;
    if (d->kind == IDE_KIND_ATA) {
        if (d->blk == NULL || blk_size_bytes(d->blk) < IDE_SECTOR_BYTES)
            return -EINVAL;
        d->nsectors = blk_size_bytes(d->blk) / IDE_SECTOR_BYTES;
        ide_ata_identify_geometry(d);
    } else if (d->kind == IDE_KIND_ATAPI && d->blk != NULL) {
        d->nsectors = blk_size_bytes(d->blk) / ATAPI_SECTOR_BYTES;
        d->is_readonly = true;
    }
    return 0;
}

int ide_create(const struct ide_config *cfg, const struct platform *plat, const struct gmem *gm,
               struct evloop *loop, struct ide **out)
{
    struct ide *ide = calloc(1, sizeof(*ide));
    int ret = -ENOMEM;
    if (ide == NULL)
        return -ENOMEM;
    pthread_mutex_init(&ide->lock, NULL);
    ide->plat = *plat;
    ide->gm = gm;
    ide->loop = loop;
    for (unsigned c = 0; c < IDE_CHANNELS; c++) {
        struct ide_channel *ch = &ide->ch[c];
        ch->ide = ide;
        ch->index = c;
        ch->gsi = cfg->gsi[c] ? cfg->gsi[c] : (c == 0 ? IDE_PRIMARY_IRQ : IDE_SECONDARY_IRQ);
        ch->buf = calloc(1, IDE_BUF_BYTES);
        if (ch->buf == NULL)
            goto err;
        for (unsigned u = 0; u < 2; u++) {
            ret = init_drive(&ch->drive[u], &cfg->drives[c * 2 + u]);
            if (ret < 0)
                goto err;
            snprintf(ch->drive[u].serial, sizeof(ch->drive[u].serial), "BI%04u0000000000",
                     c * 2 + u);
        }
    }
    ide->is_native = cfg->is_native;
    ret = init_pci(ide);
    if (ret < 0)
        goto err;
    ide_reset(ide);
    *out = ide;
    return 0;
err:
    ide_destroy(ide);
    return ret;
}

static const uint16_t cmd_ports[IDE_CHANNELS] = {IDE_PRIMARY_PORT, IDE_SECONDARY_PORT};
static const uint16_t ctl_ports[IDE_CHANNELS] = {IDE_PRIMARY_CTL_PORT, IDE_SECONDARY_CTL_PORT};

int ide_attach(struct ide *ide, struct bus *pio)
{
    if (ide->is_native)
        return 0; /* the ports are BARs 0-3 */
    for (unsigned c = 0; c < IDE_CHANNELS; c++) {
        int ret = bus_register(pio, cmd_ports[c], 8, &ide_cmd_ops, &ide->ch[c], "ide");
        if (ret == 0)
            ret = bus_register(pio, ctl_ports[c], 1, &ide_ctl_ops, &ide->ch[c], "ide-ctl");
        if (ret < 0)
            return ret;
    }
    return 0;
}

void ide_detach(struct ide *ide, struct bus *pio)
{
    if (ide == NULL || pio == NULL || ide->is_native)
        return;
    for (unsigned c = 0; c < IDE_CHANNELS; c++) {
        (void)bus_unregister(pio, cmd_ports[c], &ide->ch[c]);
        (void)bus_unregister(pio, ctl_ports[c], &ide->ch[c]);
    }
}

struct pci_dev *ide_pci_dev(struct ide *ide)
{
    return &ide->pci;
}

void ide_stop(struct ide *ide)
{
    if (ide == NULL)
        return;
    pthread_mutex_lock(&ide->lock);
    ide->is_stopped = true;
    pthread_mutex_unlock(&ide->lock);
    for (unsigned c = 0; c < IDE_CHANNELS; c++)
        (void)evloop_cancel(ide->loop, &ide->ch[c]);
}

void ide_destroy(struct ide *ide)
{
    if (ide == NULL)
        return;
    for (unsigned c = 0; c < IDE_CHANNELS; c++) {
        if (ide->ch[c].is_inflight)
            log_error("destroyed with a request in flight on channel %u", c);
        free(ide->ch[c].buf);
    }
    pthread_mutex_destroy(&ide->lock);
    free(ide);
}

void ide_reset(struct ide *ide)
{
    pthread_mutex_lock(&ide->lock);
    for (unsigned c = 0; c < IDE_CHANNELS; c++) {
        struct ide_channel *ch = &ide->ch[c];
        ch->devctl = 0;
        ch->bm_cmd = 0;
        ch->bm_status = 0;
        ch->prd_gpa = 0;
        channel_reset(ch, false);
        for (unsigned u = 0; u < 2; u++) {
            ch->drive[u].is_locked = false;
            ch->drive[u].has_wcache = true;
            if (ch->drive[u].kind != IDE_KIND_NONE)
                ch->bm_status |= (uint8_t)(0x20 << u);
        }
    }
    pthread_mutex_unlock(&ide->lock);
}

/* SPDX-License-Identifier: MIT */
/*
 * The floppy controller's registers, command and result phases and the commands that move no
 * data (dev/legacy/fdc.h; the data commands are in fdc_io.c).
 */
#define LOG_TAG "fdc"
#include "dev/legacy/fdc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/util.h"
#include "dev/legacy/fdc_internal.h"

#define DOR_DS_MASK 0x03
#define DOR_NRESET 0x04
#define DOR_DMA_GATE 0x08
#define DSR_SW_RESET 0x80

#define MSR_RQM 0x80
#define MSR_DIO 0x40
#define MSR_CB 0x10

#define FDC_VERSION 0x90 /* an enhanced controller (82077 and later) */
#define FDC_PART_ID 0x41 /* 82078, stepping 1 */

void fdc_update_irq(struct fdc *f)
{
    bool level = f->is_irq_pending && (f->dor & DOR_DMA_GATE);
    if (level != f->irq_level) {
        f->irq_level = level;
        f->plat.ops->set_irq(f->plat.opaque, FDC_IRQ, level);
    }
}

void fdc_set_result(struct fdc *f, const uint8_t *res, unsigned n, bool is_irq)
{
    memcpy(f->res, res, n);
    f->res_len = n;
    f->res_pos = 0;
    f->phase = FDC_PHASE_RESULT;
    if (is_irq) {
        f->is_irq_pending = true;
        fdc_update_irq(f);
    }
}

struct fdc_drive *fdc_drive(struct fdc *f, unsigned ds)
{
    return ds == 0 ? &f->drv : NULL;
}

void fdc_seek_to(struct fdc_drive *d, uint8_t cyl)
{
    if (cyl != d->cyl && d->geo != NULL)
        d->has_changed = false;
    d->cyl = cyl;
}

/* The controller's reset (DOR bit 2 low then high, or DSR bit 7): back to the command phase,
 * the configuration unless locked, then an interrupt and four polling results. The line drops
 * first, so the reset's interrupt is a new edge on the edge-triggered IRQ 6 even when an earlier
 * one was never acknowledged (a driver resets after a timeout). */
static void fdc_reset(struct fdc *f)
{
    f->is_irq_pending = false;
    fdc_update_irq(f);
    f->gen++;
    f->is_queued = false;
    f->plan.op = FDC_OP_NONE;
    f->phase = FDC_PHASE_COMMAND;
    f->cmd_pos = f->cmd_len = 0;
    f->res_pos = f->res_len = 0;
    f->has_seek_status = false;
    if (!f->is_locked) {
        f->config = FDC_CONFIG_DEFAULT;
        f->pretrk = 0;
    }
    f->perp = 0;
    f->reset_senses = 4;
    f->is_irq_pending = true;
    fdc_update_irq(f);
}

static void set_seek_status(struct fdc *f, uint8_t st0, uint8_t pcn)
{
    f->has_seek_status = true;
    f->seek_st0 = st0;
    f->seek_pcn = pcn;
    f->phase = FDC_PHASE_COMMAND;
    f->is_irq_pending = true;
    fdc_update_irq(f);
}

static void cmd_specify(struct fdc *f)
{
    f->specify[0] = f->cmd[1];
    f->specify[1] = f->cmd[2];
    f->phase = FDC_PHASE_COMMAND;
}

static void cmd_sense_drive(struct fdc *f)
{
    unsigned ds = f->cmd[1] & 3, hd = (f->cmd[1] >> 2) & 1;
    struct fdc_drive *d = fdc_drive(f, ds);
    uint8_t st3 = (uint8_t)(ds | hd << 2);
    if (d != NULL) {
        st3 |= 0x20 | 0x08; /* ready, two-sided */
        if (d->cyl == 0)
            st3 |= 0x10;
        if (d->geo == NULL || d->is_wp) /* no disk reads as protected, as the sensor sees it */
            st3 |= 0x40;
    }
    fdc_set_result(f, &st3, 1, false);
}

static void cmd_recalibrate(struct fdc *f)
{
    unsigned ds = f->cmd[1] & 3;
    struct fdc_drive *d = fdc_drive(f, ds);
    if (d == NULL) { /* no track 0 signal after the steps: equipment check */
        set_seek_status(f, (uint8_t)(ST0_IC_ABNORMAL | ST0_SE | ST0_EC | ds), 0);
        return;
    }
    fdc_seek_to(d, 0);
    set_seek_status(f, (uint8_t)(ST0_SE | ds), 0);
}

static void cmd_seek(struct fdc *f)
{
    unsigned ds = f->cmd[1] & 3, hd = (f->cmd[1] >> 2) & 1;
    struct fdc_drive *d = fdc_drive(f, ds);
    uint8_t ncn = f->cmd[2];
    if (d != NULL) {
        if (f->cmd[0] & 0x80) { /* RELATIVE SEEK: bit 6 gives the direction */
            int c = (f->cmd[0] & 0x40) ? d->cyl - ncn : d->cyl + ncn;
            ncn = (uint8_t)(c < 0 ? 0 : c > 255 ? 255 : c);
        }
        fdc_seek_to(d, ncn);
        d->head = (uint8_t)hd;
    }
    set_seek_status(f, (uint8_t)(ST0_SE | hd << 2 | ds), d != NULL ? d->cyl : ncn);
}

static void cmd_sense_int(struct fdc *f)
{
    uint8_t res[2];
    f->is_irq_pending = false;
    fdc_update_irq(f);
    if (f->reset_senses > 0) {
        unsigned ds = 4 - f->reset_senses--;
        struct fdc_drive *d = fdc_drive(f, ds);
        res[0] = (uint8_t)(ST0_IC_POLL | ds);
        res[1] = d != NULL ? d->cyl : 0;
        fdc_set_result(f, res, 2, false);
    } else if (f->has_seek_status) {
        f->has_seek_status = false;
        res[0] = f->seek_st0;
        res[1] = f->seek_pcn;
        fdc_set_result(f, res, 2, false);
    } else {
        res[0] = ST0_IC_INVALID;
        fdc_set_result(f, res, 1, false);
    }
}

static void cmd_dumpreg(struct fdc *f)
{
    uint8_t res[10] = {
        f->drv.cyl,
        0,
        0,
        0,
        f->specify[0],
        f->specify[1],
        f->drv.geo != NULL ? f->drv.geo->sectors : 0,
        (uint8_t)((f->is_locked ? 0x80 : 0) | (f->perp & 0x7f)),
        f->config,
        f->pretrk,
    };
    fdc_set_result(f, res, sizeof(res), false);
}

static void cmd_configure(struct fdc *f)
{
    f->config = f->cmd[2];
    f->pretrk = f->cmd[3];
    f->phase = FDC_PHASE_COMMAND;
}

static void cmd_perpendicular(struct fdc *f)
{
    uint8_t v = f->cmd[1];
    if (v & 0x80) /* OW: the drive bits are written too */
        f->perp = (uint8_t)((f->perp & 0x03) | (v & 0x3c));
    f->perp = (uint8_t)((f->perp & 0x3c) | (v & 0x03));
    f->phase = FDC_PHASE_COMMAND;
}

static void cmd_lock(struct fdc *f)
{
    uint8_t r;
    f->is_locked = (f->cmd[0] & 0x80) != 0;
    r = (uint8_t)(f->is_locked ? 0x10 : 0);
    fdc_set_result(f, &r, 1, false);
}

static void cmd_byte_result(struct fdc *f, uint8_t v)
{
    fdc_set_result(f, &v, 1, false);
}

static void cmd_version(struct fdc *f)
{
    cmd_byte_result(f, FDC_VERSION);
}

static void cmd_part_id(struct fdc *f)
{
    cmd_byte_result(f, FDC_PART_ID);
}

static void cmd_invalid(struct fdc *f)
{
    cmd_byte_result(f, ST0_IC_INVALID);
}

/* The commands by their low five bits: length in bytes (with the opcode) and handler. */
static const struct {
    uint8_t len;
    void (*run)(struct fdc *f);
} commands[32] = {
    [0x03] = {3, cmd_specify},     [0x04] = {2, cmd_sense_drive}, [0x05] = {9, fdc_cmd_rw},
    [0x06] = {9, fdc_cmd_rw},      [0x07] = {2, cmd_recalibrate}, [0x08] = {1, cmd_sense_int},
    [0x0a] = {2, fdc_cmd_read_id}, [0x0d] = {6, fdc_cmd_format},  [0x0e] = {1, cmd_dumpreg},
    [0x0f] = {3, cmd_seek},        [0x10] = {1, cmd_version},     [0x12] = {2, cmd_perpendicular},
    [0x13] = {4, cmd_configure},   [0x14] = {1, cmd_lock},        [0x18] = {1, cmd_part_id},
};

static void fifo_write(struct fdc *f, uint8_t v)
{
    if (f->phase != FDC_PHASE_COMMAND || !(f->dor & DOR_NRESET)) {
        /* a byte while the controller is busy or talking: dropped, as nothing asked for it */
        log_ratelimited(LOG_DEBUG, "fdc: byte 0x%02x written outside the command phase", v);
        return;
    }
    if (f->cmd_pos == 0) {
        unsigned op = v & 0x1f;
        /* the upper bits are flags (MT, MFM, SK, LOCK, relative seek) only where they exist */
        f->cmd_len = commands[op].run != NULL ? commands[op].len : 1;
    }
    f->cmd[f->cmd_pos++] = v;
    if (f->cmd_pos < f->cmd_len)
        return;
    f->cmd_pos = 0;
    if (commands[f->cmd[0] & 0x1f].run == NULL)
        cmd_invalid(f);
    else
        commands[f->cmd[0] & 0x1f].run(f);
}

static uint8_t fifo_read(struct fdc *f)
{
    uint8_t v;
    if (f->phase != FDC_PHASE_RESULT || f->res_pos >= f->res_len)
        return 0;
    if (f->res_pos == 0 && f->is_irq_pending) { /* reading the result acknowledges */
        f->is_irq_pending = false;
        fdc_update_irq(f);
    }
    v = f->res[f->res_pos++];
    if (f->res_pos == f->res_len)
        f->phase = FDC_PHASE_COMMAND;
    return v;
}

static uint8_t msr(const struct fdc *f)
{
    if (!(f->dor & DOR_NRESET))
        return 0;
    switch (f->phase) {
    case FDC_PHASE_EXEC:
        return MSR_CB;
    case FDC_PHASE_RESULT:
        return MSR_RQM | MSR_DIO | MSR_CB;
    case FDC_PHASE_COMMAND:
    default:
        return (uint8_t)(MSR_RQM | (f->cmd_pos > 0 ? MSR_CB : 0));
    }
}

static uint64_t fdc_read(void *opaque, uint64_t off, unsigned size)
{
    struct fdc *f = opaque;
    uint8_t v = 0xff;
    (void)size;
    pthread_mutex_lock(&f->lock);
    switch (off) {
    case 2:
        v = f->dor;
        break;
    case 3:
        v = f->tdr;
        break;
    case 4:
        v = msr(f);
        break;
    case 5:
        v = fifo_read(f);
        break;
    default:
        break;
    }
    pthread_mutex_unlock(&f->lock);
    return v;
}

static void fdc_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    struct fdc *f = opaque;
    uint8_t v = (uint8_t)val, old;
    (void)size;
    pthread_mutex_lock(&f->lock);
    switch (off) {
    case 2:
        old = f->dor;
        f->dor = v;
        if (!(v & DOR_NRESET)) /* held in reset: no interrupt until it ends */
            f->is_irq_pending = false;
        else if (!(old & DOR_NRESET))
            fdc_reset(f);
        fdc_update_irq(f);
        break;
    case 3:
        f->tdr = v & 3;
        break;
    case 4:
        f->rate = v & 3;
        if ((v & DSR_SW_RESET) && (f->dor & DOR_NRESET))
            fdc_reset(f);
        break;
    case 5:
        fifo_write(f, v);
        break;
    default:
        break;
    }
    pthread_mutex_unlock(&f->lock);
}

/* 0x3f7: DIR (bit 7, the disk change line of the selected drive) and CCR. */
static uint64_t dir_read(void *opaque, uint64_t off, unsigned size)
{
    struct fdc *f = opaque;
    struct fdc_drive *d;
    uint8_t v = 0;
    (void)off;
    (void)size;
    pthread_mutex_lock(&f->lock);
    d = fdc_drive(f, f->dor & DOR_DS_MASK);
    if (d != NULL && d->has_changed)
        v = 0x80;
    pthread_mutex_unlock(&f->lock);
    return v;
}

static void ccr_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    struct fdc *f = opaque;
    (void)off;
    (void)size;
    pthread_mutex_lock(&f->lock);
    f->rate = (uint8_t)(val & 3);
    pthread_mutex_unlock(&f->lock);
}

const struct io_ops fdc_io_ops = {.read = fdc_read, .write = fdc_write};
const struct io_ops fdc_dir_io_ops = {.read = dir_read, .write = ccr_write};

int fdc_attach(struct fdc *fdc, struct bus *pio)
{
    int ret = bus_register(pio, FDC_PORT_BASE, 6, &fdc_io_ops, fdc, "fdc");
    return ret < 0 ? ret : bus_register(pio, FDC_PORT_DIR, 1, &fdc_dir_io_ops, fdc, "fdc-dir");
}

int fdc_create(const struct platform *plat, struct i8237 *dma, uint8_t drive_type, struct blk *disk,
               bool is_readonly, fdc_kick_fn kick, void *kick_opaque, struct fdc **out)
{
    struct fdc *f = calloc(1, sizeof(*f));
    int ret;
    if (f == NULL)
        return -ENOMEM;
    pthread_mutex_init(&f->lock, NULL);
    f->plat = *plat;
    f->dma = dma;
    f->kick = kick;
    f->kick_opaque = kick_opaque;
    f->drv.type = drive_type;
    f->drv.sect = 1;
    f->config = FDC_CONFIG_DEFAULT;
    f->dor = DOR_NRESET | DOR_DMA_GATE;
    f->phase = FDC_PHASE_COMMAND;
    ret = disk != NULL ? fdc_change_media(f, disk, is_readonly) : 0;
    if (ret < 0) {
        pthread_mutex_destroy(&f->lock);
        free(f);
        return ret;
    }
    f->drv.has_changed = true; /* as after power-on: no step yet */
    *out = f;
    return 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * The ISA DMA controllers (dev/legacy/i8237.h) and the floppy controller (dev/legacy/fdc.h) as
 * parts of the machine, with the floppy's media change (machine_floppy_change). The drive
 * exists when --floppy is given (a disk, or "empty"); the DMA controllers whenever a device
 * needs them (the floppy controller). CMOS byte 0x10 gives drive A:'s type (upper nibble) and
 * the equipment byte 0x14 its presence (bit 0; bits 6-7, drives - 1, stay 0 for one drive).
 */
#define LOG_TAG "machine"
#include <errno.h>
#include <string.h>

#include "base/evloop.h"
#include "base/statefile.h"
#include "base/log.h"
#include "block/blk.h"
#include "core/vm.h"
#include "dev/legacy/cmos_rtc.h"
#include "dev/legacy/fdc.h"
#include "dev/legacy/i8237.h"
#include "vmm/machine_internal.h"

#define CMOS_FLOPPY_TYPES 0x10
#define CMOS_EQUIPMENT 0x14
#define CMOS_EQUIPMENT_FLOPPY 0x01

bool machine_has_isa_dma(const struct machine *m)
{
    return m->opts->has_floppy;
}

bool machine_has_fdc(const struct machine *m)
{
    return m->opts->has_floppy;
}

int machine_add_isa_dma(struct machine *m, struct error *err UNUSED)
{
    int ret;
    if (!machine_has_isa_dma(m))
        return 0;
    ret = i8237_create(m->gm, &m->isa_dma);
    return ret < 0 ? ret : i8237_attach(m->isa_dma, m->pio);
}

void machine_remove_isa_dma(struct machine *m)
{
    i8237_destroy(m->isa_dma);
    m->isa_dma = NULL;
}

int machine_save_isa_dma(struct machine *m, struct sf_buf *b)
{
    i8237_save(m->isa_dma, b);
    return 0;
}

int machine_load_isa_dma(struct machine *m, struct sf_in *in)
{
    return i8237_load(m->isa_dma, in);
}

int machine_save_fdc(struct machine *m, struct sf_buf *b)
{
    int ret = fdc_save(m->fdc, b);
    if (ret == -EBUSY)
        log_warn("cannot save: the floppy controller has a transfer in flight: try again");
    return ret;
}

int machine_load_fdc(struct machine *m, struct sf_in *in)
{
    return fdc_load(m->fdc, in);
}

/* Opens floppy image (path) raw, checking that its size is a floppy's. */
static int open_floppy(struct machine *m, const char *path, bool is_readonly, struct blk **out,
                       struct error *err)
{
    struct blk_open_opts bo = {.path = path, .format = BLK_FORMAT_RAW, .is_readonly = is_readonly};
    struct error e = {0};
    uint64_t size;
    int ret = blk_open(&bo, m->loop, out, &e);
    if (ret < 0)
        return error_set(err, ret, "floppy: %s", e.message[0] ? e.message : strerror(-ret));
    size = blk_size_bytes(*out);
    if (fdc_geometry_for_size(size) == NULL) {
        blk_close(*out);
        *out = NULL;
        return error_set(err, -ENOEXEC,
                         "floppy %s: %llu bytes is not the size of a 720K, 1.2M, 1.44M or 2.88M "
                         "image",
                         path, (unsigned long long)size);
    }
    return 0;
}

static void fdc_run(void *opaque)
{
    fdc_service(opaque);
}

/* The controller asks for its execution phase on the event loop (it holds its lock). */
static int fdc_kick(void *opaque, struct fdc *fdc)
{
    struct machine *m = opaque;
    int ret = evloop_call(m->loop, fdc_run, fdc);
    if (ret < 0)
        log_ratelimited(LOG_WARN, "fdc: cannot queue the transfer: out of memory");
    return ret;
}

/* The drive type: 2.88M when the first disk is one (such a drive reads 1.44M disks too),
 * else 1.44M. */
static uint8_t drive_type(struct blk *disk)
{
    const struct fdc_geometry *g =
        disk != NULL ? fdc_geometry_for_size(blk_size_bytes(disk)) : NULL;
    return g != NULL && g->cmos_type == 5 ? 5 : 4;
}

/* Before /dev/kvm and the sealing of the descriptor cache, as the other disks. */
int machine_open_floppy(struct machine *m, struct error *err)
{
    if (!machine_has_fdc(m) || m->opts->floppy == NULL)
        return 0;
    return open_floppy(m, m->opts->floppy, m->opts->is_floppy_readonly, &m->floppy_disk, err);
}

/* The disk no floppy controller took. */
void machine_close_floppy(struct machine *m)
{
    blk_close(m->floppy_disk);
    m->floppy_disk = NULL;
}

int machine_add_fdc(struct machine *m, struct error *err UNUSED)
{
    struct blk *disk = m->floppy_disk;
    uint8_t type;
    int ret;
    if (!machine_has_fdc(m))
        return 0;
    type = drive_type(disk);
    ret = fdc_create(vm_platform(m->vm), m->isa_dma, type, disk, m->opts->is_floppy_readonly,
                     fdc_kick, m, &m->fdc);
    if (ret < 0)
        return ret;
    m->floppy_blk = disk;
    m->floppy_disk = NULL; /* the controller's now */
    ret = fdc_attach(m->fdc, m->pio);
    if (ret == 0 && m->rtc != NULL) {
        uint8_t eq = cmos_rtc_get_byte(m->rtc, CMOS_EQUIPMENT);
        ret = cmos_rtc_set_byte(m->rtc, CMOS_FLOPPY_TYPES, (uint8_t)(type << 4));
        if (ret == 0)
            ret = cmos_rtc_set_byte(m->rtc, CMOS_EQUIPMENT, eq | CMOS_EQUIPMENT_FLOPPY);
    }
    return ret;
}

void machine_remove_fdc(struct machine *m)
{
    if (m->fdc == NULL)
        return;
    if (m->loop != NULL)
        evloop_cancel(m->loop, m->fdc); /* queued transfers */
    fdc_destroy(m->fdc);
    m->fdc = NULL;
    m->floppy_blk = NULL;
}

int machine_floppy_change(struct machine *m, const char *path, bool is_readonly, struct error *err)
{
    struct blk *disk = NULL;
    int ret;
    if (m->fdc == NULL)
        return error_set(err, -ENODEV, "the VM has no floppy drive (start it with --floppy)");
    /* out first, so the image's lock is free for a new open of the same file */
    ret = fdc_change_media(m->fdc, NULL, false);
    if (ret == 0)
        m->floppy_blk = NULL;
    if (ret == 0 && path != NULL)
        ret = open_floppy(m, path, is_readonly, &disk, err);
    if (ret < 0)
        return ret;
    if (path == NULL) {
        log_info("floppy: ejected");
        return 0;
    }
    ret = fdc_change_media(m->fdc, disk, is_readonly);
    if (ret < 0) {
        blk_close(disk);
        return error_set(err, ret, "floppy %s: not a floppy image", path);
    }
    m->floppy_blk = disk;
    log_info("floppy: %s%s", path, is_readonly ? " (read-only)" : "");
    return 0;
}

size_t machine_fdc_stats(struct machine *m, struct control_disk_stats *out, size_t n, size_t max)
{
    if (m->floppy_blk != NULL && m->opts->floppy != NULL && n < max)
        machine_blk_stats(m->floppy_blk, m->opts->floppy, &out[n++]);
    return n;
}

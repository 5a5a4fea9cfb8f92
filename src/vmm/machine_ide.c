/* SPDX-License-Identifier: MIT */
/*
 * The IDE controller part of the machine (dev/storage/ide.h): present when a --disk says
 * bus=ide or there is a CD-ROM drive (--cdrom FILE or --cdrom empty, unless bus=virtio). The
 * ATA disks fill the primary master, primary slave, secondary master and secondary slave in
 * command-line order, skipping the secondary master when the CD-ROM drive sits there. The
 * disks are the ones machine_open_disks opened; this part closes them (after ide_stop, so no
 * new request starts, and before ide_destroy: blk_close completes what is in flight and those
 * completions still use the controller). The CD-ROM's medium is this part's own once the
 * machine runs: a media change (machine_change_media) swaps it.
 *
 * The controller is a PCI function on the next free slot as function 0 (01.1, the PIIX3
 * slot, on the pc machine). With the kernel irqchip
 * (8259 present) it is in compatibility mode: legacy ports and ISA IRQs 14/15, only BAR4 (bus
 * master) assigned. With the split irqchip, which has no 8259, a guest has no ISA IRQ 14/15
 * (Linux allocates IRQs 0-15 only when it finds a legacy PIC), so the controller is in PCI
 * native mode: its ports in BARs 0-3 and its interrupt on INTA like any PCI function. Saved
 * with the machine (section "ide", dev/storage/ide_state.c), the save having waited for its
 * block I/O (machine_quiesce).
 */
#define LOG_TAG "machine"
#include "vmm/machine_internal.h"

#include <errno.h>
#include <string.h>

#include "base/log.h"
#include "base/statefile.h"
#include "block/blk.h"
#include "core/vm.h"
#include "dev/pci/pci.h"
#include "dev/storage/ide.h"

bool machine_has_ide(const struct machine *m)
{
    return vmm_has_ide(m->opts);
}

/* Drive index of (o)'s IDE disk number (n) (0-based, CD-ROM excluded). */
static unsigned disk_slot(const struct vmm_options *o, unsigned n)
{
    if (o->has_cdrom_drive && n >= IDE_CDROM_DEFAULT_DRIVE)
        return n + 1;
    return n;
}

static void fill_config(struct machine *m, struct ide_config *cfg)
{
    const struct vmm_options *o = m->opts;
    unsigned n = 0;
    memset(cfg, 0, sizeof(*cfg));
    /* without the 8259 (split irqchip) the guest has no ISA IRQ 14/15: PCI native mode, INTA */
    cfg->is_native = o->irqchip == VMM_IRQCHIP_SPLIT;
    if (o->has_cdrom_drive)
        cfg->drives[IDE_CDROM_DEFAULT_DRIVE].kind = IDE_KIND_ATAPI;
    for (unsigned i = 0; i < m->ndisks; i++) {
        const struct vmm_disk *d = &o->disks[i];
        if (d->bus != VMM_DISK_BUS_IDE)
            continue;
        if (d->is_cdrom) {
            cfg->drives[IDE_CDROM_DEFAULT_DRIVE].blk = m->disks[i];
            m->cdrom_blk = m->disks[i];
            m->disks[i] = NULL; /* the CD-ROM's medium is ours now */
            continue;
        }
        m->ide_disk[n] = i;
        cfg->drives[disk_slot(o, n)] = (struct ide_drive_config){
            .kind = IDE_KIND_ATA, .blk = m->disks[i], .is_readonly = d->is_readonly};
        n++;
    }
    m->nide_disks = n;
}

int machine_add_ide(struct machine *m, struct error *err)
{
    struct ide_config cfg;
    int ret;
    if (!machine_has_ide(m))
        return 0;
    fill_config(m, &cfg);
    ret = ide_create(&cfg, vm_platform(m->vm), m->gm, m->loop, &m->ide);
    if (ret < 0)
        return error_set(err, ret, "cannot create the IDE controller: %s",
                         ret == -EINVAL ? "a disk smaller than one sector" : strerror(-ret));
    ret = ide_attach(m->ide, m->pio);
    if (ret == 0)
        ret = machine_is_pc(m) ? pci_host_add_fn(m->pci, ide_pci_dev(m->ide), 1, 1) /* PIIX3 */
                               : pci_host_add_dev(m->pci, ide_pci_dev(m->ide), -1);
    if (ret < 0)
        return error_set(err, ret, "cannot plug the IDE controller: %s", strerror(-ret));
    return 0;
}

void machine_remove_ide(struct machine *m)
{
    ide_stop(m->ide);
    for (unsigned n = 0; n < m->nide_disks; n++) {
        blk_close(m->disks[m->ide_disk[n]]);
        m->disks[m->ide_disk[n]] = NULL;
    }
    m->nide_disks = 0;
    blk_close(m->cdrom_blk);
    m->cdrom_blk = NULL;
    if (m->ide != NULL)
        ide_detach(m->ide, m->pio);
    /* The PCI host, removed after this part, still lists the function and touches it when it
     * goes: machine_destroy frees the controller after every part (machine_free_ide). */
    m->ide_dead = m->ide;
    m->ide = NULL;
}

int machine_save_ide(struct machine *m, struct sf_buf *b)
{
    int ret = ide_save(m->ide, b);
    if (ret == -EBUSY)
        log_warn("cannot save: the IDE controller has block I/O in flight: try again");
    return ret;
}

int machine_load_ide(struct machine *m, struct sf_in *in)
{
    return ide_load(m->ide, in);
}

void machine_free_ide(struct machine *m)
{
    ide_destroy(m->ide_dead);
    m->ide_dead = NULL;
}

int machine_change_media(struct machine *m, const char *path, bool is_forced, struct error *err)
{
    struct blk_open_opts bo = {.path = path, .format = BLK_FORMAT_RAW, .is_readonly = true};
    struct blk *blk = NULL, *old = NULL;
    int ret;
    if (m->ide == NULL || !m->opts->has_cdrom_drive)
        return error_set(err, -ENODEV, "the VM has no CD-ROM drive on IDE");
    if (path != NULL) {
        struct error e = {0};
        ret = blk_open(&bo, m->loop, &blk, &e);
        if (ret == -EACCES) /* fdcache sealed: the filters let no open reach a file */
            return error_set(err, ret,
                             "cannot open %s: permission denied (a monitor under its filters "
                             "opens no file: pass the image's descriptor with the request)",
                             path);
        if (ret < 0)
            return error_set(err, ret, "%s", e.message);
    }
    ret = ide_change_media(m->ide, IDE_CDROM_DEFAULT_DRIVE, blk, is_forced, &old);
    if (ret < 0) {
        blk_close(blk);
        return error_set(err, ret, "%s",
                         ret == -EBUSY ? "the guest has locked the CD-ROM drive or is reading "
                                         "from it: try again, or force"
                                       : "no CD-ROM drive");
    }
    blk_close(old);
    m->cdrom_blk = blk;
    log_info("cdrom: %s %s", path != NULL ? "inserted" : "ejected", path != NULL ? path : "");
    return 0;
}

size_t machine_ide_stats(struct machine *m, struct control_disk_stats *out, size_t n, size_t max)
{
    for (unsigned i = 0; i < m->nide_disks && n < max; i++) {
        unsigned d = m->ide_disk[i];
        if (m->disks[d] != NULL)
            machine_blk_stats(m->disks[d], m->opts->disks[d].path, &out[n++]);
    }
    if (m->cdrom_blk != NULL && m->opts->cdrom != NULL && n < max)
        machine_blk_stats(m->cdrom_blk, m->opts->cdrom, &out[n++]);
    return n;
}

/* SPDX-License-Identifier: MIT */
/*
 * The saved-state hooks of machine_vdev_kinds[] (vmm/machine_internal.h): one section per
 * virtio function, "<kind>.<index>", holding the transport and core state
 * (virtio_pci_save) followed by the device's own (virtio-blk: its configuration;
 * virtio-console: buffered input; virtio-rng: nothing).
 *
 * A device is saved only when quiescent. With the vCPUs paused, no new chain is made
 * available, so machine_quiesce (before any section is written, so the interrupts the
 * completions raise are in the irqchip's and vCPUs' state) runs the event loop until no device
 * has a request in flight (the block layer's completions are pushed to the used ring, in guest
 * memory, which is saved afterwards; the IDE and floppy controllers' block I/O is waited for
 * too) and gives up with -EBUSY after VDEV_QUIESCE_NS. Requests in flight are thus completed,
 * never saved: a saved queue always has used_idx == last_avail_idx.
 */
#define LOG_TAG "machine"
#include "vmm/machine_internal.h"

#include <errno.h>
#include <stdio.h>

#include "base/evloop.h"
#include "base/log.h"
#include "base/statefile.h"
#include "base/util.h"
#include "dev/legacy/fdc.h"
#include "dev/storage/ide.h"
#include "dev/virtio/console.h"
#include "dev/virtio/input.h"
#include "dev/virtio/virtio_blk.h"
#include "dev/virtio/virtio_pci.h"

/* How long a save waits for the requests in flight. */
#define VDEV_QUIESCE_NS (5ULL * 1000 * 1000 * 1000)

static unsigned inflight(struct virtio_dev *vd)
{
    unsigned n;
    pthread_mutex_lock(&vd->lock);
    n = vd->inflight + (vd->is_reset_pending ? 1 : 0);
    pthread_mutex_unlock(&vd->lock);
    return n;
}

/* Names the first device with requests in flight into (what, n); false when none has. */
static bool first_busy(struct machine *m, char *what, size_t size, unsigned *n)
{
    for (unsigned i = 0; i < m->nvdevs; i++) {
        if ((*n = inflight(m->vdevs[i].vd)) > 0) {
            snprintf(what, size, "%s %u", m->vdevs[i].kind->name, m->vdevs[i].index);
            return true;
        }
    }
    /* the IDE and floppy transfers end in guest memory (DMA) and registers: before the save */
    if (m->ide != NULL && (*n = ide_busy(m->ide)) > 0) {
        snprintf(what, size, "the IDE controller");
        return true;
    }
    if (m->fdc != NULL && (*n = fdc_in_flight(m->fdc)) > 0) {
        snprintf(what, size, "the floppy controller");
        return true;
    }
    return false;
}

int machine_quiesce(struct machine *m, struct error *err)
{
    uint64_t deadline = time_now_ns() + VDEV_QUIESCE_NS;
    char what[64];
    unsigned n;

    while (first_busy(m, what, sizeof(what), &n)) {
        if (time_now_ns() >= deadline)
            return error_set(err, -EBUSY,
                             "cannot save: %s still has %u requests in flight after %llu s", what,
                             n, (unsigned long long)(VDEV_QUIESCE_NS / 1000000000ULL));
        (void)evloop_run_once(m->loop, 10);
    }
    return 0;
}

void machine_mark_vdevs(struct machine *m)
{
    for (unsigned i = 0; i < m->nvdevs; i++)
        virtio_mark_writable(m->vdevs[i].vd);
}

static int save_transport(struct machine *m, struct machine_vdev *d, struct sf_buf *b)
{
    (void)m;
    return virtio_pci_save(d->vpci, b); /* -EBUSY if not quiescent */
}

int machine_save_vblk(struct machine *m, struct machine_vdev *d, struct sf_buf *b)
{
    int ret = save_transport(m, d, b);
    if (ret == 0)
        virtio_blk_save(d->dev, b);
    return ret;
}

int machine_load_vblk(struct machine *m, struct machine_vdev *d, struct sf_in *in)
{
    int ret = virtio_pci_load(d->vpci, in);
    (void)m;
    if (ret == 0)
        ret = virtio_blk_load(d->dev, in);
    if (ret == 0)
        virtio_pci_resume(d->vpci);
    return ret;
}

int machine_save_vrng(struct machine *m, struct machine_vdev *d, struct sf_buf *b)
{
    return save_transport(m, d, b);
}

int machine_load_vrng(struct machine *m, struct machine_vdev *d, struct sf_in *in)
{
    int ret = virtio_pci_load(d->vpci, in);
    (void)m;
    if (ret == 0)
        virtio_pci_resume(d->vpci);
    return ret;
}

int machine_save_vcon(struct machine *m, struct machine_vdev *d, struct sf_buf *b)
{
    int ret = save_transport(m, d, b);
    if (ret == 0)
        virtio_console_save(container_of(d->vd, struct virtio_console, vd), b);
    return ret;
}

int machine_load_vcon(struct machine *m, struct machine_vdev *d, struct sf_in *in)
{
    int ret = virtio_pci_load(d->vpci, in);
    (void)m;
    if (ret == 0)
        ret = virtio_console_load(container_of(d->vd, struct virtio_console, vd), in);
    if (ret == 0)
        virtio_pci_resume(d->vpci);
    return ret;
}

int machine_save_vinput(struct machine *m, struct machine_vdev *d, struct sf_buf *b)
{
    int ret = save_transport(m, d, b);
    if (ret == 0)
        virtio_input_save(d->dev, b);
    return ret;
}

int machine_load_vinput(struct machine *m, struct machine_vdev *d, struct sf_in *in)
{
    int ret = virtio_pci_load(d->vpci, in);
    (void)m;
    if (ret == 0)
        ret = virtio_input_load(d->dev, in);
    if (ret == 0)
        virtio_pci_resume(d->vpci);
    return ret;
}

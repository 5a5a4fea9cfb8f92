/* SPDX-License-Identifier: MIT */
/*
 * Saved state of the virtio-pci transport (docs/virtio.md "Saved state"): its own registers
 * (queue select, INTx level), the MSI-X table and PBA, then the device core's state
 * (virtio_state.c). The PCI config space itself (BAR addresses, COMMAND, the MSI-X enable
 * bits) is the PCI host's section, loaded before this one; BAR 0's ioeventfds followed the
 * BAR when pci_host_load mapped it, and MSI-X messages are sent from the table at each
 * interrupt, so no route needs building. After a load every live queue is kicked once, so
 * chains the driver made available before the save and the device had not looked at yet are
 * processed.
 *
 *   u16 nvec (must match)  u16 queue_select  u8 intx level  MSI-X (pci_msix_save)  core
 */
#include "dev/virtio/virtio_pci.h"

#include <errno.h>
#include <unistd.h>

#define LOG_TAG "virtio-pci"
#include "base/log.h"
#include "base/statefile.h"
#include "dev/virtio/virtio_pci_internal.h"

int virtio_pci_save(struct virtio_pci *vp, struct sf_buf *b)
{
    struct virtio_dev *vd = vp->vd;
    int ret;

    pthread_mutex_lock(&vd->lock);
    sf_put_u16(b, vp->nvec);
    sf_put_u16(b, vp->queue_select);
    /* the vCPUs are paused and nothing else raises this device's INTx meanwhile */
    sf_put_u8(b, vp->pci.intx_level ? 1 : 0);
    pci_msix_save(&vp->msix, b);
    ret = virtio_dev_save(vd, b);
    pthread_mutex_unlock(&vd->lock);
    return ret;
}

/* The queue's kick, as a guest notify write makes it. */
static void kick_live_queues(struct virtio_pci *vp)
{
    uint64_t one = 1;

    for (unsigned q = 0; q < vp->vd->num_queues; q++) {
        pthread_mutex_lock(&vp->vd->lock);
        bool is_live = virtio_queue_is_live(vp->vd, q);
        pthread_mutex_unlock(&vp->vd->lock);
        if (!is_live)
            continue;
        if (vp->kicks[q].fd >= 0 && vp->loop != NULL) {
            if (write(vp->kicks[q].fd, &one, sizeof(one)) != sizeof(one))
                log_warn("%s: eventfd write failed", vp->vd->name);
        } else {
            virtio_queue_kick(vp->vd, q);
        }
    }
}

int virtio_pci_load(struct virtio_pci *vp, struct sf_in *in)
{
    struct virtio_dev *vd = vp->vd;
    uint16_t nvec = sf_get_u16(in), qsel = sf_get_u16(in);
    uint8_t intx = sf_get_u8(in);
    int ret;

    if (in->bad || nvec != vp->nvec || intx > 1)
        return -EINVAL;
    ret = pci_msix_load(&vp->msix, in);
    if (ret < 0)
        return ret;
    pthread_mutex_lock(&vd->lock);
    vp->queue_select = qsel;
    ret = virtio_dev_load(vd, in, vp->nvec);
    if (ret == 0)
        pci_dev_set_intx(&vp->pci, intx != 0);
    pthread_mutex_unlock(&vd->lock);
    return ret;
}

void virtio_pci_resume(struct virtio_pci *vp)
{
    virtio_pci_irqfd_update(vp);
    kick_live_queues(vp);
}

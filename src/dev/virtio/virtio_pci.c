/* SPDX-License-Identifier: MIT */
/*
 * Modern virtio-pci transport, register half (virtio 1.2 §4.1.4-§4.1.5): BAR 0 decoding
 * (common configuration §4.1.4.3, ISR §4.1.4.5, device configuration §4.1.4.6, notifications
 * §4.1.4.4), the PCI configuration access window (§4.1.4.9), MSI-X vector mapping
 * (§4.1.5.1.2) and INTx with the ISR. Kicks go to the event loop through the queue's eventfd.
 * Setup (capabilities, eventfds, ioeventfds) is in virtio_pci_setup.c.
 */
#include "dev/virtio/virtio_pci.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define LOG_TAG "virtio-pci"
#include "base/ckd.h"
#include "base/log.h"
#include "dev/virtio/virtio_pci_internal.h"

/* ---- interrupts ---- */

/* Called with vd->lock held (virtio_transport_ops.interrupt). */
static void transport_interrupt(struct virtio_dev *vd, uint16_t vector)
{
    struct virtio_pci *vp = vd->transport_opaque;
    int ret;

    if (pci_msix_is_enabled(&vp->msix)) {
        if (vector == VIRTIO_MSI_NO_VECTOR)
            return; /* §4.1.5.1.2.1: no vector, no interrupt */
        ret = pci_msix_notify(&vp->msix, vector);
        if (ret != -ENODEV) {
            if (ret < 0 && ret != -EAGAIN)
                log_ratelimited(LOG_WARN, "%s: msi-x vector %u: %d", vd->name, vector, ret);
            return;
        }
        /* MSI-X was disabled meanwhile: INTx */
    }
    pci_dev_set_intx(&vp->pci, true);
}

static void transport_reset(struct virtio_dev *vd)
{
    struct virtio_pci *vp = vd->transport_opaque;
    pci_dev_set_intx(&vp->pci, false);
    virtio_pci_irqfd_update(vp); /* the vectors are NO_VECTOR again */
}

/* vd->lock held: only signals the eventfd, which the loop reads after this callback. */
static void transport_defer(struct virtio_dev *vd, unsigned qidx)
{
    struct virtio_pci *vp = vd->transport_opaque;
    uint64_t one = 1;

    if (qidx >= vd->num_queues || vp->kicks[qidx].fd < 0)
        return;
    if (write(vp->kicks[qidx].fd, &one, sizeof(one)) != sizeof(one))
        log_ratelimited(LOG_WARN, "%s: eventfd write failed", vd->name);
}

const struct virtio_transport_ops virtio_pci_transport_ops = {
    .interrupt = transport_interrupt,
    .defer = transport_defer,
    .reset = transport_reset,
    .host_notifier = virtio_pci_host_notifier,
    .guest_notifier = virtio_pci_guest_notifier,
};

/* ---- common configuration ---- */

static struct virtio_queue *selected_queue(struct virtio_pci *vp)
{
    if (vp->queue_select >= vp->vd->num_queues)
        return NULL;
    return &vp->vd->queues[vp->queue_select];
}

/* Snapshot of the common configuration as the driver sees it (§4.1.4.3). vd->lock held. */
static void common_fill(struct virtio_pci *vp, uint8_t *c)
{
    struct virtio_dev *vd = vp->vd;
    struct virtio_queue *q = selected_queue(vp);
    uint32_t v32;
    uint16_t v16;

#define PUT(off, val, type)                                                                        \
    do {                                                                                           \
        type t_ = (type)(val);                                                                     \
        memcpy(c + (off), &t_, sizeof(t_));                                                        \
    } while (0)
    memset(c, 0, VIRTIO_PCI_COMMON_SIZE);
    PUT(VIRTIO_PCI_COMMON_DFSELECT, vd->device_feature_select, uint32_t);
    v32 = virtio_read_device_features(vd);
    PUT(VIRTIO_PCI_COMMON_DF, v32, uint32_t);
    PUT(VIRTIO_PCI_COMMON_GFSELECT, vd->driver_feature_select, uint32_t);
    v32 = virtio_read_driver_features(vd);
    PUT(VIRTIO_PCI_COMMON_GF, v32, uint32_t);
    PUT(VIRTIO_PCI_COMMON_MSIX, vd->config_msix_vector, uint16_t);
    PUT(VIRTIO_PCI_COMMON_NUMQ, vd->num_queues, uint16_t);
    c[VIRTIO_PCI_COMMON_STATUS] = virtio_read_status(vd);
    c[VIRTIO_PCI_COMMON_CFGGENERATION] = vd->config_generation;
    PUT(VIRTIO_PCI_COMMON_Q_SELECT, vp->queue_select, uint16_t);
    if (q == NULL)
        return; /* §4.1.4.3.1: queue_size reads 0 for an unavailable queue */
    PUT(VIRTIO_PCI_COMMON_Q_SIZE, q->size, uint16_t);
    PUT(VIRTIO_PCI_COMMON_Q_MSIX, q->msix_vector, uint16_t);
    v16 = q->is_enabled;
    PUT(VIRTIO_PCI_COMMON_Q_ENABLE, v16, uint16_t);
    PUT(VIRTIO_PCI_COMMON_Q_NOFF, vp->queue_select, uint16_t);
    PUT(VIRTIO_PCI_COMMON_Q_DESC, q->desc_gpa, uint64_t);
    PUT(VIRTIO_PCI_COMMON_Q_AVAIL, q->driver_gpa, uint64_t);
    PUT(VIRTIO_PCI_COMMON_Q_USED, q->device_gpa, uint64_t);
    PUT(VIRTIO_PCI_COMMON_Q_NDATA, vp->queue_select, uint16_t);
#undef PUT
}

static uint16_t checked_vector(struct virtio_pci *vp, uint16_t vector)
{
    /* §4.1.5.1.2: an unmappable vector reads back as NO_VECTOR */
    return vector < vp->nvec ? vector : VIRTIO_MSI_NO_VECTOR;
}

static bool overlaps(uint64_t off, unsigned size, uint64_t field, unsigned width)
{
    return off < field + width && field < off + size;
}

static uint64_t get_field(const uint8_t *c, unsigned off, unsigned width)
{
    uint64_t v = 0;
    memcpy(&v, c + off, width);
    return v;
}

/* Queue fields that only change while the queue is being set up. vd->lock held. */
static void common_write_queue(struct virtio_pci *vp, const uint8_t *c, uint64_t off, unsigned size)
{
    struct virtio_dev *vd = vp->vd;
    struct virtio_queue *q = selected_queue(vp);

    if (q == NULL)
        return;
    if (overlaps(off, size, VIRTIO_PCI_COMMON_Q_MSIX, 2))
        q->msix_vector = checked_vector(vp, (uint16_t)get_field(c, VIRTIO_PCI_COMMON_Q_MSIX, 2));
    if (!virtio_queue_is_writable(vd) || q->is_enabled) {
        if (!overlaps(off, size, VIRTIO_PCI_COMMON_Q_MSIX, 2))
            log_ratelimited(LOG_WARN, "%s: queue %u register write at %#llx ignored", vd->name,
                            vp->queue_select, (unsigned long long)off);
        return;
    }
    if (overlaps(off, size, VIRTIO_PCI_COMMON_Q_SIZE, 2))
        q->size = (uint16_t)get_field(c, VIRTIO_PCI_COMMON_Q_SIZE, 2);
    if (overlaps(off, size, VIRTIO_PCI_COMMON_Q_DESC, 8))
        q->desc_gpa = get_field(c, VIRTIO_PCI_COMMON_Q_DESC, 8);
    if (overlaps(off, size, VIRTIO_PCI_COMMON_Q_AVAIL, 8))
        q->driver_gpa = get_field(c, VIRTIO_PCI_COMMON_Q_AVAIL, 8);
    if (overlaps(off, size, VIRTIO_PCI_COMMON_Q_USED, 8))
        q->device_gpa = get_field(c, VIRTIO_PCI_COMMON_Q_USED, 8);
    if (overlaps(off, size, VIRTIO_PCI_COMMON_Q_ENABLE, 2)) {
        if (get_field(c, VIRTIO_PCI_COMMON_Q_ENABLE, 2) == 1)
            virtio_queue_enable(vd, vp->queue_select);
        else
            log_ratelimited(LOG_WARN, "%s: queue_enable 0 ignored", vd->name);
    }
}

/*
 * A write of (size) bytes at (off): merged into a snapshot, then applied field by field, so
 * any access width (e.g. 64-bit addresses as two 32-bit halves) behaves alike. vd->lock held.
 */
static void common_write(struct virtio_pci *vp, uint64_t off, uint64_t val, unsigned size)
{
    struct virtio_dev *vd = vp->vd;
    uint8_t c[VIRTIO_PCI_COMMON_SIZE];

    common_fill(vp, c);
    memcpy(c + off, &val, size);
    if (overlaps(off, size, VIRTIO_PCI_COMMON_DFSELECT, 4))
        vd->device_feature_select = (uint32_t)get_field(c, VIRTIO_PCI_COMMON_DFSELECT, 4);
    if (overlaps(off, size, VIRTIO_PCI_COMMON_GFSELECT, 4))
        vd->driver_feature_select = (uint32_t)get_field(c, VIRTIO_PCI_COMMON_GFSELECT, 4);
    if (overlaps(off, size, VIRTIO_PCI_COMMON_GF, 4))
        virtio_write_driver_features(vd, (uint32_t)get_field(c, VIRTIO_PCI_COMMON_GF, 4));
    if (overlaps(off, size, VIRTIO_PCI_COMMON_MSIX, 2))
        vd->config_msix_vector =
            checked_vector(vp, (uint16_t)get_field(c, VIRTIO_PCI_COMMON_MSIX, 2));
    if (overlaps(off, size, VIRTIO_PCI_COMMON_STATUS, 1))
        virtio_write_status(vd, c[VIRTIO_PCI_COMMON_STATUS]);
    if (overlaps(off, size, VIRTIO_PCI_COMMON_Q_SELECT, 2))
        vp->queue_select = (uint16_t)get_field(c, VIRTIO_PCI_COMMON_Q_SELECT, 2);
    else if (off >= VIRTIO_PCI_COMMON_Q_SIZE)
        common_write_queue(vp, c, off, size);
}

/* ---- BAR 0 ---- */

static bool size_ok(uint64_t off, unsigned size, uint64_t region_size)
{
    return (size == 1 || size == 2 || size == 4 || size == 8) &&
           !range_outside(off, size, region_size);
}

/* Region dispatch for reads. vd->lock held. */
static uint64_t bar_read_locked(struct virtio_pci *vp, uint64_t off, unsigned size)
{
    struct virtio_dev *vd = vp->vd;
    uint8_t c[VIRTIO_PCI_COMMON_SIZE];
    uint64_t val = 0;

    if (off < VIRTIO_PCI_COMMON_OFF + VIRTIO_PCI_COMMON_SIZE) {
        if (!size_ok(off, size, VIRTIO_PCI_COMMON_SIZE))
            return 0;
        common_fill(vp, c);
        memcpy(&val, c + off, size);
        return val;
    }
    if (off == VIRTIO_PCI_ISR_OFF) {
        /* Reading the ISR deasserts INTx (§4.1.4.5); under vd->lock, so an interrupt raised
         * after the read is never lowered by it. */
        val = virtio_read_isr(vd);
        pci_dev_set_intx(&vp->pci, false);
        return val;
    }
    if (off >= VIRTIO_PCI_DEVICE_OFF && off < VIRTIO_PCI_DEVICE_OFF + VIRTIO_PCI_DEVICE_MAX)
        return virtio_read_config(vd, off - VIRTIO_PCI_DEVICE_OFF, size);
    return 0;
}

uint64_t virtio_pci_bar_read(void *opaque, uint64_t off, unsigned size)
{
    struct virtio_pci *vp = opaque;
    uint64_t val;

    if (pci_msix_bar_read(&vp->msix, VIRTIO_PCI_BAR, off, size, &val))
        return val;
    pthread_mutex_lock(&vp->vd->lock);
    val = bar_read_locked(vp, off, size);
    pthread_mutex_unlock(&vp->vd->lock);
    return val;
}

static void kick(struct virtio_pci *vp, unsigned qidx)
{
    uint64_t one = 1;

    if (qidx < vp->vd->num_queues && vp->kicks[qidx].fd >= 0 && vp->loop != NULL) {
        /* Queues are processed on the event loop, never on a vCPU thread. */
        if (write(vp->kicks[qidx].fd, &one, sizeof(one)) != sizeof(one))
            log_ratelimited(LOG_WARN, "%s: eventfd write failed", vp->vd->name);
        return;
    }
    virtio_queue_kick(vp->vd, qidx);
}

void virtio_pci_bar_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    struct virtio_pci *vp = opaque;
    struct virtio_dev *vd = vp->vd;

    if (pci_msix_bar_write(&vp->msix, VIRTIO_PCI_BAR, off, val, size)) {
        virtio_pci_irqfd_update(vp); /* a message or a vector mask may have changed */
        return;
    }
    if (off >= VIRTIO_PCI_NOTIFY_OFF && off < VIRTIO_PCI_MSIX_TABLE_OFF) {
        kick(vp, (unsigned)((off - VIRTIO_PCI_NOTIFY_OFF) / VIRTIO_PCI_NOTIFY_MULT));
        return;
    }
    pthread_mutex_lock(&vd->lock);
    if (off < VIRTIO_PCI_COMMON_SIZE) {
        if (size_ok(off, size, VIRTIO_PCI_COMMON_SIZE))
            common_write(vp, off, val, size);
    } else if (off >= VIRTIO_PCI_DEVICE_OFF &&
               off < VIRTIO_PCI_DEVICE_OFF + VIRTIO_PCI_DEVICE_MAX) {
        virtio_write_config(vd, off - VIRTIO_PCI_DEVICE_OFF, val, size);
    } else {
        log_ratelimited(LOG_DEBUG, "%s: write to bar offset %#llx ignored", vd->name,
                        (unsigned long long)off);
    }
    pthread_mutex_unlock(&vd->lock);
    if (off < VIRTIO_PCI_COMMON_SIZE)
        virtio_pci_irqfd_update(vp); /* a queue's vector may have changed */
}

const struct io_ops virtio_pci_bar_ops = {
    .read = virtio_pci_bar_read,
    .write = virtio_pci_bar_write,
};

/* ---- VIRTIO_PCI_CAP_PCI_CFG window (§4.1.4.9) ---- */

/* The window's bar/offset/length select a BAR 0 access; false when they do not make sense. */
static bool window_target(struct virtio_pci *vp, uint32_t *offset, unsigned *len)
{
    uint16_t cap = vp->pci_cfg_cap_off;
    uint8_t bar = pci_cfg_get8(&vp->pci, cap + CAP_OFF_BAR);

    *offset = pci_cfg_get32(&vp->pci, cap + CAP_OFF_OFFSET);
    *len = pci_cfg_get32(&vp->pci, cap + CAP_OFF_LENGTH);
    if (bar != VIRTIO_PCI_BAR || (*len != 1 && *len != 2 && *len != 4) || (*offset & (*len - 1)) ||
        range_outside(*offset, *len, VIRTIO_PCI_BAR_SIZE)) {
        log_ratelimited(LOG_DEBUG, "%s: pci_cfg window bar %u off %u len %u ignored", vp->vd->name,
                        bar, *offset, *len);
        return false;
    }
    return true;
}

/* Host lock held. */
void virtio_pci_cfg_read_hook(struct pci_dev *dev, uint32_t off, unsigned size)
{
    struct virtio_pci *vp = dev->opaque;
    uint16_t data = vp->pci_cfg_cap_off + CAP_OFF_DATA;
    uint32_t offset;
    unsigned len;

    if (!overlaps(off, size, data, 4) || !window_target(vp, &offset, &len))
        return;
    pci_cfg_set32(dev, data, (uint32_t)virtio_pci_bar_read(vp, offset, len));
}

/* Host lock held. */
void virtio_pci_cfg_write_hook(struct pci_dev *dev, uint32_t off, uint32_t val, unsigned size)
{
    struct virtio_pci *vp = dev->opaque;
    uint16_t data = vp->pci_cfg_cap_off + CAP_OFF_DATA;
    uint32_t offset;
    unsigned len;

    (void)val;
    virtio_pci_irqfd_update(vp); /* MSI-X enable or function mask may have changed */
    if (!overlaps(off, size, data, 4) || !window_target(vp, &offset, &len))
        return;
    virtio_pci_bar_write(vp, offset, pci_cfg_get32(dev, data), len);
}

/* Machine reset (host lock held; the host already reset MSI-X and INTx). */
void virtio_pci_reset_hook(struct pci_dev *dev)
{
    struct virtio_pci *vp = dev->opaque;

    pthread_mutex_lock(&vp->vd->lock);
    virtio_write_status(vp->vd, 0);
    vp->queue_select = 0;
    pthread_mutex_unlock(&vp->vd->lock);
}

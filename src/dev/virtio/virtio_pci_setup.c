/* SPDX-License-Identifier: MIT */
/*
 * Modern virtio-pci transport, setup half (virtio 1.2 §4.1.2, §4.1.4): PCI identity, the vendor
 * capabilities and MSI-X in BAR 0, the per-queue eventfds watched on the event loop and their
 * ioeventfds, which follow BAR 0 when the guest moves it. Register decoding is in virtio_pci.c.
 */
#include "dev/virtio/virtio_pci.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define LOG_TAG "virtio-pci"
#include "base/evloop.h"
#include "base/log.h"
#include "dev/virtio/virtio_pci_internal.h"

struct virtio_pci_cap {
    uint8_t cap_vndr;
    uint8_t cap_next;
    uint8_t cap_len;
    uint8_t cfg_type;
    uint8_t bar;
    uint8_t id;
    uint8_t padding[2];
    uint32_t offset;
    uint32_t length;
};
_Static_assert(sizeof(struct virtio_pci_cap) == 16, "virtio_pci_cap is 16 bytes");

/* notify cap: + notify_off_multiplier; pci cfg cap: + pci_cfg_data[4] */
struct virtio_pci_cap_ext {
    struct virtio_pci_cap cap;
    uint32_t extra;
};
_Static_assert(sizeof(struct virtio_pci_cap_ext) == 20, "virtio_pci_cap_ext is 20 bytes");

/* ---- kicks ---- */

static void kick_cb(void *opaque, uint32_t events)
{
    struct virtio_pci_kick *k = opaque;
    uint64_t n;

    (void)events;
    if (read(k->fd, &n, sizeof(n)) != sizeof(n))
        return; /* spurious wakeup: nothing counted */
    virtio_queue_kick(k->vp->vd, k->qidx);
}

/* vhost signalled queue (qidx)'s call eventfd. Loop thread. */
static void call_cb(void *opaque, uint32_t events)
{
    struct virtio_pci_kick *k = opaque;
    struct virtio_dev *vd;
    uint64_t n;

    (void)events;
    if (read(k->call_fd, &n, sizeof(n)) != sizeof(n))
        return;
    vd = k->vp->vd;
    if (vd == NULL)
        return;
    pthread_mutex_lock(&vd->lock);
    virtio_queue_interrupt(vd, k->qidx);
    pthread_mutex_unlock(&vd->lock);
}

/* virtio_transport_ops.host_notifier. vd->lock held. */
int virtio_pci_host_notifier(struct virtio_dev *vd, unsigned qidx, bool is_on)
{
    struct virtio_pci *vp = vd->transport_opaque;
    struct virtio_pci_kick *k;
    int ret;

    if (qidx >= vd->num_queues || vp->loop == NULL || vp->kicks[qidx].fd < 0)
        return -ENOTSUP;
    k = &vp->kicks[qidx];
    if (k->is_external == is_on)
        return k->fd;
    if (is_on) {
        (void)evloop_del(vp->loop, k->fd);
    } else {
        ret = evloop_add(vp->loop, k->fd, EPOLLIN, kick_cb, k);
        if (ret < 0)
            return ret;
    }
    k->is_external = is_on;
    return k->fd;
}

/* virtio_transport_ops.guest_notifier. vd->lock held. */
int virtio_pci_guest_notifier(struct virtio_dev *vd, unsigned qidx)
{
    struct virtio_pci *vp = vd->transport_opaque;
    struct virtio_pci_kick *k;
    int ret;

    if (qidx >= vd->num_queues || vp->loop == NULL)
        return -ENOTSUP;
    k = &vp->kicks[qidx];
    if (k->call_fd >= 0)
        return k->call_fd;
    k->call_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (k->call_fd < 0)
        return -errno;
    ret = evloop_add(vp->loop, k->call_fd, EPOLLIN, call_cb, k);
    if (ret < 0) {
        close(k->call_fd);
        k->call_fd = -1;
        return ret;
    }
    virtio_pci_irqfd_update(vp);
    return k->call_fd;
}

/* Queue (q)'s MSI-X message when it can be sent now. */
static bool sendable_msg(struct virtio_pci *vp, unsigned q, uint64_t *addr, uint32_t *data)
{
    uint16_t vec = __atomic_load_n(&vp->vd->queues[q].msix_vector, __ATOMIC_RELAXED);
    bool is_masked = true;

    return vec != VIRTIO_MSI_NO_VECTOR &&
           pci_msix_get_msg(&vp->msix, vec, addr, data, &is_masked) && !is_masked;
}

/* Routes one call eventfd through an irqfd (is_irqfd) or the loop. irqfd_lock held. */
static void route_call(struct virtio_pci *vp, struct virtio_pci_kick *k, bool is_irqfd,
                       uint64_t addr, uint32_t data)
{
    const struct platform_ops *ops = vp->plat.ops;

    if (is_irqfd) {
        if (k->has_irqfd && k->irqfd_addr == addr && k->irqfd_data == data)
            return;
        if (ops->irqfd_msi(vp->plat.opaque, k->call_fd, addr, data, true) == 0) {
            if (!k->has_irqfd)
                (void)evloop_del(vp->loop, k->call_fd);
            k->has_irqfd = true;
            k->irqfd_addr = addr;
            k->irqfd_data = data;
            return;
        }
    }
    if (!k->has_irqfd)
        return;
    (void)ops->irqfd_msi(vp->plat.opaque, k->call_fd, 0, 0, false);
    k->has_irqfd = false;
    /* level-triggered: a signal that came meanwhile is raised (or made pending) at once */
    if (evloop_add(vp->loop, k->call_fd, EPOLLIN, call_cb, k) < 0)
        log_warn("%s: queue %u: interrupts lost (cannot watch its eventfd)", vp->vd->name, k->qidx);
}

void virtio_pci_irqfd_update(struct virtio_pci *vp)
{
    const struct platform_ops *ops = vp->plat.ops;

    if (ops == NULL || ops->irqfd_msi == NULL || vp->loop == NULL || vp->vd == NULL)
        return;
    pthread_mutex_lock(&vp->irqfd_lock);
    for (unsigned q = 0; q < vp->vd->num_queues; q++) {
        struct virtio_pci_kick *k = &vp->kicks[q];
        uint64_t addr = 0;
        uint32_t data = 0;
        bool is_sendable;
        if (k->call_fd < 0)
            continue;
        is_sendable = sendable_msg(vp, q, &addr, &data); /* before addr and data are read */
        route_call(vp, k, is_sendable, addr, data);
    }
    pthread_mutex_unlock(&vp->irqfd_lock);
}

/* BAR 0 moved: follow with the ioeventfds. Host lock held. */
static void pci_bar_map_hook(struct pci_dev *dev, unsigned bar, uint64_t gpa, bool is_mapped)
{
    struct virtio_pci *vp = dev->opaque;
    const struct platform_ops *ops = vp->plat.ops;

    if (bar != VIRTIO_PCI_BAR || ops == NULL || ops->ioeventfd == NULL || vp->loop == NULL)
        return;
    for (unsigned q = 0; q < vp->vd->num_queues; q++) {
        struct virtio_pci_kick *k = &vp->kicks[q];
        if (k->has_ioeventfd) {
            (void)ops->ioeventfd(vp->plat.opaque, k->ioeventfd_gpa, 2, false, k->fd, false);
            k->has_ioeventfd = false;
        }
        if (!is_mapped)
            continue;
        k->ioeventfd_gpa = gpa + VIRTIO_PCI_NOTIFY_OFF + (uint64_t)q * VIRTIO_PCI_NOTIFY_MULT;
        if (ops->ioeventfd(vp->plat.opaque, k->ioeventfd_gpa, 2, false, k->fd, true) == 0)
            k->has_ioeventfd = true;
        else
            log_debug("%s: no ioeventfd for queue %u, using the write handler", vp->vd->name, q);
    }
}

static const struct pci_dev_ops pci_ops = {
    .cfg_write = virtio_pci_cfg_write_hook,
    .cfg_read = virtio_pci_cfg_read_hook,
    .bar_map = pci_bar_map_hook,
    .reset = virtio_pci_reset_hook,
};

/* ---- setup ---- */

static uint32_t class_code(uint32_t device_id)
{
    switch (device_id) {
    case VIRTIO_ID_BLOCK:
        return 0x010000; /* mass storage, SCSI (as other monitors do) */
    case VIRTIO_ID_CONSOLE:
        return 0x078000; /* simple communication, other */
    default:
        return 0xff0000; /* unclassified */
    }
}

static int add_cap(struct virtio_pci *vp, uint8_t type, uint32_t offset, uint32_t length,
                   uint32_t extra, bool has_extra, uint16_t *out_off)
{
    struct virtio_pci_cap_ext c = {
        .cap = {.cap_vndr = PCI_CAP_ID_VNDR,
                .cap_len = has_extra ? sizeof(c) : sizeof(c.cap),
                .cfg_type = type,
                .bar = VIRTIO_PCI_BAR,
                .offset = offset,
                .length = length},
        .extra = extra,
    };
    uint16_t off;
    int ret = pci_dev_add_cap(&vp->pci, &c, c.cap.cap_len, &off);
    if (ret == 0 && out_off != NULL)
        *out_off = off;
    return ret;
}

static int add_caps(struct virtio_pci *vp)
{
    const struct virtio_dev *vd = vp->vd;
    uint16_t off = 0;
    int ret;

    ret = add_cap(vp, VIRTIO_PCI_CAP_COMMON_CFG, VIRTIO_PCI_COMMON_OFF, VIRTIO_PCI_COMMON_SIZE, 0,
                  false, NULL);
    if (ret == 0)
        ret = add_cap(vp, VIRTIO_PCI_CAP_ISR_CFG, VIRTIO_PCI_ISR_OFF, 1, 0, false, NULL);
    if (ret == 0 && vd->ops->config_size > 0)
        ret = add_cap(vp, VIRTIO_PCI_CAP_DEVICE_CFG, VIRTIO_PCI_DEVICE_OFF,
                      (uint32_t)vd->ops->config_size, 0, false, NULL);
    if (ret == 0)
        ret = add_cap(vp, VIRTIO_PCI_CAP_NOTIFY_CFG, VIRTIO_PCI_NOTIFY_OFF,
                      vd->num_queues * VIRTIO_PCI_NOTIFY_MULT, VIRTIO_PCI_NOTIFY_MULT, true, NULL);
    if (ret == 0)
        ret = add_cap(vp, VIRTIO_PCI_CAP_PCI_CFG, 0, 0, 0, true, &off);
    if (ret < 0)
        return ret;
    vp->pci_cfg_cap_off = off;
    pci_dev_set_wmask(&vp->pci, off + CAP_OFF_BAR, 0xff, 1);
    pci_dev_set_wmask(&vp->pci, off + CAP_OFF_OFFSET, 0xffffffff, 4);
    pci_dev_set_wmask(&vp->pci, off + CAP_OFF_LENGTH, 0xffffffff, 4);
    pci_dev_set_wmask(&vp->pci, off + CAP_OFF_DATA, 0xffffffff, 4);
    return 0;
}

static int kicks_init(struct virtio_pci *vp)
{
    int ret;

    for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++) {
        vp->kicks[q].vp = vp;
        vp->kicks[q].qidx = q;
        vp->kicks[q].fd = -1;
        vp->kicks[q].call_fd = -1;
    }
    if (vp->loop == NULL)
        return 0;
    for (unsigned q = 0; q < vp->vd->num_queues; q++) {
        struct virtio_pci_kick *k = &vp->kicks[q];
        k->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (k->fd < 0)
            return -errno;
        ret = evloop_add(vp->loop, k->fd, EPOLLIN, kick_cb, k);
        if (ret < 0) {
            close(k->fd);
            k->fd = -1;
            return ret;
        }
    }
    return 0;
}

static void kicks_fini(struct virtio_pci *vp)
{
    const struct platform_ops *ops = vp->plat.ops;

    for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++) {
        struct virtio_pci_kick *k = &vp->kicks[q];
        if (k->has_ioeventfd && ops != NULL && ops->ioeventfd != NULL)
            (void)ops->ioeventfd(vp->plat.opaque, k->ioeventfd_gpa, 2, false, k->fd, false);
        k->has_ioeventfd = false;
        if (k->call_fd >= 0 && k->has_irqfd && ops != NULL && ops->irqfd_msi != NULL)
            (void)ops->irqfd_msi(vp->plat.opaque, k->call_fd, 0, 0, false);
        k->has_irqfd = false;
        if (k->call_fd >= 0) {
            (void)evloop_del(vp->loop, k->call_fd);
            close(k->call_fd);
            k->call_fd = -1;
        }
        if (k->fd < 0)
            continue;
        if (vp->loop != NULL && !k->is_external)
            (void)evloop_del(vp->loop, k->fd);
        close(k->fd);
        k->fd = -1;
        k->is_external = false;
    }
}

int virtio_pci_init(struct virtio_pci *vp, struct virtio_dev *vd, const struct platform *plat,
                    struct evloop *loop)
{
    struct pci_dev_id id = {
        .vendor = VIRTIO_PCI_VENDOR_ID,
        .device = (uint16_t)(VIRTIO_PCI_DEVICE_ID_BASE + vd->device_id),
        .subsys_vendor = VIRTIO_PCI_VENDOR_ID,
        .subsys = VIRTIO_PCI_SUBSYS_ID,
        .class_code = class_code(vd->device_id),
        .revision = 1,
        .int_pin = 1,
    };
    int ret;

    if (vd->ops->config_size > VIRTIO_PCI_DEVICE_MAX || vd->num_queues > VIRTIO_MAX_QUEUES)
        return -EINVAL;
    memset(vp, 0, sizeof(*vp));
    pthread_mutex_init(&vp->irqfd_lock, NULL);
    vp->vd = vd;
    vp->plat = *plat;
    vp->loop = loop;
    vp->nvec = (uint16_t)(vd->num_queues + 1);
    ret = kicks_init(vp);
    if (ret < 0)
        goto err_kicks;
    pci_dev_init(&vp->pci, &id, &pci_ops, vp, vd->name);
    ret = pci_dev_set_bar(&vp->pci, VIRTIO_PCI_BAR, PCI_BAR_MEM64, VIRTIO_PCI_BAR_SIZE, false,
                          &virtio_pci_bar_ops, vp);
    if (ret < 0)
        goto err_kicks;
    ret = add_caps(vp);
    if (ret < 0)
        goto err_kicks;
    ret = pci_msix_init(&vp->msix, &vp->pci, plat, vp->nvec, VIRTIO_PCI_BAR,
                        VIRTIO_PCI_MSIX_TABLE_OFF, VIRTIO_PCI_BAR, VIRTIO_PCI_MSIX_PBA_OFF);
    if (ret < 0)
        goto err_kicks;
    virtio_dev_set_transport(vd, &virtio_pci_transport_ops, vp);
    return 0;

err_kicks:
    kicks_fini(vp);
    return ret;
}

void virtio_pci_fini(struct virtio_pci *vp)
{
    /* Backend completions may still arrive (blk_close after us): they must not reach vp. */
    if (vp->vd != NULL) {
        pthread_mutex_lock(&vp->vd->lock);
        virtio_dev_set_transport(vp->vd, NULL, NULL);
        pthread_mutex_unlock(&vp->vd->lock);
        vp->vd = NULL;
    }
    kicks_fini(vp);
    pci_msix_fini(&vp->msix);
    pthread_mutex_destroy(&vp->irqfd_lock);
}

int virtio_pci_plug(struct pci_host *host, struct virtio_dev *vd, struct evloop *loop, int slot,
                    struct virtio_pci **out)
{
    struct virtio_pci *vp = calloc(1, sizeof(*vp));
    int ret;

    if (vp == NULL)
        return -ENOMEM;
    ret = virtio_pci_init(vp, vd, pci_host_platform(host), loop);
    if (ret < 0)
        goto err_free;
    ret = pci_host_add_dev(host, &vp->pci, slot);
    if (ret < 0)
        goto err_fini;
    *out = vp;
    return 0;

err_fini:
    virtio_pci_fini(vp);
err_free:
    free(vp);
    return ret;
}

void virtio_pci_destroy(struct virtio_pci *vp)
{
    if (vp == NULL)
        return;
    virtio_pci_fini(vp);
    free(vp);
}

/* SPDX-License-Identifier: MIT */
/*
 * virtio-net over an in-kernel data path (vhost-net, net/net.h): when the driver sets
 * DRIVER_OK (or the link comes back) and the backend has one, the receive and transmit rings
 * are handed to the kernel with the queues' kick eventfds and an interrupt eventfd each from
 * the transport; the control queue stays here. Stopped at reset, link down, saved state and
 * teardown, which give the rings back with the index the kernel stopped at (virtq_resync).
 *
 * What is handed over is checked here first: the rings lie inside guest RAM (virtq_init took
 * them from gmem_ptr) and not in a ROM, the memory table has the RAM regions only (a buffer
 * the guest points at a ROM or MMIO is refused by the kernel), and every ring feature the
 * driver accepted is one the kernel handles. vd->lock held throughout.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#define LOG_TAG "virtio-net"
#include "base/log.h"
#include "core/gmem.h"
#include "dev/virtio/virtio_net.h"
#include "net/net.h"

/* The ring features vhost-net must know; the others are the monitor's or the tap's. */
#define RING_FEATURES                                                                              \
    (VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_RING_INDIRECT_DESC) |                    \
     VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX) | VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF))

static bool in_ram(const struct gmem *gm, uint64_t gpa)
{
    const struct gmem_region *r = gmem_find(gm, gpa);
    return r != NULL && !r->is_readonly;
}

static int fill_regions(const struct gmem *gm, struct net_vhost_setup *s)
{
    for (unsigned i = 0; i < gm->nregions; i++) {
        const struct gmem_region *r = &gm->regions[i];
        if (r->is_readonly)
            continue;
        if (s->nregions == NET_VHOST_MAX_REGIONS)
            return -E2BIG;
        s->regions[s->nregions++] = (struct net_vhost_region){
            .gpa = r->gpa, .size_bytes = r->size_bytes, .hva = (uint64_t)(uintptr_t)r->hva};
    }
    return 0;
}

static int fill_ring(struct virtio_dev *vd, unsigned q, struct net_vhost_ring *r)
{
    const struct virtio_queue *vq = &vd->queues[q];
    int fd;

    if (!virtio_queue_is_live(vd, q) || !vq->vq.is_ready || vq->vq.is_broken)
        return -ENODEV;
    if (!in_ram(vd->gm, vq->desc_gpa) || !in_ram(vd->gm, vq->driver_gpa) ||
        !in_ram(vd->gm, vq->device_gpa))
        return -EFAULT;
    if (vd->transport == NULL || vd->transport->host_notifier == NULL ||
        vd->transport->guest_notifier == NULL)
        return -ENOTSUP;
    r->size = vq->vq.size;
    r->last_avail_idx = vq->vq.last_avail_idx;
    r->desc_hva = (uint64_t)(uintptr_t)vq->vq.desc;
    r->avail_hva = (uint64_t)(uintptr_t)vq->vq.avail;
    r->used_hva = (uint64_t)(uintptr_t)vq->vq.used_hdr;
    fd = vd->transport->guest_notifier(vd, q);
    if (fd < 0)
        return fd;
    r->call_fd = fd;
    fd = vd->transport->host_notifier(vd, q, true);
    if (fd < 0)
        return fd;
    r->kick_fd = fd;
    return 0;
}

/* The receive and transmit queues of every pair. */
static unsigned data_queues(const struct virtio_net *vn)
{
    return 2 * vn->npairs;
}

static void give_back_kicks(struct virtio_net *vn)
{
    struct virtio_dev *vd = &vn->vd;

    if (vd->transport == NULL || vd->transport->host_notifier == NULL)
        return;
    for (unsigned q = 0; q < data_queues(vn); q++)
        if (vd->transport->host_notifier(vd, q, false) < 0)
            log_warn("%s: queue %u: cannot watch its kicks again", vd->name, q);
}

/* Stops the first (n) pairs and gives their rings back to the device. */
static void stop_pairs(struct virtio_net *vn, unsigned n)
{
    struct virtio_dev *vd = &vn->vd;

    for (unsigned p = 0; p < n; p++) {
        uint16_t last[2] = {vd->queues[2 * p].vq.last_avail_idx,
                            vd->queues[2 * p + 1].vq.last_avail_idx};
        net_backend_vhost_stop(vn->be, p, last);
        virtq_resync(&vd->queues[2 * p].vq, last[0]);
        virtq_resync(&vd->queues[2 * p + 1].vq, last[1]);
    }
}

/* Every pair or none: the monitor's path and the kernel's never share the device. */
static int try_start(struct virtio_net *vn)
{
    struct virtio_dev *vd = &vn->vd;
    struct net_vhost_setup s;
    unsigned p;
    int ret;

    memset(&s, 0, sizeof(s));
    if ((vd->driver_features & RING_FEATURES) & ~vn->be->vhost_features)
        return -ENOTSUP;
    s.features = vd->driver_features & RING_FEATURES;
    ret = fill_regions(vd->gm, &s);
    for (p = 0; ret == 0 && p < vn->npairs; p++) {
        ret = fill_ring(vd, 2 * p, &s.rings[0]);
        if (ret == 0)
            ret = fill_ring(vd, 2 * p + 1, &s.rings[1]);
        if (ret == 0)
            ret = net_backend_vhost_start(vn->be, p, &s);
    }
    if (ret < 0) {
        stop_pairs(vn, p > 0 ? p - 1 : 0);
        give_back_kicks(vn);
        return ret;
    }
    vn->is_vhost = true;
    /* chains made available before the handover: let the kernel look at the rings once */
    for (unsigned q = 0; q < data_queues(vn); q++)
        virtio_queue_defer(vd, q);
    return 0;
}

int virtio_net_vhost_start(struct virtio_net *vn)
{
    int ret;

    if (vn->is_vhost || vn->be->vhost_features == 0 || !net_backend_link_is_up(vn->be))
        return 0;
    ret = try_start(vn);
    if (ret == 0) {
        log_debug("%s: vhost-net runs the receive and transmit queues", vn->vd.name);
        return 0;
    }
    if (vn->be->is_vhost_required) {
        log_error("%s: vhost=on: cannot start vhost-net: %s", vn->vd.name, strerror(-ret));
        return ret;
    }
    log_ratelimited(LOG_WARN, "%s: vhost-net not started (%s): frames go through the monitor",
                    vn->vd.name, strerror(-ret));
    return 0;
}

void virtio_net_vhost_stop(struct virtio_net *vn)
{
    if (!vn->is_vhost)
        return;
    stop_pairs(vn, vn->npairs);
    vn->is_vhost = false;
    give_back_kicks(vn);
    /* transmit chains the kernel had not taken yet: the monitor's path looks at them */
    for (unsigned q = 1; q < data_queues(vn); q += 2)
        virtio_queue_defer(&vn->vd, q);
}

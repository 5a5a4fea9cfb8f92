/* SPDX-License-Identifier: MIT */
/*
 * virtio-net device setup (virtio 1.2 §5.1): the features offered from the backend's offloads
 * (§5.1.3), their dependencies checked when the driver starts the device (§5.1.3.1), the
 * configuration space with the link status (§5.1.4), reset, and the link-change path. The
 * queues are handled in virtio_net_rx.c, virtio_net_tx.c and virtio_net_ctrl.c.
 */
#include "dev/virtio/virtio_net.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define LOG_TAG "virtio-net"
#include "base/log.h"
#include "net/net.h"

#define F(b) VIRTIO_BIT(VIRTIO_NET_F_##b)

/* Offered whatever the backend is. */
#define BASE_FEATURES                                                                              \
    (F(MAC) | F(STATUS) | F(MRG_RXBUF) | F(CTRL_VQ) | F(CTRL_RX) | F(CTRL_MAC_ADDR) |              \
     F(GUEST_ANNOUNCE) | F(CTRL_GUEST_OFFLOADS))

/* A feature and what it needs (§5.1.3.1). */
static const struct {
    uint64_t feature;
    uint64_t needs_any;
} deps[] = {
    {F(GUEST_TSO4), F(GUEST_CSUM)},
    {F(GUEST_TSO6), F(GUEST_CSUM)},
    {F(GUEST_UFO), F(GUEST_CSUM)},
    {F(GUEST_USO4), F(GUEST_CSUM)},
    {F(GUEST_USO6), F(GUEST_CSUM)},
    {F(GUEST_ECN), F(GUEST_TSO4) | F(GUEST_TSO6)},
    {F(HOST_TSO4), F(CSUM)},
    {F(HOST_TSO6), F(CSUM)},
    {F(HOST_UFO), F(CSUM)},
    {F(HOST_USO), F(CSUM)},
    {F(HOST_ECN), F(HOST_TSO4) | F(HOST_TSO6)},
    {F(CTRL_RX), F(CTRL_VQ)},
    {F(CTRL_MAC_ADDR), F(CTRL_VQ)},
    {F(GUEST_ANNOUNCE), F(CTRL_VQ)},
    {F(CTRL_GUEST_OFFLOADS), F(CTRL_VQ)},
    {F(MQ), F(CTRL_VQ)},
};

static uint64_t offload_features(uint32_t offloads)
{
    uint64_t f = 0;
    if (!(offloads & NET_OFFLOAD_CSUM))
        return 0;
    f |= F(CSUM) | F(GUEST_CSUM);
    if (offloads & NET_OFFLOAD_TSO4)
        f |= F(HOST_TSO4) | F(GUEST_TSO4);
    if (offloads & NET_OFFLOAD_TSO6)
        f |= F(HOST_TSO6) | F(GUEST_TSO6);
    if ((offloads & NET_OFFLOAD_ECN) && (offloads & (NET_OFFLOAD_TSO4 | NET_OFFLOAD_TSO6)))
        f |= F(HOST_ECN) | F(GUEST_ECN);
    if (offloads & NET_OFFLOAD_USO)
        f |= F(HOST_USO) | F(GUEST_USO4) | F(GUEST_USO6);
    return f;
}

uint32_t virtio_net_guest_offloads(uint64_t features)
{
    uint32_t o = 0;
    if (!(features & F(GUEST_CSUM)))
        return 0;
    o |= NET_OFFLOAD_CSUM;
    if (features & F(GUEST_TSO4))
        o |= NET_OFFLOAD_TSO4;
    if (features & F(GUEST_TSO6))
        o |= NET_OFFLOAD_TSO6;
    if (features & F(GUEST_ECN))
        o |= NET_OFFLOAD_ECN;
    if (features & (F(GUEST_USO4) | F(GUEST_USO6)))
        o |= NET_OFFLOAD_USO;
    return o;
}

void virtio_net_filter_reset(struct virtio_net_filter *f)
{
    memset(f, 0, sizeof(*f));
    /* Until the driver sets a mode, everything is received (a driver without CTRL_RX never
     * does); Linux turns promiscuous mode off when it opens the interface. */
    f->is_promisc = true;
}

/* Recomputes the status field from the backend. vd->lock held. */
static uint16_t link_status(const struct virtio_net *vn)
{
    uint16_t st = vn->cfg.status & VIRTIO_NET_S_ANNOUNCE;
    if (net_backend_link_is_up(vn->be))
        st |= VIRTIO_NET_S_LINK_UP;
    return st;
}

static void net_read_config(struct virtio_dev *vd, size_t off, void *buf, size_t len)
{
    struct virtio_net *vn = container_of(vd, struct virtio_net, vd);
    vn->cfg.status = link_status(vn);
    memcpy(buf, (const uint8_t *)&vn->cfg + off, len);
}

static int net_activate(struct virtio_dev *vd)
{
    struct virtio_net *vn = container_of(vd, struct virtio_net, vd);
    uint64_t f = vd->driver_features;
    int ret;

    for (size_t i = 0; i < ARRAY_SIZE(deps); i++)
        if ((f & deps[i].feature) && !(f & deps[i].needs_any)) {
            log_ratelimited(LOG_WARN, "%s: driver accepted feature 0x%llx without its dependency",
                            vd->name, (unsigned long long)deps[i].feature);
            return -EINVAL;
        }
    vn->guest_offloads = virtio_net_guest_offloads(f);
    ret = net_backend_set_offloads(vn->be, vn->guest_offloads);
    if (ret < 0)
        log_warn("%s: backend refused offloads 0x%x: %d", vd->name, vn->guest_offloads, ret);
    vn->is_rx_waiting = false;
    ret = virtio_net_vhost_start(vn);
    if (ret < 0)
        return ret;
    net_backend_rx_ready(vn->be); /* frames held before the driver was ready */
    return 0;
}

static void net_reset(struct virtio_dev *vd)
{
    struct virtio_net *vn = container_of(vd, struct virtio_net, vd);
    virtio_net_vhost_stop(vn);
    virtio_net_filter_reset(&vn->filter);
    vn->cfg.status = 0;
    vn->is_rx_waiting = false;
    if (vn->cur_pairs != 1)
        (void)net_backend_set_queues(vn->be, 1);
    vn->cur_pairs = 1;
    if (vn->guest_offloads != 0 && net_backend_set_offloads(vn->be, 0) < 0)
        log_warn("%s: cannot turn the backend's offloads off", vd->name);
    vn->guest_offloads = 0;
}

static void net_queue_notify(struct virtio_dev *vd, unsigned qidx)
{
    struct virtio_net *vn = container_of(vd, struct virtio_net, vd);
    if (qidx == virtio_net_ctrl_queue(vn)) {
        virtio_net_process_ctrl(vn);
    } else if (vn->is_vhost) {
        /* a kick read just before the handover: it is the kernel's */
        virtio_queue_defer(vd, qidx);
    } else if (qidx % 2 == 0) {
        /* new receive buffers: frames the backend holds may come now */
        vn->is_rx_waiting = false;
        net_backend_rx_ready(vn->be);
    } else {
        virtio_net_process_tx(vn, qidx);
    }
}

static const struct virtio_dev_ops virtio_net_ops = {
    .features = BASE_FEATURES,
    .config_size = VIRTIO_NET_CONFIG_SIZE,
    .read_config = net_read_config,
    .activate = net_activate,
    .reset = net_reset,
    .queue_notify = net_queue_notify,
};

void virtio_net_link_changed(struct virtio_net *vn)
{
    struct virtio_dev *vd = &vn->vd;
    bool is_up;

    pthread_mutex_lock(&vd->lock);
    is_up = net_backend_link_is_up(vn->be);
    /* §5.1.4.2: a guest that announces itself is asked to when the link comes back */
    if (is_up && virtio_has_feature(vd, VIRTIO_NET_F_GUEST_ANNOUNCE))
        vn->cfg.status |= VIRTIO_NET_S_ANNOUNCE;
    vn->cfg.status = link_status(vn);
    /* no frames move while the link is down: the kernel's data path stops too */
    if (!is_up)
        virtio_net_vhost_stop(vn);
    else if (virtio_queue_is_live(vd, VIRTIO_NET_Q_TX) && virtio_net_vhost_start(vn) < 0)
        virtio_set_needs_reset(vd, "vhost-net could not start");
    if (vd->status & VIRTIO_STATUS_DRIVER_OK)
        virtio_notify_config(vd);
    pthread_mutex_unlock(&vd->lock);
}

static void on_link(void *opaque)
{
    virtio_net_link_changed(opaque);
}

/* net_fault_fn: the kernel's data path stopped on a broken ring. A misbehaving device is
 * marked broken and the machine goes on: NEEDS_RESET, and the rings are taken back so the
 * kernel touches them no more; the driver's reset starts afresh. */
static void on_fault(void *opaque, const char *why)
{
    struct virtio_net *vn = opaque;

    pthread_mutex_lock(&vn->vd.lock);
    if (vn->is_vhost) {
        virtio_set_needs_reset(&vn->vd, why);
        virtio_net_vhost_stop(vn);
    }
    pthread_mutex_unlock(&vn->vd.lock);
}

int virtio_net_create(const uint8_t mac[6], struct net_backend *be, const struct gmem *gm,
                      struct virtio_net **out)
{
    struct virtio_net *vn = calloc(1, sizeof(*vn));
    int ret;

    if (vn == NULL)
        return -ENOMEM;
    vn->npairs = net_backend_queues(be);
    if (vn->npairs > VIRTIO_NET_MAX_PAIRS) {
        free(vn);
        return -EINVAL;
    }
    vn->cur_pairs = 1;
    ret = virtio_dev_init(&vn->vd, "virtio-net", VIRTIO_ID_NET, &virtio_net_ops, gm,
                          2 * vn->npairs + 1, VIRTIO_NET_QUEUE_SIZE);
    if (ret < 0) {
        free(vn);
        return ret;
    }
    vn->be = be;
    memcpy(vn->cfg.mac, mac, sizeof(vn->cfg.mac));
    vn->cfg.max_virtqueue_pairs = (uint16_t)vn->npairs;
    if (vn->npairs > 1)
        vn->vd.host_features |= F(MQ);
    virtio_net_filter_reset(&vn->filter);
    vn->vd.host_features |= offload_features(be->offloads);
    /* counting goes on from the previous machine's device (guest reboot) */
    vn->stats = (struct virtio_net_stats){
        .rx_packets = be->dev_counters.rx_packets,
        .rx_bytes = be->dev_counters.rx_bytes,
        .tx_packets = be->dev_counters.tx_packets,
        .tx_bytes = be->dev_counters.tx_bytes,
        .rx_dropped = be->dev_counters.rx_dropped,
        .tx_dropped = be->dev_counters.tx_dropped,
        .errors = be->dev_counters.errors,
    };
    net_backend_attach(be, virtio_net_receive, on_link, vn);
    be->fault = on_fault;
    *out = vn;
    return 0;
}

void virtio_net_destroy(struct virtio_net *vn)
{
    if (vn == NULL)
        return;
    pthread_mutex_lock(&vn->vd.lock);
    virtio_net_vhost_stop(vn);
    pthread_mutex_unlock(&vn->vd.lock);
    if (vn->be->opaque == vn) {
        vn->be->dev_counters = (struct net_dev_counters){
            .rx_packets = vn->stats.rx_packets,
            .rx_bytes = vn->stats.rx_bytes,
            .tx_packets = vn->stats.tx_packets,
            .tx_bytes = vn->stats.tx_bytes,
            .rx_dropped = vn->stats.rx_dropped,
            .tx_dropped = vn->stats.tx_dropped,
            .errors = vn->stats.errors,
        };
        net_backend_detach(vn->be);
    }
    virtio_dev_fini(&vn->vd);
    free(vn);
}

void virtio_net_get_stats(struct virtio_net *vn, struct virtio_net_stats *out)
{
    pthread_mutex_lock(&vn->vd.lock);
    *out = vn->stats;
    pthread_mutex_unlock(&vn->vd.lock);
}

/* SPDX-License-Identifier: MIT */
/*
 * virtio-net's own saved state (docs/virtio.md "Saved state"), after the transport's and the
 * core's (virtio_pci_save) in the adapter's section. Version 1, little endian:
 *
 *   mac[6] status u16 max_virtqueue_pairs u16 queue_pairs u16 guest_offloads u32
 *   filter flags u8 (1 promiscuous, 2 all-multicast, 4 unicast overflow, 8 multicast
 *   overflow) nuni u8 nmulti u8 uni[nuni][6] multi[nmulti][6]
 *   counters u64 x 7 (rx_packets rx_bytes tx_packets tx_bytes rx_dropped tx_dropped errors)
 *
 * The link itself is not saved: LINK_UP is the backend's at load time. Everything read back is
 * checked as the guest's own commands are (offloads the driver negotiated and the backend has,
 * table sizes, known bits).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define LOG_TAG "virtio-net"
#include "base/log.h"
#include "base/statefile.h"
#include "dev/virtio/virtio_net.h"
#include "net/net.h"

#define FL_PROMISC 1u
#define FL_ALLMULTI 2u
#define FL_UNI_OVERFLOW 4u
#define FL_MULTI_OVERFLOW 8u

int virtio_net_quiesce(struct virtio_net *vn)
{
    struct virtio_dev *vd = &vn->vd;
    int ret = 0;

    pthread_mutex_lock(&vd->lock);
    virtio_net_vhost_stop(vn);
    for (unsigned q = 0; q < 2 * vn->npairs; q++) {
        const struct virtq *vq = &vd->queues[q].vq;
        if (vq->is_ready && !vq->is_broken && vq->last_avail_idx != vq->used_idx)
            ret = -EBUSY; /* the kernel kept chains it had not returned */
    }
    pthread_mutex_unlock(&vd->lock);
    return ret;
}

static void put_counters(struct sf_buf *b, const struct virtio_net_stats *s)
{
    const uint64_t v[] = {s->rx_packets, s->rx_bytes,   s->tx_packets, s->tx_bytes,
                          s->rx_dropped, s->tx_dropped, s->errors};
    for (size_t i = 0; i < ARRAY_SIZE(v); i++)
        sf_put_u64(b, v[i]);
}

void virtio_net_save(struct virtio_net *vn, struct sf_buf *b)
{
    const struct virtio_net_filter *f = &vn->filter;

    pthread_mutex_lock(&vn->vd.lock);
    sf_put_bytes(b, vn->cfg.mac, sizeof(vn->cfg.mac));
    sf_put_u16(b, vn->cfg.status);
    sf_put_u16(b, vn->cfg.max_virtqueue_pairs);
    sf_put_u16(b, (uint16_t)vn->cur_pairs);
    sf_put_u32(b, vn->guest_offloads);
    sf_put_u8(b, (uint8_t)((f->is_promisc ? FL_PROMISC : 0) | (f->is_allmulti ? FL_ALLMULTI : 0) |
                           (f->is_uni_overflow ? FL_UNI_OVERFLOW : 0) |
                           (f->is_multi_overflow ? FL_MULTI_OVERFLOW : 0)));
    sf_put_u8(b, (uint8_t)f->nuni);
    sf_put_u8(b, (uint8_t)f->nmulti);
    sf_put_bytes(b, f->uni, (size_t)f->nuni * 6);
    sf_put_bytes(b, f->multi, (size_t)f->nmulti * 6);
    put_counters(b, &vn->stats);
    pthread_mutex_unlock(&vn->vd.lock);
}

/* The filter, read and checked into (f) (a scratch copy). */
static int load_filter(struct sf_in *in, struct virtio_net_filter *f)
{
    uint8_t flags = sf_get_u8(in);

    memset(f, 0, sizeof(*f));
    f->nuni = sf_get_u8(in);
    f->nmulti = sf_get_u8(in);
    if (in->bad || (flags & ~0xfu) || f->nuni > VIRTIO_NET_MAC_TABLE_ENTRIES ||
        f->nmulti > VIRTIO_NET_MAC_TABLE_ENTRIES)
        return -EINVAL;
    f->is_promisc = flags & FL_PROMISC;
    f->is_allmulti = flags & FL_ALLMULTI;
    f->is_uni_overflow = flags & FL_UNI_OVERFLOW;
    f->is_multi_overflow = flags & FL_MULTI_OVERFLOW;
    sf_get_bytes(in, f->uni, (size_t)f->nuni * 6);
    sf_get_bytes(in, f->multi, (size_t)f->nmulti * 6);
    return in->bad ? -EINVAL : 0;
}

static int load_locked(struct virtio_net *vn, struct sf_in *in, struct virtio_net_filter *f)
{
    struct virtio_dev *vd = &vn->vd;
    uint8_t mac[6];
    uint16_t status, max_pairs, pairs;
    uint32_t offloads;
    uint64_t c[7];

    sf_get_bytes(in, mac, sizeof(mac));
    status = sf_get_u16(in);
    max_pairs = sf_get_u16(in);
    pairs = sf_get_u16(in);
    offloads = sf_get_u32(in);
    if (in->bad || (status & ~(VIRTIO_NET_S_LINK_UP | VIRTIO_NET_S_ANNOUNCE)) ||
        max_pairs != vn->cfg.max_virtqueue_pairs || pairs < 1 || pairs > vn->npairs ||
        (pairs > 1 && !virtio_has_feature(vd, VIRTIO_NET_F_MQ)) ||
        (offloads & ~(virtio_net_guest_offloads(vd->driver_features) & vn->be->offloads)) ||
        load_filter(in, f) < 0)
        return -EINVAL;
    for (size_t i = 0; i < ARRAY_SIZE(c); i++)
        c[i] = sf_get_u64(in);
    if (in->bad)
        return -EINVAL;
    memcpy(vn->cfg.mac, mac, sizeof(mac));
    vn->cfg.status = status & VIRTIO_NET_S_ANNOUNCE;
    vn->filter = *f;
    vn->stats = (struct virtio_net_stats){c[0], c[1], c[2], c[3], c[4], c[5], c[6]};
    if (offloads != vn->guest_offloads && net_backend_set_offloads(vn->be, offloads) < 0)
        log_warn("%s: backend refused the saved offloads 0x%x", vd->name, offloads);
    vn->guest_offloads = offloads;
    if (pairs != vn->cur_pairs && net_backend_set_queues(vn->be, pairs) < 0)
        log_warn("%s: backend refused %u queue pairs", vd->name, pairs);
    vn->cur_pairs = pairs;
    return 0;
}

int virtio_net_load(struct virtio_net *vn, struct sf_in *in)
{
    struct virtio_net_filter *f = malloc(sizeof(*f));
    int ret;

    if (f == NULL)
        return -ENOMEM;
    pthread_mutex_lock(&vn->vd.lock);
    ret = load_locked(vn, in, f);
    pthread_mutex_unlock(&vn->vd.lock);
    free(f);
    if (ret < 0)
        log_error("%s: the saved adapter state is invalid", vn->vd.name);
    return ret;
}

void virtio_net_resume(struct virtio_net *vn)
{
    /* an interrupt the kernel's data path raised just before the save may not be in the saved
     * state: one more, spurious at worst, makes the driver look at its rings */
    pthread_mutex_lock(&vn->vd.lock);
    for (unsigned q = 0; q < 2 * vn->npairs; q++)
        virtio_queue_interrupt(&vn->vd, q);
    pthread_mutex_unlock(&vn->vd.lock);
}

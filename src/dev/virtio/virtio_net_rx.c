/* SPDX-License-Identifier: MIT */
/*
 * virtio-net receive path (virtio 1.2 §5.1.6.3, §5.1.6.4): the receive filter of the control
 * queue's RX mode and MAC tables (§5.1.6.5.1, §5.1.6.5.2), then the frame is written as a
 * 12-byte header and the data into one receive buffer, or with VIRTIO_NET_F_MRG_RXBUF into as
 * many as it needs, the first header's num_buffers saying how many. When the ring has too few
 * buffers for a frame the chains taken are given back (virtio_queue_unpop), the device asks for a
 * kick at the next buffer and the backend holds the frame (-EAGAIN) until the kick.
 */
#include "dev/virtio/virtio_net.h"

#include <errno.h>
#include <string.h>

#define LOG_TAG "virtio-net"
#include "base/log.h"
#include "net/net.h"

/* The header's pieces in guest memory: at most one per byte. */
#define HDR_IOV_MAX VIRTIO_NET_HDR_BYTES

static bool mac_in(const uint8_t (*table)[6], unsigned n, const uint8_t *mac)
{
    for (unsigned i = 0; i < n; i++)
        if (memcmp(table[i], mac, 6) == 0)
            return true;
    return false;
}

/* §5.1.6.5.1/2: whether the driver wants a frame sent to (dst). */
static bool accept_dst(const struct virtio_net *vn, const uint8_t *dst)
{
    static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    const struct virtio_net_filter *f = &vn->filter;

    if (f->is_promisc || memcmp(dst, bcast, 6) == 0)
        return true;
    if (dst[0] & 1)
        return f->is_allmulti || f->is_multi_overflow || mac_in(f->multi, f->nmulti, dst);
    return memcmp(dst, vn->cfg.mac, 6) == 0 || f->is_uni_overflow || mac_in(f->uni, f->nuni, dst);
}

/* Whether header (h) only uses what the guest accepted (guest_offloads). */
static bool hdr_allowed(const struct virtio_net *vn, const struct net_hdr *h)
{
    uint32_t o = vn->guest_offloads;
    uint8_t gso = h->gso_type & (uint8_t)~VIRTIO_NET_HDR_GSO_ECN;

    /* DATA_VALID is advice (a tap sets it whatever the offloads): complete() clears it for a
     * guest without GUEST_CSUM; a partial checksum it could not finish is another matter */
    if ((h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) && !(o & NET_OFFLOAD_CSUM))
        return false;
    if ((h->gso_type & VIRTIO_NET_HDR_GSO_ECN) && !(o & NET_OFFLOAD_ECN))
        return false;
    switch (gso) {
    case VIRTIO_NET_HDR_GSO_NONE:
        return true;
    case VIRTIO_NET_HDR_GSO_TCPV4:
        return (o & NET_OFFLOAD_TSO4) != 0;
    case VIRTIO_NET_HDR_GSO_TCPV6:
        return (o & NET_OFFLOAD_TSO6) != 0;
    case VIRTIO_NET_HDR_GSO_UDP_L4:
        return (o & NET_OFFLOAD_USO) != 0;
    default:
        return false;
    }
}

struct rx {
    struct virtio_net *vn;
    unsigned qidx; /* the receive queue */
    const uint8_t *frame;
    size_t len;       /* frame bytes */
    size_t done;      /* frame bytes written */
    unsigned nchains; /* chains taken */
    struct iovec hdr_iov[HDR_IOV_MAX];
    int hdr_cnt;
};

/* Gives every chain taken for the frame back to the ring. */
static void give_back(struct rx *r)
{
    virtio_queue_unpop(&r->vn->vd, r->qidx, r->nchains);
    r->nchains = 0;
}

/* Drops the frame, returning the chains taken as empty (so a ring of buffers that can never
 * hold it does not stall the queue). */
static void drop_used(struct rx *r, bool is_guest_error)
{
    struct virtio_net *vn = r->vn;
    for (unsigned i = 0; i < r->nchains; i++)
        virtio_queue_push(&vn->vd, r->qidx, vn->rx_heads[i], 0);
    if (r->nchains > 0)
        virtio_queue_notify(&vn->vd, r->qidx);
    vn->stats.rx_dropped++;
    if (is_guest_error)
        vn->stats.errors++;
}

/*
 * Fills chain (c): the header slot first when it is the frame's first chain, then frame bytes.
 * Returns 0, or -EINVAL when the chain breaks a rule (too small for the header).
 */
static int fill_chain(struct rx *r, struct virtio_chain *c)
{
    struct virtio_net *vn = r->vn;
    bool is_mrg = virtio_has_feature(&vn->vd, VIRTIO_NET_F_MRG_RXBUF);
    size_t n;

    if (r->nchains == 0) {
        r->hdr_cnt = iov_iter_slice(&c->writer, VIRTIO_NET_HDR_BYTES, r->hdr_iov, HDR_IOV_MAX);
        if (r->hdr_cnt < 0)
            return -EINVAL;
    }
    if (!is_mrg && iov_iter_left(&c->writer) < r->len)
        return -EINVAL; /* one buffer must hold the whole frame */
    n = iov_iter_from_buf(&c->writer, r->frame + r->done, r->len - r->done);
    r->done += n;
    vn->rx_heads[r->nchains] = c->head;
    vn->rx_lens[r->nchains] = virtio_chain_used_len(c); /* the header slot included */
    r->nchains++;
    return 0;
}

/* Takes chains until the frame is in. Returns 0, -EAGAIN (too few buffers, given back), -EINVAL
 * (a buffer breaks a rule; the chains taken are still held) or -EIO (the ring is broken). */
static int take_chains(struct rx *r)
{
    struct virtio_chain c;
    int ret;

    while (r->nchains == 0 || r->done < r->len) {
        if (r->nchains == VIRTIO_NET_QUEUE_SIZE)
            return -EINVAL;
        ret = virtio_queue_pop_chain(&r->vn->vd, r->qidx, &c);
        if (ret < 0)
            return -EIO;
        if (ret == 0) {
            give_back(r);
            return -EAGAIN;
        }
        if (fill_chain(r, &c) < 0) {
            r->vn->rx_heads[r->nchains++] = c.head;
            return -EINVAL;
        }
    }
    return 0;
}

/* Writes (hdr) with num_buffers and returns the chains to the driver. */
static void complete(struct rx *r, const struct net_hdr *hdr)
{
    struct virtio_net *vn = r->vn;
    struct net_hdr h = *hdr;

    h.num_buffers = (uint16_t)r->nchains;
    if (!virtio_has_feature(&vn->vd, VIRTIO_NET_F_GUEST_CSUM))
        h.flags = 0;
    iov_from_buf(r->hdr_iov, r->hdr_cnt, 0, &h, sizeof(h));
    for (unsigned i = 0; i < r->nchains; i++)
        virtio_queue_push(&vn->vd, r->qidx, vn->rx_heads[i], vn->rx_lens[i]);
    virtio_queue_notify(&vn->vd, r->qidx);
    vn->stats.rx_packets++;
    vn->stats.rx_bytes += r->len;
}

/* One frame for the guest, on the receive queue of pair (queue) (folded onto the pairs the
 * driver uses). vd->lock held. */
static int receive_locked(struct virtio_net *vn, unsigned queue, const struct net_hdr *hdr,
                          const uint8_t *frame, size_t len)
{
    struct rx r = {.vn = vn, .qidx = 2 * (queue % vn->cur_pairs), .frame = frame, .len = len};
    int ret;

    if (vn->is_vhost || !virtio_queue_is_live(&vn->vd, r.qidx) || !net_backend_link_is_up(vn->be) ||
        len < NET_FRAME_MIN_BYTES || len > NET_FRAME_MAX_BYTES || !hdr_allowed(vn, hdr)) {
        vn->stats.rx_dropped++;
        return 0;
    }
    if (!accept_dst(vn, frame))
        return 0; /* filtered out: the driver asked for it */
    for (int tries = 0; tries < 2; tries++) {
        ret = take_chains(&r);
        if (ret != -EAGAIN)
            break;
        /* ask for a kick at the next buffer; look once more if some came meanwhile */
        if (!virtio_queue_enable_notify_more(&vn->vd, r.qidx)) {
            vn->is_rx_waiting = true;
            return -EAGAIN;
        }
    }
    switch (ret) {
    case 0:
        complete(&r, hdr);
        return 0;
    case -EAGAIN:
        vn->is_rx_waiting = true;
        return -EAGAIN;
    case -EINVAL:
        log_ratelimited(LOG_WARN, "%s: receive buffers too small for a %zu-byte frame", vn->vd.name,
                        len);
        drop_used(&r, true);
        return 0;
    default: /* the ring is broken: the device is in NEEDS_RESET */
        vn->stats.rx_dropped++;
        return 0;
    }
}

int virtio_net_receive(void *opaque, unsigned queue, const struct net_hdr *hdr, const void *frame,
                       size_t len)
{
    struct virtio_net *vn = opaque;
    int ret;

    pthread_mutex_lock(&vn->vd.lock);
    ret = receive_locked(vn, queue, hdr, frame, len);
    pthread_mutex_unlock(&vn->vd.lock);
    return ret;
}

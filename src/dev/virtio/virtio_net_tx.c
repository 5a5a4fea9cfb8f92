/* SPDX-License-Identifier: MIT */
/*
 * virtio-net transmit path (virtio 1.2 §5.1.6.2): each chain is a 12-byte header and one frame
 * in its device-readable part. The header is checked against the negotiated offloads (§5.1.6.2.1:
 * NEEDS_CSUM only with VIRTIO_NET_F_CSUM and a checksum position inside the frame, each GSO
 * type only with its HOST_* feature and a segment size), the frame against NET_FRAME_MIN_BYTES
 * and NET_FRAME_MAX_BYTES, and the frame's pieces go to the backend without a copy. A chain
 * too short for the header cannot be a frame at all: NEEDS_RESET. The core's drain stops after
 * VIRTIO_QUEUE_BUDGET chains and defers the rest, so a guest that keeps transmitting cannot
 * starve the disks or the control socket.
 */
#include "dev/virtio/virtio_net.h"

#include <string.h>

#define LOG_TAG "virtio-net"
#include "base/ckd.h"
#include "base/log.h"
#include "net/net.h"

/* Whether header (h) of a frame of (len) bytes asks only for what was negotiated. */
static bool hdr_ok(const struct virtio_dev *vd, const struct net_hdr *h, uint64_t len)
{
    uint8_t gso = h->gso_type & (uint8_t)~VIRTIO_NET_HDR_GSO_ECN;
    uint32_t end;

    if (h->flags & ~VIRTIO_NET_HDR_F_NEEDS_CSUM)
        return false;
    if (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
        if (!virtio_has_feature(vd, VIRTIO_NET_F_CSUM))
            return false;
        if (ckd_add(&end, (uint32_t)h->csum_start, (uint32_t)h->csum_offset) ||
            ckd_add(&end, end, 2u) || end > len)
            return false;
    }
    if ((h->gso_type & VIRTIO_NET_HDR_GSO_ECN) && !virtio_has_feature(vd, VIRTIO_NET_F_HOST_ECN))
        return false;
    switch (gso) {
    case VIRTIO_NET_HDR_GSO_NONE:
        return true;
    case VIRTIO_NET_HDR_GSO_TCPV4:
        if (!virtio_has_feature(vd, VIRTIO_NET_F_HOST_TSO4))
            return false;
        break;
    case VIRTIO_NET_HDR_GSO_TCPV6:
        if (!virtio_has_feature(vd, VIRTIO_NET_F_HOST_TSO6))
            return false;
        break;
    case VIRTIO_NET_HDR_GSO_UDP_L4:
        if (!virtio_has_feature(vd, VIRTIO_NET_F_HOST_USO))
            return false;
        break;
    default:
        return false;
    }
    /* a segmented frame needs a segment size and the checksum the host fills in */
    return h->gso_size != 0 && (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM);
}

static enum virtio_chain_ret transmit(struct virtio_dev *vd, unsigned qidx, struct virtio_chain *c)
{
    struct virtio_net *vn = container_of(vd, struct virtio_net, vd);
    struct net_hdr hdr;
    uint64_t len;
    int n;
    (void)qidx;

    if (iov_iter_to_buf(&c->reader, &hdr, sizeof(hdr)) != sizeof(hdr)) {
        virtio_set_needs_reset(vd, "transmit chain shorter than the virtio-net header");
        return VIRTIO_CHAIN_BROKEN;
    }
    len = iov_iter_left(&c->reader);
    if (len < NET_FRAME_MIN_BYTES || len > NET_FRAME_MAX_BYTES || !hdr_ok(vd, &hdr, len)) {
        log_ratelimited(LOG_WARN, "%s: dropped a %llu-byte frame (bad length or header)", vd->name,
                        (unsigned long long)len);
        vn->stats.tx_dropped++;
        vn->stats.errors++;
        return VIRTIO_CHAIN_DONE;
    }
    if (!net_backend_link_is_up(vn->be)) {
        vn->stats.tx_dropped++;
        return VIRTIO_CHAIN_DONE;
    }
    /* cannot fail: the frame is what is left and the chain has at most VIRTQ_CHAIN_MAX pieces */
    n = iov_iter_slice(&c->reader, len, vn->tx_iov, VIRTQ_CHAIN_MAX);
    if (n < 0 || net_backend_send(vn->be, &hdr, vn->tx_iov, (unsigned)n) < 0) {
        vn->stats.tx_dropped++;
        return VIRTIO_CHAIN_DONE;
    }
    vn->stats.tx_packets++;
    vn->stats.tx_bytes += len;
    return VIRTIO_CHAIN_DONE; /* used length 0: the device wrote nothing */
}

void virtio_net_process_tx(struct virtio_net *vn, unsigned qidx)
{
    virtio_queue_drain(&vn->vd, qidx, transmit);
}

/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for virtio-net (dev/virtio/virtio_net*.c, virtio 1.2 §5.1.6): the transmit
 * path, the control queue and the receive path over guest-made rings, with a backend that
 * swallows frames. The input describes one queue of 16 descriptors compactly, as fuzz_blk_req.c
 * does, and which queue it is:
 *
 *   flags u8 (bit0 EVENT_IDX, bit1 MRG_RXBUF, bit2 offloads, bit3 reset at the end,
 *             bits 4-5 queue: 0 receive, 1 transmit, 2 control) | ndesc u8 | navail u8 |
 *   ndesc x {addr u16, len u16, flags u8, next u8} | navail x head u8 | payload...
 *
 * Descriptor addresses are offsets into the payload area at DATA_GPA. For the receive queue the
 * payload is also handed to the device as a frame (its first 12 bytes as the header), once
 * before and once after a kick.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "core/gmem.h"
#include "fuzz_ring.h"
#include "dev/virtio/virtio_net.h"
#include "net/net.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct gmem *gm;

static int sink_send(struct net_backend *be, const struct net_hdr *hdr, const struct iovec *iov,
                     unsigned cnt)
{
    uint8_t x = 0;
    (void)be;
    (void)hdr;
    for (unsigned i = 0; i < cnt; i++) /* touch every byte: the pointers must be valid */
        for (size_t j = 0; j < iov[i].iov_len; j++)
            x ^= ((const uint8_t *)iov[i].iov_base)[j];
    __asm__ volatile("" : : "r"(x)); /* keep the reads */
    return 0;
}

static void sink_close(struct net_backend *be)
{
    (void)be;
}

static const struct net_backend_ops sink_ops = {.send = sink_send, .close = sink_close};

static void deliver(struct net_backend *be, const uint8_t *p, size_t len)
{
    struct net_hdr hdr = {0};
    if (be->rx == NULL)
        return;
    if (len >= sizeof(hdr)) {
        memcpy(&hdr, p, sizeof(hdr));
        p += sizeof(hdr);
        len -= sizeof(hdr);
    }
    (void)be->rx(be->opaque, 0, &hdr, p, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t mac[6] = {0x52, 0x54, 0, 0x12, 0x34, 0x56};
    struct net_backend be = {
        .ops = &sink_ops, .type = "sink", .has_carrier = true, .is_admin_up = true};
    struct virtio_net *vn;
    unsigned q;
    size_t pos, plen = 0;

    if (gm == NULL) {
        log_set_level(LOG_ERROR); /* guest-triggered warnings are expected here */
        if (gmem_create(&gm) != 0 || gmem_add_region(gm, 0, RAM_BYTES, "ram", false, NULL) != 0)
            abort();
    }
    if (size < 3)
        return 0;
    q = (data[0] >> 4) % VIRTIO_NET_NUM_QUEUES;
    memset(gmem_ptr(gm, 0, 0x20000), 0, 0x20000);
    if (data[0] & 4)
        be.offloads = NET_OFFLOAD_CSUM | NET_OFFLOAD_TSO4 | NET_OFFLOAD_TSO6 | NET_OFFLOAD_ECN |
                      NET_OFFLOAD_USO;
    if (virtio_net_create(mac, &be, gm, &vn) != 0)
        abort();
    fuzz_ring_bringup(&vn->vd,
                      (vn->vd.host_features & ~(VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX) |
                                                VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF))) |
                          ((data[0] & 1) ? VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX) : 0) |
                          ((data[0] & 2) ? VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF) : 0),
                      VIRTIO_NET_NUM_QUEUES);
    pos = fuzz_ring_load(gm, RING_GPA + q * RING_STRIDE, data, size);
    if (pos < size) {
        plen = MIN(size - pos, (size_t)0x10000);
        memcpy(gmem_ptr(gm, DATA_GPA, 0x10000), data + pos, plen);
    }
    if (q == VIRTIO_NET_Q_RX)
        deliver(&be, data + pos, plen);
    virtio_queue_kick(&vn->vd, q);
    if (q == VIRTIO_NET_Q_RX)
        deliver(&be, data + pos, plen);
    if (data[0] & 8) {
        pthread_mutex_lock(&vn->vd.lock);
        virtio_write_status(&vn->vd, 0);
        pthread_mutex_unlock(&vn->vd.lock);
    }
    virtio_net_destroy(vn);
    return 0;
}

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
#include "dev/virtio/virtio_net.h"
#include "net/net.h"

#define RAM_BYTES (1ULL << 20)
#define RING_GPA 0x1000ULL
#define RING_STRIDE 0x1000ULL
#define DATA_GPA 0x10000ULL
#define QSIZE 16

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

static void put_desc(uint64_t ring, unsigned i, uint64_t addr, uint32_t len, uint16_t flags,
                     uint16_t next)
{
    uint8_t *d = gmem_ptr(gm, ring + 16ULL * i, 16);
    memcpy(d, &addr, 8);
    memcpy(d + 8, &len, 4);
    memcpy(d + 12, &flags, 2);
    memcpy(d + 14, &next, 2);
}

static void bringup(struct virtio_dev *vd, uint64_t features)
{
    pthread_mutex_lock(&vd->lock);
    virtio_write_status(vd, VIRTIO_STATUS_ACKNOWLEDGE);
    virtio_write_status(vd, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    vd->driver_feature_select = 0;
    virtio_write_driver_features(vd, (uint32_t)features);
    vd->driver_feature_select = 1;
    virtio_write_driver_features(vd, (uint32_t)(features >> 32));
    virtio_write_status(vd, 0x0b);
    for (unsigned q = 0; q < VIRTIO_NET_NUM_QUEUES; q++) {
        uint64_t ring = RING_GPA + q * RING_STRIDE;
        vd->queues[q].size = QSIZE;
        vd->queues[q].desc_gpa = ring;
        vd->queues[q].driver_gpa = ring + 16 * QSIZE;
        vd->queues[q].device_gpa = ring + 0x400;
        virtio_queue_enable(vd, q);
    }
    virtio_write_status(vd, 0x0f);
    pthread_mutex_unlock(&vd->lock);
}

static size_t load_ring(uint64_t ring, const uint8_t *data, size_t size)
{
    unsigned ndesc = data[1] % (QSIZE + 1), navail = data[2] % (QSIZE + 1);
    size_t pos = 3;
    uint16_t *avail = gmem_ptr(gm, ring + 16 * QSIZE, 6 + 2 * QSIZE);

    for (unsigned i = 0; i < ndesc && pos + 6 <= size; i++, pos += 6) {
        uint16_t addr = (uint16_t)(data[pos] | data[pos + 1] << 8);
        uint16_t len = (uint16_t)(data[pos + 2] | data[pos + 3] << 8);
        put_desc(ring, i, DATA_GPA + addr, len, data[pos + 4] & 7, data[pos + 5]);
    }
    for (unsigned i = 0; i < navail && pos < size; i++, pos++)
        avail[2 + i] = data[pos];
    avail[1] = (uint16_t)navail;
    return pos;
}

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
    bringup(&vn->vd, (vn->vd.host_features &
                      ~(VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX) | VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF))) |
                         ((data[0] & 1) ? VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX) : 0) |
                         ((data[0] & 2) ? VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF) : 0));
    pos = load_ring(RING_GPA + q * RING_STRIDE, data, size);
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

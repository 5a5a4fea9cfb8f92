/* SPDX-License-Identifier: MIT */
/* Implementation of fuzz_ring.h. */
#include "fuzz_ring.h"

#include <pthread.h>
#include <string.h>

static void put_desc(struct gmem *gm, uint64_t ring, unsigned i, uint64_t addr, uint32_t len,
                     uint16_t flags, uint16_t next)
{
    uint8_t *d = gmem_ptr(gm, ring + 16ULL * i, 16);
    memcpy(d, &addr, 8);
    memcpy(d + 8, &len, 4);
    memcpy(d + 12, &flags, 2);
    memcpy(d + 14, &next, 2);
}

void fuzz_ring_bringup(struct virtio_dev *vd, uint64_t features, unsigned nq)
{
    pthread_mutex_lock(&vd->lock);
    virtio_write_status(vd, VIRTIO_STATUS_ACKNOWLEDGE);
    virtio_write_status(vd, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    vd->driver_feature_select = 0;
    virtio_write_driver_features(vd, (uint32_t)features);
    vd->driver_feature_select = 1;
    virtio_write_driver_features(vd, (uint32_t)(features >> 32));
    virtio_write_status(vd, 0x0b);
    for (unsigned q = 0; q < nq; q++) {
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

size_t fuzz_ring_load(struct gmem *gm, uint64_t ring, const uint8_t *data, size_t size)
{
    unsigned ndesc = data[1] % (QSIZE + 1), navail = data[2] % (QSIZE + 1);
    size_t pos = 3;
    uint16_t *avail = gmem_ptr(gm, ring + 16 * QSIZE, 6 + 2 * QSIZE);

    for (unsigned i = 0; i < ndesc && pos + 6 <= size; i++, pos += 6) {
        uint16_t addr = (uint16_t)(data[pos] | data[pos + 1] << 8);
        uint16_t len = (uint16_t)(data[pos + 2] | data[pos + 3] << 8);
        put_desc(gm, ring, i, DATA_GPA + addr, len, data[pos + 4] & 7, data[pos + 5]);
    }
    for (unsigned i = 0; i < navail && pos < size; i++, pos++)
        avail[2 + i] = data[pos];
    avail[1] = (uint16_t)navail;
    return pos;
}

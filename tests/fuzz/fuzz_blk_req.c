/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for virtio-blk request parsing (dev/virtio/virtio_blk_req.c, virtio 1.2 §5.2.6)
 * on top of the virtqueue walker, with the in-memory blk_mem backend. The input describes a
 * queue of 16 descriptors compactly, so the fuzzer reaches request parsing quickly:
 *
 *   flags u8 (bit0 read-only disk, bit1 EVENT_IDX) | ndesc u8 | navail u8 |
 *   ndesc x {addr u16, len u16, flags u8, next u8} | navail x head u8 | payload...
 *
 * Descriptor addresses are offsets into the payload area at DATA_GPA (so headers, segment
 * arrays and data come from the payload). Requests are completed by the fake backend, the
 * device is reset with requests in flight every other round, then destroyed.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "blk_mem.h"
#include "base/log.h"
#include "core/gmem.h"
#include "dev/virtio/virtio_blk.h"

#define RAM_BYTES (1ULL << 20)
#define RING_GPA 0x1000ULL
#define DATA_GPA 0x10000ULL
#define QSIZE 16
#define DISK_BYTES (64u << 10)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct gmem *gm;

static void put_desc(unsigned i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
    uint8_t *d = gmem_ptr(gm, RING_GPA + 16ULL * i, 16);
    memcpy(d, &addr, 8);
    memcpy(d + 8, &len, 4);
    memcpy(d + 12, &flags, 2);
    memcpy(d + 14, &next, 2);
}

static void bringup(struct virtio_dev *vd, uint64_t features)
{
    struct virtio_queue *q = &vd->queues[0];
    pthread_mutex_lock(&vd->lock);
    virtio_write_status(vd, VIRTIO_STATUS_ACKNOWLEDGE);
    virtio_write_status(vd, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    vd->driver_feature_select = 0;
    virtio_write_driver_features(vd, (uint32_t)features);
    vd->driver_feature_select = 1;
    virtio_write_driver_features(vd, (uint32_t)(features >> 32));
    virtio_write_status(vd, 0x0b);
    q->size = QSIZE;
    q->desc_gpa = RING_GPA;
    q->driver_gpa = RING_GPA + 16 * QSIZE;
    q->device_gpa = RING_GPA + 0x400;
    virtio_queue_enable(vd, 0);
    virtio_write_status(vd, 0x0f);
    pthread_mutex_unlock(&vd->lock);
}

static size_t load_ring(const uint8_t *data, size_t size)
{
    unsigned ndesc = data[1] % (QSIZE + 1), navail = data[2] % (QSIZE + 1);
    size_t pos = 3;
    uint16_t *avail = gmem_ptr(gm, RING_GPA + 16 * QSIZE, 6 + 2 * QSIZE);

    for (unsigned i = 0; i < ndesc && pos + 6 <= size; i++, pos += 6) {
        uint16_t addr = (uint16_t)(data[pos] | data[pos + 1] << 8);
        uint16_t len = (uint16_t)(data[pos + 2] | data[pos + 3] << 8);
        put_desc(i, DATA_GPA + addr, len, data[pos + 4] & 7, data[pos + 5]);
    }
    for (unsigned i = 0; i < navail && pos < size; i++, pos++)
        avail[2 + i] = data[pos];
    avail[1] = (uint16_t)navail;
    return pos;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct virtio_blk_opts opts = {.serial = "fuzz"};
    struct virtio_blk *vb;
    struct blk *disk;
    size_t pos;

    if (gm == NULL) {
        log_set_level(LOG_ERROR); /* guest-triggered warnings are expected here */
        if (gmem_create(&gm) != 0 || gmem_add_region(gm, 0, RAM_BYTES, "ram", false, NULL) != 0)
            abort();
    }
    if (size < 3)
        return 0;
    memset(gmem_ptr(gm, 0, 0x20000), 0, 0x20000);
    disk = blk_mem_create(DISK_BYTES, data[0] & 1);
    if (virtio_blk_create(&opts, disk, gm, &vb) != 0)
        abort();
    bringup(&vb->vd, (vb->vd.host_features & ~VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX)) |
                         ((data[0] & 2) ? VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX) : 0));
    pos = load_ring(data, size);
    if (pos < size)
        memcpy(gmem_ptr(gm, DATA_GPA, 0x10000), data + pos, MIN(size - pos, (size_t)0x10000));
    virtio_queue_kick(&vb->vd, 0);
    if (data[0] & 4) {
        pthread_mutex_lock(&vb->vd.lock);
        virtio_write_status(&vb->vd, 0); /* reset with requests in flight */
        pthread_mutex_unlock(&vb->vd.lock);
    }
    blk_mem_complete(disk, 1000);
    virtio_queue_kick(&vb->vd, 0);
    blk_close(disk); /* completes the rest while vb is alive */
    virtio_blk_destroy(vb);
    return 0;
}

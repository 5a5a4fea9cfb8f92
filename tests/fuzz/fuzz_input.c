/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for virtio-input (dev/virtio/input.c, virtio 1.2 §5.8): configuration
 * writes and reads, and eventq or statusq over a guest-made ring, with host events sent before
 * and after the kick. The input, compactly as fuzz_net.c has it:
 *
 *   flags u8 (bit0 EVENT_IDX, bit1 tablet, bit2 reset at the end, bit4 statusq) | ndesc u8 |
 *   navail u8 | ndesc x {addr u16, len u16, flags u8, next u8} | navail x head u8 |
 *   nconf u8 | nconf x {off u8, len u8, val u32} | payload...
 *
 * Descriptor addresses are offsets into the payload area at DATA_GPA.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "core/gmem.h"
#include "dev/virtio/input.h"

#define RAM_BYTES (1ULL << 20)
#define RING_GPA 0x1000ULL
#define RING_STRIDE 0x1000ULL
#define DATA_GPA 0x10000ULL
#define QSIZE 16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct gmem *gm;

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
    for (unsigned q = 0; q < 2; q++) {
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

/* Config accesses: a write of (len) 1, 2 or 4 bytes at (off), then a read of the whole space. */
static size_t config_ops(struct virtio_dev *vd, const uint8_t *data, size_t pos, size_t size)
{
    unsigned n = pos < size ? data[pos++] % 16 : 0;
    pthread_mutex_lock(&vd->lock);
    for (unsigned i = 0; i < n && pos + 6 <= size; i++, pos += 6) {
        uint32_t val;
        unsigned len = 1u << (data[pos + 1] % 3);
        memcpy(&val, data + pos + 2, 4);
        virtio_write_config(vd, data[pos], val, len);
        for (size_t off = 0; off < 140; off++)
            (void)virtio_read_config(vd, off, 1);
    }
    pthread_mutex_unlock(&vd->lock);
    return pos;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct virtio_input_event ev[] = {
        {0x01, 30, 1}, {0x03, 0, 16000}, {0x03, 1, 99}, {0x02, 8, 0xffffffff}, {0, 0, 0}};
    struct virtio_input *vi;
    unsigned q;
    size_t pos, plen;

    if (gm == NULL) {
        log_set_level(LOG_ERROR); /* guest-triggered warnings are expected here */
        if (gmem_create(&gm) != 0 || gmem_add_region(gm, 0, RAM_BYTES, "ram", false, NULL) != 0)
            abort();
    }
    if (size < 3)
        return 0;
    q = (data[0] >> 4) & 1;
    memset(gmem_ptr(gm, 0, 0x20000), 0, 0x20000);
    if (virtio_input_create(gm, (data[0] & 2) ? VIRTIO_INPUT_TABLET : VIRTIO_INPUT_KEYBOARD, &vi) !=
        0)
        abort();
    bringup(&vi->vd, (vi->vd.host_features & ~VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX)) |
                         ((data[0] & 1) ? VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX) : 0));
    pos = load_ring(RING_GPA + q * RING_STRIDE, data, size);
    pos = config_ops(&vi->vd, data, pos, size);
    plen = pos < size ? MIN(size - pos, (size_t)0x10000) : 0;
    memcpy(gmem_ptr(gm, DATA_GPA, 0x10000), data + pos, plen);
    (void)virtio_input_send(vi, ev, 3);
    virtio_queue_kick(&vi->vd, q);
    for (unsigned i = 0; i < 100; i++) /* past the pending queue's bound */
        (void)virtio_input_send(vi, ev, sizeof(ev) / sizeof(ev[0]));
    if (data[0] & 4) {
        pthread_mutex_lock(&vi->vd.lock);
        virtio_write_status(&vi->vd, 0);
        pthread_mutex_unlock(&vi->vd.lock);
    }
    virtio_input_destroy(vi);
    return 0;
}

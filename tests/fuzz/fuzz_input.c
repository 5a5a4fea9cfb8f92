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
#include "fuzz_ring.h"
#include "dev/virtio/input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct gmem *gm;

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
    fuzz_ring_bringup(&vi->vd,
                      (vi->vd.host_features & ~VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX)) |
                          ((data[0] & 1) ? VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX) : 0),
                      2);
    pos = fuzz_ring_load(gm, RING_GPA + q * RING_STRIDE, data, size);
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

/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the split virtqueue walker (dev/virtio/virtq.c, virtio 1.2 §2.7): the
 * input is raw guest memory holding the three rings and the buffers, preceded by an 8-byte
 * preamble choosing the queue size, the negotiated ring features and the ring addresses. The
 * harness pops, pushes and asks for notifications until the queue is empty or broken; any
 * crash, sanitizer report or hang is a bug (the walker must reject everything malformed).
 *
 * Preamble: size_log2 u8 | flags u8 (bit0 EVENT_IDX, bit1 INDIRECT) | desc u16 | avail u16 |
 *           used u16   (addresses in 16-byte units inside the 1 MiB RAM)
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "core/gmem.h"
#include "dev/virtio/virtq.h"

#define RAM_BYTES (1ULL << 20)
#define IMAGE_BYTES (256u << 10)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct gmem *gm;
static struct iovec iov[VIRTQ_CHAIN_MAX];

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct virtq vq;
    struct virtq_elem elem = {.iov = iov, .iov_cap = VIRTQ_CHAIN_MAX};
    uint8_t *ram;
    uint16_t qsize;

    if (gm == NULL) {
        log_set_level(LOG_ERROR); /* guest-triggered warnings are expected here */
        if (gmem_create(&gm) != 0 || gmem_add_region(gm, 0, RAM_BYTES, "ram", false, NULL) != 0)
            abort();
    }
    if (size < 8)
        return 0;
    ram = gmem_ptr(gm, 0, IMAGE_BYTES);
    memset(ram, 0, IMAGE_BYTES);
    memcpy(ram, data + 8, MIN(size - 8, (size_t)IMAGE_BYTES));
    qsize = (uint16_t)(1u << (data[0] % 16));
    if (data[0] & 0x80)
        qsize = (uint16_t)(data[0] * 3); /* also try invalid sizes */
    if (virtq_init(&vq, gm, qsize, get16(data + 2) * 16ULL, get16(data + 4) * 16ULL,
                   get16(data + 6) * 16ULL, data[1] & 1, data[1] & 2) != 0)
        return 0;
    for (unsigned round = 0; round < 64; round++) {
        int ret;
        virtq_disable_notify(&vq);
        ret = virtq_pop(&vq, &elem);
        if (ret <= 0)
            break;
        /* touch every buffer: ASan checks the host pointers are real */
        for (unsigned i = 0; i < elem.n_readable + elem.n_writable; i++) {
            volatile uint8_t *p = iov[i].iov_base;
            p[0] = p[iov[i].iov_len - 1];
        }
        if (virtq_push(&vq, elem.head, (uint32_t)elem.writable_bytes) != 0)
            abort(); /* a ready, unbroken queue always accepts a popped head */
        (void)virtq_needs_notify(&vq);
        (void)virtq_enable_notify(&vq);
    }
    return 0;
}

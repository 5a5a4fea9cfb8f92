/* SPDX-License-Identifier: MIT */
/*
 * One popped descriptor chain as a device sees it (virtio 1.2 §2.7.4, §2.7.5): a reader over
 * the device-readable part and a writer over the device-writable part, both base/iov.h
 * iterators over host pointers that virtq_pop() already checked against guest RAM. A device
 * reads its header with iov_iter_to_buf(&c->reader, ...), hands data segments to a backend with
 * iov_iter_slice(), writes answers with iov_iter_from_buf(&c->writer, ...), and takes the
 * trailing status byte of a request (virtio-blk §5.2.6) with virtio_chain_take_status() before
 * writing anything. Reading or writing past a part's end is impossible: the iterators stop
 * there, and the device decides what a short chain means (an error status or NEEDS_RESET).
 *
 *   iov[0 .. n_readable)                      iov[n_readable .. n_readable + n_writable)
 *   | header | data ... |  <- reader          | data ... | status u8 |  <- writer, status
 *
 * The used length reported to the driver (§2.7.8) is what the writer wrote plus the status
 * byte when one was taken. Threading: a chain lives inside one call with vd->lock held.
 */
#ifndef BAREIRON_DEV_VIRTIO_VIRTIO_CHAIN_H
#define BAREIRON_DEV_VIRTIO_VIRTIO_CHAIN_H

#include <stdint.h>

#include "base/iov.h"
#include "dev/virtio/virtq.h"

struct virtio_chain {
    uint16_t head;
    struct iov_iter reader; /* device-readable part */
    struct iov_iter writer; /* device-writable part; writer.done bytes written so far */
    uint8_t *status;        /* set by virtio_chain_take_status */
};

/* Sets (c) up over popped element (e); both cursors at the start of their part. */
static inline void virtio_chain_init(struct virtio_chain *c, const struct virtq_elem *e)
{
    c->head = e->head;
    iov_iter_init(&c->reader, e->iov, e->n_readable);
    iov_iter_init(&c->writer, e->iov + e->n_readable, e->n_writable);
    c->status = NULL;
}

/*
 * Takes the last byte of the writable part as the chain's status byte: the writer stops before
 * it. Call it before writing anything. Returns the byte's host pointer, or NULL when the chain
 * has no writable byte left.
 */
static inline uint8_t *virtio_chain_take_status(struct virtio_chain *c)
{
    const struct iovec *last;

    if (iov_iter_left(&c->writer) == 0)
        return NULL;
    /* virtq_pop skips zero-length descriptors: the last entry holds the last byte */
    last = &c->writer.iov[c->writer.cnt - 1];
    iov_iter_truncate(&c->writer, 1);
    c->status = (uint8_t *)last->iov_base + last->iov_len - 1;
    return c->status;
}

/* The used length of (c) (§2.7.8): bytes written, plus the status byte if taken. */
static inline uint32_t virtio_chain_used_len(const struct virtio_chain *c)
{
    uint64_t n = c->writer.done + (c->status != NULL ? 1 : 0);
    return n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
}

#endif

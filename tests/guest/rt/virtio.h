/* SPDX-License-Identifier: MIT */
/*
 * The polling virtio-pci driver of the virtio payloads (rt/virtio_pci.c). The virtio 1.2
 * constants (status bits, feature bits, capability types, the common configuration layout,
 * virtio-blk request types and configuration offsets) come from the monitor's own
 * src/dev/virtio/virtio_spec.h, so the payloads and the devices they test cannot disagree.
 */
#ifndef BAREIRON_GUEST_VIRTIO_H
#define BAREIRON_GUEST_VIRTIO_H

#include "dev/virtio/virtio_spec.h" /* the constants the monitor uses too */
#include "rt.h"

/*
 * A polling modern virtio-pci driver core (rt/virtio_pci.c): one device at a time, one split
 * queue (queue 0) of VDEV_QUEUE_SIZE entries in static memory, interrupts never used.
 */
#define VDEV_QUEUE_SIZE 16
#define VDEV_NO_VECTOR 0xffff
/* Queues the runtime can drive (vdev_open_queues): virtio-net's receive, transmit, control. */
#define VDEV_MAX_QUEUES 3

struct vdev {
    uint16_t bdf;
    uint64_t common, notify, isr, devcfg; /* guest-physical addresses of the structures */
    uint32_t notify_mult;
    uint64_t features; /* negotiated */
    uint16_t qsize, avail_idx, used_idx;
    uint64_t notify_addr;
    char tag[8]; /* "00:dd.f" for messages */
    /* queues 1.. of vdev_open_queues (queue 0 is the fields above) */
    uint16_t q_avail_idx[VDEV_MAX_QUEUES], q_used_idx[VDEV_MAX_QUEUES];
    uint64_t q_notify_addr[VDEV_MAX_QUEUES];
};

/* One buffer of a request chain; (writable) buffers are written by the device. */
struct vbuf {
    void *addr;
    uint32_t len;
    bool writable;
};

/*
 * Brings up the device at (bdf): enables memory decoding and bus mastering, maps the vendor
 * capabilities (§4.1.4), resets it, negotiates (want) & offered features (VERSION_1 required),
 * sets up queue 0 with MSI-X vector (msix) (VDEV_NO_VECTOR: none; the caller enables MSI-X
 * first) and sets DRIVER_OK. Failures are reported with rt_check under (what). Returns true
 * when the device is ready.
 */
bool vdev_open(struct vdev *d, uint16_t bdf, uint64_t want, uint16_t msix, const char *what);
/* vdev_open with queues 0..(nqueues)-1 (at most VDEV_MAX_QUEUES), each on no MSI-X vector. */
bool vdev_open_queues(struct vdev *d, uint16_t bdf, uint64_t want, unsigned nqueues,
                      const char *what);
/* vdev_submit on queue (q) of vdev_open_queues. */
int vdev_submit_q(struct vdev *d, unsigned q, const struct vbuf *bufs, unsigned n,
                  uint32_t *used_len);
/* True when feature (bit) was negotiated. */
bool vdev_has(const struct vdev *d, unsigned bit);
/*
 * Puts the chain (bufs)[0..n) on queue 0 (n <= VDEV_QUEUE_SIZE), notifies and polls the used
 * ring for up to 5 s. Returns 0 and the used length in (*used_len) (may be NULL), or -1 on a
 * timeout or a used element that is not this chain.
 */
int vdev_submit(struct vdev *d, const struct vbuf *bufs, unsigned n, uint32_t *used_len);
/* Resets the device (status 0) and waits for it to read 0; returns false on timeout. */
bool vdev_reset(struct vdev *d);
/* Reads 32 bits of device configuration at (off). */
uint32_t vdev_cfg32(const struct vdev *d, unsigned off);

/* A split-ring descriptor (§2.7.5) of the runtime's queue 0. */
struct vdev_desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags, next;
};
/*
 * The runtime's queue-0 rings, for payloads that build chains by hand (tests/guest/payloads/
 * hostile.c): (*desc)[VDEV_QUEUE_SIZE], (*avail) = flags, idx, ring[VDEV_QUEUE_SIZE] and (*used)
 * = flags | idx << 16, then {id, len} pairs. vdev_submit() overwrites them.
 */
void vdev_rings(struct vdev_desc **desc, volatile uint16_t **avail, volatile uint32_t **used);
/* The same for queue (q) of vdev_open_queues, with its driver indexes in (*avail_idx) and
 * (*used_idx) and its notify address in (*notify). */
void vdev_rings_q(struct vdev *d, unsigned q, struct vdev_desc **desc, volatile uint16_t **avail,
                  volatile uint32_t **used, uint16_t **avail_idx, uint16_t **used_idx,
                  uint64_t *notify);

#endif

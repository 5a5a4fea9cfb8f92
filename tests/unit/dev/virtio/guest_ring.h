/* SPDX-License-Identifier: MIT */
/*
 * A minimal driver-side split virtqueue (virtio 1.2 §2.7) for unit tests and fuzzers: lays the
 * three rings out in a real gmem, writes descriptors, publishes heads and reads used entries.
 * It does no checking at all, so tests can build any malformed ring they like.
 */
#ifndef BAREIRON_TESTS_VIRTIO_GUEST_RING_H
#define BAREIRON_TESTS_VIRTIO_GUEST_RING_H

#include <stdbool.h>
#include <stdint.h>

struct gmem;

struct guest_ring {
    struct gmem *gm;
    uint16_t size;
    uint64_t desc_gpa, avail_gpa, used_gpa;
    uint16_t avail_idx; /* driver's next avail index */
    uint16_t used_seen; /* used entries consumed */
};

/* Lays a ring of (size) entries out at (base_gpa) (16-byte aligned) and zeroes it. */
void guest_ring_init(struct guest_ring *r, struct gmem *gm, uint64_t base_gpa, uint16_t size);
/* Writes descriptor (i) of the table at (table_gpa) (0: the ring's own table). */
void guest_ring_desc(struct guest_ring *r, uint64_t table_gpa, unsigned i, uint64_t addr,
                     uint32_t len, uint16_t flags, uint16_t next);
/* Puts (head) in the avail ring and bumps avail.idx. */
void guest_ring_publish(struct guest_ring *r, uint16_t head);
/* Sets avail.idx directly. */
void guest_ring_set_avail_idx(struct guest_ring *r, uint16_t idx);
/* Writes avail.flags / used_event. */
void guest_ring_set_avail_flags(struct guest_ring *r, uint16_t flags);
void guest_ring_set_used_event(struct guest_ring *r, uint16_t val);
/* Reads the next used entry; false when none. */
bool guest_ring_used(struct guest_ring *r, uint32_t *id, uint32_t *len);
uint16_t guest_ring_used_idx(struct guest_ring *r);
uint16_t guest_ring_avail_event(struct guest_ring *r);
uint16_t guest_ring_used_flags(struct guest_ring *r);

struct virtio_dev;
/*
 * Drives (vd) through the core API the way a driver does (§3.1.1): ACKNOWLEDGE, DRIVER,
 * (features), FEATURES_OK, then for each of the (n) rings: size and addresses and enable,
 * then DRIVER_OK. Takes vd->lock itself. Returns the final status.
 */
uint8_t guest_dev_bringup(struct virtio_dev *vd, struct guest_ring *rings, unsigned n,
                          uint64_t features);

#endif

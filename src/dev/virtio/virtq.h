/* SPDX-License-Identifier: MIT */
/*
 * Split virtqueue (virtio 1.2 §2.7): the device side of one queue. virtq_pop() walks a
 * descriptor chain (direct or through one indirect table, §2.7.5.3) into a bounded iovec
 * array of host pointers, device-readable segments first, then device-writable ones;
 * virtq_push() returns a chain in the used ring; virtq_needs_notify() decides whether the
 * driver wants an interrupt (§2.7.7, VIRTIO_F_EVENT_IDX §2.7.10). Every guest value (ring
 * indices, addresses, lengths, flags, next links) is checked; any violation marks the queue
 * broken (all later calls fail) and the caller puts the device into DEVICE_NEEDS_RESET.
 *
 * Ring layouts (little endian; x86 hosts only):
 *
 *   desc  (16*size, align 16)  | addr u64 | len u32 | flags u16 | next u16 |
 *   avail (6+2*size, align 2)  | flags u16 | idx u16 | ring[size] u16 | used_event u16 |
 *   used  (6+8*size, align 4)  | flags u16 | idx u16 | ring[size] {id u32, len u32} |
 *                              | avail_event u16 |
 *
 * Threading: a virtq has no lock; the owning device serialises every call with its lock.
 */
#ifndef BAREIRON_DEV_VIRTIO_VIRTQ_H
#define BAREIRON_DEV_VIRTIO_VIRTQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "base/compiler.h"
#include "dev/virtio/virtio_spec.h"

struct gmem;

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "virtq.c assumes a little-endian host (virtio 1.x rings are little endian)"
#endif

#define VIRTQ_MAX_SIZE 32768u
/* Upper bound on the descriptors of one chain (direct + indirect), whatever the queue size. */
#define VIRTQ_CHAIN_MAX 1024u

struct virtq_desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;
};
_Static_assert(sizeof(struct virtq_desc) == 16, "virtq_desc is 16 bytes");

struct virtq_used_elem {
    uint32_t id;
    uint32_t len;
};
_Static_assert(sizeof(struct virtq_used_elem) == 8, "virtq_used_elem is 8 bytes");

struct virtq {
    const struct gmem *gm;
    uint16_t size;
    bool is_ready;  /* virtq_init succeeded */
    bool is_broken; /* the driver broke the rules; every call fails until virtq_init again */
    bool has_event_idx;
    bool has_indirect;
    struct virtq_desc *desc; /* host pointers checked by gmem_ptr at virtq_init */
    uint16_t *avail;         /* [0] flags, [1] idx, [2..2+size) ring, [2+size] used_event */
    uint16_t *used_hdr;      /* [0] flags, [1] idx */
    uint64_t used_gpa;       /* where used_hdr is: its writes are marked for a live save */
    struct virtq_used_elem *used_ring; /* [size] followed by avail_event */
    uint16_t last_avail_idx;           /* next avail entry to consume */
    uint16_t used_idx;                 /* shadow of used->idx */
    uint16_t signalled_used;           /* used_idx at the last notification decision */
    bool is_signalled_valid;
};

/*
 * One popped chain. The caller provides (iov) storage of (iov_cap) entries (at most
 * VIRTQ_CHAIN_MAX are used). iov[0 .. n_readable) are device-readable, iov[n_readable ..
 * n_readable+n_writable) device-writable. Zero-length descriptors are skipped.
 */
struct virtq_elem {
    uint16_t head;
    unsigned n_readable;
    unsigned n_writable;
    uint64_t readable_bytes;
    uint64_t writable_bytes;
    struct iovec *iov;
    unsigned iov_cap;
};

/* True when (size) is a valid split queue size: a power of two in 1..32768. */
static inline bool virtq_size_is_valid(uint32_t size)
{
    return IS_POW2(size) && size <= VIRTQ_MAX_SIZE;
}

/*
 * Sets (vq) up over guest memory (gm) with (size) entries and the three ring addresses.
 * (has_event_idx)/(has_indirect) are the negotiated VIRTIO_F_EVENT_IDX/RING_INDIRECT_DESC.
 * Checks the size, alignment and that each ring lies fully inside one RAM region. Returns 0,
 * or -EINVAL (then (vq) is broken).
 */
/*
 * Marks (gmem_mark_dirty) every buffer a descriptor of (vq)'s table, or of an indirect table it
 * names, offers the device for writing: when a live save starts, the requests already in
 * flight were popped before pops were marked, and their buffers are among these. Reads only;
 * malformed entries are skipped (nothing is broken). Called with the device's lock held.
 */
void virtq_mark_writable(const struct virtq *vq);

MUST_CHECK int virtq_init(struct virtq *vq, const struct gmem *gm, uint16_t size, uint64_t desc_gpa,
                          uint64_t avail_gpa, uint64_t used_gpa, bool has_event_idx,
                          bool has_indirect);
/* Forgets the rings (device reset); (vq) is neither ready nor broken afterwards. */
void virtq_reset(struct virtq *vq);

/*
 * Takes the next available chain into (elem). Returns 1 when a chain was taken, 0 when the
 * ring is empty, -EIO when the queue is broken (it is from now on) or not ready.
 */
MUST_CHECK int virtq_pop(struct virtq *vq, struct virtq_elem *elem);
/*
 * Returns chain (head) to the driver with (len_bytes) written into its writable buffers. The
 * used index is published with release ordering after the entry. Returns 0 or -EIO.
 */
MUST_CHECK int virtq_push(struct virtq *vq, uint16_t head, uint32_t len_bytes);
/*
 * Decides whether the driver asked for an interrupt for the entries pushed since the last
 * call (avail.flags NO_INTERRUPT, or used_event with EVENT_IDX). Issues a full barrier first.
 */
bool virtq_needs_notify(struct virtq *vq);
/* Asks the driver not to kick (used.flags NO_NOTIFY; no-op with EVENT_IDX). */
void virtq_disable_notify(struct virtq *vq);
/*
 * Asks the driver to kick again (clears NO_NOTIFY, or sets avail_event to the next index).
 * Returns true when buffers became available meanwhile, so the caller must poll once more.
 */
bool virtq_enable_notify(struct virtq *vq);
/* True when the driver has made chains available that were not popped yet. */
bool virtq_has_avail(struct virtq *vq);
/*
 * Gives the last (n) chains popped (and not pushed) back to the ring: the next pops return
 * them again. For a device that needs several chains for one answer and found too few
 * (virtio-net's mergeable receive buffers). (n) must not exceed the chains popped since the
 * last push of each.
 */
void virtq_unpop(struct virtq *vq, uint16_t n);
/*
 * Takes the ring back from another device implementation (vhost-net) that stopped at
 * (last_avail_idx): the next pop starts there and the used index is read from the ring (the
 * guest may have scribbled on it; it only ever selects a slot modulo the size).
 */
void virtq_resync(struct virtq *vq, uint16_t last_avail_idx);
/*
 * Asks the driver to kick as soon as it adds one more chain, although some are available
 * already (with EVENT_IDX, avail_event is set to the driver's current index rather than to the
 * next one to pop). Returns true when chains were added meanwhile (look again).
 */
bool virtq_enable_notify_more(struct virtq *vq);

#endif

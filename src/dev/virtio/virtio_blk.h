/* SPDX-License-Identifier: MIT */
/*
 * virtio-blk (virtio 1.2 §5.2): a block device over a block backend (block/blk.h). Offers
 * SIZE_MAX, SEG_MAX, BLK_SIZE, FLUSH, and either RO (read-only disk) or DISCARD and
 * WRITE_ZEROES, plus MQ when more than one request queue is asked for. Requests (§5.2.6) are
 * parsed in virtio_blk_req.c: a 16-byte device-readable header, data, and a 1-byte device-writable
 * status as the very last byte of the chain. Data requests go to blk_submit(), the requests of
 * one kick in one batch (blk_plug), and complete on the event loop.
 *
 * Device configuration layout (§5.2.4), little endian:
 *
 *   0  capacity u64 (512-byte sectors)   8  size_max u32   12 seg_max u32
 *   16 geometry {cyl u16, heads u8, sectors u8}            20 blk_size u32
 *   24 topology {phys_exp u8, align u8, min_io u16, opt_io u32}
 *   32 writeback u8  33 unused  34 num_queues u16
 *   36 max_discard_sectors u32  40 max_discard_seg u32  44 discard_sector_alignment u32
 *   48 max_write_zeroes_sectors u32  52 max_write_zeroes_seg u32
 *   56 write_zeroes_may_unmap u8  57 unused[3]
 *
 * Threading: everything runs with the device lock (vb->vd.lock) held: queue kicks on the event
 * loop, register accesses on vCPU threads, completions on the event loop.
 */
#ifndef BAREIRON_DEV_VIRTIO_VIRTIO_BLK_H
#define BAREIRON_DEV_VIRTIO_VIRTIO_BLK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/compiler.h"
#include "block/blk.h"
#include "dev/virtio/virtio.h"

struct blk;
struct gmem;

/* Limits we announce */
#define VIRTIO_BLK_SEG_MAX (VIRTQ_CHAIN_MAX - 2)
#define VIRTIO_BLK_SIZE_MAX (1u << 20)            /* per segment */
#define VIRTIO_BLK_MAX_DISCARD_SECTORS (1u << 22) /* 2 GiB per request */
#define VIRTIO_BLK_MAX_DISCARD_SEG 1u
#define VIRTIO_BLK_MAX_QUEUES 16u
#define VIRTIO_BLK_QUEUE_SIZE 256u

struct virtio_blk_outhdr {
    uint32_t type;
    uint32_t ioprio;
    uint64_t sector;
};
_Static_assert(sizeof(struct virtio_blk_outhdr) == 16, "virtio_blk_outhdr is 16 bytes");

struct virtio_blk_discard_wz {
    uint64_t sector;
    uint32_t num_sectors;
    uint32_t flags;
};
_Static_assert(sizeof(struct virtio_blk_discard_wz) == 16, "discard segment is 16 bytes");

struct virtio_blk_config {
    uint64_t capacity;
    uint32_t size_max;
    uint32_t seg_max;
    uint16_t cylinders;
    uint8_t heads;
    uint8_t sectors;
    uint32_t blk_size;
    uint8_t physical_block_exp;
    uint8_t alignment_offset;
    uint16_t min_io_size;
    uint32_t opt_io_size;
    uint8_t writeback;
    uint8_t unused0;
    uint16_t num_queues;
    uint32_t max_discard_sectors;
    uint32_t max_discard_seg;
    uint32_t discard_sector_alignment;
    uint32_t max_write_zeroes_sectors;
    uint32_t max_write_zeroes_seg;
    uint8_t write_zeroes_may_unmap;
    uint8_t unused1[3];
};
/* 60 bytes of layout (the struct itself is padded to 64 by the u64 alignment) */
#define VIRTIO_BLK_CONFIG_SIZE 60u
_Static_assert(offsetof(struct virtio_blk_config, unused1) + 3 == VIRTIO_BLK_CONFIG_SIZE,
               "virtio_blk_config layout");
_Static_assert(offsetof(struct virtio_blk_config, size_max) == VIRTIO_BLK_CFG_SIZE_MAX, "size_max");
_Static_assert(offsetof(struct virtio_blk_config, seg_max) == VIRTIO_BLK_CFG_SEG_MAX, "seg_max");
_Static_assert(offsetof(struct virtio_blk_config, blk_size) == VIRTIO_BLK_CFG_BLK_SIZE, "blk_size");
_Static_assert(offsetof(struct virtio_blk_config, num_queues) == VIRTIO_BLK_CFG_NUM_QUEUES,
               "num_queues");
_Static_assert(offsetof(struct virtio_blk_config, max_discard_sectors) ==
                   VIRTIO_BLK_CFG_MAX_DISCARD,
               "max_discard_sectors");
_Static_assert(offsetof(struct virtio_blk_config, max_write_zeroes_sectors) ==
                   VIRTIO_BLK_CFG_MAX_WZ,
               "max_write_zeroes_sectors");

struct virtio_blk_opts {
    const char *serial;  /* GET_ID string, at most 20 bytes used; NULL: "" */
    unsigned num_queues; /* request queues, 1..VIRTIO_BLK_MAX_QUEUES (0: 1) */
    bool is_readonly;    /* also forced when the backend is read-only */
};

struct virtio_blk {
    struct virtio_dev vd; /* first: container_of */
    /* What the guest asked of the disk (stats of the control API), in the block layer's
     * counters: a request is counted once, when it is answered, OK by its type (IN as a read,
     * OUT as a write, DISCARD and WRITE_ZEROES as discards), IOERR/UNSUPP in errors. Requests
     * the backend finishes after a device reset (not returned to the guest) still count: the
     * disk did the work. in_flight is unused here: computed from queue_inflight. */
    struct blk_stats stats;
    struct blk *disk; /* not owned */
    bool is_readonly;
    struct virtio_blk_config cfg;
    char serial[VIRTIO_BLK_ID_BYTES];
    unsigned *queue_inflight; /* per queue, bounded by the queue size */
};

/*
 * Creates a virtio-blk device over (disk) (not owned) with guest memory (gm). Returns 0 and the
 * device in (*out), or -EINVAL / -ENOMEM. Put it on the PCI bus with virtio_pci_plug(host,
 * virtio_blk_dev(vb), loop, slot, &vp).
 */
MUST_CHECK int virtio_blk_create(const struct virtio_blk_opts *opts, struct blk *disk,
                                 const struct gmem *gm, struct virtio_blk **out);
/* Frees (vb). No request may be in flight: close the disk first (blk_close completes the
 * outstanding requests, whose callbacks still use vb), then destroy the device. */
void virtio_blk_destroy(struct virtio_blk *vb);
/* The generic virtio device inside (vb). */
static inline struct virtio_dev *virtio_blk_dev(struct virtio_blk *vb)
{
    return &vb->vd;
}

/* Copies the counters of (vb) into (out). Any thread; takes vd->lock. */
void virtio_blk_get_stats(struct virtio_blk *vb, struct blk_stats *out);

struct sf_buf;
struct sf_in;
/* Saved state of the device itself (after virtio_pci_save's): its configuration, which a
 * restore must find identical (same disk size, queues and read-only flag). Load returns 0 or
 * -EINVAL. Requests in flight are the core's business (virtio_dev_save refuses them). */
void virtio_blk_save(struct virtio_blk *vb, struct sf_buf *b);
MUST_CHECK int virtio_blk_load(struct virtio_blk *vb, struct sf_in *in);

/* Processes queue (qidx) (virtio_blk_req.c; the device's queue_notify). vd->lock held. */
void virtio_blk_process_queue(struct virtio_blk *vb, unsigned qidx);

#endif

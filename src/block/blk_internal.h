/* SPDX-License-Identifier: MIT */
/*
 * What formats (raw.c, qcow2/) share with the generic layer (blk.c): the per-disk state, the
 * format driver table, request accounting for requests split into pieces, data I/O through
 * the disk's engine (with O_DIRECT bounce buffers). Private to src/block/; the iovec helpers
 * the formats use are base/iov.h.
 */
#ifndef BAREIRON_BLOCK_BLK_INTERNAL_H
#define BAREIRON_BLOCK_BLK_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "base/compiler.h"
#include "base/error.h"
#include "base/iov.h"
#include "block/blk.h"
#include "block/engine.h"

/* Deepest backing chain we follow (an image plus this many backing files). */
#define BLK_MAX_CHAIN_DEPTH 16

/* O_DIRECT bounce buffers (bounce.c): chunk size, and the most a disk and its backing chain
 * hold at once. */
#define BLK_BOUNCE_CHUNK_BYTES (1u << 20)
#define BLK_BOUNCE_POOL_BYTES (4u << 20)
struct bounce_pool;

struct blk_driver {
    const char *name;
    /* Starts (req) (already bounds- and permission-checked). Async pieces take a hold with
     * blk_req_hold() and drop it with blk_req_put(); synchronous failures return -errno (the
     * request then completes with it). Runs on the loop thread. */
    int (*submit)(struct blk *b, struct blk_req *req);
    /* Reads synchronously, bypassing the engine (copy-on-write from a backing file). Bytes
     * past the end of the disk read as zeros. Returns 0 or -errno. */
    int (*read_sync)(struct blk *b, void *buf, uint64_t len, uint64_t off);
    /* Allocation status of [off, off+len) (inside the disk, len > 0): see blk_block_status. */
    int (*block_status)(struct blk *b, uint64_t off, uint64_t len, uint64_t *pnum, bool *is_zero);
    /* Frees the driver state (all requests completed). */
    void (*close)(struct blk *b);
};

struct blk {
    const struct blk_driver *drv;
    void *drv_state;
    char *path;
    struct evloop *loop;
    bool owns_loop;
    struct engine *engine;
    int fd;  /* data I/O: O_DIRECT when cache=none */
    int bfd; /* buffered I/O and metadata: same as fd unless O_DIRECT */
    bool is_bdev;
    bool is_readonly;
    bool is_direct;
    unsigned dio_align;       /* O_DIRECT alignment of offsets, lengths and buffers */
    unsigned depth;           /* position in a backing chain (0: the disk itself) */
    const struct blk *parent; /* the image this one backs, NULL for the disk itself */
    dev_t dev;                /* identity of the file, to refuse loops in backing chains */
    ino_t ino;
    uint64_t size_bytes;
    uint64_t file_size_bytes; /* host file size at open */
    unsigned inflight;        /* requests submitted and not yet completed */
    struct blk_stats stats;   /* in_flight unused: inflight above */
    enum blk_cache cache;
    bool needs_sync_engine;
    bool is_scratch; /* see blk_open_opts */
    bool is_repair;
    struct bounce_pool *bounce; /* cache=none: owned by the chain's top disk, shared below */
    enum blk_backing backing;   /* the policy for this image's backing file */
};

/* Opens a disk as the backing file of (parent) (NULL: the disk itself); a file already in the
 * chain is refused with -ELOOP. With (dirfd) >= 0 (backing=same-dir), the last component of
 * opts->path is opened relative to (dirfd) without following a symlink and must be a regular
 * file. See blk_open(). */
MUST_CHECK int blk_open_chain(const struct blk_open_opts *opts, struct evloop *loop,
                              const struct blk *parent, int dirfd, struct blk **out,
                              struct error *err);

/* Request accounting: priv[0] counts holds, priv[1] keeps the first error. */
void blk_req_hold(struct blk_req *req);
/* Drops a hold taken by blk_req_hold with the piece's result (ret); the last one completes the
 * request. Loop thread only, never from inside the driver's submit. */
void blk_req_put(struct blk *b, struct blk_req *req, int ret);

/* Completion of blk_io_submit: (ret) is 0 or -errno. Loop thread. */
typedef void (*blk_io_done_fn)(void *opaque, int ret);
/*
 * Submits one data transfer (READ/WRITE over iov, or FSYNC/FALLOC/BDEV_*) on (b)'s engine,
 * against (fd). Copies the iov array, and for O_DIRECT transfers whose buffers or lengths are
 * not aligned goes through an aligned bounce buffer. Returns 0 (done runs later) or -errno.
 */
MUST_CHECK int blk_io_submit(struct blk *b, enum eio_op op, int fd, const struct iovec *iov,
                             int iovcnt, uint64_t off, uint64_t len, int falloc_mode,
                             blk_io_done_fn done, void *opaque);

/*
 * Runs (fn)(arg) on a worker thread of (b)'s engine (work that blocks for long: qcow2 metadata
 * updates, compressed reads, zero-filling), then done(opaque, ret) on the loop thread with what
 * (fn) returned. Returns 0 (done runs later) or -errno.
 */
MUST_CHECK int blk_call_submit(struct blk *b, int (*fn)(void *arg), void *arg, blk_io_done_fn done,
                               void *opaque);

/* Bounce pool (bounce.c). Creates an empty pool. Returns 0 or -ENOMEM. */
MUST_CHECK int blk_bounce_pool_create(struct bounce_pool **out);
/* Frees (p) (no transfer may be in flight). NULL allowed. */
void blk_bounce_pool_destroy(struct bounce_pool *p);
/*
 * Moves [off, off+len) (aligned to b->dio_align) between (fd) and the unaligned buffers (iov)
 * (READ or WRITE) through the pool of (b), chunk by chunk, waiting for room when the pool is
 * exhausted. The iov array is copied; its memory must stay valid until (done). Returns 0 (done
 * runs later on the loop thread) or -errno.
 */
MUST_CHECK int blk_bounce_submit(struct blk *b, enum eio_op op, int fd, const struct iovec *iov,
                                 int iovcnt, uint64_t off, uint64_t len, blk_io_done_fn done,
                                 void *opaque);
/* Most bytes the pool of (b) ever held at once (tests). */
uint64_t blk_bounce_peak_bytes(const struct blk *b);

/* Format drivers. */
extern const struct blk_driver raw_driver;
extern const struct blk_driver qcow2_driver;
/* Opens the raw format on (b) (fds and size set). */
MUST_CHECK int raw_open(struct blk *b, struct error *err);
/* Opens the qcow2 format on (b): parses and validates the header, opens the backing chain. */
MUST_CHECK int qcow2_open(struct blk *b, struct error *err);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * I/O engines: how a format's host extents reach the kernel. Two engines share one interface,
 * as in cloud-hypervisor's io/ layer: io_uring (engine_uring.c, one ring per disk, its eventfd
 * watched by the event loop) and a small thread pool doing preadv/pwritev/fdatasync/fallocate
 * (engine_sync.c), used when io_uring is unavailable or asked for. Either way completions run on
 * the event loop thread, never inside engine_submit. Formats never know which engine they use.
 * Work that blocks for long and has no io_uring opcode (block-device discard and zero-out, qcow2
 * metadata updates, compressed cluster reads: EIO_CALL) runs on worker threads with both
 * engines (the io_uring engine starts a one-thread pool for it the first time it is needed), so
 * the event loop thread never waits for it.
 */
#ifndef BAREIRON_BLOCK_ENGINE_H
#define BAREIRON_BLOCK_ENGINE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "base/compiler.h"

struct evloop;
struct engine;

enum eio_op {
    EIO_READ,         /* preadv; a short read at end of file is filled with zeros */
    EIO_WRITE,        /* pwritev, retried until complete */
    EIO_FSYNC,        /* fdatasync */
    EIO_FALLOC,       /* fallocate(fd, falloc_mode, off, len) */
    EIO_BDEV_DISCARD, /* ioctl BLKDISCARD on a block device */
    EIO_BDEV_ZEROOUT, /* ioctl BLKZEROOUT on a block device */
    EIO_CALL,         /* call(arg) on a worker thread: slow work kept off the loop thread */
};

struct eio;
/* Completion of (io): (ret) is 0 or -errno. Runs on the loop thread. */
typedef void (*eio_done_fn)(struct eio *io, int ret);

struct eio {
    enum eio_op op;
    int fd;
    struct iovec *iov; /* READ/WRITE; the engine may modify the array on a short transfer */
    int iovcnt;
    uint64_t off;
    uint64_t len; /* READ/WRITE: sum of iov; FALLOC/BDEV_*: range */
    int falloc_mode;
    int (*call)(void *arg); /* CALL: returns 0 or -errno */
    void *arg;
    eio_done_fn done;
    void *opaque;
    /* engine-private */
    int ret;
    uint64_t done_bytes;
    struct eio *next;
};

struct engine_ops {
    const char *name;
    /* Queues (io). Returns 0 (done called later on the loop thread) or -errno. */
    int (*submit)(struct engine *e, struct eio *io);
    /* Holds submissions while (is_plugged) and passes them to the kernel together when it is
     * cleared (NULL: the engine does not batch). */
    void (*plug)(struct engine *e, bool is_plugged);
    /* Frees (e). The caller first drains: no eio may be outstanding (blk_close runs the loop
     * until every completion has been delivered). */
    void (*destroy)(struct engine *e);
};

struct engine {
    const struct engine_ops *ops;
    struct evloop *loop;
    unsigned inflight;
};

/* Creates an io_uring engine of (depth) entries whose completions run on (loop).
 * Returns 0, or -errno (-ENOSYS/-EPERM where io_uring is unavailable, -ENOTSUP when built
 * without liburing). */
MUST_CHECK int engine_uring_create(struct evloop *loop, unsigned depth, struct engine **out);
/* Creates the thread-pool engine with (nthreads) workers. Returns 0 or -errno. */
MUST_CHECK int engine_sync_create(struct evloop *loop, unsigned nthreads, struct engine **out);

/* Queues (io) on (e). Returns 0 or -errno (then io->done is not called). */
MUST_CHECK static inline int engine_submit(struct engine *e, struct eio *io)
{
    return e->ops->submit(e, io);
}
/* Destroys (e) after draining. NULL allowed. */
static inline void engine_destroy(struct engine *e)
{
    if (e)
        e->ops->destroy(e);
}

/* Runs (io) synchronously on the calling thread (used by both engines' slow paths and the
 * worker threads). Returns 0 or -errno. */
MUST_CHECK int eio_execute(struct eio *io);

#endif

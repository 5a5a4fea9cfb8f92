/* SPDX-License-Identifier: MIT */
/*
 * The block backend interface: what virtio-blk (and later IDE/ATAPI) sees of a disk. A disk
 * is a format (raw, qcow2) over an I/O engine (io_uring, or a thread pool where io_uring is
 * unavailable). Devices submit requests and get completions on the event loop thread; they
 * never know the format or the engine. Depends only on base/.
 *
 * Threading: blk_submit/blk_* are called from the event loop thread only; completion callbacks
 * run on that same thread (never inside blk_submit, so a device may submit while holding its
 * lock and take the lock again in the callback).
 */
#ifndef BAREIRON_BLOCK_BLK_H
#define BAREIRON_BLOCK_BLK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "base/compiler.h"
#include "base/error.h"

struct evloop;
struct blk;

enum blk_format { BLK_FORMAT_AUTO = 0, BLK_FORMAT_RAW, BLK_FORMAT_QCOW2 };
enum blk_cache { BLK_CACHE_WRITEBACK = 0, BLK_CACHE_NONE /* O_DIRECT */ };
enum blk_op { BLK_OP_READ, BLK_OP_WRITE, BLK_OP_FLUSH, BLK_OP_DISCARD, BLK_OP_WRITE_ZEROES };
/*
 * Which backing files an image may name (the name is data inside the image, so whoever wrote
 * the image chose it):
 *   SAME_DIR (the default): a plain file name (no '/', not "." or "..") in the directory of the
 *            image naming it, opened relative to that directory without following a symlink,
 *            and only a regular file (no block device, FIFO...).
 *   NONE:    an image with a backing file is refused.
 *   ANY:     the name is followed as recorded (absolute paths, "..", block devices), as QEMU
 *            does; for images whose whole chain the user trusts.
 * The policy applies to every level of the chain.
 */
enum blk_backing { BLK_BACKING_SAME_DIR = 0, BLK_BACKING_NONE, BLK_BACKING_ANY };

struct blk_open_opts {
    const char *path;
    enum blk_format format; /* AUTO probes the header; RAW is never probed */
    enum blk_cache cache;
    enum blk_backing backing;
    bool is_readonly;
    bool needs_sync_engine; /* force the thread-pool engine (tests, io_uring unavailable) */
    /* A new file that nobody uses before it is complete and synced (disk convert writes into a
     * temporary file): the flushes that order qcow2 metadata updates for crash safety are
     * skipped; blk_flush() still syncs everything. */
    bool is_scratch;
    /* Disk tools only: open a qcow2 image marked corrupt writable, to repair it. */
    bool is_repair;
};

struct blk_req;
/* Completion: (ret) is 0 or a negative errno. Runs on the event loop thread. */
typedef void (*blk_done_fn)(struct blk_req *req, int ret);

struct blk_req {
    enum blk_op op;
    uint64_t offset_bytes; /* byte offset on the virtual disk, 512-aligned */
    uint64_t len_bytes;    /* DISCARD/WRITE_ZEROES: range length; READ/WRITE: sum of iov */
    struct iovec *iov;     /* READ/WRITE buffers (guest memory, already validated) */
    int iovcnt;
    blk_done_fn done;
    void *opaque;
    /* private to the backend */
    uint64_t priv[4];
};

/*
 * Opens a disk described by (opts), completions delivered on (loop) (NULL: the caller only
 * uses the synchronous helpers below, as the disk tools do). Takes an exclusive lock
 * (OFD lock) on the image unless read-only (shared lock), so two VMs never open one writable
 * image. Returns 0 and the disk in (*out), or -errno with a one-line message in (err) naming
 * the file and the problem (unsupported qcow2 feature, corrupt header, locked by another
 * process...).
 */
MUST_CHECK int blk_open(const struct blk_open_opts *opts, struct evloop *loop, struct blk **out,
                        struct error *err);
/* Flushes and closes; completes outstanding requests first. NULL allowed. */
void blk_close(struct blk *b);

/* Virtual disk size in bytes. */
uint64_t blk_size_bytes(const struct blk *b);
bool blk_is_readonly(const struct blk *b);

/*
 * What was asked of (b) through blk_submit since it was opened, counted once per request when
 * it completes (the stats of devices that keep none of their own: IDE, floppy).
 */
struct blk_stats {
    uint64_t read_ops;   /* READ completed OK */
    uint64_t write_ops;  /* WRITE completed OK */
    uint64_t read_bytes; /* data of those */
    uint64_t write_bytes;
    uint64_t flush_ops;   /* FLUSH completed OK */
    uint64_t discard_ops; /* DISCARD and WRITE_ZEROES completed OK */
    uint64_t errors;      /* requests completed with an error */
    uint64_t in_flight;   /* submitted and not completed yet */
};
/* Copies the counters of (b) into (out). Loop thread (completions count there). */
void blk_get_stats(const struct blk *b, struct blk_stats *out);

/*
 * Submits (req); req->done is called later on the loop thread. Requests past the end of the
 * disk complete with -EINVAL, writes on a read-only disk with -EROFS. Returns 0 when queued, or
 * a negative errno (then done is not called).
 */
MUST_CHECK int blk_submit(struct blk *b, struct blk_req *req);

/*
 * Batching for devices: between blk_plug(b) and blk_unplug(b) the io_uring engine holds
 * submissions and hands them to the kernel together at blk_unplug, so a virtqueue kick costs
 * one io_uring_enter instead of one per request (virtio-blk plugs around each kick). The
 * thread-pool engine ignores the hint. Completions run on the loop as usual, so never before
 * blk_unplug returns. Loop thread only; plugs do not nest.
 */
void blk_plug(struct blk *b);
void blk_unplug(struct blk *b);

/*
 * Synchronous helpers for tools and tests: submit, then run the disk's loop (the private one
 * when blk_open got NULL) until the request completes. Never call them from inside a callback
 * of a shared loop. Offsets and lengths need not be 512-aligned here. Return 0 or -errno.
 */
MUST_CHECK int blk_pread(struct blk *b, void *buf, uint64_t len, uint64_t off);
MUST_CHECK int blk_pwrite(struct blk *b, const void *buf, uint64_t len, uint64_t off);
MUST_CHECK int blk_flush(struct blk *b);
/* Discards (or with (is_write_zeroes), zeroes) [off, off+len) synchronously. Returns 0 or -errno.
 */
MUST_CHECK int blk_discard(struct blk *b, uint64_t len, uint64_t off, bool is_write_zeroes);

/*
 * Allocation status, for tools that copy images (convert): sets (*pnum_bytes) to the length
 * (1..len) of the range from (off) whose status is the same, and (*is_zero) when that range is
 * known to read as zeros without being read (a hole in a raw file, a qcow2 zero cluster, an
 * unallocated cluster with nothing behind it in the backing chain). Ranges not known to be
 * zero may still hold zeros. Synchronous, loop thread. Returns 0 or -errno (-EINVAL when
 * [off, off+len) is empty or not inside the disk).
 */
MUST_CHECK int blk_block_status(struct blk *b, uint64_t off, uint64_t len, uint64_t *pnum_bytes,
                                bool *is_zero);
/* Parses "none", "same-dir" or "any" into (*out). Returns 0 or -EINVAL. */
MUST_CHECK int blk_backing_parse(const char *s, enum blk_backing *out);
/* The least permissive policy that lets an image name the backing file (name): SAME_DIR for a
 * plain file name, ANY for an absolute path or a name with a '/' or "." or "..". (Whether the
 * file there is a regular file and no symlink is only known when it is opened.) */
enum blk_backing blk_backing_needed(const char *name);
/* The name of (policy): "same-dir", "none", "any". */
const char *blk_backing_name(enum blk_backing policy);

/* The format ("raw", "qcow2") and I/O engine ("io_uring", "sync") of (b), for logs and stats. */
const char *blk_format(const struct blk *b);
const char *blk_engine(const struct blk *b);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * The generic block layer behind blk.h: opens a disk (file or block device, OFD lock, format
 * probe, O_DIRECT for cache=none, engine choice with io_uring first and the thread pool as
 * fallback), checks and accounts requests, hands them to the format driver, and provides data
 * I/O through the engine (unaligned O_DIRECT transfers go through bounce.c's capped pool). The
 * OFD lock (fcntl(2) F_OFD_SETLK) is exclusive for writable opens and shared for read-only ones,
 * so two monitors never write one image and nobody writes an image used as a backing file.
 */
#define LOG_TAG "blk"
#include "block/blk.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/ckd.h"
#include "base/evloop.h"
#include "base/fdcache.h"
#include "base/iov.h"
#include "base/log.h"
#include "base/util.h"
#include "block/blk_internal.h"

#define URING_DEPTH 128
#define SYNC_THREADS 4

/* ---- requests ---- */

void blk_req_hold(struct blk_req *req)
{
    req->priv[0]++;
}

/* Counts a request that completed with (ret). */
static void count_done(struct blk_stats *st, const struct blk_req *req, int ret)
{
    if (ret < 0) {
        st->errors++;
        return;
    }
    switch (req->op) {
    case BLK_OP_READ:
        st->read_ops++;
        st->read_bytes += req->len_bytes;
        break;
    case BLK_OP_WRITE:
        st->write_ops++;
        st->write_bytes += req->len_bytes;
        break;
    case BLK_OP_FLUSH:
        st->flush_ops++;
        break;
    default:
        st->discard_ops++;
        break;
    }
}

void blk_req_put(struct blk *b, struct blk_req *req, int ret)
{
    if (ret < 0 && req->priv[1] == 0)
        req->priv[1] = (uint64_t)(int64_t)ret;
    if (req->priv[0] == 0)
        PANIC("blk: request released too often");
    if (--req->priv[0] > 0)
        return;
    b->inflight--;
    count_done(&b->stats, req, (int)(int64_t)req->priv[1]);
    req->done(req, (int)(int64_t)req->priv[1]);
}

void blk_get_stats(const struct blk *b, struct blk_stats *out)
{
    *out = b->stats;
    out->in_flight = b->inflight;
}

static void deferred_put(void *opaque)
{
    struct blk_req *req = opaque;

    blk_req_put((struct blk *)(uintptr_t)req->priv[2], req, 0);
}

uint64_t blk_size_bytes(const struct blk *b)
{
    return b->size_bytes;
}

bool blk_is_readonly(const struct blk *b)
{
    return b->is_readonly;
}

static int check_req(struct blk *b, struct blk_req *req)
{
    switch (req->op) {
    case BLK_OP_READ:
    case BLK_OP_WRITE:
        if (req->iovcnt < 0 || (req->iovcnt > 0 && !req->iov))
            return -EINVAL;
        req->len_bytes = iov_size(req->iov, (unsigned)req->iovcnt);
        break;
    case BLK_OP_FLUSH:
        req->len_bytes = 0;
        return 0;
    case BLK_OP_DISCARD:
    case BLK_OP_WRITE_ZEROES:
        break;
    default:
        return -EINVAL;
    }
    if (range_outside(req->offset_bytes, req->len_bytes, b->size_bytes))
        return -EINVAL;
    if (req->op != BLK_OP_READ && b->is_readonly)
        return -EROFS;
    return 0;
}

int blk_submit(struct blk *b, struct blk_req *req)
{
    int ret;

    if (!req->done)
        return -EINVAL;
    req->priv[0] = 1; /* the submit hold, dropped by deferred_put */
    req->priv[1] = 0;
    req->priv[2] = (uint64_t)(uintptr_t)b;
    b->inflight++;
    ret = check_req(b, req);
    if (ret == 0 && (req->len_bytes > 0 || (req->op == BLK_OP_FLUSH && !b->is_readonly)))
        ret = b->drv->submit(b, req);
    if (ret < 0)
        req->priv[1] = (uint64_t)(int64_t)ret;
    if (req->priv[0] > 1) { /* pieces in flight: the last one completes the request */
        req->priv[0]--;
        return 0;
    }
    /* Nothing in flight: the callback never runs inside submit, so complete from the loop. */
    ret = evloop_call(b->loop, deferred_put, req);
    if (ret < 0 && req->priv[0] == 1) {
        b->inflight--;
        return ret;
    }
    if (ret < 0)
        PANIC("blk: cannot defer a completion (out of memory)");
    return 0;
}

/* ---- data I/O through the engine ---- */

struct bio {
    struct eio eio;
    blk_io_done_fn done;
    void *opaque;
    struct iovec iov[];
};

static void bio_done(struct eio *io, int ret)
{
    struct bio *bio = container_of(io, struct bio, eio);

    bio->done(bio->opaque, ret);
    free(bio);
}

static bool is_dio_aligned(const struct blk *b, const struct iovec *iov, int cnt, uint64_t off,
                           uint64_t len)
{
    uint64_t a = b->dio_align;

    if (off % a || len % a)
        return false;
    for (int i = 0; i < cnt; i++)
        if ((uintptr_t)iov[i].iov_base % a || iov[i].iov_len % a)
            return false;
    return true;
}

int blk_io_submit(struct blk *b, enum eio_op op, int fd, const struct iovec *iov, int iovcnt,
                  uint64_t off, uint64_t len, int falloc_mode, blk_io_done_fn done, void *opaque)
{
    bool is_rw = op == EIO_READ || op == EIO_WRITE;
    struct bio *bio;
    int ret;

    if (is_rw && fd == b->fd && b->is_direct && !is_dio_aligned(b, iov, iovcnt, off, len)) {
        if (off % b->dio_align || len % b->dio_align)
            fd = b->bfd; /* cannot be done with O_DIRECT: buffered, still coherent */
        else
            return blk_bounce_submit(b, op, fd, iov, iovcnt, off, len, done, opaque);
    }
    bio = calloc(1, sizeof(*bio) + sizeof(struct iovec) * (size_t)(is_rw ? MAX(iovcnt, 1) : 1));
    if (!bio)
        return -ENOMEM;
    bio->done = done;
    bio->opaque = opaque;
    bio->eio = (struct eio){.op = op,
                            .fd = fd,
                            .iov = bio->iov,
                            .off = off,
                            .len = len,
                            .falloc_mode = falloc_mode,
                            .done = bio_done,
                            .opaque = bio};
    if (is_rw) {
        memcpy(bio->iov, iov, sizeof(*iov) * (size_t)iovcnt);
        bio->eio.iovcnt = iovcnt;
    }
    ret = engine_submit(b->engine, &bio->eio);
    if (ret < 0)
        free(bio);
    return ret;
}

int blk_call_submit(struct blk *b, int (*fn)(void *arg), void *arg, blk_io_done_fn done,
                    void *opaque)
{
    struct bio *bio = calloc(1, sizeof(*bio) + sizeof(struct iovec));
    int ret;

    if (!bio)
        return -ENOMEM;
    bio->done = done;
    bio->opaque = opaque;
    bio->eio = (struct eio){.op = EIO_CALL,
                            .fd = -1,
                            .iov = bio->iov,
                            .call = fn,
                            .arg = arg,
                            .done = bio_done,
                            .opaque = bio};
    ret = engine_submit(b->engine, &bio->eio);
    if (ret < 0)
        free(bio);
    return ret;
}

/* ---- open and close ---- */

static int take_lock(struct blk *b, struct error *err)
{
    struct flock fl = {.l_type = b->is_readonly ? F_RDLCK : F_WRLCK, .l_whence = SEEK_SET};

    if (fcntl(b->bfd, F_OFD_SETLK, &fl) == 0)
        return 0;
    if (errno == EAGAIN || errno == EACCES)
        return error_set(err, -EBUSY, "disk %s: in use by another process (%s lock held)", b->path,
                         b->is_readonly ? "a write" : "a");
    return error_set(err, -errno, "disk %s: cannot lock: %s", b->path, strerror(errno));
}

/* Opens (path), or with (dirfd) >= 0 its last component relative to (dirfd) without following
 * a symlink (backing=same-dir). Through the descriptor cache (base/fdcache.h): a reboot gets the
 * descriptor of the first open. Returns the descriptor, or -1 with errno set. */
static int open_file(const char *path, int dirfd, int flags)
{
    const char *leaf = strrchr(path, '/');
    int fd = dirfd < 0 ? fdcache_open(path, flags)
                       : fdcache_openat(dirfd, leaf ? leaf + 1 : path, path, flags | O_NOFOLLOW);

    if (fd < 0) {
        errno = -fd;
        return -1;
    }
    return fd;
}

static int open_fds(struct blk *b, const struct blk_open_opts *opts, int dirfd, struct error *err)
{
    int flags = (b->is_readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC;
    struct stat st, dst;

    /* O_NONBLOCK until the type is known: a read-only open of a FIFO would wait for a writer */
    b->bfd = open_file(opts->path, dirfd, flags | O_NONBLOCK);
    if (b->bfd < 0 && dirfd >= 0 && errno == ELOOP)
        return error_set(err, -ELOOP, "disk %s: a symlink, not followed (backing=same-dir)",
                         opts->path);
    if (b->bfd < 0 && errno == EISDIR) /* a writable open of a directory */
        return error_set(err, -EINVAL, "disk %s: not a regular file or block device", b->path);
    if (b->bfd < 0)
        return error_set(err, -errno, "disk %s: %s", opts->path, strerror(errno));
    if (fstat(b->bfd, &st) < 0)
        return error_set(err, -errno, "disk %s: %s", opts->path, strerror(errno));
    if (dirfd >= 0 && !S_ISREG(st.st_mode))
        return error_set(err, -EPERM, "disk %s: not a regular file (backing=same-dir)", opts->path);
    if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
        return error_set(err, -EINVAL, "disk %s: not a regular file or block device", b->path);
    if (fcntl(b->bfd, F_SETFL, fcntl(b->bfd, F_GETFL) & ~O_NONBLOCK) < 0)
        return error_set(err, -errno, "disk %s: %s", opts->path, strerror(errno));
    b->dev = st.st_dev;
    b->ino = st.st_ino;
    for (const struct blk *p = b->parent; p; p = p->parent)
        if (p->dev == b->dev && p->ino == b->ino)
            return error_set(err, -ELOOP, "disk %s: backing chain loops back to %s", b->path,
                             p->path);
    b->dio_align = 512;
    if (S_ISBLK(st.st_mode)) {
        int ssz = 512;
        b->is_bdev = true;
        if (ioctl(b->bfd, BLKGETSIZE64, &b->file_size_bytes) < 0)
            return error_set(err, -errno, "disk %s: BLKGETSIZE64: %s", b->path, strerror(errno));
        if (ioctl(b->bfd, BLKSSZGET, &ssz) == 0 && ssz >= 512 && IS_POW2(ssz))
            b->dio_align = (unsigned)ssz;
    } else {
        b->file_size_bytes = (uint64_t)st.st_size;
    }
    b->fd = b->bfd;
    if (opts->cache == BLK_CACHE_NONE) {
        b->fd = open_file(opts->path, dirfd, flags | O_DIRECT);
        if (b->fd < 0) {
            b->fd = b->bfd;
            return error_set(err, -errno, "disk %s: cache=none needs O_DIRECT: %s", b->path,
                             strerror(errno));
        }
        b->is_direct = true;
        if (fstat(b->fd, &dst) < 0 || dst.st_dev != st.st_dev || dst.st_ino != st.st_ino)
            return error_set(err, -EAGAIN, "disk %s: replaced while being opened", b->path);
        if (!b->parent && blk_bounce_pool_create(&b->bounce) < 0)
            return error_set(err, -ENOMEM, "out of memory");
    }
    return 0;
}

static int probe_format(struct blk *b, enum blk_format *fmt, struct error *err)
{
    uint8_t magic[4] = {0};
    int ret;

    if (*fmt != BLK_FORMAT_AUTO)
        return 0;
    *fmt = BLK_FORMAT_RAW;
    if (b->file_size_bytes < sizeof(magic))
        return 0;
    ret = pread_full(b->bfd, magic, sizeof(magic), 0);
    if (ret < 0)
        return error_set(err, ret, "disk %s: cannot read header: %s", b->path, strerror(-ret));
    if (memcmp(magic, "QFI\xfb", 4) == 0)
        *fmt = BLK_FORMAT_QCOW2;
    return 0;
}

static int start_engine(struct blk *b)
{
    const char *env = getenv("BAREIRON_BLK_ENGINE");
    int ret = -ENOTSUP;

    if (!b->needs_sync_engine && !(env && strcmp(env, "sync") == 0)) {
        ret = engine_uring_create(b->loop, URING_DEPTH, &b->engine);
        if (ret == 0)
            return 0;
        log_info("%s: io_uring unavailable (%s), using the thread-pool engine", b->path,
                 strerror(-ret));
    }
    return engine_sync_create(b->loop, SYNC_THREADS, &b->engine);
}

int blk_open_chain(const struct blk_open_opts *opts, struct evloop *loop, const struct blk *parent,
                   int dirfd, struct blk **out, struct error *err)
{
    enum blk_format fmt = opts->format;
    struct blk *b = calloc(1, sizeof(*b));
    int ret;

    if (!b)
        return error_set(err, -ENOMEM, "out of memory");
    b->fd = b->bfd = -1;
    b->is_readonly = opts->is_readonly;
    b->cache = opts->cache;
    b->backing = opts->backing;
    b->needs_sync_engine = opts->needs_sync_engine;
    b->is_scratch = opts->is_scratch && !opts->is_readonly;
    b->is_repair = opts->is_repair && !parent;
    b->depth = parent ? parent->depth + 1 : 0;
    b->parent = parent;
    b->bounce = parent ? parent->bounce : NULL; /* one pool for the whole chain */
    b->path = strdup(opts->path ? opts->path : "");
    if (!b->path || !opts->path) {
        ret = error_set(err, -EINVAL, "disk: no path");
        goto err_close;
    }
    ret = open_fds(b, opts, dirfd, err);
    if (ret == 0)
        ret = take_lock(b, err);
    if (ret == 0)
        ret = probe_format(b, &fmt, err);
    if (ret < 0)
        goto err_close;
    b->loop = loop;
    if (!loop) {
        ret = evloop_create(&b->loop);
        if (ret < 0) {
            error_set(err, ret, "disk %s: cannot create event loop", b->path);
            goto err_close;
        }
        b->owns_loop = true;
    }
    ret = start_engine(b);
    if (ret < 0) {
        error_set(err, ret, "disk %s: cannot start I/O engine: %s", b->path, strerror(-ret));
        goto err_close;
    }
    ret = fmt == BLK_FORMAT_QCOW2 ? qcow2_open(b, err) : raw_open(b, err);
    if (ret < 0)
        goto err_close;
    *out = b;
    return 0;

err_close:
    b->drv = NULL;
    blk_close(b);
    return ret;
}

int blk_open(const struct blk_open_opts *opts, struct evloop *loop, struct blk **out,
             struct error *err)
{
    return blk_open_chain(opts, loop, NULL, -1, out, err);
}

void blk_close(struct blk *b)
{
    if (!b)
        return;
    while (b->inflight > 0 && b->loop)
        evloop_run_once(b->loop, 100);
    if (b->drv && !b->is_readonly && blk_flush(b) < 0)
        log_warn("%s: flush on close failed", b->path);
    if (b->drv)
        b->drv->close(b);
    engine_destroy(b->engine);
    if (!b->parent)
        blk_bounce_pool_destroy(b->bounce);
    if (b->owns_loop) {
        /* sync engine completions may still be queued as deferred calls: run them out */
        evloop_run_once(b->loop, 0);
        evloop_destroy(b->loop);
    }
    if (b->fd >= 0 && b->fd != b->bfd)
        close(b->fd);
    if (b->bfd >= 0)
        close(b->bfd);
    free(b->path);
    free(b);
}

/* ---- synchronous helpers ---- */

struct sync_wait {
    bool is_done;
    int ret;
};

static void sync_done(struct blk_req *req, int ret)
{
    struct sync_wait *w = req->opaque;

    w->is_done = true;
    w->ret = ret;
}

static int run_sync(struct blk *b, enum blk_op op, void *buf, uint64_t len, uint64_t off)
{
    struct iovec iov = {buf, (size_t)len};
    struct sync_wait w = {0};
    struct blk_req req = {.op = op,
                          .offset_bytes = off,
                          .len_bytes = len,
                          .iov = &iov,
                          .iovcnt = buf ? 1 : 0,
                          .done = sync_done,
                          .opaque = &w};
    int ret = blk_submit(b, &req);

    if (ret < 0)
        return ret;
    while (!w.is_done) {
        ret = evloop_run_once(b->loop, -1);
        if (ret < 0 && ret != -EINTR)
            return ret;
    }
    return w.ret;
}

int blk_pread(struct blk *b, void *buf, uint64_t len, uint64_t off)
{
    return run_sync(b, BLK_OP_READ, buf, len, off);
}

int blk_pwrite(struct blk *b, const void *buf, uint64_t len, uint64_t off)
{
    return run_sync(b, BLK_OP_WRITE, (void *)(uintptr_t)buf, len, off);
}

int blk_flush(struct blk *b)
{
    return run_sync(b, BLK_OP_FLUSH, NULL, 0, 0);
}

int blk_discard(struct blk *b, uint64_t len, uint64_t off, bool is_write_zeroes)
{
    return run_sync(b, is_write_zeroes ? BLK_OP_WRITE_ZEROES : BLK_OP_DISCARD, NULL, len, off);
}

int blk_block_status(struct blk *b, uint64_t off, uint64_t len, uint64_t *pnum_bytes, bool *is_zero)
{
    int ret;

    if (len == 0 || range_outside(off, len, b->size_bytes))
        return -EINVAL;
    ret = b->drv->block_status(b, off, len, pnum_bytes, is_zero);
    if (ret == 0 && (*pnum_bytes == 0 || *pnum_bytes > len))
        PANIC("blk: %s block_status returned a bad length", b->drv->name);
    return ret;
}

int blk_backing_parse(const char *s, enum blk_backing *out)
{
    if (strcmp(s, "same-dir") == 0)
        *out = BLK_BACKING_SAME_DIR;
    else if (strcmp(s, "none") == 0)
        *out = BLK_BACKING_NONE;
    else if (strcmp(s, "any") == 0)
        *out = BLK_BACKING_ANY;
    else
        return -EINVAL;
    return 0;
}

enum blk_backing blk_backing_needed(const char *name)
{
    if (strchr(name, '/') || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return BLK_BACKING_ANY;
    return BLK_BACKING_SAME_DIR;
}

const char *blk_backing_name(enum blk_backing policy)
{
    switch (policy) {
    case BLK_BACKING_NONE:
        return "none";
    case BLK_BACKING_ANY:
        return "any";
    case BLK_BACKING_SAME_DIR:
    default:
        return "same-dir";
    }
}

const char *blk_format(const struct blk *b)
{
    return b->drv ? b->drv->name : "none";
}

const char *blk_engine(const struct blk *b)
{
    return b->engine ? b->engine->ops->name : "none";
}

void blk_plug(struct blk *b)
{
    if (b->engine->ops->plug)
        b->engine->ops->plug(b->engine, true);
}

void blk_unplug(struct blk *b)
{
    if (b->engine->ops->plug)
        b->engine->ops->plug(b->engine, false);
}

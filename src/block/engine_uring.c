/* SPDX-License-Identifier: MIT */
/*
 * The io_uring I/O engine (io_uring(7), liburing 2.x): one ring per disk, its completion
 * eventfd registered with io_uring_register_eventfd and watched by the event loop, so
 * completions are reaped and delivered on the loop thread. Short transfers are resubmitted for
 * the remainder; reads that hit end of file are zero-filled. File discard and zeroing are
 * IORING_OP_FALLOCATE (the kernel runs them in its io-wq workers). Block-device discard/zero-out
 * have no io_uring opcode on our target kernels, and function calls (EIO_CALL) none at all: they
 * go to a one-thread pool of the thread-pool engine, started the first time one is submitted
 * (where that fails they run synchronously and their result is delivered through an
 * IORING_OP_NOP, so the callback still never runs inside submit).
 */
#define LOG_TAG "blk-uring"
#include "block/engine.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "base/evloop.h"
#include "base/log.h"

#ifdef HAVE_LIBURING
#include <liburing.h>

struct engine_uring {
    struct engine e;
    struct io_uring ring;
    int efd;
    bool is_reaping; /* submissions from completion callbacks go in with the reap's submit */
    bool is_plugged; /* blk_plug: submissions go in at blk_unplug */
    struct eio *wait_head, *wait_tail; /* waiting for a free SQE */
    struct engine *helper;             /* thread pool for BDEV_* and CALL, NULL until needed */
};

static bool needs_thread(const struct eio *io)
{
    return io->op == EIO_BDEV_DISCARD || io->op == EIO_BDEV_ZEROOUT || io->op == EIO_CALL;
}

/* Advances (io)'s iov array in place by (n) bytes. */
static void eio_advance(struct eio *io, size_t n)
{
    while (n > 0 && io->iovcnt > 0) {
        if (n < io->iov->iov_len) {
            io->iov->iov_base = (char *)io->iov->iov_base + n;
            io->iov->iov_len -= n;
            return;
        }
        n -= io->iov->iov_len;
        io->iov++;
        io->iovcnt--;
    }
}

/* Fills one SQE for (io). Returns false when the ring has no free SQE. */
static bool prep(struct engine_uring *u, struct eio *io)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);
    uint64_t off = io->off + io->done_bytes;

    if (!sqe)
        return false;
    switch (io->op) {
    case EIO_READ: /* one buffer: the non-vectored opcode skips the iovec import */
        if (io->iovcnt == 1)
            io_uring_prep_read(sqe, io->fd, io->iov->iov_base, (unsigned)io->iov->iov_len, off);
        else
            io_uring_prep_readv(sqe, io->fd, io->iov, (unsigned)MIN(io->iovcnt, IOV_MAX), off);
        break;
    case EIO_WRITE:
        if (io->iovcnt == 1)
            io_uring_prep_write(sqe, io->fd, io->iov->iov_base, (unsigned)io->iov->iov_len, off);
        else
            io_uring_prep_writev(sqe, io->fd, io->iov, (unsigned)MIN(io->iovcnt, IOV_MAX), off);
        break;
    case EIO_FSYNC:
        io_uring_prep_fsync(sqe, io->fd, IORING_FSYNC_DATASYNC);
        break;
    case EIO_FALLOC:
        io_uring_prep_fallocate(sqe, io->fd, io->falloc_mode, io->off, io->len);
        break;
    case EIO_BDEV_DISCARD:
    case EIO_BDEV_ZEROOUT:
    case EIO_CALL:
        io_uring_prep_nop(sqe); /* no helper thread: result computed synchronously in io->ret */
        break;
    }
    io_uring_sqe_set_data(sqe, io);
    return true;
}

static void queue_or_wait(struct engine_uring *u, struct eio *io)
{
    if (prep(u, io))
        return;
    io->next = NULL;
    if (u->wait_tail)
        u->wait_tail->next = io;
    else
        u->wait_head = io;
    u->wait_tail = io;
}

/* Handles one CQE result. Returns true when (io) is finished, with io->ret set. */
static bool finish_cqe(struct engine_uring *u, struct eio *io, int res)
{
    if (needs_thread(io))
        return true;
    if (res == -EINTR || res == -EAGAIN) {
        queue_or_wait(u, io);
        return false;
    }
    if (res < 0 || (io->op != EIO_READ && io->op != EIO_WRITE)) {
        io->ret = res < 0 ? res : 0;
        return true;
    }
    if (res == 0 && io->op == EIO_READ) { /* end of file: the rest reads as zeros */
        for (int i = 0; i < io->iovcnt; i++)
            memset(io->iov[i].iov_base, 0, io->iov[i].iov_len);
        io->ret = 0;
        return true;
    }
    if (res == 0) {
        io->ret = -EIO;
        return true;
    }
    io->done_bytes += (uint64_t)res;
    if (io->done_bytes >= io->len) {
        io->ret = 0;
        return true;
    }
    eio_advance(io, (size_t)res);
    queue_or_wait(u, io);
    return false;
}

static void reap(void *opaque, uint32_t events)
{
    struct engine_uring *u = opaque;
    struct io_uring_cqe *cqe;
    uint64_t cnt;
    (void)events;

    if (read(u->efd, &cnt, sizeof(cnt)) < 0 && errno != EAGAIN)
        log_warn("eventfd read: %s", strerror(errno));
    u->is_reaping = true;
    for (;;) {
        while (io_uring_peek_cqe(&u->ring, &cqe) == 0) {
            struct eio *io = io_uring_cqe_get_data(cqe);
            int res = cqe->res;
            io_uring_cqe_seen(&u->ring, cqe);
            if (finish_cqe(u, io, res)) {
                u->e.inflight--;
                io->done(io, io->ret);
            }
        }
        /* Free SQEs now: move waiters in. */
        while (u->wait_head && prep(u, u->wait_head)) {
            u->wait_head = u->wait_head->next;
            if (!u->wait_head)
                u->wait_tail = NULL;
        }
        if (io_uring_sq_ready(&u->ring) == 0)
            break;
        int ret = io_uring_submit(&u->ring);
        if (ret < 0) {
            log_error("io_uring_submit: %s", strerror(-ret));
            break;
        }
    }
    u->is_reaping = false;
}

static int uring_submit(struct engine *e, struct eio *io)
{
    struct engine_uring *u = container_of(e, struct engine_uring, e);
    int ret;

    io->ret = 0;
    io->done_bytes = 0;
    io->next = NULL;
    if (needs_thread(io)) {
        if (!u->helper && engine_sync_create(e->loop, 1, &u->helper) < 0)
            u->helper = NULL;
        if (u->helper)
            return engine_submit(u->helper, io); /* completes through the loop as usual */
        io->ret = eio_execute(io);
    }
    e->inflight++;
    queue_or_wait(u, io);
    if (u->is_reaping || u->is_plugged)
        return 0;
    ret = io_uring_submit(&u->ring);
    if (ret < 0 && ret != -EBUSY && ret != -EAGAIN) {
        /* The SQE stays queued; it goes in with the next submit. Report nothing here, since
         * the io may already be owned by the ring. */
        log_warn("io_uring_submit: %s", strerror(-ret));
    }
    return 0;
}

static void uring_plug(struct engine *e, bool is_plugged)
{
    struct engine_uring *u = container_of(e, struct engine_uring, e);
    int ret;

    u->is_plugged = is_plugged;
    if (is_plugged || io_uring_sq_ready(&u->ring) == 0)
        return;
    ret = io_uring_submit(&u->ring);
    if (ret < 0 && ret != -EBUSY && ret != -EAGAIN)
        log_warn("io_uring_submit: %s", strerror(-ret));
}

static void uring_destroy(struct engine *e)
{
    struct engine_uring *u = container_of(e, struct engine_uring, e);

    engine_destroy(u->helper);
    if (u->e.loop)
        evloop_del(u->e.loop, u->efd);
    io_uring_queue_exit(&u->ring);
    close(u->efd);
    free(u);
}

static const struct engine_ops uring_ops = {
    .name = "io_uring",
    .submit = uring_submit,
    .plug = uring_plug,
    .destroy = uring_destroy,
};

int engine_uring_create(struct evloop *loop, unsigned depth, struct engine **out)
{
    struct engine_uring *u = calloc(1, sizeof(*u));
    int ret;

    if (!u)
        return -ENOMEM;
    u->e.ops = &uring_ops;
    u->e.loop = loop;
    ret = io_uring_queue_init(depth, &u->ring, 0);
    if (ret < 0)
        goto err_free;
    u->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (u->efd < 0) {
        ret = -errno;
        goto err_exit;
    }
    ret = io_uring_register_eventfd(&u->ring, u->efd);
    if (ret < 0)
        goto err_close;
    ret = evloop_add(loop, u->efd, EPOLLIN, reap, u);
    if (ret < 0)
        goto err_close;
    *out = &u->e;
    return 0;

err_close:
    close(u->efd);
err_exit:
    io_uring_queue_exit(&u->ring);
err_free:
    free(u);
    return ret;
}

#else

int engine_uring_create(struct evloop *loop, unsigned depth, struct engine **out)
{
    (void)loop;
    (void)depth;
    (void)out;
    return -ENOTSUP;
}

#endif

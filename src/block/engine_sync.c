/* SPDX-License-Identifier: MIT */
/*
 * The thread-pool I/O engine: a few worker threads take eios from a queue and run them with
 * preadv/pwritev/fdatasync/fallocate/ioctl (preadv(2), fallocate(2), BLKDISCARD in
 * linux/fs.h) or call functions (EIO_CALL); each completion is handed back to the event loop
 * thread with evloop_call. Used where io_uring is unavailable (io_uring_queue_init fails) or
 * when asked for, and by the io_uring engine for the operations it has no opcode for.
 */
#define LOG_TAG "blk-sync"
#include "block/engine.h"

#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "base/evloop.h"
#include "base/log.h"
#include "base/thread_class.h"

#define SYNC_MAX_THREADS 16

struct engine_sync {
    struct engine e;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct eio *head, *tail; /* queued, protected by lock */
    bool is_stopping;
    unsigned nthreads;
    pthread_t threads[SYNC_MAX_THREADS];
};

/* Advances (iov, *cnt) by (n) bytes in place. */
static void iov_advance(struct iovec **iov, int *cnt, size_t n)
{
    while (n > 0 && *cnt > 0) {
        if (n < (*iov)->iov_len) {
            (*iov)->iov_base = (char *)(*iov)->iov_base + n;
            (*iov)->iov_len -= n;
            return;
        }
        n -= (*iov)->iov_len;
        (*iov)++;
        (*cnt)--;
    }
}

static void iov_zero(const struct iovec *iov, int cnt)
{
    for (int i = 0; i < cnt; i++)
        memset(iov[i].iov_base, 0, iov[i].iov_len);
}

static int exec_rw(struct eio *io)
{
    struct iovec *iov = io->iov;
    int cnt = io->iovcnt;
    uint64_t off = io->off, left = io->len;

    while (left > 0 && cnt > 0) {
        ssize_t n = io->op == EIO_READ ? preadv(io->fd, iov, MIN(cnt, IOV_MAX), (off_t)off)
                                       : pwritev(io->fd, iov, MIN(cnt, IOV_MAX), (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0) {
            if (io->op == EIO_WRITE)
                return -EIO;
            iov_zero(iov, cnt); /* end of file reads as zeros */
            return 0;
        }
        iov_advance(&iov, &cnt, (size_t)n);
        off += (uint64_t)n;
        left -= MIN(left, (uint64_t)n);
    }
    return 0;
}

int eio_execute(struct eio *io)
{
    uint64_t range[2] = {io->off, io->len};

    switch (io->op) {
    case EIO_READ:
    case EIO_WRITE:
        return exec_rw(io);
    case EIO_FSYNC:
        return fdatasync(io->fd) < 0 ? -errno : 0;
    case EIO_FALLOC:
        return fallocate(io->fd, io->falloc_mode, (off_t)io->off, (off_t)io->len) < 0 ? -errno : 0;
    case EIO_BDEV_DISCARD:
        return ioctl(io->fd, BLKDISCARD, range) < 0 ? -errno : 0;
    case EIO_BDEV_ZEROOUT:
        return ioctl(io->fd, BLKZEROOUT, range) < 0 ? -errno : 0;
    case EIO_CALL:
        return io->call(io->arg);
    }
    return -EINVAL;
}

/* Runs on the loop thread: delivers one completion. */
static void sync_complete(void *opaque)
{
    struct eio *io = opaque;

    io->done(io, io->ret);
}

static void *worker(void *opaque)
{
    struct engine_sync *s = opaque;

    thread_class_enter(THREAD_CLASS_BLK_WORKER);
    log_set_thread_name("blk-worker");
    pthread_mutex_lock(&s->lock);
    for (;;) {
        while (!s->head && !s->is_stopping)
            pthread_cond_wait(&s->cond, &s->lock);
        if (!s->head)
            break;
        struct eio *io = s->head;
        s->head = io->next;
        if (!s->head)
            s->tail = NULL;
        pthread_mutex_unlock(&s->lock);
        io->ret = eio_execute(io);
        io->next = NULL;
        while (evloop_call(s->e.loop, sync_complete, io) < 0)
            usleep(1000); /* out of memory: retry rather than lose a completion */
        pthread_mutex_lock(&s->lock);
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

static int sync_submit(struct engine *e, struct eio *io)
{
    struct engine_sync *s = container_of(e, struct engine_sync, e);

    io->next = NULL;
    io->ret = 0;
    pthread_mutex_lock(&s->lock);
    if (s->tail)
        s->tail->next = io;
    else
        s->head = io;
    s->tail = io;
    pthread_cond_signal(&s->cond);
    pthread_mutex_unlock(&s->lock);
    return 0;
}

static void sync_destroy(struct engine *e)
{
    struct engine_sync *s = container_of(e, struct engine_sync, e);

    /* Workers drain the queue before they see is_stopping with an empty queue. */
    pthread_mutex_lock(&s->lock);
    s->is_stopping = true;
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->lock);
    for (unsigned i = 0; i < s->nthreads; i++)
        pthread_join(s->threads[i], NULL);
    pthread_cond_destroy(&s->cond);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

static const struct engine_ops sync_ops = {
    .name = "sync",
    .submit = sync_submit,
    .destroy = sync_destroy,
};

int engine_sync_create(struct evloop *loop, unsigned nthreads, struct engine **out)
{
    struct engine_sync *s = calloc(1, sizeof(*s));
    int ret;

    if (!s)
        return -ENOMEM;
    s->e.ops = &sync_ops;
    s->e.loop = loop;
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->cond, NULL);
    nthreads = MAX(1u, MIN(nthreads, (unsigned)SYNC_MAX_THREADS));
    for (; s->nthreads < nthreads; s->nthreads++) {
        ret = -pthread_create(&s->threads[s->nthreads], NULL, worker, s);
        if (ret < 0)
            goto err_stop;
    }
    *out = &s->e;
    return 0;

err_stop:
    sync_destroy(&s->e);
    return ret;
}

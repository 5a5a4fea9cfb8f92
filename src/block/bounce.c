/* SPDX-License-Identifier: MIT */
/*
 * Bounce buffers for O_DIRECT transfers (cache=none) whose buffers are not aligned: the data
 * moves through aligned chunks of at most BLK_BOUNCE_CHUNK_BYTES taken from a pool capped at
 * BLK_BOUNCE_POOL_BYTES, shared by a disk and its backing chain. A transfer goes chunk by chunk;
 * while the pool is exhausted it waits (first come, first served) and resumes when a chunk is
 * given back. However large or aliased a guest's requests are, the monitor holds at most the
 * pool per disk for them (two 1022 MiB requests over one aliased 1 MiB buffer held 2 GiB when
 * each bounced through one allocation of its whole length).
 */
#define LOG_TAG "blk"
#include "block/blk_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/util.h"

struct bounce_io;

struct bounce_pool {
    uint64_t in_use_bytes;
    uint64_t peak_bytes;
    struct bounce_io *wait_head, *wait_tail; /* transfers waiting for room, FIFO */
};

struct bounce_io {
    struct blk *b;
    struct eio eio;
    struct iovec chunk_iov; /* the engine may advance it on a short transfer */
    void *buf;              /* the chunk in flight */
    size_t buf_len;
    enum eio_op op;
    int fd;
    uint64_t off, len, done_bytes;
    blk_io_done_fn done;
    void *opaque;
    struct bounce_io *next;
    int iovcnt;
    struct iovec iov[]; /* the caller's buffers (the array is copied, the memory is not) */
};

int blk_bounce_pool_create(struct bounce_pool **out)
{
    *out = calloc(1, sizeof(**out));
    return *out ? 0 : -ENOMEM;
}

void blk_bounce_pool_destroy(struct bounce_pool *p)
{
    if (p == NULL)
        return;
    if (p->wait_head != NULL || p->in_use_bytes != 0)
        PANIC("blk: bounce pool destroyed with transfers in flight");
    free(p);
}

uint64_t blk_bounce_peak_bytes(const struct blk *b)
{
    return b->bounce ? b->bounce->peak_bytes : 0;
}

static size_t chunk_len(const struct bounce_io *bio)
{
    return (size_t)MIN(bio->len - bio->done_bytes, (uint64_t)BLK_BOUNCE_CHUNK_BYTES);
}

static bool has_room(const struct bounce_pool *p, const struct bounce_io *bio)
{
    return p->in_use_bytes + chunk_len(bio) <= BLK_BOUNCE_POOL_BYTES;
}

static void enqueue(struct bounce_pool *p, struct bounce_io *bio)
{
    bio->next = NULL;
    if (p->wait_tail)
        p->wait_tail->next = bio;
    else
        p->wait_head = bio;
    p->wait_tail = bio;
}

static void release_chunk(struct bounce_pool *p, struct bounce_io *bio)
{
    p->in_use_bytes -= bio->buf_len;
    free(bio->buf);
    bio->buf = NULL;
    bio->buf_len = 0;
}

static void finish(struct bounce_io *bio, int ret)
{
    bio->done(bio->opaque, ret);
    free(bio);
}

static void chunk_done(struct eio *io, int ret);

/* Takes a chunk from the pool (the caller checked the room) and starts its transfer. */
static int start_chunk(struct bounce_io *bio)
{
    struct bounce_pool *p = bio->b->bounce;
    size_t n = chunk_len(bio);
    int ret;

    if (posix_memalign(&bio->buf, MAX(bio->b->dio_align, 4096u), n))
        return -ENOMEM;
    bio->buf_len = n;
    p->in_use_bytes += n;
    p->peak_bytes = MAX(p->peak_bytes, p->in_use_bytes);
    if (bio->op == EIO_WRITE)
        iov_to_buf(bio->iov, bio->iovcnt, bio->done_bytes, bio->buf, n);
    bio->chunk_iov = (struct iovec){bio->buf, n};
    bio->eio = (struct eio){.op = bio->op,
                            .fd = bio->fd,
                            .iov = &bio->chunk_iov,
                            .iovcnt = 1,
                            .off = bio->off + bio->done_bytes,
                            .len = n,
                            .done = chunk_done,
                            .opaque = bio};
    ret = engine_submit(bio->b->engine, &bio->eio);
    if (ret < 0)
        release_chunk(p, bio);
    return ret;
}

/* Starts the waiting transfers the pool has room for, in order. Loop thread. */
static void pump(struct bounce_pool *p)
{
    while (p->wait_head && has_room(p, p->wait_head)) {
        struct bounce_io *bio = p->wait_head;
        int ret;

        p->wait_head = bio->next;
        if (!p->wait_head)
            p->wait_tail = NULL;
        ret = start_chunk(bio);
        if (ret < 0)
            finish(bio, ret);
    }
}

static void chunk_done(struct eio *io, int ret)
{
    struct bounce_io *bio = io->opaque;
    struct bounce_pool *p = bio->b->bounce;

    if (ret == 0 && bio->op == EIO_READ)
        iov_from_buf(bio->iov, bio->iovcnt, bio->done_bytes, bio->buf, bio->buf_len);
    bio->done_bytes += bio->buf_len;
    release_chunk(p, bio);
    if (ret == 0 && bio->done_bytes < bio->len)
        enqueue(p, bio); /* behind the others: one guest request cannot hog the pool */
    else
        finish(bio, ret);
    pump(p);
}

int blk_bounce_submit(struct blk *b, enum eio_op op, int fd, const struct iovec *iov, int iovcnt,
                      uint64_t off, uint64_t len, blk_io_done_fn done, void *opaque)
{
    struct bounce_pool *p = b->bounce;
    struct bounce_io *bio;
    int ret;

    if (p == NULL || iovcnt < 0 || len == 0 || (op != EIO_READ && op != EIO_WRITE))
        return -EINVAL;
    bio = calloc(1, sizeof(*bio) + sizeof(struct iovec) * (size_t)iovcnt);
    if (bio == NULL)
        return -ENOMEM;
    *bio = (struct bounce_io){.b = b,
                              .op = op,
                              .fd = fd,
                              .off = off,
                              .len = len,
                              .done = done,
                              .opaque = opaque,
                              .iovcnt = iovcnt};
    memcpy(bio->iov, iov, sizeof(*iov) * (size_t)iovcnt);
    if (p->wait_head != NULL || !has_room(p, bio)) {
        enqueue(p, bio);
        return 0;
    }
    ret = start_chunk(bio);
    if (ret < 0)
        free(bio);
    return ret;
}

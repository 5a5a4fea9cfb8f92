/* SPDX-License-Identifier: MIT */
/* In-memory block/blk.h for unit tests (see blk_mem.h). Single-threaded. */
#include "blk_mem.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define BLK_MEM_MAX_PENDING 4096

struct blk {
    uint8_t *data;
    uint64_t size_bytes;
    bool is_readonly;
    int submit_error;
    struct blk_req *pending[BLK_MEM_MAX_PENDING];
    unsigned npending;
    unsigned counts[BLK_OP_WRITE_ZEROES + 1];
    bool is_plugged;
    unsigned batches;         /* unplugs that released at least one request */
    unsigned plugged_submits; /* submits since the last unplug, while plugged */
};

struct blk *blk_mem_create(uint64_t size_bytes, bool is_readonly)
{
    struct blk *b = calloc(1, sizeof(*b));
    if (b == NULL)
        abort();
    b->data = calloc(1, size_bytes ? size_bytes : 1);
    if (b->data == NULL)
        abort();
    b->size_bytes = size_bytes;
    b->is_readonly = is_readonly;
    return b;
}

uint8_t *blk_mem_data(struct blk *b)
{
    return b->data;
}

unsigned blk_mem_pending(const struct blk *b)
{
    return b->npending;
}

void blk_mem_set_submit_error(struct blk *b, int err)
{
    b->submit_error = err;
}

unsigned blk_mem_count(const struct blk *b, enum blk_op op)
{
    return b->counts[op];
}

static int do_io(struct blk *b, struct blk_req *r)
{
    uint64_t off = r->offset_bytes;
    if (r->op == BLK_OP_FLUSH)
        return 0;
    if (off > b->size_bytes || r->len_bytes > b->size_bytes - off)
        return -EINVAL;
    if (r->op != BLK_OP_READ && b->is_readonly)
        return -EROFS;
    switch (r->op) {
    case BLK_OP_READ:
    case BLK_OP_WRITE:
        for (int i = 0; i < r->iovcnt; i++) {
            if (r->op == BLK_OP_READ)
                memcpy(r->iov[i].iov_base, b->data + off, r->iov[i].iov_len);
            else
                memcpy(b->data + off, r->iov[i].iov_base, r->iov[i].iov_len);
            off += r->iov[i].iov_len;
        }
        return 0;
    case BLK_OP_DISCARD:
    case BLK_OP_WRITE_ZEROES:
        memset(b->data + off, 0, r->len_bytes);
        return 0;
    default:
        return -EINVAL;
    }
}

unsigned blk_mem_complete(struct blk *b, unsigned max)
{
    unsigned n = 0;
    while (n < max && b->npending > 0) {
        struct blk_req *r = b->pending[0];
        memmove(&b->pending[0], &b->pending[1], (b->npending - 1) * sizeof(b->pending[0]));
        b->npending--;
        b->counts[r->op]++;
        r->done(r, do_io(b, r));
        n++;
    }
    return n;
}

int blk_open(const struct blk_open_opts *opts, struct evloop *loop, struct blk **out,
             struct error *err)
{
    (void)opts;
    (void)loop;
    (void)out;
    (void)err;
    return -ENOTSUP;
}

void blk_close(struct blk *b)
{
    if (b == NULL)
        return;
    blk_mem_complete(b, BLK_MEM_MAX_PENDING);
    free(b->data);
    free(b);
}

uint64_t blk_size_bytes(const struct blk *b)
{
    return b->size_bytes;
}

bool blk_is_readonly(const struct blk *b)
{
    return b->is_readonly;
}

int blk_submit(struct blk *b, struct blk_req *req)
{
    if (b->submit_error != 0)
        return b->submit_error;
    if (b->npending >= BLK_MEM_MAX_PENDING)
        return -EAGAIN;
    b->pending[b->npending++] = req;
    if (b->is_plugged)
        b->plugged_submits++;
    return 0;
}

void blk_plug(struct blk *b)
{
    b->is_plugged = true;
}

void blk_unplug(struct blk *b)
{
    b->is_plugged = false;
    if (b->plugged_submits > 0)
        b->batches++;
    b->plugged_submits = 0;
}

unsigned blk_mem_batches(const struct blk *b)
{
    return b->batches;
}

bool blk_mem_is_plugged(const struct blk *b)
{
    return b->is_plugged;
}

int blk_pread(struct blk *b, void *buf, uint64_t len, uint64_t off)
{
    if (off > b->size_bytes || len > b->size_bytes - off)
        return -EINVAL;
    memcpy(buf, b->data + off, len);
    return 0;
}

int blk_pwrite(struct blk *b, const void *buf, uint64_t len, uint64_t off)
{
    if (b->is_readonly)
        return -EROFS;
    if (off > b->size_bytes || len > b->size_bytes - off)
        return -EINVAL;
    memcpy(b->data + off, buf, len);
    return 0;
}

int blk_flush(struct blk *b)
{
    (void)b;
    return 0;
}

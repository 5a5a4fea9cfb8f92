/* SPDX-License-Identifier: MIT */
/*
 * The qcow2 format driver (QEMU docs/interop/qcow2.txt, versions 2 and 3): open with full
 * validation, the backing chain (relative names resolved against the image's directory, the
 * recorded backing format honoured, depth-limited), and request handling. Guest ranges are
 * turned into runs of host extents: allocated clusters go to the I/O engine asynchronously
 * (contiguous host clusters merged into one transfer), unallocated ones to the backing disk
 * as sub-requests, zero clusters are memset. Allocating writes, discards, write-zeroes and
 * compressed cluster reads run as jobs on an engine worker thread (jobs.c); while one runs, the
 * chain's requests wait for its end. Lookups in L2 tables run on the loop thread, reading a
 * table that is not cached (docs/disks.md).
 */
#define LOG_TAG "qcow2"
#include "block/qcow2/qcow2.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/ckd.h"
#include "base/evloop.h"
#include "base/log.h"

#define RUN_MAX_BYTES (16u << 20)

/* One run of guest clusters of the same kind. */
struct run {
    enum qcow2_ctype type;
    uint64_t host; /* NORMAL: host offset of the run's first byte */
    uint64_t entry;
    uint64_t len;
};

/* Finds the run starting at guest (voff), at most (left) bytes. */
static int next_run(struct qcow2 *s, uint64_t voff, uint64_t left, struct run *r)
{
    uint64_t cs = s->cluster_size, in = voff & (cs - 1), entry, host;
    int ret = qcow2_l2_lookup(s, voff, &entry);

    if (ret < 0)
        return ret;
    r->entry = entry;
    r->type = qcow2_entry_type(s, entry, &host);
    r->host = host + in;
    r->len = MIN(left, cs - in);
    if (r->type == QCOW2_NORMAL && (host % cs || host >= s->host_end))
        return -EIO;
    if (r->type == QCOW2_COMPRESSED)
        return 0;
    while (r->len < left && r->len < RUN_MAX_BYTES) {
        uint64_t nv = voff + r->len, h2;
        ret = qcow2_l2_lookup(s, nv, &entry);
        if (ret < 0)
            return ret;
        if (qcow2_entry_type(s, entry, &h2) != r->type || ((entry ^ r->entry) & QCOW2_OFLAG_COPIED))
            break;
        if (r->type == QCOW2_NORMAL && (h2 != r->host + r->len || h2 >= s->host_end))
            break;
        r->len += MIN(left - r->len, cs);
    }
    return 0;
}

struct backing_piece {
    struct blk *b;
    struct blk_req *parent;
    struct blk_req sub;
    struct iovec iov[];
};

static void backing_done(struct blk_req *sub, int ret)
{
    struct backing_piece *p = sub->opaque;

    blk_req_put(p->b, p->parent, ret);
    free(p);
}

/* A data transfer of (req) to this image's clusters; priv[3] holds its reuse.c tag (all the
 * pieces of one request are submitted together and share it). */
static void engine_done(void *opaque, int ret)
{
    struct blk_req *req = opaque;
    struct blk *b = (struct blk *)(uintptr_t)req->priv[2];

    qcow2_io_end(qcow2_of(b), (unsigned)req->priv[3]);
    blk_req_put(b, req, ret);
}

static int submit_data(struct blk *b, struct blk_req *req, enum eio_op op, const struct iovec *iov,
                       int n, uint64_t host, uint64_t len)
{
    int ret;

    blk_req_hold(req);
    req->priv[3] = qcow2_io_begin(qcow2_of(b));
    ret = blk_io_submit(b, op, b->fd, iov, n, host, len, 0, engine_done, req);
    if (ret < 0) {
        req->priv[0]--;
        qcow2_io_end(qcow2_of(b), (unsigned)req->priv[3]);
    }
    return ret;
}

/* Reads run (r) at guest (voff) into the request's iov at (skip). */
static int read_run(struct blk *b, struct blk_req *req, const struct run *r, uint64_t voff,
                    uint64_t skip, struct iovec *tmp)
{
    struct qcow2 *s = qcow2_of(b);
    int ret, n;

    switch (r->type) {
    case QCOW2_NORMAL:
        n = iov_slice(tmp, req->iovcnt, req->iov, req->iovcnt, skip, r->len);
        return submit_data(b, req, EIO_READ, tmp, n, r->host, r->len);
    case QCOW2_UNALLOC:
        if (s->backing && voff < blk_size_bytes(s->backing)) {
            uint64_t blen = MIN(r->len, blk_size_bytes(s->backing) - voff);
            struct backing_piece *p =
                malloc(sizeof(*p) + sizeof(struct iovec) * (size_t)req->iovcnt);
            if (!p)
                return -ENOMEM;
            p->b = b;
            p->parent = req;
            n = iov_slice(p->iov, req->iovcnt, req->iov, req->iovcnt, skip, blen);
            p->sub = (struct blk_req){.op = BLK_OP_READ,
                                      .offset_bytes = voff,
                                      .iov = p->iov,
                                      .iovcnt = n,
                                      .done = backing_done,
                                      .opaque = p};
            blk_req_hold(req);
            ret = blk_submit(s->backing, &p->sub);
            if (ret < 0) {
                req->priv[0]--;
                free(p);
                return ret;
            }
            iov_memset(req->iov, req->iovcnt, skip + blen, 0, r->len - blen);
            return 0;
        }
        iov_memset(req->iov, req->iovcnt, skip, 0, r->len);
        return 0;
    case QCOW2_ZERO:
        iov_memset(req->iov, req->iovcnt, skip, 0, r->len);
        return 0;
    case QCOW2_COMPRESSED: /* the cluster decompressed last (submit_rw) */
        iov_from_buf(req->iov, req->iovcnt, skip, s->zc_data + (voff & (s->cluster_size - 1)),
                     r->len);
        return 0;
    }
    return -EIO;
}

/* Submits the in-place write of run (r) (allocated clusters). */
static int write_run(struct blk *b, struct blk_req *req, const struct run *r, uint64_t skip,
                     struct iovec *tmp)
{
    int n = iov_slice(tmp, req->iovcnt, req->iov, req->iovcnt, skip, r->len);

    if (qcow2_is_metadata(qcow2_of(b), r->host, r->len)) {
        log_ratelimited(LOG_ERROR, "%s: L2 entry maps guest data onto metadata at %#llx", b->path,
                        (unsigned long long)r->host);
        return -EIO;
    }
    return submit_data(b, req, EIO_WRITE, tmp, n, r->host, r->len);
}

/* True when every cluster of the write is allocated and not shared with a snapshot
 * (QCOW2_OFLAG_COPIED set: no copy-on-write, no metadata change needed). Clusters without the
 * flag go to the allocating path, which copies shared ones and sets the flag on the others. */
static int all_allocated(struct qcow2 *s, uint64_t voff, uint64_t len, bool *yes)
{
    struct run r;
    int ret;

    *yes = true;
    while (len > 0) {
        ret = next_run(s, voff, len, &r);
        if (ret < 0)
            return ret;
        if (r.type != QCOW2_NORMAL || !(r.entry & QCOW2_OFLAG_COPIED)) {
            *yes = false;
            return 0;
        }
        voff += r.len;
        len -= r.len;
    }
    return 0;
}

static int submit_rw(struct blk *b, struct blk_req *req)
{
    struct qcow2 *s = qcow2_of(b);
    uint64_t voff = req->offset_bytes, left = req->len_bytes, skip = 0;
    struct iovec *tmp;
    bool is_inplace = true;
    struct run r;
    int ret = 0;

    if (req->op == BLK_OP_WRITE) {
        ret = all_allocated(s, voff, left, &is_inplace);
        if (ret == 0 && !is_inplace)
            return qcow2_jobs_queue(s, req, false, 0, 0, 0, 0);
    }
    tmp = malloc(sizeof(*tmp) * (size_t)MAX(req->iovcnt, 1));
    if (!tmp)
        return -ENOMEM;
    while (ret == 0 && left > 0) {
        ret = next_run(s, voff, left, &r);
        if (ret < 0)
            break;
        if (req->op == BLK_OP_READ && r.type == QCOW2_COMPRESSED && s->zc_entry != r.entry) {
            /* From here on the read is done by a job (pread and inflate, off the loop thread);
             * what it reads stays allocated until it is done (tagged like a transfer). One
             * piece per request, however small the clusters. */
            unsigned tag = qcow2_io_begin(s);
            ret = qcow2_jobs_queue(s, req, true, voff, left, skip, tag);
            if (ret < 0)
                qcow2_io_end(s, tag);
            break;
        }
        ret = req->op == BLK_OP_READ ? read_run(b, req, &r, voff, skip, tmp)
                                     : write_run(b, req, &r, skip, tmp);
        voff += r.len;
        skip += r.len;
        left -= r.len;
    }
    free(tmp);
    return ret;
}

int qcow2_zero_range(struct qcow2 *s, const struct blk_req *req)
{
    uint64_t cs = s->cluster_size, start = req->offset_bytes, end = start + req->len_bytes;
    uint64_t cstart = ALIGN_UP(start, cs),
             cend = end == s->m.h.size ? ALIGN_UP(end, cs) : ALIGN_DOWN(end, cs);
    bool is_zero = req->op == BLK_OP_WRITE_ZEROES;
    int ret = 0;

    s->zc_entry = 0;
    if (cstart < cend) {
        ret = qcow2_zero_clusters(s, cstart, cend - cstart, is_zero);
        if (ret == -ENOTSUP)
            ret = qcow2_write_alloc(s, NULL, 0, 0, cstart, MIN(cend, end) - cstart);
    }
    if (ret < 0 || !is_zero)
        return ret;
    if (start < MIN(cstart, end))
        ret = qcow2_write_alloc(s, NULL, 0, 0, start, MIN(cstart, end) - start);
    if (ret == 0 && MAX(cend, start) < end && cend >= cstart)
        ret = qcow2_write_alloc(s, NULL, 0, 0, MAX(cend, start), end - MAX(cend, start));
    return ret;
}

int qcow2_submit_now(struct blk *b, struct blk_req *req)
{
    switch (req->op) {
    case BLK_OP_READ:
    case BLK_OP_WRITE:
        return submit_rw(b, req);
    case BLK_OP_FLUSH:
        return submit_data(b, req, EIO_FSYNC, NULL, 0, 0, 0);
    case BLK_OP_DISCARD:
    case BLK_OP_WRITE_ZEROES:
        return qcow2_jobs_queue(qcow2_of(b), req, false, 0, 0, 0, 0);
    }
    return -EINVAL;
}

static int qcow2_submit(struct blk *b, struct blk_req *req)
{
    if (qcow2_jobs_busy(qcow2_of(b))) /* the chain's metadata is the job's until it ends */
        return qcow2_jobs_defer(b, req);
    return qcow2_submit_now(b, req);
}

static int qcow2_drv_read_sync(struct blk *b, void *buf, uint64_t len, uint64_t off)
{
    return qcow2_read_sync(qcow2_of(b), buf, len, off);
}

static void qcow2_close(struct blk *b)
{
    struct qcow2 *s = qcow2_of(b);

    if (!s)
        return;
    qcow2_jobs_wait(s); /* one queued by the close's flush (reuse of freed clusters) */
    qcow2_reuse_fini(s);
    if (!b->is_readonly && qcow2_sync(s) < 0)
        log_warn("%s: flush on close failed", b->path);
    free(s->pend);
    blk_close(s->backing);
    qcow2_tcache_fini(&s->l2c);
    qcow2_tcache_fini(&s->rbc);
    free(s->l1);
    free(s->reftable);
    free(s->zbuf);
    free(s->zc_data);
    qcow2_jobs_fini(s);
    free(s);
    b->drv_state = NULL;
}

const struct blk_driver qcow2_driver = {
    .name = "qcow2",
    .submit = qcow2_submit,
    .read_sync = qcow2_drv_read_sync,
    .block_status = qcow2_block_status,
    .close = qcow2_close,
};

/* SPDX-License-Identifier: MIT */
/*
 * qcow2 work off the event loop thread. Allocating writes (refcounts, copy-on-write, data,
 * flushes, L2/L1 updates), discards and write-zeroes (L2 updates and the frees they cause),
 * compressed cluster reads and the reuse of freed clusters (refcount updates and hole punching,
 * reuse.c) take hundreds of milliseconds for a 1 GiB request; they run as jobs on a worker
 * thread of the top image's engine (blk_call_submit), one job at a time per backing chain. The
 * images of a chain share one struct qcow2_jobs, since a job may read the backing chain
 * (copy-on-write).
 *
 * While a job runs, the worker owns the metadata of every image of the chain (L1, tables and
 * their caches, refcounts, the lists of reuse.c): the loop thread keeps every request submitted
 * to the chain meanwhile (qcow2_jobs_defer) and starts them, in order, once the job has ended;
 * data transfers already in flight only complete (the reuse.c counters they drop are atomic).
 * So a read submitted before the job sees the mappings as they were (an allocating write
 * publishes its L2 entries only after its data is durable, and a freed cluster is not reused
 * while a transfer to it may be in flight), and one submitted during it sees the mappings the
 * job left. The items of a job run in the order they were queued. A queued or running job
 * counts as a request of the top disk, so blk_close (a reboot, a power-off, a device reset
 * waiting for its requests) waits for it.
 */
#define LOG_TAG "qcow2"
#include "block/qcow2/qcow2.h"

#include <errno.h>
#include <stdlib.h>

#include "base/evloop.h"
#include "base/iov.h"
#include "base/log.h"

struct qcow2_item {
    struct qcow2 *s;
    struct blk_req *req; /* NULL: a reuse pass only */
    bool is_read;        /* the part of the read (req) from a compressed cluster on */
    uint64_t voff, len, skip;
    unsigned tag;
    int ret;
};

struct held {
    struct blk *b;
    struct blk_req *req;
};

struct qcow2_jobs {
    struct qcow2 *top;
    struct qcow2_item *q, *run; /* queued for the next job; the job on the worker */
    size_t nq, capq, nrun, caprun;
    struct held *held; /* requests waiting for the running job's end, in order */
    size_t nheld, capheld;
    bool is_scheduled, is_running, needs_reuse;
};

/* Makes room for one more element in (*arr) of (n) used, (*cap) allocated. */
static int grow(void **arr, size_t n, size_t *cap, size_t size)
{
    size_t c = *cap ? *cap * 2 : 16;
    void *p;

    if (n < *cap)
        return 0;
    p = realloc(*arr, c * size);
    if (!p)
        return -ENOMEM;
    *arr = p;
    *cap = c;
    return 0;
}

int qcow2_jobs_init(struct qcow2 *s)
{
    const struct blk *p = s->b->parent;

    if (p && p->drv == &qcow2_driver && p->drv_state) {
        s->jobs = ((struct qcow2 *)p->drv_state)->jobs;
        return 0;
    }
    s->jobs = calloc(1, sizeof(*s->jobs));
    if (!s->jobs)
        return -ENOMEM;
    s->jobs->top = s;
    s->owns_jobs = true;
    return 0;
}

void qcow2_jobs_fini(struct qcow2 *s)
{
    struct qcow2_jobs *j = s->jobs;

    s->jobs = NULL;
    if (!j || !s->owns_jobs)
        return;
    if (j->nq || j->nheld || j->is_scheduled || j->is_running)
        PANIC("qcow2: jobs freed while queued or running");
    free(j->q);
    free(j->run);
    free(j->held);
    free(j);
}

bool qcow2_jobs_busy(const struct qcow2 *s)
{
    return s->jobs->is_running;
}

int qcow2_jobs_defer(struct blk *b, struct blk_req *req)
{
    struct qcow2_jobs *j = qcow2_of(b)->jobs;

    if (grow((void **)&j->held, j->nheld, &j->capheld, sizeof(*j->held)) < 0)
        return -ENOMEM;
    blk_req_hold(req);
    j->held[j->nheld++] = (struct held){b, req};
    return 0;
}

/* The part of a read from a compressed cluster on, cluster by cluster (compressed ones through
 * the image's one-cluster cache, the others read synchronously, from the backing chain too).
 * Worker thread. */
static int read_piece(const struct qcow2_item *it)
{
    struct qcow2 *s = it->s;
    uint64_t voff = it->voff, left = it->len, skip = it->skip, cs = s->cluster_size;
    uint8_t *buf = NULL;
    int ret = 0;

    while (ret == 0 && left > 0) {
        uint64_t in = voff & (cs - 1), n = MIN(left, cs - in), entry = 0, host;
        if (voff < s->m.h.size)
            ret = qcow2_l2_lookup(s, voff, &entry);
        if (ret == 0 && qcow2_entry_type(s, entry, &host) == QCOW2_COMPRESSED) {
            if (s->zc_entry != entry) {
                s->zc_entry = 0;
                ret = qcow2_read_compressed(s, entry, s->zc_data);
                s->zc_entry = ret == 0 ? entry : 0;
            }
            if (ret == 0)
                iov_from_buf(it->req->iov, it->req->iovcnt, skip, s->zc_data + in, n);
        } else if (ret == 0) {
            if (!buf && !(buf = malloc(cs)))
                ret = -ENOMEM;
            if (ret == 0)
                ret = qcow2_read_sync(s, buf, n, voff);
            if (ret == 0)
                iov_from_buf(it->req->iov, it->req->iovcnt, skip, buf, n);
        }
        voff += n;
        skip += n;
        left -= n;
    }
    free(buf);
    return ret;
}

/*
 * The job, on a worker thread. Allocating writes are batched: every write of the job shares
 * one flush before their L2 updates are published (qcow2_batch_commit); a discard or
 * write-zeroes first publishes what came before it, then works on published metadata.
 * Returns the batch commit's result.
 */
static int job_run(void *opaque)
{
    struct qcow2_jobs *j = opaque;
    struct qcow2 *top = j->top;
    int cret;

    top->is_batching = true;
    for (size_t i = 0; i < j->nrun; i++) {
        struct qcow2_item *it = &j->run[i];
        if (!it->req)
            continue;
        if (it->is_read) {
            it->ret = read_piece(it);
            continue;
        }
        top->zc_entry = 0;
        if (it->req->op == BLK_OP_WRITE) {
            it->ret = qcow2_write_alloc(top, it->req->iov, it->req->iovcnt, 0,
                                        it->req->offset_bytes, it->req->len_bytes);
            continue;
        }
        it->ret = qcow2_batch_commit(top); /* discard / write-zeroes: in order */
        top->is_batching = false;
        if (it->ret == 0)
            it->ret = qcow2_zero_range(top, it->req);
        top->is_batching = true;
    }
    cret = qcow2_batch_commit(top);
    top->is_batching = false;
    qcow2_reuse_poll(top); /* clusters freed, once no transfer may target them */
    return cret;
}

static int schedule(struct qcow2_jobs *j);

/* The job's end, on the loop thread: starts the requests kept meanwhile, then completes the
 * job's items. */
static void job_done(void *opaque, int cret)
{
    struct qcow2_jobs *j = opaque;
    struct held *held = j->held;
    size_t nheld = j->nheld, n = j->nrun;

    j->is_running = false;
    j->held = NULL;
    j->nheld = j->capheld = 0;
    j->nrun = 0;
    /* First the requests kept meanwhile, in order; then the completions (which may submit
     * more). New items go to j->q, never to j->run, and no job starts before this returns
     * (start_job is a deferred call). */
    for (size_t i = 0; i < nheld; i++) {
        int ret = qcow2_submit_now(held[i].b, held[i].req);
        blk_req_put(held[i].b, held[i].req, ret < 0 ? ret : 0); /* the hold of the wait */
    }
    free(held);
    for (size_t i = 0; i < n; i++) {
        struct qcow2_item it = j->run[i];
        if (it.is_read)
            qcow2_io_end(it.s, it.tag);
        if (it.req)
            blk_req_put(it.s->b, it.req, it.ret ? it.ret : (it.is_read ? 0 : cret));
    }
    if (j->needs_reuse) {
        j->needs_reuse = false;
        qcow2_jobs_kick_reuse(j->top);
    }
    if (j->nq > 0 && schedule(j) < 0)
        PANIC("qcow2: cannot schedule a job (out of memory)");
    j->top->b->inflight--; /* the job's count (schedule) */
}

static void start_job(void *opaque)
{
    struct qcow2_jobs *j = opaque;
    struct qcow2_item *t = j->run;
    size_t cap = j->caprun;

    j->is_scheduled = false;
    j->run = j->q;
    j->caprun = j->capq;
    j->nrun = j->nq;
    j->q = t;
    j->capq = cap;
    j->nq = 0;
    j->is_running = true;
    if (blk_call_submit(j->top->b, job_run, j, job_done, j) < 0)
        job_done(j, job_run(j)); /* out of memory: here, as it always was before */
}

static int schedule(struct qcow2_jobs *j)
{
    int ret;

    if (j->is_scheduled || j->is_running)
        return 0;
    ret = evloop_call(j->top->b->loop, start_job, j);
    if (ret < 0)
        return ret;
    j->is_scheduled = true;
    j->top->b->inflight++; /* blk_close waits for the job */
    return 0;
}

int qcow2_jobs_queue(struct qcow2 *s, struct blk_req *req, bool is_read, uint64_t voff,
                     uint64_t len, uint64_t skip, unsigned tag)
{
    struct qcow2_jobs *j = s->jobs;
    int ret = grow((void **)&j->q, j->nq, &j->capq, sizeof(*j->q));

    if (ret == 0)
        ret = schedule(j);
    if (ret < 0)
        return ret;
    if (req)
        blk_req_hold(req);
    j->q[j->nq++] = (struct qcow2_item){s, req, is_read, voff, len, skip, tag, 0};
    return 0;
}

void qcow2_jobs_kick_reuse(struct qcow2 *s)
{
    struct qcow2_jobs *j = s->jobs;

    if (!j || s->b->is_readonly || j->is_scheduled) /* a queued job polls at its end */
        return;
    if (j->is_running) {
        j->needs_reuse = true;
        return;
    }
    if (qcow2_reuse_pending(s) && qcow2_jobs_queue(s, NULL, false, 0, 0, 0, 0) < 0)
        log_ratelimited(LOG_WARN, "%s: cannot queue the reuse of freed clusters (out of memory)",
                        s->b->path); /* the next drained bucket tries again */
}

void qcow2_jobs_wait(struct qcow2 *s)
{
    struct qcow2_jobs *j = s->jobs;

    while (j && (j->is_scheduled || j->is_running))
        evloop_run_once(s->b->loop, 100);
}

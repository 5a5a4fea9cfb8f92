/* SPDX-License-Identifier: MIT */
/*
 * Reusing freed qcow2 clusters while the image stays open. A cluster freed by a discard, a
 * write-zeroes or a copy-on-write may still be the target of a data transfer the engine is
 * running (a guest read or in-place write issued before the L2 entry changed); handing it to
 * a new allocation at once would let that stale transfer land on the new owner's data or
 * metadata. So a free waits, with the refcounts unchanged (a crash meanwhile only leaks
 * clusters), until every transfer in flight when it was requested has completed, then it is
 * done (qcow2_free_now) and the search for free clusters may take the clusters again.
 *
 * Grace periods with two buckets: each transfer is tagged with the current bucket; frees
 * collect in freed_new. When the other bucket is empty, freed_new becomes freed_old and the
 * buckets flip, so every transfer that could target a cluster of freed_old is in the bucket
 * that is now the old one; when it drains, freed_old is freed. Without this, churn on an open
 * image grew the file until EFBIG (freed clusters were only reused after a reopen). The frees
 * (refcount updates, hole punching: thousands of calls for a 1 GiB discard) run in a job on a
 * worker thread (jobs.c); a drained bucket only queues one.
 */
#define LOG_TAG "qcow2"
#include "block/qcow2/qcow2.h"

#include <errno.h>
#include <stdlib.h>

#include "base/log.h"

int qcow2_free_range(struct qcow2 *s, uint64_t off, uint64_t len)
{
    struct qcow2_extent *last = s->n_new ? &s->freed_new[s->n_new - 1] : NULL;

    if (len == 0)
        return 0;
    if (last && last->off + last->len == off) { /* neighbours: one extent */
        last->len += len;
        return 0;
    }
    if (s->n_new == s->cap_new) {
        size_t cap = s->cap_new ? s->cap_new * 2 : 64;
        struct qcow2_extent *e = realloc(s->freed_new, cap * sizeof(*e));
        if (e == NULL)
            return -ENOMEM;
        s->freed_new = e;
        s->cap_new = cap;
    }
    s->freed_new[s->n_new++] = (struct qcow2_extent){off, len};
    return 0;
}

/* The counters are atomic: a job's worker reads them (qcow2_reuse_poll) while the loop thread
 * drops them as transfers submitted before the job complete. Only the loop thread raises them,
 * and never while a job runs (requests wait for its end), so the bucket a job sees drained
 * stays drained. */
static uint64_t inflight(const struct qcow2 *s, unsigned bucket)
{
    return __atomic_load_n(&s->io_inflight[bucket & 1], __ATOMIC_ACQUIRE);
}

unsigned qcow2_io_begin(struct qcow2 *s)
{
    __atomic_add_fetch(&s->io_inflight[s->io_cur], 1, __ATOMIC_ACQ_REL);
    return s->io_cur;
}

void qcow2_io_end(struct qcow2 *s, unsigned tag)
{
    if (inflight(s, tag) == 0)
        PANIC("qcow2: transfer ended twice");
    if (__atomic_sub_fetch(&s->io_inflight[tag & 1], 1, __ATOMIC_ACQ_REL) == 0)
        qcow2_jobs_kick_reuse(s); /* the frees themselves run on a job's worker */
}

bool qcow2_reuse_pending(const struct qcow2 *s)
{
    return inflight(s, s->io_cur ^ 1) == 0 && (s->n_old > 0 || s->n_new > 0);
}

/* Frees the extents of freed_old (their grace period is over). */
static void retire_old(struct qcow2 *s)
{
    for (size_t i = 0; i < s->n_old; i++) {
        int ret = qcow2_free_now(s, s->freed_old[i].off, s->freed_old[i].len);
        if (ret < 0) /* the clusters stay allocated: a leak, never a double use */
            log_ratelimited(LOG_WARN, "%s: cannot free clusters at %#llx: %d", s->b->path,
                            (unsigned long long)s->freed_old[i].off, ret);
    }
    s->n_old = 0;
}

void qcow2_reuse_poll(struct qcow2 *s)
{
    unsigned old = s->io_cur ^ 1;

    for (;;) {
        if (s->n_old > 0) {
            if (inflight(s, old) > 0)
                return;
            retire_old(s);
        }
        if (s->n_new == 0 || inflight(s, old) > 0)
            return;
        /* flip: freed_new waits for the transfers of the bucket that was current */
        struct qcow2_extent *e = s->freed_old;
        size_t cap = s->cap_old;
        s->freed_old = s->freed_new;
        s->cap_old = s->cap_new;
        s->n_old = s->n_new;
        s->freed_new = e;
        s->cap_new = cap;
        s->n_new = 0;
        s->io_cur = old;
        old = s->io_cur ^ 1;
    }
}

void qcow2_reuse_fini(struct qcow2 *s)
{
    if (inflight(s, 0) || inflight(s, 1))
        log_error("%s: closed with data transfers in flight", s->b->path);
    else if (!s->b->is_readonly)
        qcow2_reuse_poll(s);
    free(s->freed_new);
    free(s->freed_old);
    s->freed_new = s->freed_old = NULL;
    s->n_new = s->n_old = s->cap_new = s->cap_old = 0;
}

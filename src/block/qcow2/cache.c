/* SPDX-License-Identifier: MIT */
/*
 * qcow2 metadata I/O and the table cache: a small LRU of cluster-sized tables (L2 tables and
 * refcount blocks) keyed by host offset. The cache is write-through: callers change an entry in
 * the cached table and write those bytes to the file at once, so the cache never holds state
 * the file lacks and crash ordering is decided by the callers' flushes alone. Metadata I/O is
 * synchronous, through the buffered fd: on the loop thread for lookups, on a job's worker
 * thread for changes (jobs.c, docs/disks.md); never both at once.
 */
#define LOG_TAG "qcow2"
#include "block/qcow2/qcow2.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/util.h"

int qcow2_tcache_init(struct qcow2_tcache *c, unsigned nslots, uint64_t cluster_size)
{
    c->slots = calloc(nslots, sizeof(*c->slots));
    if (!c->slots)
        return -ENOMEM;
    c->nslots = nslots;
    for (unsigned i = 0; i < nslots; i++) {
        c->slots[i].data = malloc(cluster_size);
        if (!c->slots[i].data) {
            qcow2_tcache_fini(c);
            return -ENOMEM;
        }
    }
    return 0;
}

void qcow2_tcache_fini(struct qcow2_tcache *c)
{
    for (unsigned i = 0; c->slots && i < c->nslots; i++)
        free(c->slots[i].data);
    free(c->slots);
    c->slots = NULL;
    c->nslots = 0;
}

int qcow2_tcache_get(struct qcow2 *s, struct qcow2_tcache *c, uint64_t off, bool is_new,
                     uint8_t **data)
{
    struct qcow2_tslot *victim = &c->slots[0];
    int ret;

    for (unsigned i = 0; i < c->nslots; i++) {
        struct qcow2_tslot *t = &c->slots[i];
        if (t->off == off) {
            t->lru = ++c->tick;
            if (is_new)
                memset(t->data, 0, s->cluster_size);
            *data = t->data;
            return 0;
        }
        if (t->lru < victim->lru)
            victim = t;
    }
    victim->off = 0;
    if (is_new)
        memset(victim->data, 0, s->cluster_size);
    else {
        ret = qcow2_meta_read(s, off, victim->data, s->cluster_size);
        if (ret < 0)
            return ret;
    }
    victim->off = off;
    victim->lru = ++c->tick;
    *data = victim->data;
    return 0;
}

void qcow2_tcache_drop(struct qcow2_tcache *c, uint64_t off)
{
    for (unsigned i = 0; i < c->nslots; i++)
        if (c->slots[i].off == off)
            c->slots[i].off = 0;
}

int qcow2_meta_write(struct qcow2 *s, uint64_t off, const void *buf, size_t len)
{
    int ret;

    if (s->b->is_readonly)
        return -EROFS;
    ret = pwrite_full(s->fd, buf, len, off);
    if (ret == 0 && off + len > s->host_end)
        s->host_end = off + len;
    return ret;
}

int qcow2_meta_read(struct qcow2 *s, uint64_t off, void *buf, size_t len)
{
    int ret = pread_full(s->fd, buf, len, off);

    /* Tables past the end of a file are refused at lookup; a short read here means the file
     * shrank under us. */
    return ret;
}

int qcow2_sync(struct qcow2 *s)
{
    if (s->b->is_scratch) /* nobody sees the file before its final sync */
        return 0;
    return fdatasync(s->fd) < 0 ? -errno : 0;
}

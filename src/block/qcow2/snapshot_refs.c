/* SPDX-License-Identifier: MIT */
/*
 * Reference counting for qcow2 internal snapshots (qcow2.txt "Snapshots", "Host cluster
 * management"): adding or dropping one reference to every L2 table and host cluster an L1 table
 * reaches, and rebuilding bit 63 (QCOW2_OFLAG_COPIED, "refcount is exactly one") of the active
 * L1 table and the L2 tables it reaches. A cluster's refcount counts the paths to it: an L2 table
 * shared by two L1 tables makes each of its clusters count two, as `qemu-img check` counts them.
 * Each distinct L2 table is visited once, weighted by how many L1 entries name it, so a hostile
 * L1 table naming one table millions of times costs one table's time.
 */
#define LOG_TAG "qcow2"
#include "block/qcow2/qcow2.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/ckd.h"
#include "base/log.h"

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* True when (off) may be an L2 table: aligned, inside the file, not the header/L1/refcount
 * table. */
static bool l2_ok(const struct qcow2 *s, uint64_t off)
{
    return off % s->cluster_size == 0 && !range_outside(off, s->cluster_size, s->host_end) &&
           !qcow2_is_metadata(s, off, s->cluster_size);
}

/* The sorted offsets of the L2 tables (l1, n entries) names, one per reference, in (*out).
 * An impossible one fails with -EIO when (is_strict), else is left out. */
static int collect_l2s(struct qcow2 *s, const uint64_t *l1, uint32_t n, bool is_strict,
                       uint64_t **out, size_t *cnt)
{
    uint64_t *v = malloc(MAX((size_t)n, 1u) * sizeof(*v));
    size_t k = 0;

    if (!v)
        return -ENOMEM;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t off = l1[i] & QCOW2_OFFSET_MASK;
        if (!off)
            continue;
        if (!l2_ok(s, off) && !is_strict)
            continue;
        if (!l2_ok(s, off)) {
            log_error("%s: L1 entry %u names an invalid L2 table (%#llx): run disk check",
                      s->b->path, i, (unsigned long long)off);
            free(v);
            return -EIO;
        }
        v[k++] = off;
    }
    qsort(v, k, sizeof(*v), cmp_u64);
    *out = v;
    *cnt = k;
    return 0;
}

/* The host range an L2 entry holds (len 0: none, or one that cannot hold data). */
static void entry_range(const struct qcow2 *s, uint64_t e, uint64_t *off, uint64_t *len)
{
    unsigned x = 62 - (s->cluster_bits - 8);

    *len = s->cluster_size;
    if (e & QCOW2_OFLAG_COMPRESSED) {
        uint64_t nsec = (e >> x) & ((1ull << (s->cluster_bits - 8)) - 1);
        *off = e & ((1ull << x) - 1);
        *len = (nsec + 1) * 512 - (*off & 511);
    } else {
        *off = e & QCOW2_OFFSET_MASK;
        if (*off % s->cluster_size)
            *len = 0;
    }
    if (!*off || range_outside(*off, *len, s->host_end) || qcow2_is_metadata(s, *off, *len))
        *len = 0;
}

/* Adds (w) references to cluster (c) (is_add) or drops (w); a count reaching zero frees the
 * cluster through the reuse list (qcow2_free_range). */
static int adjust(struct qcow2 *s, uint64_t c, uint64_t w, bool is_add)
{
    uint64_t v, nv, max = s->refcount_bits == 64 ? UINT64_MAX : (1ull << s->refcount_bits) - 1;
    int ret = qcow2_refcount_get(s, c, &v);

    if (ret < 0)
        return ret;
    if (is_add) {
        if (ckd_add(&nv, v, w) || nv > max) {
            log_error("%s: refcount of cluster %llu would overflow %u bits", s->b->path,
                      (unsigned long long)c, s->refcount_bits);
            return -ERANGE;
        }
        return qcow2_refcount_set(s, c, nv);
    }
    if (v == 0) {
        log_warn("%s: cluster %llu already has refcount 0", s->b->path, (unsigned long long)c);
        return 0;
    }
    if (v > w)
        return qcow2_refcount_set(s, c, v - w);
    if (v < w)
        log_warn("%s: cluster %llu refcount %llu below its %llu references", s->b->path,
                 (unsigned long long)c, (unsigned long long)v, (unsigned long long)w);
    ret = v > 1 ? qcow2_refcount_set(s, c, 1) : 0;
    return ret < 0 ? ret : qcow2_free_range(s, c * s->cluster_size, s->cluster_size);
}

static int adjust_range(struct qcow2 *s, uint64_t off, uint64_t len, uint64_t w, bool is_add)
{
    int ret = 0;

    for (uint64_t c = off / s->cluster_size;
         len && ret == 0 && c <= (off + len - 1) / s->cluster_size; c++)
        ret = adjust(s, c, w, is_add);
    return ret;
}

/* Adjusts the clusters the L2 table at (l2off) references, then the table itself. */
static int adjust_l2(struct qcow2 *s, uint64_t l2off, uint8_t *t, uint64_t w, bool is_add)
{
    int ret = qcow2_meta_read(s, l2off, t, s->cluster_size);

    for (uint64_t i = 0; ret == 0 && i < (1ull << s->l2_bits); i++) {
        uint64_t off, len;
        entry_range(s, be64_load(t + i * 8), &off, &len);
        ret = adjust_range(s, off, len, w, is_add);
    }
    return ret < 0 ? ret : adjust(s, l2off / s->cluster_size, w, is_add);
}

int qcow2_update_refs(struct qcow2 *s, const uint64_t *l1, uint32_t n, bool is_add)
{
    uint8_t *t = malloc(s->cluster_size);
    uint64_t *l2s = NULL;
    size_t cnt = 0;
    int ret = t ? collect_l2s(s, l1, n, true, &l2s, &cnt) : -ENOMEM;

    for (size_t i = 0, j; ret == 0 && i < cnt; i = j) {
        for (j = i + 1; j < cnt && l2s[j] == l2s[i]; j++)
            ;
        ret = adjust_l2(s, l2s[i], t, j - i, is_add);
    }
    free(l2s);
    free(t);
    return ret;
}

/* Sets the COPIED bit of entry (*e) to (want); counts a change in (*fixed). */
static bool set_copied(uint64_t *e, bool want, uint64_t *fixed)
{
    if (!!(*e & QCOW2_OFLAG_COPIED) == want)
        return false;
    *e = want ? *e | QCOW2_OFLAG_COPIED : *e & ~QCOW2_OFLAG_COPIED;
    (*fixed)++;
    return true;
}

/* Rebuilds the COPIED bits of the L2 table at (l2off). */
static int fix_l2(struct qcow2 *s, uint64_t l2off, bool dry_run, uint64_t *fixed)
{
    bool is_changed = false;
    uint64_t rc;
    uint8_t *t;
    int ret = qcow2_tcache_get(s, &s->l2c, l2off, false, &t);

    for (uint64_t i = 0; ret == 0 && i < (1ull << s->l2_bits); i++) {
        uint64_t e = be64_load(t + i * 8), off = e & QCOW2_OFFSET_MASK;
        if ((e & QCOW2_OFLAG_COMPRESSED) || !off || off % s->cluster_size || off >= s->host_end)
            continue; /* unallocated, compressed or bad: not ours to judge here */
        ret = qcow2_refcount_get(s, off / s->cluster_size, &rc);
        if (ret == 0 && set_copied(&e, rc == 1, fixed) && !dry_run) {
            be64_store(t + i * 8, e);
            is_changed = true;
        }
    }
    if (ret == 0 && is_changed)
        ret = qcow2_meta_write(s, l2off, t, s->cluster_size);
    return ret;
}

int qcow2_fix_copied(struct qcow2 *s, uint64_t *l1, uint32_t n, bool dry_run, uint64_t *fixed)
{
    uint64_t *l2s = NULL, rc, dummy = 0;
    size_t cnt = 0;
    int ret;

    if (!fixed)
        fixed = &dummy;
    ret = collect_l2s(s, l1, n, false, &l2s, &cnt);
    for (uint32_t i = 0; ret == 0 && i < n; i++) {
        uint64_t off = l1[i] & QCOW2_OFFSET_MASK, e = l1[i];
        if (!off || !l2_ok(s, off))
            continue;
        ret = qcow2_refcount_get(s, off / s->cluster_size, &rc);
        if (ret == 0 && set_copied(&e, rc == 1, fixed) && !dry_run)
            l1[i] = e;
    }
    for (size_t i = 0; ret == 0 && i < cnt; i++)
        if (i == 0 || l2s[i] != l2s[i - 1])
            ret = fix_l2(s, l2s[i], dry_run, fixed);
    free(l2s);
    return ret;
}

int qcow2_fix_active_copied(struct qcow2 *s, bool dry_run, uint64_t *fixed)
{
    uint64_t n = 0;
    uint8_t *buf;
    int ret = qcow2_fix_copied(s, s->l1, s->l1_size, dry_run, &n);

    if (fixed)
        *fixed += n;
    if (ret < 0 || dry_run || !n || !s->l1_size)
        return ret;
    buf = malloc((size_t)s->l1_size * 8);
    if (!buf)
        return -ENOMEM;
    for (uint32_t i = 0; i < s->l1_size; i++)
        be64_store(buf + (size_t)i * 8, s->l1[i]);
    ret = qcow2_meta_write(s, s->m.h.l1_table_offset, buf, (size_t)s->l1_size * 8);
    free(buf);
    return ret;
}

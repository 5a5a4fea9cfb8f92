/* SPDX-License-Identifier: MIT */
/*
 * qcow2 consistency check and refcount repair (qcow2.txt "Host cluster management"): every
 * cluster the image references (header, L1 table, L2 tables, data and compressed clusters,
 * refcount table and blocks) is counted in memory and compared with the stored refcounts. A
 * stored refcount below the references is corruption (a writer could reuse a cluster in use);
 * one above is a leak (wasted space, harmless), which is all our crash ordering may leave.
 * Repair rewrites stored refcounts to the counted ones: raised ones first, then lowered ones.
 * Internal snapshots are walked too (their L1 tables share L2 tables and data with the active
 * one, so shared clusters must count 2 or more), and the active tables' COPIED bits must say
 * "refcount exactly 1" exactly when it is (repair rebuilds them). The L2 tables all L1 tables
 * reference are collected first and each distinct table is read once with its number of references
 * as a weight, so a hostile L1 table whose entries all name the same L2 table costs the time of one
 * table, not of millions. A cluster referenced more often than refcount_bits can count is a
 * corruption that repair cannot fix. L2 entries that cannot hold guest data (unaligned, past
 * the end of the file, over the header, L1 or refcount table) are corruptions that repair
 * turns into zero clusters. Once an image checks clean after a repair, its dirty and corrupt
 * marks are cleared (qcow2_mark_consistent).
 */
#define LOG_TAG "qcow2"
#include "block/qcow2/qcow2.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"

#define CHECK_MAX_CLUSTERS (64ull << 20)
#define CHECK_BEYOND_EOF (4ull << 20) /* clusters past the end of the file compared at most */

struct refs {
    uint32_t *cnt; /* references per host cluster, saturating at UINT32_MAX */
    uint64_t n;
    struct qcow2_check_result *res;
    uint64_t *l2s; /* offsets of the L2 tables to walk, one per reference */
    size_t nl2, l2_cap;
    bool repair;
};

/* Counts (w) references to each cluster of host [off, off+len). */
static void add_ref_w(struct qcow2 *s, struct refs *r, uint64_t off, uint64_t len, const char *what,
                      uint64_t w)
{
    if (len == 0)
        return;
    for (uint64_t c = off / s->cluster_size; c <= (off + len - 1) / s->cluster_size; c++) {
        if (c >= r->n) {
            log_warn("%s: %s at %#llx is past the end of the file", s->b->path, what,
                     (unsigned long long)off);
            r->res->corruptions++;
            return;
        }
        r->cnt[c] = w >= UINT32_MAX - r->cnt[c] ? UINT32_MAX : r->cnt[c] + (uint32_t)w;
    }
}

static void add_ref(struct qcow2 *s, struct refs *r, uint64_t off, uint64_t len, const char *what)
{
    add_ref_w(s, r, off, len, what, 1);
}

/* Counts a reference to the L2 table at (l2off) and queues the table for walk_l2s(). */
static int add_l2(struct qcow2 *s, struct refs *r, uint64_t l2off)
{
    add_ref(s, r, l2off, s->cluster_size, "L2 table");
    if (l2off % s->cluster_size || l2off + s->cluster_size > s->host_end)
        return 0;
    if (r->nl2 == r->l2_cap) {
        size_t cap = MAX(r->l2_cap * 2, 256u);
        uint64_t *p = reallocarray(r->l2s, cap, sizeof(*p));
        if (!p)
            return -ENOMEM;
        r->l2s = p;
        r->l2_cap = cap;
    }
    r->l2s[r->nl2++] = l2off;
    return 0;
}

/* True when the L2 entry (e) names host clusters that cannot hold guest data: unaligned,
 * past the end of the file, or over the header, the L1 or the refcount table. */
static bool is_bad_entry(struct qcow2 *s, uint64_t e, uint64_t off, uint64_t len)
{
    bool is_compressed = e & QCOW2_OFLAG_COMPRESSED;

    if (!is_compressed && off % s->cluster_size) {
        log_ratelimited(LOG_WARN, "%s: unaligned data cluster %#llx", s->b->path,
                        (unsigned long long)off);
        return true;
    }
    if (off >= s->host_end || len > s->host_end - off) {
        log_ratelimited(LOG_WARN, "%s: data cluster at %#llx is past the end of the file",
                        s->b->path, (unsigned long long)off);
        return true;
    }
    if (qcow2_is_metadata(s, off, len)) {
        log_ratelimited(LOG_WARN, "%s: data cluster at %#llx overlaps the image's metadata",
                        s->b->path, (unsigned long long)off);
        return true;
    }
    return false;
}

/* Counts the clusters the L2 table at (l2off) references, (w) times each. With repair, bad
 * entries become zero clusters (v3) or unallocated ones (v2), as QEMU's check does: what they
 * pointed at was never the guest's data. */
static int walk_l2(struct qcow2 *s, struct refs *r, uint64_t l2off, uint8_t *t, uint64_t w)
{
    unsigned x = 62 - (s->cluster_bits - 8);
    bool is_changed = false;
    int ret = qcow2_meta_read(s, l2off, t, s->cluster_size);

    if (ret < 0)
        return ret;
    for (uint64_t i = 0; i < (1ull << s->l2_bits); i++) {
        uint64_t e = be64_load(t + i * 8), off, len = s->cluster_size;
        if (e & QCOW2_OFLAG_COMPRESSED) {
            uint64_t nsec = (e >> x) & ((1ull << (s->cluster_bits - 8)) - 1);
            off = e & ((1ull << x) - 1);
            len = (nsec + 1) * 512 - (off & 511);
        } else {
            off = e & QCOW2_OFFSET_MASK;
        }
        if (!off)
            continue;
        if (!is_bad_entry(s, e, off, len)) {
            add_ref_w(s, r, off, len, "data cluster", w);
            continue;
        }
        r->res->corruptions++;
        if (r->repair) {
            be64_store(t + i * 8, s->m.h.version >= 3 ? QCOW2_OFLAG_ZERO : 0);
            r->res->fixed++;
            is_changed = true;
        }
    }
    if (!is_changed)
        return 0;
    qcow2_tcache_drop(&s->l2c, l2off);
    return qcow2_meta_write(s, l2off, t, s->cluster_size);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Walks each distinct queued L2 table once, weighted by how often it is referenced. */
static int walk_l2s(struct qcow2 *s, struct refs *r, uint8_t *t)
{
    int ret = 0;

    if (r->nl2 > 1)
        qsort(r->l2s, r->nl2, sizeof(*r->l2s), cmp_u64);
    for (size_t i = 0, j; i < r->nl2 && ret == 0; i = j) {
        for (j = i + 1; j < r->nl2 && r->l2s[j] == r->l2s[i]; j++)
            ;
        ret = walk_l2(s, r, r->l2s[i], t, j - i);
    }
    return ret;
}

/* Counts an L1 table at (off) of (n) entries and the L2 tables it points at. (*budget) bounds
 * the L1 entries all snapshots may make us visit (a hostile table cannot make check run for
 * ever). */
static int walk_l1(struct qcow2 *s, struct refs *r, uint64_t off, uint32_t n, uint64_t *budget)
{
    uint8_t *l1;
    int ret;

    if (n > *budget)
        return -EFBIG;
    *budget -= n;
    add_ref(s, r, off, (uint64_t)n * 8, "snapshot L1 table");
    l1 = malloc(MAX((size_t)n * 8, 8u));
    if (!l1)
        return -ENOMEM;
    ret = qcow2_meta_read(s, off, l1, (size_t)n * 8);
    for (uint32_t i = 0; i < n && ret == 0; i++) {
        uint64_t l2off = be64_load(l1 + (size_t)i * 8) & QCOW2_OFFSET_MASK;
        if (l2off)
            ret = add_l2(s, r, l2off);
    }
    free(l1);
    return ret;
}

/* Counts the snapshot table (decoded and checked by qcow2_snaptab_load) and every snapshot's
 * L1 and L2 tables and data. */
static int walk_snapshots(struct qcow2 *s, struct refs *r)
{
    uint64_t budget = 1ull << 20;
    struct qcow2_snaptab t;
    struct error err = {0};
    int ret = qcow2_snaptab_load(s, &t, &err);

    if (ret < 0) {
        log_warn("%s", err.message);
        return ret;
    }
    add_ref(s, r, s->m.h.snapshots_offset, t.bytes, "snapshot table");
    for (uint32_t i = 0; i < t.n && ret == 0; i++)
        ret = walk_l1(s, r, t.v[i].l1_offset, t.v[i].l1_size, &budget);
    qcow2_snaptab_free(&t);
    return ret;
}

static int count_refs(struct qcow2 *s, struct refs *r)
{
    const struct qcow2_header *h = &s->m.h;
    uint8_t *t = malloc(s->cluster_size);
    int ret = 0;

    if (!t)
        return -ENOMEM;
    add_ref(s, r, 0, s->cluster_size, "header");
    add_ref(s, r, h->l1_table_offset, (uint64_t)s->l1_size * 8, "L1 table");
    add_ref(s, r, h->refcount_table_offset, s->reftable_entries * 8, "refcount table");
    for (uint64_t i = 0; i < s->reftable_entries; i++)
        if (s->reftable[i])
            add_ref(s, r, s->reftable[i], s->cluster_size, "refcount block");
    for (uint32_t i = 0; i < s->l1_size && ret == 0; i++) {
        uint64_t l2off = s->l1[i] & QCOW2_OFFSET_MASK;
        if (l2off)
            ret = add_l2(s, r, l2off);
    }
    if (ret == 0 && h->nb_snapshots)
        ret = walk_snapshots(s, r);
    if (ret == 0)
        ret = walk_l2s(s, r, t);
    free(t);
    return ret;
}

/* Compares counted and stored refcounts; with (fix_dir) +1 raises low refcounts, -1 lowers
 * high ones, 0 only reports. */
static int compare(struct qcow2 *s, struct refs *r, uint64_t limit, int fix_dir)
{
    struct qcow2_check_result *res = r->res;
    uint64_t stored, max = s->refcount_bits == 64 ? UINT64_MAX : (1ull << s->refcount_bits) - 1;
    int ret;

    for (uint64_t c = 0; c < limit; c++) {
        uint64_t want = c < r->n ? r->cnt[c] : 0;
        ret = qcow2_refcount_get(s, c, &stored);
        if (ret < 0)
            return ret;
        if (fix_dir == 0) {
            res->allocated += want > 0;
            if (want > max) {
                res->corruptions++;
                log_warn("%s: cluster %llu has %llu references, more than %u-bit refcounts "
                         "count",
                         s->b->path, (unsigned long long)c, (unsigned long long)want,
                         s->refcount_bits);
            } else if (stored < want) {
                res->corruptions++;
                log_warn("%s: cluster %llu refcount=%llu references=%llu", s->b->path,
                         (unsigned long long)c, (unsigned long long)stored,
                         (unsigned long long)want);
            } else if (stored > want) {
                res->leaks++;
            }
            continue;
        }
        if (want > max) {
            res->unfixable += fix_dir > 0; /* stays a corruption */
            continue;
        }
        if ((fix_dir > 0 && stored < want) || (fix_dir < 0 && stored > want)) {
            ret = qcow2_refcount_set(s, c, want);
            if (ret < 0)
                return ret;
            res->fixed++;
        }
    }
    return 0;
}

/* Counts the COPIED bits of the active tables that disagree with the stored refcounts as
 * corruptions (a bit set on a shared cluster would let a write change a snapshot); with
 * (repair) they are rebuilt and counted as fixed too. */
static int check_copied(struct qcow2 *s, struct qcow2_check_result *res, bool repair)
{
    uint64_t bad = 0;
    int ret = qcow2_fix_active_copied(s, !repair, &bad);

    if (ret == 0 && bad) {
        log_warn("%s: %llu COPIED bits of the active L1/L2 tables disagree with the refcounts%s",
                 s->b->path, (unsigned long long)bad, repair ? ": rebuilt" : "");
        res->corruptions += bad;
        res->fixed += repair ? bad : 0;
    }
    return ret;
}

int qcow2_check(struct qcow2 *s, bool repair, struct qcow2_check_result *res, struct error *err)
{
    struct refs r = {.res = res, .repair = repair};
    uint64_t limit;
    int ret;

    memset(res, 0, sizeof(*res));
    r.n = (s->host_end + s->cluster_size - 1) / s->cluster_size;
    if (r.n > CHECK_MAX_CLUSTERS)
        return error_set(err, -EFBIG, "disk %s: too many clusters to check", s->b->path);
    r.cnt = calloc(MAX(r.n, 1u), sizeof(*r.cnt));
    if (!r.cnt)
        return error_set(err, -ENOMEM, "out of memory");
    res->total = r.n;
    limit = r.n;
    for (uint64_t i = 0; i < s->reftable_entries; i++)
        if (s->reftable[i])
            limit = MAX(limit, (i + 1) * s->rb_entries);
    /* Refcounts past the end of the file are leaks a crash leaves next to it; a refcount block
     * far beyond (one table entry can name a block for cluster 2^40) would make the scan
     * endless, so past a margin the check says it is incomplete. */
    if (limit - r.n > MAX(2 * s->rb_entries, CHECK_BEYOND_EOF)) {
        limit = r.n + MAX(2 * s->rb_entries, CHECK_BEYOND_EOF);
        res->is_incomplete = true;
        log_warn("%s: refcount blocks far past the end of the file not checked", s->b->path);
    }
    ret = count_refs(s, &r);
    if (ret == 0)
        ret = compare(s, &r, limit, 0);
    if (ret == 0 && !repair)
        ret = check_copied(s, res, false);
    if (ret == 0 && repair && (res->corruptions || res->leaks)) {
        /* new refcount blocks must not land on clusters in use */
        s->free_hint = MAX(s->free_hint, limit);
        ret = compare(s, &r, limit, 1);
        if (ret == 0)
            ret = compare(s, &r, limit, -1);
    }
    if (ret == 0 && repair) /* the bits follow the repaired refcounts */
        ret = check_copied(s, res, true);
    if (ret == 0 && repair)
        ret = qcow2_sync(s);
    free(r.cnt);
    free(r.l2s);
    if (ret < 0)
        return error_set(err, ret, "disk %s: check failed: %s", s->b->path, strerror(-ret));
    return 0;
}

int qcow2_mark_consistent(struct qcow2 *s)
{
    uint64_t flags =
        s->m.h.incompatible_features & ~(QCOW2_INCOMPAT_DIRTY | QCOW2_INCOMPAT_CORRUPT);
    uint8_t e[8];
    int ret;

    if (flags == s->m.h.incompatible_features)
        return 0;
    be64_store(e, flags);
    ret = qcow2_sync(s); /* the repairs reach the disk before the mark goes */
    if (ret == 0)
        ret = qcow2_meta_write(s, QCOW2_HDR_INCOMPAT_OFF, e, 8);
    if (ret == 0)
        ret = qcow2_sync(s);
    if (ret == 0)
        s->m.h.incompatible_features = flags;
    return ret;
}

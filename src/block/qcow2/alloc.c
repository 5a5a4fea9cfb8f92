/* SPDX-License-Identifier: MIT */
/*
 * qcow2 writes that change metadata (qcow2.txt "Cluster mapping"): the allocating write with
 * copy-on-write, discard and write-zeroes turned into unallocated/zero L2 entries, and growing
 * the virtual disk (L1 table moved when needed). All synchronous, on a job's worker thread
 * (jobs.c; the disk tools' resize on the loop thread), each in the crash-safe order described at
 * the top of l1l2.c: nothing on disk ever points at a cluster before that cluster's refcount and
 * contents are durable, and nothing is freed before the pointers to it are durably gone.
 */
#define LOG_TAG "qcow2"
#include "block/qcow2/qcow2.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/ckd.h"
#include "base/log.h"
#include "base/util.h"

static int data_write(struct qcow2 *s, const void *buf, uint64_t len, uint64_t off)
{
    int ret = pwrite_full(s->fd, buf, (size_t)len, off);

    if (ret == 0 && off + len > s->host_end)
        s->host_end = off + len;
    return ret;
}

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
    return a < b + blen && b < a + alen;
}

bool qcow2_is_metadata(const struct qcow2 *s, uint64_t off, uint64_t len)
{
    const struct qcow2_header *h = &s->m.h;

    return overlaps(off, len, 0, s->cluster_size) ||
           overlaps(off, len, h->l1_table_offset, (uint64_t)s->l1_size * 8) ||
           overlaps(off, len, h->refcount_table_offset, s->reftable_entries * 8);
}

/* True when host [off, off+len) may be data: (is_aligned) as an entry must be, inside the
 * file and not metadata. A hostile L2 entry naming the header must not get it freed (it would
 * be punched out of the file and handed to the guest's next write). */
static bool may_free(const struct qcow2 *s, uint64_t off, uint64_t len, bool is_aligned)
{
    if (!is_aligned || off >= s->host_end || qcow2_is_metadata(s, off, len)) {
        log_ratelimited(LOG_ERROR,
                        "%s: L2 entry names metadata or a cluster past the end of "
                        "the file (%#llx), not freed",
                        s->b->path, (unsigned long long)off);
        return false;
    }
    return true;
}

/* Frees the host cluster(s) an old L2 entry held, if any. */
static int free_entry(struct qcow2 *s, uint64_t entry)
{
    uint64_t host, len = s->cluster_size;
    bool is_aligned = true;

    if (entry & QCOW2_OFLAG_COMPRESSED) {
        unsigned x = 62 - (s->cluster_bits - 8);
        uint64_t nsec = (entry >> x) & ((1ull << (s->cluster_bits - 8)) - 1);
        host = entry & ((1ull << x) - 1);
        len = (nsec + 1) * 512 - (host & 511);
    } else {
        host = entry & QCOW2_OFFSET_MASK;
        if (!host)
            return 0;
        is_aligned = host % s->cluster_size == 0;
    }
    return may_free(s, host, len, is_aligned) ? qcow2_free_range(s, host, len) : 0;
}

/* Points L1 entry (l1i) at the L2 table at (l2off). */
static int set_l1(struct qcow2 *s, uint64_t l1i, uint64_t l2off)
{
    uint8_t e[8];

    s->l1[l1i] = l2off | QCOW2_OFLAG_COPIED;
    be64_store(e, s->l1[l1i]);
    return qcow2_meta_write(s, s->m.h.l1_table_offset + l1i * 8, e, 8);
}

/*
 * Copy-on-write of the L2 table of (l1i), shared with a snapshot (refcount > 1): the copy is
 * written and flushed, the L1 entry switched to it and flushed, and only then the old table
 * loses this reference (it stays in use by the snapshot). The data clusters the table names
 * keep their refcounts: they are reached through the copy instead of the original. Sets
 * (*l2off) to the copy.
 */
static int cow_l2(struct qcow2 *s, uint64_t l1i, uint64_t *l2off)
{
    uint64_t old = *l2off, off, rc;
    uint8_t *t, *copy = malloc(s->cluster_size);
    int ret = copy ? qcow2_tcache_get(s, &s->l2c, old, false, &t) : -ENOMEM;

    if (ret == 0) {
        memcpy(copy, t, s->cluster_size);
        ret = qcow2_alloc_clusters(s, 1, &off);
    }
    if (ret == 0)
        ret = qcow2_meta_write(s, off, copy, s->cluster_size);
    if (ret == 0)
        ret = qcow2_sync(s);
    if (ret == 0)
        ret = set_l1(s, l1i, off);
    if (ret == 0)
        ret = qcow2_sync(s);
    if (ret == 0)
        ret = qcow2_refcount_get(s, old / s->cluster_size, &rc);
    if (ret == 0)
        ret = rc > 1 ? qcow2_refcount_set(s, old / s->cluster_size, rc - 1)
                     : qcow2_free_range(s, old, s->cluster_size);
    free(copy);
    if (ret == 0)
        *l2off = off;
    return ret;
}

/* Makes the L2 table of (l1i) at (*l2off) writable: an L1 entry without QCOW2_OFLAG_COPIED
 * means the table may be shared with a snapshot; one whose refcount is 1 only gets its flag
 * set, a shared one is copied (cow_l2). */
static int own_l2(struct qcow2 *s, uint64_t l1i, uint64_t *l2off)
{
    uint64_t rc;
    int ret;

    if (s->l1[l1i] & QCOW2_OFLAG_COPIED)
        return 0;
    ret = qcow2_refcount_get(s, *l2off / s->cluster_size, &rc);
    if (ret < 0)
        return ret;
    return rc == 1 ? set_l1(s, l1i, *l2off) : cow_l2(s, l1i, l2off);
}

/*
 * Stores (n) new entries (vals, from index l2i) in the L2 table of (l1i), creating the table
 * when there is none (written whole, flushed, then the L1 entry) and copying it first when it is
 * shared with a snapshot. (old) receives the previous entries. The caller has flushed everything
 * the new entries point at.
 */
static int update_l2(struct qcow2 *s, uint64_t l1i, uint64_t l2i, uint64_t n, const uint64_t *vals,
                     uint64_t *old)
{
    uint64_t l2off = s->l1[l1i] & QCOW2_OFFSET_MASK;
    bool is_new = l2off == 0;
    uint8_t *t;
    int ret;

    if (is_new) {
        ret = qcow2_alloc_clusters(s, 1, &l2off);
        if (ret < 0)
            return ret;
    } else if (qcow2_is_metadata(s, l2off, s->cluster_size)) {
        log_ratelimited(LOG_ERROR,
                        "%s: L1 entry names the header, L1 or refcount table as an L2 "
                        "table",
                        s->b->path);
        return -EIO;
    } else {
        ret = own_l2(s, l1i, &l2off);
        if (ret < 0)
            return ret;
    }
    ret = qcow2_tcache_get(s, &s->l2c, l2off, is_new, &t);
    if (ret < 0)
        return ret;
    for (uint64_t i = 0; i < n; i++) {
        if (old)
            old[i] = be64_load(t + (l2i + i) * 8);
        be64_store(t + (l2i + i) * 8, vals[i]);
    }
    if (!is_new)
        return qcow2_meta_write(s, l2off + l2i * 8, t + l2i * 8, (size_t)n * 8);
    ret = qcow2_meta_write(s, l2off, t, s->cluster_size);
    if (ret == 0)
        ret = qcow2_sync(s);
    if (ret == 0)
        ret = set_l1(s, l1i, l2off);
    if (ret < 0)
        qcow2_tcache_drop(&s->l2c, l2off);
    return ret;
}

/* Flushes, then frees what the (n) old entries held (those not equal to the new ones). */
static int free_old(struct qcow2 *s, const uint64_t *old, const uint64_t *vals, uint64_t n)
{
    bool has_any = false;
    int ret = 0;

    for (uint64_t i = 0; i < n; i++)
        has_any |= old[i] != vals[i] && (old[i] & (QCOW2_OFFSET_MASK | QCOW2_OFLAG_COMPRESSED)) &&
                   (old[i] & QCOW2_OFFSET_MASK) != (vals[i] & QCOW2_OFFSET_MASK);
    if (!has_any)
        return 0;
    ret = qcow2_sync(s);
    for (uint64_t i = 0; i < n && ret == 0; i++)
        if (old[i] != vals[i] && (old[i] & QCOW2_OFFSET_MASK) != (vals[i] & QCOW2_OFFSET_MASK))
            ret = free_entry(s, old[i]);
    return ret;
}

struct wctx {
    const struct iovec *iov; /* NULL: zeros */
    int iovcnt;
    uint64_t skip; /* iov offset of guest byte (voff) */
    uint64_t voff, len;
};

/* Fills buf[a, b) of the guest cluster at (cvoff) with the write's data. */
static void overlay(const struct wctx *w, uint64_t cvoff, uint64_t a, uint64_t b, uint8_t *buf)
{
    if (w->iov)
        iov_to_buf(w->iov, w->iovcnt, w->skip + (cvoff + a - w->voff), buf + a, b - a);
    else
        memset(buf + a, 0, (size_t)(b - a));
}

static bool is_pending(const struct qcow2 *s, uint64_t first, uint64_t n)
{
    for (size_t i = 0; i < s->npend; i++)
        if (s->pend[i].gc >= first && s->pend[i].gc < first + n)
            return true;
    return false;
}

/* Records the new entries of [first, first+n) for the batch commit. */
static int defer_l2(struct qcow2 *s, uint64_t first, uint64_t n, const uint64_t *vals)
{
    if (s->npend + n > s->pend_cap) {
        size_t cap = MAX(s->pend_cap * 2, s->npend + n + 64);
        struct qcow2_pend *p = realloc(s->pend, cap * sizeof(*p));
        if (!p)
            return -ENOMEM;
        s->pend = p;
        s->pend_cap = cap;
    }
    for (uint64_t i = 0; i < n; i++)
        s->pend[s->npend++] = (struct qcow2_pend){first + i, vals[i]};
    return 0;
}

int qcow2_batch_commit(struct qcow2 *s)
{
    uint64_t *old = NULL, *vals = NULL;
    size_t n = s->npend;
    int ret;

    if (n == 0)
        return 0;
    s->npend = 0;
    old = malloc(n * 8);
    vals = malloc(n * 8);
    ret = old && vals ? qcow2_sync(s) : -ENOMEM;
    for (size_t i = 0; i < n && vals; i++)
        vals[i] = s->pend[i].val;
    for (size_t i = 0, j; i < n && ret == 0; i = j) { /* runs of neighbours in one table */
        uint64_t gc = s->pend[i].gc;
        for (j = i + 1; j < n && s->pend[j].gc == s->pend[j - 1].gc + 1 &&
                        s->pend[j].gc >> s->l2_bits == gc >> s->l2_bits;
             j++)
            ;
        ret = update_l2(s, gc >> s->l2_bits, gc & ((1ull << s->l2_bits) - 1), j - i, &vals[i],
                        &old[i]);
    }
    if (ret == 0)
        ret = free_old(s, old, vals, n);
    free(old);
    free(vals);
    return ret;
}

/* Sets (*is_own) when the guest cluster of L2 entry (e) may be written in place: a normal
 * cluster with QCOW2_OFLAG_COPIED, or without it but a refcount of 1 (the flag is then set).
 * A cluster shared with a snapshot (refcount > 1) is copied on write. */
static int classify(struct qcow2 *s, uint64_t e, bool *is_own)
{
    uint64_t host, rc;
    int ret;

    *is_own = false;
    if (qcow2_entry_type(s, e, &host) != QCOW2_NORMAL)
        return 0;
    if (e & QCOW2_OFLAG_COPIED) {
        *is_own = true;
        return 0;
    }
    if (host % s->cluster_size || host >= s->host_end)
        return -EIO;
    ret = qcow2_refcount_get(s, host / s->cluster_size, &rc);
    *is_own = ret == 0 && rc == 1;
    return ret;
}

/* Writes the part of (w) inside one L2 table's range: [first, first+n) guest clusters. */
static int write_chunk(struct qcow2 *s, const struct wctx *w, uint64_t first, uint64_t n,
                       uint64_t *vals, uint64_t *old, uint8_t *buf)
{
    uint64_t cs = s->cluster_size, l2mask = (1ull << s->l2_bits) - 1, host, base = 0, k = 0, m = 0;
    uint64_t wend = w->voff + w->len, nchg = 0;
    bool is_own = false;
    int ret;

    if (is_pending(s, first, n)) { /* an earlier write of this batch allocated it */
        ret = qcow2_batch_commit(s);
        if (ret < 0)
            return ret;
    }
    for (uint64_t i = 0; i < n; i++) {
        ret = qcow2_l2_lookup(s, (first + i) << s->cluster_bits, &old[i]);
        if (ret == 0)
            ret = classify(s, old[i], &is_own);
        if (ret < 0)
            return ret;
        vals[i] = is_own; /* until the second pass stores the new entry there */
        m += !is_own;
        nchg += !is_own || !(old[i] & QCOW2_OFLAG_COPIED);
    }
    if (m > 0) {
        ret = qcow2_alloc_clusters(s, m, &base);
        if (ret < 0)
            return ret;
    }
    for (uint64_t i = 0; i < n; i++) {
        uint64_t cvoff = (first + i) << s->cluster_bits;
        uint64_t a = MAX(w->voff, cvoff) - cvoff, b = MIN(wend, cvoff + cs) - cvoff;
        is_own = vals[i];
        vals[i] = old[i] | QCOW2_OFLAG_COPIED;
        if (is_own) {
            host = old[i] & QCOW2_OFFSET_MASK;
            if (host % cs || host >= s->host_end || qcow2_is_metadata(s, host, cs))
                return -EIO;
            overlay(w, cvoff, a, b, buf);
            ret = data_write(s, buf + a, b - a, host + a);
        } else { /* unallocated, zero, compressed or shared with a snapshot: a new cluster */
            ret = (a > 0 || b < cs) ? qcow2_read_sync_entry(s, old[i], cvoff, buf) : 0;
            overlay(w, cvoff, a, b, buf);
            vals[i] = (base + k * cs) | QCOW2_OFLAG_COPIED;
            if (ret == 0)
                ret = data_write(s, buf, cs, base + k++ * cs);
        }
        if (ret < 0)
            return ret;
    }
    if (nchg == 0)
        return 0;
    if (s->is_batching)
        return defer_l2(s, first, n, vals);
    ret = qcow2_sync(s); /* refcounts and data durable before anything points at them */
    if (ret == 0)
        ret = update_l2(s, first >> s->l2_bits, first & l2mask, n, vals, old);
    return ret < 0 ? ret : free_old(s, old, vals, n);
}

/* Runs (fn) over the L2-table-sized chunks of guest clusters [first, last]. */
static int for_chunks(struct qcow2 *s, uint64_t first, uint64_t last,
                      int (*fn)(struct qcow2 *, void *, uint64_t, uint64_t, uint64_t *, uint64_t *,
                                uint8_t *),
                      void *ctx)
{
    uint64_t per = 1ull << s->l2_bits, cap = MIN(per, 4096);
    uint64_t *vals = malloc(cap * 8), *old = malloc(cap * 8);
    uint8_t *buf = malloc(s->cluster_size);
    int ret = vals && old && buf ? 0 : -ENOMEM;

    for (uint64_t c = first; ret == 0 && c <= last;) {
        uint64_t end = MIN(last + 1, MIN((c / per + 1) * per, c + cap));
        ret = fn(s, ctx, c, end - c, vals, old, buf);
        c = end;
    }
    free(vals);
    free(old);
    free(buf);
    return ret;
}

static int write_chunk_cb(struct qcow2 *s, void *ctx, uint64_t first, uint64_t n, uint64_t *vals,
                          uint64_t *old, uint8_t *buf)
{
    return write_chunk(s, ctx, first, n, vals, old, buf);
}

int qcow2_write_alloc(struct qcow2 *s, const struct iovec *iov, int iovcnt, uint64_t skip,
                      uint64_t voff, uint64_t len)
{
    struct wctx w = {iov, iovcnt, skip, voff, len};

    if (len == 0)
        return 0;
    return for_chunks(s, voff >> s->cluster_bits, (voff + len - 1) >> s->cluster_bits,
                      write_chunk_cb, &w);
}

struct zctx {
    uint64_t newe;
};

static int zero_chunk_cb(struct qcow2 *s, void *ctx, uint64_t first, uint64_t n, uint64_t *vals,
                         uint64_t *old, uint8_t *buf)
{
    const struct zctx *z = ctx;
    uint64_t l1i = first >> s->l2_bits;
    (void)buf;

    if (z->newe == 0 && (l1i >= s->l1_size || !(s->l1[l1i] & QCOW2_OFFSET_MASK)))
        return 0; /* already unallocated */
    for (uint64_t i = 0; i < n; i++)
        vals[i] = z->newe;
    int ret = update_l2(s, l1i, first & ((1ull << s->l2_bits) - 1), n, vals, old);
    return ret < 0 ? ret : free_old(s, old, vals, n);
}

int qcow2_zero_clusters(struct qcow2 *s, uint64_t voff, uint64_t len, bool is_zero)
{
    struct zctx z = {0};

    if (len == 0)
        return 0;
    if (s->m.h.version >= 3)
        z.newe = (is_zero || s->backing) ? QCOW2_OFLAG_ZERO : 0;
    else if (is_zero && s->backing)
        return -ENOTSUP; /* v2 has no zero flag: the caller writes zeros */
    return for_chunks(s, voff >> s->cluster_bits, (voff + len - 1) >> s->cluster_bits,
                      zero_chunk_cb, &z);
}

/* Moves the L1 table to (new_size) entries: new table written and flushed, header switched
 * and flushed, old table freed. */
static int grow_l1(struct qcow2 *s, uint32_t new_size)
{
    uint64_t cs = s->cluster_size, bytes = ALIGN_UP((uint64_t)new_size * 8, cs), off;
    uint64_t old_off = s->m.h.l1_table_offset, old_bytes = (uint64_t)s->l1_size * 8;
    uint64_t *l1 = calloc(1, (size_t)bytes);
    uint8_t *disk = calloc(1, (size_t)bytes), hdr[12];
    int ret = l1 && disk ? 0 : -ENOMEM;

    if (ret == 0)
        ret = qcow2_alloc_clusters(s, bytes / cs, &off);
    if (ret < 0)
        goto out;
    memcpy(l1, s->l1, (size_t)old_bytes);
    for (uint32_t i = 0; i < new_size; i++)
        be64_store(disk + (size_t)i * 8, l1[i]);
    ret = qcow2_meta_write(s, off, disk, (size_t)bytes);
    if (ret == 0)
        ret = qcow2_sync(s);
    if (ret < 0)
        goto out;
    be32_store(hdr, new_size);
    be64_store(hdr + 4, off);
    ret = qcow2_meta_write(s, QCOW2_HDR_L1_OFF, hdr, sizeof(hdr));
    if (ret == 0)
        ret = qcow2_sync(s);
    if (ret < 0)
        goto out;
    free(s->l1);
    s->l1 = l1;
    l1 = NULL;
    s->l1_size = new_size;
    s->m.h.l1_size = new_size;
    s->m.h.l1_table_offset = off;
    if (old_bytes)
        ret = qcow2_free_range(s, old_off, ALIGN_UP(old_bytes, cs));
out:
    free(l1);
    free(disk);
    return ret;
}

int qcow2_grow(struct qcow2 *s, uint64_t new_size)
{
    uint64_t cover = s->cluster_size << s->l2_bits, need = (new_size + cover - 1) / cover;
    uint8_t e[8];
    int ret = 0;

    if (new_size < s->m.h.size)
        return -ENOTSUP;
    if (new_size > (1ull << 62) || need * 8 > QCOW2_MAX_L1_BYTES)
        return -EFBIG;
    if (need > s->l1_size)
        ret = grow_l1(s, (uint32_t)need);
    if (ret < 0)
        return ret;
    be64_store(e, new_size);
    ret = qcow2_meta_write(s, QCOW2_HDR_SIZE_OFF, e, 8);
    if (ret == 0)
        ret = qcow2_sync(s);
    if (ret == 0) {
        s->m.h.size = new_size;
        s->b->size_bytes = new_size;
    }
    return ret;
}

/* SPDX-License-Identifier: MIT */
/*
 * qcow2 reference counts and cluster allocation (qcow2.txt "Host cluster management"): the
 * two-level refcount table/blocks with any refcount_order 0..6, allocation of free clusters
 * (refcount 0), refcount blocks allocated on demand (self-describing when possible) and the
 * refcount table moved to a bigger place when it is full. Every change is written through at
 * once; callers flush before anything on disk starts referencing a new cluster, so a crash can
 * only leave leaked clusters (refcount too high), never a reference to a free cluster.
 */
#define LOG_TAG "qcow2"
#include "block/qcow2/qcow2.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/ckd.h"
#include "base/log.h"

static uint64_t rc_read(const struct qcow2 *s, const uint8_t *blk, uint64_t i)
{
    unsigned bits = s->refcount_bits;
    uint64_t v = 0;

    if (bits < 8)
        return (blk[i * bits / 8] >> (i * bits % 8)) & ((1u << bits) - 1);
    for (unsigned k = 0; k < bits / 8; k++)
        v = (v << 8) | blk[i * (bits / 8) + k];
    return v;
}

/* Stores (v) at entry (i) of (blk); returns the byte range touched in (*at, *len). */
static void rc_write(const struct qcow2 *s, uint8_t *blk, uint64_t i, uint64_t v, size_t *at,
                     size_t *len)
{
    unsigned bits = s->refcount_bits;

    if (bits < 8) {
        unsigned shift = (unsigned)(i * bits % 8), mask = ((1u << bits) - 1) << shift;
        size_t byte = (size_t)(i * bits / 8);
        blk[byte] = (uint8_t)((blk[byte] & ~mask) | ((v << shift) & mask));
        *at = byte;
        *len = 1;
        return;
    }
    *at = (size_t)(i * (bits / 8));
    *len = bits / 8;
    for (unsigned k = bits / 8; k-- > 0; v >>= 8)
        blk[*at + k] = (uint8_t)v;
}

static uint64_t rc_max(const struct qcow2 *s)
{
    return s->refcount_bits == 64 ? UINT64_MAX : (1ull << s->refcount_bits) - 1;
}

int qcow2_refcount_load(struct qcow2 *s, struct error *err)
{
    uint64_t bytes = (uint64_t)s->m.h.refcount_table_clusters * s->cluster_size;
    int ret;

    s->reftable_entries = bytes / 8;
    s->reftable = malloc((size_t)bytes);
    if (!s->reftable)
        return error_set(err, -ENOMEM, "out of memory");
    ret = qcow2_meta_read(s, s->m.h.refcount_table_offset, s->reftable, (size_t)bytes);
    if (ret < 0)
        return error_set(err, ret, "disk %s: cannot read qcow2 refcount table", s->b->path);
    for (uint64_t i = 0; i < s->reftable_entries; i++) {
        uint64_t e = be64_load(&s->reftable[i]);
        s->reftable[i] = e;
        if (e & 0x1ffull || (e && e >= s->host_end))
            return error_set(err, -EINVAL,
                             "disk %s: qcow2 refcount block %llu invalid or past end of file",
                             s->b->path, (unsigned long long)i);
    }
    return 0;
}

/* Returns the cached refcount block for table index (ti) or NULL in (*blk) when none. */
static int get_block(struct qcow2 *s, uint64_t ti, uint8_t **blk)
{
    uint64_t off = ti < s->reftable_entries ? s->reftable[ti] : 0;

    *blk = NULL;
    if (!off)
        return 0;
    if (off % s->cluster_size || off >= s->host_end)
        return -EIO;
    return qcow2_tcache_get(s, &s->rbc, off, false, blk);
}

int qcow2_refcount_get(struct qcow2 *s, uint64_t cluster, uint64_t *val)
{
    uint8_t *blk;
    int ret = get_block(s, cluster / s->rb_entries, &blk);

    *val = 0;
    if (ret < 0)
        return ret;
    if (blk)
        *val = rc_read(s, blk, cluster % s->rb_entries);
    return 0;
}

/* Clusters past the end of the file the free search may look at: a crash leaves at most one
 * allocation's refcounts there; a hostile image can claim every cluster up to 2^50 in use. */
#define FREE_SEARCH_BEYOND_EOF (4ull << 20)

/* Finds (n) contiguous clusters with refcount 0 at or after cluster (start). */
static int find_free(struct qcow2 *s, uint64_t start, uint64_t n, uint64_t *first)
{
    uint64_t run = 0, c = start, v;
    uint64_t eof = (s->host_end + s->cluster_size - 1) / s->cluster_size;
    uint64_t limit = MAX(start, eof) + MAX(2 * s->rb_entries, FREE_SEARCH_BEYOND_EOF) + n;
    int ret;

    for (;;) {
        uint8_t *blk;
        ret = get_block(s, c / s->rb_entries, &blk);
        if (ret < 0)
            return ret;
        if (!blk) { /* a whole block's range is free */
            uint64_t next = (c / s->rb_entries + 1) * s->rb_entries;
            run += next - c;
            c = next;
        } else {
            v = rc_read(s, blk, c % s->rb_entries);
            run = v ? 0 : run + 1;
            c++;
        }
        if (run >= n) {
            *first = c - run;
            return 0;
        }
        if (c > limit) {
            log_ratelimited(LOG_ERROR,
                            "%s: no free cluster near the end of the file (cluster %llu): "
                            "refcounts corrupt",
                            s->b->path, (unsigned long long)eof);
            return -EIO;
        }
        if (c > (1ull << 50))
            return -ENOSPC;
    }
}

static int grow_reftable(struct qcow2 *s, uint64_t need_ti, uint64_t min_cluster);

/* Makes sure the refcount block for table index (ti) exists; new clusters go at or after
 * cluster (min). (depth) bounds the recursion. */
static int ensure_block(struct qcow2 *s, uint64_t ti, uint64_t min, unsigned depth)
{
    uint64_t c, cti;
    uint8_t *blk;
    size_t at, len;
    int ret;

    if (depth > 4)
        return -ELOOP;
    if (ti >= s->reftable_entries) {
        ret = grow_reftable(s, ti, min);
        if (ret < 0)
            return ret;
    }
    if (s->reftable[ti])
        return 0;
    ret = find_free(s, MAX(min, s->free_hint), 1, &c);
    if (ret < 0)
        return ret;
    if (qcow2_is_metadata(s, c * s->cluster_size, s->cluster_size))
        return -EIO; /* refcounts call the header or a table free */
    cti = c / s->rb_entries;
    if (cti != ti) { /* the block's own refcount lives in another block */
        ret = ensure_block(s, cti, c + 1, depth + 1);
        if (ret == 0)
            ret = qcow2_refcount_set(s, c, 1);
        if (ret < 0)
            return ret;
    }
    ret = qcow2_tcache_get(s, &s->rbc, c * s->cluster_size, true, &blk);
    if (ret < 0)
        return ret;
    if (cti == ti)
        rc_write(s, blk, c % s->rb_entries, 1, &at, &len);
    ret = qcow2_meta_write(s, c * s->cluster_size, blk, s->cluster_size);
    if (ret == 0) /* the block must be on disk before the table points at it */
        ret = qcow2_sync(s);
    if (ret < 0) {
        qcow2_tcache_drop(&s->rbc, c * s->cluster_size);
        return ret;
    }
    s->reftable[ti] = c * s->cluster_size;
    uint8_t e[8];
    be64_store(e, s->reftable[ti]);
    return qcow2_meta_write(s, s->m.h.refcount_table_offset + ti * 8, e, 8);
}

int qcow2_refcount_set(struct qcow2 *s, uint64_t cluster, uint64_t val)
{
    uint64_t ti = cluster / s->rb_entries;
    uint8_t *blk;
    size_t at, len;
    int ret;

    if (val > rc_max(s))
        return -ERANGE;
    ret = ensure_block(s, ti, cluster + 1, 0);
    if (ret == 0)
        ret = get_block(s, ti, &blk);
    if (ret == 0 && qcow2_is_metadata(s, s->reftable[ti], s->cluster_size))
        ret = -EIO; /* a hostile refcount table entry naming the header, L1 or itself */
    if (ret < 0)
        return ret;
    rc_write(s, blk, cluster % s->rb_entries, val, &at, &len);
    return qcow2_meta_write(s, s->reftable[ti] + at, blk + at, len);
}

int qcow2_alloc_clusters(struct qcow2 *s, uint64_t n, uint64_t *off)
{
    uint64_t c, end;
    int ret;

    ret = find_free(s, s->free_hint, n, &c);
    if (ret < 0)
        return ret;
    if (ckd_add(&end, c, n))
        return -ENOSPC;
    if (qcow2_is_metadata(s, c * s->cluster_size, n * s->cluster_size)) {
        log_ratelimited(LOG_ERROR, "%s: refcounts call the header, L1 or refcount table free",
                        s->b->path);
        return -EIO;
    }
    /* Create missing refcount blocks first, placed after the run so they cannot take it. */
    for (uint64_t ti = c / s->rb_entries; ti <= (end - 1) / s->rb_entries; ti++) {
        ret = ensure_block(s, ti, end, 0);
        if (ret < 0)
            return ret;
    }
    for (uint64_t i = c; i < end;) { /* one write per refcount block touched */
        uint64_t ti = i / s->rb_entries, stop = MIN(end, (ti + 1) * s->rb_entries);
        size_t lo = SIZE_MAX, hi = 0, at, len;
        uint8_t *blk;
        ret = get_block(s, ti, &blk);
        if (ret == 0 && (!blk || qcow2_is_metadata(s, s->reftable[ti], s->cluster_size)))
            ret = -EIO;
        if (ret < 0)
            return ret;
        for (; i < stop; i++) {
            rc_write(s, blk, i % s->rb_entries, 1, &at, &len);
            lo = MIN(lo, at);
            hi = MAX(hi, at + len);
        }
        ret = qcow2_meta_write(s, s->reftable[ti] + lo, blk + lo, hi - lo);
        if (ret < 0)
            return ret;
    }
    s->free_hint = MAX(s->free_hint, end);
    *off = c * s->cluster_size;
    return 0;
}

int qcow2_free_now(struct qcow2 *s, uint64_t off, uint64_t len)
{
    uint64_t first = off / s->cluster_size, last = (off + len - 1) / s->cluster_size, v;
    int ret;

    for (uint64_t c = first; len > 0 && c <= last; c++) {
        ret = qcow2_refcount_get(s, c, &v);
        if (ret < 0)
            return ret;
        if (v == 0) {
            log_warn("%s: freeing cluster %llu whose refcount is already 0", s->b->path,
                     (unsigned long long)c);
            continue;
        }
        ret = qcow2_refcount_set(s, c, v - 1);
        if (ret < 0)
            return ret;
        if (v == 1) {
            s->free_hint = MIN(s->free_hint, c); /* the search for free clusters may take it */
            qcow2_tcache_drop(&s->l2c, c * s->cluster_size);
            /* best effort: give the space back to the host filesystem */
            (void)!fallocate(s->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                             (off_t)(c * s->cluster_size), (off_t)s->cluster_size);
        }
    }
    return 0;
}

/* Writes the refcount blocks of a fresh region [r, r+k+nt) at its start (cluster r, k blocks,
 * each refcount 1 for the region's clusters) and the new table after them. */
static int write_region(struct qcow2 *s, uint64_t r, uint64_t k, uint64_t nt, uint64_t *tab)
{
    uint8_t *blk = calloc(1, s->cluster_size);
    size_t at, len;
    int ret = 0;

    if (!blk)
        return -ENOMEM;
    for (uint64_t j = 0; j < k && ret == 0; j++) {
        memset(blk, 0, s->cluster_size);
        for (uint64_t c = r + j * s->rb_entries; c < r + k + nt && c < r + (j + 1) * s->rb_entries;
             c++)
            rc_write(s, blk, c % s->rb_entries, 1, &at, &len);
        ret = qcow2_meta_write(s, (r + j) * s->cluster_size, blk, s->cluster_size);
        tab[r / s->rb_entries + j] = (r + j) * s->cluster_size;
    }
    free(blk);
    return ret;
}

static int write_table(struct qcow2 *s, uint64_t off, const uint64_t *tab, uint64_t entries)
{
    uint8_t *buf = calloc(entries, 8);
    int ret;

    if (!buf)
        return -ENOMEM;
    for (uint64_t i = 0; i < entries; i++)
        be64_store(buf + i * 8, tab[i]);
    ret = qcow2_meta_write(s, off, buf, (size_t)entries * 8);
    free(buf);
    return ret;
}

/*
 * Moves the refcount table to a bigger one covering index (need_ti). The new table and the
 * refcount blocks describing it go to a fresh region past everything in use and past cluster
 * (min): blocks first, then the table. Order: region written, flush, header switched, flush,
 * old table freed. A crash before the header switch leaks the region, never more.
 */
static int grow_reftable(struct qcow2 *s, uint64_t need_ti, uint64_t min)
{
    uint64_t rb = s->rb_entries, cs = s->cluster_size, old_cl = s->m.h.refcount_table_clusters;
    uint64_t r = MAX(MAX(s->reftable_entries * rb, min), (s->host_end + cs - 1) / cs);
    uint64_t k = 1, nt = 1, entries, *tab;
    uint8_t hdr[12];
    int ret;

    r = ALIGN_UP(MAX(r, s->free_hint), rb);
    for (int i = 0; i < 8; i++) { /* fixed point of (k, nt) */
        entries = MAX(need_ti + 1, (r + k + nt - 1) / rb + 1);
        nt = MAX((entries * 8 + cs - 1) / cs, 2 * old_cl);
        k = (k + nt + rb - 1) / rb;
    }
    entries = nt * cs / 8;
    if (nt * cs > QCOW2_MAX_REFTABLE_BYTES || entries < (r + k + nt - 1) / rb + 1 ||
        entries <= need_ti)
        return -EFBIG;
    tab = calloc(entries, 8);
    if (!tab)
        return -ENOMEM;
    memcpy(tab, s->reftable, s->reftable_entries * 8);
    ret = write_region(s, r, k, nt, tab);
    if (ret == 0)
        ret = write_table(s, (r + k) * cs, tab, entries);
    if (ret == 0)
        ret = qcow2_sync(s);
    if (ret < 0)
        goto out;
    be64_store(hdr, (r + k) * cs);
    be32_store(hdr + 8, (uint32_t)nt);
    ret = qcow2_meta_write(s, QCOW2_HDR_REFTABLE_OFF, hdr, sizeof(hdr));
    if (ret == 0)
        ret = qcow2_sync(s);
    if (ret < 0)
        goto out;
    uint64_t old_off = s->m.h.refcount_table_offset;
    free(s->reftable);
    s->reftable = tab;
    tab = NULL;
    s->reftable_entries = entries;
    s->m.h.refcount_table_offset = (r + k) * cs;
    s->m.h.refcount_table_clusters = (uint32_t)nt;
    s->free_hint = MAX(s->free_hint, r + k + nt);
    ret = qcow2_free_range(s, old_off, old_cl * cs);
out:
    free(tab);
    return ret;
}

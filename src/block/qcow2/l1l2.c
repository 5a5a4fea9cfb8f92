/* SPDX-License-Identifier: MIT */
/*
 * qcow2 guest-to-host mapping (qcow2.txt "Cluster mapping", "Compressed Clusters
 * Descriptor"): L1/L2 lookups through the L2 cache, compressed cluster reads (raw deflate via
 * zlib), synchronous reads of any range, and the allocating write path. Allocating writes run
 * synchronously on a job's worker thread (jobs.c) in the crash-safe order: refcounts of new
 * clusters written, data (with copy-on-write of the partial clusters) written, new L2 tables
 * written, flush, L2 entries updated, L1 entries updated; clusters a write replaces are freed only
 * after another flush. A crash at any point leaves leaked clusters at worst.
 */
#define LOG_TAG "qcow2"
#include "block/qcow2/qcow2.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "base/ckd.h"
#include "base/log.h"

int qcow2_l2_lookup(struct qcow2 *s, uint64_t voff, uint64_t *entry)
{
    uint64_t l1i = voff >> (s->cluster_bits + s->l2_bits), l2off;
    uint64_t l2i = (voff >> s->cluster_bits) & ((1ull << s->l2_bits) - 1);
    uint8_t *t;
    int ret;

    *entry = 0;
    if (l1i >= s->l1_size)
        return 0;
    l2off = s->l1[l1i] & QCOW2_OFFSET_MASK;
    if (!l2off)
        return 0;
    if (l2off % s->cluster_size || l2off + s->cluster_size > s->host_end) {
        log_ratelimited(LOG_ERROR, "%s: L2 table at %#llx invalid or past end of file", s->b->path,
                        (unsigned long long)l2off);
        return -EIO;
    }
    ret = qcow2_tcache_get(s, &s->l2c, l2off, false, &t);
    if (ret < 0)
        return ret;
    *entry = be64_load(t + l2i * 8);
    return 0;
}

enum qcow2_ctype qcow2_entry_type(const struct qcow2 *s, uint64_t entry, uint64_t *host)
{
    *host = entry & QCOW2_OFFSET_MASK;
    if (entry & QCOW2_OFLAG_COMPRESSED)
        return QCOW2_COMPRESSED;
    if (s->m.h.version >= 3 && (entry & QCOW2_OFLAG_ZERO))
        return QCOW2_ZERO;
    return *host ? QCOW2_NORMAL : QCOW2_UNALLOC;
}

/* Validates a NORMAL cluster's host offset. */
static int check_host(struct qcow2 *s, uint64_t host)
{
    if (host % s->cluster_size || host >= s->host_end) {
        log_ratelimited(LOG_ERROR, "%s: data cluster at %#llx invalid or past end of file",
                        s->b->path, (unsigned long long)host);
        return -EIO;
    }
    return 0;
}

static int inflate_raw(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_len)
{
    z_stream z = {0};
    int ret;

    if (inflateInit2(&z, -12) != Z_OK)
        return -ENOMEM;
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)in_len;
    z.next_out = out;
    z.avail_out = (uInt)out_len;
    ret = inflate(&z, Z_FINISH);
    inflateEnd(&z);
    if ((ret == Z_STREAM_END || ret == Z_BUF_ERROR) && z.avail_out == 0)
        return 0;
    return -EIO;
}

int qcow2_read_compressed(struct qcow2 *s, uint64_t entry, uint8_t *out)
{
    unsigned x = 62 - (s->cluster_bits - 8);
    uint64_t off = entry & ((1ull << x) - 1);
    uint64_t nsec = (entry >> x) & ((1ull << (s->cluster_bits - 8)) - 1);
    uint64_t len = (nsec + 1) * 512 - (off & 511);
    ssize_t n;

    if (off >= s->host_end || len > 2 * s->cluster_size) {
        log_ratelimited(LOG_ERROR, "%s: compressed cluster at %#llx invalid", s->b->path,
                        (unsigned long long)off);
        return -EIO;
    }
    len = MIN(len, s->host_end - off); /* the last one may end with the file */
    do {
        n = pread(s->fd, s->zbuf, (size_t)len, (off_t)off);
    } while (n < 0 && errno == EINTR);
    if (n < 0)
        return -errno;
    return inflate_raw(s->zbuf, (size_t)n, out, s->cluster_size);
}

/* Reads [off, off+len) of host cluster data; past end of file reads as zeros. */
static int host_read(struct qcow2 *s, void *buf, uint64_t len, uint64_t off)
{
    ssize_t n = 0;
    uint64_t done = 0;

    while (done < len) {
        n = pread(s->fd, (char *)buf + done, (size_t)(len - done), (off_t)(off + done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            break;
        done += (uint64_t)n;
    }
    memset((char *)buf + done, 0, (size_t)(len - done));
    return 0;
}

/* Reads the [in, in+n) part of the guest cluster at (voff) described by (entry). */
static int read_cluster_part(struct qcow2 *s, uint64_t entry, uint64_t voff, uint64_t in,
                             uint64_t n, uint8_t *buf)
{
    uint64_t host;
    int ret;

    switch (qcow2_entry_type(s, entry, &host)) {
    case QCOW2_UNALLOC:
        if (s->backing)
            return s->backing->drv->read_sync(s->backing, buf, n, voff + in);
        memset(buf, 0, (size_t)n);
        return 0;
    case QCOW2_ZERO:
        memset(buf, 0, (size_t)n);
        return 0;
    case QCOW2_NORMAL:
        ret = check_host(s, host);
        return ret < 0 ? ret : host_read(s, buf, n, host + in);
    case QCOW2_COMPRESSED: {
        uint8_t *tmp = malloc(s->cluster_size);
        if (!tmp)
            return -ENOMEM;
        ret = qcow2_read_compressed(s, entry, tmp);
        if (ret == 0)
            memcpy(buf, tmp + in, (size_t)n);
        free(tmp);
        return ret;
    }
    }
    return -EIO;
}

int qcow2_read_sync_entry(struct qcow2 *s, uint64_t entry, uint64_t cvoff, uint8_t *buf)
{
    return read_cluster_part(s, entry, cvoff, 0, s->cluster_size, buf);
}

int qcow2_read_sync(struct qcow2 *s, void *buf, uint64_t len, uint64_t voff)
{
    uint8_t *p = buf;
    uint64_t entry;
    int ret;

    while (len > 0) {
        uint64_t in = voff & (s->cluster_size - 1), n = MIN(len, s->cluster_size - in);
        if (voff >= s->m.h.size) {
            memset(p, 0, (size_t)len);
            return 0;
        }
        n = MIN(n, s->m.h.size - voff);
        ret = qcow2_l2_lookup(s, voff, &entry);
        if (ret == 0)
            ret = read_cluster_part(s, entry, voff - in, in, n, p);
        if (ret < 0)
            return ret;
        p += n;
        voff += n;
        len -= n;
    }
    return 0;
}

/* The kind of a guest range as block_status sees it. */
enum bs_kind { BS_DATA, BS_ZERO, BS_BACKING };

/* The kind of the guest cluster at (voff) and the bytes of that kind from (voff) it covers
 * (a whole L1 entry's range when it has no L2 table). */
static int cluster_kind(struct qcow2 *s, uint64_t voff, enum bs_kind *kind, uint64_t *n)
{
    uint64_t cover = s->cluster_size << s->l2_bits, l1i = voff >> (s->cluster_bits + s->l2_bits);
    uint64_t entry, host;
    int ret;

    if (l1i >= s->l1_size || !(s->l1[l1i] & QCOW2_OFFSET_MASK)) {
        *kind = s->backing ? BS_BACKING : BS_ZERO;
        *n = cover - (voff & (cover - 1));
        return 0;
    }
    ret = qcow2_l2_lookup(s, voff, &entry);
    if (ret < 0)
        return ret;
    *n = s->cluster_size - (voff & (s->cluster_size - 1));
    switch (qcow2_entry_type(s, entry, &host)) {
    case QCOW2_UNALLOC:
        *kind = s->backing ? BS_BACKING : BS_ZERO;
        break;
    case QCOW2_ZERO:
        *kind = BS_ZERO;
        break;
    default:
        *kind = BS_DATA;
    }
    return 0;
}

int qcow2_block_status(struct blk *b, uint64_t off, uint64_t len, uint64_t *pnum, bool *is_zero)
{
    struct qcow2 *s = qcow2_of(b);
    enum bs_kind first = BS_DATA, kind;
    uint64_t done = 0, n, bsize;
    int ret;

    qcow2_jobs_wait(s); /* the metadata is the loop thread's again */
    while (done < len) {
        ret = cluster_kind(s, off + done, &kind, &n);
        if (ret < 0)
            return ret;
        if (done == 0)
            first = kind;
        else if (kind != first)
            break;
        done += MIN(n, len - done);
    }
    *pnum = done;
    *is_zero = first == BS_ZERO;
    if (first != BS_BACKING)
        return 0;
    /* Unallocated here: what the backing chain has there (zeros past its end). */
    bsize = blk_size_bytes(s->backing);
    *is_zero = true;
    if (off >= bsize)
        return 0;
    return blk_block_status(s->backing, off, MIN(done, bsize - off), pnum, is_zero);
}

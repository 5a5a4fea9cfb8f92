/* SPDX-License-Identifier: MIT */
/*
 * disk_copy (block/image.h), behind `bareiron disk convert` and `bareiron clone`: copies an
 * image's contents (its backing chain flattened) into a new image. Only what the source has is
 * read: holes of sparse raw files (SEEK_DATA/SEEK_HOLE), zero and unallocated qcow2 clusters
 * are skipped through blk_block_status(), and blocks that read as zeros are not written (the
 * new image keeps holes or unallocated clusters there). The destination is written into a
 * temporary file (struct disk_new) without the metadata flushes a live disk needs, synced once
 * at the end, then renamed into place: an interrupted or failed copy leaves nothing behind.
 */
#include "block/image.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

#define CONVERT_CHUNK (1u << 20)
#define RAW_ZERO_BLOCK 4096u

struct copy {
    struct blk *src, *dst;
    uint64_t size;
    uint64_t zero_block; /* granularity of the zero test on writes (qcow2: a cluster) */
    uint8_t *buf;
    const struct disk_copy_opts *o;
};

static bool is_zero(const uint8_t *p, size_t n)
{
    return n == 0 || (p[0] == 0 && memcmp(p, p + 1, n - 1) == 0);
}

static void progress(struct copy *c, uint64_t off)
{
    if (c->o->progress)
        c->o->progress(c->o->opaque, MIN(off, c->size), c->size);
}

/* Writes the non-zero zero_block-aligned pieces of (buf, n bytes at off), merged into runs. */
static int write_nonzero(struct copy *c, const uint8_t *buf, uint64_t n, uint64_t off)
{
    uint64_t pos = 0, start = 0;
    bool is_in_run = false;
    int ret;

    while (pos < n) {
        uint64_t end = MIN(n, ALIGN_DOWN(off + pos, c->zero_block) + c->zero_block - off);
        bool is_data = !is_zero(buf + pos, (size_t)(end - pos));
        if (is_data && !is_in_run)
            start = pos;
        if (!is_data && is_in_run) {
            ret = blk_pwrite(c->dst, buf + start, pos - start, off + start);
            if (ret < 0)
                return ret;
        }
        is_in_run = is_data;
        pos = end;
    }
    return is_in_run ? blk_pwrite(c->dst, buf + start, n - start, off + start) : 0;
}

/* Copies the data range [off, off+len) chunk by chunk. */
static int copy_data(struct copy *c, uint64_t off, uint64_t len, struct error *err)
{
    for (uint64_t done = 0; done < len; done += CONVERT_CHUNK) {
        uint64_t n = MIN((uint64_t)CONVERT_CHUNK, len - done);
        int ret;
        if (c->o->is_interrupted && *c->o->is_interrupted)
            return error_set(err, -EINTR, "interrupted");
        ret = blk_pread(c->src, c->buf, n, off + done);
        if (ret < 0)
            return error_set(err, ret, "read at %" PRIu64 ": %s", off + done, strerror(-ret));
        ret = write_nonzero(c, c->buf, n, off + done);
        if (ret < 0)
            return error_set(err, ret, "write at %" PRIu64 ": %s", off + done, strerror(-ret));
        progress(c, off + done + n);
    }
    return 0;
}

static int copy_all(struct copy *c, struct error *err)
{
    uint64_t off = 0, n;
    bool is_zero_range;
    int ret = 0;

    if (posix_memalign((void **)&c->buf, 4096, CONVERT_CHUNK))
        return error_set(err, -ENOMEM, "out of memory");
    while (off < c->size && ret == 0) {
        ret = blk_block_status(c->src, off, c->size - off, &n, &is_zero_range);
        if (ret < 0) {
            error_set(err, ret, "read at %" PRIu64 ": %s", off, strerror(-ret));
            break;
        }
        if (!is_zero_range) /* a new image reads as zeros: holes need nothing */
            ret = copy_data(c, off, n, err);
        off += n;
        progress(c, off);
    }
    free(c->buf);
    return ret;
}

/* Creates the destination in (n), opens it in (*dst). */
static int open_dst(const struct disk_copy_opts *o, struct disk_new *n, uint64_t size,
                    struct blk **dst, struct error *err)
{
    struct blk_open_opts dopt = {.path = n->tmp, .is_scratch = true};
    struct error e = {0};
    int ret;

    dopt.format = o->format ? o->format : BLK_FORMAT_QCOW2;
    ret = dopt.format == BLK_FORMAT_RAW
              ? disk_new_raw(n, size, err)
              : disk_new_qcow2(n, ALIGN_UP(size, 512u), o->cluster_size, NULL, NULL, err);
    if (ret == 0 && blk_open(&dopt, NULL, dst, &e) < 0) /* name the destination */
        ret =
            error_set(err, e.code, "%s: cannot open the new image: %s", n->name, strerror(-e.code));
    return ret;
}

int disk_copy(const struct disk_copy_opts *o, struct error *err)
{
    struct blk_open_opts so = {
        .path = o->src, .format = o->src_format, .backing = o->src_backing, .is_readonly = true};
    const char *dst_path = o->dst;
    struct copy c = {.o = o};
    struct disk_new n;
    int ret = blk_open(&so, NULL, &c.src, err);

    if (ret < 0)
        return ret;
    c.size = blk_size_bytes(c.src);
    ret = disk_new_begin(&n, dst_path, o->is_force, err);
    if (ret < 0) {
        blk_close(c.src);
        return ret;
    }
    ret = open_dst(o, &n, c.size, &c.dst, err);
    if (ret == 0) {
        c.zero_block = (o->format == BLK_FORMAT_RAW)
                           ? RAW_ZERO_BLOCK
                           : (o->cluster_size ? o->cluster_size : QCOW2_DEFAULT_CLUSTER_SIZE);
        ret = copy_all(&c, err);
    }
    if (ret == 0) {
        ret = blk_flush(c.dst);
        if (ret < 0)
            error_set(err, ret, "%s: %s", dst_path, strerror(-ret));
    }
    blk_close(c.dst);
    blk_close(c.src);
    if (ret < 0) {
        disk_new_abort(&n);
        return ret;
    }
    return disk_new_commit(&n, err);
}

/* SPDX-License-Identifier: MIT */
/*
 * Image-level tools (block/image.h): header-only description of raw and qcow2 images and
 * their backing chains, resize and qcow2 check/repair, for `bareiron disk` (creation is in
 * image_create.c).
 */
#define LOG_TAG "blk-image"
#include "block/image.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/util.h"
#include "block/blk_internal.h"
#include "block/qcow2/qcow2.h"

const char *blk_format_name(enum blk_format fmt)
{
    switch (fmt) {
    case BLK_FORMAT_RAW:
        return "raw";
    case BLK_FORMAT_QCOW2:
        return "qcow2";
    default:
        return "auto";
    }
}

static void fill_qcow2(struct disk_info *di, const struct qcow2_meta *m, const char *path)
{
    di->format = BLK_FORMAT_QCOW2;
    di->virtual_size_bytes = m->h.size;
    di->cluster_size_bytes = 1ull << m->h.cluster_bits;
    di->qcow2_version = m->h.version;
    di->refcount_bits = 1u << m->h.refcount_order;
    di->nb_snapshots = m->h.nb_snapshots;
    di->is_dirty = m->h.incompatible_features & QCOW2_INCOMPAT_DIRTY;
    di->is_corrupt = m->h.incompatible_features & QCOW2_INCOMPAT_CORRUPT;
    di->has_lazy_refcounts = m->h.compatible_features & QCOW2_COMPAT_LAZY_REFCOUNTS;
    snprintf(di->backing, sizeof(di->backing), "%s", m->backing);
    snprintf(di->backing_fmt, sizeof(di->backing_fmt), "%s", m->backing_fmt);
    if (m->backing[0] == '/' || !m->backing[0]) {
        snprintf(di->backing_resolved, sizeof(di->backing_resolved), "%s", m->backing);
    } else {
        char dir[PATH_MAX];
        snprintf(dir, sizeof(dir), "%s", path);
        snprintf(di->backing_resolved, sizeof(di->backing_resolved), "%s/%s", dirname(dir),
                 m->backing);
    }
}

int disk_info_get(const char *path, enum blk_format fmt, struct disk_info *di, struct error *err)
{
    struct qcow2_meta *m = NULL;
    uint8_t magic[4] = {0};
    struct stat st;
    int fd, ret = 0;

    memset(di, 0, sizeof(*di));
    /* O_NONBLOCK: opening a FIFO must not wait for a writer before it is refused */
    fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return error_set(err, -errno, "%s: %s", path, strerror(errno));
    if (fstat(fd, &st) < 0) {
        ret = error_set(err, -errno, "%s: %s", path, strerror(errno));
        goto out;
    }
    if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
        ret = error_set(err, -EINVAL, "%s: not a regular file or block device", path);
        goto out;
    }
    di->file_size_bytes = (uint64_t)st.st_size;
    di->disk_size_bytes = (uint64_t)st.st_blocks * 512;
    if (S_ISBLK(st.st_mode) && ioctl(fd, BLKGETSIZE64, &di->file_size_bytes) < 0) {
        ret = error_set(err, -errno, "%s: BLKGETSIZE64: %s", path, strerror(errno));
        goto out;
    }
    if (fmt == BLK_FORMAT_AUTO && di->file_size_bytes >= 4 && pread_full(fd, magic, 4, 0) == 0 &&
        memcmp(magic, "QFI\xfb", 4) == 0)
        fmt = BLK_FORMAT_QCOW2;
    if (fmt != BLK_FORMAT_QCOW2) {
        di->format = BLK_FORMAT_RAW;
        di->virtual_size_bytes = di->file_size_bytes;
        goto out;
    }
    m = malloc(sizeof(*m));
    if (!m) {
        ret = error_set(err, -ENOMEM, "out of memory");
        goto out;
    }
    ret = qcow2_read_header(fd, di->file_size_bytes, path, m, err);
    if (ret == 0)
        fill_qcow2(di, m, path);
out:
    free(m);
    close(fd);
    return ret;
}

static int resize_raw(struct blk *b, uint64_t size, bool allow_shrink, struct error *err)
{
    if (b->is_bdev)
        return error_set(err, -ENOTSUP, "%s: cannot resize a block device", b->path);
    if (size < b->size_bytes && !allow_shrink)
        return error_set(err, -EINVAL, "%s: shrinking loses data: pass --shrink", b->path);
    if (ftruncate(b->bfd, (off_t)size) < 0 || fsync(b->bfd) < 0)
        return error_set(err, -errno, "%s: %s", b->path, strerror(errno));
    return 0;
}

int disk_resize(const char *path, enum blk_format fmt, uint64_t size, bool allow_shrink,
                struct error *err)
{
    struct blk_open_opts o = {
        .path = path, .format = fmt, .backing = BLK_BACKING_ANY, .needs_sync_engine = true};
    struct blk *b;
    int ret = blk_open(&o, NULL, &b, err);

    if (ret < 0)
        return ret;
    if (b->drv == &raw_driver) {
        ret = resize_raw(b, size, allow_shrink, err);
    } else if (size % 512) {
        ret = error_set(err, -EINVAL, "%s: size must be a multiple of 512", path);
    } else {
        ret = qcow2_grow(qcow2_of(b), size);
        if (ret == -ENOTSUP)
            error_set(err, ret, "%s: qcow2 images can only grow", path);
        else if (ret < 0)
            error_set(err, ret, "%s: cannot resize: %s", path, strerror(-ret));
    }
    blk_close(b);
    return ret;
}

/* After a repair left (s) consistent, clears its corrupt and dirty marks. */
static int clear_marks(struct qcow2 *s, const struct qcow2_check_result *r,
                       struct disk_check_result *res, struct error *err)
{
    uint64_t marks = QCOW2_INCOMPAT_CORRUPT | QCOW2_INCOMPAT_DIRTY;
    int ret;

    if (!(s->m.h.incompatible_features & marks) || r->corruptions || r->is_incomplete)
        return 0;
    ret = qcow2_mark_consistent(s);
    if (ret < 0)
        return error_set(err, ret, "%s: cannot clear the corrupt mark: %s", s->b->path,
                         strerror(-ret));
    res->is_mark_cleared = res->is_marked_corrupt;
    res->is_marked_corrupt = false;
    return 0;
}

int disk_check(const char *path, bool repair, struct disk_check_result *res, struct error *err)
{
    struct blk_open_opts o = {.path = path,
                              .backing = BLK_BACKING_ANY,
                              .is_readonly = !repair,
                              .needs_sync_engine = true,
                              .is_repair = repair};
    struct qcow2_check_result r;
    struct blk *b;
    int ret = blk_open(&o, NULL, &b, err);

    memset(res, 0, sizeof(*res));
    if (ret < 0)
        return ret;
    if (b->drv != &qcow2_driver) {
        blk_close(b);
        return error_set(err, -ENOTSUP, "%s: raw images have no metadata to check", path);
    }
    ret = qcow2_check(qcow2_of(b), repair, &r, err);
    if (ret == 0 && repair && r.fixed) { /* report what is left after the repair */
        uint64_t fixed = r.fixed;
        ret = qcow2_check(qcow2_of(b), false, &r, err);
        r.fixed = fixed;
    }
    if (ret == 0) {
        *res = (struct disk_check_result){r.corruptions, r.leaks, r.allocated,
                                          r.total,       r.fixed, r.is_incomplete};
        res->is_marked_corrupt = qcow2_of(b)->m.h.incompatible_features & QCOW2_INCOMPAT_CORRUPT;
    }
    if (ret == 0 && repair)
        ret = clear_marks(qcow2_of(b), &r, res, err);
    blk_close(b);
    return ret;
}

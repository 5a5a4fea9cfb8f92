/* SPDX-License-Identifier: MIT */
/*
 * Creating qcow2 images (qcow2.txt "Header", "Header extensions", "Host cluster management"):
 * a version 3 header (compat 1.1, refcount_order 4, zlib compression), the backing format
 * extension, the backing file name, then the refcount table, the refcount blocks that count
 * every metadata cluster, and an empty L1 table, laid out contiguously:
 *   cluster 0 | refcount table | refcount blocks | L1 table
 * written into a new file of image_create.c (struct disk_new).
 */
#define LOG_TAG "qcow2"
#include "block/image.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/util.h"
#include "block/qcow2/qcow2.h"

#define HEADER_V3_LEN 112

struct layout {
    uint64_t cs, l1_entries, l1_cl, rt_cl, rb_cl, total;
};

static void plan(struct layout *l, uint64_t size, uint64_t cs)
{
    uint64_t cover = cs * (cs / 8), rb_entries = cs * 8 / 16;

    l->cs = cs;
    l->l1_entries = (size + cover - 1) / cover;
    l->l1_cl = MAX(1u, (l->l1_entries * 8 + cs - 1) / cs);
    l->rt_cl = l->rb_cl = 1;
    for (int i = 0; i < 16; i++) {
        l->total = 1 + l->rt_cl + l->rb_cl + l->l1_cl;
        l->rb_cl = (l->total + rb_entries - 1) / rb_entries;
        l->rt_cl = (l->rb_cl * 8 + cs - 1) / cs;
    }
    l->total = 1 + l->rt_cl + l->rb_cl + l->l1_cl;
}

/* Fills cluster 0. Returns 0 or -EINVAL when it does not fit. */
static int build_header(uint8_t *h, const struct layout *l, uint64_t size, const char *backing,
                        const char *fmt)
{
    size_t off = HEADER_V3_LEN, blen = backing ? strlen(backing) : 0;
    size_t flen = fmt ? strlen(fmt) : 0;

    if (off + 8 + ALIGN_UP(flen, 8u) + 8 + blen > l->cs || blen > QCOW2_MAX_BACKING_NAME)
        return -EINVAL;
    be32_store(h, QCOW2_MAGIC);
    be32_store(h + 4, 3);
    be32_store(h + 20, (uint32_t)__builtin_ctzll(l->cs));
    be64_store(h + 24, size);
    be32_store(h + 36, (uint32_t)l->l1_entries);
    be64_store(h + 40, (1 + l->rt_cl + l->rb_cl) * l->cs);
    be64_store(h + 48, l->cs);
    be32_store(h + 56, (uint32_t)l->rt_cl);
    be32_store(h + 96, 4);
    be32_store(h + 100, HEADER_V3_LEN);
    if (flen) {
        be32_store(h + off, QCOW2_EXT_BACKING_FORMAT);
        be32_store(h + off + 4, (uint32_t)flen);
        memcpy(h + off + 8, fmt, flen);
        off += 8 + ALIGN_UP(flen, 8u);
    }
    off += 8; /* end-of-extensions marker: zeros */
    if (blen) {
        be64_store(h + 8, off);
        be32_store(h + 16, (uint32_t)blen);
        memcpy(h + off, backing, blen);
    }
    return 0;
}

static int write_tables(int fd, const struct layout *l)
{
    uint64_t cs = l->cs, rb_entries = cs * 8 / 16;
    uint8_t *buf = calloc(l->rt_cl + l->rb_cl, cs);
    int ret;

    if (!buf)
        return -ENOMEM;
    for (uint64_t i = 0; i < l->rb_cl; i++) /* refcount table entries */
        be64_store(buf + i * 8, (1 + l->rt_cl + i) * cs);
    for (uint64_t c = 0; c < l->total; c++) { /* refcount 1 for each metadata cluster */
        uint8_t *rb = buf + (l->rt_cl + c / rb_entries) * cs;
        rb[(c % rb_entries) * 2 + 1] = 1;
    }
    ret = pwrite_full(fd, buf, (size_t)((l->rt_cl + l->rb_cl) * cs), cs);
    free(buf);
    return ret;
}

static int backing_params(const char *path, const char *backing, const char **fmt, uint64_t *size,
                          struct error *err)
{
    struct disk_info bi;
    char resolved[PATH_MAX], dir[PATH_MAX];
    int ret;

    if (backing[0] == '/') {
        snprintf(resolved, sizeof(resolved), "%s", backing);
    } else {
        snprintf(dir, sizeof(dir), "%s", path);
        char *slash = strrchr(dir, '/');
        if (slash)
            slash[1] = '\0';
        else
            dir[0] = '\0';
        snprintf(resolved, sizeof(resolved), "%s%s", dir, backing);
    }
    enum blk_format bf = BLK_FORMAT_AUTO;
    if (*fmt && strcmp(*fmt, "raw") == 0)
        bf = BLK_FORMAT_RAW;
    else if (*fmt && strcmp(*fmt, "qcow2") == 0)
        bf = BLK_FORMAT_QCOW2;
    else if (*fmt)
        return error_set(err, -EINVAL, "backing format '%s' is not supported (raw, qcow2)", *fmt);
    ret = disk_info_get(resolved, bf, &bi, err);
    if (ret < 0)
        return ret;
    if (!*fmt)
        *fmt = blk_format_name(bi.format);
    if (*size == 0)
        *size = bi.virtual_size_bytes;
    return 0;
}

/* Checks the parameters and fills cluster 0 (*hdr, malloc'd) and the layout (l). */
static int prepare(const char *path, uint64_t *size, uint64_t *cluster_size, const char *backing,
                   const char *backing_fmt, struct layout *l, uint8_t **hdr, struct error *err)
{
    int ret;

    *cluster_size = *cluster_size ? *cluster_size : QCOW2_DEFAULT_CLUSTER_SIZE;
    if (!IS_POW2(*cluster_size) || *cluster_size < 512 || *cluster_size > (2u << 20))
        return error_set(err, -EINVAL, "cluster size must be a power of two from 512 to 2M");
    if (backing && backing[0]) {
        ret = backing_params(path, backing, &backing_fmt, size, err);
        if (ret < 0)
            return ret;
    } else {
        backing = NULL;
        backing_fmt = NULL;
    }
    if (*size > (1ull << 62) || *size % 512)
        return error_set(err, -EINVAL, "size must be a multiple of 512 bytes");
    plan(l, *size, *cluster_size);
    if (l->l1_entries * 8 > QCOW2_MAX_L1_BYTES)
        return error_set(err, -EINVAL, "size too large for cluster size %llu",
                         (unsigned long long)*cluster_size);
    *hdr = calloc(1, *cluster_size);
    if (!*hdr)
        return error_set(err, -ENOMEM, "out of memory");
    if (build_header(*hdr, l, *size, backing, backing_fmt) < 0) {
        free(*hdr);
        *hdr = NULL;
        return error_set(err, -EINVAL, "%s: backing file name too long for the cluster size", path);
    }
    return 0;
}

int disk_new_qcow2(struct disk_new *n, uint64_t size, uint64_t cluster_size, const char *backing,
                   const char *backing_fmt, struct error *err)
{
    struct layout l = {0};
    uint8_t *hdr = NULL;
    int ret = prepare(n->name, &size, &cluster_size, backing, backing_fmt, &l, &hdr, err);

    if (ret < 0)
        return ret;
    ret = ftruncate(n->fd, (off_t)(l.total * cluster_size)) < 0 ? -errno : 0;
    if (ret == 0)
        ret = pwrite_full(n->fd, hdr, cluster_size, 0);
    if (ret == 0)
        ret = write_tables(n->fd, &l);
    if (ret < 0)
        error_set(err, ret, "%s: cannot write image: %s", n->name, strerror(-ret));
    free(hdr);
    return ret;
}

int qcow2_create(const char *path, uint64_t size, uint64_t cluster_size, const char *backing,
                 const char *backing_fmt, bool is_force, struct error *err)
{
    struct disk_new n;
    int ret;

    ret = disk_new_begin(&n, path, is_force, err);
    if (ret < 0)
        return ret;
    ret = disk_new_qcow2(&n, size, cluster_size, backing, backing_fmt, err);
    if (ret < 0) {
        disk_new_abort(&n);
        return ret;
    }
    return disk_new_commit(&n, err);
}

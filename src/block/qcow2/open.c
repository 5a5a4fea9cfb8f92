/* SPDX-License-Identifier: MIT */
/*
 * Opening a qcow2 image (qcow2.txt "Header", "Cluster mapping", "Host cluster management"):
 * header validated, L1 and refcount tables loaded and checked against the file, caches sized,
 * the backing chain opened read-only under the disk's backing policy (blk.h enum blk_backing;
 * relative names resolved against the image's directory, recorded backing format honoured,
 * never probed when recorded), and on writable opens the state qcow2.txt asks writers to
 * handle: the internal snapshot table validated (writes copy clusters shared with snapshots),
 * corrupt images refused (except for `disk check
 * --repair`, which repairs them), dirty images (lazy refcounts after a crash) repaired by
 * rebuilding refcounts, unknown autoclear bits cleared.
 */
#define LOG_TAG "qcow2"
#include "block/qcow2/qcow2.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/fdcache.h"
#include "base/log.h"

#define L2_CACHE_BYTES (4u << 20)

static int load_l1(struct qcow2 *s, struct error *err)
{
    size_t bytes = (size_t)s->l1_size * 8;
    int ret;

    s->l1 = calloc(1, MAX(bytes, 8u));
    if (!s->l1)
        return error_set(err, -ENOMEM, "out of memory");
    if (!bytes)
        return 0;
    ret = qcow2_meta_read(s, s->m.h.l1_table_offset, s->l1, bytes);
    if (ret < 0)
        return error_set(err, ret, "disk %s: cannot read qcow2 L1 table", s->b->path);
    for (uint32_t i = 0; i < s->l1_size; i++) {
        uint64_t e = be64_load(&s->l1[i]), off = e & QCOW2_OFFSET_MASK;
        s->l1[i] = e;
        if (off && (off % s->cluster_size || off + s->cluster_size > s->host_end))
            return error_set(err, -EINVAL,
                             "disk %s: qcow2 L1 entry %u points past end of file or is unaligned",
                             s->b->path, i);
    }
    return 0;
}

/*
 * Checks the recorded backing name against the policy and builds the path to open: as recorded
 * (absolute, or relative to the image's directory) for backing=any; for backing=same-dir only a
 * plain file name, which the caller opens relative to the directory's fd.
 */
static int resolve_backing(struct qcow2 *s, char *out, size_t out_len, struct error *err)
{
    const char *name = s->m.backing, *why = NULL;
    char dir[PATH_MAX];

    if (s->b->backing == BLK_BACKING_NONE)
        return error_set(err, -EPERM, "disk %s: has a backing file ('%s') and backing=none",
                         s->b->path, name);
    if (strchr(name, ':') && (strncmp(name, "json:", 5) == 0 || strstr(name, "://")))
        return error_set(err, -ENOTSUP, "disk %s: backing file '%s' is not a plain file name",
                         s->b->path, name);
    if (s->b->backing == BLK_BACKING_SAME_DIR && blk_backing_needed(name) != BLK_BACKING_SAME_DIR) {
        if (name[0] == '/')
            why = "an absolute path";
        else if (strchr(name, '/'))
            why = "not in the image's directory";
        else
            why = "not a file name";
        return error_set(err, -EPERM,
                         "disk %s: backing file '%s' is %s (backing=same-dir allows a file "
                         "in the image's directory; backing=any follows any name)",
                         s->b->path, name, why);
    }
    if (name[0] == '/') {
        snprintf(out, out_len, "%s", name);
        return 0;
    }
    snprintf(dir, sizeof(dir), "%s", s->b->path);
    if ((size_t)snprintf(out, out_len, "%s/%s", dirname(dir), name) >= out_len)
        return error_set(err, -ENAMETOOLONG, "disk %s: backing file name too long", s->b->path);
    return 0;
}

/* The directory of the image, for opening a same-dir backing file relative to it. */
static int open_dir_of(const char *path, struct error *err)
{
    char dir[PATH_MAX];
    int fd;

    snprintf(dir, sizeof(dir), "%s", path);
    fd = fdcache_open(dirname(dir), O_PATH | O_DIRECTORY); /* cached for reboots */
    if (fd < 0)
        return error_set(err, fd, "disk %s: cannot open its directory: %s", path, strerror(-fd));
    return fd;
}

static int open_backing(struct qcow2 *s, struct error *err)
{
    struct blk_open_opts o = {.is_readonly = true,
                              .cache = s->b->cache,
                              .backing = s->b->backing,
                              .needs_sync_engine = s->b->needs_sync_engine};
    char path[PATH_MAX];
    int ret, dirfd = -1;

    if (!s->m.backing[0])
        return 0;
    if (s->b->depth + 1 >= BLK_MAX_CHAIN_DEPTH)
        return error_set(err, -ELOOP, "disk %s: backing chain deeper than %d images", s->b->path,
                         BLK_MAX_CHAIN_DEPTH);
    if (!s->m.backing_fmt[0])
        o.format = BLK_FORMAT_AUTO;
    else if (strcmp(s->m.backing_fmt, "raw") == 0)
        o.format = BLK_FORMAT_RAW;
    else if (strcmp(s->m.backing_fmt, "qcow2") == 0)
        o.format = BLK_FORMAT_QCOW2;
    else
        return error_set(err, -ENOTSUP, "disk %s: backing format '%s' is not supported", s->b->path,
                         s->m.backing_fmt);
    ret = resolve_backing(s, path, sizeof(path), err);
    if (ret < 0)
        return ret;
    if (s->b->backing == BLK_BACKING_SAME_DIR) {
        dirfd = open_dir_of(s->b->path, err);
        if (dirfd < 0)
            return dirfd;
    }
    o.path = path;
    ret = blk_open_chain(&o, s->b->loop, s->b, dirfd, &s->backing, err);
    if (dirfd >= 0)
        close(dirfd);
    return ret;
}

/* Writable opens: refuses images marked corrupt, repairs dirty ones (lazy refcounts). */
static int handle_marks(struct qcow2 *s, struct error *err)
{
    const struct qcow2_header *h = &s->m.h;
    struct qcow2_check_result res;
    int ret;

    if (h->incompatible_features & QCOW2_INCOMPAT_CORRUPT)
        return error_set(err, -EINVAL,
                         "disk %s: qcow2 image is marked corrupt; open it read-only or repair it "
                         "with `bareiron disk check --repair`",
                         s->b->path);
    if (!(h->incompatible_features & QCOW2_INCOMPAT_DIRTY))
        return 0;
    log_warn("%s: qcow2 dirty bit set (lazy refcounts, unclean shutdown): rebuilding refcounts",
             s->b->path);
    ret = qcow2_check(s, true, &res, err);
    if (ret < 0)
        return ret;
    if (res.corruptions > res.fixed || res.unfixable || res.is_incomplete)
        return error_set(err, -EINVAL, "disk %s: qcow2 dirty image could not be repaired",
                         s->b->path);
    ret = qcow2_mark_consistent(s);
    if (ret < 0)
        return error_set(err, ret, "disk %s: cannot clear the dirty bit", s->b->path);
    return 0;
}

/* Writable opens: handle the header state qcow2.txt leaves to writers. */
static int prepare_writable(struct qcow2 *s, struct error *err)
{
    const struct qcow2_header *h = &s->m.h;
    struct qcow2_snaptab t;
    uint8_t e[8];
    int ret;

    /* Writes copy clusters shared with snapshots (their refcounts say so): a table we cannot
     * read would make them unsafe, so it is checked before any write. */
    ret = qcow2_snaptab_load(s, &t, err);
    if (ret < 0)
        return ret;
    qcow2_snaptab_free(&t);
    /* disk check --repair repairs and clears the marks itself */
    ret = s->b->is_repair ? 0 : handle_marks(s, err);
    if (ret < 0)
        return ret;
    if (h->version >= 3 && h->autoclear_features) {
        /* We keep no bitmaps or raw external data in sync: say so, as qcow2.txt asks. */
        be64_store(e, 0);
        ret = qcow2_meta_write(s, QCOW2_HDR_AUTOCLEAR_OFF, e, 8);
        if (ret < 0)
            return error_set(err, ret, "disk %s: cannot clear autoclear bits", s->b->path);
        s->m.h.autoclear_features = 0;
    }
    return 0;
}

static int open_state(struct qcow2 *s, struct error *err)
{
    struct blk *b = s->b;
    int ret;

    ret = qcow2_read_header(s->fd, b->file_size_bytes, b->path, &s->m, err);
    if (ret < 0)
        return ret;
    s->cluster_bits = s->m.h.cluster_bits;
    s->cluster_size = 1ull << s->cluster_bits;
    s->l2_bits = s->cluster_bits - 3;
    s->l1_size = s->m.h.l1_size;
    s->refcount_bits = 1u << s->m.h.refcount_order;
    s->rb_entries = s->cluster_size * 8 / s->refcount_bits;
    ret = load_l1(s, err);
    if (ret == 0)
        ret = qcow2_refcount_load(s, err);
    if (ret < 0)
        return ret;
    unsigned nl2 = (unsigned)MAX(4u, MIN(64u, L2_CACHE_BYTES / s->cluster_size));
    s->zbuf = malloc(2 * s->cluster_size);
    s->zc_data = malloc(s->cluster_size);
    if (!s->zbuf || !s->zc_data || qcow2_tcache_init(&s->l2c, nl2, s->cluster_size) < 0 ||
        qcow2_tcache_init(&s->rbc, 8, s->cluster_size) < 0)
        return error_set(err, -ENOMEM, "out of memory");
    ret = open_backing(s, err);
    if (ret == 0 && !b->is_readonly)
        ret = prepare_writable(s, err);
    return ret;
}

int qcow2_open(struct blk *b, struct error *err)
{
    struct qcow2 *s = calloc(1, sizeof(*s));
    int ret;

    if (!s)
        return error_set(err, -ENOMEM, "out of memory");
    s->b = b;
    s->fd = b->bfd;
    s->host_end = b->file_size_bytes;
    b->drv = &qcow2_driver;
    b->drv_state = s;
    ret = qcow2_jobs_init(s) < 0 ? error_set(err, -ENOMEM, "out of memory") : 0;
    if (ret == 0)
        ret = open_state(s, err);
    if (ret < 0) {
        qcow2_driver.close(b);
        b->drv = NULL;
        return ret;
    }
    b->size_bytes = s->m.h.size;
    return 0;
}

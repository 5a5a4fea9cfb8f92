/* SPDX-License-Identifier: MIT */
/* The disk side of a VM's snapshots and clones (mgr/vmdisk.h). */
#include "mgr/vmdisk.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "block/image.h"

int vmdisk_check_snapshots(const struct vm_config *cfg, struct error *err)
{
    for (size_t i = 0; i < cfg->disk_count; i++)
        if (!cfg->disks[i].is_readonly && cfg->disks[i].format != DISK_FORMAT_QCOW2)
            return error_set(err, -ENOTSUP,
                             "disk %s is raw: snapshots need qcow2 disks (convert it with "
                             "'bareiron disk convert %s NEW.qcow2' and attach the copy)",
                             cfg->disks[i].path, cfg->disks[i].path);
    return 0;
}

/* Does disk (path) hold snapshot (uuid)? */
static int has_snapshot(const char *path, const char *uuid, struct error *err)
{
    struct disk_snapshot_list l;
    bool has = false;
    int ret = disk_snapshot_list_get(path, &l, err);

    if (ret < 0)
        return ret;
    for (size_t k = 0; k < l.n; k++)
        has |= strcmp(l.v[k].name, uuid) == 0;
    disk_snapshot_list_free(&l);
    return has ? 0 : error_set(err, -ENOENT, "disk %s does not hold snapshot %s", path, uuid);
}

/* Runs (op) on the writable disks [0, to); returns in (*done) how many disks it got through. */
static int each(const struct vm_config *cfg, enum disk_snapshot_op op, const char *uuid, size_t to,
                size_t *done, struct error *err)
{
    size_t i;
    int ret = 0;
    for (i = 0; i < to && ret == 0; i++) {
        if (cfg->disks[i].is_readonly)
            continue;
        ret = disk_snapshot(cfg->disks[i].path, op, uuid, err);
        if (ret == -ENOENT && op == DISK_SNAPSHOT_DELETE) { /* a crash after some disks */
            *err = (struct error){0};
            ret = 0;
        }
    }
    *done = ret < 0 ? i - 1 : i;
    return ret;
}

/* CREATE on every disk; on failure, deletes the snapshots it made again. */
static int create_all(const struct vm_config *cfg, const char *uuid, struct error *err)
{
    struct error e2 = {0};
    size_t done, undone;
    int ret = each(cfg, DISK_SNAPSHOT_CREATE, uuid, cfg->disk_count, &done, err);

    if (ret < 0 && each(cfg, DISK_SNAPSHOT_DELETE, uuid, done, &undone, &e2) < 0)
        log_warn("snapshot %s left in %s: %s", uuid, cfg->disks[undone].path, e2.message);
    return ret;
}

/*
 * APPLY on every disk, all or none: each disk first gets a snapshot of its present state
 * ("<uuid>-undo"); when applying fails on one disk, those already reverted go back to it.
 * The undo snapshots are deleted at the end.
 */
static int apply_all(const struct vm_config *cfg, const char *uuid, struct error *err)
{
    char undo[64];
    struct error e2 = {0};
    size_t done, undone;
    int ret = 0;

    for (size_t i = 0; i < cfg->disk_count && ret == 0; i++)
        if (!cfg->disks[i].is_readonly)
            ret = has_snapshot(cfg->disks[i].path, uuid, err);
    snprintf(undo, sizeof(undo), "%s-undo", uuid);
    if (ret == 0)
        ret = create_all(cfg, undo, err);
    if (ret < 0)
        return ret;
    ret = each(cfg, DISK_SNAPSHOT_APPLY, uuid, cfg->disk_count, &done, err);
    if (ret < 0 && each(cfg, DISK_SNAPSHOT_APPLY, undo, done, &undone, &e2) < 0)
        log_warn("%s: cannot go back to its state before the restore: %s", cfg->disks[undone].path,
                 e2.message);
    if (each(cfg, DISK_SNAPSHOT_DELETE, undo, cfg->disk_count, &undone, &e2) < 0)
        log_warn("snapshot %s left in %s: %s", undo, cfg->disks[undone].path, e2.message);
    return ret;
}

int vmdisk_snapshot(const struct vm_config *cfg, enum vmdisk_snap_op op, const char *uuid,
                    struct error *err)
{
    size_t done;

    if (op == VMDISK_SNAP_CREATE)
        return create_all(cfg, uuid, err);
    if (op == VMDISK_SNAP_APPLY)
        return apply_all(cfg, uuid, err);
    return each(cfg, DISK_SNAPSHOT_DELETE, uuid, cfg->disk_count, &done, err);
}

/* Copies file (src) into the new file (dst), keeping holes. */
static int copy_file_sparse(const char *src, const char *dst, struct error *err)
{
    int in = open(src, O_RDONLY | O_CLOEXEC), out, ret = 0;
    off_t end, data, hole = 0;

    if (in < 0)
        return error_set(err, -errno, "%s: %s", src, strerror(errno));
    out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (out < 0) {
        ret = -errno;
        close(in);
        return error_set(err, ret, "%s: %s", dst, strerror(-ret));
    }
    end = lseek(in, 0, SEEK_END);
    while (ret == 0 && hole < end && (data = lseek(in, hole, SEEK_DATA)) >= 0) {
        hole = lseek(in, data, SEEK_HOLE);
        for (off_t o = data; ret == 0 && o < hole;) {
            off_t w = o;
            ssize_t n = copy_file_range(in, &o, out, &w, (size_t)(hole - o), 0);
            ret = n > 0 ? 0 : n == 0 ? -EIO : -errno;
        }
    }
    if (ret == 0 && (end < 0 || ftruncate(out, end) < 0))
        ret = -errno;
    close(in);
    close(out);
    if (ret < 0)
        unlink(dst);
    return ret < 0 ? error_set(err, ret, "cannot copy %s: %s", src, strerror(-ret)) : 0;
}

int vmdisk_copy(const struct vmdisk_copy *c, struct error *err)
{
    enum blk_format fmt = c->is_raw ? BLK_FORMAT_RAW : BLK_FORMAT_QCOW2;
    struct disk_copy_opts o = {.src = c->src,
                               .src_format = fmt,
                               .src_backing = (enum blk_backing)c->backing,
                               .dst = c->dst,
                               .format = fmt,
                               .progress = c->progress,
                               .opaque = c->opaque,
                               .is_interrupted = c->is_interrupted};
    char tmp[PATH_MAX];
    int ret;

    if (c->snapshot == NULL)
        return disk_copy(&o, err);
    if (snprintf(tmp, sizeof(tmp), "%s.snapshot-copy", c->dst) >= (int)sizeof(tmp))
        return error_set(err, -ENAMETOOLONG, "path too long");
    ret = copy_file_sparse(c->src, tmp, err);
    if (ret < 0)
        return ret;
    ret = disk_snapshot(tmp, DISK_SNAPSHOT_APPLY, c->snapshot, err);
    o.src = tmp;
    if (ret == 0)
        ret = disk_copy(&o, err);
    unlink(tmp);
    return ret;
}

int vmdisk_overlay(const char *path, const char *base, bool is_base_raw, struct error *err)
{
    return qcow2_create(path, 0, 0, base, is_base_raw ? "raw" : "qcow2", false, err);
}

bool vmdisk_chain_enters(const struct vm_config *cfg, const char *dir)
{
    size_t n = strlen(dir);

    for (size_t i = 0; i < cfg->disk_count; i++) {
        struct disk_info info;
        struct error e = {0};
        const char *path = cfg->disks[i].path;
        char next[PATH_MAX];
        /* a chain longer than the block layer opens is not followed further */
        for (int depth = 0; depth < 16; depth++) {
            if (disk_info_get(path, BLK_FORMAT_AUTO, &info, &e) < 0 || !info.backing[0])
                break;
            if (strncmp(info.backing_resolved, dir, n) == 0 && info.backing_resolved[n] == '/')
                return true;
            snprintf(next, sizeof(next), "%s", info.backing_resolved);
            path = next;
        }
    }
    return false;
}

bool vmdisk_has_backing(const char *path)
{
    struct disk_info info;
    struct error e = {0};
    return disk_info_get(path, BLK_FORMAT_AUTO, &info, &e) == 0 && info.backing[0];
}

const char *vmdisk_probe_format(const char *path)
{
    struct disk_info di;
    struct error err = {0};

    if (disk_info_get(path, BLK_FORMAT_AUTO, &di, &err) < 0)
        return NULL;
    return di.format == BLK_FORMAT_QCOW2 ? "qcow2" : "raw";
}

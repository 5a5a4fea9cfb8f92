/* SPDX-License-Identifier: MIT */
/*
 * `bareiron disk snapshot`'s image-level side (block/image.h): opens a qcow2 image under the
 * block layer's OFD lock (shared to list, exclusive to change) and runs the internal snapshot
 * operations of qcow2/snapshot_ops.c on it. Raw images have nowhere to keep snapshots and are
 * refused with a hint to convert them.
 */
#define LOG_TAG "blk-image"
#include "block/image.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "block/blk_internal.h"
#include "block/qcow2/qcow2.h"

/* Opens (path) for a snapshot operation; refuses raw images. */
static int open_qcow2(const char *path, bool is_readonly, struct blk **out, struct error *err)
{
    struct blk_open_opts o = {.path = path,
                              .backing = BLK_BACKING_ANY,
                              .is_readonly = is_readonly,
                              .needs_sync_engine = true};
    int ret = blk_open(&o, NULL, out, err);

    if (ret < 0)
        return ret;
    if ((*out)->drv != &qcow2_driver) {
        blk_close(*out);
        return error_set(err, -ENOTSUP,
                         "%s: raw images cannot hold snapshots; convert it to qcow2 first "
                         "(bareiron disk convert %s NEW.qcow2)",
                         path, path);
    }
    return 0;
}

void disk_snapshot_list_free(struct disk_snapshot_list *l)
{
    for (size_t i = 0; l->v && i < l->n; i++) {
        free(l->v[i].id);
        free(l->v[i].name);
    }
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

/* Moves the strings of (t) into (out). */
static int fill_list(struct qcow2_snaptab *t, struct disk_snapshot_list *out, struct error *err)
{
    out->v = calloc(t->n ? t->n : 1, sizeof(*out->v));
    if (!out->v)
        return error_set(err, -ENOMEM, "out of memory");
    for (uint32_t i = 0; i < t->n; i++) {
        struct qcow2_snapshot *sn = &t->v[i];
        out->v[i] =
            (struct disk_snapshot){sn->id,          sn->name,          sn->date_sec, sn->date_nsec,
                                   sn->vm_clock_ns, sn->vm_state_size, sn->disk_size};
        sn->id = sn->name = NULL;
    }
    out->n = t->n;
    return 0;
}

int disk_snapshot_list_get(const char *path, struct disk_snapshot_list *out, struct error *err)
{
    struct qcow2_snaptab t;
    struct blk *b;
    int ret = open_qcow2(path, true, &b, err);

    memset(out, 0, sizeof(*out));
    if (ret < 0)
        return ret;
    ret = qcow2_snaptab_load(qcow2_of(b), &t, err);
    if (ret == 0) {
        ret = fill_list(&t, out, err);
        qcow2_snaptab_free(&t);
    }
    blk_close(b);
    return ret;
}

int disk_snapshot(const char *path, enum disk_snapshot_op op, const char *name, struct error *err)
{
    struct blk *b;
    int ret = open_qcow2(path, false, &b, err);

    if (ret < 0)
        return ret;
    switch (op) {
    case DISK_SNAPSHOT_CREATE:
        ret = qcow2_snapshot_create(qcow2_of(b), name, err);
        break;
    case DISK_SNAPSHOT_APPLY:
        ret = qcow2_snapshot_apply(qcow2_of(b), name, err);
        break;
    case DISK_SNAPSHOT_DELETE:
        ret = qcow2_snapshot_delete(qcow2_of(b), name, err);
        break;
    }
    blk_close(b);
    return ret;
}

/* SPDX-License-Identifier: MIT */
/*
 * qcow2 internal snapshots (qcow2.txt "Snapshots"): create, apply (revert the disk to a
 * snapshot) and delete, on an image opened writable with no I/O in flight. Disk-only: no VM
 * state is saved (vm_state_size 0) and a snapshot holding VM state is not applied.
 *
 * Crash ordering. Every step that adds references is made durable before anything on disk
 * uses them, and references are dropped only once nothing on disk uses them, so a crash at any
 * point leaves the old or the new state, with leaked clusters at worst:
 *   create: L1 copy written, refcounts raised (+ COPIED bits cleared), flush, new snapshot table
 *           written, flush, header (nb_snapshots, snapshots_offset) in one write, flush, old
 *           table freed.
 *   apply:  the snapshot's tree gets one more reference, COPIED bits of its L2 tables rebuilt,
 *           new active L1 written elsewhere, flush, header (size, l1_size, l1_table_offset) in
 *           one write, flush, then the old active tree loses its reference.
 *   delete: table without the entry written, flush, header in one write, flush, then the
 *           snapshot's tree loses its reference and the active COPIED bits are rebuilt.
 */
#define LOG_TAG "qcow2"
#include "block/qcow2/qcow2.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/log.h"
#include "base/util.h"

/* Writes (len) bytes (a multiple of the cluster size) to newly allocated clusters. */
static int write_new(struct qcow2 *s, const void *buf, size_t len, uint64_t *off)
{
    int ret = qcow2_alloc_clusters(s, len / s->cluster_size, off);

    return ret < 0 ? ret : qcow2_meta_write(s, *off, buf, len);
}

/* The on-disk form of (l1, n entries), padded to whole clusters; (clear) bits are cleared. */
static uint8_t *l1_encode(const struct qcow2 *s, const uint64_t *l1, uint32_t n, uint64_t clear,
                          size_t *len)
{
    uint8_t *buf;

    *len = (size_t)ALIGN_UP(MAX((uint64_t)n * 8, 1u), s->cluster_size);
    buf = calloc(1, *len);
    for (uint32_t i = 0; buf && i < n; i++)
        be64_store(buf + (size_t)i * 8, l1[i] & ~clear);
    return buf;
}

static int read_l1(struct qcow2 *s, uint64_t off, uint32_t n, uint32_t size, uint64_t **out)
{
    uint64_t *l1;
    int ret;

    if (n > size) /* the table read must fit the buffer */
        return -EINVAL;
    l1 = calloc(MAX(size, 1u), 8);
    ret = l1 ? 0 : -ENOMEM;

    if (ret == 0 && n)
        ret = qcow2_meta_read(s, off, l1, (size_t)n * 8);
    for (uint32_t i = 0; ret == 0 && i < n; i++)
        l1[i] = be64_load(&l1[i]);
    if (ret < 0)
        free(l1);
    else
        *out = l1;
    return ret;
}

/* Frees the clusters of a table at (off, bytes) no longer referenced. */
static int free_table(struct qcow2 *s, uint64_t off, uint64_t bytes)
{
    if (!bytes || !off)
        return 0;
    if (qcow2_is_metadata(s, off, bytes)) {
        log_error("%s: table at %#llx overlaps the header, L1 or refcount table: not freed",
                  s->b->path, (unsigned long long)off);
        return 0;
    }
    return qcow2_free_range(s, off, ALIGN_UP(bytes, s->cluster_size));
}

/* Writes (t) to new clusters and points the header at it (one write), each step flushed; the
 * old table is then freed. */
static int switch_table(struct qcow2 *s, struct qcow2_snaptab *t, uint64_t old_bytes)
{
    uint64_t old_off = s->m.h.snapshots_offset, off = 0;
    uint8_t *buf = NULL, hdr[12];
    size_t len;
    int ret = 0;

    if (t->n) {
        ret = qcow2_snaptab_encode(s, t, &buf, &len);
        if (ret == 0)
            ret = write_new(s, buf, len, &off);
        free(buf);
    }
    if (ret == 0)
        ret = qcow2_sync(s);
    if (ret < 0)
        return ret;
    be32_store(hdr, t->n);
    be64_store(hdr + 4, off);
    ret = qcow2_meta_write(s, QCOW2_HDR_SNAPSHOTS_OFF, hdr, sizeof(hdr));
    if (ret == 0)
        ret = qcow2_sync(s);
    if (ret < 0)
        return ret;
    s->m.h.nb_snapshots = t->n;
    s->m.h.snapshots_offset = off;
    return free_table(s, old_off, old_bytes);
}

/* Rebuilds the COPIED bits of the active tables once the frees queued so far are done (the
 * refcounts are then final). */
static int fix_active(struct qcow2 *s)
{
    qcow2_reuse_poll(s);
    return qcow2_fix_active_copied(s, false, NULL);
}

/* The ID for a new snapshot: one more than the largest numeric ID. */
static void next_id(const struct qcow2_snaptab *t, char *out, size_t len)
{
    unsigned long long max = 0;

    for (uint32_t i = 0; i < t->n; i++) {
        char *end;
        unsigned long long v = strtoull(t->v[i].id, &end, 10);
        if (t->v[i].id[0] && !*end && v > max)
            max = v;
    }
    snprintf(out, len, "%llu", max + 1);
}

static int new_entry(struct qcow2 *s, const struct qcow2_snaptab *t, const char *name,
                     uint64_t l1_off, struct qcow2_snapshot *sn)
{
    struct timespec now;
    char id[24];

    clock_gettime(CLOCK_REALTIME, &now);
    next_id(t, id, sizeof(id));
    *sn = (struct qcow2_snapshot){.l1_offset = l1_off,
                                  .l1_size = s->l1_size,
                                  .date_sec = (uint32_t)now.tv_sec,
                                  .date_nsec = (uint32_t)now.tv_nsec,
                                  .disk_size = s->m.h.size,
                                  .extra_size = QCOW2_SNAP_EXTRA_V3};
    sn->extra = calloc(1, QCOW2_SNAP_EXTRA_V3);
    sn->id = strdup(id);
    sn->name = strdup(name);
    if (!sn->extra || !sn->id || !sn->name)
        return -ENOMEM;
    be64_store(sn->extra + 8, s->m.h.size); /* vm_state_size_large 0, disk_size */
    return 0;
}

/* Adds (sn) at the end of (t) (which takes its strings). */
static int append(struct qcow2_snaptab *t, const struct qcow2_snapshot *sn)
{
    struct qcow2_snapshot *v = reallocarray(t->v, t->n + 1, sizeof(*v));

    if (!v)
        return -ENOMEM;
    t->v = v;
    t->v[t->n++] = *sn;
    return 0;
}

static int do_create(struct qcow2 *s, struct qcow2_snaptab *t, const char *name, struct error *err)
{
    struct qcow2_snapshot sn = {0};
    uint64_t l1_off, old_bytes = t->bytes;
    size_t len;
    uint8_t *buf = l1_encode(s, s->l1, s->l1_size, QCOW2_OFLAG_COPIED, &len);
    int ret = buf ? 0 : -ENOMEM;

    if (ret == 0)
        ret = write_new(s, buf, len, &l1_off);
    free(buf);
    if (ret == 0)
        ret = qcow2_update_refs(s, s->l1, s->l1_size, true);
    if (ret == 0)
        ret = fix_active(s);
    if (ret == 0)
        ret = qcow2_sync(s); /* the copy and its references before the table names it */
    if (ret == 0)
        ret = new_entry(s, t, name, l1_off, &sn);
    if (ret == 0)
        ret = append(t, &sn);
    if (ret < 0) {
        free(sn.extra);
        free(sn.id);
        free(sn.name);
    } else {
        ret = switch_table(s, t, old_bytes);
    }
    if (ret == -ERANGE)
        return error_set(err, ret,
                         "disk %s: cannot create snapshot '%s': a refcount would exceed the "
                         "image's %u bits (too many snapshots for its refcount width)",
                         s->b->path, name, s->refcount_bits);
    if (ret < 0)
        return error_set(err, ret, "disk %s: cannot create snapshot '%s': %s", s->b->path, name,
                         strerror(-ret));
    return 0;
}

/* Settles what earlier writes left pending; loads the table. */
static int begin(struct qcow2 *s, struct qcow2_snaptab *t, struct error *err)
{
    int ret = qcow2_batch_commit(s);

    if (ret < 0)
        return error_set(err, ret, "disk %s: %s", s->b->path, strerror(-ret));
    qcow2_reuse_poll(s);
    return qcow2_snaptab_load(s, t, err);
}

int qcow2_snapshot_create(struct qcow2 *s, const char *name, struct error *err)
{
    struct qcow2_snaptab t;
    int ret;

    if (!name[0] || strlen(name) > UINT16_MAX)
        return error_set(err, -EINVAL, "snapshot name must be 1 to 65535 bytes long");
    if (s->refcount_bits < 2)
        return error_set(err, -ENOTSUP,
                         "disk %s: 1-bit refcounts cannot count the references a snapshot adds",
                         s->b->path);
    ret = begin(s, &t, err);
    if (ret < 0)
        return ret;
    if (qcow2_snaptab_find(&t, name) >= 0)
        ret = error_set(err, -EEXIST, "disk %s: a snapshot named '%s' exists", s->b->path, name);
    else if (t.n >= QCOW2_MAX_SNAPSHOTS)
        ret = error_set(err, -EFBIG, "disk %s: too many snapshots (%u)", s->b->path, t.n);
    else
        ret = do_create(s, &t, name, err);
    qcow2_snaptab_free(&t);
    return ret;
}

/* Points the header at the new active L1 table (l1, n entries, which this takes) and (size),
 * each step flushed; the old table then loses its references. */
static int switch_l1(struct qcow2 *s, uint64_t *l1, uint32_t n, uint64_t size)
{
    uint64_t *old = s->l1, old_off = s->m.h.l1_table_offset, off;
    uint32_t old_n = s->l1_size;
    uint8_t *buf, hdr[24];
    size_t len;
    int ret;

    buf = l1_encode(s, l1, n, 0, &len);
    ret = buf ? write_new(s, buf, len, &off) : -ENOMEM;
    free(buf);
    if (ret == 0)
        ret = qcow2_sync(s);
    if (ret == 0) {
        be64_store(hdr, size);
        be32_store(hdr + 8, s->m.h.crypt_method);
        be32_store(hdr + 12, n);
        be64_store(hdr + 16, off);
        ret = qcow2_meta_write(s, QCOW2_HDR_SIZE_OFF, hdr, sizeof(hdr));
    }
    if (ret == 0)
        ret = qcow2_sync(s);
    if (ret < 0) {
        free(l1);
        return ret;
    }
    s->l1 = l1;
    s->l1_size = s->m.h.l1_size = n;
    s->m.h.l1_table_offset = off;
    s->m.h.size = s->b->size_bytes = size;
    ret = qcow2_update_refs(s, old, old_n, false);
    if (ret == 0)
        ret = free_table(s, old_off, (uint64_t)old_n * 8);
    free(old);
    return ret;
}

static int do_apply(struct qcow2 *s, const struct qcow2_snapshot *sn)
{
    uint64_t cover = s->cluster_size << s->l2_bits, *l1 = NULL;
    uint64_t need = (sn->disk_size + cover - 1) / cover; /* disk_size < 2^62: no overflow */
    uint64_t n64 = MAX(need, (uint64_t)sn->l1_size);
    uint32_t n;
    int ret;

    if (n64 > QCOW2_MAX_L1_BYTES / 8) /* checked before narrowing: a hostile size wraps */
        return -EFBIG;
    n = (uint32_t)n64;
    if (sn->disk_size % 512) /* a virtual size is whole sectors */
        return -EINVAL;
    ret = read_l1(s, sn->l1_offset, sn->l1_size, n, &l1);
    if (ret < 0)
        return ret;
    ret = qcow2_update_refs(s, l1, n, true);
    if (ret == 0) /* the new active tables' bits right before the header names them */
        ret = qcow2_fix_copied(s, l1, n, false, NULL);
    if (ret == 0)
        ret = switch_l1(s, l1, n, sn->disk_size);
    else
        free(l1);
    if (ret == 0)
        ret = fix_active(s);
    return ret == 0 ? qcow2_sync(s) : ret;
}

/* Finds (name) in (t); sets (err) when missing. */
static int lookup(struct qcow2 *s, const struct qcow2_snaptab *t, const char *name,
                  struct error *err)
{
    int i = qcow2_snaptab_find(t, name);

    if (i < 0)
        return error_set(err, -ENOENT, "disk %s: no snapshot named '%s'", s->b->path, name);
    return i;
}

int qcow2_snapshot_apply(struct qcow2 *s, const char *name, struct error *err)
{
    struct qcow2_snaptab t;
    int ret = begin(s, &t, err), i;

    if (ret < 0)
        return ret;
    i = ret = lookup(s, &t, name, err);
    if (ret >= 0 && t.v[i].vm_state_size)
        ret = error_set(err, -ENOTSUP,
                        "disk %s: snapshot '%s' holds VM state (%llu bytes), which bareiron "
                        "cannot restore yet",
                        s->b->path, name, (unsigned long long)t.v[i].vm_state_size);
    else if (ret >= 0) {
        ret = do_apply(s, &t.v[i]);
        if (ret < 0)
            error_set(err, ret, "disk %s: cannot apply snapshot '%s': %s", s->b->path, name,
                      strerror(-ret));
    }
    qcow2_snaptab_free(&t);
    return ret < 0 ? ret : 0;
}

static int do_delete(struct qcow2 *s, struct qcow2_snaptab *t, uint32_t i)
{
    struct qcow2_snapshot sn = t->v[i];
    uint64_t *l1 = NULL;
    int ret = read_l1(s, sn.l1_offset, sn.l1_size, sn.l1_size, &l1);

    if (ret < 0)
        return ret;
    memmove(&t->v[i], &t->v[i + 1], (t->n - i - 1) * sizeof(*t->v));
    t->n--;
    ret = switch_table(s, t, t->bytes);
    t->v[t->n++] = sn; /* freed with the table */
    if (ret == 0)
        ret = qcow2_update_refs(s, l1, sn.l1_size, false);
    if (ret == 0)
        ret = free_table(s, sn.l1_offset, (uint64_t)sn.l1_size * 8);
    if (ret == 0)
        ret = fix_active(s);
    free(l1);
    return ret == 0 ? qcow2_sync(s) : ret;
}

int qcow2_snapshot_delete(struct qcow2 *s, const char *name, struct error *err)
{
    struct qcow2_snaptab t;
    int ret = begin(s, &t, err);

    if (ret < 0)
        return ret;
    ret = lookup(s, &t, name, err);
    if (ret >= 0) {
        ret = do_delete(s, &t, (uint32_t)ret);
        if (ret < 0)
            error_set(err, ret, "disk %s: cannot delete snapshot '%s': %s", s->b->path, name,
                      strerror(-ret));
    }
    qcow2_snaptab_free(&t);
    return ret < 0 ? ret : 0;
}

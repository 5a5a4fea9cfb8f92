/* SPDX-License-Identifier: MIT */
/*
 * The qcow2 snapshot table (qcow2.txt "Snapshots"): decoding with every field of a possibly
 * hostile image checked (entry lengths, extra data, the snapshot's L1 table placement and
 * size, the table's total size, with overflow-safe arithmetic and hard caps on memory),
 * encoding for a rewrite (unknown extra data kept as read), and lookups by name or ID. The
 * operations that change snapshots are in snapshot_ops.c.
 */
#define LOG_TAG "qcow2"
#include "block/qcow2/qcow2.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/ckd.h"
#include "base/util.h"

static uint16_t be16_load(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static char *dup_field(const uint8_t *p, size_t len)
{
    char *s = malloc(len + 1);

    if (s) {
        memcpy(s, p, len);
        s[len] = '\0';
    }
    return s;
}

void qcow2_snaptab_free(struct qcow2_snaptab *t)
{
    for (uint32_t i = 0; t->v && i < t->n; i++) {
        free(t->v[i].extra);
        free(t->v[i].id);
        free(t->v[i].name);
    }
    free(t->v);
    t->v = NULL;
    t->n = 0;
}

/* Geometry the entries are checked against. */
struct snap_geo {
    uint64_t cs, file_size, disk_size;
    const char *path;
};

/* Checks the L1 table fields of entry (i) and its extra data. */
static int check_entry(const struct snap_geo *g, uint32_t i, const struct qcow2_snapshot *sn,
                       struct error *err)
{
    uint64_t bytes = (uint64_t)sn->l1_size * 8;

    if (bytes > QCOW2_MAX_L1_BYTES)
        return error_set(err, -EINVAL,
                         "disk %s: qcow2 snapshot %u: L1 table too large (%u entries)", g->path, i,
                         sn->l1_size);
    if (sn->l1_offset % g->cs || (bytes && sn->l1_offset == 0) ||
        range_outside(sn->l1_offset, bytes, g->file_size))
        return error_set(err, -EINVAL,
                         "disk %s: qcow2 snapshot %u: L1 table offset invalid or past end of file",
                         g->path, i);
    if (sn->disk_size > (1ull << 62))
        return error_set(err, -EINVAL, "disk %s: qcow2 snapshot %u: disk size too large", g->path,
                         i);
    return 0;
}

/* Decodes the entry at (p) (at least (room) bytes readable) into (sn); (*len) gets its length
 * (without padding). */
static int decode_entry(const struct snap_geo *g, uint32_t i, const uint8_t *p, size_t room,
                        struct qcow2_snapshot *sn, size_t *len, struct error *err)
{
    uint32_t id_len, name_len, vm32;
    uint64_t total;

    if (room < QCOW2_SNAP_FIXED)
        return error_set(err, -EINVAL, "disk %s: qcow2 snapshot %u: entry truncated", g->path, i);
    sn->l1_offset = be64_load(p);
    sn->l1_size = be32_load(p + 8);
    id_len = be16_load(p + 12);
    name_len = be16_load(p + 14);
    sn->date_sec = be32_load(p + 16);
    sn->date_nsec = be32_load(p + 20);
    sn->vm_clock_ns = be64_load(p + 24);
    vm32 = be32_load(p + 32);
    sn->extra_size = be32_load(p + 36);
    if (sn->extra_size > QCOW2_MAX_SNAP_EXTRA)
        return error_set(err, -EINVAL,
                         "disk %s: qcow2 snapshot %u: extra data too large (%u bytes)", g->path, i,
                         sn->extra_size);
    total = QCOW2_SNAP_FIXED + (uint64_t)sn->extra_size + id_len + name_len;
    if (total > room)
        return error_set(err, -EINVAL, "disk %s: qcow2 snapshot %u: entry truncated", g->path, i);
    p += QCOW2_SNAP_FIXED;
    sn->extra = malloc(MAX(sn->extra_size, 1u));
    sn->id = dup_field(p + sn->extra_size, id_len);
    sn->name = dup_field(p + sn->extra_size + id_len, name_len);
    if (!sn->extra || !sn->id || !sn->name)
        return error_set(err, -ENOMEM, "out of memory");
    memcpy(sn->extra, p, sn->extra_size);
    if (strlen(sn->id) != id_len || strlen(sn->name) != name_len)
        return error_set(err, -EINVAL, "disk %s: qcow2 snapshot %u: ID or name contains NUL",
                         g->path, i);
    sn->vm_state_size = sn->extra_size >= 8 ? be64_load(p) : vm32;
    sn->disk_size = sn->extra_size >= 16 ? be64_load(p + 8) : g->disk_size;
    *len = (size_t)total;
    return check_entry(g, i, sn, err);
}

int qcow2_snaptab_parse(const uint8_t *buf, size_t len, uint32_t nb, uint64_t cluster_size,
                        uint64_t file_size, uint64_t disk_size, const char *path,
                        struct qcow2_snaptab *out, size_t *used, struct error *err)
{
    struct snap_geo g = {cluster_size, file_size, disk_size, path};
    size_t off = 0, n = 0;
    int ret = 0;

    /* v3 asks writers for 16 bytes of extra data; readers take less (v2 images) */
    memset(out, 0, sizeof(*out));
    if (nb > QCOW2_MAX_SNAPSHOTS)
        return error_set(err, -EINVAL, "disk %s: qcow2 has too many snapshots (%u)", path, nb);
    out->v = calloc(MAX(nb, 1u), sizeof(*out->v));
    if (!out->v)
        return error_set(err, -ENOMEM, "out of memory");
    for (uint32_t i = 0; i < nb && ret == 0; i++) {
        out->n = i + 1;
        off = i ? ALIGN_UP(off, 8u) : 0; /* entries start 8-aligned; the last has no padding */
        if (off > len)
            off = len;
        ret = decode_entry(&g, i, buf + off, len - off, &out->v[i], &n, err);
        off += n;
        if (ret == 0 && off > QCOW2_MAX_SNAPTAB_BYTES)
            ret = error_set(err, -EINVAL, "disk %s: qcow2 snapshot table too large", path);
    }
    if (ret < 0) {
        qcow2_snaptab_free(out);
        return ret;
    }
    *used = off;
    out->bytes = off;
    return 0;
}

/* The byte length of the table at (off) with (nb) entries, reading only the fixed parts. */
static int table_len(struct qcow2 *s, uint64_t off, uint32_t nb, size_t *len, struct error *err)
{
    uint64_t pos = off, total;
    uint8_t f[QCOW2_SNAP_FIXED];
    int ret;

    for (uint32_t i = 0; i < nb; i++) {
        if (range_outside(pos, sizeof(f), s->host_end))
            return error_set(err, -EINVAL, "disk %s: qcow2 snapshot %u: past end of file",
                             s->b->path, i);
        ret = qcow2_meta_read(s, pos, f, sizeof(f));
        if (ret < 0)
            return error_set(err, ret, "disk %s: cannot read the qcow2 snapshot table", s->b->path);
        if (be32_load(f + 36) > QCOW2_MAX_SNAP_EXTRA)
            return error_set(err, -EINVAL, "disk %s: qcow2 snapshot %u: extra data too large",
                             s->b->path, i);
        total =
            QCOW2_SNAP_FIXED + (uint64_t)be32_load(f + 36) + be16_load(f + 12) + be16_load(f + 14);
        pos += total;
        if (i + 1 < nb) /* the next entry starts 8-aligned (QEMU leaves the last unpadded) */
            pos = ALIGN_UP(pos, 8u);
        if (pos - off > QCOW2_MAX_SNAPTAB_BYTES)
            return error_set(err, -EINVAL, "disk %s: qcow2 snapshot table too large", s->b->path);
    }
    if (pos > s->host_end)
        return error_set(err, -EINVAL, "disk %s: qcow2 snapshot table past end of file",
                         s->b->path);
    *len = (size_t)(pos - off);
    return 0;
}

int qcow2_snaptab_load(struct qcow2 *s, struct qcow2_snaptab *out, struct error *err)
{
    const struct qcow2_header *h = &s->m.h;
    uint8_t *buf;
    size_t len = 0, used;
    int ret;

    memset(out, 0, sizeof(*out));
    if (h->nb_snapshots == 0)
        return 0;
    if (h->snapshots_offset % s->cluster_size || h->snapshots_offset == 0)
        return error_set(err, -EINVAL, "disk %s: qcow2 snapshot table offset invalid", s->b->path);
    ret = table_len(s, h->snapshots_offset, h->nb_snapshots, &len, err);
    if (ret < 0)
        return ret;
    buf = malloc(MAX(len, 1u));
    if (!buf)
        return error_set(err, -ENOMEM, "out of memory");
    ret = qcow2_meta_read(s, h->snapshots_offset, buf, len);
    if (ret < 0)
        error_set(err, ret, "disk %s: cannot read the qcow2 snapshot table", s->b->path);
    else
        ret = qcow2_snaptab_parse(buf, len, h->nb_snapshots, s->cluster_size, s->host_end, h->size,
                                  s->b->path, out, &used, err);
    free(buf);
    return ret;
}

int qcow2_snaptab_encode(const struct qcow2 *s, const struct qcow2_snaptab *t, uint8_t **buf,
                         size_t *len)
{
    uint64_t total = 0;
    uint8_t *p;

    for (uint32_t i = 0; i < t->n; i++)
        total += ALIGN_UP(QCOW2_SNAP_FIXED + (uint64_t)t->v[i].extra_size + strlen(t->v[i].id) +
                              strlen(t->v[i].name),
                          8u);
    if (total > QCOW2_MAX_SNAPTAB_BYTES)
        return -EFBIG;
    *len = (size_t)ALIGN_UP(MAX(total, 1u), s->cluster_size);
    *buf = p = calloc(1, *len);
    if (!p)
        return -ENOMEM;
    for (uint32_t i = 0; i < t->n; i++) {
        const struct qcow2_snapshot *sn = &t->v[i];
        size_t id_len = strlen(sn->id), name_len = strlen(sn->name);
        be64_store(p, sn->l1_offset);
        be32_store(p + 8, sn->l1_size);
        p[12] = (uint8_t)(id_len >> 8);
        p[13] = (uint8_t)id_len;
        p[14] = (uint8_t)(name_len >> 8);
        p[15] = (uint8_t)name_len;
        be32_store(p + 16, sn->date_sec);
        be32_store(p + 20, sn->date_nsec);
        be64_store(p + 24, sn->vm_clock_ns);
        be32_store(p + 32, (uint32_t)MIN(sn->vm_state_size, UINT32_MAX));
        be32_store(p + 36, sn->extra_size);
        memcpy(p + QCOW2_SNAP_FIXED, sn->extra, sn->extra_size);
        memcpy(p + QCOW2_SNAP_FIXED + sn->extra_size, sn->id, id_len);
        memcpy(p + QCOW2_SNAP_FIXED + sn->extra_size + id_len, sn->name, name_len);
        p += ALIGN_UP(QCOW2_SNAP_FIXED + sn->extra_size + id_len + name_len, 8u);
    }
    return 0;
}

int qcow2_snaptab_find(const struct qcow2_snaptab *t, const char *name)
{
    for (uint32_t i = 0; i < t->n; i++)
        if (strcmp(t->v[i].name, name) == 0)
            return (int)i;
    for (uint32_t i = 0; i < t->n; i++)
        if (strcmp(t->v[i].id, name) == 0)
            return (int)i;
    return -1;
}

/* SPDX-License-Identifier: MIT */
/*
 * qcow2 header parsing and validation (qcow2.txt "Header" and "Header extensions"): every
 * field that sizes or places something is checked against the file size and hard memory caps
 * before anything is allocated, and every feature we do not implement is refused by name
 * (encryption, external data file, zstd compression, extended L2 entries, unknown
 * incompatible bits named from the feature name table).
 */
#define LOG_TAG "qcow2"
#include "block/qcow2/qcow2.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/ckd.h"
#include "base/util.h"

#define FEATURE_ENTRY_SIZE 48

static void decode_fixed(const uint8_t *p, struct qcow2_header *h)
{
    h->magic = be32_load(p);
    h->version = be32_load(p + 4);
    h->backing_file_offset = be64_load(p + 8);
    h->backing_file_size = be32_load(p + 16);
    h->cluster_bits = be32_load(p + 20);
    h->size = be64_load(p + 24);
    h->crypt_method = be32_load(p + 32);
    h->l1_size = be32_load(p + 36);
    h->l1_table_offset = be64_load(p + 40);
    h->refcount_table_offset = be64_load(p + 48);
    h->refcount_table_clusters = be32_load(p + 56);
    h->nb_snapshots = be32_load(p + 60);
    h->snapshots_offset = be64_load(p + 64);
}

/* Looks up the name of incompatible feature (bit) in the feature name table at (tab). */
static void feature_name(const uint8_t *tab, size_t len, unsigned bit, char *out, size_t out_len)
{
    snprintf(out, out_len, "bit %u", bit);
    for (size_t i = 0; i + FEATURE_ENTRY_SIZE <= len; i += FEATURE_ENTRY_SIZE) {
        if (tab[i] == 0 && tab[i + 1] == bit) {
            snprintf(out, out_len, "%.46s", (const char *)tab + i + 2);
            return;
        }
    }
}

static int check_features(const struct qcow2_header *h, const uint8_t *ftab, size_t ftab_len,
                          const char *path, struct error *err)
{
    uint64_t known = QCOW2_INCOMPAT_DIRTY | QCOW2_INCOMPAT_CORRUPT;
    uint64_t unknown = h->incompatible_features & ~known;
    char name[64];

    if (h->crypt_method != 0)
        return error_set(err, -ENOTSUP, "disk %s: encrypted qcow2 images are not supported", path);
    if (h->incompatible_features & QCOW2_INCOMPAT_DATA_FILE)
        return error_set(err, -ENOTSUP, "disk %s: qcow2 external data files are not supported",
                         path);
    if ((h->incompatible_features & QCOW2_INCOMPAT_COMPRESSION) && h->compression_type != 0)
        return error_set(err, -ENOTSUP,
                         "disk %s: qcow2 compression type %u (zstd) is not supported", path,
                         h->compression_type);
    if (h->incompatible_features & QCOW2_INCOMPAT_EXTL2)
        return error_set(err, -ENOTSUP,
                         "disk %s: qcow2 extended L2 entries (subclusters) are not supported",
                         path);
    unknown &= ~QCOW2_INCOMPAT_COMPRESSION;
    if (unknown) {
        feature_name(ftab, ftab_len, (unsigned)__builtin_ctzll(unknown), name, sizeof(name));
        return error_set(err, -ENOTSUP, "disk %s: unsupported qcow2 feature '%s'", path, name);
    }
    if (h->compression_type != 0)
        return error_set(err, -ENOTSUP, "disk %s: unknown qcow2 compression type %u", path,
                         h->compression_type);
    return 0;
}

/* Checks that [off, off+len) is cluster-aligned (off) and inside the file. */
static bool table_ok(uint64_t off, uint64_t len, uint64_t cs, uint64_t file_size)
{
    return off != 0 && off % cs == 0 && !range_outside(off, len, file_size);
}

static int check_geometry(const struct qcow2_header *h, uint64_t file_size, const char *path,
                          struct error *err)
{
    uint64_t cs, l2_cover, l1_need, rt_bytes;

    if (h->cluster_bits < QCOW2_MIN_CLUSTER_BITS || h->cluster_bits > QCOW2_MAX_CLUSTER_BITS)
        return error_set(err, -EINVAL, "disk %s: qcow2 cluster_bits %u out of range 9..21", path,
                         h->cluster_bits);
    cs = 1ull << h->cluster_bits;
    l2_cover = cs * (cs / 8); /* bytes mapped by one L2 table, at most 2^39 */
    if (h->size > (1ull << 62))
        return error_set(err, -EINVAL, "disk %s: qcow2 virtual size too large", path);
    l1_need = (h->size + l2_cover - 1) / l2_cover;
    if (h->l1_size < l1_need)
        return error_set(err, -EINVAL, "disk %s: qcow2 L1 table too small for the virtual size",
                         path);
    if ((uint64_t)h->l1_size * 8 > QCOW2_MAX_L1_BYTES)
        return error_set(err, -EINVAL, "disk %s: qcow2 L1 table too large (%u entries)", path,
                         h->l1_size);
    if (h->l1_size && !table_ok(h->l1_table_offset, (uint64_t)h->l1_size * 8, cs, file_size))
        return error_set(err, -EINVAL, "disk %s: qcow2 L1 table offset invalid or past end of file",
                         path);
    rt_bytes = (uint64_t)h->refcount_table_clusters * cs;
    if (h->refcount_table_clusters == 0 || rt_bytes > QCOW2_MAX_REFTABLE_BYTES)
        return error_set(err, -EINVAL, "disk %s: qcow2 refcount table size invalid", path);
    if (!table_ok(h->refcount_table_offset, rt_bytes, cs, file_size))
        return error_set(err, -EINVAL,
                         "disk %s: qcow2 refcount table offset invalid or past end of file", path);
    if (h->nb_snapshots > 65536 ||
        (h->nb_snapshots && (h->snapshots_offset % cs || h->snapshots_offset >= file_size)))
        return error_set(err, -EINVAL, "disk %s: qcow2 snapshot table invalid", path);
    if (h->backing_file_offset &&
        (h->backing_file_size > QCOW2_MAX_BACKING_NAME || h->backing_file_size == 0 ||
         range_outside(h->backing_file_offset, h->backing_file_size, MIN(file_size, cs))))
        return error_set(err, -EINVAL, "disk %s: qcow2 backing file name invalid", path);
    return 0;
}

/* Walks the header extensions in [start, end) of (buf). */
static int parse_extensions(const uint8_t *buf, size_t start, size_t end, const char *path,
                            struct qcow2_meta *m, const uint8_t **ftab, size_t *ftab_len,
                            struct error *err)
{
    size_t off = start;

    while (off + 8 <= end) {
        uint32_t type = be32_load(buf + off), len = be32_load(buf + off + 4);
        size_t data = off + 8;
        if (type == QCOW2_EXT_END)
            return 0;
        if (len > end - data)
            return error_set(err, -EINVAL, "disk %s: qcow2 header extension overflows the header",
                             path);
        if (type == QCOW2_EXT_BACKING_FORMAT) {
            if (len >= sizeof(m->backing_fmt))
                return error_set(err, -EINVAL, "disk %s: qcow2 backing format name too long", path);
            memcpy(m->backing_fmt, buf + data, len);
            m->backing_fmt[len] = '\0';
        } else if (type == QCOW2_EXT_FEATURE_TABLE) {
            *ftab = buf + data;
            *ftab_len = len;
        }
        off = data + ALIGN_UP((size_t)len, 8u);
    }
    return 0;
}

int qcow2_parse_header(const uint8_t *buf, size_t len, uint64_t file_size, const char *path,
                       struct qcow2_meta *m, struct error *err)
{
    struct qcow2_header *h = &m->h;
    const uint8_t *ftab = NULL;
    size_t ftab_len = 0, ext_end;
    int ret;

    memset(m, 0, sizeof(*m));
    if (len < 72)
        return error_set(err, -EINVAL, "disk %s: file too small for a qcow2 header", path);
    decode_fixed(buf, h);
    if (h->magic != QCOW2_MAGIC)
        return error_set(err, -EINVAL, "disk %s: not a qcow2 image (bad magic)", path);
    if (h->version != 2 && h->version != 3)
        return error_set(err, -ENOTSUP, "disk %s: unsupported qcow2 version %u", path, h->version);
    h->refcount_order = 4;
    h->header_length = 72;
    if (h->version == 3) {
        if (len < 104)
            return error_set(err, -EINVAL, "disk %s: truncated qcow2 v3 header", path);
        h->incompatible_features = be64_load(buf + 72);
        h->compatible_features = be64_load(buf + 80);
        h->autoclear_features = be64_load(buf + 88);
        h->refcount_order = be32_load(buf + 96);
        h->header_length = be32_load(buf + 100);
        if (h->header_length < 104 || h->header_length % 8 || h->header_length > len)
            return error_set(err, -EINVAL, "disk %s: qcow2 header length %u invalid", path,
                             h->header_length);
        if (h->header_length > 104)
            h->compression_type = buf[104];
        if (h->refcount_order > 6)
            return error_set(err, -EINVAL, "disk %s: qcow2 refcount_order %u invalid", path,
                             h->refcount_order);
    }
    ret = check_geometry(h, file_size, path, err);
    if (ret < 0)
        return ret;
    ext_end = (size_t)MIN((uint64_t)len, 1ull << h->cluster_bits);
    if (h->backing_file_offset && h->backing_file_offset < ext_end)
        ext_end = (size_t)h->backing_file_offset;
    if (h->header_length < ext_end) {
        ret = parse_extensions(buf, h->header_length, ext_end, path, m, &ftab, &ftab_len, err);
        if (ret < 0)
            return ret;
    }
    ret = check_features(h, ftab, ftab_len, path, err);
    if (ret < 0)
        return ret;
    if (h->backing_file_offset) {
        if (range_outside(h->backing_file_offset, h->backing_file_size, len))
            return error_set(err, -EINVAL, "disk %s: qcow2 backing file name outside header", path);
        memcpy(m->backing, buf + h->backing_file_offset, h->backing_file_size);
        m->backing[h->backing_file_size] = '\0';
        if (strlen(m->backing) != h->backing_file_size)
            return error_set(err, -EINVAL, "disk %s: qcow2 backing file name contains NUL", path);
    }
    return 0;
}

int qcow2_read_header(int fd, uint64_t file_size, const char *path, struct qcow2_meta *m,
                      struct error *err)
{
    size_t len = (size_t)MIN(file_size, 1ull << QCOW2_MAX_CLUSTER_BITS);
    uint8_t *buf;
    int ret;

    if (len < 72)
        return error_set(err, -EINVAL, "disk %s: file too small for a qcow2 header", path);
    buf = malloc(len);
    if (!buf)
        return error_set(err, -ENOMEM, "out of memory");
    ret = pread_full(fd, buf, len, 0);
    if (ret < 0)
        error_set(err, ret, "disk %s: cannot read qcow2 header", path);
    else
        ret = qcow2_parse_header(buf, len, file_size, path, m, err);
    free(buf);
    return ret;
}

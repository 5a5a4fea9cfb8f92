/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of qcow2 internal snapshots (qcow2.txt "Snapshots"): the snapshot table parser
 * against hostile tables (every field out of range, truncations, NULs, overflows), and create /
 * apply / delete through block/image.h with the disk's contents and `disk check` (refcounts and
 * COPIED bits) verified after each step: writes after a snapshot copy the shared data clusters
 * and L2 tables, the snapshot keeps its contents, apply brings them back, delete frees what only
 * the snapshot used. Raw images and snapshots holding VM state are refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/util.h"
#include "block/blk.h"
#include "block/image.h"
#include "block/qcow2/qcow2.h"
#include "scratch.h"

#define CS 65536ull
#define MIB (1ull << 20)

/* Appends one entry to (buf) at (*off); returns its start. */
static size_t put_entry(uint8_t *buf, size_t *off, uint64_t l1off, uint32_t l1n, const char *id,
                        const char *name, uint32_t extra, uint64_t disk_size)
{
    size_t at = *off, idl = strlen(id), nl = strlen(name);
    uint8_t *p = buf + at;

    memset(p, 0, 40 + extra + idl + nl + 8);
    be64_store(p, l1off);
    be32_store(p + 8, l1n);
    p[12] = (uint8_t)(idl >> 8);
    p[13] = (uint8_t)idl;
    p[14] = (uint8_t)(nl >> 8);
    p[15] = (uint8_t)nl;
    be32_store(p + 36, extra);
    if (extra >= 16)
        be64_store(p + 48, disk_size);
    memcpy(p + 40 + extra, id, idl);
    memcpy(p + 40 + extra + idl, name, nl);
    *off = at + ALIGN_UP(40 + extra + idl + nl, 8u);
    return at;
}

static int parse(const uint8_t *buf, size_t len, uint32_t nb, struct qcow2_snaptab *t)
{
    struct error err = {0};
    size_t used;

    return qcow2_snaptab_parse(buf, len, nb, CS, 64 * MIB, 8 * MIB, "t", t, &used, &err);
}

static void test_parse_valid(void **state)
{
    static uint8_t buf[4096];
    struct qcow2_snaptab t;
    size_t off = 0;
    (void)state;

    put_entry(buf, &off, 3 * CS, 1, "1", "first", 16, 4 * MIB);
    put_entry(buf, &off, 4 * CS, 2, "7", "second", 0, 0);
    assert_int_equal(parse(buf, off, 2, &t), 0);
    assert_int_equal(t.n, 2);
    assert_int_equal(t.bytes, off - 1); /* the last entry needs no padding */
    assert_string_equal(t.v[0].name, "first");
    assert_int_equal(t.v[0].disk_size, 4 * MIB);
    assert_string_equal(t.v[1].id, "7");
    assert_int_equal(t.v[1].disk_size, 8 * MIB); /* no extra data: the image's size */
    assert_int_equal(qcow2_snaptab_find(&t, "second"), 1);
    assert_int_equal(qcow2_snaptab_find(&t, "1"), 0); /* by ID */
    assert_int_equal(qcow2_snaptab_find(&t, "none"), -1);
    qcow2_snaptab_free(&t);
}

/* A rewrite keeps every field, unknown extra data included (QEMU 5.2+ adds an icount after
 * the disk size), and pads entries to 8 bytes, the table to whole clusters. */
static void test_encode_round_trip(void **state)
{
    static uint8_t buf[4096];
    struct qcow2 s = {.cluster_size = CS};
    struct qcow2_snaptab t, t2;
    uint8_t *enc;
    size_t off = 0, len;
    (void)state;

    put_entry(buf, &off, 3 * CS, 1, "1", "a", 24, 4 * MIB);
    be64_store(buf + 56, 0x1122334455667788ull); /* icount */
    put_entry(buf, &off, 5 * CS, 3, "12", "second one", 16, 6 * MIB);
    assert_int_equal(parse(buf, off, 2, &t), 0);
    assert_int_equal(qcow2_snaptab_encode(&s, &t, &enc, &len), 0);
    assert_int_equal(len, CS);
    assert_memory_equal(enc, buf, off); /* same bytes, zero padding included */
    assert_int_equal(parse(enc, len, 2, &t2), 0);
    assert_int_equal(t2.v[0].extra_size, 24);
    assert_int_equal(be64_load(t2.v[0].extra + 16), 0x1122334455667788ull);
    assert_int_equal(t2.v[1].l1_size, 3);
    assert_string_equal(t2.v[1].name, "second one");
    assert_int_equal(t2.v[1].disk_size, 6 * MIB);
    free(enc);
    qcow2_snaptab_free(&t);
    qcow2_snaptab_free(&t2);
}

/* Each case: one entry made hostile in one field; parsing must fail with -EINVAL. */
static void test_parse_hostile(void **state)
{
    static uint8_t buf[8192];
    struct qcow2_snaptab t;
    size_t off, at;
    (void)state;

    for (int c = 0; c < 11; c++) {
        off = 0;
        at = put_entry(buf, &off, 3 * CS, 1, "1", "snap", 16, 4 * MIB);
        switch (c) {
        case 0: /* truncated fixed part */
            off = 39;
            break;
        case 1: /* extra data too large */
            be32_store(buf + at + 36, QCOW2_MAX_SNAP_EXTRA + 1);
            break;
        case 2: /* name runs past the table */
            buf[at + 14] = 0xff;
            break;
        case 3: /* NUL inside the name */
            buf[at + 40 + 16 + 1 + 1] = 0;
            break;
        case 4: /* unaligned L1 table */
            be64_store(buf + at, 3 * CS + 512);
            break;
        case 5: /* L1 table past the end of the file */
            be64_store(buf + at, 64 * MIB);
            break;
        case 6: /* L1 table too large for memory */
            be32_store(buf + at + 8, QCOW2_MAX_L1_BYTES / 8 + 1);
            break;
        case 7: /* L1 offset + size wraps around */
            be64_store(buf + at, UINT64_MAX - CS + 1);
            break;
        case 8: /* disk size too large */
            be64_store(buf + at + 48, UINT64_MAX);
            break;
        case 9: /* L1 entries at offset 0 (the header) */
            be64_store(buf + at, 0);
            break;
        case 10: /* more entries than the table holds */
            break;
        }
        assert_int_equal(parse(buf, off, c == 10 ? 2 : 1, &t), -EINVAL);
        assert_null(t.v);
    }
    assert_int_equal(parse(buf, 0, QCOW2_MAX_SNAPSHOTS + 1, &t), -EINVAL);
}

static void fill(uint8_t *buf, size_t len, uint8_t seed)
{
    for (size_t i = 0; i < len; i++)
        buf[i] = (uint8_t)(seed + i * 7 + (i >> 9));
}

static struct blk *open_rw(const char *path)
{
    struct blk_open_opts o = {.path = path, .needs_sync_engine = true};
    struct error err = {0};
    struct blk *b = NULL;

    assert_int_equal(blk_open(&o, NULL, &b, &err), 0);
    return b;
}

/* (len) bytes at (off) of (path) equal (want). */
static void assert_content(const char *path, uint64_t off, const uint8_t *want, size_t len)
{
    struct blk *b = open_rw(path);
    uint8_t *got = malloc(len);

    assert_non_null(got);
    assert_int_equal(blk_pread(b, got, len, off), 0);
    assert_memory_equal(got, want, len);
    free(got);
    blk_close(b);
}

static void assert_clean(const char *path)
{
    struct disk_check_result r;
    struct error err = {0};

    assert_int_equal(disk_check(path, false, &r, &err), 0);
    assert_int_equal(r.corruptions, 0);
    assert_int_equal(r.leaks, 0);
}

static void write_at(const char *path, const uint8_t *buf, size_t len, uint64_t off)
{
    struct blk *b = open_rw(path);

    assert_int_equal(blk_pwrite(b, buf, len, off), 0);
    blk_close(b);
}

static void test_create_apply_delete(void **state)
{
    const char *path = scratch_path("cad.qcow2");
    size_t len = 3 * CS;
    uint8_t *a = malloc(len), *b = malloc(len), *mix = malloc(len);
    struct disk_snapshot_list l;
    struct error err = {0};
    (void)state;

    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(mix);
    fill(a, len, 1);
    fill(b, len, 2);
    assert_int_equal(qcow2_create(path, 64 * MIB, CS, NULL, NULL, true, &err), 0);
    write_at(path, a, len, CS / 2); /* partial first and last clusters */
    assert_int_equal(disk_snapshot(path, DISK_SNAPSHOT_CREATE, "a", &err), 0);
    assert_clean(path);
    /* a partial write into shared clusters: copy-on-write keeps the rest of the cluster */
    memcpy(mix, a, len);
    memcpy(mix + 1000, b, 5000);
    write_at(path, b, 5000, CS / 2 + 1000);
    assert_content(path, CS / 2, mix, len);
    assert_clean(path);
    assert_int_equal(disk_snapshot(path, DISK_SNAPSHOT_CREATE, "a", &err), -EEXIST);
    assert_int_equal(disk_snapshot(path, DISK_SNAPSHOT_CREATE, "b", &err), 0);
    write_at(path, b, len, CS / 2);
    assert_content(path, CS / 2, b, len);
    assert_int_equal(disk_snapshot(path, DISK_SNAPSHOT_APPLY, "a", &err), 0);
    assert_content(path, CS / 2, a, len);
    assert_clean(path);
    assert_int_equal(disk_snapshot(path, DISK_SNAPSHOT_APPLY, "2", &err), 0); /* "b" by ID */
    assert_content(path, CS / 2, mix, len);
    assert_int_equal(disk_snapshot(path, DISK_SNAPSHOT_DELETE, "a", &err), 0);
    assert_clean(path);
    assert_int_equal(disk_snapshot(path, DISK_SNAPSHOT_APPLY, "a", &err), -ENOENT);
    assert_int_equal(disk_snapshot_list_get(path, &l, &err), 0);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.v[0].name, "b");
    assert_int_equal(l.v[0].disk_size_bytes, 64 * MIB);
    disk_snapshot_list_free(&l);
    assert_int_equal(disk_snapshot(path, DISK_SNAPSHOT_DELETE, "b", &err), 0);
    assert_clean(path);
    assert_content(path, CS / 2, mix, len);
    free(a);
    free(b);
    free(mix);
}

/* A write through an L2 table shared with a snapshot copies the table: the snapshot's L1 entry
 * keeps the old table, whose refcount drops back to 1. */
static void test_l2_copy_on_write(void **state)
{
    const char *path = scratch_path("cow-l2.qcow2");
    struct blk *b;
    struct qcow2 *s;
    struct qcow2_snaptab t;
    struct error err = {0};
    uint8_t sector[512];
    uint64_t l2, snap_l1e, rc;
    (void)state;

    memset(sector, 0x3c, sizeof(sector));
    assert_int_equal(qcow2_create(path, 64 * MIB, CS, NULL, NULL, true, &err), 0);
    write_at(path, sector, sizeof(sector), 0);
    assert_int_equal(disk_snapshot(path, DISK_SNAPSHOT_CREATE, "s", &err), 0);
    b = open_rw(path);
    s = qcow2_of(b);
    l2 = s->l1[0] & QCOW2_OFFSET_MASK;
    assert_false(s->l1[0] & QCOW2_OFLAG_COPIED);
    assert_int_equal(qcow2_refcount_get(s, l2 / CS, &rc), 0);
    assert_int_equal(rc, 2);
    assert_int_equal(blk_pwrite(b, sector, sizeof(sector), 2 * CS), 0);
    assert_true(s->l1[0] & QCOW2_OFLAG_COPIED);
    assert_int_not_equal(s->l1[0] & QCOW2_OFFSET_MASK, l2);
    assert_int_equal(qcow2_refcount_get(s, l2 / CS, &rc), 0);
    assert_int_equal(rc, 1);
    assert_int_equal(qcow2_snaptab_load(s, &t, &err), 0);
    assert_int_equal(qcow2_meta_read(s, t.v[0].l1_offset, &snap_l1e, 8), 0);
    assert_int_equal(be64_load(&snap_l1e) & QCOW2_OFFSET_MASK, l2);
    qcow2_snaptab_free(&t);
    blk_close(b);
    assert_clean(path);
}

static void test_refusals(void **state)
{
    const char *raw = scratch_path("plain.raw"), *path = scratch_path("vmstate.qcow2");
    struct qcow2_snaptab t;
    struct error err = {0};
    struct blk *b;
    uint64_t at;
    int fd;
    (void)state;

    assert_int_equal(disk_create_raw(raw, MIB, true, &err), 0);
    assert_int_equal(disk_snapshot(raw, DISK_SNAPSHOT_CREATE, "x", &err), -ENOTSUP);
    assert_non_null(strstr(err.message, "disk convert"));
    assert_int_equal(qcow2_create(path, 8 * MIB, CS, NULL, NULL, true, &err), 0);
    assert_int_equal(disk_snapshot(path, DISK_SNAPSHOT_CREATE, "", &err), -EINVAL);
    assert_int_equal(disk_snapshot(path, DISK_SNAPSHOT_CREATE, "vm", &err), 0);
    b = open_rw(path);
    assert_int_equal(qcow2_snaptab_load(qcow2_of(b), &t, &err), 0);
    at = qcow2_of(b)->m.h.snapshots_offset;
    qcow2_snaptab_free(&t);
    blk_close(b);
    fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    uint8_t v[8];
    be64_store(v, MIB); /* vm_state_size_large: QEMU's savevm made it */
    assert_int_equal(pwrite_full(fd, v, 8, at + 40), 0);
    close(fd);
    err = (struct error){0};
    assert_int_equal(disk_snapshot(path, DISK_SNAPSHOT_APPLY, "vm", &err), -ENOTSUP);
    assert_non_null(strstr(err.message, "VM state"));
    /* a hostile table (an L1 table of 2^32 - 1 entries): read-only opens work, writable ones
     * are refused before any write could trust refcounts the table cannot account for */
    fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    be32_store(v, UINT32_MAX);
    assert_int_equal(pwrite_full(fd, v, 4, at + 8), 0);
    close(fd);
    struct blk_open_opts ro = {.path = path, .is_readonly = true, .needs_sync_engine = true};
    assert_int_equal(blk_open(&ro, NULL, &b, &err), 0);
    blk_close(b);
    struct blk_open_opts rw = {.path = path, .needs_sync_engine = true};
    err = (struct error){0};
    assert_int_equal(blk_open(&rw, NULL, &b, &err), -EINVAL);
    assert_non_null(strstr(err.message, "snapshot 0"));
}

/* A snapshot whose virtual size needs more L1 entries than 32 bits count (2^61 bytes with 64 KiB
 * clusters: 2^32 entries, 0 once narrowed) is refused before any table is read or switched, and
 * the image stays as it was. */
static void test_apply_huge_disk_size(void **state)
{
    const char *path = scratch_path("huge.qcow2");
    struct qcow2_snaptab t;
    struct error err = {0};
    struct blk *b;
    uint8_t v[8];
    uint64_t at;
    int fd;
    (void)state;

    assert_int_equal(qcow2_create(path, 8 * MIB, CS, NULL, NULL, true, &err), 0);
    assert_int_equal(disk_snapshot(path, DISK_SNAPSHOT_CREATE, "big", &err), 0);
    b = open_rw(path);
    assert_int_equal(qcow2_snaptab_load(qcow2_of(b), &t, &err), 0);
    at = qcow2_of(b)->m.h.snapshots_offset;
    qcow2_snaptab_free(&t);
    blk_close(b);
    fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    be32_store(v, 16); /* l1_size: 16 entries, inside the snapshot's L1 cluster */
    assert_int_equal(pwrite_full(fd, v, 4, at + 8), 0);
    be64_store(v, 1ull << 61); /* disk_size in the extra data */
    assert_int_equal(pwrite_full(fd, v, 8, at + 48), 0);
    close(fd);
    err = (struct error){0};
    assert_int_equal(disk_snapshot(path, DISK_SNAPSHOT_APPLY, "big", &err), -EFBIG);
    b = open_rw(path); /* still opens, with its own size */
    assert_int_equal(qcow2_of(b)->m.h.size, 8 * MIB);
    blk_close(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_valid),          cmocka_unit_test(test_parse_hostile),
        cmocka_unit_test(test_encode_round_trip),    cmocka_unit_test(test_create_apply_delete),
        cmocka_unit_test(test_l2_copy_on_write),     cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_apply_huge_disk_size),
    };
    return cmocka_run_group_tests(tests, scratch_setup, scratch_teardown);
}

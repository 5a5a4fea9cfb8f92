/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of qcow2 against hostile images (qcow2.txt "Host cluster management"): an L1
 * table whose half a million entries all name one L2 table must be checked in the time of one
 * table, and a data cluster referenced 65536 times (more than 16-bit refcounts count) must be
 * reported as a corruption that repair cannot fix, so a dirty image like that is never opened
 * writable; a refcount table entry naming a block for clusters far past the end of the file
 * must not make the check scan 2^38 refcounts, nor the search for a free cluster when every
 * refcount says "in use"; a discard must never free the header cluster, and guest writes
 * never land on the header, L1 or refcount table; a backing chain that loops is refused.
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

static uint64_t rd64(int fd, uint64_t off)
{
    uint8_t b[8];
    assert_int_equal(pread_full(fd, b, 8, off), 0);
    return be64_load(b);
}

static void wr64(int fd, uint64_t off, uint64_t v)
{
    uint8_t b[8];
    be64_store(b, v);
    assert_int_equal(pwrite_full(fd, b, 8, off), 0);
}

/* Creates (path) with (cs)-byte clusters and writes one sector at each of (offs). */
static void make_img_cs(const char *path, uint64_t size, uint64_t cs, const uint64_t *offs,
                        unsigned n)
{
    struct blk_open_opts o = {.path = path, .needs_sync_engine = true};
    struct error err = {0};
    uint8_t sector[512];
    struct blk *b;

    memset(sector, 0xa5, sizeof(sector));
    assert_int_equal(qcow2_create(path, size, cs, NULL, NULL, true, &err), 0);
    assert_int_equal(blk_open(&o, NULL, &b, &err), 0);
    for (unsigned i = 0; i < n; i++)
        assert_int_equal(blk_pwrite(b, sector, sizeof(sector), offs[i]), 0);
    blk_close(b);
}

static void make_img(const char *path, uint64_t size, const uint64_t *offs, unsigned n)
{
    make_img_cs(path, size, CS, offs, n);
}

static void test_l1_entries_share_one_l2(void **state)
{
    const char *path = scratch_path("shared-l2.qcow2");
    const uint64_t zero = 0, n = 1u << 19; /* 2^48 bytes / 2^29 per L2 table */
    struct disk_check_result r;
    struct error err = {0};
    uint64_t l1off, e, t0;
    uint8_t *l1;
    int fd;
    (void)state;

    make_img(path, 1ull << 48, &zero, 1);
    fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    assert_int_equal(rd64(fd, 36) >> 32, n); /* l1_size */
    l1off = rd64(fd, 40);
    e = rd64(fd, l1off);
    assert_int_not_equal(e & QCOW2_OFFSET_MASK, 0);
    l1 = malloc(n * 8);
    assert_non_null(l1);
    for (uint64_t i = 0; i < n; i++)
        be64_store(l1 + i * 8, e);
    assert_int_equal(pwrite_full(fd, l1, n * 8, l1off), 0);
    free(l1);
    close(fd);

    t0 = time_now_ns();
    assert_int_equal(disk_check(path, false, &r, &err), 0);
    /* one walk of the table, not half a million (which takes minutes) */
    assert_true(time_now_ns() - t0 < 5000000000ull);
    assert_true(r.corruptions >= 1); /* the L2 table: 524288 references, refcount 1 */
}

static void test_refcount_overflow(void **state)
{
    const char *path = scratch_path("overflow.qcow2");
    uint64_t offs[8], l2[8], data, rb, e0;
    struct disk_check_result r;
    struct blk_open_opts o = {.path = path, .needs_sync_engine = true};
    struct error err = {0};
    uint8_t *t, rc[2] = {0xff, 0xff};
    struct blk *b = NULL;
    int fd;
    (void)state;

    for (unsigned i = 0; i < 8; i++)
        offs[i] = (uint64_t)i << 29; /* one L2 table each */
    make_img(path, 4ull << 30, offs, 8);
    fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    for (unsigned i = 0; i < 8; i++)
        l2[i] = rd64(fd, rd64(fd, 40) + i * 8) & QCOW2_OFFSET_MASK;
    e0 = rd64(fd, l2[0]);
    data = e0 & QCOW2_OFFSET_MASK;
    t = malloc(CS);
    assert_non_null(t);
    for (uint64_t i = 0; i < CS / 8; i++)
        be64_store(t + i * 8, e0);
    for (unsigned i = 0; i < 8; i++) /* 8 * 8192 = 65536 references to (data) */
        assert_int_equal(pwrite_full(fd, t, CS, l2[i]), 0);
    free(t);
    rb = rd64(fd, rd64(fd, 48)); /* refcount block 0 (16-bit entries) */
    assert_int_equal(pwrite_full(fd, rc, 2, rb + data / CS * 2), 0);
    close(fd);

    assert_int_equal(disk_check(path, false, &r, &err), 0);
    /* the refcount that cannot count 65536, plus the 65536 entries' COPIED bits (set, while the
     * cluster is not referenced exactly once) */
    assert_int_equal(r.corruptions, 1 + 65536);

    /* dirty: opening it writable runs the repair, which must refuse */
    fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    wr64(fd, QCOW2_HDR_INCOMPAT_OFF, QCOW2_INCOMPAT_DIRTY);
    close(fd);
    assert_int_equal(blk_open(&o, NULL, &b, &err), -EINVAL);
    assert_null(b);
}

static void test_refblock_far_past_eof(void **state)
{
    const char *path = scratch_path("far-refblock.qcow2");
    const uint64_t cs = 2u << 20, last = cs / 8 - 1; /* last entry of a one-cluster table */
    struct disk_check_result r;
    struct blk_open_opts o = {.path = path, .needs_sync_engine = true};
    struct error err = {0};
    struct blk *b = NULL;
    uint64_t rt, t0;
    int fd;
    (void)state;

    make_img_cs(path, 1u << 30, cs, NULL, 0);
    fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    rt = rd64(fd, 48);
    wr64(fd, rt + last * 8, rd64(fd, rt)); /* names block 0 again, for clusters 2^38.. */
    close(fd);

    t0 = time_now_ns();
    assert_int_equal(disk_check(path, false, &r, &err), 0);
    assert_true(time_now_ns() - t0 < 5000000000ull); /* not 2^38 refcount lookups */
    assert_true(r.is_incomplete);

    fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    wr64(fd, QCOW2_HDR_INCOMPAT_OFF, QCOW2_INCOMPAT_DIRTY);
    close(fd);
    assert_int_equal(blk_open(&o, NULL, &b, &err), -EINVAL); /* repair cannot vouch for it */
    assert_null(b);
}

static void test_refcounts_all_in_use(void **state)
{
    const char *path = scratch_path("full-refcounts.qcow2");
    const uint64_t cs = 2u << 20;
    struct blk_open_opts o = {.path = path, .needs_sync_engine = true};
    struct error err = {0};
    uint8_t *blk, sector[512] = {1};
    uint64_t rt, rb, t0;
    struct blk *b = NULL;
    int fd, ret;
    (void)state;

    make_img_cs(path, 1u << 30, cs, NULL, 0);
    fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    rt = rd64(fd, 48);
    rb = rd64(fd, rt);
    blk = malloc(cs);
    assert_non_null(blk);
    for (uint64_t i = 0; i < cs; i += 2) { /* every cluster of block 0 in use */
        blk[i] = 0;
        blk[i + 1] = 1;
    }
    assert_int_equal(pwrite_full(fd, blk, cs, rb), 0);
    for (uint64_t i = 0; i < cs / 8; i++) /* and every table entry names that block */
        be64_store(blk + i * 8, rb);
    assert_int_equal(pwrite_full(fd, blk, cs, rt), 0);
    free(blk);
    close(fd);

    assert_int_equal(blk_open(&o, NULL, &b, &err), 0);
    t0 = time_now_ns();
    ret = blk_pwrite(b, sector, sizeof(sector), 0); /* needs a free cluster */
    /* the search gives up near the end of the file instead of walking 2^38 refcounts */
    assert_true(time_now_ns() - t0 < 5000000000ull);
    assert_true(ret < 0);
    blk_close(b);
}

/* Discarding a guest cluster frees what its L2 entry names; an entry naming the header (here a
 * compressed one at byte 512) must not free cluster 0, which would punch the header out of
 * the file and hand it to the next allocation (guest data over the backing file name). */
static void test_discard_entry_naming_header(void **state)
{
    const char *path = scratch_path("discard-header.qcow2");
    const uint64_t zero = 0;
    struct blk_open_opts o = {.path = path, .needs_sync_engine = true};
    struct disk_check_result r;
    struct error err = {0};
    struct blk *b = NULL;
    uint8_t magic[4];
    int fd;
    (void)state;

    make_img(path, 1u << 30, &zero, 1);
    fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    wr64(fd, (rd64(fd, rd64(fd, 40)) & QCOW2_OFFSET_MASK) + 8, QCOW2_OFLAG_COMPRESSED | 512);
    close(fd);

    assert_int_equal(blk_open(&o, NULL, &b, &err), 0);
    (void)!blk_discard(b, CS, CS, false);
    (void)!blk_pwrite(b, "guest data", 10, 8 * CS); /* would land in a freed cluster 0 */
    blk_close(b);

    fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(pread_full(fd, magic, 4, 0), 0);
    close(fd);
    assert_memory_equal(magic, "QFI\xfb", 4);
    assert_int_equal(disk_check(path, false, &r, &err), 0);
    assert_int_equal(r.corruptions, 0);
}

/* Guest data must never land on the header, the L1 table or the refcount table: not through an
 * L2 entry naming the L1 table (in-place write), not through refcounts calling cluster 0 free
 * (allocating write). */
static void test_guest_write_onto_metadata(void **state)
{
    const char *path = scratch_path("write-meta.qcow2");
    const uint64_t zero = 0;
    struct blk_open_opts o = {.path = path, .needs_sync_engine = true};
    struct error err = {0};
    uint8_t data[512], before[512], after[512], magic[4];
    uint64_t l1off, l2off, rb;
    struct blk *b = NULL;
    int fd;
    (void)state;

    memset(data, 0xee, sizeof(data));
    make_img(path, 1u << 30, &zero, 1);
    fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    l1off = rd64(fd, 40);
    l2off = rd64(fd, l1off) & QCOW2_OFFSET_MASK;
    wr64(fd, l2off + 8, l1off | QCOW2_OFLAG_COPIED); /* guest cluster 1 = the L1 table */
    rb = rd64(fd, rd64(fd, 48));
    assert_int_equal(pwrite_full(fd, "\0\0", 2, rb), 0); /* cluster 0 "free" */
    assert_int_equal(pread_full(fd, before, sizeof(before), l1off), 0);
    close(fd);

    assert_int_equal(blk_open(&o, NULL, &b, &err), 0);
    assert_true(blk_pwrite(b, data, sizeof(data), CS) < 0);
    assert_true(blk_pwrite(b, data, sizeof(data), 100 * CS) < 0);
    blk_close(b);

    fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(pread_full(fd, after, sizeof(after), l1off), 0);
    assert_int_equal(pread_full(fd, magic, 4, 0), 0);
    close(fd);
    assert_memory_equal(before, after, sizeof(before));
    assert_memory_equal(magic, "QFI\xfb", 4);
}

/* An L1 entry naming the L1 table as an L2 table: updating that "L2 table" would write
 * allocation results into the L1 table on disk. */
static void test_l1_entry_names_l1(void **state)
{
    const char *path = scratch_path("l1-as-l2.qcow2");
    const uint64_t zero = 0;
    struct blk_open_opts o = {.path = path, .needs_sync_engine = true};
    struct error err = {0};
    uint8_t data[512], before[512], after[512];
    struct blk *b = NULL;
    uint64_t l1off;
    int fd;
    (void)state;

    memset(data, 0xee, sizeof(data));
    make_img(path, 1u << 30, &zero, 1);
    fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    l1off = rd64(fd, 40);
    wr64(fd, l1off + 8, l1off | QCOW2_OFLAG_COPIED); /* L2 table of 512 MiB.. = the L1 table */
    assert_int_equal(pread_full(fd, before, sizeof(before), l1off), 0);
    close(fd);

    assert_int_equal(blk_open(&o, NULL, &b, &err), 0);
    assert_true(blk_pwrite(b, data, sizeof(data), (512u << 20) + 5 * CS) < 0);
    assert_true(blk_discard(b, CS, (512u << 20) + 6 * CS, false) < 0);
    blk_close(b);

    fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(pread_full(fd, after, sizeof(after), l1off), 0);
    close(fd);
    assert_memory_equal(before, after, sizeof(before));
}

/* a.qcow2 -> b.qcow2 -> a.qcow2: refused as a loop at once, not after opening 16 images (each
 * with its own tables and caches, up to ~60 MiB apiece). */
static void test_backing_loop(void **state)
{
    char a[512], bpath[512];
    struct blk_open_opts o = {.path = a, .is_readonly = true, .needs_sync_engine = true};
    struct error err = {0};
    struct blk *b = NULL;
    int fd;
    (void)state;

    snprintf(a, sizeof(a), "%s", scratch_path("a.qcow2"));
    snprintf(bpath, sizeof(bpath), "%s", scratch_path("b.qcow2"));
    assert_int_equal(qcow2_create(bpath, 1u << 20, CS, NULL, NULL, true, &err), 0);
    assert_int_equal(qcow2_create(a, 1u << 20, CS, "b.qcow2", "qcow2", true, &err), 0);
    fd = open(bpath, O_RDWR);
    assert_true(fd >= 0);
    assert_int_equal(pwrite_full(fd, "a.qcow2", 7, CS - 64), 0); /* b's backing: a */
    wr64(fd, 8, CS - 64);
    assert_int_equal(pwrite_full(fd, "\0\0\0\7", 4, 16), 0);
    close(fd);

    assert_int_equal(blk_open(&o, NULL, &b, &err), -ELOOP);
    assert_null(b);
    assert_non_null(strstr(err.message, "loops back"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_l1_entries_share_one_l2),
        cmocka_unit_test(test_refcount_overflow),
        cmocka_unit_test(test_refblock_far_past_eof),
        cmocka_unit_test(test_refcounts_all_in_use),
        cmocka_unit_test(test_discard_entry_naming_header),
        cmocka_unit_test(test_guest_write_onto_metadata),
        cmocka_unit_test(test_l1_entry_names_l1),
        cmocka_unit_test(test_backing_loop),
    };
    return cmocka_run_group_tests(tests, scratch_setup, scratch_teardown);
}

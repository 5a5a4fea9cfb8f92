/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the image tools behind `bareiron disk` (block/image.h) that need no qemu-img:
 * new images never replace an existing file without is_force and leave nothing behind when
 * they fail (struct disk_new), blk_block_status() on sparse raw files, qcow2 images and
 * backing chains, and check --repair on an image marked corrupt. The CLI and qemu-img
 * comparisons are in tests/integration/test_disk_cli.py, test_disk_convert.py and
 * test_disk_corrupt.py.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/util.h"
#include "block/blk.h"
#include "block/image.h"
#include "block/qcow2/qcow2.h"
#include "scratch.h"

/* Number of entries in the test directory (temporary files included). */
static int dir_entries(void)
{
    DIR *d = opendir(scratch_dir());
    struct dirent *e;
    int n = 0;

    assert_non_null(d);
    while ((e = readdir(d)))
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

static struct blk *open_img(const char *path, bool is_ro)
{
    struct blk_open_opts o = {.path = path, .is_readonly = is_ro, .needs_sync_engine = true};
    struct error err = {0};
    struct blk *b = NULL;

    if (blk_open(&o, NULL, &b, &err) < 0)
        fail_msg("open %s: %s", path, err.message);
    return b;
}

static void test_create_refuses_existing(void **state)
{
    const char *path = scratch_path("keep.img");
    struct error err = {0};
    struct stat st;
    (void)state;

    scratch_empty();
    assert_int_equal(write_file_atomic(path, "precious", 8, 0600), 0);
    assert_int_equal(disk_create_raw(path, 1 << 20, false, &err), -EEXIST);
    assert_non_null(strstr(err.message, "--force"));
    memset(&err, 0, sizeof(err));
    assert_int_equal(qcow2_create(path, 1 << 20, 0, NULL, NULL, false, &err), -EEXIST);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, 8);
    assert_int_equal(dir_entries(), 1);
    memset(&err, 0, sizeof(err));
    if (geteuid() == 0) /* root keeps the owner of the file it replaces */
        assert_int_equal(chown(path, 65534, 65534), 0);
    assert_int_equal(qcow2_create(path, 1 << 20, 0, NULL, NULL, true, &err), 0);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600); /* the replaced file's permissions */
    if (geteuid() == 0)
        assert_int_equal(st.st_uid, 65534);
    assert_int_equal(dir_entries(), 1);
}

static void test_failed_create_leaves_nothing(void **state)
{
    const char *path = scratch_path("bad.qcow2");
    struct error err = {0};
    struct disk_new n;
    (void)state;

    scratch_empty();
    assert_int_equal(qcow2_create(path, 1 << 20, 3000, NULL, NULL, false, &err), -EINVAL);
    assert_int_equal(qcow2_create(path, 1 << 20, 0, "missing.raw", NULL, false, &err), -ENOENT);
    assert_int_equal(dir_entries(), 0);
    memset(&err, 0, sizeof(err));
    assert_int_equal(disk_new_begin(&n, path, false, &err), 0);
    assert_int_equal(dir_entries(), 1);
    disk_new_abort(&n);
    assert_int_equal(dir_entries(), 0);
    /* a file that appears while the new image is written is not replaced */
    assert_int_equal(disk_new_begin(&n, path, false, &err), 0);
    assert_int_equal(disk_new_raw(&n, 4096, &err), 0);
    assert_int_equal(write_file_atomic(path, "late", 4, 0644), 0);
    assert_int_equal(disk_new_commit(&n, &err), -EEXIST);
    assert_int_equal(dir_entries(), 1);
    memset(&err, 0, sizeof(err));
    assert_int_equal(disk_new_begin(&n, scratch_dir(), true, &err), -EINVAL);
    assert_non_null(strstr(err.message, "not a regular file"));
}

/* Asserts the status of (b) at (off): (is_zero) over (pnum) bytes. */
static void expect_status(struct blk *b, uint64_t off, bool is_zero, uint64_t pnum)
{
    uint64_t n = 0;
    bool z = !is_zero;

    assert_int_equal(blk_block_status(b, off, blk_size_bytes(b) - off, &n, &z), 0);
    if (z != is_zero || n != pnum)
        fail_msg("at %llu: zero=%d len=%llu, expected zero=%d len=%llu", (unsigned long long)off, z,
                 (unsigned long long)n, is_zero, (unsigned long long)pnum);
}

static void test_block_status_raw(void **state)
{
    const char *path = scratch_path("sparse.raw");
    uint8_t data[8192];
    struct error err = {0};
    struct blk *b;
    int fd;
    (void)state;

    scratch_empty();
    memset(data, 0x5a, sizeof(data));
    assert_int_equal(disk_create_raw(path, 64 << 20, false, &err), 0);
    fd = open(path, O_WRONLY);
    assert_true(fd >= 0);
    assert_int_equal(pwrite_full(fd, data, sizeof(data), 16 << 20), 0);
    close(fd);
    b = open_img(path, true);
    expect_status(b, 0, true, 16 << 20);
    expect_status(b, 16 << 20, false, sizeof(data));
    expect_status(b, (16 << 20) + sizeof(data), true, (48 << 20) - sizeof(data));
    expect_status(b, 1000, true, (16 << 20) - 1000);
    {
        uint64_t n;
        bool z;
        assert_int_equal(blk_block_status(b, 64 << 20, 1, &n, &z), -EINVAL);
        assert_int_equal(blk_block_status(b, 0, 0, &n, &z), -EINVAL);
    }
    blk_close(b);
}

static void test_block_status_qcow2_and_backing(void **state)
{
    const char *base = scratch_path("base.raw"), *img = scratch_path("top.qcow2");
    uint8_t data[65536];
    struct error err = {0};
    struct blk *b;
    int fd;
    (void)state;

    scratch_empty();
    memset(data, 0x33, sizeof(data));
    assert_int_equal(disk_create_raw(base, 4 << 20, false, &err), 0);
    fd = open(base, O_WRONLY);
    assert_int_equal(pwrite_full(fd, data, sizeof(data), 3 << 20), 0);
    close(fd);
    assert_int_equal(qcow2_create(img, 8 << 20, 65536, "base.raw", "raw", false, &err), 0);
    b = open_img(img, false);
    assert_int_equal(blk_pwrite(b, data, sizeof(data), 1 << 20), 0);
    assert_int_equal(blk_discard(b, 65536, 3 << 20, true), 0); /* zero cluster over data */
    expect_status(b, 0, true, 1 << 20);                        /* backing hole */
    expect_status(b, 1 << 20, false, 65536);                   /* our data */
    expect_status(b, (1 << 20) + 65536, true, (2 << 20) - 65536);
    expect_status(b, 3 << 20, true, 65536); /* zero cluster (backing data under it) */
    expect_status(b, (3 << 20) + 65536, true, (1 << 20) - 65536); /* backing hole to its end */
    expect_status(b, 4 << 20, true, 4 << 20);                     /* past the backing file */
    blk_close(b);
}

static void test_repair_clears_corrupt_mark(void **state)
{
    const char *path = scratch_path("marked.qcow2");
    struct disk_check_result r;
    struct error err = {0};
    struct blk_open_opts o = {.path = path, .needs_sync_engine = true};
    struct blk *b;
    uint8_t e[8];
    int fd;
    (void)state;

    scratch_empty();
    assert_int_equal(qcow2_create(path, 1 << 20, 65536, NULL, NULL, false, &err), 0);
    fd = open(path, O_RDWR);
    be64_store(e, QCOW2_INCOMPAT_CORRUPT);
    assert_int_equal(pwrite_full(fd, e, 8, 72), 0);
    close(fd);
    assert_int_equal(blk_open(&o, NULL, &b, &err), -EINVAL);
    assert_non_null(strstr(err.message, "disk check --repair"));
    assert_int_equal(disk_check(path, false, &r, &err), 0);
    assert_true(r.is_marked_corrupt);
    assert_int_equal(disk_check(path, true, &r, &err), 0);
    assert_false(r.is_marked_corrupt);
    assert_true(r.is_mark_cleared);
    memset(&err, 0, sizeof(err));
    assert_int_equal(blk_open(&o, NULL, &b, &err), 0);
    blk_close(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_refuses_existing),
        cmocka_unit_test(test_failed_create_leaves_nothing),
        cmocka_unit_test(test_block_status_raw),
        cmocka_unit_test(test_block_status_qcow2_and_backing),
        cmocka_unit_test(test_repair_clears_corrupt_mark),
    };
    return cmocka_run_group_tests(tests, scratch_setup_var_tmp, scratch_teardown);
}

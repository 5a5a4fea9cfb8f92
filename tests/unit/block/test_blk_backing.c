/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the backing-file policy (block/blk.h enum blk_backing) on crafted qcow2
 * overlays: a name an image records is data its author chose, so by default (same-dir) only a
 * plain file name in the image's own directory is followed, never an absolute path, "..", a
 * subdirectory, a symlink, a FIFO or a device node, at any depth of the chain; backing=none
 * refuses any backing file and backing=any follows names as recorded.
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
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "block/blk.h"
#include "block/image.h"

#define SECRET "host secret: root:x:0:0"

static char top[] = "/tmp/bareiron-test-backing-XXXXXX";
static char dir[600], outside[600];

static const char *in_dir(const char *name)
{
    static char p[4][700];
    static unsigned k;
    char *r = p[k++ % 4];
    snprintf(r, sizeof(p[0]), "%s/%s", dir, name);
    return r;
}

/* A 1 MiB raw file (path) starting with (text). */
static void make_raw(const char *path, const char *text)
{
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, 1 << 20), 0);
    assert_int_equal(pwrite(fd, text, strlen(text), 0), (ssize_t)strlen(text));
    close(fd);
}

/* An overlay at (path) recording (backing) (raw format, 1 MiB). */
static void make_overlay(const char *path, const char *backing)
{
    struct error err = {0};
    assert_int_equal(qcow2_create(path, 1 << 20, 0, backing, "raw", true, &err), 0);
}

/* Opens (path) with (policy); on success returns 0 and the first bytes in (buf). */
static int open_read(const char *path, enum blk_backing policy, char *buf, size_t len)
{
    struct blk_open_opts o = {.path = path,
                              .format = BLK_FORMAT_QCOW2,
                              .backing = policy,
                              .is_readonly = true,
                              .needs_sync_engine = true};
    struct error err = {0};
    struct blk *b;
    int ret = blk_open(&o, NULL, &b, &err);

    if (ret < 0) {
        assert_true(err.message[0] != '\0');
        return ret;
    }
    memset(buf, 0, len);
    ret = blk_pread(b, buf, len, 0);
    blk_close(b);
    return ret;
}

static int setup(void **state)
{
    (void)state;
    assert_non_null(mkdtemp(top));
    snprintf(dir, sizeof(dir), "%s/vm", top);
    snprintf(outside, sizeof(outside), "%s/secret.raw", top);
    assert_int_equal(mkdir(dir, 0700), 0);
    make_raw(outside, SECRET);
    return 0;
}

static int teardown(void **state)
{
    char cmd[700];
    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
    assert_int_equal(system(cmd), 0);
    return 0;
}

/* An absolute name: the review's /etc/passwd read. Followed only with backing=any. */
static void test_absolute(void **state)
{
    char buf[512];
    (void)state;
    make_overlay(in_dir("abs.qcow2"), outside);
    assert_int_equal(open_read(in_dir("abs.qcow2"), BLK_BACKING_SAME_DIR, buf, sizeof(buf)),
                     -EPERM);
    assert_int_equal(open_read(in_dir("abs.qcow2"), BLK_BACKING_NONE, buf, sizeof(buf)), -EPERM);
    assert_int_equal(open_read(in_dir("abs.qcow2"), BLK_BACKING_ANY, buf, sizeof(buf)), 0);
    assert_string_equal(buf, SECRET);
}

static void test_dotdot_and_subdir(void **state)
{
    char buf[512];
    (void)state;
    make_overlay(in_dir("up.qcow2"), "../secret.raw");
    assert_int_equal(open_read(in_dir("up.qcow2"), BLK_BACKING_SAME_DIR, buf, sizeof(buf)), -EPERM);
    assert_int_equal(open_read(in_dir("up.qcow2"), BLK_BACKING_ANY, buf, sizeof(buf)), 0);
    assert_string_equal(buf, SECRET);
    assert_int_equal(mkdir(in_dir("sub"), 0700), 0);
    make_raw(in_dir("sub/b.raw"), "sub");
    make_overlay(in_dir("sub.qcow2"), "sub/b.raw");
    assert_int_equal(open_read(in_dir("sub.qcow2"), BLK_BACKING_SAME_DIR, buf, sizeof(buf)),
                     -EPERM);
}

/* A plain name in the same directory: the chain an overlay normally has. */
static void test_same_dir(void **state)
{
    char buf[512];
    (void)state;
    make_raw(in_dir("base.raw"), "base data");
    make_overlay(in_dir("ovl.qcow2"), "base.raw");
    assert_int_equal(open_read(in_dir("ovl.qcow2"), BLK_BACKING_SAME_DIR, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "base data");
    assert_int_equal(open_read(in_dir("ovl.qcow2"), BLK_BACKING_NONE, buf, sizeof(buf)), -EPERM);
}

/* A symlink in the directory pointing out of it is not followed. */
static void test_symlink(void **state)
{
    char buf[512];
    (void)state;
    make_raw(in_dir("link.raw"), "placeholder");
    make_overlay(in_dir("sym.qcow2"), "link.raw");
    assert_int_equal(unlink(in_dir("link.raw")), 0);
    assert_int_equal(symlink(outside, in_dir("link.raw")), 0);
    assert_int_equal(open_read(in_dir("sym.qcow2"), BLK_BACKING_SAME_DIR, buf, sizeof(buf)),
                     -ELOOP);
    assert_int_equal(open_read(in_dir("sym.qcow2"), BLK_BACKING_ANY, buf, sizeof(buf)), 0);
    assert_string_equal(buf, SECRET);
}

/* A FIFO (which would block the open) or a device node is not a disk image. */
static void test_fifo_and_device(void **state)
{
    char buf[512];
    (void)state;
    make_raw(in_dir("fifo.raw"), "placeholder");
    make_overlay(in_dir("fifo.qcow2"), "fifo.raw");
    assert_int_equal(unlink(in_dir("fifo.raw")), 0);
    assert_int_equal(mkfifo(in_dir("fifo.raw"), 0600), 0);
    assert_int_equal(open_read(in_dir("fifo.qcow2"), BLK_BACKING_SAME_DIR, buf, sizeof(buf)),
                     -EPERM);
    make_raw(in_dir("dev.raw"), "placeholder");
    make_overlay(in_dir("dev.qcow2"), "dev.raw");
    assert_int_equal(unlink(in_dir("dev.raw")), 0);
    if (mknod(in_dir("dev.raw"), S_IFCHR | 0600, makedev(1, 5)) < 0) /* /dev/zero */
        return;                                                      /* not allowed here */
    assert_int_equal(open_read(in_dir("dev.qcow2"), BLK_BACKING_SAME_DIR, buf, sizeof(buf)),
                     -EPERM);
}

/* The policy holds at every level: a same-dir backing file that itself names "..". */
static void test_deeper_level(void **state)
{
    char buf[512];
    (void)state;
    make_overlay(in_dir("mid.qcow2"), "../secret.raw");
    assert_int_equal(qcow2_create(in_dir("top.qcow2"), 1 << 20, 0, "mid.qcow2", "qcow2", true,
                                  &(struct error){0}),
                     0);
    assert_int_equal(open_read(in_dir("top.qcow2"), BLK_BACKING_SAME_DIR, buf, sizeof(buf)),
                     -EPERM);
    assert_int_equal(open_read(in_dir("top.qcow2"), BLK_BACKING_ANY, buf, sizeof(buf)), 0);
    assert_string_equal(buf, SECRET);
}

static void test_parse(void **state)
{
    enum blk_backing p;
    (void)state;
    assert_int_equal(blk_backing_parse("none", &p), 0);
    assert_int_equal(p, BLK_BACKING_NONE);
    assert_int_equal(blk_backing_parse("same-dir", &p), 0);
    assert_int_equal(p, BLK_BACKING_SAME_DIR);
    assert_int_equal(blk_backing_parse("any", &p), 0);
    assert_string_equal(blk_backing_name(p), "any");
    assert_int_equal(blk_backing_parse("all", &p), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_absolute),        cmocka_unit_test(test_dotdot_and_subdir),
        cmocka_unit_test(test_same_dir),        cmocka_unit_test(test_symlink),
        cmocka_unit_test(test_fifo_and_device), cmocka_unit_test(test_deeper_level),
        cmocka_unit_test(test_parse),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

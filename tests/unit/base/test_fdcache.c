/* SPDX-License-Identifier: MIT */
/* Unit tests for base/fdcache.c: pass-through when disabled, reuse, sealing, flag keys,
 * seeded descriptors, descriptors adopted once sealed. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/fdcache.h"
#include "base/util.h"

static char dir[64];
static char path[96], moved[96], seeded[96];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/fdcache-XXXXXX");
    if (mkdtemp(dir) == NULL)
        return -1;
    snprintf(path, sizeof(path), "%s/file", dir);
    snprintf(moved, sizeof(moved), "%s/moved", dir);
    snprintf(seeded, sizeof(seeded), "%s/seeded", dir); /* never created */
    return write_file_atomic(path, "first", 5, 0600);
}

static int teardown(void **state)
{
    (void)state;
    unlink(path);
    unlink(moved);
    rmdir(dir);
    return 0;
}

static void same_file(int a, int b)
{
    struct stat sa, sb;
    assert_int_equal(fstat(a, &sa), 0);
    assert_int_equal(fstat(b, &sb), 0);
    assert_true(sa.st_ino == sb.st_ino && sa.st_dev == sb.st_dev);
}

/* A descriptor given for a path that does not exist answers the opens with its access mode. */
static void seed(int a)
{
    int s = open(path, O_RDONLY), d;
    unsigned n = fdcache_count();
    assert_true(s >= 3);
    assert_int_equal(fcntl(s, F_GETFD) & FD_CLOEXEC, 0);
    assert_int_equal(fdcache_seed(seeded, s), 0);
    assert_int_equal(fcntl(s, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
    assert_int_equal(fdcache_count(), n + 1);
    assert_int_equal(fdcache_seed(seeded, s), -EEXIST);
    assert_int_equal(fdcache_seed(moved, 1000), -EBADF);
    d = fdcache_open(seeded, O_RDONLY);
    assert_true(d >= 0 && d != s);
    same_file(a, d);
    close(d);
    /* another access mode or O_DIRECT is not the seeded descriptor: a real open, which fails */
    assert_int_equal(fdcache_open(seeded, O_RDWR), -ENOENT);
    assert_int_equal(fdcache_open(seeded, O_RDONLY | O_DIRECT), -ENOENT);
}

/* Runs in order: disabled, then enabled, then sealed (the cache is process-wide). */
static void test_lifecycle(void **state)
{
    char buf[8] = {0};
    int a, b, c;
    (void)state;
    a = fdcache_open(path, O_RDONLY); /* disabled: a plain open, nothing kept */
    assert_true(a >= 0);
    close(a);
    assert_int_equal(fdcache_count(), 0);

    fdcache_enable();
    a = fdcache_open(path, O_RDONLY);
    assert_true(a >= 0);
    assert_int_equal(fdcache_count(), 1);
    assert_int_equal(fcntl(a, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
    /* the path is replaced: a cached open still reaches the file first opened */
    assert_int_equal(rename(path, moved), 0);
    b = fdcache_open(path, O_RDONLY);
    assert_true(b >= 0);
    same_file(a, b);
    assert_int_equal(pread_full(b, buf, 5, 0), 0);
    assert_string_equal(buf, "first");
    assert_int_equal(rename(moved, path), 0);
    /* another access mode is another entry */
    c = fdcache_open(path, O_RDWR);
    assert_true(c >= 0);
    assert_int_equal(fdcache_count(), 2);
    close(c);
    assert_int_equal(fdcache_open(path, O_RDWR | O_CREAT), -EINVAL);
    seed(a);

    fdcache_seal();
    assert_int_equal(fdcache_seed(seeded, 0), -EACCES);
    c = fdcache_open(path, O_RDONLY); /* cached: still works */
    assert_true(c >= 0);
    same_file(a, c);
    assert_int_equal(fdcache_open(path, O_RDONLY | O_DIRECT), -EACCES);
    assert_int_equal(fdcache_open("/etc/hostname", O_RDONLY), -EACCES);
    close(c);
    /* a descriptor handed over once sealed (media change): taken, and replaced by the next */
    c = open(path, O_RDWR);
    assert_true(c >= 3);
    assert_int_equal(fdcache_adopt("/nowhere/medium", c), 0);
    assert_int_equal(fcntl(c, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
    int d = fdcache_open("/nowhere/medium", O_RDWR);
    assert_true(d >= 0);
    same_file(a, d);
    close(d);
    unsigned n = fdcache_count();
    assert_int_equal(fdcache_adopt("/nowhere/medium", open(path, O_RDWR)), 0);
    assert_int_equal(fdcache_count(), n);    /* replaced, not added */
    assert_int_equal(fcntl(c, F_GETFD), -1); /* the old one is closed */
    assert_int_equal(fdcache_open("/nowhere/medium", O_RDONLY), -EACCES); /* another mode */
    assert_int_equal(fdcache_adopt("/nowhere/medium", 1000), -EBADF);
    assert_int_equal(fdcache_forget("/nowhere/medium"), 1);
    assert_int_equal(fdcache_count(), n - 1);
    assert_int_equal(fdcache_open("/nowhere/medium", O_RDWR), -EACCES);
    assert_int_equal(fdcache_forget("/nowhere/medium"), 0);
    close(a);
    close(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_lifecycle, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

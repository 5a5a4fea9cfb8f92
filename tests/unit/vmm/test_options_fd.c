/* SPDX-License-Identifier: MIT */
/* Unit tests for vmm/options_fd.c: --fd N:PATH parsing, cross-checks, and taking descriptors
 * into the descriptor cache with their access mode checked. */
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
#include "vmm/options.h"
#include "parse_args.h"

static void expect_error(int ret, const struct error *err, const char *part)
{
    assert_int_equal(ret, -EINVAL);
    if (strstr(err->message, part) == NULL)
        fail_msg("'%s' lacks '%s'", err->message, part);
}

static void test_parse(void **state)
{
    struct vmm_options o;
    struct error err;
    (void)state;
    assert_int_equal(PARSE(o, err, "--kernel", "k", "--disk", "d", "--fd", "7:k", "--fd=9:d"), 0);
    assert_int_equal(o.nfds, 2);
    assert_int_equal(o.fds[0].fd, 7);
    assert_string_equal(o.fds[0].path, "k");
    assert_int_equal(o.fds[1].fd, 9);
    assert_string_equal(o.fds[1].path, "d");
    expect_error(PARSE(o, err, "--kernel", "k", "--fd", "k"), &err, "expected N:PATH");
    expect_error(PARSE(o, err, "--kernel", "k", "--fd", "3:"), &err, "expected N:PATH");
    expect_error(PARSE(o, err, "--kernel", "k", "--fd", ":k"), &err, "expected N:PATH");
    expect_error(PARSE(o, err, "--kernel", "k", "--fd", "x:k"), &err, "descriptor number");
    expect_error(PARSE(o, err, "--kernel", "k", "--fd", "-3:k"), &err, "descriptor number");
    expect_error(PARSE(o, err, "--kernel", "k", "--fd", "70000:k"), &err, "descriptor number");
    expect_error(PARSE(o, err, "--kernel", "k", "--fd", "2:k"), &err, "monitor's own");
    expect_error(PARSE(o, err, "--kernel", "k", "--fd", "5:k", "--fd", "5:k"), &err, "given twice");
    expect_error(PARSE(o, err, "--kernel", "k", "--fd", "5:other"), &err, "not a path of --kernel");
    expect_error(PARSE(o, err, "--kernel", "k", "--nic", "tap,fd=5", "--fd", "5:k"), &err,
                 "tap descriptor");
}

static char dir[64], disk[96], gone[96];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/optfd-XXXXXX");
    if (mkdtemp(dir) == NULL)
        return -1;
    snprintf(disk, sizeof(disk), "%s/disk", dir);
    snprintf(gone, sizeof(gone), "%s/gone", dir);
    return write_file_atomic(disk, "data", 4, 0600);
}

static int teardown(void **state)
{
    (void)state;
    unlink(disk);
    rmdir(dir);
    return 0;
}

/* Parses "--kernel K --disk SPEC --fd FD:gone" and takes the descriptors. */
static int take(const char *spec, int fd, struct error *err)
{
    struct vmm_options o;
    char arg[128];
    snprintf(arg, sizeof(arg), "%d:%s", fd, gone);
    assert_int_equal(PARSE(o, *err, "--kernel", disk, "--disk", spec, "--fd", arg), 0);
    return vmm_fds_take(&o, err);
}

static void test_take(void **state)
{
    struct error err;
    char ro[128], rw[128], direct[128];
    int rdonly = open(disk, O_RDONLY), rdwr = open(disk, O_RDWR), app = open(disk, O_WRONLY);
    int d;
    (void)state;
    snprintf(ro, sizeof(ro), "%s,readonly", gone);
    snprintf(rw, sizeof(rw), "%s,format=raw", gone);
    snprintf(direct, sizeof(direct), "%s,cache=none", gone);
    assert_true(rdonly >= 3 && rdwr >= 3 && app >= 3);
    expect_error(take(ro, 1000, &err), &err, "descriptor 1000 is not open");
    expect_error(take(ro, rdwr, &err), &err,
                 "opened read-write, but the monitor opens that "
                 "path read-only without O_DIRECT");
    expect_error(take(rw, rdonly, &err), &err,
                 "opened read-only, but the monitor opens that "
                 "path read-write without O_DIRECT");
    expect_error(take(direct, app, &err), &err, "opened write-only");
    close(app);
    app = open(disk, O_RDWR | O_APPEND);
    expect_error(take(rw, app, &err), &err, "O_APPEND");
    close(app);
    assert_int_equal(fdcache_count(), 0);

    /* a read-write descriptor for a writable disk whose path does not exist */
    assert_int_equal(take(direct, rdwr, &err), 0);
    assert_int_equal(fcntl(rdwr, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
    assert_int_equal(fdcache_count(), 1);
    fdcache_enable();
    d = fdcache_open(gone, O_RDWR);
    assert_true(d >= 0);
    assert_int_equal(pwrite(d, "DATA", 4, 0), 4);
    close(d);
    assert_int_equal(fdcache_open(gone, O_RDWR | O_DIRECT), -ENOENT); /* not passed */
    expect_error(take(direct, rdwr, &err), &err, "already has a descriptor");
    fdcache_seal(); /* rdonly was never taken; rdwr was used: no warning */
    close(rdonly);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test_setup_teardown(test_take, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

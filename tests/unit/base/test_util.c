/* SPDX-License-Identifier: MIT */
/* Unit tests for base/util.c: size parsing, integer parsing, atomic writes. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/ckd.h"
#include "base/util.h"

static void test_parse_size_units(void **state)
{
    uint64_t v;
    (void)state;
    assert_int_equal(parse_size("512M", 0, &v), 0);
    assert_int_equal(v, 512ULL << 20);
    assert_int_equal(parse_size("2G", 0, &v), 0);
    assert_int_equal(v, 2ULL << 30);
    assert_int_equal(parse_size("2GiB", 0, &v), 0);
    assert_int_equal(v, 2ULL << 30);
    assert_int_equal(parse_size("64k", 0, &v), 0);
    assert_int_equal(v, 64ULL << 10);
    assert_int_equal(parse_size("4096", 0, &v), 0);
    assert_int_equal(v, 4096);
    assert_int_equal(parse_size("128", 1ULL << 20, &v), 0);
    assert_int_equal(v, 128ULL << 20);
    assert_int_equal(parse_size("1T", 0, &v), 0);
    assert_int_equal(v, 1ULL << 40);
}

static void test_parse_size_bad(void **state)
{
    uint64_t v;
    (void)state;
    assert_int_equal(parse_size("", 0, &v), -EINVAL);
    assert_int_equal(parse_size("M", 0, &v), -EINVAL);
    assert_int_equal(parse_size("-1G", 0, &v), -EINVAL);
    assert_int_equal(parse_size("12X", 0, &v), -EINVAL);
    assert_int_equal(parse_size("12MM", 0, &v), -EINVAL);
    assert_int_equal(parse_size("1 G", 0, &v), -EINVAL);
    assert_int_equal(parse_size("99999999999T", 0, &v), -ERANGE);
    assert_int_equal(parse_size("999999999999999999999999", 0, &v), -ERANGE);
    assert_int_equal(parse_size(NULL, 0, &v), -EINVAL);
}

static void test_parse_u64(void **state)
{
    uint64_t v;
    (void)state;
    assert_int_equal(parse_u64("18446744073709551615", &v), 0);
    assert_true(v == UINT64_MAX);
    assert_int_equal(parse_u64("18446744073709551616", &v), -ERANGE);
    assert_int_equal(parse_u64("+1", &v), -EINVAL);
    assert_int_equal(parse_u64("1a", &v), -EINVAL);
}

static void test_range_outside(void **state)
{
    (void)state;
    assert_false(range_outside(0, 10, 10));
    assert_true(range_outside(1, 10, 10));
    assert_true(range_outside(UINT64_MAX, 2, UINT64_MAX));
    assert_false(range_outside(10, 0, 10));
}

static void test_write_file_atomic(void **state)
{
    char dir[] = "/tmp/bareiron-test-XXXXXX";
    char path[256];
    char *buf;
    size_t len;
    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/f.json", dir);
    assert_int_equal(write_file_atomic(path, "one", 3, 0600), 0);
    assert_int_equal(write_file_atomic(path, "second", 6, 0600), 0);
    assert_int_equal(read_file_all(path, 1024, &buf, &len), 0);
    assert_int_equal(len, 6);
    assert_string_equal(buf, "second");
    free(buf);
    assert_int_equal(read_file_all(path, 3, &buf, &len), -EFBIG);
    assert_int_equal(read_file_all(dir, 3, &buf, &len), -EISDIR);
    /* A directory that does not exist: nothing is left behind, the error is returned. */
    snprintf(path, sizeof(path), "%s/missing/f.json", dir);
    assert_int_equal(write_file_atomic(path, "x", 1, 0600), -ENOENT);
    snprintf(path, sizeof(path), "%s/f.json", dir);
    unlink(path);
    rmdir(dir);
}

/* send_full delivers everything, and a closed peer is -EPIPE rather than a SIGPIPE. */
static void test_send_full(void **state)
{
    static char big[256 * 1024];
    char *got = malloc(sizeof(big));
    size_t have = 0;
    int sv[2], wstatus;
    pid_t pid;
    (void)state;
    assert_non_null(got);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (char)(i * 7);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(sv[1]);
        _exit(send_full(sv[0], big, sizeof(big)) == 0 ? 0 : 1);
    }
    close(sv[0]);
    while (have < sizeof(big)) {
        ssize_t n = read(sv[1], got + have, sizeof(big) - have);
        assert_true(n > 0);
        have += (size_t)n;
    }
    assert_memory_equal(got, big, sizeof(big));
    assert_int_equal(waitpid(pid, &wstatus, 0), pid);
    assert_true(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0);
    close(sv[1]);
    free(got);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    close(sv[1]);
    assert_int_equal(send_full(sv[0], "x", 1), -EPIPE);
    close(sv[0]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_size_units),  cmocka_unit_test(test_parse_size_bad),
        cmocka_unit_test(test_parse_u64),         cmocka_unit_test(test_range_outside),
        cmocka_unit_test(test_write_file_atomic), cmocka_unit_test(test_send_full),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

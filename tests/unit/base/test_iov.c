/* SPDX-License-Identifier: MIT */
/* Unit tests for base/iov.c: the iterator (pieces, copies, slices, truncation, zero-length
 * entries) and the byte-offset helpers the block formats use. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/iov.h"

static void test_offset_helpers(void **state)
{
    char a[4] = "abcd", b[6] = "efghij", out[10];
    struct iovec iov[2] = {{a, 4}, {b, 6}}, sl[2];
    (void)state;

    int n = iov_slice(sl, 2, iov, 2, 3, 4);
    assert_int_equal(n, 2);
    assert_ptr_equal(sl[0].iov_base, a + 3);
    assert_int_equal(sl[0].iov_len, 1);
    assert_int_equal(sl[1].iov_len, 3);
    assert_int_equal(iov_slice(sl, 1, iov, 2, 3, 4), 1); /* stops at (max) entries */
    iov_to_buf(iov, 2, 2, out, 5);
    assert_memory_equal(out, "cdefg", 5);
    iov_from_buf(iov, 2, 3, "XYZ", 3);
    assert_memory_equal(a, "abcX", 4);
    assert_memory_equal(b, "YZ", 2);
    iov_memset(iov, 2, 5, '-', 2);
    assert_memory_equal(b, "Y--h", 4);
    iov_memset(iov, 2, 9, '+', 100); /* stops at the end of the list */
    assert_int_equal(b[5], '+');
    assert_int_equal(iov_size(iov, 2), 10);
}

static void test_iter_pieces(void **state)
{
    char a[3] = "abc", b[4] = "defg";
    struct iovec iov[4] = {{a, 3}, {NULL, 0}, {b, 4}, {NULL, 0}}, p;
    struct iov_iter it;
    char out[8];
    (void)state;

    iov_iter_init(&it, iov, 4);
    assert_int_equal(iov_iter_left(&it), 7);
    assert_true(iov_iter_peek(&it, 2, &p));
    assert_ptr_equal(p.iov_base, a);
    assert_int_equal(p.iov_len, 2);
    assert_int_equal(iov_iter_advance(&it, 3), 3);
    assert_true(iov_iter_peek(&it, 100, &p)); /* the empty entry is stepped over */
    assert_ptr_equal(p.iov_base, b);
    assert_int_equal(p.iov_len, 4);
    assert_int_equal(iov_iter_to_buf(&it, out, 8), 4); /* only what is left */
    assert_memory_equal(out, "defg", 4);
    assert_false(iov_iter_peek(&it, 1, &p));
    assert_int_equal(iov_iter_advance(&it, 1), 0);
    assert_int_equal(it.done, 7);
}

static void test_iter_copy_across(void **state)
{
    char a[3] = {0}, b[5] = {0};
    struct iovec iov[2] = {{a, 3}, {b, 5}};
    struct iov_iter it;
    (void)state;

    iov_iter_init(&it, iov, 2);
    iov_iter_truncate(&it, 1); /* the last byte stays out of reach */
    assert_int_equal(iov_iter_from_buf(&it, "0123456789", 10), 7);
    assert_memory_equal(a, "012", 3);
    assert_memory_equal(b, "3456", 4);
    assert_int_equal(b[4], 0);
    iov_iter_truncate(&it, 5);
    assert_int_equal(iov_iter_left(&it), 0);
}

static void test_iter_slice(void **state)
{
    char a[3], b[5];
    struct iovec iov[2] = {{a, 3}, {b, 5}}, dst[2];
    struct iov_iter it;
    (void)state;

    iov_iter_init(&it, iov, 2);
    assert_int_equal(iov_iter_advance(&it, 1), 1);
    assert_int_equal(iov_iter_slice(&it, 8, dst, 2), -EINVAL); /* only 7 left */
    assert_int_equal(iov_iter_slice(&it, 4, dst, 1), -EINVAL); /* needs two entries */
    assert_int_equal(iov_iter_left(&it), 7);                   /* unchanged */
    assert_int_equal(iov_iter_slice(&it, 4, dst, 2), 2);
    assert_ptr_equal(dst[0].iov_base, a + 1);
    assert_int_equal(dst[0].iov_len, 2);
    assert_ptr_equal(dst[1].iov_base, b);
    assert_int_equal(dst[1].iov_len, 2);
    assert_int_equal(iov_iter_slice(&it, 0, dst, 0), 0);
    assert_int_equal(iov_iter_slice(&it, 3, dst, 1), 1);
    assert_ptr_equal(dst[0].iov_base, b + 2);
    assert_int_equal(iov_iter_left(&it), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_offset_helpers),
        cmocka_unit_test(test_iter_pieces),
        cmocka_unit_test(test_iter_copy_across),
        cmocka_unit_test(test_iter_slice),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

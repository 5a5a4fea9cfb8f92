/* SPDX-License-Identifier: MIT */
/* Unit tests for base/exit_status.c: the errno <-> exit status table and usage errors. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "base/error.h"
#include "base/exit_status.h"

static void test_for_errno(void **state)
{
    (void)state;
    assert_int_equal(exit_status_for_errno(0), EXIT_STATUS_OK);
    assert_int_equal(exit_status_for_errno(-ENOENT), EXIT_STATUS_NOTFOUND);
    assert_int_equal(exit_status_for_errno(-EBUSY), EXIT_STATUS_STATE);
    assert_int_equal(exit_status_for_errno(-ENODEV), EXIT_STATUS_KVM);
    assert_int_equal(exit_status_for_errno(-EINVAL), EXIT_STATUS_INVALID);
    assert_int_equal(exit_status_for_errno(-ETIMEDOUT), EXIT_STATUS_TIMEOUT);
    assert_int_equal(exit_status_for_errno(-EIO), EXIT_STATUS_FAIL);
}

static void test_to_errno_round_trip(void **state)
{
    static const int statuses[] = {EXIT_STATUS_NOTFOUND, EXIT_STATUS_STATE,   EXIT_STATUS_KVM,
                                   EXIT_STATUS_INVALID,  EXIT_STATUS_TIMEOUT, EXIT_STATUS_FAIL};
    (void)state;
    for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++)
        assert_int_equal(exit_status_for_errno(exit_status_to_errno(statuses[i])), statuses[i]);
    assert_int_equal(exit_status_to_errno(EXIT_STATUS_USAGE), -EINVAL);
}

static void test_for_error(void **state)
{
    struct error err = {0};
    (void)state;
    assert_int_equal(exit_status_for_error(&err), EXIT_STATUS_OK);
    assert_int_equal(error_set(&err, -EINVAL, "bad image"), -EINVAL);
    assert_int_equal(exit_status_for_error(&err), EXIT_STATUS_INVALID);
    /* The first error stays: a usage error set later does not replace it. */
    assert_int_equal(error_usage(&err, "bad option"), -EINVAL);
    assert_string_equal(err.message, "bad image");
    assert_int_equal(exit_status_for_error(&err), EXIT_STATUS_INVALID);
    error_clear(&err);
    assert_int_equal(error_usage(&err, "unknown option --%s", "x"), -EINVAL);
    assert_string_equal(err.message, "unknown option --x");
    assert_int_equal(exit_status_for_error(&err), EXIT_STATUS_USAGE);
    error_clear(&err);
    assert_false(err.is_usage);
    assert_int_equal(exit_status_for_error(&err), EXIT_STATUS_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_for_errno),
        cmocka_unit_test(test_to_errno_round_trip),
        cmocka_unit_test(test_for_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

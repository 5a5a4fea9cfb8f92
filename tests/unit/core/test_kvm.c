/* SPDX-License-Identifier: MIT */
/* Unit tests for core/kvm.c that need no KVM: the capability table and the one-line errors of
 * kvm_open on a missing device and on a file that is not /dev/kvm. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/kvm.h"

static void test_required_caps(void **state)
{
    size_t n;
    const struct kvm_cap_req *caps = kvm_required_caps(&n);
    static const char *const want[] = {
        "KVM_CAP_IRQCHIP",      "KVM_CAP_PIT2",        "KVM_CAP_IOEVENTFD",
        "KVM_CAP_IRQFD",        "KVM_CAP_USER_MEMORY", "KVM_CAP_SET_TSS_ADDR",
        "KVM_CAP_EXT_CPUID",    "KVM_CAP_VCPU_EVENTS", "KVM_CAP_IMMEDIATE_EXIT",
        "KVM_CAP_READONLY_MEM",
    };
    (void)state;
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        bool found = false;
        for (size_t j = 0; j < n; j++)
            found |= strcmp(caps[j].name, want[i]) == 0;
        assert_true(found);
    }
}

static void test_open_errors(void **state)
{
    struct kvm *kvm = NULL;
    struct error err = {0};
    (void)state;
    assert_int_equal(kvm_open("/nonexistent/kvm", &kvm, &err), -ENODEV);
    assert_null(kvm);
    assert_non_null(strstr(err.message, "/nonexistent/kvm"));
    assert_non_null(strstr(err.message, "not available"));
    assert_null(strchr(err.message, '\n'));
    error_clear(&err);
    assert_int_equal(kvm_open("/dev/null", &kvm, &err), -ENODEV);
    assert_non_null(strstr(err.message, "API version"));
    kvm_close(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_required_caps),
        cmocka_unit_test(test_open_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

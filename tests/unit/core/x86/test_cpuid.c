/* SPDX-License-Identifier: MIT */
/* Unit tests for core/x86/cpuid.c: model parsing, baseline masking, per-vCPU fix-ups. */
#include <errno.h>
#include <linux/kvm.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/x86/cpuid.h"

static size_t fake_host(struct kvm_cpuid_entry2 *e)
{
    size_t n = 0;
    memset(e, 0, 8 * sizeof(*e));
    e[n++] = (struct kvm_cpuid_entry2){.function = 0, .eax = 0x1f};
    e[n++] = (struct kvm_cpuid_entry2){
        .function = 1, .eax = 0x806ec, .ebx = 0xff0800, .ecx = 0xffffffff, .edx = 0xffffffff};
    e[n++] = (struct kvm_cpuid_entry2){.function = 7,
                                       .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX,
                                       .eax = 2,
                                       .ebx = 0xffffffff,
                                       .ecx = 0xffffffff,
                                       .edx = 0xffffffff};
    e[n++] = (struct kvm_cpuid_entry2){
        .function = 0xb, .index = 1, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX, .ebx = 99};
    e[n++] = (struct kvm_cpuid_entry2){
        .function = 0xb, .index = 0, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX, .ebx = 99};
    e[n++] = (struct kvm_cpuid_entry2){.function = 0x40000000};
    e[n++] =
        (struct kvm_cpuid_entry2){.function = 0x80000001, .ecx = 0xffffffff, .edx = 0xffffffff};
    return n;
}

static void test_parse(void **state)
{
    enum cpu_model m;
    (void)state;
    assert_int_equal(cpuid_parse_model("host", &m), 0);
    assert_int_equal(m, CPU_MODEL_HOST);
    assert_int_equal(cpuid_parse_model("baseline", &m), 0);
    assert_int_equal(m, CPU_MODEL_BASELINE);
    assert_string_equal(cpuid_model_name(m), "baseline");
    assert_int_equal(cpuid_parse_model("Host", &m), -EINVAL);
    assert_int_equal(cpuid_parse_model("", &m), -EINVAL);
}

static void test_host_keeps_everything(void **state)
{
    struct kvm_cpuid_entry2 e[8], orig[8];
    size_t n = fake_host(e);
    (void)state;
    memcpy(orig, e, sizeof(e));
    cpuid_apply_model(e, n, CPU_MODEL_HOST);
    assert_memory_equal(e, orig, sizeof(e));
}

static void test_baseline_masks(void **state)
{
    struct kvm_cpuid_entry2 e[8];
    size_t n = fake_host(e);
    struct kvm_cpuid_entry2 *c;
    (void)state;
    cpuid_apply_model(e, n, CPU_MODEL_BASELINE);
    c = cpuid_find(e, n, 1, 0);
    assert_non_null(c);
    assert_true(c->ecx & (1U << 20));  /* SSE4.2 kept */
    assert_true(c->ecx & (1U << 23));  /* POPCNT kept */
    assert_true(c->ecx & (1U << 13));  /* CX16 kept */
    assert_false(c->ecx & (1U << 28)); /* AVX gone */
    assert_false(c->ecx & (1U << 26)); /* XSAVE gone */
    assert_false(c->ecx & (1U << 5));  /* VMX gone */
    assert_true(c->edx & (1U << 26));  /* SSE2 kept */
    c = cpuid_find(e, n, 7, 0);
    assert_non_null(c);
    assert_int_equal(c->ebx, 0);
    assert_int_equal(c->eax, 0);
    c = cpuid_find(e, n, 0x80000001, 0);
    assert_true(c->edx & (1U << 29));  /* LM */
    assert_false(c->edx & (1U << 26)); /* 1 GiB pages gone */
    assert_true(c->ecx == 1);          /* LAHF only */
}

static void test_fixup(void **state)
{
    struct kvm_cpuid_entry2 e[8];
    size_t n = fake_host(e);
    struct kvm_cpuid_entry2 *c;
    (void)state;
    cpuid_fixup_vcpu(e, n, 3, 4);
    c = cpuid_find(e, n, 1, 0);
    assert_int_equal(c->ebx >> 24, 3);
    assert_int_equal((c->ebx >> 16) & 0xff, 4);
    assert_int_equal(c->ebx & 0xffff, 0x0800);
    assert_true(c->ecx & (1U << 31));
    c = cpuid_find(e, n, 0xb, 0);
    assert_int_equal(c->edx, 3);
    assert_int_equal(c->ebx, 1);
    c = cpuid_find(e, n, 0xb, 1);
    assert_int_equal(c->edx, 3);
    assert_int_equal(c->ebx, 4);
    assert_int_equal(c->eax, 2);
    c = cpuid_find(e, n, 0x40000000, 0);
    assert_memory_equal(&c->ebx, "KVMK", 4);
    assert_memory_equal(&c->ecx, "VMKV", 4);
    assert_memory_equal(&c->edx, "M\0\0\0", 4);
    assert_true(c->eax >= 0x40000001);
    assert_null(cpuid_find(e, n, 0x12345, 0));
}

/* What KVM >= 6.2 returns: 0xB and 0x1F as subleaf 0 only, all zero. */
static void test_topology_modern_kvm(void **state)
{
    struct kvm_cpuid_entry2 e[8] = {
        {.function = 0, .eax = 0x1f},
        {.function = 0xb, .index = 0, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX},
        {.function = 0x1f, .index = 0, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX},
        {.function = 1},
    };
    struct kvm_cpuid_entry2 *c;
    size_t n;
    (void)state;
    n = cpuid_rebuild_topology(e, 4);
    assert_int_equal(n, 5);
    assert_null(cpuid_find(e, n, 0x1f, 0));
    cpuid_fixup_vcpu(e, n, 2, 4);
    c = cpuid_find(e, n, 0xb, 0);
    assert_true(c->ebx == 1 && c->ecx == 0x100 && c->edx == 2 && c->eax == 0);
    c = cpuid_find(e, n, 0xb, 1);
    assert_true(c->ebx == 4 && c->ecx == 0x201 && c->edx == 2 && c->eax == 2);
    c = cpuid_find(e, n, 0xb, 2);
    assert_true(c->ebx == 0 && (c->ecx & 0xff00) == 0 && c->edx == 2);
    /* a CPU whose leaf 0 stops below 0xB gets no topology leaf */
    e[0].eax = 0xa;
    n = cpuid_rebuild_topology(e, n);
    assert_null(cpuid_find(e, n, 0xb, 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_host_keeps_everything),
        cmocka_unit_test(test_baseline_masks),
        cmocka_unit_test(test_fixup),
        cmocka_unit_test(test_topology_modern_kvm),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

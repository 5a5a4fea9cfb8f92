/* SPDX-License-Identifier: MIT */
/* Unit tests for core/x86/cpuid_state.c: the CPUID table of a saved state round-trips through
 * its section encoding; crafted sections (truncated, trailing bytes, a huge count) are
 * refused; a guest table with a feature the host table lacks is refused naming it (a named
 * bit, an unnamed one, an XSAVE state component, a whole leaf the host does not have), and a
 * host with more features than the guest saw is accepted; the table each vCPU gets at a
 * restore is the saved one (not the host's), with only the per-vCPU fix-ups applied. */
#include <errno.h>
#include <linux/kvm.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/statefile.h"
#include "core/x86/cpuid.h"
#include "core/x86/cpuid_state.h"

#define SIG KVM_CPUID_FLAG_SIGNIFCANT_INDEX

/* A small host: leaf 1 (SSE4.2, AVX, XSAVE), leaf 7.0 (AVX2), 0xD.0 (x87, SSE, AVX). */
static void host_table(struct kvm_cpuid_entry2 e[4])
{
    memset(e, 0, 4 * sizeof(e[0]));
    e[0] = (struct kvm_cpuid_entry2){
        .function = 1, .ecx = (1u << 20) | (1u << 26) | (1u << 28), .edx = 1u << 25};
    e[1] = (struct kvm_cpuid_entry2){.function = 7, .index = 0, .flags = SIG, .ebx = 1u << 5};
    e[2] = (struct kvm_cpuid_entry2){.function = 0xd, .index = 0, .flags = SIG, .eax = 7};
    e[3] = (struct kvm_cpuid_entry2){.function = 0xd, .index = 1, .flags = SIG, .eax = 1};
}

static void test_round_trip(void **state)
{
    struct kvm_cpuid_entry2 e[4], *got = NULL;
    struct sf_buf b = {0};
    struct sf_in in;
    size_t n = 0;
    (void)state;
    host_table(e);
    cpuid_state_put(&b, e, 4);
    assert_false(b.failed);
    assert_int_equal(b.len, 4 + 4 * 28);
    sf_in_init(&in, b.data, b.len);
    assert_int_equal(cpuid_state_get(&in, &got, &n), 0);
    assert_int_equal(n, 4);
    assert_memory_equal(got, e, sizeof(e));
    free(got);
    sf_buf_free(&b);
}

static void test_crafted_sections(void **state)
{
    struct kvm_cpuid_entry2 e[4], *got = NULL;
    struct sf_buf b = {0};
    struct sf_in in;
    uint8_t huge[4] = {0x01, 0x01, 0, 0}; /* 257 entries */
    size_t n = 0;
    (void)state;
    host_table(e);
    cpuid_state_put(&b, e, 4);
    sf_in_init(&in, b.data, b.len - 1); /* truncated */
    assert_int_equal(cpuid_state_get(&in, &got, &n), -EINVAL);
    sf_put_u8(&b, 0); /* trailing byte */
    sf_in_init(&in, b.data, b.len);
    assert_int_equal(cpuid_state_get(&in, &got, &n), -EINVAL);
    sf_in_init(&in, huge, sizeof(huge));
    assert_int_equal(cpuid_state_get(&in, &got, &n), -EINVAL);
    sf_in_init(&in, huge, 2); /* not even a count */
    assert_int_equal(cpuid_state_get(&in, &got, &n), -EINVAL);
    assert_null(got);
    sf_buf_free(&b);
}

/* Checks that (guest) is refused against the host table with (msg) in the error. */
static void expect_refused(const struct kvm_cpuid_entry2 *guest, size_t n, const char *msg)
{
    struct kvm_cpuid_entry2 host[4];
    struct error err = {0};
    host_table(host);
    assert_int_equal(cpuid_state_check(guest, n, host, 4, &err), -EINVAL);
    if (strstr(err.message, msg) == NULL)
        fail_msg("'%s' not in '%s'", msg, err.message);
}

static void test_check(void **state)
{
    struct kvm_cpuid_entry2 host[4], guest[5];
    struct error err = {0};
    (void)state;
    host_table(host);
    memcpy(guest, host, sizeof(host));
    assert_int_equal(cpuid_state_check(guest, 4, host, 4, &err), 0);
    guest[0].ecx &= ~(1u << 28); /* the guest saw less than the host has: fine */
    guest[1].ebx = 0;
    assert_int_equal(cpuid_state_check(guest, 4, host, 4, &err), 0);
    assert_int_equal(cpuid_state_check(guest, 0, host, 4, &err), 0);

    memcpy(guest, host, sizeof(host));
    guest[1].ebx |= 1u << 16;
    expect_refused(guest, 4, "CPU feature avx512f (CPUID leaf 0x7 subleaf 0 EBX bit 16)");
    memcpy(guest, host, sizeof(host));
    guest[0].ecx |= 1u << 2; /* DTES64, not named */
    expect_refused(guest, 4, "(unnamed) (CPUID leaf 0x1 subleaf 0 ECX bit 2)");
    memcpy(guest, host, sizeof(host));
    guest[2].eax |= 0xe0; /* AVX-512 state components */
    expect_refused(guest, 4, "xsave state avx-512 opmask");
    memcpy(guest, host, sizeof(host));
    guest[4] = (struct kvm_cpuid_entry2){.function = 0x80000001, .edx = 1u << 27};
    expect_refused(guest, 5, "rdtscp");
    memcpy(guest, host, sizeof(host));
    guest[3].index = 2; /* leaf 0xD.1 missing from the guest: a subleaf is matched by index */
    assert_int_equal(cpuid_state_check(guest, 4, host, 4, &err), 0);
}

/* A guest saved on a host without AVX2 (leaf 7 EBX 0) and XSAVE components x87|SSE, restored
 * where the host has more: each vCPU gets the saved table, entry by entry, with its own APIC
 * ID, and the saved table itself is left as it was. */
/* A restored table is this host's, with the feature registers narrowed to the guest's bits:
 * a bit or a leaf only the file has never reaches KVM. */
static void test_merge(void **state)
{
    struct kvm_cpuid_entry2 host[4], saved[3];
    (void)state;
    host_table(host);
    host[0].eax = 0x806f8; /* not a feature register: stays the host's */
    memset(saved, 0, sizeof(saved));
    saved[0] = (struct kvm_cpuid_entry2){.function = 1, .eax = 0x123, .ecx = 1u << 20};
    saved[1] = (struct kvm_cpuid_entry2){.function = 7,
                                         .index = 0,
                                         .flags = SIG,
                                         .ebx = (1u << 5) | (1u << 16)}; /* avx512f: not here */
    saved[2] = (struct kvm_cpuid_entry2){.function = 0x40000001, .eax = ~0u}; /* not in host */
    cpuid_state_merge(saved, 3, host, 4);
    assert_int_equal(host[0].eax, 0x806f8);
    assert_int_equal(host[0].ecx, 1u << 20); /* AVX and XSAVE dropped: the guest did not see them */
    assert_int_equal(host[0].edx, 0);
    assert_int_equal(host[1].ebx, 1u << 5);
    assert_int_equal(host[2].eax, 0); /* 0xD.0 EAX absent from the file: nothing the guest saw */
}

static void test_vcpu_table_from_saved(void **state)
{
    struct kvm_cpuid_entry2 host[4], saved[5], *got = NULL;
    struct sf_buf b = {0};
    struct error err = {0};
    struct sf_in in;
    size_t n = 0;
    (void)state;
    host_table(host);
    host_table(saved);
    saved[1].ebx = 0; /* no AVX2 */
    saved[2].eax = 3; /* x87 | SSE */
    saved[0].ebx = 0x0800;
    saved[4] = (struct kvm_cpuid_entry2){.function = 0x80000008, .eax = 0x3027};
    cpuid_state_put(&b, saved, 5);
    sf_in_init(&in, b.data, b.len);
    assert_int_equal(cpuid_state_get(&in, &got, &n), 0);
    assert_int_equal(cpuid_state_check(got, n, host, 4, &err), 0);
    for (unsigned i = 0; i < 2; i++) {
        struct kvm_cpuid2 *c = cpuid_vcpu_table(got, n, i, 2);
        assert_non_null(c);
        assert_int_equal(c->nent, 5);
        assert_int_equal(c->entries[1].ebx, 0); /* the guest never saw AVX2: still not */
        assert_int_equal(c->entries[2].eax, 3);
        assert_memory_equal(&c->entries[3], &saved[3], sizeof(saved[3]));
        assert_memory_equal(&c->entries[4], &saved[4], sizeof(saved[4])); /* not the host's */
        assert_int_equal(c->entries[0].ebx >> 24, i); /* fixed up: this vCPU's APIC ID */
        assert_int_equal(c->entries[0].ebx & 0xffff, 0x0800);
        assert_int_equal(c->entries[0].ecx & ~(1u << 31), saved[0].ecx);
        free(c);
    }
    assert_memory_equal(got, saved, sizeof(saved)); /* the source is not touched */
    free(got);
    sf_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_crafted_sections),
        cmocka_unit_test(test_check),
        cmocka_unit_test(test_merge),
        cmocka_unit_test(test_vcpu_table_from_saved),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

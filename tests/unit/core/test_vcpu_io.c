/* SPDX-License-Identifier: MIT */
/*
 * The PIO/MMIO exit data helpers of core/vcpu.h, without KVM: a write hands the io handler the
 * value zero-extended from its size (a 1-byte write of 7 is 7, not 0x...ff07), and a read
 * answer stores only (size) bytes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/vcpu.h"

static void test_load_zero_extends(void **state)
{
    uint8_t data[8];
    (void)state;
    memset(data, 0xff, sizeof(data));
    data[0] = 7;
    assert_int_equal(vcpu_io_load(data, 1), 7);
    data[1] = 0x12;
    assert_int_equal(vcpu_io_load(data, 2), 0x1207);
    memcpy(data, (const uint8_t[]){0x78, 0x56, 0x34, 0x12}, 4);
    assert_int_equal(vcpu_io_load(data, 4), 0x12345678);
    assert_int_equal(vcpu_io_load(data, 8), 0xffffffff12345678ULL);
}

static void test_load_clamps_size(void **state)
{
    uint8_t data[16];
    (void)state;
    memset(data, 0x11, sizeof(data));
    assert_int_equal(vcpu_io_load(data, 9), 0x1111111111111111ULL);
    assert_int_equal(vcpu_io_load(data, 0), 0);
}

static void test_store_writes_size_bytes(void **state)
{
    uint8_t data[9];
    (void)state;
    memset(data, 0xee, sizeof(data));
    vcpu_io_store(data, 1, 0x5a);
    assert_int_equal(data[0], 0x5a);
    assert_int_equal(data[1], 0xee);
    vcpu_io_store(data, 2, 0xabcd);
    assert_int_equal(data[0], 0xcd);
    assert_int_equal(data[1], 0xab);
    assert_int_equal(data[2], 0xee);
    vcpu_io_store(data, 4, 0xcafebabe);
    assert_int_equal(vcpu_io_load(data, 4), 0xcafebabe);
    assert_int_equal(data[4], 0xee);
    vcpu_io_store(data, 8, 0x0102030405060708ULL);
    assert_int_equal(vcpu_io_load(data, 8), 0x0102030405060708ULL);
    assert_int_equal(data[8], 0xee);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load_zero_extends),
        cmocka_unit_test(test_load_clamps_size),
        cmocka_unit_test(test_store_writes_size_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

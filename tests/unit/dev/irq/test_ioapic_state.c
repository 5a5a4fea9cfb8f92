/* SPDX-License-Identifier: MIT */
/*
 * Saved-state round trip of the userspace IOAPIC (ioapic_save/ioapic_load, docs/vmm.md "Saved
 * state"): save, load into a fresh IOAPIC, save again: equal bytes; an ID outside bits 27:24 is
 * refused with -EINVAL.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/x86/layout.h"
#include "dev/bus.h"
#include "dev/irq/ioapic.h"
#include "fake_platform.h"

/* Expects (b1) and (b2) to hold the same bytes; frees both. */
static void expect_same(struct sf_buf *b1, struct sf_buf *b2)
{
    assert_false(b1->failed || b2->failed);
    assert_int_equal(b1->len, b2->len);
    assert_memory_equal(b1->data, b2->data, b1->len);
    sf_buf_free(b1);
    sf_buf_free(b2);
}

static void test_ioapic(void **state)
{
    struct fake_platform fp;
    struct ioapic *a, *b;
    struct sf_buf s1 = {0}, s2 = {0};
    struct sf_in in;
    (void)state;
    fake_platform_init(&fp);
    assert_int_equal(ioapic_create(&fp.plat, 1, &a), 0);
    assert_int_equal(ioapic_create(&fp.plat, 1, &b), 0);
    /* pin 4: vector 0x31, level, unmasked (IOREGSEL 0x18, IOWIN) */
    struct bus *mmio;
    assert_int_equal(bus_create("mmio", &mmio), 0);
    assert_int_equal(ioapic_attach(a, mmio, IOAPIC_GPA), 0);
    bus_write(mmio, IOAPIC_GPA, 4, 0x18);
    bus_write(mmio, IOAPIC_GPA + 0x10, 4, 0x8031);
    ioapic_set_irq(a, 9, true);
    ioapic_save(a, &s1);
    sf_in_init(&in, s1.data, s1.len);
    assert_int_equal(ioapic_load(b, &in), 0);
    ioapic_save(b, &s2);
    expect_same(&s1, &s2);
    ioapic_save(a, &s1);
    s1.data[3] = 0xff; /* ID bits outside 27:24 */
    sf_in_init(&in, s1.data, s1.len);
    assert_int_equal(ioapic_load(b, &in), -EINVAL);
    sf_buf_free(&s1);
    bus_destroy(mmio);
    ioapic_destroy(a);
    ioapic_destroy(b);
    fake_platform_fini(&fp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ioapic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

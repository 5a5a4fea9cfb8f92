/* SPDX-License-Identifier: MIT */
/*
 * Saved-state round trips of the legacy devices (dev/legacy/legacy_state.h, port92.h; docs/vmm.md
 * "Saved state"): each device is driven into a non-default state, saved, loaded into a fresh
 * device and saved again, and the two sections must be equal byte for byte. COM1 keeps the
 * bytes in its receive FIFO (the guest reads them from the fresh device); a short, long or
 * out-of-range section is refused with -EINVAL.
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
#include "dev/legacy/legacy_state.h"
#include "dev/legacy/port92.h"
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

static uint64_t fixed_clock(void *opaque)
{
    (void)opaque;
    return 1700000000ULL * 1000000000ULL;
}

static void test_uart_fifo(void **state)
{
    struct fake_platform fp;
    struct uart8250 *a, *b;
    struct sf_buf s1 = {0}, s2 = {0};
    struct sf_in in;
    (void)state;
    fake_platform_init(&fp);
    assert_int_equal(uart8250_create(&fp.plat, GSI_COM1, &a), 0);
    assert_int_equal(uart8250_create(&fp.plat, GSI_COM1, &b), 0);
    uart8250_io_ops.write(a, 2, 0x07, 1); /* FCR: FIFO on */
    uart8250_io_ops.write(a, 1, 0x01, 1); /* IER: receive interrupt */
    uart8250_io_ops.write(a, 7, 0x5a, 1); /* SCR */
    assert_int_equal(uart8250_receive(a, (const uint8_t *)"hello", 5), 5);
    assert_int_equal(uart8250_io_ops.read(a, 0, 1), 'h'); /* the FIFO head moves */
    uart8250_save_state(a, &s1);
    sf_in_init(&in, s1.data, s1.len);
    assert_int_equal(uart8250_load_state(b, &in), 0);
    uart8250_save_state(b, &s2);
    expect_same(&s1, &s2);
    for (const char *p = "ello"; *p; p++)
        assert_int_equal(uart8250_io_ops.read(b, 0, 1), *p);
    assert_int_equal(uart8250_io_ops.read(b, 5, 1) & 1, 0); /* LSR.DR: empty now */
    assert_int_equal(uart8250_io_ops.read(b, 7, 1), 0x5a);
    /* hostile: a FIFO count above its size, a short section */
    uart8250_save_state(a, &s1);
    s1.data[s1.len - 1] = 200;
    sf_in_init(&in, s1.data, s1.len);
    assert_int_equal(uart8250_load_state(b, &in), -EINVAL);
    sf_in_init(&in, s1.data, s1.len - 2);
    assert_int_equal(uart8250_load_state(b, &in), -EINVAL);
    sf_buf_free(&s1);
    uart8250_destroy(a);
    uart8250_destroy(b);
    fake_platform_fini(&fp);
}

static void test_i8042(void **state)
{
    struct fake_platform fp;
    struct i8042 *a, *b;
    struct sf_buf s1 = {0}, s2 = {0};
    struct sf_in in;
    (void)state;
    fake_platform_init(&fp);
    assert_int_equal(i8042_create(&fp.plat, &a), 0);
    assert_int_equal(i8042_create(&fp.plat, &b), 0);
    assert_int_equal(i8042_queue_kbd(a, (const uint8_t *)"\x1c\xf0\x1c", 3), 3);
    i8042_save_state(a, &s1);
    sf_in_init(&in, s1.data, s1.len);
    assert_int_equal(i8042_load_state(b, &in), 0);
    i8042_save_state(b, &s2);
    expect_same(&s1, &s2);
    i8042_save_state(a, &s1);
    s1.data[4] = 7; /* obuf_full is a bool */
    sf_in_init(&in, s1.data, s1.len);
    assert_int_equal(i8042_load_state(b, &in), -EINVAL);
    sf_buf_free(&s1);
    i8042_destroy(a);
    i8042_destroy(b);
    fake_platform_fini(&fp);
}

static void test_rtc_and_pm(void **state)
{
    struct fake_platform fp;
    struct cmos_rtc *ra, *rb;
    struct acpi_pm *pa, *pb;
    struct sf_buf s1 = {0}, s2 = {0};
    struct sf_in in;
    (void)state;
    fake_platform_init(&fp);
    assert_int_equal(cmos_rtc_create(&fp.plat, &ra), 0);
    assert_int_equal(cmos_rtc_create(&fp.plat, &rb), 0);
    cmos_rtc_set_clock(ra, fixed_clock, NULL);
    cmos_rtc_set_clock(rb, fixed_clock, NULL);
    assert_int_equal(cmos_rtc_set_byte(ra, 0x40, 0x99), 0);
    cmos_rtc_save_state(ra, &s1);
    sf_in_init(&in, s1.data, s1.len);
    assert_int_equal(cmos_rtc_load_state(rb, &in), 0);
    cmos_rtc_save_state(rb, &s2);
    expect_same(&s1, &s2);
    assert_int_equal(acpi_pm_create(&fp.plat, &pa), 0);
    assert_int_equal(acpi_pm_create(&fp.plat, &pb), 0);
    acpi_pm_press_power_button(pa);
    acpi_pm_save_state(pa, &s1);
    sf_in_init(&in, s1.data, s1.len);
    assert_int_equal(acpi_pm_load_state(pb, &in), 0);
    acpi_pm_save_state(pb, &s2);
    /* the PM timer runs on between the two saves: compare all but its last 4 bytes */
    assert_int_equal(s1.len, s2.len);
    assert_memory_equal(s1.data, s2.data, s1.len - 4);
    sf_buf_free(&s1);
    sf_buf_free(&s2);
    cmos_rtc_destroy(ra);
    cmos_rtc_destroy(rb);
    acpi_pm_destroy(pa);
    acpi_pm_destroy(pb);
    fake_platform_fini(&fp);
}

static void test_port92(void **state)
{
    struct fake_platform fp;
    struct port92 *pa, *pb;
    struct sf_buf s1 = {0}, s2 = {0};
    struct sf_in in;
    (void)state;
    fake_platform_init(&fp);
    assert_int_equal(port92_create(&fp.plat, &pa), 0);
    assert_int_equal(port92_create(&fp.plat, &pb), 0);
    port92_io_ops.write(pa, 0, 0, 1); /* A20 off */
    port92_save(pa, &s1);
    sf_in_init(&in, s1.data, s1.len);
    assert_int_equal(port92_load(pb, &in), 0);
    assert_int_equal(port92_io_ops.read(pb, 0, 1), 0);
    port92_save(pb, &s2);
    expect_same(&s1, &s2);
    port92_destroy(pa);
    port92_destroy(pb);
    fake_platform_fini(&fp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uart_fifo),
        cmocka_unit_test(test_i8042),
        cmocka_unit_test(test_rtc_and_pm),
        cmocka_unit_test(test_port92),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

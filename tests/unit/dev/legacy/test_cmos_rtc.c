/* SPDX-License-Identifier: MIT */
/* Unit tests for dev/legacy/cmos_rtc.c against a fake clock: time formats, UIP, setting the
 * time, update/alarm/periodic flags and IRQ8, memory-size bytes, the timerfd. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>

#include "base/evloop.h"
#include "core/x86/layout.h"
#include "dev/legacy/cmos_rtc.h"
#include "fake_platform.h"

#define S 1000000000ULL
/* 2026-11-29 21:07:05 UTC, a Sunday */
#define T0 (1795986425ULL * S)

struct ctx {
    struct fake_platform fp;
    struct cmos_rtc *rtc;
    uint64_t now_ns;
};

static uint64_t fake_clock(void *opaque)
{
    return ((struct ctx *)opaque)->now_ns;
}

static int setup(void **state)
{
    struct ctx *c = calloc(1, sizeof(*c));
    fake_platform_init(&c->fp);
    c->now_ns = T0 + S / 2;
    assert_int_equal(cmos_rtc_create(&c->fp.plat, &c->rtc), 0);
    cmos_rtc_set_clock(c->rtc, fake_clock, c);
    *state = c;
    return 0;
}

static int teardown(void **state)
{
    struct ctx *c = *state;
    cmos_rtc_destroy(c->rtc);
    fake_platform_fini(&c->fp);
    free(c);
    return 0;
}

static uint8_t rd(struct ctx *c, uint8_t idx)
{
    cmos_rtc_io_ops.write(c->rtc, 0, idx, 1);
    return (uint8_t)cmos_rtc_io_ops.read(c->rtc, 1, 1);
}

static void wr(struct ctx *c, uint8_t idx, uint8_t v)
{
    cmos_rtc_io_ops.write(c->rtc, 0, idx, 1);
    cmos_rtc_io_ops.write(c->rtc, 1, v, 1);
}

static void test_time_formats(void **state)
{
    struct ctx *c = *state;
    assert_int_equal(rd(c, 0x0b), 0x02);
    assert_int_equal(rd(c, 0x0d), 0x80);
    assert_int_equal(rd(c, 0x00), 0x05);
    assert_int_equal(rd(c, 0x02), 0x07);
    assert_int_equal(rd(c, 0x04), 0x21);
    assert_int_equal(rd(c, 0x06), 0x01);
    assert_int_equal(rd(c, 0x07), 0x29);
    assert_int_equal(rd(c, 0x08), 0x11);
    assert_int_equal(rd(c, 0x09), 0x26);
    assert_int_equal(rd(c, 0x32), 0x20);
    /* NMI mask bit in the index is ignored */
    assert_int_equal(rd(c, 0x80 | 0x09), 0x26);
    /* binary */
    wr(c, 0x0b, 0x06);
    assert_int_equal(rd(c, 0x04), 21);
    assert_int_equal(rd(c, 0x09), 26);
    /* 12-hour, BCD: 9 PM */
    wr(c, 0x0b, 0x00);
    assert_int_equal(rd(c, 0x04), 0x89);
    /* time moves on */
    c->now_ns += 60 * S;
    assert_int_equal(rd(c, 0x02), 0x08);
    /* the index port reads all-ones */
    assert_int_equal(cmos_rtc_io_ops.read(c->rtc, 0, 1), UINT64_MAX);
}

static void test_uip(void **state)
{
    struct ctx *c = *state;
    assert_int_equal(rd(c, 0x0a), 0x26);
    c->now_ns = T0 + S - 100000;
    assert_int_equal(rd(c, 0x0a), 0xa6);
    c->now_ns = T0 + S + 1000;
    assert_int_equal(rd(c, 0x0a), 0x26);
    wr(c, 0x0a, 0xa0 | 0x06); /* UIP is read-only */
    assert_int_equal(rd(c, 0x0a), 0x26);
}

static void test_set_time(void **state)
{
    struct ctx *c = *state;
    wr(c, 0x0b, 0x82 | 0x10); /* SET (clears UIE) */
    assert_int_equal(rd(c, 0x0b), 0x82);
    wr(c, 0x09, 0x99);
    wr(c, 0x32, 0x19);
    wr(c, 0x08, 0x12);
    wr(c, 0x07, 0x31);
    wr(c, 0x04, 0x23);
    wr(c, 0x02, 0x59);
    wr(c, 0x00, 0x58);
    c->now_ns += 5 * S; /* frozen while SET */
    assert_int_equal(rd(c, 0x00), 0x58);
    wr(c, 0x0b, 0x02);
    c->now_ns += 3 * S;
    assert_int_equal(rd(c, 0x00), 0x01);
    assert_int_equal(rd(c, 0x02), 0x00);
    assert_int_equal(rd(c, 0x09), 0x00);
    assert_int_equal(rd(c, 0x32), 0x20);
    assert_int_equal(rd(c, 0x08), 0x01);
    /* direct write without SET */
    wr(c, 0x04, 0x05);
    assert_int_equal(rd(c, 0x04), 0x05);
    assert_int_equal(rd(c, 0x07), 0x01);
}

static void test_flags_and_irq(void **state)
{
    struct ctx *c = *state;
    assert_int_equal(rd(c, 0x0c), 0x00);
    c->now_ns += S;
    assert_int_equal(rd(c, 0x0c) & 0x10, 0x10); /* UF without UIE: no IRQF */
    assert_int_equal(rd(c, 0x0c), 0x00);
    assert_false(fake_platform_irq(&c->fp, GSI_RTC));
    wr(c, 0x0b, 0x12); /* UIE */
    c->now_ns += S;
    assert_int_equal(rd(c, 0x0a) & 0x7f, 0x26); /* any access evaluates the flags */
    assert_true(fake_platform_irq(&c->fp, GSI_RTC));
    assert_int_equal(rd(c, 0x0c) & 0xb0, 0x90); /* PF is set too: it ignores PIE */
    assert_false(fake_platform_irq(&c->fp, GSI_RTC));
    /* alarm at hh:07:15 with a do-not-care hour */
    wr(c, 0x0b, 0x22); /* AIE */
    wr(c, 0x01, 0x15); /* T0 + 10 s = 21:07:15 */
    wr(c, 0x03, rd(c, 0x02));
    wr(c, 0x05, 0xc0);
    c->now_ns = T0 + 9 * S + 1;
    assert_int_equal(rd(c, 0x0c) & 0x20, 0);
    c->now_ns = T0 + 10 * S + 1;
    (void)rd(c, 0x0a);
    assert_true(fake_platform_irq(&c->fp, GSI_RTC));
    assert_int_equal(rd(c, 0x0c) & 0xb0, 0xb0);
    /* periodic: 1024 Hz */
    wr(c, 0x0b, 0x42);
    assert_int_equal(rd(c, 0x0c), 0x00);
    c->now_ns += 976563;
    assert_int_equal(rd(c, 0x0c), 0xc0);
    wr(c, 0x0a, 0x20); /* rate 0: no periodic flag */
    c->now_ns += S / 10;
    assert_int_equal(rd(c, 0x0c) & 0x40, 0);
    /* registers C and D are read-only */
    wr(c, 0x0d, 0);
    assert_int_equal(rd(c, 0x0d), 0x80);
}

static void test_memory_bytes(void **state)
{
    struct ctx *c = *state;
    cmos_rtc_set_memory(c->rtc, 3ULL << 30, 5ULL << 30);
    assert_int_equal(rd(c, 0x15) | rd(c, 0x16) << 8, 640);
    assert_int_equal(rd(c, 0x17) | rd(c, 0x18) << 8, 0xffff);
    assert_int_equal(rd(c, 0x30) | rd(c, 0x31) << 8, 0xffff);
    assert_int_equal(rd(c, 0x34) | rd(c, 0x35) << 8, ((3ULL << 30) - (16 << 20)) >> 16);
    assert_int_equal(rd(c, 0x5b) | rd(c, 0x5c) << 8 | rd(c, 0x5d) << 16, (5ULL << 30) >> 16);
    cmos_rtc_set_memory(c->rtc, 8 << 20, 0);
    assert_int_equal(rd(c, 0x30) | rd(c, 0x31) << 8, 7 * 1024);
    assert_int_equal(rd(c, 0x34) | rd(c, 0x35) << 8, 0);
    assert_int_equal(cmos_rtc_set_byte(c->rtc, 0x5f, 3), 0);
    assert_int_equal(rd(c, 0x5f), 3);
    assert_int_equal(cmos_rtc_set_byte(c->rtc, 0x0b, 3), -EINVAL);
    assert_int_equal(cmos_rtc_set_byte(c->rtc, 128, 3), -EINVAL);
    wr(c, 0x40, 0x12); /* guest-writable RAM */
    assert_int_equal(rd(c, 0x40), 0x12);
}

static void test_timer(void **state)
{
    (void)state;
    struct fake_platform fp;
    struct cmos_rtc *rtc;
    struct evloop *loop;
    fake_platform_init(&fp);
    assert_int_equal(cmos_rtc_create(&fp.plat, &rtc), 0);
    assert_int_equal(evloop_create(&loop), 0);
    assert_int_equal(cmos_rtc_start_timer(rtc, loop), 0);
    /* periodic at 1024 Hz with PIE: the timer raises IRQ8 without any guest access */
    cmos_rtc_io_ops.write(rtc, 0, 0x0b, 1);
    cmos_rtc_io_ops.write(rtc, 1, 0x42, 1);
    for (int i = 0; i < 100 && !fake_platform_irq(&fp, GSI_RTC); i++)
        assert_true(evloop_run_once(loop, 50) >= 0);
    assert_true(fake_platform_irq(&fp, GSI_RTC));
    cmos_rtc_stop_timer(rtc);
    evloop_destroy(loop);
    cmos_rtc_destroy(rtc);
    fake_platform_fini(&fp);
}

static void test_save_load(void **state)
{
    struct ctx *c = *state;
    struct cmos_rtc_state st;
    wr(c, 0x04, 0x05); /* guest sets 05:07 */
    wr(c, 0x40, 0x77);
    wr(c, 0x0b, 0x12);
    cmos_rtc_save(c->rtc, &st);
    wr(c, 0x04, 0x10);
    wr(c, 0x40, 0x00);
    assert_int_equal(cmos_rtc_load(c->rtc, &st), 0);
    assert_int_equal(rd(c, 0x04), 0x05);
    assert_int_equal(rd(c, 0x40), 0x77);
    assert_int_equal(rd(c, 0x0b), 0x12);
    assert_false(fake_platform_irq(&c->fp, GSI_RTC)); /* no flags for the elapsed time */
    st.index = 0x80;
    assert_int_equal(cmos_rtc_load(c->rtc, &st), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_time_formats, setup, teardown),
        cmocka_unit_test_setup_teardown(test_uip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_time, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flags_and_irq, setup, teardown),
        cmocka_unit_test_setup_teardown(test_memory_bytes, setup, teardown),
        cmocka_unit_test(test_timer),
        cmocka_unit_test_setup_teardown(test_save_load, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

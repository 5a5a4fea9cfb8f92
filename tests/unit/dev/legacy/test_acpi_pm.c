/* SPDX-License-Identifier: MIT */
/* Unit tests for dev/legacy/acpi_pm.c: PM1 status/enable W1C, SCI level, S5 poweroff, PM timer,
 * GPE0, partial-width accesses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "core/x86/layout.h"
#include "dev/bus.h"
#include "dev/legacy/acpi_pm.h"
#include "fake_platform.h"

struct ctx {
    struct fake_platform fp;
    struct acpi_pm *pm;
    struct bus *pio;
};

static int setup(void **state)
{
    struct ctx *c = calloc(1, sizeof(*c));
    fake_platform_init(&c->fp);
    assert_int_equal(acpi_pm_create(&c->fp.plat, &c->pm), 0);
    assert_int_equal(bus_create("pio", &c->pio), 0);
    assert_int_equal(acpi_pm_attach(c->pm, c->pio), 0);
    *state = c;
    return 0;
}

static int teardown(void **state)
{
    struct ctx *c = *state;
    bus_destroy(c->pio);
    acpi_pm_destroy(c->pm);
    fake_platform_fini(&c->fp);
    free(c);
    return 0;
}

static uint64_t in(struct ctx *c, uint16_t port, unsigned size)
{
    uint64_t v;
    assert_true(bus_read(c->pio, port, size, &v));
    return v;
}

static void out(struct ctx *c, uint16_t port, unsigned size, uint64_t v)
{
    assert_true(bus_write(c->pio, port, size, v));
}

static bool sci(struct ctx *c)
{
    return fake_platform_irq(&c->fp, GSI_ACPI_SCI);
}

static void test_power_button(void **state)
{
    struct ctx *c = *state;
    assert_int_equal(in(c, PORT_ACPI_PM1_EVT, 2) & ACPI_PM1_STS_PWRBTN, 0);
    acpi_pm_press_power_button(c->pm);
    assert_int_equal(in(c, PORT_ACPI_PM1_EVT, 2) & ACPI_PM1_STS_PWRBTN, ACPI_PM1_STS_PWRBTN);
    assert_false(sci(c)); /* not enabled */
    out(c, PORT_ACPI_PM1_EVT + 2, 2, ACPI_PM1_STS_PWRBTN);
    assert_true(sci(c));
    assert_int_equal(in(c, PORT_ACPI_PM1_EVT + 2, 2), ACPI_PM1_STS_PWRBTN);
    /* writing 0 does not clear; writing 1 does */
    out(c, PORT_ACPI_PM1_EVT, 2, 0);
    assert_true(sci(c));
    out(c, PORT_ACPI_PM1_EVT + 1, 1, ACPI_PM1_STS_PWRBTN >> 8); /* byte access to the high byte */
    assert_false(sci(c));
    assert_int_equal(in(c, PORT_ACPI_PM1_EVT, 2) & ACPI_PM1_STS_PWRBTN, 0);
    /* a 32-bit access covers STS and EN */
    acpi_pm_press_power_button(c->pm);
    assert_true(sci(c));
    uint64_t v = in(c, PORT_ACPI_PM1_EVT, 4);
    assert_int_equal(v >> 16, ACPI_PM1_STS_PWRBTN);
    assert_int_equal(v & ACPI_PM1_STS_PWRBTN, ACPI_PM1_STS_PWRBTN);
    out(c, PORT_ACPI_PM1_EVT, 4, ACPI_PM1_STS_PWRBTN); /* clear STS, disable EN */
    assert_false(sci(c));
    assert_int_equal(in(c, PORT_ACPI_PM1_EVT + 2, 2), 0);
}

static void test_sleep(void **state)
{
    struct ctx *c = *state;
    assert_int_equal(in(c, PORT_ACPI_PM1_CNT, 2), ACPI_PM1_CNT_SCI_EN);
    out(c, PORT_ACPI_PM1_CNT, 2, 0); /* SCI_EN cannot be cleared */
    assert_int_equal(in(c, PORT_ACPI_PM1_CNT, 2), ACPI_PM1_CNT_SCI_EN);
    /* SLP_TYP alone does nothing */
    out(c, PORT_ACPI_PM1_CNT, 2, ACPI_SLP_TYP_S3 << ACPI_PM1_CNT_SLP_TYP_SHIFT);
    assert_int_equal(c->fp.n_poweroff, 0);
    /* S3 is not supported: immediate wake */
    out(c, PORT_ACPI_PM1_CNT, 2,
        (ACPI_SLP_TYP_S3 << ACPI_PM1_CNT_SLP_TYP_SHIFT) | ACPI_PM1_CNT_SLP_EN);
    assert_int_equal(c->fp.n_poweroff, 0);
    assert_int_equal(in(c, PORT_ACPI_PM1_EVT, 2) & ACPI_PM1_STS_WAK, ACPI_PM1_STS_WAK);
    assert_int_equal(in(c, PORT_ACPI_PM1_CNT, 2) & ACPI_PM1_CNT_SLP_EN, 0);
    /* S5 as Linux writes it: SLP_TYP then SLP_EN, 16-bit */
    out(c, PORT_ACPI_PM1_CNT, 2, (ACPI_SLP_TYP_S5 << ACPI_PM1_CNT_SLP_TYP_SHIFT) | 1);
    out(c, PORT_ACPI_PM1_CNT, 2,
        (ACPI_SLP_TYP_S5 << ACPI_PM1_CNT_SLP_TYP_SHIFT) | ACPI_PM1_CNT_SLP_EN | 1);
    assert_int_equal(c->fp.n_poweroff, 1);
    /* and with a byte write of the high byte */
    out(c, PORT_ACPI_PM1_CNT + 1, 1, ((ACPI_SLP_TYP_S5 << 10) | ACPI_PM1_CNT_SLP_EN) >> 8);
    assert_int_equal(c->fp.n_poweroff, 2);
}

static void test_pm_timer(void **state)
{
    struct ctx *c = *state;
    uint32_t t0 = (uint32_t)in(c, PORT_ACPI_PM_TMR, 4);
    struct timespec ts = {0, 20 * 1000 * 1000};
    nanosleep(&ts, NULL);
    uint32_t t1 = (uint32_t)in(c, PORT_ACPI_PM_TMR, 4);
    assert_true(t1 <= 0xffffff);
    uint32_t d = (t1 - t0) & 0xffffff;
    assert_true(d >= 71000);        /* 20 ms at 3.58 MHz = 71591 */
    assert_true(d < 3579545);       /* well under a second even on a busy machine */
    out(c, PORT_ACPI_PM_TMR, 4, 0); /* read-only */
    assert_true(((uint32_t)in(c, PORT_ACPI_PM_TMR, 4) - t1) < 3579545);
    /* byte reads of the counter */
    assert_true(in(c, PORT_ACPI_PM_TMR + 3, 1) == 0);
}

static void test_gpe(void **state)
{
    struct ctx *c = *state;
    assert_int_equal(acpi_pm_raise_gpe(c->pm, 32), -EINVAL);
    assert_int_equal(acpi_pm_raise_gpe(c->pm, 9), 0);
    assert_int_equal(in(c, PORT_ACPI_GPE0, 4), 1u << 9);
    assert_false(sci(c));
    out(c, PORT_ACPI_GPE0 + 5, 1, 1u << 1); /* EN bit 9 via its byte */
    assert_true(sci(c));
    assert_int_equal(in(c, PORT_ACPI_GPE0 + 4, 4), 1u << 9);
    out(c, PORT_ACPI_GPE0, 4, 0xffffffff);
    assert_false(sci(c));
    assert_int_equal(in(c, PORT_ACPI_GPE0, 4), 0);
    assert_int_equal(in(c, PORT_ACPI_GPE0 + 4, 4), 1u << 9);
    /* 8-byte accesses are not valid for I/O ports */
    uint64_t v;
    assert_true(bus_read(c->pio, PORT_ACPI_GPE0, 8, &v));
    assert_int_equal(v, UINT64_MAX);
}

static void test_save_load(void **state)
{
    struct ctx *c = *state;
    struct acpi_pm_state st;
    out(c, PORT_ACPI_PM1_EVT + 2, 2, ACPI_PM1_STS_PWRBTN);
    acpi_pm_press_power_button(c->pm);
    assert_true(sci(c));
    acpi_pm_save(c->pm, &st);
    out(c, PORT_ACPI_PM1_EVT, 4, ACPI_PM1_STS_PWRBTN);
    assert_false(sci(c));
    st.tmr = 0x100000;
    assert_int_equal(acpi_pm_load(c->pm, &st), 0);
    assert_true(sci(c));
    uint32_t t = (uint32_t)in(c, PORT_ACPI_PM_TMR, 4);
    assert_true(t >= 0x100000 && t < 0x100000 + 3579545 / 2);
    st.tmr = 0x1000000;
    assert_int_equal(acpi_pm_load(c->pm, &st), -EINVAL);
}

static uint64_t other_read(void *opaque, uint64_t off, unsigned size)
{
    (void)opaque;
    (void)off;
    (void)size;
    return 0;
}

static void other_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    (void)opaque;
    (void)off;
    (void)val;
    (void)size;
}

static const struct io_ops other_ops = {.read = other_read, .write = other_write};

/* The pc machine's placement: PM1/PM_TMR where the PIIX4's PMBA says, GPE0 at its own base. */
static void test_move(void **state)
{
    struct ctx *c = *state;
    struct acpi_pm *pm;
    struct bus *pio;
    uint64_t v;
    (void)c;
    assert_int_equal(acpi_pm_create(&c->fp.plat, &pm), 0);
    assert_int_equal(bus_create("pio", &pio), 0);
    assert_int_equal(acpi_pm_attach_at(pm, pio, 0), 0);
    assert_false(bus_read(pio, PORT_ACPI_PM_TMR, 4, &v));
    assert_false(bus_read(pio, PORT_ACPI_GPE0, 4, &v));
    assert_int_equal(acpi_pm_move(pm, 0xb000), 0);
    assert_true(bus_read(pio, 0xb008, 4, &v));
    assert_true(bus_read(pio, 0xb020, 4, &v));       /* GPE0 follows */
    assert_true(bus_write(pio, 0xb004, 2, 1 << 13)); /* S5 */
    assert_int_equal(c->fp.n_poweroff, 1);
    assert_int_equal(acpi_pm_move(pm, 0xc000), 0);
    assert_false(bus_read(pio, 0xb008, 4, &v));
    assert_true(bus_read(pio, 0xc008, 4, &v));
    assert_int_equal(bus_register(pio, 0xd004, 1, &other_ops, &v, "other"), 0);
    assert_true(acpi_pm_move(pm, 0xd000) < 0); /* over another device: nowhere */
    assert_false(bus_read(pio, 0xc008, 4, &v));
    assert_false(bus_read(pio, 0xd008, 4, &v));
    assert_int_equal(acpi_pm_move(pm, 0), 0);
    bus_destroy(pio);
    acpi_pm_destroy(pm);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_power_button, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sleep, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pm_timer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gpe, setup, teardown),
        cmocka_unit_test_setup_teardown(test_save_load, setup, teardown),
        cmocka_unit_test_setup_teardown(test_move, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: MIT */
/* Unit tests for dev/legacy/fdc.c: reset and polling, the commands without data, the phases a
 * hostile guest can abuse (bytes in the wrong phase, invalid opcodes), the interrupt. */
#include <errno.h>
#include <stdlib.h>

#include "fdc_fixture.h"

static void test_reset_and_polling(void **state)
{
    struct fx *x = *state;
    uint8_t pcn = 0xff;
    fx_out(x, 0x3f2, 0x08); /* reset asserted, DMA gate on */
    assert_int_equal(fx_in(x, 0x3f4), 0);
    fx_out(x, 0x3f2, 0x1c); /* out of reset, motor A on */
    assert_true(fake_platform_irq(&x->fp, FDC_IRQ));
    for (unsigned ds = 0; ds < 4; ds++)
        assert_int_equal(fx_sense_int(x, &pcn), 0xc0 | ds);
    assert_false(fake_platform_irq(&x->fp, FDC_IRQ));
    assert_int_equal(fx_sense_int(x, NULL), 0x80); /* nothing pending: invalid */
    fx_out(x, 0x3f4, 0x80);                        /* DSR software reset */
    assert_true(fake_platform_irq(&x->fp, FDC_IRQ));
    fx_out(x, 0x3f2, 0x14); /* the DMA gate off masks the line */
    assert_false(fake_platform_irq(&x->fp, FDC_IRQ));
}

/* A reset gives IRQ 6 a new edge even with an interrupt still pending, as SeaBIOS's retry after
 * a timeout needs: the line drops while the controller is held in reset (DOR) or for the
 * software reset (DSR), and rises once when the reset ends. */
static void test_reset_edges(void **state)
{
    struct fx *x = *state;
    uint8_t recal[2] = {0x07, 0x00};
    fx_out(x, 0x3f2, 0x08);
    fx_out(x, 0x3f2, 0x1c);
    for (unsigned ds = 0; ds < 4; ds++)
        fx_sense_int(x, NULL);
    fx_out(x, 0x3f5, recal[0]);
    fx_out(x, 0x3f5, recal[1]); /* its interrupt is never acknowledged */
    assert_true(fake_platform_irq(&x->fp, FDC_IRQ));
    fake_platform_clear(&x->fp);
    fx_out(x, 0x3f2, 0x10); /* SeaBIOS's floppy_disable_controller: reset, gate off */
    fx_out(x, 0x3f2, 0x18); /* reset held, gate on: the stale interrupt does not come back */
    assert_false(fake_platform_irq(&x->fp, FDC_IRQ));
    assert_int_equal(x->fp.irq_raises[FDC_IRQ], 0);
    fx_out(x, 0x3f2, 0x1c);
    assert_true(fake_platform_irq(&x->fp, FDC_IRQ));
    assert_int_equal(x->fp.irq_raises[FDC_IRQ], 1);
    fake_platform_clear(&x->fp);
    fx_out(x, 0x3f4, 0x80); /* a software reset with the reset's interrupt still pending */
    assert_true(fake_platform_irq(&x->fp, FDC_IRQ));
    assert_int_equal(x->fp.irq_raises[FDC_IRQ], 1);
    assert_int_equal(fx_sense_int(x, NULL), 0xc0);
}

static void test_id_commands(void **state)
{
    struct fx *x = *state;
    uint8_t res[10], c;
    c = 0x10;
    fx_cmd(x, &c, 1);
    assert_int_equal(fx_result(x, res, 10), 1);
    assert_int_equal(res[0], 0x90);
    c = 0x18;
    fx_cmd(x, &c, 1);
    assert_int_equal(fx_result(x, res, 10), 1);
    assert_int_equal(res[0], 0x41);
    c = 0x94; /* LOCK */
    fx_cmd(x, &c, 1);
    assert_int_equal(fx_result(x, res, 10), 1);
    assert_int_equal(res[0], 0x10);
    uint8_t conf[4] = {0x13, 0, 0x57, 3};
    fx_cmd(x, conf, 4);
    uint8_t spec[3] = {0x03, 0xdf, 0x02};
    fx_cmd(x, spec, 3);
    fx_out(x, 0x3f4, 0x80); /* reset: a locked configuration stays */
    for (unsigned i = 0; i < 4; i++)
        fx_sense_int(x, NULL);
    c = 0x0e;
    fx_cmd(x, &c, 1);
    assert_int_equal(fx_result(x, res, 10), 10);
    assert_int_equal(res[4], 0xdf);
    assert_int_equal(res[5], 0x02);
    assert_int_equal(res[7] & 0x80, 0x80);
    assert_int_equal(res[8], 0x57);
    assert_int_equal(res[9], 3);
    c = 0x14; /* UNLOCK */
    fx_cmd(x, &c, 1);
    assert_int_equal(fx_result(x, res, 10), 1);
    assert_int_equal(res[0], 0);
    uint8_t perp[2] = {0x12, 0x83};
    fx_cmd(x, perp, 2);
    assert_int_equal(fx_in(x, 0x3f4), 0x80);
}

static void test_seek_recal_sense_drive(void **state)
{
    struct fx *x = *state;
    uint8_t pcn = 0, res[2];
    fx_seek(x, 1, 40);
    uint8_t sd[2] = {0x04, 0x04};
    fx_cmd(x, sd, 2);
    assert_int_equal(fx_result(x, res, 2), 1);
    assert_int_equal(res[0], 0x2c);   /* ready, two-sided, head 1, not at track 0 */
    uint8_t rs[3] = {0xcf, 0x00, 45}; /* relative seek outwards past 0: stops at 0 */
    fx_cmd(x, rs, 3);
    assert_int_equal(fx_sense_int(x, &pcn), 0x20);
    assert_int_equal(pcn, 0);
    uint8_t rc[2] = {0x07, 0x01}; /* recalibrate drive B: not connected */
    fx_cmd(x, rc, 2);
    assert_int_equal(fx_sense_int(x, &pcn), 0x71);
    uint8_t sk[3] = {0x0f, 0x00, 255}; /* a cylinder the disk does not have: the head goes */
    fx_cmd(x, sk, 3);
    assert_int_equal(fx_sense_int(x, &pcn), 0x20);
    assert_int_equal(pcn, 255);
}

static void test_hostile_phases(void **state)
{
    struct fx *x = *state;
    uint8_t res[10], c;
    /* FIFO reads in the command phase give nothing */
    assert_int_equal(fx_in(x, 0x3f5), 0);
    /* invalid opcodes, every one of them */
    for (unsigned op = 0; op < 256; op++) {
        static const uint8_t valid[] = {3,   4,   5,    6,    7,    8,    0xa, 0xd,
                                        0xe, 0xf, 0x10, 0x12, 0x13, 0x14, 0x18};
        bool is_valid = false;
        for (size_t i = 0; i < sizeof(valid); i++)
            is_valid |= (op & 0x1f) == valid[i];
        if (is_valid)
            continue;
        c = (uint8_t)op;
        fx_cmd(x, &c, 1);
        assert_int_equal(fx_result(x, res, 10), 1);
        assert_int_equal(res[0], 0x80);
    }
    /* bytes written during the result phase are dropped, the result stays intact */
    c = 0x10;
    fx_cmd(x, &c, 1);
    for (unsigned i = 0; i < 100; i++)
        fx_out(x, 0x3f5, 0x06);
    assert_int_equal(fx_result(x, res, 10), 1);
    assert_int_equal(res[0], 0x90);
    /* unconnected registers */
    assert_int_equal(fx_in(x, 0x3f0), 0xff);
    fx_out(x, 0x3f3, 0xff);
    assert_int_equal(fx_in(x, 0x3f3), 3);
    fx_out(x, 0x3f0, 0x12); /* ignored */
    /* bytes during the reset are dropped */
    fx_out(x, 0x3f2, 0x08);
    fx_out(x, 0x3f5, 0x10);
    fx_out(x, 0x3f2, 0x0c);
    for (unsigned i = 0; i < 4; i++)
        fx_sense_int(x, NULL);
    assert_int_equal(fx_in(x, 0x3f4), 0x80);
}

static void test_geometry_table(void **state)
{
    (void)state;
    assert_string_equal(fdc_geometry_for_size(1474560)->name, "1.44M");
    assert_int_equal(fdc_geometry_for_size(2949120)->sectors, 36);
    assert_int_equal(fdc_geometry_for_size(737280)->rate, 2);
    assert_int_equal(fdc_geometry_for_size(1228800)->sectors, 15);
    assert_null(fdc_geometry_for_size(1474561));
    assert_null(fdc_geometry_for_size(0));
}

static void test_create_bad_size(void **state)
{
    struct fx *x = *state;
    struct fdc *f;
    struct blk *b = blk_mem_create(1000 * 512, false);
    assert_int_equal(fdc_create(&x->fp.plat, x->dma, 4, b, false, fx_kick, x, &f), -EINVAL);
    blk_close(b); /* not taken */
    assert_int_equal(fdc_create(&x->fp.plat, x->dma, 4, NULL, false, fx_kick, x, &f), 0);
    assert_false(fdc_has_media(f));
    fdc_destroy(f);
    fdc_destroy(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_reset_and_polling, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_reset_edges, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_id_commands, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_seek_recal_sense_drive, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_hostile_phases, fx_setup, fx_teardown),
        cmocka_unit_test(test_geometry_table),
        cmocka_unit_test_setup_teardown(test_create_bad_size, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

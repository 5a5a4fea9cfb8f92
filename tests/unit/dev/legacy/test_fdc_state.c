/* SPDX-License-Identifier: MIT */
/* Unit tests for dev/legacy/fdc_state.c: the floppy controller's saved state round trip, a
 * planned transfer queued again, a transfer in flight refused, bad states refused. */
#include <errno.h>
#include <stdlib.h>

#include "base/statefile.h"
#include "fdc_fixture.h"

static void test_round_trip(void **state)
{
    struct fx *x = *state;
    struct sf_buf b = {0};
    struct sf_in in;
    uint8_t res[10], c = 0x10;
    fx_seek(x, 1, 9);
    fx_cmd(x, &c, 1); /* VERSION: its result waits to be read */
    assert_int_equal(fdc_save(x->fdc, &b), 0);
    assert_int_equal(fx_result(x, res, 10), 1); /* read it here */
    fx_out(x, 0x3f4, 0x80);                     /* and reset */
    sf_in_init(&in, b.data, b.len);
    assert_int_equal(fdc_load(x->fdc, &in), 0);
    assert_int_equal(fx_result(x, res, 10), 1); /* the saved result is back */
    assert_int_equal(res[0], 0x90);
    uint8_t sd[2] = {0x04, 0x00}, st3 = 0;
    fx_cmd(x, sd, 2);
    assert_int_equal(fx_result(x, &st3, 1), 1);
    assert_int_equal(st3 & 0x10, 0); /* the head is where it was, not at track 0 */
    sf_buf_free(&b);
}

static void test_planned_and_in_flight(void **state)
{
    struct fx *x = *state;
    struct sf_buf b = {0}, b2 = {0};
    struct sf_in in;
    uint8_t res[7], cmd[9] = {0x46, 0, 0, 0, 1, 2, 18, 0x1b, 0xff};
    fx_dma(x, 0x10000, 512, true);
    fx_cmd(x, cmd, 9);
    assert_int_equal(x->kicks, 1);
    assert_int_equal(fdc_save(x->fdc, &b), 0); /* planned, not started: saved */
    fdc_service(x->fdc);
    x->kicks = 0;
    assert_int_equal(fdc_save(x->fdc, &b2), -EBUSY); /* in flight: refused */
    fx_run(x);
    assert_int_equal(fx_result(x, res, 7), 7);
    sf_in_init(&in, b.data, b.len);
    assert_int_equal(fdc_load(x->fdc, &in), 0);
    assert_int_equal(x->kicks, 1); /* queued again */
    fx_dma(x, 0x10000, 512, true);
    fx_run(x);
    assert_int_equal(fx_result(x, res, 7), 7);
    assert_int_equal(res[0], 0);
    sf_buf_free(&b);
    sf_buf_free(&b2);
}

static void test_bad_states(void **state)
{
    struct fx *x = *state;
    struct sf_buf b = {0};
    struct sf_in in;
    assert_int_equal(fdc_save(x->fdc, &b), 0);
    /* every single byte set to 0xff: refused or a state that still works */
    for (size_t i = 0; i < b.len; i++) {
        uint8_t keep = b.data[i];
        uint8_t res[10];
        b.data[i] = 0xff;
        sf_in_init(&in, b.data, b.len);
        if (fdc_load(x->fdc, &in) == 0) {
            fx_out(x, 0x3f4, 0x80); /* whatever it was, a reset brings it back */
            for (unsigned j = 0; j < 4; j++)
                fx_sense_int(x, NULL);
            uint8_t c = 0x10;
            fx_cmd(x, &c, 1);
            assert_int_equal(fx_result(x, res, 10), 1);
        }
        b.data[i] = keep;
    }
    b.data[3] = 1; /* an execution phase with no plan */
    sf_in_init(&in, b.data, b.len);
    assert_int_equal(fdc_load(x->fdc, &in), -EINVAL);
    sf_in_init(&in, b.data, b.len - 1);
    assert_int_equal(fdc_load(x->fdc, &in), -EINVAL);
    sf_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_planned_and_in_flight, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_bad_states, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

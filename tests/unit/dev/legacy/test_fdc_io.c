/* SPDX-License-Identifier: MIT */
/* Unit tests for dev/legacy/fdc_io.c: READ/WRITE DATA (multi-track, terminal count), FORMAT
 * TRACK, READ ID, the media change, and the commands of a hostile guest: sectors, heads and
 * cylinders the disk does not have, sector sizes other than 512, EOT past the track, DMA
 * counts past the track or outside RAM, a reset during the execution phase. */
#include <errno.h>
#include <stdlib.h>

#include "fdc_fixture.h"

#define BUF 0x10000u

static uint8_t *ram(struct fx *x, uint32_t gpa, size_t len)
{
    return gmem_ptr(x->gm, gpa, len);
}

static void test_read(void **state)
{
    struct fx *x = *state;
    uint8_t res[7];
    fx_seek(x, 0, 2);
    fx_dma(x, BUF, 2 * 512, true);
    assert_int_equal(fx_rw(x, 0x06, 2, 0, 5, 2, 18, res), 7);
    assert_int_equal(res[0], 0x00); /* normal termination (terminal count) */
    assert_int_equal(res[5], 7);    /* the next sector */
    /* sector (2 * 2 + 0) * 18 + 4 = 76 */
    assert_int_equal(ram(x, BUF, 1)[0], 76);
    assert_int_equal(ram(x, BUF + 1023, 1)[0], 77);
    assert_int_equal(ram(x, BUF + 1024, 1)[0], 0);
    assert_false(fake_platform_irq(&x->fp, FDC_IRQ)); /* acknowledged by the result */
}

static void test_read_multitrack(void **state)
{
    struct fx *x = *state;
    uint8_t res[7];
    fx_seek(x, 0, 1);
    fx_dma(x, BUF, 4 * 512, true); /* sectors 17, 18 of head 0 and 1, 2 of head 1 */
    assert_int_equal(fx_rw(x, 0x86, 1, 0, 17, 2, 18, res), 7);
    assert_int_equal(res[0], 0x00);
    assert_int_equal(res[3], 1); /* C */
    assert_int_equal(res[4], 1); /* H */
    assert_int_equal(res[5], 3); /* R */
    assert_int_equal(ram(x, BUF + 3 * 512, 1)[0], 36 + 18 + 1);
    /* without MT the track ends at EOT before terminal count: end of cylinder */
    fx_dma(x, BUF, 4 * 512, true);
    assert_int_equal(fx_rw(x, 0x06, 1, 0, 17, 2, 18, res), 7);
    assert_int_equal(res[0], 0x40);
    assert_int_equal(res[1], 0x80);
    assert_int_equal(res[3], 2);
}

static void test_write(void **state)
{
    struct fx *x = *state;
    uint8_t res[7];
    memset(ram(x, BUF, 1024), 0xee, 1024);
    fx_seek(x, 1, 79);
    fx_dma(x, BUF, 700, false); /* terminal count in the middle of the second sector */
    assert_int_equal(fx_rw(x, 0x05, 79, 1, 17, 2, 18, res), 7);
    assert_int_equal(res[0], 0x04);
    uint8_t *d = blk_mem_data(x->disk) + (2878u * 512);
    assert_int_equal(d[0], 0xee);
    assert_int_equal(d[699], 0xee);
    assert_int_equal(d[700], 0); /* the rest of the sector cut by terminal count */
    /* read-only disk: not writable */
    struct blk *ro = fx_disk(FX_DISK, true);
    assert_int_equal(fdc_change_media(x->fdc, ro, false), 0);
    x->disk = ro;
    fx_seek(x, 0, 3);
    fx_dma(x, BUF, 512, false);
    assert_int_equal(fx_rw(x, 0x05, 3, 0, 1, 2, 18, res), 7);
    assert_int_equal(res[0], 0x40);
    assert_int_equal(res[1], 0x02);
}

static void test_hostile_chs(void **state)
{
    struct fx *x = *state;
    uint8_t res[7];
    static const struct {
        uint8_t c, h, r, n, eot, st1;
    } cases[] = {
        {0, 0, 0, 2, 18, 0x04},                            /* sector 0 */
        {0, 0, 19, 2, 18, 0x04},                           /* past the track */
        {0, 0, 255, 2, 255, 0x04},                         /* far past it */
        {0, 0, 1, 8, 18, 0x04},                            /* N > 7 */
        {0, 0, 1, 0, 18, 0x04},                            /* 128-byte sectors */
        {0, 0, 1, 7, 18, 0x04},    {1, 0, 1, 2, 18, 0x04}, /* not where the head is */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        fx_dma(x, BUF, 512, true);
        assert_int_equal(
            fx_rw(x, 0x06, cases[i].c, cases[i].h, cases[i].r, cases[i].n, cases[i].eot, res), 7);
        assert_int_equal(res[0] & 0xc0, 0x40);
        assert_int_equal(res[1], cases[i].st1);
    }
    /* an ID head other than the physical one */
    uint8_t cmd[9] = {0x46, 0x00, 0, 1, 1, 2, 18, 0x1b, 0xff};
    fx_dma(x, BUF, 512, true);
    fx_cmd(x, cmd, 9);
    assert_int_equal(fx_result(x, res, 7), 7);
    assert_int_equal(res[1], 0x04);
    /* a cylinder past the disk, with an implied seek */
    uint8_t conf[4] = {0x13, 0, 0x60, 0};
    fx_cmd(x, conf, 4);
    fx_dma(x, BUF, 512, true);
    assert_int_equal(fx_rw(x, 0x06, 200, 0, 1, 2, 18, res), 7);
    assert_int_equal(res[1], 0x04);
    /* EOT past the track: sectors to the end, then no data */
    fx_seek(x, 0, 0);
    fx_dma(x, BUF, 0x10000, true);
    assert_int_equal(fx_rw(x, 0x06, 0, 0, 17, 2, 200, res), 7);
    assert_int_equal(res[0], 0x40);
    assert_int_equal(res[1], 0x04);
    assert_int_equal(ram(x, BUF + 512, 1)[0], 17);
    assert_int_equal(ram(x, BUF + 1024, 1)[0], 0);
}

static void test_hostile_dma(void **state)
{
    struct fx *x = *state;
    uint8_t res[7];
    /* the channel counts 64 KiB: the transfer still stops at the end of the track */
    fx_dma(x, BUF, 0x10000, true);
    assert_int_equal(fx_rw(x, 0x86, 0, 0, 1, 2, 18, res), 7);
    assert_int_equal(res[1], 0x80);
    assert_int_equal(ram(x, BUF + 36 * 512 - 1, 1)[0], 35);
    assert_int_equal(ram(x, BUF + 36 * 512, 1)[0], 0);
    /* a buffer outside RAM: nothing written, no harm */
    fx_out(x, 0x0a, 0x06);
    fx_out(x, 0x81, 0xf0);
    fx_out(x, 0x0a, 0x02);
    assert_int_equal(fx_rw(x, 0x06, 0, 0, 1, 2, 18, res), 7);
    fx_dma(x, 0xfff0, 512, true); /* wraps inside the 64 KiB page */
    assert_int_equal(fx_rw(x, 0x06, 0, 0, 1, 2, 18, res), 7);
    assert_int_equal(ram(x, 0xffff, 1)[0], 0);
    assert_int_equal(ram(x, 0x0000, 1)[0], 0);
    /* a masked channel: overrun */
    fx_out(x, 0x0a, 0x06);
    assert_int_equal(fx_rw(x, 0x06, 0, 0, 1, 2, 18, res), 7);
    assert_int_equal(res[1], 0x10);
    /* non-DMA mode: not supported, overrun */
    uint8_t spec[3] = {0x03, 0xdf, 0x03};
    fx_cmd(x, spec, 3);
    fx_dma(x, BUF, 512, true);
    assert_int_equal(fx_rw(x, 0x06, 0, 0, 1, 2, 18, res), 7);
    assert_int_equal(res[1], 0x10);
}

static void test_reset_during_exec(void **state)
{
    struct fx *x = *state;
    uint8_t cmd[9] = {0x46, 0, 0, 0, 1, 2, 18, 0x1b, 0xff};
    fx_dma(x, BUF, 512, true);
    fx_cmd(x, cmd, 9);
    assert_int_equal(fx_in(x, 0x3f4), 0x10); /* busy, no byte wanted */
    fx_out(x, 0x3f5, 0x10);                  /* dropped */
    fdc_service(x->fdc);
    x->kicks = 0;
    fx_out(x, 0x3f4, 0x80); /* reset while the request is in flight */
    blk_mem_complete(x->disk, 16);
    assert_int_equal(ram(x, BUF, 1)[0], 0); /* the completion moved nothing */
    for (unsigned i = 0; i < 4; i++)
        assert_int_equal(fx_sense_int(x, NULL), 0xc0 | i);
    /* a failing disk: data error */
    blk_mem_set_submit_error(x->disk, -EIO);
    fx_dma(x, BUF, 512, true);
    uint8_t res[7];
    assert_int_equal(fx_rw(x, 0x06, 0, 0, 1, 2, 18, res), 7);
    assert_int_equal(res[1], 0x20);
    blk_mem_set_submit_error(x->disk, 0);
}

/* "Command, reset" repeated never queues more than one event-loop call: the one pending serves
 * the last plan. A kick that cannot be queued ends the command (overrun) instead of leaving
 * the controller busy for ever. */
static void test_one_kick_pending(void **state)
{
    struct fx *x = *state;
    uint8_t cmd[9] = {0x46, 0, 0, 0, 1, 2, 18, 0x1b, 0xff};
    uint8_t res[7];
    for (unsigned i = 0; i < 100; i++) {
        fx_dma(x, BUF, 512, true);
        fx_cmd(x, cmd, 9);
        fx_out(x, 0x3f4, 0x80); /* reset */
        for (unsigned d = 0; d < 4; d++)
            (void)fx_sense_int(x, NULL);
    }
    assert_int_equal(x->kicks, 1);
    memset(blk_mem_data(x->disk), 0x3c, 512);
    fx_dma(x, BUF, 512, true);
    cmd[4] = 1;
    fx_cmd(x, cmd, 9); /* no new kick: the pending one serves it */
    assert_int_equal(x->kicks, 1);
    fx_run(x);
    assert_int_equal(fx_result(x, res, 7), 7);
    assert_int_equal(res[0] & 0xc0, 0);
    assert_int_equal(ram(x, BUF, 1)[0], 0x3c);
    /* the next command kicks again */
    fx_dma(x, BUF, 512, true);
    fx_cmd(x, cmd, 9);
    assert_int_equal(x->kicks, 1);
    fx_run(x);
    assert_int_equal(fx_result(x, res, 7), 7);
    /* the kick fails: overrun at once, then the controller works again */
    x->kick_error = -ENOMEM;
    fx_dma(x, BUF, 512, true);
    fx_cmd(x, cmd, 9);
    assert_int_equal(fx_result(x, res, 7), 7);
    assert_int_equal(res[0] & 0xc0, 0x40);
    assert_int_equal(res[1], 0x10);
    x->kick_error = 0;
    fx_dma(x, BUF, 512, true);
    assert_int_equal(fx_rw(x, 0x06, 0, 0, 1, 2, 18, res), 7);
    assert_int_equal(res[0] & 0xc0, 0);
}

static void test_format_and_read_id(void **state)
{
    struct fx *x = *state;
    uint8_t res[7], *ids = ram(x, BUF, 18 * 4);
    for (unsigned i = 0; i < 18; i++) {
        ids[i * 4] = 5;
        ids[i * 4 + 1] = 1;
        ids[i * 4 + 2] = (uint8_t)(i + 1);
        ids[i * 4 + 3] = 2;
    }
    fx_seek(x, 1, 5);
    fx_dma(x, BUF, 18 * 4, false);
    uint8_t fmt[6] = {0x4d, 0x04, 2, 18, 0x54, 0xf6};
    fx_cmd(x, fmt, 6);
    fx_run(x);
    assert_int_equal(fx_result(x, res, 7), 7);
    assert_int_equal(res[0], 0x04);
    uint8_t *d = blk_mem_data(x->disk) + (5u * 2 + 1) * 18 * 512;
    assert_int_equal(d[0], 0xf6);
    assert_int_equal(d[18 * 512 - 1], 0xf6);
    assert_int_equal(d[18 * 512], (uint8_t)(12 * 18));
    /* a layout other than the image's */
    uint8_t bad[6] = {0x4d, 0x00, 2, 21, 0x54, 0xf6};
    fx_dma(x, BUF, 21 * 4, false);
    fx_cmd(x, bad, 6);
    assert_int_equal(fx_result(x, res, 7), 7);
    assert_int_equal(res[1], 0x04);
    uint8_t rid[2] = {0x4a, 0x04};
    fx_cmd(x, rid, 2);
    assert_int_equal(fx_result(x, res, 7), 7);
    assert_int_equal(res[0], 0x04);
    assert_int_equal(res[3], 5);
    assert_true(res[5] >= 1 && res[5] <= 18);
    /* the wrong data rate: no address mark */
    fx_out(x, 0x3f7, 0x03);
    fx_cmd(x, rid, 2);
    assert_int_equal(fx_result(x, res, 7), 7);
    assert_int_equal(res[1], 0x01);
}

static void test_media_change(void **state)
{
    struct fx *x = *state;
    uint8_t res[7];
    fx_out(x, 0x3f2, 0x1c);
    assert_int_equal(fx_in(x, 0x3f7), 0x80); /* changed since power-on */
    fx_seek(x, 0, 1);
    assert_int_equal(fx_in(x, 0x3f7), 0x00); /* a step clears it */
    assert_int_equal(fdc_change_media(x->fdc, NULL, false), 0);
    x->disk = NULL;
    assert_false(fdc_has_media(x->fdc));
    assert_int_equal(fx_in(x, 0x3f7), 0x80);
    fx_seek(x, 0, 0);
    assert_int_equal(fx_in(x, 0x3f7), 0x80); /* no disk: the line stays */
    fx_dma(x, BUF, 512, true);
    assert_int_equal(fx_rw(x, 0x06, 0, 0, 1, 2, 18, res), 7);
    assert_int_equal(res[1], 0x01);
    struct blk *bad = blk_mem_create(123 * 512, false);
    assert_int_equal(fdc_change_media(x->fdc, bad, false), -EINVAL);
    blk_close(bad);
    /* a 2.88M disk at 1 Mb/s */
    x->disk = fx_disk(2949120, false);
    assert_int_equal(fdc_change_media(x->fdc, x->disk, false), 0);
    fx_seek(x, 0, 1);
    assert_int_equal(fx_in(x, 0x3f7), 0x00);
    fx_out(x, 0x3f7, 0x03);
    fx_dma(x, BUF, 512, true);
    assert_int_equal(fx_rw(x, 0x06, 1, 0, 36, 2, 36, res), 7);
    assert_int_equal(res[0], 0x00);
    assert_int_equal(ram(x, BUF, 1)[0], (uint8_t)(72 + 35));
    /* ejected while a request is in flight: the request completes, then the disk goes */
    uint8_t cmd[9] = {0x46, 0, 1, 0, 1, 2, 36, 0x1b, 0xff};
    fx_dma(x, BUF, 512, true);
    fx_cmd(x, cmd, 9);
    fdc_service(x->fdc);
    x->kicks = 0;
    assert_int_equal(fdc_change_media(x->fdc, NULL, false), 0);
    x->disk = NULL;
    assert_int_equal(fx_result(x, res, 7), 7);
    /* ejected before the loop ran: no disk */
    fx_dma(x, BUF, 512, true);
    x->disk = fx_disk(FX_DISK, false);
    assert_int_equal(fdc_change_media(x->fdc, x->disk, false), 0);
    fx_out(x, 0x3f7, 0x00);
    fx_cmd(x, cmd, 9);
    assert_int_equal(fdc_change_media(x->fdc, NULL, false), 0);
    x->disk = NULL;
    fx_run(x);
    assert_int_equal(fx_result(x, res, 7), 7);
    assert_int_equal(res[1], 0x01);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_read, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_read_multitrack, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_write, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_hostile_chs, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_hostile_dma, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_reset_during_exec, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_one_kick_pending, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_format_and_read_id, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_media_change, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

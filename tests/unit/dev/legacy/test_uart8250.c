/* SPDX-License-Identifier: MIT */
/* Unit tests for dev/legacy/uart8250.c: registers, FIFO, interrupts, loopback, room callback. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/x86/layout.h"
#include "dev/legacy/uart8250.h"
#include "fake_platform.h"

struct sink {
    uint8_t buf[256];
    size_t len;
    unsigned room_calls;
};

static void sink_tx(void *opaque, const uint8_t *buf, size_t len)
{
    struct sink *s = opaque;
    for (size_t i = 0; i < len && s->len < sizeof(s->buf); i++)
        s->buf[s->len++] = buf[i];
}

static void sink_room(void *opaque)
{
    struct sink *s = opaque;
    s->room_calls++;
}

struct ctx {
    struct fake_platform fp;
    struct uart8250 *u;
    struct sink sink;
};

static int setup(void **state)
{
    struct ctx *c = calloc(1, sizeof(*c));
    fake_platform_init(&c->fp);
    assert_int_equal(uart8250_create(&c->fp.plat, GSI_COM1, &c->u), 0);
    uart8250_set_tx(c->u, sink_tx, &c->sink);
    uart8250_set_room(c->u, sink_room, &c->sink);
    *state = c;
    return 0;
}

static int teardown(void **state)
{
    struct ctx *c = *state;
    uart8250_destroy(c->u);
    fake_platform_fini(&c->fp);
    free(c);
    return 0;
}

static uint8_t rd(struct ctx *c, unsigned off)
{
    return (uint8_t)uart8250_io_ops.read(c->u, off, 1);
}

static void wr(struct ctx *c, unsigned off, uint8_t v)
{
    uart8250_io_ops.write(c->u, off, v, 1);
}

static bool irq(struct ctx *c)
{
    return fake_platform_irq(&c->fp, GSI_COM1);
}

static void test_reset_values_and_dlab(void **state)
{
    struct ctx *c = *state;
    assert_int_equal(rd(c, 5), 0x60); /* THRE | TEMT */
    assert_int_equal(rd(c, 2), 0x01); /* no interrupt, FIFOs off */
    assert_int_equal(rd(c, 6) & 0xf0, 0xb0);
    wr(c, 3, 0x83);
    wr(c, 0, 0x01);
    wr(c, 1, 0x02);
    assert_int_equal(rd(c, 0), 0x01);
    assert_int_equal(rd(c, 1), 0x02);
    wr(c, 3, 0x03);
    assert_int_equal(rd(c, 3), 0x03);
    assert_int_equal(rd(c, 1), 0x00); /* IER, not DLM */
    wr(c, 1, 0xff);
    assert_int_equal(rd(c, 1), 0x0f);
    wr(c, 1, 0);
    wr(c, 7, 0x5a);
    assert_int_equal(rd(c, 7), 0x5a);
    assert_int_equal(c->sink.len, 0);
    /* wrong sizes are ignored */
    assert_int_equal(uart8250_io_ops.read(c->u, 0, 2), UINT64_MAX);
}

static void test_tx_and_thre_interrupt(void **state)
{
    struct ctx *c = *state;
    wr(c, 0, 'h');
    wr(c, 0, 'i');
    assert_int_equal(c->sink.len, 2);
    assert_memory_equal(c->sink.buf, "hi", 2);
    assert_false(irq(c));
    wr(c, 1, 0x02); /* ETBEI: THR empty -> interrupt */
    assert_true(irq(c));
    assert_int_equal(rd(c, 2), 0x02);
    assert_false(irq(c)); /* IIR read cleared THRE */
    assert_int_equal(rd(c, 2), 0x01);
    wr(c, 0, 'x'); /* THR write, instantly empty again */
    assert_true(irq(c));
    wr(c, 1, 0x00);
    assert_false(irq(c));
}

static void test_rx_fifo_and_interrupts(void **state)
{
    struct ctx *c = *state;
    uint8_t in[20];
    for (unsigned i = 0; i < sizeof(in); i++)
        in[i] = (uint8_t)('a' + i);
    /* FIFOs off: one byte of room */
    assert_int_equal(uart8250_receive(c->u, in, 3), 1);
    assert_int_equal(rd(c, 5) & 1, 1);
    assert_false(irq(c)); /* ERBFI off */
    wr(c, 1, 0x01);
    assert_true(irq(c));
    assert_int_equal(rd(c, 2), 0x04);
    assert_int_equal(c->sink.room_calls, 0);
    assert_int_equal(rd(c, 0), 'a');
    assert_int_equal(c->sink.room_calls, 1); /* a short receive asked for room */
    assert_false(irq(c));
    assert_int_equal(rd(c, 5) & 1, 0);

    /* FIFOs on, trigger level 8 */
    wr(c, 2, 0x81);
    assert_int_equal(rd(c, 2), 0xc1);
    assert_int_equal(uart8250_rx_room(c->u), 16);
    assert_int_equal(uart8250_receive(c->u, in, 4), 4);
    assert_true(irq(c));
    assert_int_equal(rd(c, 2), 0xcc); /* below trigger: character timeout */
    assert_int_equal(uart8250_receive(c->u, in + 4, 16), 12);
    assert_int_equal(rd(c, 2), 0xc4);
    for (unsigned i = 0; i < 16; i++)
        assert_int_equal(rd(c, 0), 'a' + i);
    assert_false(irq(c));
    assert_int_equal(c->sink.room_calls, 2);
    /* FCR clear-RX drops queued bytes */
    assert_int_equal(uart8250_receive(c->u, in, 5), 5);
    wr(c, 2, 0x83);
    assert_int_equal(rd(c, 5) & 1, 0);
    assert_false(irq(c));
}

static void test_loopback_and_msr(void **state)
{
    struct ctx *c = *state;
    /* Linux autoconfig's loopback check: LOOP|RTS|OUT2 reads back CTS|DCD */
    wr(c, 4, 0x1a);
    assert_int_equal(rd(c, 6) & 0xf0, 0x90);
    wr(c, 1, 0x08); /* EDSSI */
    wr(c, 4, 0x1b); /* DTR -> DSR changes */
    assert_true(irq(c));
    assert_int_equal(rd(c, 2), 0x00);
    assert_int_equal(rd(c, 6), 0x92 | 0x20); /* DDSR + DSR|CTS|DCD */
    assert_false(irq(c));
    /* TERI on the trailing edge of RI (OUT1) only */
    wr(c, 4, 0x1f);
    assert_int_equal(rd(c, 6) & 0x0f, 0);
    wr(c, 4, 0x1b);
    assert_int_equal(rd(c, 6) & 0x0f, 0x04);
    wr(c, 1, 0x01);
    /* looped-back bytes land in the receiver, not the sink; input is refused */
    uint8_t b = 'z';
    assert_int_equal(uart8250_receive(c->u, &b, 1), 0);
    wr(c, 0, 'q');
    assert_int_equal(c->sink.len, 0);
    assert_true(irq(c));
    wr(c, 0, 'r'); /* 1-byte holding register is full: overrun */
    wr(c, 1, 0x05);
    assert_int_equal(rd(c, 2), 0x06); /* line status has priority */
    assert_int_equal(rd(c, 5) & 0x03, 0x03);
    assert_int_equal(rd(c, 5) & 0x02, 0);
    assert_int_equal(rd(c, 0), 'q');
    assert_false(irq(c));
    wr(c, 4, 0x0b); /* loop off: the refused input may come now */
    assert_int_equal(c->sink.room_calls, 1);
    assert_int_equal(uart8250_receive(c->u, &b, 1), 1);
}

static void test_save_load(void **state)
{
    struct ctx *c = *state;
    struct uart8250_state st;
    wr(c, 2, 0x01);
    wr(c, 1, 0x01);
    assert_int_equal(uart8250_receive(c->u, (const uint8_t *)"ab", 2), 2);
    uart8250_save(c->u, &st);
    assert_int_equal(rd(c, 0), 'a');
    assert_int_equal(rd(c, 0), 'b');
    assert_false(irq(c));
    assert_int_equal(uart8250_load(c->u, &st), 0);
    assert_true(irq(c));
    assert_int_equal(rd(c, 0), 'a');
    st.rx_count = 17;
    assert_int_equal(uart8250_load(c->u, &st), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_reset_values_and_dlab, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tx_and_thre_interrupt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rx_fifo_and_interrupts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_loopback_and_msr, setup, teardown),
        cmocka_unit_test_setup_teardown(test_save_load, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

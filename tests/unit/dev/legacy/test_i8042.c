/* SPDX-License-Identifier: MIT */
/* Unit tests for dev/legacy/i8042.c: controller commands, keyboard/mouse protocol, IRQs, reset. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>

#include "core/x86/layout.h"
#include "dev/bus.h"
#include "dev/input/keymap.h"
#include "dev/legacy/i8042.h"
#include "fake_platform.h"

struct ctx {
    struct fake_platform fp;
    struct i8042 *k;
    struct bus *pio;
};

static int setup(void **state)
{
    struct ctx *c = calloc(1, sizeof(*c));
    fake_platform_init(&c->fp);
    assert_int_equal(i8042_create(&c->fp.plat, &c->k), 0);
    assert_int_equal(bus_create("pio", &c->pio), 0);
    assert_int_equal(i8042_attach(c->k, c->pio), 0);
    *state = c;
    return 0;
}

static int teardown(void **state)
{
    struct ctx *c = *state;
    bus_destroy(c->pio);
    i8042_destroy(c->k);
    fake_platform_fini(&c->fp);
    free(c);
    return 0;
}

static uint8_t inb(struct ctx *c, uint16_t port)
{
    uint64_t v;
    assert_true(bus_read(c->pio, port, 1, &v));
    return (uint8_t)v;
}

static void outb(struct ctx *c, uint16_t port, uint8_t v)
{
    assert_true(bus_write(c->pio, port, 1, v));
}

static uint8_t status(struct ctx *c)
{
    return inb(c, PORT_I8042_CMD);
}

/* Reads one byte, checking that the output buffer was full. */
static uint8_t read_data(struct ctx *c)
{
    assert_true(status(c) & 1);
    return inb(c, PORT_I8042_DATA);
}

static void test_controller_commands(void **state)
{
    struct ctx *c = *state;
    uint64_t v;
    assert_false(bus_read(c->pio, 0x61, 1, &v)); /* only 0x60 and 0x64 are claimed */
    assert_int_equal(status(c) & 1, 0);
    outb(c, PORT_I8042_CMD, 0xaa);
    assert_int_equal(read_data(c), 0x55);
    assert_int_equal(status(c) & 1, 0);
    outb(c, PORT_I8042_CMD, 0xab);
    assert_int_equal(read_data(c), 0x00);
    outb(c, PORT_I8042_CMD, 0xa9);
    assert_int_equal(read_data(c), 0x00);
    /* command byte round trip (with interrupts off, as Linux does while probing) */
    outb(c, PORT_I8042_CMD, 0x60);
    outb(c, PORT_I8042_DATA, 0x44);
    outb(c, PORT_I8042_CMD, 0x20);
    assert_int_equal(read_data(c), 0x44);
    /* disable/enable the ports through commands: visible in the command byte */
    outb(c, PORT_I8042_CMD, 0xad);
    outb(c, PORT_I8042_CMD, 0xa7);
    outb(c, PORT_I8042_CMD, 0x20);
    assert_int_equal(read_data(c), 0x74);
    outb(c, PORT_I8042_CMD, 0xae);
    outb(c, PORT_I8042_CMD, 0xa8);
    outb(c, PORT_I8042_CMD, 0x20);
    assert_int_equal(read_data(c), 0x44);
    /* Linux's MUX probe: echoed values mean "no active multiplexing" */
    const uint8_t probe[] = {0xf0, 0x56, 0xa4};
    for (unsigned i = 0; i < 3; i++) {
        outb(c, PORT_I8042_CMD, 0xd3);
        outb(c, PORT_I8042_DATA, probe[i]);
        assert_int_equal(status(c) & 0x21, 0x21); /* from aux */
        assert_int_equal(inb(c, PORT_I8042_DATA), probe[i]);
    }
    assert_int_equal(c->fp.n_reset, 0);
}

static void test_reset_pulse(void **state)
{
    struct ctx *c = *state;
    outb(c, PORT_I8042_CMD, 0xff); /* no line pulsed */
    assert_int_equal(c->fp.n_reset, 0);
    outb(c, PORT_ACPI_RESET, ACPI_RESET_VALUE);
    assert_int_equal(c->fp.n_reset, 1);
    outb(c, PORT_I8042_CMD, 0xd1); /* output port write with the reset line low */
    outb(c, PORT_I8042_DATA, 0x02);
    assert_int_equal(c->fp.n_reset, 2);
    outb(c, PORT_I8042_CMD, 0xd1);
    outb(c, PORT_I8042_DATA, 0x03);
    assert_int_equal(c->fp.n_reset, 2);
}

static void test_keyboard(void **state)
{
    struct ctx *c = *state;
    outb(c, PORT_I8042_DATA, 0xff);
    assert_true(fake_platform_irq(&c->fp, GSI_I8042_KBD));
    assert_int_equal(read_data(c), 0xfa);
    assert_true(fake_platform_irq(&c->fp, GSI_I8042_KBD)); /* next byte, new edge */
    assert_int_equal(read_data(c), 0xaa);
    assert_false(fake_platform_irq(&c->fp, GSI_I8042_KBD));
    assert_int_equal(c->fp.irq_raises[GSI_I8042_KBD], 2);
    outb(c, PORT_I8042_DATA, 0xf2);
    assert_int_equal(read_data(c), 0xfa);
    assert_int_equal(read_data(c), 0xab);
    assert_int_equal(read_data(c), 0x41);
    outb(c, PORT_I8042_DATA, 0xed);
    assert_int_equal(read_data(c), 0xfa);
    outb(c, PORT_I8042_DATA, 0x07);
    assert_int_equal(read_data(c), 0xfa);
    outb(c, PORT_I8042_DATA, 0xee);
    assert_int_equal(read_data(c), 0xee);
    outb(c, PORT_I8042_DATA, 0x12);
    assert_int_equal(read_data(c), 0xfe);
    /* scan codes; held back while the keyboard port is disabled */
    outb(c, PORT_I8042_CMD, 0xad);
    const uint8_t codes[] = {0x1e, 0x9e};
    assert_int_equal(i8042_queue_kbd(c->k, codes, 2), 2);
    assert_int_equal(status(c) & 1, 0);
    outb(c, PORT_I8042_CMD, 0xae);
    assert_int_equal(read_data(c), 0x1e);
    assert_int_equal(read_data(c), 0x9e);
    /* scanning disabled: input dropped */
    outb(c, PORT_I8042_DATA, 0xf5);
    assert_int_equal(read_data(c), 0xfa);
    assert_int_equal(i8042_queue_kbd(c->k, codes, 2), 0);
    /* with KBD interrupts off in the command byte the line stays low */
    outb(c, PORT_I8042_CMD, 0x60);
    outb(c, PORT_I8042_DATA, 0x46);
    outb(c, PORT_I8042_DATA, 0xf4);
    assert_int_equal(status(c) & 1, 1);
    assert_false(fake_platform_irq(&c->fp, GSI_I8042_KBD));
    assert_int_equal(inb(c, PORT_I8042_DATA), 0xfa);
}

static void test_mouse(void **state)
{
    struct ctx *c = *state;
    outb(c, PORT_I8042_CMD, 0xd4);
    outb(c, PORT_I8042_DATA, 0xff);
    assert_true(fake_platform_irq(&c->fp, GSI_I8042_AUX));
    assert_false(fake_platform_irq(&c->fp, GSI_I8042_KBD));
    assert_int_equal(status(c) & 0x21, 0x21);
    assert_int_equal(read_data(c), 0xfa);
    assert_int_equal(read_data(c), 0xaa);
    assert_int_equal(read_data(c), 0x00);
    assert_false(fake_platform_irq(&c->fp, GSI_I8042_AUX));
    outb(c, PORT_I8042_CMD, 0xd4);
    outb(c, PORT_I8042_DATA, 0xf2);
    assert_int_equal(read_data(c), 0xfa);
    assert_int_equal(read_data(c), 0x00);
    outb(c, PORT_I8042_CMD, 0xd4);
    outb(c, PORT_I8042_DATA, 0xf3);
    assert_int_equal(read_data(c), 0xfa);
    outb(c, PORT_I8042_CMD, 0xd4);
    outb(c, PORT_I8042_DATA, 200);
    assert_int_equal(read_data(c), 0xfa);
    outb(c, PORT_I8042_CMD, 0xd4);
    outb(c, PORT_I8042_DATA, 0xe9);
    assert_int_equal(read_data(c), 0xfa);
    assert_int_equal(read_data(c), 0x00);
    assert_int_equal(read_data(c), 0x02);
    assert_int_equal(read_data(c), 200);
    const uint8_t pkt[] = {0x08, 0x01, 0x02};
    assert_int_equal(i8042_queue_aux(c->k, pkt, 3), 0); /* not reporting yet */
    outb(c, PORT_I8042_CMD, 0xd4);
    outb(c, PORT_I8042_DATA, 0xf4);
    assert_int_equal(read_data(c), 0xfa);
    assert_int_equal(i8042_queue_aux(c->k, pkt, 3), 3);
    for (unsigned i = 0; i < 3; i++)
        assert_int_equal(read_data(c), pkt[i]);
}

/* Host keys become scan codes of the set the guest chose, translated to set 1 by default. */
static void test_kbd_keys(void **state)
{
    struct ctx *c = *state;
    const struct keymap_entry *a = keymap_find_keysym('a'), *del = keymap_find_name("delete");
    struct i8042_state st;
    assert_true(i8042_kbd_key(c->k, a, true));
    assert_true(fake_platform_irq(&c->fp, GSI_I8042_KBD));
    assert_int_equal(read_data(c), 0x1e);
    assert_true(i8042_kbd_key(c->k, a, false));
    assert_int_equal(read_data(c), 0x9e);
    assert_true(i8042_kbd_key(c->k, del, false));
    assert_int_equal(read_data(c), 0xe0);
    assert_int_equal(read_data(c), 0xd3);
    /* translation off: set 2 */
    outb(c, PORT_I8042_CMD, 0x60);
    outb(c, PORT_I8042_DATA, 0x07);
    assert_true(i8042_kbd_key(c->k, a, false));
    assert_int_equal(read_data(c), 0xf0);
    assert_int_equal(read_data(c), 0x1c);
    assert_true(i8042_kbd_key(c->k, del, true));
    assert_int_equal(read_data(c), 0xe0);
    assert_int_equal(read_data(c), 0x71);
    /* get set, select set 1, a bad set */
    outb(c, PORT_I8042_DATA, 0xf0);
    assert_int_equal(read_data(c), 0xfa);
    outb(c, PORT_I8042_DATA, 0x00);
    assert_int_equal(read_data(c), 0xfa);
    assert_int_equal(read_data(c), 0x02);
    outb(c, PORT_I8042_DATA, 0xf0);
    assert_int_equal(read_data(c), 0xfa);
    outb(c, PORT_I8042_DATA, 0x01);
    assert_int_equal(read_data(c), 0xfa);
    assert_true(i8042_kbd_key(c->k, a, false));
    assert_int_equal(read_data(c), 0x9e);
    outb(c, PORT_I8042_DATA, 0xf0);
    assert_int_equal(read_data(c), 0xfa);
    outb(c, PORT_I8042_DATA, 0x05);
    assert_int_equal(read_data(c), 0xfe);
    /* typematic and LEDs are kept */
    outb(c, PORT_I8042_DATA, 0xf3);
    assert_int_equal(read_data(c), 0xfa);
    outb(c, PORT_I8042_DATA, 0x20);
    assert_int_equal(read_data(c), 0xfa);
    outb(c, PORT_I8042_DATA, 0xed);
    assert_int_equal(read_data(c), 0xfa);
    outb(c, PORT_I8042_DATA, 0x02);
    assert_int_equal(read_data(c), 0xfa);
    i8042_save(c->k, &st);
    assert_int_equal(st.kbd_typematic, 0x20);
    assert_int_equal(st.kbd_leds, 2);
    assert_int_equal(st.kbd_set, 1);
    /* reset: set 2 again */
    outb(c, PORT_I8042_DATA, 0xff);
    assert_int_equal(read_data(c), 0xfa);
    assert_int_equal(read_data(c), 0xaa);
    assert_true(i8042_kbd_key(c->k, a, true));
    assert_int_equal(read_data(c), 0x1c);
    /* scanning off: dropped */
    outb(c, PORT_I8042_DATA, 0xf5);
    assert_int_equal(read_data(c), 0xfa);
    assert_false(i8042_kbd_key(c->k, a, true));
    assert_int_equal(status(c) & 1, 0);
}

/* A flood of keys fills the queue and the rest is dropped; never half a code. */
static void test_kbd_flood(void **state)
{
    struct ctx *c = *state;
    const struct keymap_entry *del = keymap_find_name("delete");
    struct i8042_state st;
    unsigned sent = 0, got = 0;
    for (unsigned i = 0; i < 10000; i++)
        sent += i8042_kbd_key(c->k, del, (i & 1) == 0);
    /* one byte sits in the output buffer, 64 in the queue: 32 codes of two bytes in all */
    assert_int_equal(sent, 32);
    i8042_save(c->k, &st);
    assert_true(st.kbd_q.count <= I8042_QUEUE_SIZE);
    while (status(c) & 1) {
        uint8_t b = inb(c, PORT_I8042_DATA);
        assert_int_equal(b, got % 2 == 0 ? 0xe0 : (got / 2) % 2 == 0 ? 0x53 : 0xd3);
        got++;
    }
    assert_int_equal(got, 64);
}

static void mouse_cmd(struct ctx *c, uint8_t b)
{
    outb(c, PORT_I8042_CMD, 0xd4);
    outb(c, PORT_I8042_DATA, b);
    assert_int_equal(read_data(c), 0xfa);
}

static void test_mouse_packets(void **state)
{
    struct ctx *c = *state;
    assert_false(i8042_aux_motion(c->k, 1, 1, 0, 0)); /* reporting off */
    mouse_cmd(c, 0xf4);
    assert_true(i8042_aux_motion(c->k, 5, -3, 1, 1));
    assert_true(fake_platform_irq(&c->fp, GSI_I8042_AUX));
    assert_int_equal(read_data(c), 0x09);
    assert_int_equal(read_data(c), 5);
    assert_int_equal(read_data(c), 3); /* screen up is PS/2 +Y */
    assert_false(status(c) & 1);       /* no wheel byte */
    assert_true(i8042_aux_motion(c->k, -300, 2, 0, 6));
    assert_int_equal(read_data(c), 0x08 | 0x10 | 0x20 | 6);
    assert_int_equal(read_data(c), 0x01); /* -255 */
    assert_int_equal(read_data(c), 0xfe); /* -2 */
    assert_int_equal(read_data(c), 0x08 | 0x10 | 6);
    assert_int_equal(read_data(c), 0xd3); /* -45 */
    assert_int_equal(read_data(c), 0x00);
    /* a huge move is bounded by the queue */
    assert_true(i8042_aux_motion(c->k, INT32_MAX, INT32_MIN, 0, 0));
    unsigned n = 0;
    while (status(c) & 1) {
        (void)inb(c, PORT_I8042_DATA);
        n++;
    }
    assert_true(n > 0 && n <= I8042_QUEUE_SIZE + 1 && n % 3 == 0);
}

/* Sample rates 200, 100, 80 make an IntelliMouse: ID 3 and a wheel byte; reset undoes it. */
static void test_intellimouse(void **state)
{
    struct ctx *c = *state;
    static const uint8_t wrong[] = {200, 80, 100}, right[] = {200, 100, 80};
    for (unsigned i = 0; i < 3; i++) {
        mouse_cmd(c, 0xf3);
        mouse_cmd(c, wrong[i]);
    }
    mouse_cmd(c, 0xf2);
    assert_int_equal(read_data(c), 0x00);
    for (unsigned i = 0; i < 3; i++) {
        mouse_cmd(c, 0xf3);
        mouse_cmd(c, right[i]);
    }
    mouse_cmd(c, 0xf2);
    assert_int_equal(read_data(c), 0x03);
    mouse_cmd(c, 0xf4);
    assert_true(i8042_aux_motion(c->k, 0, 0, -1, 4));
    assert_int_equal(read_data(c), 0x0c);
    assert_int_equal(read_data(c), 0);
    assert_int_equal(read_data(c), 0);
    assert_int_equal(read_data(c), 0xff);
    assert_true(i8042_aux_motion(c->k, 0, 0, 100, 0));
    for (unsigned i = 0; i < 3; i++)
        (void)read_data(c);
    assert_int_equal(read_data(c), 7); /* clamped to the 4-bit range */
    mouse_cmd(c, 0xff);
    assert_int_equal(read_data(c), 0xaa);
    assert_int_equal(read_data(c), 0x00);
    mouse_cmd(c, 0xf2);
    assert_int_equal(read_data(c), 0x00);
}

static void test_save_load(void **state)
{
    struct ctx *c = *state;
    struct i8042_state st;
    outb(c, PORT_I8042_DATA, 0xff); /* FA AA pending */
    i8042_save(c->k, &st);
    assert_int_equal(read_data(c), 0xfa);
    assert_int_equal(read_data(c), 0xaa);
    assert_false(fake_platform_irq(&c->fp, GSI_I8042_KBD));
    assert_int_equal(i8042_load(c->k, &st), 0);
    assert_true(fake_platform_irq(&c->fp, GSI_I8042_KBD));
    assert_int_equal(read_data(c), 0xfa);
    assert_int_equal(read_data(c), 0xaa);
    st.kbd_q.count = 65;
    assert_int_equal(i8042_load(c->k, &st), -EINVAL);
    st.kbd_q.count = 0;
    st.aux_q.head = 64;
    assert_int_equal(i8042_load(c->k, &st), -EINVAL);
    st.aux_q.head = 0;
    st.aux_id = 4;
    assert_int_equal(i8042_load(c->k, &st), -EINVAL);
    st.aux_id = 3;
    st.kbd_set = 0;
    assert_int_equal(i8042_load(c->k, &st), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_controller_commands, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reset_pulse, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keyboard, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mouse, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kbd_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kbd_flood, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mouse_packets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_intellimouse, setup, teardown),
        cmocka_unit_test_setup_teardown(test_save_load, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

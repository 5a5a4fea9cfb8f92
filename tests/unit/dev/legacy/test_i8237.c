/* SPDX-License-Identifier: MIT */
/* Unit tests for dev/legacy/i8237.c: registers, transfers, terminal count, auto-initialise, the
 * page wrap of both widths and a guest that points a channel outside RAM. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/statefile.h"
#include "core/gmem.h"
#include "dev/bus.h"
#include "dev/legacy/i8237.h"

#define RAM (1u << 20)

struct t {
    struct gmem *gm;
    struct i8237 *d;
    struct bus *pio;
};

static int setup(void **state)
{
    struct t *t = calloc(1, sizeof(*t));
    assert_int_equal(gmem_create(&t->gm), 0);
    assert_int_equal(gmem_add_region(t->gm, 0, RAM, "ram", false, NULL), 0);
    assert_int_equal(i8237_create(t->gm, &t->d), 0);
    assert_int_equal(bus_create("pio", &t->pio), 0);
    assert_int_equal(i8237_attach(t->d, t->pio), 0);
    *state = t;
    return 0;
}

static int teardown(void **state)
{
    struct t *t = *state;
    bus_destroy(t->pio);
    i8237_destroy(t->d);
    gmem_destroy(t->gm);
    free(t);
    return 0;
}

static void out(struct t *t, uint16_t port, uint8_t v)
{
    assert_true(bus_write(t->pio, port, 1, v));
}

static uint8_t in(struct t *t, uint16_t port)
{
    uint64_t v;
    assert_true(bus_read(t->pio, port, 1, &v));
    return (uint8_t)v;
}

/* Programs 8-bit channel (ch) 0-3. */
static void prog8(struct t *t, unsigned ch, uint32_t addr, uint16_t count, uint8_t mode)
{
    static const uint16_t page[] = {0x87, 0x83, 0x81, 0x82};
    out(t, 0x0a, (uint8_t)(4 | ch));
    out(t, 0x0c, 0);
    out(t, 0x0b, (uint8_t)(mode | ch));
    out(t, (uint16_t)(ch * 2), (uint8_t)addr);
    out(t, (uint16_t)(ch * 2), (uint8_t)(addr >> 8));
    out(t, page[ch], (uint8_t)(addr >> 16));
    out(t, (uint16_t)(ch * 2 + 1), (uint8_t)count);
    out(t, (uint16_t)(ch * 2 + 1), (uint8_t)(count >> 8));
    out(t, 0x0a, (uint8_t)ch);
}

static void test_registers(void **state)
{
    struct t *t = *state;
    assert_false(i8237_is_armed(t->d, 2)); /* masked after creation */
    prog8(t, 2, 0x12345, 0x1ff, I8237_MODE_WRITE);
    assert_true(i8237_is_armed(t->d, 2));
    assert_int_equal(i8237_remaining(t->d, 2), 0x200);
    out(t, 0x0c, 0); /* the flip-flop: low byte first */
    assert_int_equal(in(t, 0x04), 0x45);
    assert_int_equal(in(t, 0x04), 0x23);
    assert_int_equal(in(t, 0x81), 0x01);
    assert_int_equal(in(t, 0x0f) & 0x0f, 0x0b); /* only channel 2 unmasked */
    out(t, 0x0d, 0);                            /* master clear masks all */
    assert_false(i8237_is_armed(t->d, 2));
    out(t, 0x0e, 0); /* clear all masks */
    assert_true(i8237_is_armed(t->d, 2));
    out(t, 0x80, 0x55); /* the POST port is a scratch byte */
    assert_int_equal(in(t, 0x80), 0x55);
    assert_false(i8237_is_armed(t->d, 4)); /* the cascade channel never transfers */
    assert_false(i8237_is_armed(t->d, 99));
}

static void test_transfer_tc(void **state)
{
    struct t *t = *state;
    uint8_t buf[600], *mem = gmem_ptr(t->gm, 0x20000, 512);
    bool tc;
    memset(buf, 0xa5, sizeof(buf));
    prog8(t, 2, 0x20000, 511, I8237_MODE_WRITE);
    assert_int_equal(i8237_transfer(t->d, 2, buf, 100, true, &tc), 100);
    assert_false(tc);
    assert_int_equal(i8237_remaining(t->d, 2), 412);
    /* more than the count: stops at terminal count */
    assert_int_equal(i8237_transfer(t->d, 2, buf, sizeof(buf), true, &tc), 412);
    assert_true(tc);
    assert_int_equal(mem[0], 0xa5);
    assert_int_equal(mem[511], 0xa5);
    assert_int_equal(*(uint8_t *)gmem_ptr(t->gm, 0x20200, 1), 0);
    assert_false(i8237_is_armed(t->d, 2));      /* masked at TC without auto-init */
    assert_int_equal(in(t, 0x08) & 0x04, 0x04); /* TC bit */
    assert_int_equal(in(t, 0x08) & 0x04, 0);    /* cleared by the read */
    assert_int_equal(i8237_transfer(t->d, 2, buf, 1, true, &tc), 0); /* masked: nothing */
}

static void test_autoinit_and_read(void **state)
{
    struct t *t = *state;
    uint8_t buf[8];
    bool tc;
    memcpy(gmem_ptr(t->gm, 0x1000, 4), "abcd", 4);
    prog8(t, 1, 0x1000, 3, I8237_MODE_READ | I8237_MODE_AUTOINIT);
    assert_int_equal(i8237_transfer(t->d, 1, buf, 8, false, &tc), 4);
    assert_true(tc);
    assert_memory_equal(buf, "abcd", 4);
    assert_true(i8237_is_armed(t->d, 1)); /* reloaded */
    assert_int_equal(i8237_transfer(t->d, 1, buf, 2, false, &tc), 2);
    assert_memory_equal(buf, "ab", 2);
    /* a write to memory on a read-mode channel leaves memory alone */
    memset(buf, 'z', sizeof(buf));
    assert_int_equal(i8237_transfer(t->d, 1, buf, 2, true, &tc), 2);
    assert_memory_equal(gmem_ptr(t->gm, 0x1000, 4), "abcd", 4);
}

static void test_wrap_8bit(void **state)
{
    struct t *t = *state;
    uint8_t buf[32];
    bool tc;
    memset(buf, 0x77, sizeof(buf));
    prog8(t, 3, 0x3fff0, 31, I8237_MODE_WRITE);
    assert_int_equal(i8237_transfer(t->d, 3, buf, 32, true, &tc), 32);
    /* the address wraps inside the 64 KiB page, never into the next one */
    assert_int_equal(*(uint8_t *)gmem_ptr(t->gm, 0x3ffff, 1), 0x77);
    assert_int_equal(*(uint8_t *)gmem_ptr(t->gm, 0x30000, 1), 0x77);
    assert_int_equal(*(uint8_t *)gmem_ptr(t->gm, 0x40000, 1), 0);
}

static void test_wrap_16bit(void **state)
{
    struct t *t = *state;
    uint8_t buf[8];
    bool tc;
    memset(buf, 0x66, sizeof(buf));
    /* channel 5: word address 0xfffe (byte 0x1fffc) in the 128 KiB page 0x02-0x03 */
    out(t, 0xd4, 0x05);
    out(t, 0xd8, 0);
    out(t, 0xd6, 0x45); /* single, write, channel 5 */
    out(t, 0xc4, 0xfe);
    out(t, 0xc4, 0xff);
    out(t, 0x8b, 0x03); /* bit 0 of the page is ignored */
    out(t, 0xc6, 3);
    out(t, 0xc6, 0);
    out(t, 0xd4, 0x01);
    assert_int_equal(i8237_remaining(t->d, 5), 8);
    assert_int_equal(i8237_transfer(t->d, 5, buf, 8, true, &tc), 8);
    assert_true(tc);
    assert_int_equal(*(uint8_t *)gmem_ptr(t->gm, 0x3fffc, 1), 0x66);
    assert_int_equal(*(uint8_t *)gmem_ptr(t->gm, 0x20000, 1), 0x66); /* wrapped */
    assert_int_equal(*(uint8_t *)gmem_ptr(t->gm, 0x40000, 1), 0);
}

static void test_outside_ram(void **state)
{
    struct t *t = *state;
    uint8_t buf[64];
    bool tc;
    memset(buf, 0x11, sizeof(buf));
    prog8(t, 2, 0xff0000, 0xffff, I8237_MODE_READ); /* 16 MiB - 64 KiB: no RAM there */
    assert_int_equal(i8237_transfer(t->d, 2, buf, sizeof(buf), false, &tc), sizeof(buf));
    assert_int_equal(buf[0], 0xff); /* reads of nothing */
    prog8(t, 2, 0xff0000, 0xffff, I8237_MODE_WRITE | I8237_MODE_DECREMENT);
    assert_int_equal(i8237_transfer(t->d, 2, buf, sizeof(buf), true, &tc), sizeof(buf));
    assert_int_equal(i8237_transfer(t->d, 99, buf, 1, true, &tc), 0);
}

static void test_state(void **state)
{
    struct t *t = *state;
    struct sf_buf b = {0};
    struct sf_in in;
    prog8(t, 2, 0x12345, 0x1ff, I8237_MODE_WRITE);
    i8237_save(t->d, &b);
    out(t, 0x0d, 0);
    sf_in_init(&in, b.data, b.len);
    assert_int_equal(i8237_load(t->d, &in), 0);
    assert_true(i8237_is_armed(t->d, 2));
    assert_int_equal(i8237_remaining(t->d, 2), 0x200);
    b.data[b.len - 17] = 2; /* a flip-flop that is neither 0 nor 1 */
    sf_in_init(&in, b.data, b.len);
    assert_int_equal(i8237_load(t->d, &in), -EINVAL);
    sf_in_init(&in, b.data, b.len - 1); /* truncated */
    assert_int_equal(i8237_load(t->d, &in), -EINVAL);
    sf_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_registers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_transfer_tc, setup, teardown),
        cmocka_unit_test_setup_teardown(test_autoinit_and_read, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrap_8bit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrap_16bit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_outside_ram, setup, teardown),
        cmocka_unit_test_setup_teardown(test_state, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: MIT */
/* Unit tests for dev/bus.c: dispatch with offsets, overlaps, edges, straddling, unregister. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>

#include "dev/bus.h"

struct rec {
    uint64_t last_off;
    unsigned last_size;
    uint64_t last_val;
    unsigned reads, writes;
    uint64_t read_val;
};

static uint64_t rec_read(void *opaque, uint64_t off, unsigned size)
{
    struct rec *r = opaque;
    r->last_off = off;
    r->last_size = size;
    r->reads++;
    return r->read_val;
}

static void rec_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    struct rec *r = opaque;
    r->last_off = off;
    r->last_size = size;
    r->last_val = val;
    r->writes++;
}

static const struct io_ops rec_ops = {rec_read, rec_write};

static void test_dispatch(void **state)
{
    (void)state;
    struct bus *bus;
    struct rec a = {.read_val = 0x1122334455667788ULL}, b = {.read_val = 0xab};
    uint64_t v;

    assert_int_equal(bus_create("pio", &bus), 0);
    assert_int_equal(bus_register(bus, 0x3f8, 8, &rec_ops, &a, "a"), 0);
    assert_int_equal(bus_register(bus, 0x60, 1, &rec_ops, &b, "b"), 0);
    assert_true(bus_read(bus, 0x3fa, 1, &v));
    assert_int_equal(v, 0x88);
    assert_int_equal(a.last_off, 2);
    assert_int_equal(a.last_size, 1);
    assert_true(bus_read(bus, 0x3f8, 8, &v));
    assert_int_equal(v, 0x1122334455667788ULL);
    assert_true(bus_read(bus, 0x3fc, 4, &v));
    assert_int_equal(v, 0x55667788);
    assert_true(bus_write(bus, 0x3ff, 1, 0x1ff));
    assert_int_equal(a.last_off, 7);
    assert_int_equal(a.last_val, 0xff);
    assert_true(bus_read(bus, 0x60, 1, &v));
    assert_int_equal(v, 0xab);
    assert_int_equal(b.reads, 1);
    /* unclaimed */
    assert_false(bus_read(bus, 0x61, 1, &v));
    assert_int_equal(v, 0xff);
    assert_false(bus_read(bus, 0x1000, 2, &v));
    assert_int_equal(v, 0xffff);
    assert_false(bus_read(bus, 0x1000, 4, &v));
    assert_int_equal(v, 0xffffffffULL);
    assert_false(bus_read(bus, 0x1000, 8, &v));
    assert_int_equal(v, UINT64_MAX);
    assert_false(bus_write(bus, 0x5f, 1, 0));
    /* bad sizes */
    assert_false(bus_read(bus, 0x3f8, 3, &v));
    assert_false(bus_write(bus, 0x3f8, 0, 0));
    assert_false(bus_write(bus, 0x3f8, 16, 0));
    assert_int_equal(a.writes, 1);
    bus_destroy(bus);
}

static void test_overlaps(void **state)
{
    (void)state;
    struct bus *bus;
    struct rec a = {0};

    assert_int_equal(bus_create("mmio", &bus), 0);
    assert_int_equal(bus_register(bus, 0x1000, 0x100, &rec_ops, &a, "x"), 0);
    assert_int_equal(bus_register(bus, 0x1000, 0x100, &rec_ops, &a, "x"), -EEXIST);
    assert_int_equal(bus_register(bus, 0xf00, 0x101, &rec_ops, &a, "x"), -EEXIST);
    assert_int_equal(bus_register(bus, 0x10ff, 1, &rec_ops, &a, "x"), -EEXIST);
    assert_int_equal(bus_register(bus, 0x1050, 0x10, &rec_ops, &a, "x"), -EEXIST);
    assert_int_equal(bus_register(bus, 0x0, 0x10000, &rec_ops, &a, "x"), -EEXIST);
    assert_int_equal(bus_register(bus, 0xf00, 0x100, &rec_ops, &a, "x"), 0);
    assert_int_equal(bus_register(bus, 0x1100, 0x100, &rec_ops, &a, "x"), 0);
    assert_int_equal(bus_register(bus, 0x2000, 0, &rec_ops, &a, "x"), -EINVAL);
    assert_int_equal(bus_register(bus, UINT64_MAX, 2, &rec_ops, &a, "x"), -EINVAL);
    assert_int_equal(bus_register(bus, 0x2000, 1, NULL, &a, "x"), -EINVAL);
    /* a range may end exactly at the top of the address space */
    assert_int_equal(bus_register(bus, UINT64_MAX - 0xfff, 0x1000, &rec_ops, &a, "top"), 0);
    assert_true(bus_is_claimed(bus, 0x10ff, 1));
    assert_true(bus_is_claimed(bus, 0x0, UINT64_MAX));
    assert_false(bus_is_claimed(bus, 0x1200, 0x100));
    assert_false(bus_is_claimed(bus, 0x1200, 0));
    bus_destroy(bus);
}

static void test_edges_and_straddle(void **state)
{
    (void)state;
    struct bus *bus;
    struct rec a = {.read_val = 1}, b = {.read_val = 2}, top = {.read_val = 3};
    uint64_t v;

    assert_int_equal(bus_create("mmio", &bus), 0);
    assert_int_equal(bus_register(bus, 0x1000, 0x10, &rec_ops, &a, "a"), 0);
    assert_int_equal(bus_register(bus, 0x1010, 0x10, &rec_ops, &b, "b"), 0);
    assert_int_equal(bus_register(bus, UINT64_MAX - 7, 8, &rec_ops, &top, "top"), 0);
    assert_true(bus_read(bus, 0x100c, 4, &v));
    assert_int_equal(v, 1);
    assert_int_equal(a.last_off, 0xc);
    assert_true(bus_read(bus, 0x1010, 4, &v));
    assert_int_equal(v, 2);
    assert_int_equal(b.last_off, 0);
    /* straddles a/b: unclaimed, nobody called */
    unsigned ar = a.reads, br = b.reads;
    assert_false(bus_read(bus, 0x100e, 4, &v));
    assert_int_equal(v, 0xffffffffULL);
    assert_false(bus_write(bus, 0x1008, 8 + 8, 0));
    assert_false(bus_write(bus, 0x100c, 8, 0));
    /* straddles the end of b into nothing */
    assert_false(bus_read(bus, 0x101f, 2, &v));
    /* before the first range */
    assert_false(bus_read(bus, 0xfff, 2, &v));
    assert_int_equal(a.reads, ar);
    assert_int_equal(b.reads, br);
    assert_int_equal(a.writes + b.writes, 0);
    /* last bytes of the address space, no wrap */
    assert_true(bus_read(bus, UINT64_MAX - 7, 8, &v));
    assert_int_equal(v, 3);
    assert_true(bus_read(bus, UINT64_MAX, 1, &v));
    assert_int_equal(top.last_off, 7);
    assert_false(bus_read(bus, UINT64_MAX, 2, &v));
    bus_destroy(bus);
}

static void test_unregister(void **state)
{
    (void)state;
    struct bus *bus;
    struct rec a = {.read_val = 1}, b = {.read_val = 2};
    uint64_t v;

    assert_int_equal(bus_create("mmio", &bus), 0);
    /* many ranges, to exercise growth and the binary search */
    for (uint64_t i = 0; i < 100; i++)
        assert_int_equal(
            bus_register(bus, 0x10000 + (99 - i) * 0x100, 0x80, &rec_ops, (i & 1) ? &a : &b, "r"),
            0);
    for (uint64_t i = 0; i < 100; i++) {
        assert_true(bus_read(bus, 0x10000 + i * 0x100 + 0x7f, 1, &v));
        assert_int_equal(v, (i & 1) ? 2 : 1);
        assert_false(bus_read(bus, 0x10000 + i * 0x100 + 0x80, 1, &v));
    }
    assert_int_equal(bus_unregister(bus, 0x10000, &b), -ENOENT); /* wrong owner */
    assert_int_equal(bus_unregister(bus, 0x10010, &a), -ENOENT); /* not a base */
    assert_int_equal(bus_unregister(bus, 0x10000, &a), 0);
    assert_int_equal(bus_unregister(bus, 0x10000, &a), -ENOENT);
    assert_false(bus_read(bus, 0x10000, 1, &v));
    assert_true(bus_read(bus, 0x10100, 1, &v));
    /* the freed space can be claimed again */
    assert_int_equal(bus_register(bus, 0x10000, 0x100, &rec_ops, &b, "again"), 0);
    assert_true(bus_read(bus, 0x100ff, 1, &v));
    assert_int_equal(v, 2);
    bus_destroy(bus);
}

struct race {
    struct bus *bus;
    atomic_bool is_done;
    atomic_uint errors;
};

static uint64_t const_read(void *opaque, uint64_t off, unsigned size)
{
    (void)opaque;
    (void)size;
    return off;
}

static const struct io_ops const_ops = {const_read, NULL};

/* cmocka asserts only on the main thread: the readers count what went wrong. */
static void *reader(void *opaque)
{
    struct race *r = opaque;
    uint64_t v;
    while (!atomic_load(&r->is_done)) {
        /* the fixed range is always there; the moving one may or may not be */
        if (!bus_read(r->bus, 0x1008, 4, &v) || v != 8)
            atomic_fetch_add(&r->errors, 1);
        if (bus_read(r->bus, 0x10000 + 0x10, 4, &v) && v != 0x10)
            atomic_fetch_add(&r->errors, 1);
    }
    return NULL;
}

/* vCPU threads dispatching while a BAR moves back and forth (write-lock vs read-lock). */
static void test_concurrent_moves(void **state)
{
    (void)state;
    struct race r = {0};
    pthread_t t[2];
    int dummy;
    assert_int_equal(bus_create("mmio", &r.bus), 0);
    assert_int_equal(bus_register(r.bus, 0x1000, 0x100, &const_ops, &r, "fixed"), 0);
    for (unsigned i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&t[i], NULL, reader, &r), 0);
    for (unsigned i = 0; i < 20000; i++) {
        uint64_t base = (i & 1) ? 0x20000 : 0x10000;
        assert_int_equal(bus_register(r.bus, base, 0x1000, &const_ops, &dummy, "bar"), 0);
        assert_int_equal(bus_unregister(r.bus, base, &dummy), 0);
    }
    atomic_store(&r.is_done, true);
    for (unsigned i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(atomic_load(&r.errors), 0);
    bus_destroy(r.bus);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dispatch),           cmocka_unit_test(test_overlaps),
        cmocka_unit_test(test_edges_and_straddle), cmocka_unit_test(test_unregister),
        cmocka_unit_test(test_concurrent_moves),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

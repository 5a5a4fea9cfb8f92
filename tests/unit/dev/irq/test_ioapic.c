/* SPDX-License-Identifier: MIT */
/* Unit tests for dev/irq/ioapic.c without KVM: registers, edge and level delivery as MSIs into
 * a fake platform, Remote IRR and EOI, masking, the MSI routes of level-triggered entries, and
 * hostile register writes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>

#include "base/evloop.h"
#include "dev/bus.h"
#include "dev/irq/ioapic.h"
#include "fake_platform.h"

#define BASE 0xfec00000ULL

struct ctx {
    struct fake_platform fp;
    struct ioapic *io;
    struct bus *mmio;
};

static int setup(void **state)
{
    struct ctx *c = calloc(1, sizeof(*c));
    fake_platform_init(&c->fp);
    assert_int_equal(ioapic_create(&c->fp.plat, 2, &c->io), 0);
    assert_int_equal(bus_create("mmio", &c->mmio), 0);
    assert_int_equal(ioapic_attach(c->io, c->mmio, BASE), 0);
    *state = c;
    return 0;
}

static int teardown(void **state)
{
    struct ctx *c = *state;
    bus_destroy(c->mmio);
    ioapic_destroy(c->io);
    fake_platform_fini(&c->fp);
    free(c);
    return 0;
}

static uint32_t rd(struct ctx *c, uint8_t index)
{
    uint64_t v;
    assert_true(bus_write(c->mmio, BASE + IOAPIC_REG_SEL, 4, index));
    assert_true(bus_read(c->mmio, BASE + IOAPIC_REG_WIN, 4, &v));
    return (uint32_t)v;
}

static void wr(struct ctx *c, uint8_t index, uint32_t val)
{
    assert_true(bus_write(c->mmio, BASE + IOAPIC_REG_SEL, 4, index));
    assert_true(bus_write(c->mmio, BASE + IOAPIC_REG_WIN, 4, val));
}

/* Programs (pin): high dword first, then low, as Linux's ioapic_write_entry does. */
static void program(struct ctx *c, unsigned pin, uint64_t rte)
{
    wr(c, (uint8_t)(IOAPIC_INDEX_REDTBL + 2 * pin + 1), (uint32_t)(rte >> 32));
    wr(c, (uint8_t)(IOAPIC_INDEX_REDTBL + 2 * pin), (uint32_t)rte);
}

static uint64_t entry(struct ctx *c, unsigned pin)
{
    return (uint64_t)rd(c, (uint8_t)(IOAPIC_INDEX_REDTBL + 2 * pin + 1)) << 32 |
           rd(c, (uint8_t)(IOAPIC_INDEX_REDTBL + 2 * pin));
}

static void test_registers(void **state)
{
    struct ctx *c = *state;
    uint64_t v;
    assert_int_equal(rd(c, IOAPIC_INDEX_VERSION), 0x00170011);
    assert_int_equal(rd(c, IOAPIC_INDEX_ID), 2u << 24);
    assert_int_equal(rd(c, IOAPIC_INDEX_ARB), 2u << 24);
    wr(c, IOAPIC_INDEX_ID, 0xffffffff); /* only bits 27:24 exist */
    assert_int_equal(rd(c, IOAPIC_INDEX_ID), 0x0f000000);
    wr(c, IOAPIC_INDEX_VERSION, 0); /* read-only */
    assert_int_equal(rd(c, IOAPIC_INDEX_VERSION), 0x00170011);
    assert_true(bus_write(c->mmio, BASE + IOAPIC_REG_SEL, 1, 0x15));
    assert_true(bus_read(c->mmio, BASE + IOAPIC_REG_SEL, 4, &v));
    assert_int_equal(v, 0x15);
    for (unsigned pin = 0; pin < IOAPIC_PINS; pin++)
        assert_int_equal(entry(c, pin), IOAPIC_RTE_MASKED);
    assert_int_equal(c->fp.n_route_updates, 0); /* nothing to route at creation */
    ioapic_reset(c->io);
    assert_int_equal(rd(c, IOAPIC_INDEX_ID), 2u << 24);
}

static void test_edge(void **state)
{
    struct ctx *c = *state;
    /* pin 4, vector 0x31, fixed, physical destination 1 */
    program(c, 4, 0x31 | 1ULL << IOAPIC_RTE_DEST_SHIFT);
    ioapic_set_irq(c->io, 4, true);
    assert_int_equal(c->fp.n_msis, 1);
    assert_int_equal(c->fp.msis[0].addr, 0xfee01000);
    assert_int_equal(c->fp.msis[0].data, 0x31);
    ioapic_set_irq(c->io, 4, true); /* no new edge */
    assert_int_equal(c->fp.n_msis, 1);
    ioapic_set_irq(c->io, 4, false);
    ioapic_set_irq(c->io, 4, true);
    assert_int_equal(c->fp.n_msis, 2);
    /* edge-triggered entries need no kernel route */
    assert_int_equal(c->fp.n_routes, 0);
}

static void test_masked_edge_latched(void **state)
{
    struct ctx *c = *state;
    program(c, 3, 0x40 | IOAPIC_RTE_MASKED);
    ioapic_set_irq(c->io, 3, true);
    ioapic_set_irq(c->io, 3, false);
    assert_int_equal(c->fp.n_msis, 0);
    program(c, 3, 0x40); /* unmask: the latched edge goes out once */
    assert_int_equal(c->fp.n_msis, 1);
    program(c, 3, 0x40);
    assert_int_equal(c->fp.n_msis, 1);
}

static void test_level_eoi(void **state)
{
    struct ctx *c = *state;
    /* pin 9, vector 0x41, lowest priority, logical destination 2, level */
    uint64_t rte = 0x41 | 1ULL << IOAPIC_RTE_DELMODE_SHIFT | IOAPIC_RTE_DESTMODE |
                   IOAPIC_RTE_LEVEL | 2ULL << IOAPIC_RTE_DEST_SHIFT;
    program(c, 9, rte);
    assert_int_equal(c->fp.n_routes, 1);
    assert_int_equal(c->fp.routes[0].gsi, 9);
    assert_int_equal(c->fp.routes[0].addr, 0xfee02004);
    assert_int_equal(c->fp.routes[0].data, 0xc141);
    ioapic_set_irq(c->io, 9, true);
    assert_int_equal(c->fp.n_msis, 1);
    assert_int_equal(c->fp.msis[0].addr, 0xfee02004);
    assert_int_equal(c->fp.msis[0].data, 0xc141); /* trigger level, assert, lowest priority */
    assert_true(entry(c, 9) & IOAPIC_RTE_REMOTE_IRR);
    ioapic_set_irq(c->io, 9, true); /* Remote IRR holds it */
    assert_int_equal(c->fp.n_msis, 1);
    ioapic_eoi(c->io, 0x42); /* another vector */
    assert_int_equal(c->fp.n_msis, 1);
    ioapic_eoi(c->io, 0x41); /* still asserted: delivered again */
    assert_int_equal(c->fp.n_msis, 2);
    ioapic_set_irq(c->io, 9, false);
    ioapic_eoi(c->io, 0x41);
    assert_int_equal(c->fp.n_msis, 2);
    assert_false(entry(c, 9) & IOAPIC_RTE_REMOTE_IRR);
}

static void test_level_masking(void **state)
{
    struct ctx *c = *state;
    uint64_t rte = 0x51 | IOAPIC_RTE_LEVEL;
    program(c, 16, rte | IOAPIC_RTE_MASKED);
    unsigned updates = c->fp.n_route_updates;
    ioapic_set_irq(c->io, 16, true);
    assert_int_equal(c->fp.n_msis, 0);
    program(c, 16, rte); /* unmask with the line high: delivered */
    assert_int_equal(c->fp.n_msis, 1);
    /* masking and unmasking changes no route: no KVM_SET_GSI_ROUTING */
    program(c, 16, rte | IOAPIC_RTE_MASKED);
    program(c, 16, rte);
    assert_int_equal(c->fp.n_route_updates, updates);
    assert_int_equal(c->fp.n_msis, 1); /* Remote IRR still set */
    /* a switch to edge drops Remote IRR and the route */
    program(c, 16, 0x51 | IOAPIC_RTE_MASKED);
    assert_false(entry(c, 16) & IOAPIC_RTE_REMOTE_IRR);
    assert_int_equal(c->fp.n_routes, 0);
}

static void test_hostile(void **state)
{
    struct ctx *c = *state;
    uint64_t v;
    /* read-only and reserved bits of an entry stay clear */
    wr(c, IOAPIC_INDEX_REDTBL, 0xffffffff);
    wr(c, IOAPIC_INDEX_REDTBL + 1, 0xffffffff);
    assert_int_equal(entry(c, 0), 0xff0000000001afffULL);
    /* registers that do not exist read 0, writes are dropped */
    wr(c, 0x40, 0x1234);
    assert_int_equal(rd(c, 0x40), 0);
    assert_int_equal(rd(c, 0xff), 0);
    /* IOWIN needs a 32-bit access */
    assert_true(bus_write(c->mmio, BASE + IOAPIC_REG_SEL, 4, IOAPIC_INDEX_VERSION));
    assert_true(bus_read(c->mmio, BASE + IOAPIC_REG_WIN, 1, &v));
    assert_int_equal(v, 0);
    assert_true(bus_write(c->mmio, BASE + IOAPIC_REG_WIN + 4, 4, 1));
    /* lines that do not exist */
    ioapic_set_irq(c->io, IOAPIC_PINS, true);
    ioapic_set_irq(c->io, UINT32_MAX, true);
    /* ExtINT (no 8259 behind it) and the reserved delivery modes are never sent */
    program(c, 5, 0x30 | 7ULL << IOAPIC_RTE_DELMODE_SHIFT);
    program(c, 6, 0x30 | 3ULL << IOAPIC_RTE_DELMODE_SHIFT);
    ioapic_set_irq(c->io, 5, true);
    ioapic_set_irq(c->io, 6, true);
    assert_int_equal(c->fp.n_msis, 0);
    /* an NMI entry is edge whatever the trigger bit says: no Remote IRR, no route */
    program(c, 7, 4ULL << IOAPIC_RTE_DELMODE_SHIFT | IOAPIC_RTE_LEVEL);
    ioapic_set_irq(c->io, 7, true);
    assert_int_equal(c->fp.n_msis, 1);
    assert_int_equal(c->fp.msis[0].data, 0x400);
    assert_false(entry(c, 7) & IOAPIC_RTE_REMOTE_IRR);
}

/* A level line the guest never clears: re-delivered at each EOI, then held back for the storm
 * delay after IOAPIC_STORM_EOIS in a row, then delivered by the timer on the event loop. */
static void test_storm_guard(void **state)
{
    struct ctx *c = *state;
    struct evloop *loop;
    assert_int_equal(evloop_create(&loop), 0);
    assert_int_equal(ioapic_start_timer(c->io, loop), 0);
    program(c, 11, 0x71 | IOAPIC_RTE_LEVEL);
    ioapic_set_irq(c->io, 11, true);
    for (unsigned i = 0; i < IOAPIC_STORM_EOIS; i++)
        ioapic_eoi(c->io, 0x71);
    assert_int_equal(c->fp.n_msis, IOAPIC_STORM_EOIS); /* the first plus 9999 re-deliveries */
    assert_false(entry(c, 11) & IOAPIC_RTE_REMOTE_IRR);
    assert_int_equal(evloop_run_once(loop, 1000), 1);
    assert_int_equal(c->fp.n_msis, IOAPIC_STORM_EOIS + 1);
    assert_true(entry(c, 11) & IOAPIC_RTE_REMOTE_IRR);
    /* a line that went low starts the count again */
    ioapic_set_irq(c->io, 11, false);
    ioapic_eoi(c->io, 0x71);
    ioapic_set_irq(c->io, 11, true);
    assert_int_equal(c->fp.n_msis, IOAPIC_STORM_EOIS + 2);
    ioapic_stop_timer(c->io);
    evloop_destroy(loop);
}

static void test_send_failure(void **state)
{
    struct ctx *c = *state;
    /* a failed delivery leaves Remote IRR clear, so the next EOI-free change retries */
    c->fp.send_msi_result = -EINVAL;
    program(c, 10, 0x61 | IOAPIC_RTE_LEVEL);
    ioapic_set_irq(c->io, 10, true);
    assert_false(entry(c, 10) & IOAPIC_RTE_REMOTE_IRR);
    c->fp.send_msi_result = 0;
    ioapic_set_irq(c->io, 10, true);
    assert_int_equal(c->fp.n_msis, 1);
    assert_true(entry(c, 10) & IOAPIC_RTE_REMOTE_IRR);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_registers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_edge, setup, teardown),
        cmocka_unit_test_setup_teardown(test_masked_edge_latched, setup, teardown),
        cmocka_unit_test_setup_teardown(test_level_eoi, setup, teardown),
        cmocka_unit_test_setup_teardown(test_level_masking, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostile, setup, teardown),
        cmocka_unit_test_setup_teardown(test_storm_guard, setup, teardown),
        cmocka_unit_test_setup_teardown(test_send_failure, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: MIT */
/* Unit tests for dev/pci/piix.c: PIRQ routing of the PIIX3, PMBA of the PIIX4 PM, on a host
 * with the pc machine's hooks, and a saved config space loaded into a second chipset (the PM
 * registers move to the saved base, routes and PAM come back). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "base/statefile.h"
#include "dev/bus.h"
#include "dev/pci/pci.h"
#include "dev/pci/piix.h"
#include "fake_platform.h"

struct ctx {
    struct fake_platform fp;
    struct bus *pio, *mmio;
    struct pci_host *host;
    struct piix3 isa;
    struct piix4_pm pm;
    struct pci_dev dev; /* an INTx source in slot 3 */
    uint16_t moved_to;
    unsigned moves;
};

static uint32_t line(void *opaque, unsigned slot, unsigned pin)
{
    (void)opaque;
    return piix3_pirq_of(slot, pin);
}

static void set(void *opaque, uint32_t l, bool level)
{
    piix3_set_pirq(opaque, l, level);
}

static void move(void *opaque, uint16_t base)
{
    struct ctx *c = opaque;
    c->moved_to = base;
    c->moves++;
}

static int setup(void **state)
{
    struct ctx *c = calloc(1, sizeof(*c));
    struct pci_host_config pc = {.mmio32_base = PCI_MMIO32_BASE,
                                 .mmio32_size = PCI_MMIO32_SIZE,
                                 .io_base = PCI_IO_BASE,
                                 .io_size = PCI_IO_SIZE,
                                 .bridge_id = &i440fx_id,
                                 .intx_line = line,
                                 .intx_set = set,
                                 .intx_opaque = &c->isa};
    struct pci_dev_id id = {.vendor = 0x1af4, .device = 0x1042, .int_pin = 1};
    fake_platform_init(&c->fp);
    assert_int_equal(bus_create("pio", &c->pio), 0);
    assert_int_equal(bus_create("mmio", &c->mmio), 0);
    piix3_init(&c->isa, &c->fp.plat);
    assert_int_equal(pci_host_create(&pc, &c->fp.plat, c->pio, c->mmio, &c->host), 0);
    i440fx_init_pam(pci_host_bridge(c->host));
    piix4_pm_init(&c->pm, move, c);
    assert_int_equal(pci_host_add_fn(c->host, &c->isa.pci, 1, 0), 0);
    assert_int_equal(pci_host_add_fn(c->host, &c->pm.pci, 1, 3), 0);
    pci_dev_init(&c->dev, &id, NULL, NULL, "dev");
    assert_int_equal(pci_host_add_dev(c->host, &c->dev, 3), 0);
    *state = c;
    return 0;
}

static int teardown(void **state)
{
    struct ctx *c = *state;
    pci_host_destroy(c->host);
    piix3_fini(&c->isa);
    bus_destroy(c->pio);
    bus_destroy(c->mmio);
    fake_platform_fini(&c->fp);
    free(c);
    return 0;
}

static void test_identity_and_pam(void **state)
{
    struct ctx *c = *state;
    assert_int_equal(pci_host_cfg_read(c->host, 0, 0, PCI_VENDOR_ID, 4), 0x12378086);
    assert_int_equal(pci_host_cfg_read(c->host, 0, 0, PCI_SUBSYSTEM_VENDOR_ID, 4), 0x11001af4);
    pci_host_cfg_write(c->host, 0, 0, 0x59, 0xff, 1);
    assert_int_equal(pci_host_cfg_read(c->host, 0, 0, 0x59, 1), 0x33);
    assert_int_equal(pci_host_cfg_read(c->host, 0, 8, PCI_HEADER_TYPE, 1), 0x80);
    assert_int_equal(pci_host_cfg_read(c->host, 0, 8, PCI_DEVICE_ID, 2), 0x7000);
    assert_int_equal(pci_host_cfg_read(c->host, 0, 8 | 3, PCI_DEVICE_ID, 2), 0x7113);
    /* SMM "already set up": APMC_EN, read-only */
    pci_host_cfg_write(c->host, 0, 8 | 3, PIIX4_DEVACTB, 0, 4);
    assert_int_equal(pci_host_cfg_read(c->host, 0, 8 | 3, PIIX4_DEVACTB + 3, 1), 0x02);
}

static void test_pirq_routing(void **state)
{
    struct ctx *c = *state;
    uint32_t pirq = piix3_pirq_of(3, 1); /* slot 3 INTA: PIRQC */
    assert_int_equal(pirq, 2);
    pci_dev_set_intx(&c->dev, true); /* routing disabled: nothing */
    for (unsigned i = 0; i < 16; i++)
        assert_false(fake_platform_irq(&c->fp, i));
    pci_host_cfg_write(c->host, 0, 8, PIIX_PIRQRC + pirq, 11, 1);
    assert_true(fake_platform_irq(&c->fp, 11));
    pci_host_cfg_write(c->host, 0, 8, PIIX_PIRQRC + pirq, 10, 1); /* re-routed while high */
    assert_false(fake_platform_irq(&c->fp, 11));
    assert_true(fake_platform_irq(&c->fp, 10));
    pci_host_cfg_write(c->host, 0, 8, PIIX_PIRQRC + 0, 10, 1); /* PIRQA shares IRQ 10, low */
    pci_dev_set_intx(&c->dev, false);
    assert_false(fake_platform_irq(&c->fp, 10));
    pci_dev_set_intx(&c->dev, true);
    pci_host_cfg_write(c->host, 0, 8, PIIX_PIRQRC + pirq, 2, 1); /* the cascade: refused */
    assert_false(fake_platform_irq(&c->fp, 2));
    assert_false(fake_platform_irq(&c->fp, 10));
    pci_host_cfg_write(c->host, 0, 8, PIIX_PIRQRC + pirq, 0x8b, 1); /* disabled */
    assert_false(fake_platform_irq(&c->fp, 11));
    piix3_set_pirq(&c->isa, 7, true); /* no such line */
}

static void test_pmba(void **state)
{
    struct ctx *c = *state;
    uint8_t pm = 8 | 3;
    pci_host_cfg_write(c->host, 0, pm, PIIX4_PMBA, 0xb001, 4);
    assert_int_equal(c->moves, 0); /* PMIOSE off */
    pci_host_cfg_write(c->host, 0, pm, PIIX4_PMREGMISC, 1, 1);
    assert_int_equal(c->moved_to, 0xb000);
    assert_int_equal(pci_host_cfg_read(c->host, 0, pm, PIIX4_PMBA, 4), 0xb001);
    pci_host_cfg_write(c->host, 0, pm, PIIX4_PMBA, 0xffffffff, 4);
    assert_int_equal(c->moved_to, 0xffc0);
    pci_host_cfg_write(c->host, 0, pm, PIIX4_PMREGMISC, 0, 1);
    assert_int_equal(c->moved_to, 0);
    assert_int_equal(c->moves, 3);
    pci_host_reset(c->host);
    assert_int_equal(c->moves, 3); /* already off */
}

static void test_state(void **state)
{
    struct ctx *c = *state, *c2;
    struct sf_buf b = {0};
    struct sf_in in;
    uint8_t pm = 8 | 3;
    uint32_t pirq = piix3_pirq_of(3, 1);
    pci_host_cfg_write(c->host, 0, pm, PIIX4_PMBA, 0xb001, 4);
    pci_host_cfg_write(c->host, 0, pm, PIIX4_PMREGMISC, 1, 1);
    pci_host_cfg_write(c->host, 0, 8, PIIX_PIRQRC + pirq, 11, 1);
    pci_host_cfg_write(c->host, 0, 0, 0x5a, 0x33, 1);
    pci_host_save(c->host, &b);
    assert_false(b.failed);
    assert_int_equal(setup((void **)&c2), 0);
    sf_in_init(&in, b.data, b.len);
    assert_int_equal(pci_host_load(c2->host, &in), 0);
    assert_int_equal(c2->moves, 1); /* the PM registers where the saved machine had them */
    assert_int_equal(c2->moved_to, 0xb000);
    assert_int_equal(pci_host_cfg_read(c2->host, 0, 0, 0x5a, 1), 0x33);
    pci_dev_set_intx(&c2->dev, true);
    assert_true(fake_platform_irq(&c2->fp, 11));
    sf_buf_free(&b);
    assert_int_equal(teardown((void **)&c2), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_identity_and_pam, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pirq_routing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pmba, setup, teardown),
        cmocka_unit_test_setup_teardown(test_state, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

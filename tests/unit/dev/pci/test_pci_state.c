/* SPDX-License-Identifier: MIT */
/*
 * Saved-state round trip of the PCI host (pci_host_save/pci_host_load, docs/vmm.md "Saved
 * state"): save, load into a fresh host, save again: equal bytes; a change to a read-only byte
 * of a config space is refused with -EINVAL.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/x86/layout.h"
#include "dev/bus.h"
#include "dev/pci/pci.h"
#include "fake_platform.h"

/* Expects (b1) and (b2) to hold the same bytes; frees both. */
static void expect_same(struct sf_buf *b1, struct sf_buf *b2)
{
    assert_false(b1->failed || b2->failed);
    assert_int_equal(b1->len, b2->len);
    assert_memory_equal(b1->data, b2->data, b1->len);
    sf_buf_free(b1);
    sf_buf_free(b2);
}

static void test_pci_host(void **state)
{
    struct fake_platform fp;
    struct pci_host_config pc = {.mmio32_base = PCI_MMIO32_BASE,
                                 .mmio32_size = PCI_MMIO32_SIZE,
                                 .io_base = PCI_IO_BASE,
                                 .io_size = PCI_IO_SIZE,
                                 .ecam_base = PCI_ECAM_BASE};
    struct bus *pio[2], *mmio[2];
    struct pci_host *h[2];
    struct sf_buf s1 = {0}, s2 = {0};
    struct sf_in in;
    (void)state;
    fake_platform_init(&fp);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(bus_create("pio", &pio[i]), 0);
        assert_int_equal(bus_create("mmio", &mmio[i]), 0);
        assert_int_equal(pci_host_create(&pc, &fp.plat, pio[i], mmio[i], &h[i]), 0);
    }
    bus_write(pio[0], 0xcf8, 4, 0x80000004); /* CF8 left pointing at the bridge's COMMAND */
    pci_host_save(h[0], &s1);
    sf_in_init(&in, s1.data, s1.len);
    assert_int_equal(pci_host_load(h[1], &in), 0);
    pci_host_save(h[1], &s2);
    expect_same(&s1, &s2);
    pci_host_save(h[0], &s1);
    s1.data[5 + 1 + 0] ^= 1; /* the bridge's vendor ID: read-only */
    sf_in_init(&in, s1.data, s1.len);
    assert_int_equal(pci_host_load(h[1], &in), -EINVAL);
    sf_buf_free(&s1);
    for (int i = 0; i < 2; i++) {
        pci_host_destroy(h[i]);
        bus_destroy(pio[i]);
        bus_destroy(mmio[i]);
    }
    fake_platform_fini(&fp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pci_host),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

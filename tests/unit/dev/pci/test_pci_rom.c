/* SPDX-License-Identifier: MIT */
/* Unit tests for dev/pci/pci_rom.c and pci_host_remove_dev: the expansion ROM BAR's size
 * probing, its address given with decoding off, reads only while enabled and COMMAND.MEM is
 * set, writes ignored, a move, reset; and a device unplugged before the host goes away. */
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

struct ctx {
    struct fake_platform fp;
    struct bus *pio, *mmio;
    struct pci_host *host;
    struct pci_dev dev;
    uint8_t rom[3000];
};

static uint64_t nop_read(void *opaque, uint64_t off, unsigned size)
{
    (void)opaque;
    (void)off;
    (void)size;
    return 0;
}

static void nop_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    (void)opaque;
    (void)off;
    (void)val;
    (void)size;
}

static const struct io_ops nop_io = {.read = nop_read, .write = nop_write};

static int setup(void **state)
{
    struct ctx *c = calloc(1, sizeof(*c));
    struct pci_host_config pc = {.mmio32_base = PCI_MMIO32_BASE,
                                 .mmio32_size = PCI_MMIO32_SIZE,
                                 .io_base = PCI_IO_BASE,
                                 .io_size = PCI_IO_SIZE};
    struct pci_dev_id id = {.vendor = 0x1234, .device = 0x1111, .class_code = 0x030000};
    fake_platform_init(&c->fp);
    assert_int_equal(bus_create("pio", &c->pio), 0);
    assert_int_equal(bus_create("mmio", &c->mmio), 0);
    assert_int_equal(pci_host_create(&pc, &c->fp.plat, c->pio, c->mmio, &c->host), 0);
    for (size_t i = 0; i < sizeof(c->rom); i++)
        c->rom[i] = (uint8_t)(i * 7);
    c->rom[0] = 0x55;
    c->rom[1] = 0xaa;
    pci_dev_init(&c->dev, &id, NULL, NULL, "romdev");
    assert_int_equal(pci_dev_set_bar(&c->dev, 0, PCI_BAR_MEM32, 0x1000, false, &nop_io, c), 0);
    assert_int_equal(pci_dev_set_rom(&c->dev, c->rom, sizeof(c->rom)), 0);
    assert_int_equal(pci_dev_set_rom(&c->dev, c->rom, sizeof(c->rom)), -EINVAL);
    assert_int_equal(pci_host_add_dev(c->host, &c->dev, 2), 0);
    *state = c;
    return 0;
}

static int teardown(void **state)
{
    struct ctx *c = *state;
    pci_host_destroy(c->host);
    bus_destroy(c->pio);
    bus_destroy(c->mmio);
    fake_platform_fini(&c->fp);
    free(c);
    return 0;
}

#define DEVFN (2 << 3)

static bool rom_read(struct ctx *c, uint64_t gpa, unsigned size, uint64_t *v)
{
    return bus_read(c->mmio, gpa, size, v);
}

static void test_rom_bar(void **state)
{
    struct ctx *c = *state;
    uint64_t v = 0;
    uint32_t base = pci_host_cfg_read(c->host, 0, DEVFN, PCI_ROM_ADDRESS, 4);
    /* an address is given, decoding off: nothing is there */
    assert_int_equal(base & 1, 0);
    assert_int_not_equal(base, 0);
    assert_int_equal(base % 4096, 0);
    assert_false(rom_read(c, base, 2, &v));
    /* size probing: 3000 bytes take a 4 KiB BAR */
    pci_host_cfg_write(c->host, 0, DEVFN, PCI_ROM_ADDRESS, 0xfffffffe, 4);
    assert_int_equal(pci_host_cfg_read(c->host, 0, DEVFN, PCI_ROM_ADDRESS, 4), 0xfffff000);
    /* enabled at its address: the image, then zeroes to the end of the BAR */
    pci_host_cfg_write(c->host, 0, DEVFN, PCI_ROM_ADDRESS, base | 1, 4);
    assert_true(rom_read(c, base, 2, &v));
    assert_int_equal(v, 0xaa55);
    assert_true(rom_read(c, base + 2999, 1, &v));
    assert_int_equal(v, (uint8_t)(2999 * 7));
    assert_true(rom_read(c, base + 3000, 4, &v));
    assert_int_equal(v, 0);
    assert_true(bus_write(c->mmio, base, 1, 0)); /* read-only */
    assert_true(rom_read(c, base, 1, &v));
    assert_int_equal(v, 0x55);
    /* COMMAND.MEM off hides it; back on shows it */
    pci_host_cfg_write(c->host, 0, DEVFN, PCI_COMMAND, PCI_COMMAND_IO, 2);
    assert_false(rom_read(c, base, 1, &v));
    pci_host_cfg_write(c->host, 0, DEVFN, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
    assert_true(rom_read(c, base, 1, &v));
    /* moved */
    pci_host_cfg_write(c->host, 0, DEVFN, PCI_ROM_ADDRESS, (base + 0x100000) | 1, 4);
    assert_false(rom_read(c, base, 1, &v));
    assert_true(rom_read(c, base + 0x100000, 2, &v));
    /* a reset gives the firmware's address back, decoding off */
    pci_host_reset(c->host);
    assert_int_equal(pci_host_cfg_read(c->host, 0, DEVFN, PCI_ROM_ADDRESS, 4), base);
    assert_false(rom_read(c, base + 0x100000, 1, &v));
    assert_false(rom_read(c, base, 1, &v));
}

static void test_remove_dev(void **state)
{
    struct ctx *c = *state;
    uint64_t v;
    uint64_t bar0 = pci_dev_bar_addr(&c->dev, 0);
    uint32_t base = pci_host_cfg_read(c->host, 0, DEVFN, PCI_ROM_ADDRESS, 4);
    pci_host_cfg_write(c->host, 0, DEVFN, PCI_ROM_ADDRESS, base | 1, 4);
    assert_true(bus_read(c->mmio, bar0, 4, &v));
    pci_host_remove_dev(c->host, &c->dev);
    assert_false(bus_read(c->mmio, bar0, 4, &v));
    assert_false(rom_read(c, base, 1, &v));
    assert_int_equal(pci_host_cfg_read(c->host, 0, DEVFN, PCI_VENDOR_ID, 2), UINT32_MAX);
    assert_null(c->dev.host);
    pci_host_remove_dev(c->host, &c->dev); /* not plugged: nothing happens */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_rom_bar, setup, teardown),
        cmocka_unit_test_setup_teardown(test_remove_dev, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

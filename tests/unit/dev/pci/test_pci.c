/* SPDX-License-Identifier: MIT */
/* Unit tests for dev/pci/pci.c and pci_dev.c: host bridge, CF8/CFC (partial accesses), ECAM,
 * BAR assignment, sizing, moves and COMMAND decode, garbage addresses, INTx, capabilities. */
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

#define MMIO64_BASE 0x2000000000ULL

struct tdev {
    struct pci_dev pci;
    uint64_t last_off;
    unsigned hits;
    unsigned maps, unmaps;
    uint64_t last_map_gpa;
    unsigned resets;
};

static uint64_t tdev_read(void *opaque, uint64_t off, unsigned size)
{
    struct tdev *t = opaque;
    (void)size;
    t->last_off = off;
    t->hits++;
    return 0x5a;
}

static void tdev_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    struct tdev *t = opaque;
    (void)val;
    (void)size;
    t->last_off = off;
    t->hits++;
}

static const struct io_ops tdev_io = {tdev_read, tdev_write};

static void tdev_bar_map(struct pci_dev *dev, unsigned bar, uint64_t gpa, bool is_mapped)
{
    struct tdev *t = container_of(dev, struct tdev, pci);
    (void)bar;
    if (is_mapped)
        t->maps++;
    else
        t->unmaps++;
    t->last_map_gpa = gpa;
}

static void tdev_reset(struct pci_dev *dev)
{
    container_of(dev, struct tdev, pci)->resets++;
}

static const struct pci_dev_ops tdev_ops = {.bar_map = tdev_bar_map, .reset = tdev_reset};

struct ctx {
    struct fake_platform fp;
    struct bus *pio, *mmio;
    struct pci_host *host;
    struct tdev a, b;
};

static void tdev_init(struct tdev *t, uint16_t device)
{
    struct pci_dev_id id = {
        .vendor = 0x1234, .device = device, .class_code = 0x020000, .revision = 3, .int_pin = 1};
    pci_dev_init(&t->pci, &id, &tdev_ops, t, "tdev");
    assert_int_equal(pci_dev_set_bar(&t->pci, 0, PCI_BAR_MEM32, 0x1000, false, &tdev_io, t), 0);
    assert_int_equal(pci_dev_set_bar(&t->pci, 1, PCI_BAR_IO, 0x20, false, &tdev_io, t), 0);
    assert_int_equal(pci_dev_set_bar(&t->pci, 2, PCI_BAR_MEM64, 0x4000, true, &tdev_io, t), 0);
}

static int setup(void **state)
{
    struct ctx *c = calloc(1, sizeof(*c));
    struct pci_host_config pc = {.mmio32_base = PCI_MMIO32_BASE,
                                 .mmio32_size = PCI_MMIO32_SIZE,
                                 .mmio64_base = MMIO64_BASE,
                                 .mmio64_size = PCI_MMIO64_SIZE,
                                 .io_base = PCI_IO_BASE,
                                 .io_size = PCI_IO_SIZE,
                                 .ecam_base = PCI_ECAM_BASE};
    fake_platform_init(&c->fp);
    assert_int_equal(bus_create("pio", &c->pio), 0);
    assert_int_equal(bus_create("mmio", &c->mmio), 0);
    assert_int_equal(pci_host_create(&pc, &c->fp.plat, c->pio, c->mmio, &c->host), 0);
    tdev_init(&c->a, 0x1111);
    tdev_init(&c->b, 0x2222);
    assert_int_equal(pci_host_add_dev(c->host, &c->a.pci, -1), 0);
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

static void cf8(struct ctx *c, unsigned slot, unsigned reg)
{
    assert_true(bus_write(c->pio, 0xcf8, 4, 0x80000000u | slot << 11 | reg));
}

static uint64_t cfc_read(struct ctx *c, unsigned off, unsigned size)
{
    uint64_t v;
    assert_true(bus_read(c->pio, 0xcfc + off, size, &v));
    return v;
}

static void test_host_bridge_cf8(void **state)
{
    struct ctx *c = *state;
    cf8(c, 0, 0);
    assert_int_equal(cfc_read(c, 0, 4), 0x29c08086);
    assert_int_equal(cfc_read(c, 2, 2), 0x29c0);
    assert_int_equal(cfc_read(c, 1, 1), 0x80);
    assert_int_equal(cfc_read(c, 1, 2), 0xc080); /* unaligned but inside the dword */
    assert_int_equal(cfc_read(c, 3, 1), 0x29);
    cf8(c, 0, 8);
    assert_int_equal(cfc_read(c, 0, 4) >> 8, 0x060000);
    /* the latch reads back; only dword writes change it */
    uint64_t v;
    assert_true(bus_read(c->pio, 0xcf8, 4, &v));
    assert_int_equal(v, 0x80000008);
    assert_true(bus_write(c->pio, 0xcf8, 1, 0));
    assert_true(bus_write(c->pio, 0xcfa, 2, 0));
    assert_true(bus_read(c->pio, 0xcf8, 4, &v));
    assert_int_equal(v, 0x80000008);
    /* the device in slot 1, absent slots/functions/buses, disabled latch */
    cf8(c, 1, 0);
    assert_int_equal(cfc_read(c, 0, 4), 0x11111234);
    cf8(c, 2, 0);
    assert_int_equal(cfc_read(c, 0, 4), 0xffffffff);
    assert_true(bus_write(c->pio, 0xcf8, 4, 0x80000000u | 1 << 11 | 1 << 8));
    assert_int_equal(cfc_read(c, 0, 2), 0xffff);
    assert_true(bus_write(c->pio, 0xcf8, 4, 0x80000000u | 1 << 16 | 1 << 11));
    assert_int_equal(cfc_read(c, 0, 4), 0xffffffff);
    assert_true(bus_write(c->pio, 0xcf8, 4, 1 << 11));
    assert_int_equal(cfc_read(c, 0, 4), 0xffffffff);
    /* read-only IDs, writable latency timer */
    cf8(c, 1, 0);
    assert_true(bus_write(c->pio, 0xcfc, 4, 0));
    assert_int_equal(cfc_read(c, 0, 4), 0x11111234);
    cf8(c, 1, 0x0c);
    assert_true(bus_write(c->pio, 0xcfd, 1, 0x40));
    assert_int_equal(cfc_read(c, 1, 1), 0x40);
    /* CF9 reset control */
    assert_true(bus_write(c->pio, 0xcf9, 1, 0x02));
    assert_int_equal(c->fp.n_reset, 0);
    assert_true(bus_write(c->pio, 0xcf9, 1, 0x06));
    assert_int_equal(c->fp.n_reset, 1);
}

static void test_ecam(void **state)
{
    struct ctx *c = *state;
    uint64_t v;
    assert_true(bus_read(c->mmio, PCI_ECAM_BASE, 4, &v));
    assert_int_equal(v, 0x29c08086);
    assert_true(bus_read(c->mmio, PCI_ECAM_BASE + (1 << 15) + 2, 2, &v));
    assert_int_equal(v, 0x1111);
    assert_true(bus_read(c->mmio, PCI_ECAM_BASE + (1 << 20), 4, &v)); /* bus 1 */
    assert_int_equal(v, 0xffffffff);
    assert_true(bus_read(c->mmio, PCI_ECAM_BASE + (255ULL << 20) + 0xffc, 4, &v));
    assert_int_equal(v, 0xffffffff);
    assert_true(bus_read(c->mmio, PCI_ECAM_BASE + (1 << 15) + 0x100, 4, &v)); /* extended */
    assert_int_equal(v, 0);
    assert_true(bus_read(c->mmio, PCI_ECAM_BASE + (1 << 15), 8, &v));
    assert_int_equal(v, UINT64_MAX);
    assert_true(bus_read(c->mmio, PCI_ECAM_BASE + (1 << 15) + 3, 2, &v)); /* crosses a dword */
    assert_int_equal(v, 0xffff);
    /* a write through ECAM: disable memory decoding */
    assert_true(bus_write(c->mmio, PCI_ECAM_BASE + (1 << 15) + PCI_COMMAND, 2, PCI_COMMAND_IO));
    assert_false(c->a.pci.bars[0].is_mapped);
    assert_true(c->a.pci.bars[1].is_mapped);
}

static void test_bar_assignment(void **state)
{
    struct ctx *c = *state;
    struct pci_dev *d = &c->a.pci;
    uint64_t v;
    assert_int_equal(pci_host_cfg_read(c->host, 0, 1 << 3, PCI_COMMAND, 2),
                     PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
    assert_int_equal(pci_dev_bar_addr(d, 0), PCI_MMIO32_BASE);
    assert_int_equal(pci_dev_bar_addr(d, 1), PCI_IO_BASE);
    assert_int_equal(pci_dev_bar_addr(d, 2), MMIO64_BASE);
    assert_int_equal(pci_host_cfg_read(c->host, 0, 8, PCI_BAR0 + 8, 4),
                     (uint32_t)MMIO64_BASE | 0xc);
    assert_int_equal(pci_host_cfg_read(c->host, 0, 8, PCI_BAR0 + 12, 4), MMIO64_BASE >> 32);
    assert_int_equal(pci_host_cfg_read(c->host, 0, 8, PCI_BAR0 + 4, 4), PCI_IO_BASE | 1);
    assert_int_equal(pci_host_cfg_read(c->host, 0, 8, PCI_INTERRUPT_LINE, 1), PCI_INTX_GSI(1, 1));
    assert_int_equal(c->a.maps, 3);
    /* BARs are live on the buses, handlers get offsets */
    assert_true(bus_read(c->mmio, PCI_MMIO32_BASE + 0x10, 4, &v));
    assert_int_equal(v, 0x5a);
    assert_int_equal(c->a.last_off, 0x10);
    assert_true(bus_write(c->pio, PCI_IO_BASE + 0x1f, 1, 0));
    assert_int_equal(c->a.last_off, 0x1f);
    assert_true(bus_read(c->mmio, MMIO64_BASE + 0x3ff8, 8, &v));
    assert_int_equal(c->a.last_off, 0x3ff8);
    assert_false(bus_read(c->mmio, PCI_MMIO32_BASE + 0x1000, 4, &v));
    /* a second device goes after the first, naturally aligned */
    assert_int_equal(pci_host_add_dev(c->host, &c->b.pci, 9), 0);
    assert_int_equal(pci_dev_bar_addr(&c->b.pci, 0), PCI_MMIO32_BASE + 0x1000);
    assert_int_equal(pci_dev_bar_addr(&c->b.pci, 1), PCI_IO_BASE + 0x20);
    assert_int_equal(pci_dev_bar_addr(&c->b.pci, 2), MMIO64_BASE + 0x4000);
    assert_int_equal(c->b.pci.devfn, 9 << 3);
}

static void test_bar_sizing_and_moves(void **state)
{
    struct ctx *c = *state;
    const uint8_t devfn = 1 << 3;
    uint64_t v;
    /* Linux's __pci_read_base: decode off, write ones, read the mask, restore, decode on */
    pci_host_cfg_write(c->host, 0, devfn, PCI_COMMAND, PCI_COMMAND_MASTER, 2);
    assert_int_equal(c->a.unmaps, 3);
    const uint32_t expect[6] = {0xfffff000, 0xffffffe1, 0xffffc00c, 0xffffffff, 0, 0};
    for (unsigned i = 0; i < 6; i++) {
        uint16_t reg = (uint16_t)(PCI_BAR0 + 4 * i);
        uint32_t orig = pci_host_cfg_read(c->host, 0, devfn, reg, 4);
        pci_host_cfg_write(c->host, 0, devfn, reg, 0xffffffff, 4);
        assert_int_equal(pci_host_cfg_read(c->host, 0, devfn, reg, 4), expect[i]);
        pci_host_cfg_write(c->host, 0, devfn, reg, orig, 4);
    }
    assert_int_equal(pci_host_cfg_read(c->host, 0, devfn, PCI_ROM_ADDRESS, 4), 0);
    pci_host_cfg_write(c->host, 0, devfn, PCI_COMMAND, 0x7, 2);
    assert_int_equal(c->a.maps, 6);
    assert_true(bus_read(c->mmio, PCI_MMIO32_BASE, 4, &v));

    /* sizing with decode ON (a careless guest): the all-ones pattern is never registered */
    pci_host_cfg_write(c->host, 0, devfn, PCI_BAR0, 0xffffffff, 4);
    assert_false(c->a.pci.bars[0].is_mapped);
    assert_false(bus_is_claimed(c->mmio, 0xfffff000, 0x1000));
    /* move BAR0 */
    pci_host_cfg_write(c->host, 0, devfn, PCI_BAR0, 0xd0000000, 4);
    assert_true(c->a.pci.bars[0].is_mapped);
    assert_int_equal(c->a.last_map_gpa, 0xd0000000);
    assert_false(bus_read(c->mmio, PCI_MMIO32_BASE, 4, &v));
    assert_true(bus_read(c->mmio, 0xd0000004, 4, &v));
    assert_int_equal(c->a.last_off, 4);
    /* byte-wise move of the I/O BAR, as a guest may do */
    pci_host_cfg_write(c->host, 0, devfn, PCI_BAR0 + 5, 0xd1, 1);
    assert_true(bus_read(c->pio, 0xd100 + 2, 1, &v));
    assert_int_equal(c->a.last_off, 2);
    assert_false(bus_read(c->pio, PCI_IO_BASE, 1, &v));
    /* garbage: address 0, the LAPIC page, onto the ECAM window, onto another range */
    pci_host_cfg_write(c->host, 0, devfn, PCI_BAR0, 0, 4);
    assert_false(c->a.pci.bars[0].is_mapped);
    pci_host_cfg_write(c->host, 0, devfn, PCI_BAR0, (uint32_t)LAPIC_GPA, 4);
    assert_false(c->a.pci.bars[0].is_mapped);
    pci_host_cfg_write(c->host, 0, devfn, PCI_BAR0, (uint32_t)PCI_ECAM_BASE, 4);
    assert_false(c->a.pci.bars[0].is_mapped);
    assert_true(bus_read(c->mmio, PCI_ECAM_BASE, 4, &v)); /* ECAM still works */
    assert_int_equal(v, 0x29c08086);
    pci_host_cfg_write(c->host, 0, devfn, PCI_BAR0 + 4, 0x1f0, 4); /* below the IO window, ok */
    assert_true(c->a.pci.bars[1].is_mapped);
    pci_host_cfg_write(c->host, 0, devfn, PCI_BAR0 + 4, 0x12340, 4); /* beyond 64 KiB */
    assert_false(c->a.pci.bars[1].is_mapped);
    /* sizing the upper half of the 64-bit BAR with decode on: never mapped up there */
    pci_host_cfg_write(c->host, 0, devfn, PCI_BAR0 + 12, 0xffffffff, 4);
    assert_false(c->a.pci.bars[2].is_mapped);
    /* 64-bit BAR moved above 4 GiB in two halves */
    pci_host_cfg_write(c->host, 0, devfn, PCI_BAR0 + 12, 0x30, 4);
    assert_int_equal(c->a.last_map_gpa, 0x3000000000ULL);
    pci_host_cfg_write(c->host, 0, devfn, PCI_BAR0 + 8, 0x10000, 4);
    assert_true(bus_read(c->mmio, 0x3000010008ULL, 8, &v));
    assert_int_equal(c->a.last_off, 8);
    /* pci_host_reset restores the firmware assignment */
    pci_host_reset(c->host);
    assert_int_equal(c->a.resets, 1);
    assert_true(bus_read(c->mmio, PCI_MMIO32_BASE, 4, &v));
    assert_true(bus_read(c->pio, PCI_IO_BASE, 1, &v));
    assert_true(bus_read(c->mmio, MMIO64_BASE, 4, &v));
    assert_false(bus_read(c->mmio, 0x3000010008ULL, 8, &v));
}

static void test_bar_overlap(void **state)
{
    struct ctx *c = *state;
    uint64_t v;
    assert_int_equal(pci_host_add_dev(c->host, &c->b.pci, 2), 0);
    /* b's BAR0 onto a's: refused while a holds it, taken once a moves away */
    pci_host_cfg_write(c->host, 0, 2 << 3, PCI_BAR0, (uint32_t)PCI_MMIO32_BASE, 4);
    assert_false(c->b.pci.bars[0].is_mapped);
    assert_true(bus_read(c->mmio, PCI_MMIO32_BASE, 4, &v));
    assert_int_equal(c->a.hits, 1);
    pci_host_cfg_write(c->host, 0, 1 << 3, PCI_BAR0, 0xd0000000, 4);
    pci_host_cfg_write(c->host, 0, 2 << 3, PCI_COMMAND, 0x7, 2); /* any BAR/COMMAND write retries */
    assert_true(c->b.pci.bars[0].is_mapped);
    assert_true(bus_read(c->mmio, PCI_MMIO32_BASE, 4, &v));
    assert_int_equal(c->b.hits, 1);
}

static void test_slots_and_windows(void **state)
{
    struct ctx *c = *state;
    struct tdev big;
    struct pci_dev_id id = {.vendor = 0x1234, .device = 1};
    assert_int_equal(pci_host_add_dev(c->host, &c->b.pci, 1), -EBUSY);
    assert_int_equal(pci_host_add_dev(c->host, &c->b.pci, 0), -EINVAL);
    assert_int_equal(pci_host_add_dev(c->host, &c->b.pci, 32), -EINVAL);
    assert_int_equal(pci_host_add_dev(c->host, &c->a.pci, 5), -EINVAL); /* already plugged */
    pci_dev_init(&big.pci, &id, NULL, NULL, "big");
    assert_int_equal(pci_dev_set_bar(&big.pci, 0, PCI_BAR_MEM32, 1ULL << 31, false, &tdev_io, &big),
                     0);
    assert_int_equal(pci_host_add_dev(c->host, &big.pci, -1), -ENOSPC);
    /* bad BAR declarations */
    assert_int_equal(pci_dev_set_bar(&big.pci, 0, PCI_BAR_MEM32, 0x1000, false, &tdev_io, &big),
                     -EINVAL);
    assert_int_equal(pci_dev_set_bar(&big.pci, 1, PCI_BAR_MEM32, 0x1001, false, &tdev_io, &big),
                     -EINVAL);
    assert_int_equal(pci_dev_set_bar(&big.pci, 1, PCI_BAR_IO, 0x1000, false, &tdev_io, &big),
                     -EINVAL);
    assert_int_equal(pci_dev_set_bar(&big.pci, 5, PCI_BAR_MEM64, 0x1000, false, &tdev_io, &big),
                     -EINVAL);
    assert_int_equal(pci_dev_set_bar(&big.pci, 6, PCI_BAR_IO, 0x10, false, &tdev_io, &big),
                     -EINVAL);
    assert_int_equal(pci_dev_set_bar(&big.pci, 3, PCI_BAR_MEM64, 0x1000, false, &tdev_io, &big), 0);
    assert_int_equal(pci_dev_set_bar(&big.pci, 4, PCI_BAR_IO, 0x10, false, &tdev_io, &big),
                     -EINVAL);
}

static void test_intx(void **state)
{
    struct ctx *c = *state;
    uint32_t gsi = PCI_INTX_GSI(1, 1);
    assert_int_equal(pci_host_add_dev(c->host, &c->b.pci, 9), 0); /* same GSI as slot 1 */
    assert_int_equal(c->b.pci.gsi, gsi);
    pci_dev_set_intx(&c->a.pci, true);
    assert_true(fake_platform_irq(&c->fp, gsi));
    assert_int_equal(pci_host_cfg_read(c->host, 0, 8, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT,
                     PCI_STATUS_INTERRUPT);
    pci_dev_set_intx(&c->b.pci, true);
    pci_dev_set_intx(&c->a.pci, false);
    assert_true(fake_platform_irq(&c->fp, gsi)); /* b still holds the shared line */
    pci_dev_set_intx(&c->b.pci, false);
    assert_false(fake_platform_irq(&c->fp, gsi));
    /* INTX_DISABLE masks the line but keeps STATUS.INTERRUPT */
    pci_dev_set_intx(&c->a.pci, true);
    pci_host_cfg_write(c->host, 0, 8, PCI_COMMAND, 0x7 | PCI_COMMAND_INTX_DISABLE, 2);
    assert_false(fake_platform_irq(&c->fp, gsi));
    assert_int_equal(pci_host_cfg_read(c->host, 0, 8, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT,
                     PCI_STATUS_INTERRUPT);
    pci_host_cfg_write(c->host, 0, 8, PCI_COMMAND, 0x7, 2);
    assert_true(fake_platform_irq(&c->fp, gsi));
    assert_int_equal(c->fp.irq_calls[0], 0);
    /* STATUS.INTERRUPT in a dword read of COMMAND+STATUS, and a guest write cannot set it */
    assert_int_equal(pci_host_cfg_read(c->host, 0, 8, PCI_COMMAND, 4) >> 16 & PCI_STATUS_INTERRUPT,
                     PCI_STATUS_INTERRUPT);
    pci_dev_set_intx(&c->a.pci, false);
    pci_host_cfg_write(c->host, 0, 8, PCI_STATUS, PCI_STATUS_INTERRUPT, 2);
    assert_int_equal(pci_host_cfg_read(c->host, 0, 8, PCI_COMMAND, 4) >> 16 & PCI_STATUS_INTERRUPT,
                     0);
}

/* A machine's INTx routing hook: records the wire-OR it gets per line. */
static bool routed[32];

static uint32_t route_line(void *opaque, unsigned slot, unsigned pin)
{
    (void)opaque;
    return (slot + pin - 2) & 3;
}

static void route_set(void *opaque, uint32_t line, bool level)
{
    (void)opaque;
    routed[line & 31] = level;
}

/* Functions other than 0, found only behind function 0, and INTx through the hook. */
static void test_multifunction_and_routing(void **state)
{
    struct ctx c = {0};
    struct tdev f0, f3;
    struct pci_dev_id bid = {.vendor = 0x8086, .device = 0x1237, .class_code = 0x060000};
    struct pci_host_config pc = {.mmio32_base = PCI_MMIO32_BASE,
                                 .mmio32_size = PCI_MMIO32_SIZE,
                                 .io_base = PCI_IO_BASE,
                                 .io_size = PCI_IO_SIZE,
                                 .bridge_id = &bid,
                                 .intx_line = route_line,
                                 .intx_set = route_set};
    (void)state;
    fake_platform_init(&c.fp);
    assert_int_equal(bus_create("pio", &c.pio), 0);
    assert_int_equal(bus_create("mmio", &c.mmio), 0);
    assert_int_equal(pci_host_create(&pc, &c.fp.plat, c.pio, c.mmio, &c.host), 0);
    assert_int_equal(pci_host_cfg_read(c.host, 0, 0, PCI_DEVICE_ID, 2), 0x1237);
    assert_int_equal(pci_host_bridge(c.host)->cfg[PCI_DEVICE_ID], 0x37);
    tdev_init(&f0, 0x7000);
    tdev_init(&f3, 0x7113);
    assert_int_equal(pci_host_add_fn(c.host, &f3.pci, 1, 3), 0);
    assert_int_equal(pci_host_cfg_read(c.host, 0, 1 << 3 | 3, PCI_VENDOR_ID, 2), UINT32_MAX);
    assert_int_equal(pci_host_add_fn(c.host, &f0.pci, 1, 0), 0);
    assert_int_equal(pci_host_cfg_read(c.host, 0, 1 << 3 | 3, PCI_DEVICE_ID, 2), 0x7113);
    assert_int_equal(pci_host_cfg_read(c.host, 0, 1 << 3 | 2, PCI_VENDOR_ID, 2), UINT32_MAX);
    assert_int_equal(pci_host_add_fn(c.host, &c.a.pci, 1, 3), -EBUSY);
    assert_int_equal(pci_host_add_fn(c.host, &f0.pci, -1, 1), -EINVAL);
    assert_int_equal(pci_host_add_fn(c.host, &f0.pci, 2, 8), -EINVAL);
    assert_int_equal(pci_host_cfg_read(c.host, 0, 1 << 3 | 3, PCI_INTERRUPT_LINE, 1), 0xff);
    assert_int_equal(f3.pci.gsi, 0);
    pci_dev_set_intx(&f3.pci, true);
    pci_dev_set_intx(&f0.pci, true);
    assert_true(routed[0]);
    pci_dev_set_intx(&f3.pci, false);
    assert_true(routed[0]); /* f0 still holds it */
    pci_dev_set_intx(&f0.pci, false);
    assert_false(routed[0]);
    assert_int_equal(c.fp.irq_calls[0], 0); /* nothing went to the platform */
    pci_host_destroy(c.host);
    bus_destroy(c.pio);
    bus_destroy(c.mmio);
    fake_platform_fini(&c.fp);
}

static void test_caps_and_masks(void **state)
{
    (void)state;
    struct tdev t;
    struct pci_dev_id id = {.vendor = 0x1234, .device = 1};
    uint8_t vndr[16] = {PCI_CAP_ID_VNDR, 0xaa, 16, 1, 2, 3};
    uint8_t other[6] = {0x05, 0, 1, 2};
    uint16_t off1, off2;
    pci_dev_init(&t.pci, &id, NULL, NULL, "caps");
    assert_int_equal(pci_cfg_get16(&t.pci, PCI_STATUS) & PCI_STATUS_CAP_LIST, 0);
    assert_int_equal(pci_dev_add_cap(&t.pci, vndr, sizeof(vndr), &off1), 0);
    assert_int_equal(pci_dev_add_cap(&t.pci, other, sizeof(other), &off2), 0);
    assert_int_equal(off1, 0x40);
    assert_int_equal(off2, 0x50);
    assert_int_equal(pci_cfg_get8(&t.pci, PCI_CAPABILITY_LIST), 0x40);
    assert_int_equal(pci_cfg_get8(&t.pci, 0x41), 0x50);
    assert_int_equal(pci_cfg_get8(&t.pci, 0x51), 0x00);
    assert_int_equal(pci_cfg_get8(&t.pci, 0x43), 1);
    assert_int_equal(pci_cfg_get16(&t.pci, PCI_STATUS) & PCI_STATUS_CAP_LIST, PCI_STATUS_CAP_LIST);
    uint8_t huge[200] = {0x09};
    assert_int_equal(pci_dev_add_cap(&t.pci, huge, sizeof(huge), &off1), -ENOSPC);
    assert_int_equal(pci_dev_add_cap(&t.pci, huge, 1, &off1), -EINVAL);
}

static void test_status_w1c(void **state)
{
    struct ctx *c = *state;
    pci_cfg_set16(&c->a.pci, PCI_STATUS, 0x8000 | PCI_STATUS_CAP_LIST);
    pci_host_cfg_write(c->host, 0, 8, PCI_STATUS, 0x0010, 2); /* not a W1C bit: no effect */
    assert_int_equal(pci_host_cfg_read(c->host, 0, 8, PCI_STATUS, 2), 0x8010);
    pci_host_cfg_write(c->host, 0, 8, PCI_STATUS, 0x8000, 2);
    assert_int_equal(pci_host_cfg_read(c->host, 0, 8, PCI_STATUS, 2), 0x0010);
}

struct hookdev {
    struct pci_dev pci;
    unsigned reads, writes;
    uint32_t last_val, seen_cfg;
};

static void hook_read(struct pci_dev *dev, uint32_t off, unsigned size)
{
    struct hookdev *h = container_of(dev, struct hookdev, pci);
    (void)size;
    h->reads++;
    if (off == 0x44)
        pci_cfg_set32(dev, 0x44, 0xcafe0000 | h->reads); /* a live register */
}

static void hook_write(struct pci_dev *dev, uint32_t off, uint32_t val, unsigned size)
{
    struct hookdev *h = container_of(dev, struct hookdev, pci);
    (void)size;
    h->writes++;
    h->last_val = val;
    h->seen_cfg = pci_cfg_get32(dev, (uint16_t)(off & ~3u)); /* masks already applied */
}

static const struct pci_dev_ops hook_ops = {.cfg_read = hook_read, .cfg_write = hook_write};

static void test_hooks(void **state)
{
    struct ctx *c = *state;
    static struct hookdev h; /* outlives the test: teardown destroys the host after us */
    memset(&h, 0, sizeof(h));
    struct pci_dev_id id = {.vendor = 0x1af4, .device = 0x1044};
    uint8_t cap[8] = {PCI_CAP_ID_VNDR, 0, 8};
    uint16_t off;
    pci_dev_init(&h.pci, &id, &hook_ops, &h, "hooks");
    assert_int_equal(pci_dev_add_cap(&h.pci, cap, sizeof(cap), &off), 0);
    pci_dev_set_wmask(&h.pci, (uint16_t)(off + 4), 0x0000ffff, 4);
    assert_int_equal(pci_host_add_dev(c->host, &h.pci, 3), 0);
    pci_host_cfg_write(c->host, 0, 3 << 3, (uint16_t)(off + 4), 0x12345678, 4);
    assert_int_equal(h.writes, 1);
    assert_int_equal(h.last_val, 0x12345678);
    assert_int_equal(h.seen_cfg, 0x5678);
    assert_int_equal(pci_host_cfg_read(c->host, 0, 3 << 3, 0x44, 4), 0xcafe0001);
    assert_int_equal(pci_host_cfg_read(c->host, 0, 3 << 3, 0x44, 4), 0xcafe0002);
    /* no hooks for absent functions or rejected accesses */
    pci_host_cfg_write(c->host, 0, (3 << 3) | 1, 0x44, 0, 4);
    pci_host_cfg_write(c->host, 0, 3 << 3, 0x43, 0, 2);
    assert_int_equal(h.writes, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_host_bridge_cf8, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ecam, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bar_assignment, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bar_sizing_and_moves, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bar_overlap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_slots_and_windows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_intx, setup, teardown),
        cmocka_unit_test(test_caps_and_masks),
        cmocka_unit_test(test_multifunction_and_routing),
        cmocka_unit_test_setup_teardown(test_status_w1c, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hooks, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

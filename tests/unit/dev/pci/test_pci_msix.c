/* SPDX-License-Identifier: MIT */
/* Unit tests for dev/pci/pci_msix.c: capability, table/PBA through a BAR, enable, per-vector
 * and function masking with pending bits, validation of guest accesses, reset. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>

#include "core/x86/layout.h"
#include "dev/bus.h"
#include "dev/pci/pci.h"
#include "dev/pci/pci_msix.h"
#include "fake_platform.h"

#define TABLE_OFF 0x2000
#define PBA_OFF 0x3000
#define NVEC 70 /* more than 64: two PBA qwords */
#define DEVFN (1 << 3)

struct mdev {
    struct pci_dev pci;
    struct pci_msix msix;
    unsigned own_hits;
};

static uint64_t mdev_read(void *opaque, uint64_t off, unsigned size)
{
    struct mdev *m = opaque;
    uint64_t v;
    if (pci_msix_bar_read(&m->msix, 0, off, size, &v))
        return v;
    m->own_hits++;
    return 0;
}

static void mdev_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    struct mdev *m = opaque;
    if (!pci_msix_bar_write(&m->msix, 0, off, val, size))
        m->own_hits++;
}

static const struct io_ops mdev_io = {mdev_read, mdev_write};

struct ctx {
    struct fake_platform fp;
    struct bus *pio, *mmio;
    struct pci_host *host;
    struct mdev m;
    uint64_t bar;
};

static int setup(void **state)
{
    struct ctx *c = calloc(1, sizeof(*c));
    struct pci_host_config pc = {.mmio32_base = PCI_MMIO32_BASE,
                                 .mmio32_size = PCI_MMIO32_SIZE,
                                 .io_base = PCI_IO_BASE,
                                 .io_size = PCI_IO_SIZE,
                                 .ecam_base = PCI_ECAM_BASE};
    struct pci_dev_id id = {.vendor = 0x1af4, .device = 0x1042, .class_code = 0x018000};
    fake_platform_init(&c->fp);
    assert_int_equal(bus_create("pio", &c->pio), 0);
    assert_int_equal(bus_create("mmio", &c->mmio), 0);
    assert_int_equal(pci_host_create(&pc, &c->fp.plat, c->pio, c->mmio, &c->host), 0);
    pci_dev_init(&c->m.pci, &id, NULL, &c->m, "mdev");
    assert_int_equal(pci_dev_set_bar(&c->m.pci, 0, PCI_BAR_MEM64, 0x4000, false, &mdev_io, &c->m),
                     0);
    assert_int_equal(
        pci_msix_init(&c->m.msix, &c->m.pci, &c->fp.plat, NVEC, 0, TABLE_OFF, 0, PBA_OFF), 0);
    assert_int_equal(pci_host_add_dev(c->host, &c->m.pci, 1), 0);
    c->bar = pci_dev_bar_addr(&c->m.pci, 0);
    *state = c;
    return 0;
}

static int teardown(void **state)
{
    struct ctx *c = *state;
    pci_host_destroy(c->host);
    pci_msix_fini(&c->m.msix);
    bus_destroy(c->pio);
    bus_destroy(c->mmio);
    fake_platform_fini(&c->fp);
    free(c);
    return 0;
}

static uint64_t rd(struct ctx *c, uint64_t off, unsigned size)
{
    uint64_t v;
    assert_true(bus_read(c->mmio, c->bar + off, size, &v));
    return v;
}

static void wr(struct ctx *c, uint64_t off, unsigned size, uint64_t v)
{
    assert_true(bus_write(c->mmio, c->bar + off, size, v));
}

static uint16_t cap(struct ctx *c)
{
    return c->m.msix.cap_off;
}

static void set_ctrl(struct ctx *c, uint16_t ctrl)
{
    pci_host_cfg_write(c->host, 0, DEVFN, (uint16_t)(cap(c) + 2), ctrl, 2);
}

static void program(struct ctx *c, unsigned v, uint32_t data, bool is_masked)
{
    uint64_t e = TABLE_OFF + 16ULL * v;
    wr(c, e, 8, 0xfee00000ULL); /* address low + high in one qword */
    wr(c, e + 8, 4, data);
    wr(c, e + 12, 4, is_masked ? 1 : 0);
}

static bool pending(struct ctx *c, unsigned v)
{
    return (rd(c, PBA_OFF + 8 * (v / 64), 8) >> (v % 64)) & 1;
}

static void test_capability(void **state)
{
    struct ctx *c = *state;
    assert_int_equal(pci_host_cfg_read(c->host, 0, DEVFN, PCI_CAPABILITY_LIST, 1), cap(c));
    assert_int_equal(pci_host_cfg_read(c->host, 0, DEVFN, cap(c), 1), PCI_CAP_ID_MSIX);
    assert_int_equal(pci_host_cfg_read(c->host, 0, DEVFN, cap(c) + 2, 2), NVEC - 1);
    assert_int_equal(pci_host_cfg_read(c->host, 0, DEVFN, cap(c) + 4, 4), TABLE_OFF | 0);
    assert_int_equal(pci_host_cfg_read(c->host, 0, DEVFN, cap(c) + 8, 4), PBA_OFF | 0);
    /* only enable and function mask are writable */
    set_ctrl(c, 0xffff);
    assert_int_equal(pci_host_cfg_read(c->host, 0, DEVFN, cap(c) + 2, 2), 0xc000 | (NVEC - 1));
    assert_true(pci_msix_is_enabled(&c->m.msix));
    pci_host_cfg_write(c->host, 0, DEVFN, cap(c) + 4, 0x1234, 4);
    assert_int_equal(pci_host_cfg_read(c->host, 0, DEVFN, cap(c) + 4, 4), TABLE_OFF);
    /* vectors start masked; the device's own registers are not taken */
    assert_int_equal(rd(c, TABLE_OFF + 12, 4), 1);
    assert_int_equal(rd(c, TABLE_OFF + 16 * (NVEC - 1) + 12, 4), 1);
    assert_int_equal(rd(c, 0x100, 4), 0);
    assert_int_equal(rd(c, TABLE_OFF + 16 * NVEC, 4), 0); /* right after the table */
    assert_int_equal(c->m.own_hits, 2);
}

static void test_delivery_and_masking(void **state)
{
    struct ctx *c = *state;
    program(c, 0, 0x41, false);
    program(c, 1, 0x42, true);
    program(c, 69, 0x43, false);
    /* disabled: nothing sent, nothing recorded */
    assert_int_equal(pci_msix_notify(&c->m.msix, 0), -ENODEV);
    assert_int_equal(c->fp.n_msis, 0);
    assert_false(pending(c, 0));
    set_ctrl(c, PCI_MSIX_FLAGS_ENABLE);
    assert_int_equal(pci_msix_notify(&c->m.msix, 0), 0);
    assert_int_equal(c->fp.n_msis, 1);
    assert_int_equal(c->fp.msis[0].addr, 0xfee00000);
    assert_int_equal(c->fp.msis[0].data, 0x41);
    assert_int_equal(pci_msix_notify(&c->m.msix, 69), 0);
    assert_int_equal(c->fp.msis[1].data, 0x43);
    /* masked vector: pending until unmasked */
    assert_int_equal(pci_msix_notify(&c->m.msix, 1), -EAGAIN);
    assert_int_equal(c->fp.n_msis, 2);
    assert_true(pending(c, 1));
    assert_int_equal(rd(c, PBA_OFF, 4), 2);
    wr(c, TABLE_OFF + 16 + 12, 4, 0);
    assert_int_equal(c->fp.n_msis, 3);
    assert_int_equal(c->fp.msis[2].data, 0x42);
    assert_false(pending(c, 1));
    /* function mask */
    set_ctrl(c, PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
    assert_int_equal(pci_msix_notify(&c->m.msix, 69), -EAGAIN);
    assert_true(pending(c, 69));
    assert_int_equal(rd(c, PBA_OFF + 8, 8), 1ULL << 5);
    assert_int_equal(rd(c, PBA_OFF + 12, 4), 0);
    set_ctrl(c, PCI_MSIX_FLAGS_ENABLE);
    assert_int_equal(c->fp.n_msis, 4);
    assert_int_equal(c->fp.msis[3].data, 0x43);
    assert_false(pending(c, 69));
    /* the message read back for irqfd routing */
    uint64_t addr;
    uint32_t data;
    bool is_masked;
    assert_true(pci_msix_get_msg(&c->m.msix, 1, &addr, &data, &is_masked));
    assert_int_equal(addr, 0xfee00000);
    assert_int_equal(data, 0x42);
    assert_false(is_masked);
    assert_false(pci_msix_get_msg(&c->m.msix, NVEC, &addr, &data, &is_masked));
    /* platform failure is reported */
    c->fp.send_msi_result = -EIO;
    assert_int_equal(pci_msix_notify(&c->m.msix, 0), -EIO);
}

static void test_guest_validation(void **state)
{
    struct ctx *c = *state;
    set_ctrl(c, PCI_MSIX_FLAGS_ENABLE);
    program(c, 2, 0x50, false);
    assert_int_equal(pci_msix_notify(&c->m.msix, NVEC), -EINVAL);
    assert_int_equal(pci_msix_notify(&c->m.msix, 100000), -EINVAL);
    /* bad sizes/alignment: claimed, ignored, all-ones */
    assert_int_equal(rd(c, TABLE_OFF + 32 + 8, 2), 0xffff);
    assert_int_equal(rd(c, TABLE_OFF + 32 + 9, 4), 0xffffffff);
    assert_int_equal(rd(c, TABLE_OFF + 32 + 4, 8), UINT64_MAX);
    wr(c, TABLE_OFF + 32 + 8, 1, 0x99);
    wr(c, TABLE_OFF + 32 + 10, 4, 0x99);
    assert_int_equal(rd(c, TABLE_OFF + 32 + 8, 4), 0x50);
    /* an access straddling the start of the table is claimed too */
    assert_int_equal(rd(c, TABLE_OFF - 4, 8), UINT64_MAX);
    /* low address bits are read-only zero; only the mask bit of vector control is kept */
    wr(c, TABLE_OFF + 32, 4, 0xfee00003);
    assert_int_equal(rd(c, TABLE_OFF + 32, 4), 0xfee00000);
    wr(c, TABLE_OFF + 32 + 12, 4, 0xfffffffe);
    assert_int_equal(rd(c, TABLE_OFF + 32 + 12, 4), 0);
    /* the PBA is read-only */
    wr(c, PBA_OFF, 8, UINT64_MAX);
    assert_int_equal(rd(c, PBA_OFF, 8), 0);
    /* a vector pointed somewhere that is not an MSI address is dropped */
    wr(c, TABLE_OFF + 32, 4, 0x1000);
    assert_int_equal(pci_msix_notify(&c->m.msix, 2), -EINVAL);
    assert_int_equal(c->fp.n_msis, 0);
    assert_int_equal(c->m.own_hits, 0);
}

static void test_reset(void **state)
{
    struct ctx *c = *state;
    set_ctrl(c, PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
    program(c, 3, 0x60, false);
    assert_int_equal(pci_msix_notify(&c->m.msix, 3), -EAGAIN);
    pci_host_reset(c->host);
    assert_false(pci_msix_is_enabled(&c->m.msix));
    assert_int_equal(pci_host_cfg_read(c->host, 0, DEVFN, cap(c) + 2, 2), NVEC - 1);
    assert_int_equal(rd(c, TABLE_OFF + 48 + 12, 4), 1);
    assert_int_equal(rd(c, TABLE_OFF + 48 + 8, 4), 0);
    assert_false(pending(c, 3));
}

static void test_init_validation(void **state)
{
    (void)state;
    struct fake_platform fp;
    struct pci_dev d;
    struct pci_msix m;
    struct pci_dev_id id = {.vendor = 1, .device = 2};
    fake_platform_init(&fp);
    pci_dev_init(&d, &id, NULL, NULL, "v");
    assert_int_equal(pci_dev_set_bar(&d, 0, PCI_BAR_MEM32, 0x1000, false, &mdev_io, NULL), 0);
    assert_int_equal(pci_dev_set_bar(&d, 1, PCI_BAR_IO, 0x100, false, &mdev_io, NULL), 0);
    assert_int_equal(pci_msix_init(&m, &d, &fp.plat, 0, 0, 0, 0, 0x800), -EINVAL);
    assert_int_equal(pci_msix_init(&m, &d, &fp.plat, 2049, 0, 0, 0, 0x800), -EINVAL);
    assert_int_equal(pci_msix_init(&m, &d, &fp.plat, 4, 0, 0xff8, 0, 0x800), -EINVAL);
    assert_int_equal(pci_msix_init(&m, &d, &fp.plat, 4, 0, 4, 0, 0x800), -EINVAL);
    assert_int_equal(pci_msix_init(&m, &d, &fp.plat, 4, 0, 0, 0, 0x38), -EINVAL);  /* overlap */
    assert_int_equal(pci_msix_init(&m, &d, &fp.plat, 4, 1, 0, 0, 0x800), -EINVAL); /* I/O BAR */
    assert_int_equal(pci_msix_init(&m, &d, &fp.plat, 4, 2, 0, 0, 0x800), -EINVAL); /* no BAR */
    assert_int_equal(pci_msix_init(&m, &d, &fp.plat, 4, 0, 0, 0, 0x40), 0);
    assert_ptr_equal(d.msix, &m);
    pci_msix_fini(&m);
    assert_null(d.msix);
    fake_platform_fini(&fp);
}

/* A hostile guest: random config, table and PBA accesses of every size, then invariants. */
static void test_random_guest(void **state)
{
    struct ctx *c = *state;
    static const unsigned sizes[] = {1, 2, 3, 4, 8};
    uint64_t seed = 0x9e3779b97f4a7c15ULL;
    for (unsigned i = 0; i < 200000; i++) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        uint64_t r = seed >> 11;
        unsigned size = sizes[r % 5];
        uint64_t val = seed * 0x2545f4914f6cdd1dULL;
        switch ((r >> 3) % 4) {
        case 0: {
            uint16_t off = (uint16_t)((r >> 8) % 0x1004);
            pci_host_cfg_write(c->host, 0, DEVFN, off, (uint32_t)val, size);
            break;
        }
        case 1: {
            uint16_t off = (uint16_t)((r >> 8) % 0x1004);
            (void)pci_host_cfg_read(c->host, 0, DEVFN, off, size);
            break;
        }
        case 2: {
            uint64_t off = (r >> 8) % 0x4010;
            uint64_t v;
            if ((r >> 40) & 1)
                (void)bus_write(c->mmio, c->bar + off, size, val);
            else
                (void)bus_read(c->mmio, c->bar + off, size, &v);
            break;
        }
        default:
            (void)pci_msix_notify(&c->m.msix, (unsigned)((r >> 8) % (NVEC + 3)));
        }
        /* the BAR may have moved: follow it so that table accesses keep happening */
        if (c->m.pci.bars[0].is_mapped)
            c->bar = c->m.pci.bars[0].mapped_base;
    }
    /* invariants: a mapped BAR is where its registers say, outside the hole, and claimed */
    struct pci_bar *bar = &c->m.pci.bars[0];
    if (bar->is_mapped) {
        assert_int_equal(bar->mapped_base, pci_dev_bar_addr(&c->m.pci, 0));
        assert_true(bar->mapped_base + bar->size <= IOAPIC_GPA ||
                    bar->mapped_base >= 0x100000000ULL);
        assert_true(bus_is_claimed(c->mmio, bar->mapped_base, bar->size));
    }
    for (unsigned v = 0; v < c->fp.n_msis && v < FAKE_PLATFORM_MAX_MSIS; v++)
        assert_int_equal(c->fp.msis[v].addr & 0xfff00000u, 0xfee00000u);
    /* ECAM and CF8 still answer for the host bridge */
    assert_int_equal(pci_host_cfg_read(c->host, 0, 0, 0, 4), 0x29c08086);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_capability, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delivery_and_masking, setup, teardown),
        cmocka_unit_test_setup_teardown(test_guest_validation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reset, setup, teardown),
        cmocka_unit_test(test_init_validation),
        cmocka_unit_test_setup_teardown(test_random_guest, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

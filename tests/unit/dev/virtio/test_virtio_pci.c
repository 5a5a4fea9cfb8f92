/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for dev/virtio/virtio_pci.c on a real PCI host, bus and gmem with the fake
 * platform: identity and vendor capabilities, common configuration registers (feature select
 * windows, queue select/size/enable, 32-bit halves of 64-bit addresses, MSI-X vector
 * checks), notifications, INTx with the ISR, MSI-X delivery, the PCI_CFG window and
 * ioeventfd kicks on the event loop (virtio 1.2 §4.1).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/evloop.h"
#include "core/gmem.h"
#include "dev/bus.h"
#include "dev/virtio/console.h"
#include "dev/virtio/rng.h"
#include "dev/virtio/virtio_pci.h"
#include "fake_platform.h"
#include "guest_ring.h"

#define RAM_BYTES (16ULL << 20)
#define BUF_GPA 0x100000ULL

struct fixture {
    struct gmem *gm;
    struct fake_platform fp;
    struct bus *pio, *mmio;
    struct pci_host *host;
    struct evloop *loop;
    struct virtio_rng *rng;
    struct virtio_pci *vp;
    uint64_t bar;
    uint8_t devfn;
};

static int setup_with_loop(void **state, bool has_loop)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct pci_host_config cfg = {
        .mmio32_base = PCI_MMIO32_BASE,
        .mmio32_size = PCI_MMIO32_SIZE,
        .mmio64_base = 0x100000000ULL,
        .mmio64_size = 1ULL << 30,
        .io_base = PCI_IO_WINDOW_BASE,
        .io_size = PCI_IO_WINDOW_SIZE,
        .ecam_base = PCI_ECAM_BASE,
    };
    assert_non_null(f);
    assert_int_equal(gmem_create(&f->gm), 0);
    assert_int_equal(gmem_add_region(f->gm, 0, RAM_BYTES, "ram", false, NULL), 0);
    fake_platform_init(&f->fp);
    assert_int_equal(bus_create("pio", &f->pio), 0);
    assert_int_equal(bus_create("mmio", &f->mmio), 0);
    assert_int_equal(pci_host_create(&cfg, &f->fp.plat, f->pio, f->mmio, &f->host), 0);
    if (has_loop)
        assert_int_equal(evloop_create(&f->loop), 0);
    assert_int_equal(virtio_rng_create(f->gm, &f->rng), 0);
    assert_int_equal(virtio_pci_plug(f->host, &f->rng->vd, f->loop, 3, &f->vp), 0);
    f->devfn = 3 << 3;
    f->bar = pci_dev_bar_addr(&f->vp->pci, 0);
    *state = f;
    return 0;
}

static int setup(void **state)
{
    return setup_with_loop(state, false);
}

static int setup_loop(void **state)
{
    return setup_with_loop(state, true);
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    if (f->loop != NULL)
        while (evloop_run_once(f->loop, 0) > 0)
            ;
    if (f->host != NULL)
        pci_host_destroy(f->host);
    virtio_pci_destroy(f->vp);
    virtio_rng_destroy(f->rng);
    if (f->loop != NULL)
        evloop_destroy(f->loop);
    bus_destroy(f->mmio);
    bus_destroy(f->pio);
    fake_platform_fini(&f->fp);
    gmem_destroy(f->gm);
    free(f);
    return 0;
}

static uint64_t rd(struct fixture *f, uint64_t off, unsigned size)
{
    uint64_t v = 0;
    assert_true(bus_read(f->mmio, f->bar + off, size, &v));
    return v;
}

static void wr(struct fixture *f, uint64_t off, uint64_t v, unsigned size)
{
    assert_true(bus_write(f->mmio, f->bar + off, size, v));
}

static uint32_t cfg_rd(struct fixture *f, uint16_t off, unsigned size)
{
    return pci_host_cfg_read(f->host, 0, f->devfn, off, size);
}

static void cfg_wr(struct fixture *f, uint16_t off, uint32_t v, unsigned size)
{
    pci_host_cfg_write(f->host, 0, f->devfn, off, v, size);
}

/* Finds the vendor capability of (type); returns its offset or 0. */
static uint16_t find_vcap(struct fixture *f, uint8_t type)
{
    uint16_t off = (uint16_t)cfg_rd(f, PCI_CAPABILITY_LIST, 1);
    for (unsigned n = 0; off != 0 && n < 48; n++) {
        if (cfg_rd(f, off, 1) == PCI_CAP_ID_VNDR && cfg_rd(f, off + 3, 1) == type)
            return off;
        off = (uint16_t)cfg_rd(f, off + 1, 1);
    }
    return 0;
}

static uint16_t find_cap(struct fixture *f, uint8_t id)
{
    uint16_t off = (uint16_t)cfg_rd(f, PCI_CAPABILITY_LIST, 1);
    for (unsigned n = 0; off != 0 && n < 48; n++) {
        if (cfg_rd(f, off, 1) == id)
            return off;
        off = (uint16_t)cfg_rd(f, off + 1, 1);
    }
    return 0;
}

static void test_identity_and_caps(void **state)
{
    struct fixture *f = *state;
    uint16_t off;

    assert_int_equal(cfg_rd(f, PCI_VENDOR_ID, 2), 0x1af4);
    assert_int_equal(cfg_rd(f, PCI_DEVICE_ID, 2), 0x1040 + VIRTIO_ID_RNG);
    assert_int_equal(cfg_rd(f, PCI_REVISION_ID, 1), 1);
    assert_int_equal(cfg_rd(f, PCI_SUBSYSTEM_VENDOR_ID, 2), 0x1af4);
    assert_true(cfg_rd(f, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
    assert_int_equal(cfg_rd(f, PCI_BAR0, 4) & 0x7, 0x4); /* 64-bit memory BAR */
    assert_true(f->bar != 0);

    off = find_vcap(f, VIRTIO_PCI_CAP_COMMON_CFG);
    assert_int_not_equal(off, 0);
    assert_int_equal(cfg_rd(f, off + 4, 1), 0);                       /* bar */
    assert_int_equal(cfg_rd(f, off + 8, 4), VIRTIO_PCI_COMMON_OFF);   /* offset */
    assert_int_equal(cfg_rd(f, off + 12, 4), VIRTIO_PCI_COMMON_SIZE); /* length */
    off = find_vcap(f, VIRTIO_PCI_CAP_NOTIFY_CFG);
    assert_int_not_equal(off, 0);
    assert_int_equal(cfg_rd(f, off + 2, 1), 20);
    assert_int_equal(cfg_rd(f, off + 8, 4), VIRTIO_PCI_NOTIFY_OFF);
    assert_int_equal(cfg_rd(f, off + 16, 4), VIRTIO_PCI_NOTIFY_MULT);
    assert_int_not_equal(find_vcap(f, VIRTIO_PCI_CAP_ISR_CFG), 0);
    assert_int_equal(find_vcap(f, VIRTIO_PCI_CAP_DEVICE_CFG), 0); /* rng: no config */
    assert_int_not_equal(find_vcap(f, VIRTIO_PCI_CAP_PCI_CFG), 0);
    off = find_cap(f, PCI_CAP_ID_MSIX);
    assert_int_not_equal(off, 0);
    assert_int_equal((cfg_rd(f, off + 2, 2) & PCI_MSIX_FLAGS_QSIZE) + 1, 2); /* queue + config */
}

static void test_common_cfg(void **state)
{
    struct fixture *f = *state;

    assert_int_equal(rd(f, VIRTIO_PCI_COMMON_NUMQ, 2), 1);
    wr(f, VIRTIO_PCI_COMMON_DFSELECT, 1, 4);
    assert_int_equal(rd(f, VIRTIO_PCI_COMMON_DF, 4), 1); /* VERSION_1 */
    wr(f, VIRTIO_PCI_COMMON_DFSELECT, 0, 4);
    assert_int_equal(rd(f, VIRTIO_PCI_COMMON_DF, 4), (1u << 28) | (1u << 29));
    wr(f, VIRTIO_PCI_COMMON_DFSELECT, 5, 4);
    assert_int_equal(rd(f, VIRTIO_PCI_COMMON_DF, 4), 0);
    wr(f, VIRTIO_PCI_COMMON_DF, 0xffffffff, 4); /* read-only */
    assert_int_equal(rd(f, VIRTIO_PCI_COMMON_DFSELECT, 4), 5);

    /* queue registers */
    assert_int_equal(rd(f, VIRTIO_PCI_COMMON_Q_SIZE, 2), 256);
    assert_int_equal(rd(f, VIRTIO_PCI_COMMON_Q_MSIX, 2), VIRTIO_MSI_NO_VECTOR);
    wr(f, VIRTIO_PCI_COMMON_Q_SELECT, 1, 2);
    assert_int_equal(rd(f, VIRTIO_PCI_COMMON_Q_SIZE, 2), 0); /* no queue 1 */
    wr(f, VIRTIO_PCI_COMMON_Q_SIZE, 16, 2);                  /* ignored */
    wr(f, VIRTIO_PCI_COMMON_Q_ENABLE, 1, 2);
    assert_int_equal(rd(f, VIRTIO_PCI_COMMON_STATUS, 1), 0);
    wr(f, VIRTIO_PCI_COMMON_Q_SELECT, 0, 2);
    /* before FEATURES_OK queue writes are ignored */
    wr(f, VIRTIO_PCI_COMMON_Q_SIZE, 16, 2);
    assert_int_equal(rd(f, VIRTIO_PCI_COMMON_Q_SIZE, 2), 256);
    /* odd sizes and out of range reads */
    assert_int_equal(rd(f, VIRTIO_PCI_COMMON_SIZE - 1, 4), 0);
    assert_int_equal(rd(f, 0x800, 4), 0);
    assert_int_equal(rd(f, VIRTIO_PCI_COMMON_STATUS, 1), 0);
}

/* Drives the device to DRIVER_OK through the registers; returns the status. */
static uint8_t bringup(struct fixture *f, struct guest_ring *r)
{
    wr(f, VIRTIO_PCI_COMMON_STATUS, VIRTIO_STATUS_ACKNOWLEDGE, 1);
    wr(f, VIRTIO_PCI_COMMON_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER, 1);
    wr(f, VIRTIO_PCI_COMMON_GFSELECT, 1, 4);
    wr(f, VIRTIO_PCI_COMMON_GF, 1, 4);
    wr(f, VIRTIO_PCI_COMMON_GFSELECT, 0, 4);
    wr(f, VIRTIO_PCI_COMMON_GF, 1u << 28, 4);
    wr(f, VIRTIO_PCI_COMMON_STATUS, 0x0b, 1);
    assert_int_equal(rd(f, VIRTIO_PCI_COMMON_STATUS, 1), 0x0b);
    wr(f, VIRTIO_PCI_COMMON_Q_SELECT, 0, 2);
    wr(f, VIRTIO_PCI_COMMON_Q_SIZE, r->size, 2);
    /* 64-bit addresses as 32-bit halves (Linux) and as one 64-bit write */
    wr(f, VIRTIO_PCI_COMMON_Q_DESC, (uint32_t)r->desc_gpa, 4);
    wr(f, VIRTIO_PCI_COMMON_Q_DESC + 4, r->desc_gpa >> 32, 4);
    wr(f, VIRTIO_PCI_COMMON_Q_AVAIL, r->avail_gpa, 8);
    wr(f, VIRTIO_PCI_COMMON_Q_USED, (uint32_t)r->used_gpa, 4);
    wr(f, VIRTIO_PCI_COMMON_Q_USED + 4, 0, 4);
    assert_int_equal(rd(f, VIRTIO_PCI_COMMON_Q_DESC, 8), r->desc_gpa);
    assert_int_equal(rd(f, VIRTIO_PCI_COMMON_Q_AVAIL, 4), r->avail_gpa);
    assert_int_equal(rd(f, VIRTIO_PCI_COMMON_Q_NOFF, 2), 0);
    wr(f, VIRTIO_PCI_COMMON_Q_ENABLE, 1, 2);
    if (!(rd(f, VIRTIO_PCI_COMMON_STATUS, 1) & VIRTIO_STATUS_NEEDS_RESET))
        assert_int_equal(rd(f, VIRTIO_PCI_COMMON_Q_ENABLE, 2), 1);
    wr(f, VIRTIO_PCI_COMMON_STATUS, 0x0f, 1);
    return (uint8_t)rd(f, VIRTIO_PCI_COMMON_STATUS, 1);
}

static void post_buffer(struct guest_ring *r, uint16_t i)
{
    guest_ring_desc(r, 0, i, BUF_GPA + 64ULL * i, 64, VIRTQ_DESC_F_WRITE, 0);
    guest_ring_publish(r, i);
}

static void test_intx_and_isr(void **state)
{
    struct fixture *f = *state;
    struct guest_ring r;
    uint32_t id, len;
    uint32_t gsi = f->vp->pci.gsi;

    guest_ring_init(&r, f->gm, 0x10000, 16);
    assert_int_equal(bringup(f, &r), 0x0f);
    assert_int_equal(rd(f, VIRTIO_PCI_COMMON_Q_SIZE, 2), 16);
    wr(f, VIRTIO_PCI_COMMON_Q_SIZE, 32, 2); /* after enable: ignored */
    assert_int_equal(rd(f, VIRTIO_PCI_COMMON_Q_SIZE, 2), 16);
    post_buffer(&r, 0);
    assert_false(fake_platform_irq(&f->fp, gsi));
    wr(f, VIRTIO_PCI_NOTIFY_OFF, 0, 2);
    assert_true(guest_ring_used(&r, &id, &len));
    assert_int_equal(len, 64);
    assert_true(fake_platform_irq(&f->fp, gsi));
    assert_int_equal(rd(f, VIRTIO_PCI_ISR_OFF, 1), VIRTIO_ISR_QUEUE);
    assert_false(fake_platform_irq(&f->fp, gsi));
    assert_int_equal(rd(f, VIRTIO_PCI_ISR_OFF, 1), 0);
    /* a notify for a queue that does not exist is ignored */
    wr(f, VIRTIO_PCI_NOTIFY_OFF + 4 * 5, 5, 2);
    assert_int_equal(rd(f, VIRTIO_PCI_COMMON_STATUS, 1), 0x0f);
    /* reset */
    wr(f, VIRTIO_PCI_COMMON_STATUS, 0, 1);
    assert_int_equal(rd(f, VIRTIO_PCI_COMMON_STATUS, 1), 0);
    assert_int_equal(rd(f, VIRTIO_PCI_COMMON_Q_ENABLE, 2), 0);
    assert_int_equal(rd(f, VIRTIO_PCI_COMMON_Q_SIZE, 2), 256);
}

static void test_bad_ring_needs_reset(void **state)
{
    struct fixture *f = *state;
    struct guest_ring r;
    guest_ring_init(&r, f->gm, 0x10000, 16);
    r.used_gpa = RAM_BYTES - 8; /* outside RAM */
    bringup(f, &r);
    assert_true(rd(f, VIRTIO_PCI_COMMON_STATUS, 1) & VIRTIO_STATUS_NEEDS_RESET);
    assert_int_equal(rd(f, VIRTIO_PCI_COMMON_Q_ENABLE, 2), 0);
}

static void test_msix(void **state)
{
    struct fixture *f = *state;
    struct guest_ring r;
    uint16_t cap = find_cap(f, PCI_CAP_ID_MSIX);
    uint32_t id, len;

    guest_ring_init(&r, f->gm, 0x10000, 16);
    /* enable MSI-X, program vector 1 (the queue's) and unmask it */
    cfg_wr(f, cap + 2, PCI_MSIX_FLAGS_ENABLE, 2);
    wr(f, VIRTIO_PCI_MSIX_TABLE_OFF + 16 + 0, 0xfee00000, 4);
    wr(f, VIRTIO_PCI_MSIX_TABLE_OFF + 16 + 4, 0, 4);
    wr(f, VIRTIO_PCI_MSIX_TABLE_OFF + 16 + 8, 0x41, 4);
    wr(f, VIRTIO_PCI_MSIX_TABLE_OFF + 16 + 12, 0, 4);
    wr(f, VIRTIO_PCI_COMMON_MSIX, 0, 2);
    assert_int_equal(rd(f, VIRTIO_PCI_COMMON_MSIX, 2), 0);
    wr(f, VIRTIO_PCI_COMMON_MSIX, 7, 2); /* no such vector */
    assert_int_equal(rd(f, VIRTIO_PCI_COMMON_MSIX, 2), VIRTIO_MSI_NO_VECTOR);
    wr(f, VIRTIO_PCI_COMMON_Q_MSIX, 2, 2);
    assert_int_equal(rd(f, VIRTIO_PCI_COMMON_Q_MSIX, 2), VIRTIO_MSI_NO_VECTOR);
    wr(f, VIRTIO_PCI_COMMON_Q_MSIX, 1, 2);
    assert_int_equal(rd(f, VIRTIO_PCI_COMMON_Q_MSIX, 2), 1);
    assert_int_equal(bringup(f, &r), 0x0f);
    post_buffer(&r, 0);
    wr(f, VIRTIO_PCI_NOTIFY_OFF, 0, 2);
    assert_true(guest_ring_used(&r, &id, &len));
    assert_int_equal(f->fp.n_msis, 1);
    assert_int_equal(f->fp.msis[0].data, 0x41);
    assert_false(fake_platform_irq(&f->fp, f->vp->pci.gsi));
    /* NO_VECTOR: no interrupt at all */
    wr(f, VIRTIO_PCI_COMMON_Q_MSIX, VIRTIO_MSI_NO_VECTOR, 2);
    post_buffer(&r, 1);
    wr(f, VIRTIO_PCI_NOTIFY_OFF, 0, 2);
    assert_true(guest_ring_used(&r, &id, &len));
    assert_int_equal(f->fp.n_msis, 1);
}

static void test_pci_cfg_window(void **state)
{
    struct fixture *f = *state;
    uint16_t cap = find_vcap(f, VIRTIO_PCI_CAP_PCI_CFG);

    cfg_wr(f, cap + 4, 0, 1);
    cfg_wr(f, cap + 8, VIRTIO_PCI_COMMON_NUMQ, 4);
    cfg_wr(f, cap + 12, 2, 4);
    assert_int_equal(cfg_rd(f, cap + 16, 4) & 0xffff, 1);
    cfg_wr(f, cap + 8, VIRTIO_PCI_COMMON_STATUS, 4);
    cfg_wr(f, cap + 12, 1, 4);
    cfg_wr(f, cap + 16, VIRTIO_STATUS_ACKNOWLEDGE, 4);
    assert_int_equal(rd(f, VIRTIO_PCI_COMMON_STATUS, 1), VIRTIO_STATUS_ACKNOWLEDGE);
    /* nonsense windows are ignored */
    cfg_wr(f, cap + 12, 3, 4);
    cfg_wr(f, cap + 16, 0, 4);
    cfg_wr(f, cap + 8, 0xfffffffe, 4);
    cfg_wr(f, cap + 12, 2, 4);
    cfg_wr(f, cap + 16, 0, 4);
    cfg_wr(f, cap + 4, 5, 1);
    cfg_wr(f, cap + 8, VIRTIO_PCI_COMMON_STATUS, 4);
    cfg_wr(f, cap + 12, 1, 4);
    cfg_wr(f, cap + 16, 0, 4);
    assert_int_equal(rd(f, VIRTIO_PCI_COMMON_STATUS, 1), VIRTIO_STATUS_ACKNOWLEDGE);
    /* reading the ISR through the window must not deadlock */
    cfg_wr(f, cap + 4, 0, 1);
    cfg_wr(f, cap + 8, VIRTIO_PCI_ISR_OFF, 4);
    assert_int_equal(cfg_rd(f, cap + 16, 1), 0);
}

static void test_ioeventfd_kick(void **state)
{
    struct fixture *f = *state;
    struct guest_ring r;
    uint32_t id, len;

    assert_int_equal(f->fp.n_ioeventfds, 1);
    assert_int_equal(f->fp.ioeventfds[0].addr, f->bar + VIRTIO_PCI_NOTIFY_OFF);
    assert_false(f->fp.ioeventfds[0].is_pio);
    guest_ring_init(&r, f->gm, 0x10000, 16);
    assert_int_equal(bringup(f, &r), 0x0f);
    post_buffer(&r, 0);
    /* what KVM does on the guest's notify write */
    {
        uint64_t one = 1;
        assert_int_equal(write(f->fp.ioeventfds[0].fd, &one, sizeof(one)), sizeof(one));
    }
    assert_false(guest_ring_used(&r, &id, &len));
    assert_true(evloop_run_once(f->loop, 100) > 0);
    assert_true(guest_ring_used(&r, &id, &len));
    /* the INTx raise is applied from the loop */
    while (evloop_run_once(f->loop, 0) > 0)
        ;
    assert_true(fake_platform_irq(&f->fp, f->vp->pci.gsi));
    /* the write-handler fallback also goes through the loop */
    post_buffer(&r, 1);
    wr(f, VIRTIO_PCI_NOTIFY_OFF, 0, 4);
    assert_false(guest_ring_used(&r, &id, &len));
    assert_true(evloop_run_once(f->loop, 100) > 0);
    assert_true(guest_ring_used(&r, &id, &len));
    assert_int_equal(rd(f, VIRTIO_PCI_ISR_OFF, 1), VIRTIO_ISR_QUEUE);
    assert_false(fake_platform_irq(&f->fp, f->vp->pci.gsi));
}

/* The call eventfd of an in-kernel backend: an irqfd to the queue's MSI-X message while that
 * vector can be sent, the loop otherwise (INTx, or the pending bit while masked). */
static void test_guest_notifier_irqfd(void **state)
{
    struct fixture *f = *state;
    struct virtio_dev *vd = f->vp->vd;
    uint16_t cap = find_cap(f, PCI_CAP_ID_MSIX);
    struct guest_ring r;
    uint64_t one = 1;
    int fd;

    guest_ring_init(&r, f->gm, 0x10000, 16);
    assert_int_equal(bringup(f, &r), 0x0f);
    pthread_mutex_lock(&vd->lock);
    fd = vd->transport->guest_notifier(vd, 0);
    pthread_mutex_unlock(&vd->lock);
    assert_true(fd >= 0);
    assert_int_equal(f->fp.irqfd_fd, -1); /* MSI-X off: the loop raises INTx */
    assert_int_equal(write(fd, &one, sizeof(one)), sizeof(one));
    assert_true(evloop_run_once(f->loop, 100) > 0);
    assert_true(fake_platform_irq(&f->fp, f->vp->pci.gsi));
    assert_int_equal(rd(f, VIRTIO_PCI_ISR_OFF, 1), VIRTIO_ISR_QUEUE);
    /* MSI-X on, vector 1 programmed and unmasked, given to the queue: irqfd */
    cfg_wr(f, cap + 2, PCI_MSIX_FLAGS_ENABLE, 2);
    wr(f, VIRTIO_PCI_MSIX_TABLE_OFF + 16 + 0, 0xfee00000, 4);
    wr(f, VIRTIO_PCI_MSIX_TABLE_OFF + 16 + 8, 0x41, 4);
    wr(f, VIRTIO_PCI_MSIX_TABLE_OFF + 16 + 12, 0, 4);
    assert_int_equal(f->fp.irqfd_fd, -1); /* the queue has no vector yet */
    wr(f, VIRTIO_PCI_COMMON_Q_SELECT, 0, 2);
    wr(f, VIRTIO_PCI_COMMON_Q_MSIX, 1, 2);
    assert_int_equal(f->fp.irqfd_fd, fd);
    assert_int_equal(f->fp.irqfd_addr, 0xfee00000);
    assert_int_equal(f->fp.irqfd_data, 0x41);
    /* a new message is routed again */
    wr(f, VIRTIO_PCI_MSIX_TABLE_OFF + 16 + 8, 0x42, 4);
    assert_int_equal(f->fp.irqfd_data, 0x42);
    /* masked: back to the loop, which makes the vector pending instead of sending it */
    wr(f, VIRTIO_PCI_MSIX_TABLE_OFF + 16 + 12, 1, 4);
    assert_int_equal(f->fp.irqfd_fd, -1);
    fake_platform_clear(&f->fp);
    assert_int_equal(write(fd, &one, sizeof(one)), sizeof(one));
    assert_true(evloop_run_once(f->loop, 100) > 0);
    assert_int_equal(f->fp.n_msis, 0);
    assert_int_equal(rd(f, VIRTIO_PCI_MSIX_PBA_OFF, 8), 2);
    /* unmasked: the pending message goes out and the irqfd is back */
    wr(f, VIRTIO_PCI_MSIX_TABLE_OFF + 16 + 12, 0, 4);
    assert_int_equal(f->fp.n_msis, 1);
    assert_int_equal(f->fp.irqfd_fd, fd);
    /* MSI-X off again: the loop */
    cfg_wr(f, cap + 2, 0, 2);
    assert_int_equal(f->fp.irqfd_fd, -1);
}

static void test_budget_defers(void **state)
{
    struct fixture *f = *state;
    struct guest_ring r;
    uint32_t id, len;
    unsigned n = 0;

    guest_ring_init(&r, f->gm, 0x10000, 256);
    assert_int_equal(bringup(f, &r), 0x0f);
    for (unsigned i = 0; i < 256; i++) {
        guest_ring_desc(&r, 0, i, BUF_GPA, 8, VIRTQ_DESC_F_WRITE, 0);
        guest_ring_publish(&r, (uint16_t)i);
    }
    wr(f, VIRTIO_PCI_NOTIFY_OFF, 0, 2);
    assert_true(evloop_run_once(f->loop, 100) > 0);
    while (guest_ring_used(&r, &id, &len))
        n++;
    assert_int_equal(n, VIRTIO_QUEUE_BUDGET);
    /* the device yielded: notifications stay off and its own kick is pending on the loop */
    assert_int_equal(guest_ring_used_flags(&r), VIRTQ_USED_F_NO_NOTIFY);
    guest_ring_desc(&r, 0, 0, BUF_GPA, 8, VIRTQ_DESC_F_WRITE, 0);
    guest_ring_publish(&r, 0);
    assert_true(evloop_run_once(f->loop, 100) > 0);
    assert_true(guest_ring_used(&r, &id, &len));
    assert_int_equal(guest_ring_used_flags(&r), 0);
}

static void test_console_device_cfg(void **state)
{
    struct fixture *f = *state;
    struct virtio_console *vc;
    struct virtio_pci *vp;
    uint64_t bar;

    assert_int_equal(virtio_console_create(f->gm, NULL, NULL, &vc), 0);
    assert_int_equal(virtio_pci_plug(f->host, &vc->vd, NULL, -1, &vp), 0);
    bar = pci_dev_bar_addr(&vp->pci, 0);
    {
        uint64_t v = 0;
        assert_true(bus_read(f->mmio, bar + VIRTIO_PCI_DEVICE_OFF + 4, 4, &v));
        assert_int_equal(v, 1); /* max_nr_ports */
        assert_true(bus_read(f->mmio, bar + VIRTIO_PCI_COMMON_NUMQ, 2, &v));
        assert_int_equal(v, 2);
    }
    pci_host_destroy(f->host);
    f->host = NULL;
    virtio_pci_destroy(vp);
    /* a late completion after the transport is gone raises nothing (and does not crash) */
    pthread_mutex_lock(&vc->vd.lock);
    virtio_notify_config(&vc->vd);
    pthread_mutex_unlock(&vc->vd.lock);
    virtio_console_destroy(vc);
}

static void test_machine_reset(void **state)
{
    struct fixture *f = *state;
    struct guest_ring r;
    guest_ring_init(&r, f->gm, 0x10000, 16);
    assert_int_equal(bringup(f, &r), 0x0f);
    pci_host_reset(f->host);
    assert_int_equal(rd(f, VIRTIO_PCI_COMMON_STATUS, 1), 0);
}

/*
 * An interrupt raised with vd->lock held queues the INTx update on the loop; destroying the
 * transport before that call ran must cancel it (under ASan this was a heap-use-after-free in
 * intx_apply, the machine teardown's interleaving: transport freed, then blk_close ran the
 * loop).
 */
/* An interrupt raised with the device lock held drives INTx at once, with a loop too: nothing
 * is left queued on the loop that could run on a transport freed afterwards. */
static void test_intx_with_lock_held(void **state)
{
    struct fixture *f = *state;
    struct guest_ring r;
    guest_ring_init(&r, f->gm, 0x10000, 16);
    assert_int_equal(bringup(f, &r), 0x0f);
    pthread_mutex_lock(&f->rng->vd.lock);
    virtio_notify_config(&f->rng->vd);
    pthread_mutex_unlock(&f->rng->vd.lock);
    assert_true(fake_platform_irq(&f->fp, f->vp->pci.gsi));
    pci_host_destroy(f->host);
    f->host = NULL;
    virtio_pci_destroy(f->vp);
    f->vp = NULL;
    assert_int_equal(evloop_run_once(f->loop, 0), 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_identity_and_caps),
        T(test_common_cfg),
        T(test_intx_and_isr),
        T(test_bad_ring_needs_reset),
        T(test_msix),
        cmocka_unit_test_setup_teardown(test_guest_notifier_irqfd, setup_loop, teardown),
        T(test_pci_cfg_window),
        cmocka_unit_test_setup_teardown(test_ioeventfd_kick, setup_loop, teardown),
        cmocka_unit_test_setup_teardown(test_budget_defers, setup_loop, teardown),
        T(test_console_device_cfg),
        T(test_machine_reset),
        cmocka_unit_test_setup_teardown(test_intx_with_lock_held, setup_loop, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

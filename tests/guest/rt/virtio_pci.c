/* SPDX-License-Identifier: MIT */
/*
 * A polling driver core for modern virtio-pci devices (virtio 1.2 §4.1 transport: vendor
 * capabilities §4.1.4, common configuration §4.1.4.3, notifications §4.1.4.4; §3.1.1 driver
 * initialization; §2.7 split virtqueue). One device is driven at a time with one 16-entry
 * queue in static memory; the driver never enables interrupts and polls the used ring.
 */
#include "pci.h"
#include "virtio.h"

struct vq_desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;
};

static struct vq_desc vq_desc[VDEV_QUEUE_SIZE] __attribute__((aligned(4096)));
static struct {
    uint16_t flags, idx, ring[VDEV_QUEUE_SIZE], used_event;
} vq_avail __attribute__((aligned(4096)));
static struct {
    uint16_t flags, idx;
    struct {
        uint32_t id, len;
    } ring[VDEV_QUEUE_SIZE];
    uint16_t avail_event;
} vq_used __attribute__((aligned(4096)));

static uint64_t bar_address(uint16_t bdf, unsigned bar)
{
    uint32_t lo = pci_cf8_read32(bdf, (uint16_t)(PCI_BAR0 + 4 * bar));
    if (lo & 1)
        return 0;
    uint64_t a = lo & ~0xfu;
    if (((lo >> 1) & 3) == 2 && bar < 5)
        a |= (uint64_t)pci_cf8_read32(bdf, (uint16_t)(PCI_BAR0 + 4 * bar + 4)) << 32;
    return a;
}

/* Finds the vendor capabilities (§4.1.4) and fills the structure addresses. */
static bool map_caps(struct vdev *d)
{
    for (uint8_t p = pci_find_cap(d->bdf, 0x09, 0); p; p = pci_find_cap(d->bdf, 0x09, p)) {
        uint8_t type = pci_read8(d->bdf, (uint16_t)(p + 3));
        uint8_t bar = pci_read8(d->bdf, (uint16_t)(p + 4));
        uint32_t off = pci_read32(d->bdf, (uint16_t)(p + 8));
        if (bar > 5)
            continue;
        uint64_t base = bar_address(d->bdf, bar);
        if (!base || base + off >= RT_MAP_LIMIT)
            continue;
        uint64_t a = base + off;
        if (type == VIRTIO_PCI_CAP_COMMON_CFG && !d->common) {
            d->common = a;
        } else if (type == VIRTIO_PCI_CAP_NOTIFY_CFG && !d->notify) {
            d->notify = a;
            d->notify_mult = pci_read32(d->bdf, (uint16_t)(p + 16));
        } else if (type == VIRTIO_PCI_CAP_ISR_CFG && !d->isr) {
            d->isr = a;
        } else if (type == VIRTIO_PCI_CAP_DEVICE_CFG && !d->devcfg) {
            d->devcfg = a;
        }
    }
    return d->common && d->notify && d->isr;
}

bool vdev_has(const struct vdev *d, unsigned bit)
{
    return (d->features >> bit) & 1;
}

uint32_t vdev_cfg32(const struct vdev *d, unsigned off)
{
    return d->devcfg ? mmio_read32(d->devcfg + off) : 0;
}

static void set_status(struct vdev *d, uint8_t s)
{
    mmio_write8(d->common + VIRTIO_PCI_COMMON_STATUS, s);
}

static uint8_t get_status(const struct vdev *d)
{
    return mmio_read8(d->common + VIRTIO_PCI_COMMON_STATUS);
}

bool vdev_reset(struct vdev *d)
{
    set_status(d, 0);
    for (int i = 0; i < 100000; i++) {
        if (get_status(d) == 0)
            return true;
        cpu_relax();
    }
    return false;
}

static bool negotiate(struct vdev *d, uint64_t want, const char *what)
{
    uint64_t c = d->common;
    mmio_write32(c + VIRTIO_PCI_COMMON_DFSELECT, 0);
    uint64_t f = mmio_read32(c + VIRTIO_PCI_COMMON_DF);
    mmio_write32(c + VIRTIO_PCI_COMMON_DFSELECT, 1);
    f |= (uint64_t)mmio_read32(c + VIRTIO_PCI_COMMON_DF) << 32;
    d->features = f & (want | 1ULL << VIRTIO_F_VERSION_1);
    rt_printf("  %s: device features 0x%lx, driver 0x%lx\n", d->tag, (unsigned long)f,
              (unsigned long)d->features);
    if (!rt_check(vdev_has(d, VIRTIO_F_VERSION_1), what, "%s: no VERSION_1", d->tag))
        return false;
    mmio_write32(c + VIRTIO_PCI_COMMON_GFSELECT, 0);
    mmio_write32(c + VIRTIO_PCI_COMMON_GF, (uint32_t)d->features);
    mmio_write32(c + VIRTIO_PCI_COMMON_GFSELECT, 1);
    mmio_write32(c + VIRTIO_PCI_COMMON_GF, (uint32_t)(d->features >> 32));
    set_status(d, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
    return rt_check(get_status(d) & VIRTIO_STATUS_FEATURES_OK, what,
                    "%s: FEATURES_OK not accepted (status 0x%x)", d->tag, get_status(d));
}

static void write64(uint64_t a, uint64_t v)
{
    mmio_write32(a, (uint32_t)v);
    mmio_write32(a + 4, (uint32_t)(v >> 32));
}

static bool setup_queue(struct vdev *d, uint16_t msix, const char *what)
{
    uint64_t c = d->common;
    mmio_write16(c + VIRTIO_PCI_COMMON_Q_SELECT, 0);
    uint16_t max = mmio_read16(c + VIRTIO_PCI_COMMON_Q_SIZE);
    if (!rt_check(max >= 4, what, "%s: queue 0 size %u", d->tag, max))
        return false;
    d->qsize = max < VDEV_QUEUE_SIZE ? max : VDEV_QUEUE_SIZE;
    memset(vq_desc, 0, sizeof(vq_desc));
    memset(&vq_avail, 0, sizeof(vq_avail));
    memset(&vq_used, 0, sizeof(vq_used));
    d->avail_idx = d->used_idx = 0;
    mmio_write16(c + VIRTIO_PCI_COMMON_Q_SIZE, d->qsize);
    mmio_write16(c + VIRTIO_PCI_COMMON_MSIX, VDEV_NO_VECTOR);
    mmio_write16(c + VIRTIO_PCI_COMMON_Q_MSIX, msix);
    uint16_t got = mmio_read16(c + VIRTIO_PCI_COMMON_Q_MSIX);
    if (!rt_check(got == msix, what, "%s: queue MSI-X vector %u reads back %u", d->tag, msix, got))
        return false;
    write64(c + VIRTIO_PCI_COMMON_Q_DESC, (uintptr_t)vq_desc);
    write64(c + VIRTIO_PCI_COMMON_Q_AVAIL, (uintptr_t)&vq_avail);
    write64(c + VIRTIO_PCI_COMMON_Q_USED, (uintptr_t)&vq_used);
    uint16_t noff = mmio_read16(c + VIRTIO_PCI_COMMON_Q_NOFF);
    d->notify_addr = d->notify + (uint64_t)noff * d->notify_mult;
    mmio_write16(c + VIRTIO_PCI_COMMON_Q_ENABLE, 1);
    set_status(d, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
                      VIRTIO_STATUS_DRIVER_OK);
    return rt_check(!(get_status(d) & (VIRTIO_STATUS_NEEDS_RESET | VIRTIO_STATUS_FAILED)), what,
                    "%s: status 0x%x after DRIVER_OK", d->tag, get_status(d));
}

bool vdev_open(struct vdev *d, uint16_t bdf, uint64_t want, uint16_t msix, const char *what)
{
    memset(d, 0, sizeof(*d));
    d->bdf = bdf;
    rt_snprintf(d->tag, sizeof(d->tag), "%02x:%02x.%x", PCI_BUS(bdf), PCI_DEV(bdf), PCI_FN(bdf));
    pci_cf8_write16(bdf, PCI_COMMAND,
                    (uint16_t)(pci_read16(bdf, PCI_COMMAND) | PCI_CMD_MEM | PCI_CMD_MASTER));
    if (!rt_check(map_caps(d), what, "%s: missing virtio-pci capabilities", d->tag))
        return false;
    if (!rt_check(vdev_reset(d), what, "%s: status does not read 0 after reset", d->tag))
        return false;
    set_status(d, VIRTIO_STATUS_ACKNOWLEDGE);
    set_status(d, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    return negotiate(d, want, what) && setup_queue(d, msix, what);
}

int vdev_submit(struct vdev *d, const struct vbuf *bufs, unsigned n, uint32_t *used_len)
{
    if (!n || n > d->qsize)
        return -1;
    for (unsigned i = 0; i < n; i++) {
        uint16_t flags = (uint16_t)((i + 1 < n ? VIRTQ_DESC_F_NEXT : 0) |
                                    (bufs[i].writable ? VIRTQ_DESC_F_WRITE : 0));
        vq_desc[i] = (struct vq_desc){(uintptr_t)bufs[i].addr, bufs[i].len, flags,
                                      (uint16_t)(i + 1 < n ? i + 1 : 0)};
    }
    volatile uint16_t *aidx = &vq_avail.idx;
    vq_avail.ring[d->avail_idx % d->qsize] = 0;
    barrier();
    *aidx = ++d->avail_idx;
    barrier();
    mmio_write16(d->notify_addr, 0);
    uint64_t t0 = rt_now_us();
    volatile uint16_t *uidx = &vq_used.idx;
    /* 5 s on the PM timer; the spin bound covers machines without one. */
    for (uint64_t spins = 0; *uidx == d->used_idx; spins++) {
        if (rt_now_us() - t0 > 5000000 || spins > 500000000)
            return -1;
        cpu_relax();
    }
    barrier();
    uint32_t id = vq_used.ring[d->used_idx % d->qsize].id;
    if (used_len)
        *used_len = vq_used.ring[d->used_idx % d->qsize].len;
    d->used_idx++;
    return id == 0 ? 0 : -1;
}

void vdev_rings(struct vdev_desc **desc, volatile uint16_t **avail, volatile uint32_t **used)
{
    _Static_assert(sizeof(struct vdev_desc) == sizeof(struct vq_desc), "descriptor layout");
    *desc = (struct vdev_desc *)(void *)vq_desc;
    *avail = (volatile uint16_t *)&vq_avail;
    *used = (volatile uint32_t *)(void *)&vq_used;
}

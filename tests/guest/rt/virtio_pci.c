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

struct vq_rings {
    struct vq_desc desc[VDEV_QUEUE_SIZE];
    struct {
        uint16_t flags, idx, ring[VDEV_QUEUE_SIZE], used_event;
    } avail __attribute__((aligned(16)));
    struct {
        uint16_t flags, idx;
        struct {
            uint32_t id, len;
        } ring[VDEV_QUEUE_SIZE];
        uint16_t avail_event;
    } used __attribute__((aligned(16)));
} __attribute__((aligned(4096)));
static struct vq_rings vq_rings[VDEV_MAX_QUEUES];
/* queue 0, the one vdev_open drives */
#define Q0 (vq_rings[0])

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
    memset(Q0.desc, 0, sizeof(Q0.desc));
    memset(&Q0.avail, 0, sizeof(Q0.avail));
    memset(&Q0.used, 0, sizeof(Q0.used));
    d->avail_idx = d->used_idx = 0;
    mmio_write16(c + VIRTIO_PCI_COMMON_Q_SIZE, d->qsize);
    mmio_write16(c + VIRTIO_PCI_COMMON_MSIX, VDEV_NO_VECTOR);
    mmio_write16(c + VIRTIO_PCI_COMMON_Q_MSIX, msix);
    uint16_t got = mmio_read16(c + VIRTIO_PCI_COMMON_Q_MSIX);
    if (!rt_check(got == msix, what, "%s: queue MSI-X vector %u reads back %u", d->tag, msix, got))
        return false;
    write64(c + VIRTIO_PCI_COMMON_Q_DESC, (uintptr_t)Q0.desc);
    write64(c + VIRTIO_PCI_COMMON_Q_AVAIL, (uintptr_t)&Q0.avail);
    write64(c + VIRTIO_PCI_COMMON_Q_USED, (uintptr_t)&Q0.used);
    uint16_t noff = mmio_read16(c + VIRTIO_PCI_COMMON_Q_NOFF);
    d->notify_addr = d->notify + (uint64_t)noff * d->notify_mult;
    mmio_write16(c + VIRTIO_PCI_COMMON_Q_ENABLE, 1);
    set_status(d, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
                      VIRTIO_STATUS_DRIVER_OK);
    return rt_check(!(get_status(d) & (VIRTIO_STATUS_NEEDS_RESET | VIRTIO_STATUS_FAILED)), what,
                    "%s: status 0x%x after DRIVER_OK", d->tag, get_status(d));
}

/* Queue (q) >= 1 of vdev_open_queues, before DRIVER_OK. */
static bool setup_extra_queue(struct vdev *d, uint16_t q, const char *what)
{
    uint64_t c = d->common;
    struct vq_rings *r = &vq_rings[q];
    mmio_write16(c + VIRTIO_PCI_COMMON_Q_SELECT, q);
    uint16_t max = mmio_read16(c + VIRTIO_PCI_COMMON_Q_SIZE);
    if (!rt_check(max >= d->qsize, what, "%s: queue %u size %u", d->tag, q, max))
        return false;
    memset(r, 0, sizeof(*r));
    d->q_avail_idx[q] = d->q_used_idx[q] = 0;
    mmio_write16(c + VIRTIO_PCI_COMMON_Q_SIZE, d->qsize);
    mmio_write16(c + VIRTIO_PCI_COMMON_Q_MSIX, VDEV_NO_VECTOR);
    write64(c + VIRTIO_PCI_COMMON_Q_DESC, (uintptr_t)r->desc);
    write64(c + VIRTIO_PCI_COMMON_Q_AVAIL, (uintptr_t)&r->avail);
    write64(c + VIRTIO_PCI_COMMON_Q_USED, (uintptr_t)&r->used);
    d->q_notify_addr[q] =
        d->notify + (uint64_t)mmio_read16(c + VIRTIO_PCI_COMMON_Q_NOFF) * d->notify_mult;
    mmio_write16(c + VIRTIO_PCI_COMMON_Q_ENABLE, 1);
    return true;
}

static bool open_queues(struct vdev *d, uint16_t bdf, uint64_t want, unsigned nq, uint16_t msix,
                        const char *what);

bool vdev_open(struct vdev *d, uint16_t bdf, uint64_t want, uint16_t msix, const char *what)
{
    return open_queues(d, bdf, want, 1, msix, what);
}

bool vdev_open_queues(struct vdev *d, uint16_t bdf, uint64_t want, unsigned nqueues,
                      const char *what)
{
    if (!rt_check(nqueues >= 1 && nqueues <= VDEV_MAX_QUEUES, what, "%u queues", nqueues))
        return false;
    return open_queues(d, bdf, want, nqueues, VDEV_NO_VECTOR, what);
}

static bool open_queues(struct vdev *d, uint16_t bdf, uint64_t want, unsigned nq, uint16_t msix,
                        const char *what)
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
    if (!negotiate(d, want, what))
        return false;
    d->qsize = VDEV_QUEUE_SIZE; /* setup_queue may lower it; the extra queues follow it */
    for (unsigned q = 1; q < nq; q++)
        if (!setup_extra_queue(d, (uint16_t)q, what))
            return false;
    return setup_queue(d, msix, what);
}

int vdev_submit_q(struct vdev *d, unsigned q, const struct vbuf *bufs, unsigned n,
                  uint32_t *used_len)
{
    if (q == 0)
        return vdev_submit(d, bufs, n, used_len);
    if (q >= VDEV_MAX_QUEUES || !n || n > d->qsize)
        return -1;
    struct vq_rings *r = &vq_rings[q];
    for (unsigned i = 0; i < n; i++) {
        uint16_t flags = (uint16_t)((i + 1 < n ? VIRTQ_DESC_F_NEXT : 0) |
                                    (bufs[i].writable ? VIRTQ_DESC_F_WRITE : 0));
        r->desc[i] = (struct vq_desc){(uintptr_t)bufs[i].addr, bufs[i].len, flags,
                                      (uint16_t)(i + 1 < n ? i + 1 : 0)};
    }
    r->avail.ring[d->q_avail_idx[q] % d->qsize] = 0;
    barrier();
    *(volatile uint16_t *)&r->avail.idx = ++d->q_avail_idx[q];
    barrier();
    mmio_write16(d->q_notify_addr[q], 0);
    uint64_t t0 = rt_now_us();
    volatile uint16_t *uidx = &r->used.idx;
    for (uint64_t spins = 0; *uidx == d->q_used_idx[q]; spins++) {
        if (rt_now_us() - t0 > 5000000 || spins > 500000000)
            return -1;
        cpu_relax();
    }
    barrier();
    uint32_t id = r->used.ring[d->q_used_idx[q] % d->qsize].id;
    if (used_len)
        *used_len = r->used.ring[d->q_used_idx[q] % d->qsize].len;
    d->q_used_idx[q]++;
    return id == 0 ? 0 : -1;
}

int vdev_submit(struct vdev *d, const struct vbuf *bufs, unsigned n, uint32_t *used_len)
{
    if (!n || n > d->qsize)
        return -1;
    for (unsigned i = 0; i < n; i++) {
        uint16_t flags = (uint16_t)((i + 1 < n ? VIRTQ_DESC_F_NEXT : 0) |
                                    (bufs[i].writable ? VIRTQ_DESC_F_WRITE : 0));
        Q0.desc[i] = (struct vq_desc){(uintptr_t)bufs[i].addr, bufs[i].len, flags,
                                      (uint16_t)(i + 1 < n ? i + 1 : 0)};
    }
    volatile uint16_t *aidx = &Q0.avail.idx;
    Q0.avail.ring[d->avail_idx % d->qsize] = 0;
    barrier();
    *aidx = ++d->avail_idx;
    barrier();
    mmio_write16(d->notify_addr, 0);
    uint64_t t0 = rt_now_us();
    volatile uint16_t *uidx = &Q0.used.idx;
    /* 5 s on the PM timer; the spin bound covers machines without one. */
    for (uint64_t spins = 0; *uidx == d->used_idx; spins++) {
        if (rt_now_us() - t0 > 5000000 || spins > 500000000)
            return -1;
        cpu_relax();
    }
    barrier();
    uint32_t id = Q0.used.ring[d->used_idx % d->qsize].id;
    if (used_len)
        *used_len = Q0.used.ring[d->used_idx % d->qsize].len;
    d->used_idx++;
    return id == 0 ? 0 : -1;
}

void vdev_rings_q(struct vdev *d, unsigned q, struct vdev_desc **desc, volatile uint16_t **avail,
                  volatile uint32_t **used, uint16_t **avail_idx, uint16_t **used_idx,
                  uint64_t *notify)
{
    struct vq_rings *r = &vq_rings[q < VDEV_MAX_QUEUES ? q : 0];
    *desc = (struct vdev_desc *)(void *)r->desc;
    *avail = (volatile uint16_t *)&r->avail;
    *used = (volatile uint32_t *)(void *)&r->used;
    *avail_idx = q == 0 ? &d->avail_idx : &d->q_avail_idx[q];
    *used_idx = q == 0 ? &d->used_idx : &d->q_used_idx[q];
    *notify = q == 0 ? d->notify_addr : d->q_notify_addr[q];
}

void vdev_rings(struct vdev_desc **desc, volatile uint16_t **avail, volatile uint32_t **used)
{
    _Static_assert(sizeof(struct vdev_desc) == sizeof(struct vq_desc), "descriptor layout");
    *desc = (struct vdev_desc *)(void *)Q0.desc;
    *avail = (volatile uint16_t *)&Q0.avail;
    *used = (volatile uint32_t *)(void *)&Q0.used;
}

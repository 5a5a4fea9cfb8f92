/* SPDX-License-Identifier: MIT */
/*
 * The PCI host bridge on bus 0 (PCI Local Bus Spec 3.0 §3.2.2.3.2 configuration mechanism #1;
 * PCI Firmware Spec 3.2 §4.1 / PCIe Base Spec §7.2.2 ECAM layout): config-space dispatch with
 * masks, BAR registration that follows COMMAND and BAR writes, INTx wire-OR per GSI, and the
 * firmware's job of assigning BARs from the windows (bump allocators, natural alignment).
 * Port 0xCF9 (Intel reset control register, inside the CF8 dword) resets the machine when its
 * RST_CPU bit is written, as Linux's reboot=pci expects.
 *
 *   CF8 (32-bit only): bit 31 enable | 23:16 bus | 15:11 device | 10:8 function | 7:2 register
 *   ECAM offset:       27:20 bus | 19:15 device | 14:12 function | 11:0 register
 */
#include "dev/pci/pci.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/ckd.h"
#include "dev/pci/pci_msix.h"
#include "dev/pci/pci_rom.h"

#define LOG_TAG "pci"
#include "base/log.h"

#define CF8_ENABLE 0x80000000u
#define CF9_RST_CPU 0x04
#define ECAM_BUSES 256
#define FIRMWARE_COMMAND (PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER)
/* Memory BARs never decode over the IOAPIC, the LAPIC and the firmware flash. */
#define MEM_HOLE_START IOAPIC_GPA
#define MEM_HOLE_END 0x100000000ULL
/* x86-64 physical addresses have at most 52 bits: a BAR beyond that is a sizing leftover. */
#define MAX_PHYS_END (1ULL << 52)

struct window {
    uint64_t base, size, next;
};

struct pci_host {
    pthread_mutex_t lock;
    struct platform plat;
    struct bus *pio, *mmio;
    struct pci_host_config cfg;
    uint32_t cf8;
    uint8_t cf9;
    bool has_ecam;
    struct window io, mmio32, mmio64;
    struct pci_dev *fns[PCI_MAX_FNS]; /* by devfn; 0 is the host bridge */
    /* A leaf lock for INTx: intx_level, is_intx_disabled of every device and gsi_levels. */
    pthread_mutex_t intx_lock;
    uint32_t gsi_levels; /* current level of each PCI INTx GSI (bit gsi - GSI_PCI_FIRST) */
    struct pci_dev bridge;
};

/* The function at (bus, devfn), or NULL: bus 0 only, and a function other than 0 only in a
 * slot whose function 0 exists. */
static struct pci_dev *find_dev(struct pci_host *host, uint8_t bus, uint8_t devfn)
{
    if (bus != 0 || host->fns[devfn & ~7u] == NULL)
        return NULL;
    return host->fns[devfn];
}

/* The bit of (line) in gsi_levels. */
static uint32_t line_bit(const struct pci_host *host, uint32_t line)
{
    return 1u << ((host->cfg.intx_set != NULL ? line : line - GSI_PCI_FIRST) & 31);
}

/* True when the BAR may be registered at (base): decoding on, sane, off the memory hole. */
static bool bar_is_usable(const struct pci_dev *dev, const struct pci_bar *bar, uint64_t base)
{
    uint16_t cmd = pci_cfg_get16(dev, PCI_COMMAND);
    uint64_t end;

    if (base == 0 || ckd_add(&end, base, bar->size))
        return false;
    if (bar->type == PCI_BAR_IO)
        return (cmd & PCI_COMMAND_IO) && end <= 0x10000;
    if (!(cmd & PCI_COMMAND_MEMORY))
        return false;
    /* A BAR left at its sizing pattern (all-ones) is not an address. */
    if (bar->type == PCI_BAR_MEM32 && end > MEM_HOLE_START)
        return false;
    return (end <= MEM_HOLE_START || base >= MEM_HOLE_END) && end <= MAX_PHYS_END;
}

/* Called with host->lock held. */
static void bar_unmap(struct pci_host *host, struct pci_dev *dev, unsigned i)
{
    struct pci_bar *bar = &dev->bars[i];
    if (!bar->is_mapped)
        return;
    bus_unregister(bar->type == PCI_BAR_IO ? host->pio : host->mmio, bar->mapped_base, bar->opaque);
    bar->is_mapped = false;
    if (dev->ops && dev->ops->bar_map)
        dev->ops->bar_map(dev, i, bar->mapped_base, false);
}

/* Makes BAR (i)'s bus registration match its config registers. Called with host->lock held. */
static void bar_update(struct pci_host *host, struct pci_dev *dev, unsigned i)
{
    struct pci_bar *bar = &dev->bars[i];
    uint64_t base = pci_dev_bar_addr(dev, i);
    bool is_wanted = bar_is_usable(dev, bar, base);

    if (bar->is_mapped && (!is_wanted || bar->mapped_base != base))
        bar_unmap(host, dev, i);
    if (!is_wanted || bar->is_mapped)
        return;
    struct bus *bus = bar->type == PCI_BAR_IO ? host->pio : host->mmio;
    int ret = bus_register(bus, base, bar->size, bar->ops, bar->opaque, dev->name);
    if (ret < 0) {
        log_ratelimited(LOG_INFO, "%s: BAR%u at 0x%" PRIx64 " not mapped: %s", dev->name, i, base,
                        ret == -EEXIST ? "overlaps another range" : "invalid");
        return;
    }
    bar->is_mapped = true;
    bar->mapped_base = base;
    if (dev->ops && dev->ops->bar_map)
        dev->ops->bar_map(dev, i, base, true);
}

static void update_bars(struct pci_host *host, struct pci_dev *dev)
{
    for (unsigned i = 0; i < PCI_NUM_BARS; i++) {
        if (dev->bars[i].type != PCI_BAR_NONE)
            bar_update(host, dev, i);
    }
    pci_rom_update(dev, host->mmio);
}

static bool overlaps(uint16_t off, unsigned size, uint16_t start, unsigned len)
{
    return off < start + len && start < off + size;
}

/* Recomputes the wire-OR of (gsi) over all devices. Called with host->intx_lock held. */
static void update_intx(struct pci_host *host, uint32_t gsi)
{
    bool level = false;
    for (unsigned f = 0; f < PCI_MAX_FNS; f++) {
        struct pci_dev *d = host->fns[f];
        if (d && pci_cfg_get8(d, PCI_INTERRUPT_PIN) && d->gsi == gsi && d->intx_level &&
            !d->is_intx_disabled)
            level = true;
    }
    uint32_t bit = line_bit(host, gsi);
    if (level == !!(host->gsi_levels & bit))
        return;
    host->gsi_levels = level ? host->gsi_levels | bit : host->gsi_levels & ~bit;
    if (host->cfg.intx_set != NULL)
        host->cfg.intx_set(host->cfg.intx_opaque, gsi, level);
    else
        host->plat.ops->set_irq(host->plat.opaque, gsi, level);
}

void pci_dev_set_intx(struct pci_dev *dev, bool level)
{
    struct pci_host *host = dev->host;
    if (!host || !pci_cfg_get8(dev, PCI_INTERRUPT_PIN))
        return;
    pthread_mutex_lock(&host->intx_lock);
    dev->intx_level = level;
    update_intx(host, dev->gsi);
    pthread_mutex_unlock(&host->intx_lock);
}

/* Updates the INTx state from COMMAND (after a config write or a reset). Host lock held. */
static void command_written(struct pci_host *host, struct pci_dev *dev)
{
    if (!pci_cfg_get8(dev, PCI_INTERRUPT_PIN))
        return;
    pthread_mutex_lock(&host->intx_lock);
    dev->is_intx_disabled = (pci_cfg_get16(dev, PCI_COMMAND) & PCI_COMMAND_INTX_DISABLE) != 0;
    update_intx(host, dev->gsi);
    pthread_mutex_unlock(&host->intx_lock);
}

/* STATUS.INTERRUPT (bit 3 of byte PCI_STATUS) is the device's INTx level, read live. */
static uint32_t status_interrupt(struct pci_host *host, struct pci_dev *dev, uint16_t off,
                                 unsigned size, uint32_t v)
{
    unsigned shift = 8 * (unsigned)(PCI_STATUS - off) + 3;
    if (!overlaps(off, size, PCI_STATUS, 1))
        return v;
    pthread_mutex_lock(&host->intx_lock);
    if (dev->intx_level)
        v |= 1u << shift;
    pthread_mutex_unlock(&host->intx_lock);
    return v;
}

/* 1, 2 or 4 bytes at any offset that keeps the access inside one dword (as CFC..CFF allow). */
static bool access_ok(uint16_t off, unsigned size)
{
    return (size == 1 || size == 2 || size == 4) && (off & 3u) + size <= 4 &&
           (unsigned)off + size <= PCI_CFG_SPACE_EXP_SIZE;
}

uint32_t pci_host_cfg_read(struct pci_host *host, uint8_t bus, uint8_t devfn, uint16_t off,
                           unsigned size)
{
    uint32_t v = 0;
    if (!access_ok(off, size))
        return UINT32_MAX;
    pthread_mutex_lock(&host->lock);
    struct pci_dev *dev = find_dev(host, bus, devfn);
    if (!dev) {
        v = UINT32_MAX;
        goto out_unlock;
    }
    if (dev->ops && dev->ops->cfg_read)
        dev->ops->cfg_read(dev, off, size);
    for (unsigned i = 0; i < size; i++)
        v |= (uint32_t)dev->cfg[off + i] << (8 * i);
    v = status_interrupt(host, dev, off, size, v);
out_unlock:
    pthread_mutex_unlock(&host->lock);
    return v;
}

/* The side effects of a config write. Called with host->lock held. */
static void after_write(struct pci_host *host, struct pci_dev *dev, uint16_t off, unsigned size)
{
    if (overlaps(off, size, PCI_COMMAND, 2)) {
        update_bars(host, dev);
    } else if (overlaps(off, size, PCI_BAR0, 4 * PCI_NUM_BARS)) {
        /* Only the BAR written (a 64-bit BAR owns its upper register too). */
        unsigned i = (unsigned)(off - PCI_BAR0) / 4;
        if (dev->bars[i].type == PCI_BAR_NONE && i > 0 && dev->bars[i - 1].type == PCI_BAR_MEM64)
            i--;
        if (dev->bars[i].type != PCI_BAR_NONE)
            bar_update(host, dev, i);
    } else if (overlaps(off, size, PCI_ROM_ADDRESS, 4)) {
        pci_rom_update(dev, host->mmio);
    }
    if (overlaps(off, size, PCI_COMMAND, 2))
        command_written(host, dev);
    if (dev->msix && overlaps(off, size, dev->msix->cap_off, PCI_MSIX_CAP_LEN))
        pci_msix_cfg_written(dev->msix);
}

void pci_host_cfg_write(struct pci_host *host, uint8_t bus, uint8_t devfn, uint16_t off,
                        uint32_t val, unsigned size)
{
    if (!access_ok(off, size)) {
        log_ratelimited(LOG_DEBUG, "config write of %u bytes at 0x%x dropped", size, off);
        return;
    }
    pthread_mutex_lock(&host->lock);
    struct pci_dev *dev = find_dev(host, bus, devfn);
    if (!dev)
        goto out_unlock;
    for (unsigned i = 0; i < size; i++) {
        uint8_t b = (uint8_t)(val >> (8 * i)), wm = dev->wmask[off + i];
        uint8_t nv = (uint8_t)((dev->cfg[off + i] & ~wm) | (b & wm));
        dev->cfg[off + i] = (uint8_t)(nv & ~(b & dev->w1cmask[off + i]));
    }
    after_write(host, dev, off, size);
    if (dev->ops && dev->ops->cfg_write)
        dev->ops->cfg_write(dev, off, val, size);
out_unlock:
    pthread_mutex_unlock(&host->lock);
}

/* CF8..CFF. (off) 0..7, the access lies inside the range (bus guarantee). */
static uint64_t cf8_read(void *opaque, uint64_t off, unsigned size)
{
    struct pci_host *host = opaque;
    uint32_t v = UINT32_MAX;
    if (off == 0 && size == 4) {
        pthread_mutex_lock(&host->lock);
        v = host->cf8;
        pthread_mutex_unlock(&host->lock);
    } else if (off == 1 && size == 1) {
        pthread_mutex_lock(&host->lock);
        v = host->cf9;
        pthread_mutex_unlock(&host->lock);
    } else if (off >= 4 && off + size <= 8) {
        pthread_mutex_lock(&host->lock);
        uint32_t addr = host->cf8;
        pthread_mutex_unlock(&host->lock);
        /* A latch change between here and the access is a guest race, as on hardware. */
        if (addr & CF8_ENABLE)
            v = pci_host_cfg_read(host, (uint8_t)(addr >> 16), (uint8_t)(addr >> 8),
                                  (uint16_t)((addr & 0xfc) + (off - 4)), size);
    }
    return v;
}

static void cf8_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    struct pci_host *host = opaque;
    if (off == 0 && size == 4) {
        pthread_mutex_lock(&host->lock);
        host->cf8 = (uint32_t)val & 0x80fffffcu;
        pthread_mutex_unlock(&host->lock);
    } else if (off == 1 && size == 1) {
        pthread_mutex_lock(&host->lock);
        host->cf9 = (uint8_t)val & (uint8_t)~CF9_RST_CPU;
        pthread_mutex_unlock(&host->lock);
        if (val & CF9_RST_CPU)
            host->plat.ops->request_reset(host->plat.opaque);
    } else if (off >= 4 && off + size <= 8) {
        pthread_mutex_lock(&host->lock);
        uint32_t addr = host->cf8;
        pthread_mutex_unlock(&host->lock);
        if (addr & CF8_ENABLE)
            pci_host_cfg_write(host, (uint8_t)(addr >> 16), (uint8_t)(addr >> 8),
                               (uint16_t)((addr & 0xfc) + (off - 4)), (uint32_t)val, size);
    }
}

static const struct io_ops cf8_ops = {.read = cf8_read, .write = cf8_write};

static uint64_t ecam_read(void *opaque, uint64_t off, unsigned size)
{
    if (size > 4)
        return UINT64_MAX;
    return pci_host_cfg_read(opaque, (uint8_t)(off >> 20), (uint8_t)(off >> 12),
                             (uint16_t)(off & 0xfff), size);
}

static void ecam_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    if (size > 4)
        return;
    pci_host_cfg_write(opaque, (uint8_t)(off >> 20), (uint8_t)(off >> 12), (uint16_t)(off & 0xfff),
                       (uint32_t)val, size);
}

static const struct io_ops ecam_ops = {.read = ecam_read, .write = ecam_write};

static const struct pci_dev_id bridge_id = {
    .vendor = PCI_HOST_VENDOR_ID,
    .device = PCI_HOST_DEVICE_ID,
    .subsys_vendor = 0x1af4,
    .subsys = 0x1100,
    .class_code = 0x060000,
};

int pci_host_create(const struct pci_host_config *cfg, const struct platform *plat, struct bus *pio,
                    struct bus *mmio, struct pci_host **out)
{
    struct pci_host *host = calloc(1, sizeof(*host));
    int ret;
    if (!host)
        return -ENOMEM;
    pthread_mutex_init(&host->lock, NULL);
    pthread_mutex_init(&host->intx_lock, NULL);
    host->plat = *plat;
    host->pio = pio;
    host->mmio = mmio;
    host->cfg = *cfg;
    host->io = (struct window){cfg->io_base, cfg->io_size, cfg->io_base};
    host->mmio32 = (struct window){cfg->mmio32_base, cfg->mmio32_size, cfg->mmio32_base};
    host->mmio64 = (struct window){cfg->mmio64_base, cfg->mmio64_size, cfg->mmio64_base};
    pci_dev_init(&host->bridge, cfg->bridge_id != NULL ? cfg->bridge_id : &bridge_id, NULL, NULL,
                 "host-bridge");
    host->bridge.host = host;
    host->fns[0] = &host->bridge;
    ret = bus_register(pio, PORT_PCI_CONFIG, 8, &cf8_ops, host, "pci-cf8");
    if (ret < 0)
        goto err_free;
    if (cfg->ecam_base) {
        ret = bus_register(mmio, cfg->ecam_base, (uint64_t)ECAM_BUSES << 20, &ecam_ops, host,
                           "pci-ecam");
        if (ret < 0)
            goto err_unregister_cf8;
        host->has_ecam = true;
    }
    *out = host;
    return 0;
err_unregister_cf8:
    bus_unregister(pio, PORT_PCI_CONFIG, host);
err_free:
    pthread_mutex_destroy(&host->intx_lock);
    pthread_mutex_destroy(&host->lock);
    free(host);
    return ret;
}

void pci_host_destroy(struct pci_host *host)
{
    if (!host)
        return;
    pthread_mutex_lock(&host->lock);
    for (unsigned f = 1; f < PCI_MAX_FNS; f++) {
        struct pci_dev *dev = host->fns[f];
        for (unsigned i = 0; dev && i < PCI_NUM_BARS; i++)
            bar_unmap(host, dev, i);
        if (dev)
            pci_rom_unmap(dev, host->mmio);
        if (dev)
            dev->host = NULL;
    }
    pthread_mutex_unlock(&host->lock);
    if (host->has_ecam)
        bus_unregister(host->mmio, host->cfg.ecam_base, host);
    bus_unregister(host->pio, PORT_PCI_CONFIG, host);
    pthread_mutex_destroy(&host->intx_lock);
    pthread_mutex_destroy(&host->lock);
    free(host);
}

const struct platform *pci_host_platform(const struct pci_host *host)
{
    return &host->plat;
}

struct pci_dev *pci_host_bridge(struct pci_host *host)
{
    return &host->bridge;
}

/* Takes (size) bytes, naturally aligned, from (w). Returns 0 or -ENOSPC. */
static int window_alloc(struct window *w, uint64_t size, uint64_t *out)
{
    uint64_t base = ALIGN_UP(w->next, size), end, limit;
    if (base < w->next || ckd_add(&end, base, size) || ckd_add(&limit, w->base, w->size) ||
        end > limit)
        return -ENOSPC;
    w->next = end;
    *out = base;
    return 0;
}

/* Programs (dev)'s BARs and COMMAND as firmware would. Called with host->lock held. */
static int assign_bars(struct pci_host *host, struct pci_dev *dev)
{
    for (unsigned i = 0; i < PCI_NUM_BARS; i++) {
        struct pci_bar *bar = &dev->bars[i];
        struct window *w = bar->type == PCI_BAR_IO      ? &host->io
                           : bar->type == PCI_BAR_MEM32 ? &host->mmio32
                           : host->mmio64.size          ? &host->mmio64
                                                        : &host->mmio32;
        uint16_t reg = (uint16_t)(PCI_BAR0 + 4 * i);
        if (bar->type == PCI_BAR_NONE)
            continue;
        int ret = window_alloc(w, bar->size, &bar->assigned_base);
        if (ret < 0)
            return ret;
        uint32_t low_bits = pci_cfg_get32(dev, reg) & (bar->type == PCI_BAR_IO ? 0x3u : 0xfu);
        pci_cfg_set32(dev, reg, (uint32_t)bar->assigned_base | low_bits);
        if (bar->type == PCI_BAR_MEM64)
            pci_cfg_set32(dev, (uint16_t)(reg + 4), (uint32_t)(bar->assigned_base >> 32));
    }
    /* The ROM gets an address with decoding off, as firmware leaves it after running it. */
    if (dev->rom.type != PCI_BAR_NONE) {
        int ret = window_alloc(&host->mmio32, dev->rom.size, &dev->rom.assigned_base);
        if (ret < 0)
            return ret;
        pci_cfg_set32(dev, PCI_ROM_ADDRESS, (uint32_t)dev->rom.assigned_base);
    }
    return 0;
}

int pci_host_add_dev(struct pci_host *host, struct pci_dev *dev, int slot)
{
    return pci_host_add_fn(host, dev, slot, 0);
}

/* The INTx line of (slot)/(pin): the machine's hook, or the GSI of the default swizzle. */
static uint32_t intx_line(const struct pci_host *host, unsigned slot, uint8_t pin)
{
    if (host->cfg.intx_line != NULL)
        return host->cfg.intx_line(host->cfg.intx_opaque, slot, pin);
    return PCI_INTX_LINE(!host->cfg.is_intx_on_pic, slot, pin);
}

int pci_host_add_fn(struct pci_host *host, struct pci_dev *dev, int slot, unsigned fn)
{
    int ret = 0;
    uint8_t pin = pci_cfg_get8(dev, PCI_INTERRUPT_PIN);

    if (slot == 0 || slot >= PCI_MAX_SLOTS || slot < -1 || fn > 7 || (slot < 0 && fn != 0) ||
        dev->host)
        return -EINVAL;
    pthread_mutex_lock(&host->lock);
    if (slot < 0) {
        slot = host->cfg.first_auto_slot > 0 ? (int)host->cfg.first_auto_slot : 1;
        for (; slot < PCI_MAX_SLOTS && host->fns[slot << 3]; slot++)
            ;
        if (slot == PCI_MAX_SLOTS) {
            ret = -ENOSPC;
            goto out_unlock;
        }
    } else if (host->fns[slot << 3 | fn]) {
        ret = -EBUSY;
        goto out_unlock;
    }
    ret = assign_bars(host, dev);
    if (ret < 0)
        goto out_unlock;
    dev->host = host;
    dev->devfn = (uint8_t)(slot << 3 | fn);
    dev->gsi = pin ? intx_line(host, (unsigned)slot, pin) : 0;
    /* With a routing hook the line is not an IRQ: the firmware fills INTERRUPT_LINE in. */
    pci_cfg_set8(dev, PCI_INTERRUPT_LINE,
                 pin && host->cfg.intx_line == NULL ? (uint8_t)dev->gsi : 0xff);
    pci_cfg_set16(dev, PCI_COMMAND, FIRMWARE_COMMAND);
    host->fns[dev->devfn] = dev;
    update_bars(host, dev);
    log_debug("%s at 00:%02x.%u", dev->name, (unsigned)slot, fn);
out_unlock:
    pthread_mutex_unlock(&host->lock);
    return ret;
}

void pci_host_remove_dev(struct pci_host *host, struct pci_dev *dev)
{
    pthread_mutex_lock(&host->lock);
    if (dev->host == host && host->fns[dev->devfn] == dev) {
        for (unsigned i = 0; i < PCI_NUM_BARS; i++)
            bar_unmap(host, dev, i);
        pci_rom_unmap(dev, host->mmio);
        pthread_mutex_lock(&host->intx_lock);
        dev->intx_level = false;
        update_intx(host, dev->gsi);
        pthread_mutex_unlock(&host->intx_lock);
        host->fns[dev->devfn] = NULL;
        dev->host = NULL;
    }
    pthread_mutex_unlock(&host->lock);
}

void pci_host_save(struct pci_host *host, struct sf_buf *b)
{
    pthread_mutex_lock(&host->lock);
    sf_put_u32(b, host->cf8);
    sf_put_u8(b, host->cf9);
    for (unsigned f = 0; f < PCI_MAX_FNS; f++) {
        if (host->fns[f] == NULL)
            continue;
        /* function 0: its slot number (as before functions existed); others: 0xff, devfn */
        if (f & 7) {
            sf_put_u8(b, 0xff);
            sf_put_u8(b, (uint8_t)f);
        } else {
            sf_put_u8(b, (uint8_t)(f >> 3));
        }
        sf_put_bytes(b, host->fns[f]->cfg, PCI_CFG_SPACE_EXP_SIZE);
    }
    pthread_mutex_unlock(&host->lock);
}

/* True when (cfg) differs from (dev)'s config space only in bits a guest can write. */
static bool cfg_is_reachable(const struct pci_dev *dev, const uint8_t *cfg)
{
    for (unsigned i = 0; i < PCI_CFG_SPACE_EXP_SIZE; i++) {
        uint8_t fixed = (uint8_t) ~(dev->wmask[i] | dev->w1cmask[i]);
        if (i == PCI_STATUS) /* the interrupt bit is the device's live INTx level */
            fixed &= (uint8_t)~PCI_STATUS_INTERRUPT;
        if ((cfg[i] ^ dev->cfg[i]) & fixed)
            return false;
    }
    return true;
}

int pci_host_load(struct pci_host *host, struct sf_in *in)
{
    uint8_t(*cfg)[PCI_CFG_SPACE_EXP_SIZE] = calloc(PCI_MAX_FNS, sizeof(*cfg));
    uint32_t cf8 = sf_get_u32(in);
    uint8_t cf9 = sf_get_u8(in);
    bool is_ok = cfg != NULL;
    for (unsigned f = 0; is_ok && f < PCI_MAX_FNS; f++) {
        if (host->fns[f] == NULL)
            continue;
        is_ok = (f & 7) ? sf_get_u8(in) == 0xff && sf_get_u8(in) == f : sf_get_u8(in) == f >> 3;
        sf_get_bytes(in, cfg[f], PCI_CFG_SPACE_EXP_SIZE);
        is_ok = is_ok && !in->bad && cfg_is_reachable(host->fns[f], cfg[f]);
    }
    if (!is_ok || sf_in_end(in) < 0) {
        free(cfg);
        return cfg == NULL ? -ENOMEM : -EINVAL;
    }
    pthread_mutex_lock(&host->lock);
    host->cf8 = cf8;
    host->cf9 = cf9;
    for (unsigned f = 0; f < PCI_MAX_FNS; f++) {
        struct pci_dev *dev = host->fns[f];
        if (dev == NULL)
            continue;
        memcpy(dev->cfg, cfg[f], PCI_CFG_SPACE_EXP_SIZE);
        command_written(host, dev);
        update_bars(host, dev);
        if (dev->ops != NULL && dev->ops->post_load != NULL)
            dev->ops->post_load(dev);
    }
    pthread_mutex_unlock(&host->lock);
    free(cfg);
    return 0;
}

void pci_host_reset(struct pci_host *host)
{
    pthread_mutex_lock(&host->lock);
    host->cf8 = 0;
    host->cf9 = 0;
    for (unsigned f = 1; f < PCI_MAX_FNS; f++) {
        struct pci_dev *dev = host->fns[f];
        if (!dev)
            continue;
        for (unsigned i = 0; i < PCI_NUM_BARS; i++) {
            struct pci_bar *bar = &dev->bars[i];
            uint16_t reg = (uint16_t)(PCI_BAR0 + 4 * i);
            if (bar->type == PCI_BAR_NONE)
                continue;
            uint32_t low = pci_cfg_get32(dev, reg) & (bar->type == PCI_BAR_IO ? 0x3u : 0xfu);
            pci_cfg_set32(dev, reg, (uint32_t)bar->assigned_base | low);
            if (bar->type == PCI_BAR_MEM64)
                pci_cfg_set32(dev, (uint16_t)(reg + 4), (uint32_t)(bar->assigned_base >> 32));
        }
        if (dev->rom.type != PCI_BAR_NONE)
            pci_cfg_set32(dev, PCI_ROM_ADDRESS, (uint32_t)dev->rom.assigned_base);
        pci_cfg_set16(dev, PCI_COMMAND, FIRMWARE_COMMAND);
        pci_cfg_set16(dev, PCI_STATUS, pci_cfg_get16(dev, PCI_STATUS) & PCI_STATUS_CAP_LIST);
        pthread_mutex_lock(&host->intx_lock);
        dev->intx_level = false;
        pthread_mutex_unlock(&host->intx_lock);
        command_written(host, dev);
        update_bars(host, dev);
        if (dev->msix)
            pci_msix_reset(dev->msix);
        if (dev->ops && dev->ops->reset)
            dev->ops->reset(dev);
    }
    pthread_mutex_unlock(&host->lock);
}

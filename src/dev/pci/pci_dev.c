/* SPDX-License-Identifier: MIT */
/*
 * The device side of struct pci_dev (PCI Local Bus Spec 3.0 §6.1 "Configuration Space
 * Organization", §6.2.5 "Base Addresses", §6.7 "Capabilities List"): the type 0 header with
 * its write and write-1-to-clear masks, BAR declaration (the BAR registers' read-only low bits
 * and address masks make size probing work by themselves: writing all-ones reads back the size
 * mask), the capability list builder and little-endian accessors.
 */
#include "dev/pci/pci.h"

#include <errno.h>
#include <string.h>

/* Bits of COMMAND a guest may change: IO, MEM, MASTER, PARITY, SERR, INTX_DISABLE. */
#define COMMAND_WMASK 0x0547
/* STATUS error bits (write-1-to-clear): parity, signalled/received aborts, SERR. */
#define STATUS_W1C 0xf900
#define CAP_FIRST 0x40

static void check_range(uint16_t off, unsigned len)
{
    if ((unsigned)off + len > PCI_CFG_SPACE_EXP_SIZE)
        PANIC("pci config access 0x%x+%u out of range", off, len);
}

uint8_t pci_cfg_get8(const struct pci_dev *dev, uint16_t off)
{
    check_range(off, 1);
    return dev->cfg[off];
}

uint16_t pci_cfg_get16(const struct pci_dev *dev, uint16_t off)
{
    check_range(off, 2);
    return (uint16_t)(dev->cfg[off] | dev->cfg[off + 1] << 8);
}

uint32_t pci_cfg_get32(const struct pci_dev *dev, uint16_t off)
{
    check_range(off, 4);
    return (uint32_t)dev->cfg[off] | (uint32_t)dev->cfg[off + 1] << 8 |
           (uint32_t)dev->cfg[off + 2] << 16 | (uint32_t)dev->cfg[off + 3] << 24;
}

void pci_cfg_set8(struct pci_dev *dev, uint16_t off, uint8_t val)
{
    check_range(off, 1);
    dev->cfg[off] = val;
}

void pci_cfg_set16(struct pci_dev *dev, uint16_t off, uint16_t val)
{
    check_range(off, 2);
    dev->cfg[off] = (uint8_t)val;
    dev->cfg[off + 1] = (uint8_t)(val >> 8);
}

void pci_cfg_set32(struct pci_dev *dev, uint16_t off, uint32_t val)
{
    check_range(off, 4);
    for (unsigned i = 0; i < 4; i++)
        dev->cfg[off + i] = (uint8_t)(val >> (8 * i));
}

static void set_mask(uint8_t *masks, uint16_t off, uint32_t mask, unsigned len)
{
    if (len < 1 || len > 4)
        PANIC("pci mask length %u", len);
    check_range(off, len);
    for (unsigned i = 0; i < len; i++)
        masks[off + i] = (uint8_t)(mask >> (8 * i));
}

void pci_dev_set_wmask(struct pci_dev *dev, uint16_t off, uint32_t mask, unsigned len)
{
    set_mask(dev->wmask, off, mask, len);
}

void pci_dev_set_w1cmask(struct pci_dev *dev, uint16_t off, uint32_t mask, unsigned len)
{
    set_mask(dev->w1cmask, off, mask, len);
}

void pci_dev_init(struct pci_dev *dev, const struct pci_dev_id *id, const struct pci_dev_ops *ops,
                  void *opaque, const char *name)
{
    memset(dev, 0, sizeof(*dev));
    dev->name = name;
    dev->ops = ops;
    dev->opaque = opaque;
    dev->cap_free = CAP_FIRST;
    pci_cfg_set16(dev, PCI_VENDOR_ID, id->vendor);
    pci_cfg_set16(dev, PCI_DEVICE_ID, id->device);
    pci_cfg_set8(dev, PCI_REVISION_ID, id->revision);
    pci_cfg_set8(dev, PCI_CLASS_PROG, (uint8_t)id->class_code);
    pci_cfg_set16(dev, PCI_CLASS_DEVICE, (uint16_t)(id->class_code >> 8));
    pci_cfg_set8(dev, PCI_HEADER_TYPE, 0x00);
    pci_cfg_set16(dev, PCI_SUBSYSTEM_VENDOR_ID, id->subsys_vendor);
    pci_cfg_set16(dev, PCI_SUBSYSTEM_ID, id->subsys);
    pci_cfg_set8(dev, PCI_INTERRUPT_PIN, id->int_pin <= 4 ? id->int_pin : 0);
    pci_dev_set_wmask(dev, PCI_COMMAND, COMMAND_WMASK, 2);
    pci_dev_set_w1cmask(dev, PCI_STATUS, STATUS_W1C, 2);
    pci_dev_set_wmask(dev, PCI_CACHE_LINE_SIZE, 0xff, 1);
    pci_dev_set_wmask(dev, PCI_LATENCY_TIMER, 0xff, 1);
    pci_dev_set_wmask(dev, PCI_INTERRUPT_LINE, 0xff, 1);
}

static bool is_upper_half(const struct pci_dev *dev, unsigned bar)
{
    return bar > 0 && dev->bars[bar - 1].type == PCI_BAR_MEM64;
}

int pci_dev_set_bar(struct pci_dev *dev, unsigned bar, enum pci_bar_type type, uint64_t size,
                    bool is_prefetchable, const struct io_ops *ops, void *opaque)
{
    uint16_t reg = (uint16_t)(PCI_BAR0 + 4 * bar);
    uint64_t mask = ~(size - 1);

    if (bar >= PCI_NUM_BARS || !IS_POW2(size) || !ops || is_upper_half(dev, bar) ||
        dev->bars[bar].type != PCI_BAR_NONE)
        return -EINVAL;
    switch (type) {
    case PCI_BAR_IO:
        if (size < 4 || size > 256 || is_prefetchable)
            return -EINVAL;
        pci_cfg_set32(dev, reg, 0x1);
        pci_dev_set_wmask(dev, reg, (uint32_t)mask & ~3u, 4);
        break;
    case PCI_BAR_MEM32:
        if (size < 16 || size > (1ULL << 31))
            return -EINVAL;
        pci_cfg_set32(dev, reg, is_prefetchable ? 0x8 : 0x0);
        pci_dev_set_wmask(dev, reg, (uint32_t)mask & ~0xfu, 4);
        break;
    case PCI_BAR_MEM64:
        if (size < 16 || size > (1ULL << 62) || bar + 1 >= PCI_NUM_BARS ||
            dev->bars[bar + 1].type != PCI_BAR_NONE)
            return -EINVAL;
        pci_cfg_set32(dev, reg, is_prefetchable ? 0xc : 0x4);
        pci_dev_set_wmask(dev, reg, (uint32_t)mask & ~0xfu, 4);
        pci_dev_set_wmask(dev, (uint16_t)(reg + 4), (uint32_t)(mask >> 32), 4);
        break;
    default:
        return -EINVAL;
    }
    dev->bars[bar] = (struct pci_bar){.type = type,
                                      .is_prefetchable = is_prefetchable,
                                      .size = size,
                                      .ops = ops,
                                      .opaque = opaque};
    return 0;
}

uint64_t pci_dev_bar_addr(struct pci_dev *dev, unsigned bar)
{
    if (bar >= PCI_NUM_BARS)
        return 0;
    uint16_t reg = (uint16_t)(PCI_BAR0 + 4 * bar);
    switch (dev->bars[bar].type) {
    case PCI_BAR_IO:
        return pci_cfg_get32(dev, reg) & ~3u;
    case PCI_BAR_MEM32:
        return pci_cfg_get32(dev, reg) & ~0xfu;
    case PCI_BAR_MEM64:
        return (pci_cfg_get32(dev, reg) & ~0xfu) | (uint64_t)pci_cfg_get32(dev, (uint16_t)(reg + 4))
                                                       << 32;
    default:
        return 0;
    }
}

int pci_dev_add_cap(struct pci_dev *dev, const void *cap, size_t len, uint16_t *out_off)
{
    uint16_t off = (uint16_t)ALIGN_UP(dev->cap_free, 4u);

    if (len < 2)
        return -EINVAL;
    if (len > PCI_CFG_SPACE_SIZE || off + len > PCI_CFG_SPACE_SIZE)
        return -ENOSPC;
    memcpy(&dev->cfg[off], cap, len);
    dev->cfg[off + 1] = 0;
    if (dev->cap_last == 0) {
        pci_cfg_set8(dev, PCI_CAPABILITY_LIST, (uint8_t)off);
        pci_cfg_set16(dev, PCI_STATUS, pci_cfg_get16(dev, PCI_STATUS) | PCI_STATUS_CAP_LIST);
    } else {
        pci_cfg_set8(dev, (uint16_t)(dev->cap_last + 1), (uint8_t)off);
    }
    dev->cap_last = off;
    dev->cap_free = (uint16_t)(off + len);
    if (out_off)
        *out_off = off;
    return 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * PCI configuration access (pci.h): mechanism #1 (PCI Local Bus 3.0 §3.2.2.3.2: enable bit 31,
 * bus 23:16, device 15:11, function 10:8, register 7:2 in 0xCF8, data at 0xCFC + (off & 3)),
 * ECAM (PCIe Base 4.0 §7.2.2: base + bus << 20 + dev << 15 + fn << 12 + off), BAR sizing
 * (PCI 3.0 §6.2.5.1) and the capability list (§6.7).
 */
#include "pci.h"

static uint64_t ecam_base;
static uint8_t ecam_start, ecam_end;

static uint32_t cf8_addr(uint16_t bdf, uint16_t off)
{
    return 0x80000000u | ((uint32_t)bdf << 8) | (off & 0xfc);
}

uint32_t pci_cf8_read32(uint16_t bdf, uint16_t off)
{
    outl(0xcf8, cf8_addr(bdf, off));
    return inl(0xcfc);
}

void pci_cf8_write32(uint16_t bdf, uint16_t off, uint32_t v)
{
    outl(0xcf8, cf8_addr(bdf, off));
    outl(0xcfc, v);
}

void pci_cf8_write16(uint16_t bdf, uint16_t off, uint16_t v)
{
    outl(0xcf8, cf8_addr(bdf, off));
    outw((uint16_t)(0xcfc + (off & 2)), v);
}

void pci_ecam_set(uint64_t base, uint8_t bus_start, uint8_t bus_end)
{
    ecam_base = base;
    ecam_start = bus_start;
    ecam_end = bus_end;
}

uint64_t pci_ecam_addr(uint16_t bdf, uint16_t off)
{
    unsigned bus = PCI_BUS(bdf);
    if (!ecam_base || bus < ecam_start || bus > ecam_end || off >= 4096)
        return 0;
    uint64_t a =
        ecam_base + ((uint64_t)(bus - ecam_start) << 20) + ((uint64_t)(bdf & 0xff) << 12) + off;
    return a < RT_MAP_LIMIT ? a : 0;
}

uint32_t pci_read32(uint16_t bdf, uint16_t off)
{
    uint64_t a = pci_ecam_addr(bdf, off & ~3);
    return a ? mmio_read32(a) : pci_cf8_read32(bdf, off);
}

uint16_t pci_read16(uint16_t bdf, uint16_t off)
{
    return (uint16_t)(pci_read32(bdf, off) >> ((off & 2) * 8));
}

uint8_t pci_read8(uint16_t bdf, uint16_t off)
{
    return (uint8_t)(pci_read32(bdf, off) >> ((off & 3) * 8));
}

void pci_write32(uint16_t bdf, uint16_t off, uint32_t v)
{
    uint64_t a = pci_ecam_addr(bdf, off & ~3);
    if (a)
        mmio_write32(a, v);
    else
        pci_cf8_write32(bdf, off, v);
}

void pci_write16(uint16_t bdf, uint16_t off, uint16_t v)
{
    uint64_t a = pci_ecam_addr(bdf, off & ~1);
    if (a)
        mmio_write16(a, v);
    else
        pci_cf8_write16(bdf, off, v);
}

unsigned pci_bar_probe(uint16_t bdf, unsigned idx, struct pci_bar *bar)
{
    uint16_t off = (uint16_t)(PCI_BAR0 + idx * 4);
    uint32_t orig = pci_read32(bdf, off);
    memset(bar, 0, sizeof(*bar));
    pci_write32(bdf, off, 0xffffffffu);
    uint32_t mask = pci_read32(bdf, off);
    pci_write32(bdf, off, orig);
    bar->io = orig & 1;
    if (bar->io) {
        uint32_t m = mask & ~3u;
        bar->addr = orig & ~3u;
        /* I/O BARs may implement only the low 16 address bits. */
        if (m)
            bar->size = (uint32_t)(~(m | 0xffff0000u) + 1) & 0xffff;
        return 1;
    }
    bar->prefetch = orig & 8;
    bar->is64 = ((orig >> 1) & 3) == 2;
    uint64_t m64 = mask & ~0xfu;
    bar->addr = orig & ~0xfu;
    if (bar->is64 && idx < 5) {
        uint32_t orig_hi = pci_read32(bdf, (uint16_t)(off + 4));
        pci_write32(bdf, (uint16_t)(off + 4), 0xffffffffu);
        uint32_t mask_hi = pci_read32(bdf, (uint16_t)(off + 4));
        pci_write32(bdf, (uint16_t)(off + 4), orig_hi);
        m64 |= (uint64_t)mask_hi << 32;
        bar->addr |= (uint64_t)orig_hi << 32;
    } else {
        m64 |= 0xffffffff00000000ULL;
    }
    if (mask & ~0xfu)
        bar->size = ~m64 + 1;
    return bar->is64 ? 2 : 1;
}

uint8_t pci_find_cap(uint16_t bdf, uint8_t id, uint8_t after)
{
    if (!(pci_read16(bdf, PCI_STATUS) & PCI_STATUS_CAP))
        return 0;
    uint8_t p = after ? pci_read8(bdf, (uint16_t)(after + 1)) : pci_read8(bdf, PCI_CAP_PTR);
    for (unsigned n = 0; p && n < 48; n++) {
        if (p < 0x40 || (p & 3))
            return 0;
        if (pci_read8(bdf, p) == id)
            return p;
        p = pci_read8(bdf, (uint16_t)(p + 1));
    }
    return 0;
}

bool pci_find_device(uint16_t vendor, uint16_t device, uint16_t *bdf)
{
    for (unsigned dev = 0; dev < 32; dev++) {
        for (unsigned fn = 0; fn < 8; fn++) {
            uint16_t b = PCI_BDF(0, dev, fn);
            uint32_t id = pci_cf8_read32(b, PCI_VENDOR);
            if ((id & 0xffff) == 0xffff) {
                if (fn == 0)
                    break;
                continue;
            }
            if ((id & 0xffff) == vendor && (id >> 16) == device) {
                *bdf = b;
                return true;
            }
            if (fn == 0 && !(pci_cf8_read32(b, 0x0c) & 0x800000))
                break;
        }
    }
    return false;
}

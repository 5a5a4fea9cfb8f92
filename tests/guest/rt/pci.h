/* SPDX-License-Identifier: MIT */
/*
 * PCI configuration access for the payloads: configuration mechanism #1 through ports
 * 0xCF8/0xCFC (PCI Local Bus 3.0 §3.2.2.3.2) and ECAM (PCI Express Base 4.0 §7.2.2), BAR
 * sizing (PCI Local Bus 3.0 §6.2.5.1) and capability-list walks (§6.7).
 */
#ifndef BAREIRON_GUEST_PCI_H
#define BAREIRON_GUEST_PCI_H

#include "rt.h"

#define PCI_BDF(bus, dev, fn) ((uint16_t)(((bus) << 8) | ((dev) << 3) | (fn)))
#define PCI_BUS(bdf) ((bdf) >> 8)
#define PCI_DEV(bdf) (((bdf) >> 3) & 0x1f)
#define PCI_FN(bdf) ((bdf)&7)

#define PCI_VENDOR 0x00
#define PCI_COMMAND 0x04
#define PCI_STATUS 0x06
#define PCI_CLASS_REV 0x08
#define PCI_HEADER_TYPE 0x0e
#define PCI_BAR0 0x10
#define PCI_SUBSYS 0x2c
#define PCI_CAP_PTR 0x34
#define PCI_CMD_IO 0x1
#define PCI_CMD_MEM 0x2
#define PCI_CMD_MASTER 0x4
#define PCI_STATUS_CAP 0x10

/* Configuration mechanism #1 (offset < 256). */
uint32_t pci_cf8_read32(uint16_t bdf, uint16_t off);
void pci_cf8_write32(uint16_t bdf, uint16_t off, uint32_t v);
void pci_cf8_write16(uint16_t bdf, uint16_t off, uint16_t v);

/* Selects the ECAM window (base of bus (bus_start)); base 0 turns ECAM off. */
void pci_ecam_set(uint64_t base, uint8_t bus_start, uint8_t bus_end);
/* Physical address of (bdf, off) in ECAM, or 0 when ECAM is off or the bus is outside it. */
uint64_t pci_ecam_addr(uint16_t bdf, uint16_t off);

/* Accessors that use ECAM when selected, else CF8/CFC (then offset < 256). */
uint32_t pci_read32(uint16_t bdf, uint16_t off);
uint16_t pci_read16(uint16_t bdf, uint16_t off);
uint8_t pci_read8(uint16_t bdf, uint16_t off);
void pci_write32(uint16_t bdf, uint16_t off, uint32_t v);
void pci_write16(uint16_t bdf, uint16_t off, uint16_t v);

struct pci_bar {
    uint64_t addr;
    uint64_t size; /* 0: not implemented */
    bool io, is64, prefetch;
};

/*
 * Sizes BAR (idx) of (bdf) by writing all-ones and restores it; the caller turns decoding
 * off around it. Returns the number of BAR slots the BAR takes (2 for 64-bit), or 1 for an
 * unimplemented BAR (size 0).
 */
unsigned pci_bar_probe(uint16_t bdf, unsigned idx, struct pci_bar *bar);
/* Offset of the first capability with (id) after (after) (0 = from the start), or 0. Stops on
 * loops (more than 48 entries) and misaligned pointers. */
uint8_t pci_find_cap(uint16_t bdf, uint8_t id, uint8_t after);
/* Finds (vendor, device) on bus 0; returns true and sets (*bdf). */
bool pci_find_device(uint16_t vendor, uint16_t device, uint16_t *bdf);

#endif

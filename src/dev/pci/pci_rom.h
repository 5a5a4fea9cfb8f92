/* SPDX-License-Identifier: MIT */
/*
 * Expansion ROM BARs (PCI Local Bus Spec 3.0 §6.2.5.2 "Expansion ROM Base Address Register"),
 * private to dev/pci: the register at config offset 0x30 (address bits above the ROM's size,
 * bit 0 the decode enable), registered on the memory bus, read-only, only while both its enable
 * bit and COMMAND.MEM are set. The device declares its image with pci_dev_set_rom (pci.h).
 */
#ifndef BAREIRON_DEV_PCI_PCI_ROM_H
#define BAREIRON_DEV_PCI_PCI_ROM_H

#include "dev/pci/pci.h"

/* Makes the ROM's registration on (mmio) match its register and COMMAND. Host lock held. */
void pci_rom_update(struct pci_dev *dev, struct bus *mmio);
/* Unregisters the ROM if it is registered. Host lock held. */
void pci_rom_unmap(struct pci_dev *dev, struct bus *mmio);

#endif

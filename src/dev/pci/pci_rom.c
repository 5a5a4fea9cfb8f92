/* SPDX-License-Identifier: MIT */
/*
 * Expansion ROM BARs (dev/pci/pci_rom.h; PCI Local Bus Spec 3.0 §6.2.5.2 and §6.3.1 for the
 * image format, which is the device's business): declaration, the read-only handler, and the
 * registration that follows the register's enable bit and COMMAND.MEM, like the other BARs.
 */
#include "dev/pci/pci_rom.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "base/ckd.h"

#define LOG_TAG "pci"
#include "base/log.h"

#define ROM_ENABLE 0x1u
#define ROM_MIN_BYTES 2048

static uint64_t rom_read(void *opaque, uint64_t off, unsigned size)
{
    const struct pci_dev *dev = opaque;
    uint64_t val = 0;
    for (unsigned i = 0; i < size; i++) {
        uint8_t b = off + i < dev->rom_bytes ? dev->rom_data[off + i] : 0;
        val |= (uint64_t)b << (8 * i);
    }
    return val;
}

static void rom_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    (void)opaque;
    (void)off;
    (void)val;
    (void)size; /* read-only memory */
}

static const struct io_ops rom_ops = {.read = rom_read, .write = rom_write};

int pci_dev_set_rom(struct pci_dev *dev, const void *data, size_t len)
{
    uint64_t size = ROM_MIN_BYTES;
    if (data == NULL || len == 0 || len > (16u << 20) || dev->rom.type != PCI_BAR_NONE)
        return -EINVAL;
    while (size < len)
        size <<= 1;
    dev->rom =
        (struct pci_bar){.type = PCI_BAR_MEM32, .size = size, .ops = &rom_ops, .opaque = dev};
    dev->rom_data = data;
    dev->rom_bytes = len;
    pci_cfg_set32(dev, PCI_ROM_ADDRESS, 0);
    pci_dev_set_wmask(dev, PCI_ROM_ADDRESS, (uint32_t) ~(size - 1) | ROM_ENABLE, 4);
    return 0;
}

void pci_rom_unmap(struct pci_dev *dev, struct bus *mmio)
{
    if (!dev->rom.is_mapped)
        return;
    bus_unregister(mmio, dev->rom.mapped_base, dev);
    dev->rom.is_mapped = false;
}

void pci_rom_update(struct pci_dev *dev, struct bus *mmio)
{
    struct pci_bar *rom = &dev->rom;
    uint32_t reg = pci_cfg_get32(dev, PCI_ROM_ADDRESS);
    uint64_t base = reg & ~(rom->size - 1) & 0xfffff800u, end;
    bool is_wanted = rom->type != PCI_BAR_NONE && (reg & ROM_ENABLE) &&
                     (pci_cfg_get16(dev, PCI_COMMAND) & PCI_COMMAND_MEMORY) && base != 0 &&
                     !ckd_add(&end, base, rom->size) && end <= IOAPIC_GPA;

    if (rom->type == PCI_BAR_NONE)
        return;
    if (rom->is_mapped && (!is_wanted || rom->mapped_base != base))
        pci_rom_unmap(dev, mmio);
    if (!is_wanted || rom->is_mapped)
        return;
    if (bus_register(mmio, base, rom->size, &rom_ops, dev, dev->name) < 0) {
        log_ratelimited(LOG_INFO, "%s: ROM at 0x%" PRIx64 " not mapped: overlaps another range",
                        dev->name, base);
        return;
    }
    rom->is_mapped = true;
    rom->mapped_base = base;
}

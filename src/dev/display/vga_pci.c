/* SPDX-License-Identifier: MIT */
/*
 * Implementation of dev/display/vga_pci.h: the adapter's PCI identity and BARs (QEMU's
 * hw/display/vga-pci.c layout, which Linux's bochs driver and SeaBIOS's vgabios expect).
 */
#include "dev/display/vga_pci.h"

#include <errno.h>

#define LFB_BAR 0
#define MMIO_BAR 2

static void bar_map(struct pci_dev *dev, unsigned bar, uint64_t gpa, bool is_mapped)
{
    struct vga_pci *p = dev->opaque;
    if (bar == LFB_BAR && p->ops && p->ops->map_lfb)
        p->ops->map_lfb(p->opaque, gpa, is_mapped);
}

static void reset(struct pci_dev *dev)
{
    struct vga_pci *p = dev->opaque;
    vga_reset(p->vga);
}

static const struct pci_dev_ops vga_pci_dev_ops = {.bar_map = bar_map, .reset = reset};

int vga_pci_init(struct vga_pci *p, struct vga *v, bool has_legacy, const void *rom, size_t rom_len,
                 const struct vga_pci_ops *ops, void *opaque)
{
    struct pci_dev_id id = {
        .vendor = VGA_PCI_VENDOR,
        .device = VGA_PCI_DEVICE,
        .subsys_vendor = 0x1af4, /* as QEMU's: Red Hat, QEMU */
        .subsys = 0x1100,
        .class_code = has_legacy ? VGA_PCI_CLASS_VGA : VGA_PCI_CLASS_DISPLAY,
        .revision = 2,
    };
    int ret;
    pci_dev_init(&p->pci, &id, &vga_pci_dev_ops, p, has_legacy ? "vga" : "bochs-display");
    p->vga = v;
    p->ops = ops;
    p->opaque = opaque;
    ret =
        pci_dev_set_bar(&p->pci, LFB_BAR, PCI_BAR_MEM32, vga_vram_bytes(v), true, &vga_lfb_ops, v);
    if (ret == 0)
        ret = pci_dev_set_bar(&p->pci, MMIO_BAR, PCI_BAR_MEM32, VGA_MMIO_BAR_BYTES, false,
                              &vga_mmio_ops, v);
    if (ret == 0 && rom != NULL)
        ret = pci_dev_set_rom(&p->pci, rom, rom_len);
    return ret;
}

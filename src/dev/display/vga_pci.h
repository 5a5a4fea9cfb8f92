/* SPDX-License-Identifier: MIT */
/*
 * The PCI function of the display adapter (QEMU's std-vga and bochs-display identities):
 * vendor 1234, device 1111, class 0x030000 (VGA compatible) or 0x038000 (other display
 * controller, no legacy VGA), BAR0 the linear framebuffer (32-bit prefetchable memory, the size
 * of video memory), BAR2 the 4 KiB MMIO block (dev/display/vga.h), and an expansion ROM (the
 * VGA BIOS) when one is given. Where the framebuffer BAR lands is reported through (map_lfb)
 * so the machine maps video memory there as RAM.
 */
#ifndef BAREIRON_DEV_DISPLAY_VGA_PCI_H
#define BAREIRON_DEV_DISPLAY_VGA_PCI_H

#include "dev/display/vga.h"
#include "dev/pci/pci.h"

#define VGA_PCI_VENDOR 0x1234
#define VGA_PCI_DEVICE 0x1111
#define VGA_PCI_CLASS_VGA 0x030000
#define VGA_PCI_CLASS_DISPLAY 0x038000

struct vga_pci_ops {
    /* BAR0 was registered at (gpa) (is_mapped) or unregistered from it. PCI host lock held,
     * any thread (a vCPU's config write). */
    void (*map_lfb)(void *opaque, uint64_t gpa, bool is_mapped);
};

struct vga_pci {
    struct pci_dev pci;
    struct vga *vga;
    const struct vga_pci_ops *ops;
    void *opaque;
};

/*
 * Sets up (p) (caller-owned) over the device (v): the identity (VGA class with (has_legacy),
 * else display), both BARs and the ROM image (rom, rom_len) (NULL: none; kept by pointer).
 * Plug it with pci_host_add_dev afterwards. Returns 0 or -EINVAL.
 */
MUST_CHECK int vga_pci_init(struct vga_pci *p, struct vga *v, bool has_legacy, const void *rom,
                            size_t rom_len, const struct vga_pci_ops *ops, void *opaque);

#endif

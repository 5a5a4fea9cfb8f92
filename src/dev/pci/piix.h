/* SPDX-License-Identifier: MIT */
/*
 * The functions of the PC chipset besides the host bridge, as QEMU's i440FX machine has them
 * and SeaBIOS and old OSes program them:
 *
 * - PIIX3 ISA bridge 8086:7000 (function 0 of its slot, multi-function): the PIRQ route
 *   control registers PIRQRC[A..D] at config 0x60..0x63 (bit 7 disables the route, bits 3:0
 *   the ISA IRQ). The four PCI interrupt lines PIRQA..D (pci.h's INTx routing hook delivers
 *   them) drive the ISA IRQ each is routed to; several lines routed to one IRQ are wire-ORed.
 *   Routes to IRQs 0-2, 8 and 13 are ignored, as on the chip. The ELCR (ports 0x4d0/0x4d1)
 *   belongs to the 8259 and is KVM's with the kernel irqchip.
 * - PIIX4 power management 8086:7113 (function 3): PMBA at config 0x40 and PMIOSE (bit 0 of
 *   0x80) place the ACPI PM registers; the (move) callback moves them (also when a saved
 *   config space is loaded: the post_load hook). The APMC enable bit
 *   (DEVACTB 0x58 bit 25) reads as set and fixed, which tells SeaBIOS that SMM is set up (this
 *   machine has no SMM).
 *
 * Both are unit-tested over the fake platform. Thread-safety: the routing state has a leaf
 * lock of its own (pirq levels come from the PCI host with its INTx lock held).
 */
#ifndef BAREIRON_DEV_PCI_PIIX_H
#define BAREIRON_DEV_PCI_PIIX_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/compiler.h"
#include "core/platform.h"
#include "dev/pci/pci.h"

#define PIIX_PIRQRC 0x60
#define PIIX_NUM_PIRQS 4
#define PIIX4_PMBA 0x40
#define PIIX4_PMREGMISC 0x80
#define PIIX4_DEVACTB 0x58

struct piix3 {
    struct pci_dev pci;
    struct platform plat;
    pthread_mutex_t lock;
    bool pirq_level[PIIX_NUM_PIRQS];
    uint16_t irq_levels; /* the ISA IRQs this bridge drives high now */
};

struct piix4_pm {
    struct pci_dev pci;
    /* Called after a config write changed the I/O base (0: decoding off). Host lock held. */
    void (*move)(void *opaque, uint16_t base);
    void *opaque;
    uint16_t base;
};

/* Fills (p) (caller-owned); ISA IRQs go to (plat). */
void piix3_init(struct piix3 *p, const struct platform *plat);
void piix3_fini(struct piix3 *p);
/* PCI line (pirq) 0..3 is now at (level): the PCI host's intx_set hook. */
void piix3_set_pirq(struct piix3 *p, uint32_t pirq, bool level);
/* PIRQ line of INTx (pin) 1..4 of (slot), QEMU's and SeaBIOS's swizzle: the intx_line hook. */
uint32_t piix3_pirq_of(unsigned slot, unsigned pin);

/* Fills (pm) (caller-owned); (move) is told where the PM registers go. */
void piix4_pm_init(struct piix4_pm *pm, void (*move)(void *opaque, uint16_t base), void *opaque);

/* The i440FX host bridge identity (8086:1237, subsystem 1af4:1100 as QEMU's) and its PAM
 * registers 0x59..0x5f made writable (stored, not acted on: shadow RAM stays writable). */
extern const struct pci_dev_id i440fx_id;
void i440fx_init_pam(struct pci_dev *bridge);

#endif

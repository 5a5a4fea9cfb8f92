/* SPDX-License-Identifier: MIT */
/*
 * What the two halves of the virtio-pci transport share (virtio_pci.c: registers and
 * interrupts; virtio_pci_setup.c: capabilities, kicks, init). Not for other modules.
 */
#ifndef BAREIRON_DEV_VIRTIO_VIRTIO_PCI_INTERNAL_H
#define BAREIRON_DEV_VIRTIO_VIRTIO_PCI_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "dev/bus.h"
#include "dev/pci/pci.h"
#include "dev/virtio/virtio.h"

/* Field offsets inside a virtio_pci_cap (§4.1.4) and the PCI_CFG window's data (§4.1.4.9). */
#define CAP_OFF_BAR 4
#define CAP_OFF_OFFSET 8
#define CAP_OFF_LENGTH 12
#define CAP_OFF_DATA 16

/* The transport's interrupt/reset callbacks for the core (vd->lock held). */
extern const struct virtio_transport_ops virtio_pci_transport_ops;
/* BAR 0 handlers (virtio_pci_bar_read/virtio_pci_bar_write). */
extern const struct io_ops virtio_pci_bar_ops;
/* pci_dev_ops hooks (host lock held): the PCI_CFG window and machine reset. */
void virtio_pci_cfg_read_hook(struct pci_dev *dev, uint32_t off, unsigned size);
void virtio_pci_cfg_write_hook(struct pci_dev *dev, uint32_t off, uint32_t val, unsigned size);
void virtio_pci_reset_hook(struct pci_dev *dev);
/* In-kernel backend plumbing (virtio_pci_setup.c), virtio_transport_ops members. */
int virtio_pci_host_notifier(struct virtio_dev *vd, unsigned qidx, bool is_on);
int virtio_pci_guest_notifier(struct virtio_dev *vd, unsigned qidx);

#endif

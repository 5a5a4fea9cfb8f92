/* SPDX-License-Identifier: MIT */
/*
 * The modern virtio-pci transport (virtio 1.2 §4.1; no legacy interface): PCI vendor 0x1af4,
 * device 0x1040 + type, revision 1, and one 64-bit memory BAR (BAR 0) holding every
 * structure the vendor capabilities point at:
 *
 *   BAR 0 offset  size          structure
 *   0x0000        0x40          common configuration (VIRTIO_PCI_CAP_COMMON_CFG, §4.1.4.3)
 *   0x1000        1 (page)      ISR status (VIRTIO_PCI_CAP_ISR_CFG, §4.1.4.5)
 *   0x2000        config size   device configuration (VIRTIO_PCI_CAP_DEVICE_CFG, §4.1.4.6)
 *   0x3000        4 * queues    notifications (VIRTIO_PCI_CAP_NOTIFY_CFG, multiplier 4)
 *   0x4000        16 * nvec     MSI-X table (queues + 1 vectors: 0 config, 1.. queues)
 *   0x5000        PBA           MSI-X pending bits
 *
 * plus the VIRTIO_PCI_CAP_PCI_CFG window in config space (§4.1.4.9). Each queue's notify
 * address is an ioeventfd (platform_ops->ioeventfd) whose eventfd is watched on the event
 * loop, so kicks are processed there; if the ioeventfd cannot be assigned, the BAR write
 * handler signals the same eventfd. Interrupts go through MSI-X when the guest enabled it,
 * otherwise through INTx with the ISR register.
 *
 * For an in-kernel backend (vhost-net) the transport hands a queue's kick eventfd over
 * (host_notifier: the loop stops reading it) and gives it a call eventfd, watched on the loop,
 * whose signal raises the queue's interrupt: while the queue's MSI-X vector can be sent (MSI-X
 * enabled, neither the function nor the vector masked) through an irqfd routed to the vector's
 * message inside the kernel (platform_ops->irqfd_msi, re-routed whenever the guest rewrites the
 * table, masks, enables or changes the queue's vector), otherwise watched on the loop and
 * raised through the same path as the monitor's own completions (the PBA's pending bit while
 * masked, or INTx).
 *
 * Locking: BAR and config-space handlers take vd->lock (lock order: PCI host lock -> vd->lock
 * -> MSI-X lock, and the host's INTx lock last). Interrupts are raised with vd->lock held and
 * INTx is driven right there with pci_dev_set_intx; nothing is deferred to the loop.
 */
#ifndef BAREIRON_DEV_VIRTIO_VIRTIO_PCI_H
#define BAREIRON_DEV_VIRTIO_VIRTIO_PCI_H

#include <stdbool.h>
#include <stdint.h>

#include "base/compiler.h"
#include "dev/pci/pci.h"
#include "dev/pci/pci_msix.h"
#include "dev/virtio/virtio.h"

struct evloop;

/* PCI identity, capability types and the common configuration layout are in virtio_spec.h. */
#define VIRTIO_PCI_SUBSYS_ID 0x1100

/* BAR 0 layout */
#define VIRTIO_PCI_BAR 0
#define VIRTIO_PCI_COMMON_OFF 0x0000u
#define VIRTIO_PCI_COMMON_SIZE 0x40u
#define VIRTIO_PCI_ISR_OFF 0x1000u
#define VIRTIO_PCI_DEVICE_OFF 0x2000u
#define VIRTIO_PCI_DEVICE_MAX 0x1000u
#define VIRTIO_PCI_NOTIFY_OFF 0x3000u
#define VIRTIO_PCI_NOTIFY_MULT 4u
#define VIRTIO_PCI_MSIX_TABLE_OFF 0x4000u
#define VIRTIO_PCI_MSIX_PBA_OFF 0x5000u
#define VIRTIO_PCI_BAR_SIZE 0x8000u

struct virtio_pci;

/* Per-queue kick plumbing. */
struct virtio_pci_kick {
    struct virtio_pci *vp;
    unsigned qidx;
    int fd;             /* eventfd, -1 when none */
    bool has_ioeventfd; /* assigned in the kernel at ioeventfd_gpa */
    bool is_external;   /* handed to an in-kernel backend: not watched on the loop */
    int call_fd;        /* eventfd raising the queue's interrupt (guest_notifier), -1 */
    bool has_irqfd;     /* call_fd raises the MSI-X message in the kernel (irqfd_lock) */
    uint64_t irqfd_addr;
    uint32_t irqfd_data;
    uint64_t ioeventfd_gpa;
};

struct virtio_pci {
    struct pci_dev pci;
    struct pci_msix msix;
    struct virtio_dev *vd;
    struct platform plat;
    struct evloop *loop;
    uint16_t nvec;
    uint16_t queue_select; /* vd->lock */
    uint16_t pci_cfg_cap_off;
    struct virtio_pci_kick kicks[VIRTIO_MAX_QUEUES];
    pthread_mutex_t irqfd_lock; /* the kicks' irqfd state */
};

/*
 * Builds the PCI function for (vd) (its transport becomes (vp)): identity, BAR 0, the five
 * vendor capabilities and MSI-X, interrupts through (plat) (copied), kicks processed on (loop)
 * (NULL: kicks are processed at once in the BAR handler; for unit tests). Then plug
 * &vp->pci into the bus with pci_host_add_dev(). Returns 0 or -errno.
 */
MUST_CHECK int virtio_pci_init(struct virtio_pci *vp, struct virtio_dev *vd,
                               const struct platform *plat, struct evloop *loop);
/* Detaches the transport from the device (later completions raise no interrupt), removes the
 * eventfds from the loop (and the ioeventfds), closes them and frees the MSI-X state.
 * Idempotent; the device may be destroyed afterwards. */
void virtio_pci_fini(struct virtio_pci *vp);

/*
 * Convenience for the monitor: allocates a virtio_pci for (vd), initialises it with the
 * host's platform and plugs it into (slot) (-1: next free) of (host). Returns 0 and the
 * transport in (*out), or -errno.
 */
MUST_CHECK int virtio_pci_plug(struct pci_host *host, struct virtio_dev *vd, struct evloop *loop,
                               int slot, struct virtio_pci **out);
/* virtio_pci_fini + free. NULL allowed. The PCI host must be destroyed first (or not yet
 * have been told about the device). */
void virtio_pci_destroy(struct virtio_pci *vp);

struct sf_buf;
struct sf_in;
/*
 * Saved state of the transport and its device core (virtio_pci_state.c): queue select, INTx
 * level, MSI-X table and PBA, then virtio_dev_save. Save returns 0 or -EBUSY (a request in
 * flight: quiesce first). Load (after pci_host_load) returns 0 or -EINVAL/-ENOMEM; the
 * device's own state follows in the same section. Then virtio_pci_resume kicks every live
 * queue once (chains made available before the save are looked at). vCPUs paused.
 */
MUST_CHECK int virtio_pci_save(struct virtio_pci *vp, struct sf_buf *b);
MUST_CHECK int virtio_pci_load(struct virtio_pci *vp, struct sf_in *in);
void virtio_pci_resume(struct virtio_pci *vp);

/* Re-routes the queues' call eventfds (irqfd or the loop) after a change of MSI-X state or of a
 * queue's vector. Any thread; takes irqfd_lock and the MSI-X lock. */
void virtio_pci_irqfd_update(struct virtio_pci *vp);

/* BAR 0 handlers (exposed for unit tests; the bus calls them through BAR 0's io_ops). */
uint64_t virtio_pci_bar_read(void *opaque, uint64_t off, unsigned size);
void virtio_pci_bar_write(void *opaque, uint64_t off, uint64_t val, unsigned size);

#endif

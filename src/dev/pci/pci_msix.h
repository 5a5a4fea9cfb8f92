/* SPDX-License-Identifier: MIT */
/*
 * MSI-X (PCI Local Bus Spec 3.0 §6.8.2): the capability (message control with enable and
 * function-mask bits, table and PBA offset/BIR), the vector table (16 bytes per entry: address
 * low/high, data, vector control with the mask bit) and the pending-bit array. The table and the
 * PBA live inside a BAR of the device's choice; the device's BAR handler passes accesses to
 * pci_msix_bar_read/pci_msix_bar_write, which claim the offsets that belong to MSI-X.
 *
 * pci_msix_notify(vector) sends the vector's message through the platform, or sets its pending
 * bit when the vector or the function is masked; the pending message goes out on unmask.
 *
 * Threading: one mutex per MSI-X block (a leaf lock: it may be taken with the host lock or the
 * device lock held). Config-space writes reach it through the PCI host (host lock held).
 */
#ifndef BAREIRON_DEV_PCI_PCI_MSIX_H
#define BAREIRON_DEV_PCI_PCI_MSIX_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/compiler.h"
#include "dev/pci/pci.h"
#include "core/platform.h"

#define PCI_MSIX_MAX_VECTORS 2048
#define PCI_MSIX_ENTRY_SIZE 16
#define PCI_MSIX_CAP_LEN 12
/* Message control (capability offset 2) */
#define PCI_MSIX_FLAGS_QSIZE 0x07ff
#define PCI_MSIX_FLAGS_MASKALL 0x4000
#define PCI_MSIX_FLAGS_ENABLE 0x8000
/* Vector control (entry offset 12) */
#define PCI_MSIX_ENTRY_CTRL_MASKBIT 0x1

struct pci_msix_entry {
    uint32_t addr_lo, addr_hi, data, ctrl;
};
_Static_assert(sizeof(struct pci_msix_entry) == PCI_MSIX_ENTRY_SIZE, "msix entry");

struct pci_msix {
    pthread_mutex_t lock;
    struct pci_dev *dev;
    struct platform plat;
    uint16_t nvec;
    uint16_t cap_off;
    uint8_t table_bar, pba_bar;
    uint32_t table_off, pba_off; /* inside their BARs */
    bool is_enabled, is_masked;  /* shadows of the message control bits */
    struct pci_msix_entry *table;
    uint64_t *pba;
};

/* Size in bytes of a PBA for (nvec) vectors (a multiple of 8). */
static inline uint32_t pci_msix_pba_size(unsigned nvec)
{
    return ((nvec + 63u) / 64u) * 8u;
}

/*
 * Adds the MSI-X capability with (nvec) (1..2048) vectors to (dev) (before pci_host_add_dev),
 * table at (table_off) in BAR (table_bar), PBA at (pba_off) in BAR (pba_bar); offsets must be
 * 8-byte aligned (table: 16 recommended) and fit inside the BARs, which must be declared
 * already. All vectors start masked. (plat) is copied. Returns 0, -EINVAL, -ENOSPC or -ENOMEM.
 */
MUST_CHECK int pci_msix_init(struct pci_msix *msix, struct pci_dev *dev,
                             const struct platform *plat, uint16_t nvec, unsigned table_bar,
                             uint32_t table_off, unsigned pba_bar, uint32_t pba_off);
/* Frees the table; the capability stays in (dev)'s config space. */
void pci_msix_fini(struct pci_msix *msix);

/* BAR-handler helpers: if [off, off+size) of BAR (bar) falls in the table or the PBA, serve it
 * and return true; return false otherwise (the caller serves its own registers). Bad sizes or
 * misaligned accesses inside MSI-X ranges are claimed and ignored (reads all-ones). */
bool pci_msix_bar_read(struct pci_msix *msix, unsigned bar, uint64_t off, unsigned size,
                       uint64_t *val);
bool pci_msix_bar_write(struct pci_msix *msix, unsigned bar, uint64_t off, uint64_t val,
                        unsigned size);

/* Signals (vector): sends its message, or sets its pending bit while the vector or the whole
 * function is masked. Returns 0 (sent), -EAGAIN (masked: now pending), -ENODEV (MSI-X disabled:
 * nothing recorded, use INTx), -EINVAL (bad vector, or an entry whose address is not an MSI
 * address: dropped) or the platform's error. Thread-safe. */
int pci_msix_notify(struct pci_msix *msix, unsigned vector);
/* True when the guest enabled MSI-X (message control bit 15). Thread-safe. */
bool pci_msix_is_enabled(struct pci_msix *msix);
/* Reads back vector (vector)'s message (for irqfd routing). Returns false for a bad vector. */
bool pci_msix_get_msg(struct pci_msix *msix, unsigned vector, uint64_t *addr, uint32_t *data,
                      bool *is_masked);

/* Called by the PCI host after a config write touched the capability (host lock held):
 * refreshes the enable/mask shadows and delivers pending vectors that became unmasked. */
void pci_msix_cfg_written(struct pci_msix *msix);
/* Back to power-on state: all vectors masked, nothing pending, disabled. */
void pci_msix_reset(struct pci_msix *msix);

struct sf_buf;
struct sf_in;
/*
 * Saved state (docs/vmm.md "Saved state"): the vector count, the table and the PBA. The
 * enable and function-mask bits live in config space (pci_host_save); pci_msix_load reads
 * them back from there, so load it after pci_host_load. Load refuses another vector count,
 * reserved vector-control bits and pending bits past the last vector (-EINVAL) and sends
 * nothing: a pending vector goes out when the guest next unmasks it. vCPUs paused.
 */
void pci_msix_save(struct pci_msix *msix, struct sf_buf *b);
MUST_CHECK int pci_msix_load(struct pci_msix *msix, struct sf_in *in);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * A PIIX3-compatible IDE controller (Intel 82371SB function 1, 8086:7010, class 0x0101 prog-if
 * 0x80): two channels in compatibility mode at the legacy ports (primary 0x1f0-0x1f7 and 0x3f6
 * on ISA IRQ 14, secondary 0x170-0x177 and 0x376 on IRQ 15), or in PCI native mode (prog-if
 * 0x8f: the ports in BARs 0-3, INTA), bus-master DMA in BAR4 (SFF-8038i: command, status and
 * PRD table address per channel), up to two drives per channel:
 *   - ATA disks (ATA/ATAPI-7): PIO single and multiple, DMA, LBA28/LBA48/CHS (ide_ata.c);
 *   - ATAPI CD-ROMs (MMC-3 over SFF-8020i PACKET) with 2048-byte sectors, unit attention and
 *     GET EVENT STATUS NOTIFICATION media events after a media change (ide_atapi.c).
 * Register semantics and the transfer state machine are in ide.c, bus-master DMA and all block
 * I/O in ide_dma.c.
 *
 * Threading: one lock per controller, taken by the port handlers (vCPU threads) and by the
 * block work, which runs on the event loop (block/blk.h: submit and completions on the loop
 * thread): a register write that needs the disk queues a call on the loop (evloop_call) and
 * leaves the drive BSY until the completion. Lock order: controller lock -> PCI INTx lock.
 */
#ifndef BAREIRON_DEV_STORAGE_IDE_H
#define BAREIRON_DEV_STORAGE_IDE_H

#include <stdbool.h>
#include <stdint.h>

#include "base/compiler.h"
#include "core/platform.h"
#include "dev/bus.h"

struct blk;
struct gmem;
struct evloop;
struct pci_dev;
struct ide;
struct sf_buf;
struct sf_in;

#define IDE_CHANNELS 2
#define IDE_DRIVES 4              /* drive index = channel * 2 + unit (0 master, 1 slave) */
#define IDE_CDROM_DEFAULT_DRIVE 2 /* secondary master */

#define IDE_PRIMARY_PORT 0x1f0
#define IDE_PRIMARY_CTL_PORT 0x3f6
#define IDE_SECONDARY_PORT 0x170
#define IDE_SECONDARY_CTL_PORT 0x376
#define IDE_PRIMARY_IRQ 14
#define IDE_SECONDARY_IRQ 15

enum ide_drive_kind { IDE_KIND_NONE = 0, IDE_KIND_ATA, IDE_KIND_ATAPI };

struct ide_drive_config {
    enum ide_drive_kind kind;
    struct blk *blk; /* not owned; an ATA disk needs one, an ATAPI drive may be empty (NULL) */
    bool is_readonly;
};

struct ide_config {
    struct ide_drive_config drives[IDE_DRIVES];
    uint32_t gsi[IDE_CHANNELS]; /* 0: IDE_PRIMARY_IRQ / IDE_SECONDARY_IRQ */
    /*
     * PCI native mode (prog-if 0x8f) instead of compatibility mode: the channels' command and
     * control blocks are BARs 0-3 and both share the function's INTA, for machines without the
     * 8259 (the split irqchip), where a guest has no ISA IRQ 14/15 (Linux allocates none when it
     * finds no legacy PIC).
     */
    bool is_native;
};

/*
 * Creates the controller with the drives of (cfg) over guest memory (gm), block work on (loop),
 * interrupts through (plat) (copied). Returns 0, -EINVAL (an ATA drive without a disk, a disk
 * smaller than one sector) or -ENOMEM.
 */
MUST_CHECK int ide_create(const struct ide_config *cfg, const struct platform *plat,
                          const struct gmem *gm, struct evloop *loop, struct ide **out);
/* Registers the legacy ports of both channels on (pio) (nothing in native mode). Returns 0 or a
 * bus_register error. */
MUST_CHECK int ide_attach(struct ide *ide, struct bus *pio);
/* Unregisters the legacy ports (NULL-safe on a half attach). */
void ide_detach(struct ide *ide, struct bus *pio);
/* The PCI function (BAR4 declared), to plug with pci_host_add_dev. */
struct pci_dev *ide_pci_dev(struct ide *ide);
/*
 * Stops queueing block work and drops the loop calls not run yet. Call before closing the
 * disks; blk_close then completes what is in flight (the completions still use the device),
 * then ide_destroy.
 */
void ide_stop(struct ide *ide);
/* Frees (ide); NULL allowed. */
void ide_destroy(struct ide *ide);
/* Controller reset (machine reset): every drive back to its power-on state. */
void ide_reset(struct ide *ide);

/*
 * Media change on the ATAPI drive (drive): inserts (blk) (NULL: ejects). (*old) receives the
 * medium taken out (the caller closes it). The guest sees UNIT ATTENTION (medium may have
 * changed) and a GET EVENT STATUS NOTIFICATION media event. Returns 0, -ENODEV (no ATAPI drive
 * there), -EBUSY (a request on the drive is in flight, or the guest locked the medium with
 * PREVENT ALLOW MEDIUM REMOVAL and (is_forced) is false). Event loop thread.
 */
MUST_CHECK int ide_change_media(struct ide *ide, unsigned drive, struct blk *blk, bool is_forced,
                                struct blk **old);

/*
 * Saved state (docs/vmm.md "Saved state", ide_state.c): per channel its task file, device
 * control, interrupt, the command in progress (a PIO piece with the bytes of the channel buffer
 * it still needs, or a DMA transfer waiting for the bus master's START), the bus master
 * registers, and per drive its registers, geometry, multiple count, features and the ATAPI
 * sense, lock, tray and media event. Block I/O is never saved: ide_busy says how many channels
 * still have some queued or in flight (the save runs the event loop until none has), and
 * ide_save returns -EBUSY while one has. ide_load takes a controller with the same drives (an
 * ATA disk of the same size; an ATAPI drive whose medium may differ: the guest then sees a media
 * change) and no I/O, checks every field of the hostile data (indices, lengths, buffer
 * positions, the range of a transfer against the ATA disk, or a CD address that fits a READ(12))
 * before anything changes, and returns 0 or -EINVAL. Event loop thread, vCPUs paused.
 */
unsigned ide_busy(struct ide *ide);
MUST_CHECK int ide_save(struct ide *ide, struct sf_buf *b);
MUST_CHECK int ide_load(struct ide *ide, struct sf_in *in);

#endif

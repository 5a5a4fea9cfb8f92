/* SPDX-License-Identifier: MIT */
/*
 * An Intel 82078-compatible floppy disk controller in PC-AT mode (Intel 82078 datasheet; the
 * command set of the NEC uPD765A it extends) with one 3.5" drive (drive 0, A:), at ports
 * 0x3f0-0x3f5 and 0x3f7, IRQ 6 and ISA DMA channel 2 (dev/legacy/i8237.h).
 *
 * Registers: SRA/SRB (0x3f0/1, read), DOR (0x3f2: drive select, reset, DMA gate, motors), TDR
 * (0x3f3), MSR (0x3f4 read) / DSR (0x3f4 write: data rate, software reset), FIFO (0x3f5), DIR
 * (0x3f7 read: bit 7 the disk change line) / CCR (0x3f7 write: data rate).
 *
 * Commands: SPECIFY, SENSE DRIVE STATUS, WRITE DATA, READ DATA (multi-track, skip ignored),
 * RECALIBRATE, SENSE INTERRUPT STATUS, READ ID, FORMAT TRACK, SEEK, VERSION, PERPENDICULAR
 * MODE, CONFIGURE (implied seeks), DUMPREG, LOCK/UNLOCK and PART ID; any other opcode gets the
 * one-byte "invalid command" result (ST0 0x80). Data moves by DMA only: a read or write with
 * SPECIFY's non-DMA bit set ends abnormally (overrun). The medium is an image of 512-byte
 * sectors whose size gives the geometry (fdc_geometry_for_size); its data rate must be the
 * one programmed (DSR/CCR), as on real drives, which is how drivers probe the format.
 *
 * The execution phase of READ DATA, WRITE DATA and FORMAT TRACK goes through the block layer
 * off the vCPU thread: the command's last byte asks the machine (the kick hook) to call
 * fdc_service() on the event loop thread, which submits one blk request for the whole transfer;
 * its completion moves the data by DMA, fills the result phase and raises IRQ 6. A controller
 * reset meanwhile makes the completion a no-op.
 *
 * Media change: fdc_change_media() swaps the disk (or ejects it) at run time and raises the
 * disk change line in DIR, which a step of the head clears once a disk is in.
 *
 * Saved state: everything but a block request in flight (save waits for none: it refuses).
 *
 * Threading: one mutex; register accesses on vCPU threads, fdc_service, completions and media
 * changes on the event loop thread. The controller takes the DMA controller's lock inside its
 * own, never the reverse.
 */
#ifndef BAREIRON_DEV_LEGACY_FDC_H
#define BAREIRON_DEV_LEGACY_FDC_H

#include <stdbool.h>
#include <stdint.h>

#include "base/compiler.h"
#include "base/statefile.h"
#include "core/platform.h"
#include "dev/bus.h"

struct blk;
struct fdc;
struct i8237;

#define FDC_PORT_BASE 0x3f0 /* 0x3f0-0x3f5; 0x3f7 too (0x3f6 is the IDE controller's) */
#define FDC_PORT_DIR 0x3f7
#define FDC_IRQ 6
#define FDC_DMA_CHANNEL 2
#define FDC_SECTOR_SIZE 512u

/* A medium: its geometry, the data rate it needs (DSR/CCR rate bits) and the drive type CMOS
 * byte 0x10 gives for a drive of that capacity. */
struct fdc_geometry {
    uint64_t size_bytes;
    uint8_t tracks, heads, sectors;
    uint8_t rate;      /* 0 500 kb/s, 1 300 kb/s, 2 250 kb/s, 3 1 Mb/s */
    uint8_t cmos_type; /* 2 1.2M, 3 720K, 4 1.44M, 5 2.88M */
    const char *name;  /* "1.44M" */
};

/* The geometry of an image of (size_bytes), or NULL when no supported format has that size
 * (720K, 1.2M, 1.44M, 2.88M). */
const struct fdc_geometry *fdc_geometry_for_size(uint64_t size_bytes);

/* Asks the machine to call fdc_service(fdc) soon on the thread that owns the disks. Returns 0,
 * or -errno when that could not be queued. The controller has at most one such call pending:
 * it serves whatever is queued when it runs. */
typedef int (*fdc_kick_fn)(void *opaque, struct fdc *fdc);

/*
 * Creates the controller, its drive 0 of CMOS type (drive_type) (4 or 5) holding (disk) (NULL:
 * no disk; owned from then on, closed by the controller), write-protected when (is_readonly)
 * or the disk is read-only. (dma) (not owned) serves channel 2; (kick) is called with the lock
 * held and must only queue work. Returns 0, -EINVAL (a disk of no supported size: not taken)
 * or -ENOMEM.
 */
MUST_CHECK int fdc_create(const struct platform *plat, struct i8237 *dma, uint8_t drive_type,
                          struct blk *disk, bool is_readonly, fdc_kick_fn kick, void *kick_opaque,
                          struct fdc **out);
/* Closes the disk (its outstanding requests complete first, into nothing) and frees (fdc).
 * The caller has cancelled its kicks. NULL is a no-op. Event loop thread. */
void fdc_destroy(struct fdc *fdc);
/* Registers the ports on (pio). Returns 0 or bus_register's error. */
MUST_CHECK int fdc_attach(struct fdc *fdc, struct bus *pio);
extern const struct io_ops fdc_io_ops, fdc_dir_io_ops;

/* Runs the queued execution phase (see the kick hook). Event loop thread. */
void fdc_service(struct fdc *fdc);

/*
 * Puts (disk) in drive 0 (NULL: ejects; owned from then on), write-protected when
 * (is_readonly) or the disk is read-only, and raises the disk change line. The old disk is
 * closed (a request of it still in flight completes first; the command then ends as the
 * completion says). A disk of no supported size is refused with -EINVAL and not taken;
 * nothing changes then. Event loop thread.
 */
MUST_CHECK int fdc_change_media(struct fdc *fdc, struct blk *disk, bool is_readonly);

/*
 * Saved state (fdc_state.c). fdc_save returns 0, or -EBUSY while a block request is in flight
 * (nothing written then). fdc_load returns 0 or -EINVAL; an execution phase that was planned
 * is queued again (the kick hook). Event loop thread.
 */
MUST_CHECK int fdc_save(struct fdc *fdc, struct sf_buf *b);
MUST_CHECK int fdc_load(struct fdc *fdc, struct sf_in *in);

/* How many block requests are in flight (a save waits for none). Event loop thread. */
unsigned fdc_in_flight(struct fdc *fdc);

/* Whether drive 0 holds a disk (for the monitor's reports). */
bool fdc_has_media(struct fdc *fdc);

#endif

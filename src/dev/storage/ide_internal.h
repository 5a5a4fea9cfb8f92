/* SPDX-License-Identifier: MIT */
/*
 * Private to dev/storage/ide*.c (and their unit tests): the controller, channel and drive
 * state, the ATA register bits (ATA/ATAPI-7 vol. 1 §6, vol. 2 §4) and the functions the four
 * files share. Every function here is called with ide->lock held unless it says otherwise.
 *
 * A channel runs one command at a time. Its transfer state:
 *
 *   idle --command--> [BSY: block I/O queued on the loop] --done--> DRQ (PIO block in buf)
 *   DRQ --data port drained/filled--> end_fn: next block (BSY), next piece (DRQ) or idle
 *   idle --DMA command--> dma pending --BM start (either order)--> BSY, I/O on the loop
 *        --done--> idle, BM status INTR, IRQ
 *
 * A reset (SRST, DEVICE RESET, machine reset) bumps the channel's epoch: block I/O still in
 * flight then completes into nothing. The blk_req is embedded, so the next request waits for it.
 */
#ifndef BAREIRON_DEV_STORAGE_IDE_INTERNAL_H
#define BAREIRON_DEV_STORAGE_IDE_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "block/blk.h"
#include "dev/pci/pci.h"
#include "dev/storage/ide.h"

/* Status register */
#define ATA_BSY 0x80
#define ATA_DRDY 0x40
#define ATA_DF 0x20
#define ATA_DSC 0x10
#define ATA_DRQ 0x08
#define ATA_ERR 0x01
/* Error register */
#define ATA_ABRT 0x04
#define ATA_IDNF 0x10
#define ATA_UNC 0x40
/* Device control register */
#define ATA_NIEN 0x02
#define ATA_SRST 0x04
#define ATA_HOB 0x80
/* Device/head register */
#define ATA_LBA 0x40
#define ATA_DEV1 0x10
/* ATAPI interrupt reason (the sector count register) */
#define ATAPI_COD 0x01
#define ATAPI_IO 0x02

/* Bus master (SFF-8038i): command and status bits */
#define BM_CMD_START 0x01
#define BM_CMD_TO_MEMORY 0x08
#define BM_ST_ACTIVE 0x01
#define BM_ST_ERROR 0x02
#define BM_ST_INTR 0x04
#define BM_ST_DMA_CAPABLE 0x60
#define BM_BAR_BYTES 16

#define IDE_SECTOR_BYTES 512u
#define ATAPI_SECTOR_BYTES 2048u
#define ATAPI_PACKET_BYTES 12u
/* One PIO chunk: 256 ATA sectors (a full READ SECTORS), 64 CD sectors. */
#define IDE_BUF_BYTES (128u << 10)
#define IDE_MAX_MULTIPLE 16u
/* PRD table walk: a table lives in one 64 KiB region, 8 bytes an entry. */
#define IDE_PRD_MAX_ENTRIES 8192u
#define IDE_MAX_IOV 1024u
/* Longest ATAPI READ accepted (larger ones are refused as an invalid field). */
#define ATAPI_MAX_READ_SECTORS 65535u

struct ide;
struct ide_channel;

/* What to do when the data port has moved the last byte of the current PIO piece. */
typedef void (*ide_end_fn)(struct ide_channel *ch);
/* Block I/O completion: (ret) 0 or -errno. */
typedef void (*ide_io_fn)(struct ide_channel *ch, int ret);

enum ide_gesn_event { GESN_NONE = 0, GESN_NEW_MEDIA = 2, GESN_MEDIA_REMOVAL = 3 };

struct ide_drive {
    enum ide_drive_kind kind;
    struct blk *blk; /* not owned; NULL: no medium (ATAPI) */
    bool is_readonly;
    uint64_t nsectors; /* of the medium, in its sector size */
    uint8_t status;
    uint8_t error;
    /* ATA */
    uint16_t cyls, heads, secs;   /* default geometry */
    uint16_t cur_heads, cur_secs; /* INITIALIZE DEVICE PARAMETERS */
    unsigned multiple;            /* SET MULTIPLE MODE; 0: off */
    bool has_wcache;
    uint8_t xfer_mode; /* SET FEATURES 03h */
    /* ATAPI */
    uint8_t sense_key, asc, ascq;
    bool has_unit_attention;
    bool is_locked;    /* PREVENT ALLOW MEDIUM REMOVAL */
    bool is_tray_open; /* START STOP UNIT eject; the medium stays in the tray */
    enum ide_gesn_event event;
    char serial[21];
};

/* The DMA transfer a command set up (started by the bus master's START bit). */
struct ide_dma {
    bool is_pending;  /* a command waits for START (or runs) */
    bool is_write;    /* memory -> disk */
    bool is_from_buf; /* data-in from ch->buf (ATAPI replies), no disk I/O */
    uint64_t offset_bytes;
    uint64_t len_bytes;
    ide_io_fn done;
};

struct ide_channel {
    struct ide *ide;
    unsigned index;
    uint32_t gsi;
    struct ide_drive drive[2];
    unsigned cur;       /* selected unit */
    unsigned xfer_unit; /* the unit running the command */
    /* Task file: written registers are latched for both units (shared cable). */
    uint8_t feature, nsector, sector, lcyl, hcyl, select;
    uint8_t hob_feature, hob_nsector, hob_sector, hob_lcyl, hob_hcyl;
    uint8_t devctl;
    bool irq_pending;
    /* PIO data buffer: [pos, end) is what the data port moves now, toward (is_out ? disk :
     * guest). */
    uint8_t *buf;
    uint32_t pos, end;
    bool is_out;
    ide_end_fn end_fn;
    /* the command in progress */
    uint8_t cmd;
    uint64_t lba;        /* next sector */
    uint64_t left;       /* sectors still to move */
    unsigned per_drq;    /* ATA: sectors per DRQ block */
    uint32_t bcl;        /* ATAPI: byte count limit */
    uint32_t reply_left; /* ATAPI PIO: bytes still to send, from buf[reply_off] */
    uint32_t reply_off;
    uint32_t piece;     /* ATAPI PIO: bytes of the current DRQ piece */
    bool is_packet_dma; /* ATAPI: the PACKET command's DMA bit */
    struct ide_dma dma;
    /* bus master */
    uint8_t bm_cmd, bm_status;
    uint32_t prd_gpa;
    /* block I/O: the next PIO request (through buf), then the one with the backend */
    enum blk_op pio_op;
    uint64_t pio_offset;
    uint32_t pio_len;
    struct blk_req br;
    struct iovec iov[IDE_MAX_IOV];
    ide_io_fn io_done;
    bool is_queued;    /* a loop call will submit */
    bool is_inflight;  /* br is with the backend */
    bool needs_submit; /* a new request waits for the stale one in flight */
    uint32_t epoch, io_epoch;
};

struct ide {
    pthread_mutex_t lock;
    struct platform plat;
    const struct gmem *gm;
    struct evloop *loop;
    bool is_stopped;
    bool is_native; /* PCI native mode (ide_config) */
    struct pci_dev pci;
    struct ide_channel ch[IDE_CHANNELS];
};

/* ide.c */
struct ide_drive *ide_cur(struct ide_channel *ch);
struct ide_drive *ide_xfer(struct ide_channel *ch);
void ide_raise_irq(struct ide_channel *ch);
/* Drives the channel's interrupt line from irq_pending and nIEN (native mode: the shared INTA). */
void ide_update_irq(struct ide_channel *ch);
/* Ends the command: status DRDY|DSC (ATAPI: DRDY), IRQ. */
void ide_cmd_ok(struct ide_channel *ch);
/* Ends the command with ERR and (error) in the error register, IRQ. */
void ide_cmd_abort(struct ide_channel *ch, uint8_t error);
/* Starts a PIO piece of (len) bytes at buf[off]: DRQ; (end) runs when the port moved it all. */
void ide_pio_start(struct ide_channel *ch, uint32_t off, uint32_t len, bool is_out, ide_end_fn end);
/* End of a PIO transfer that ends the command without an interrupt (reads, IDENTIFY). */
void ide_pio_done(struct ide_channel *ch);
/* ATA string (space padded, first character of a pair in the high byte) of (words) words. */
void ide_put_string(uint16_t *id, unsigned word, const char *s, unsigned words);
void ide_set_signature(struct ide_channel *ch, unsigned unit);
uint8_t ide_ready_status(const struct ide_drive *d);
/* Port handlers, exposed for the unit tests and the fuzzer. */
extern const struct io_ops ide_cmd_ops, ide_ctl_ops, ide_bm_ops;

/* ide_ata.c: runs ATA command (cmd) on the selected drive (not BSY, not DRQ). */
void ide_ata_command(struct ide_channel *ch, uint8_t cmd);
void ide_ata_identify_geometry(struct ide_drive *d);
/* The end functions of a PIO data-in and data-out block, and the completion of a DMA command
 * (named so that a saved state can refer to them: ide_state.c). */
void ide_ata_read_end(struct ide_channel *ch);
void ide_ata_write_end(struct ide_channel *ch);
void ide_ata_rw_done(struct ide_channel *ch, int ret);

/* ide_atapi.c */
void ide_atapi_identify(struct ide_channel *ch);
void ide_atapi_packet(struct ide_channel *ch);
/* The end functions of a reply piece and of the CDB, and the completion of a DMA data-in (for
 * ide_state.c, as above). */
void ide_atapi_piece_end(struct ide_channel *ch);
void ide_atapi_packet_end(struct ide_channel *ch);
void ide_atapi_dma_done(struct ide_channel *ch, int ret);

/* ide_dma.c */
/* Queues the block request (op) of (len) bytes at (offset) through ch->buf (PIO; len at most
 * IDE_BUF_BYTES); (done) runs on the loop thread with the lock held. */
void ide_io_buf(struct ide_channel *ch, enum blk_op op, uint64_t offset, uint32_t len,
                ide_io_fn done);
/* Sets up a DMA transfer; it runs when the bus master is (or gets) started. */
void ide_dma_setup(struct ide_channel *ch, bool is_write, uint64_t offset, uint64_t len,
                   bool is_from_buf, ide_io_fn done);
/* Cancels what the channel has queued (reset): later completions are dropped. */
void ide_io_cancel(struct ide_channel *ch);

#endif

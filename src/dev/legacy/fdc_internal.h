/* SPDX-License-Identifier: MIT */
/*
 * Private to dev/legacy/fdc*.c: the controller's state. fdc.c has the registers, the command
 * and result phases and the commands without data; fdc_io.c the data commands (READ DATA,
 * WRITE DATA, FORMAT TRACK, READ ID), their block I/O and the media change.
 */
#ifndef BAREIRON_DEV_LEGACY_FDC_INTERNAL_H
#define BAREIRON_DEV_LEGACY_FDC_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "dev/legacy/fdc.h"

#define FDC_CMD_MAX 9
#define FDC_RES_MAX 10
#define FDC_MAX_SECTORS 72 /* two heads of the 36-sector 2.88M track: the largest transfer */

/* Status register bits. */
#define ST0_IC_ABNORMAL 0x40
#define ST0_IC_INVALID 0x80
#define ST0_IC_POLL 0xc0
#define ST0_SE 0x20
#define ST0_EC 0x10
#define ST1_EN 0x80
#define ST1_DE 0x20
#define ST1_OR 0x10
#define ST1_ND 0x04
#define ST1_NW 0x02
#define ST1_MA 0x01
#define ST2_DD 0x20
#define ST2_WC 0x10

/* CONFIGURE's second byte. */
#define FDC_CONFIG_EIS 0x40
#define FDC_CONFIG_DEFAULT 0x20 /* FIFO disabled, polling on, threshold 1 */

enum fdc_phase { FDC_PHASE_COMMAND, FDC_PHASE_EXEC, FDC_PHASE_RESULT };

struct fdc_drive {
    struct blk *blk;                /* NULL: no disk */
    const struct fdc_geometry *geo; /* NULL: no disk */
    bool is_wp;
    bool has_changed; /* the disk change line (DIR bit 7) */
    uint8_t cyl;      /* where the head is (PCN) */
    uint8_t head;     /* of the last access */
    uint8_t sect;     /* the sector under the head, for READ ID */
    uint8_t type;     /* CMOS drive type */
};

/* The execution phase planned by a data command, run by fdc_service. */
enum fdc_op { FDC_OP_NONE, FDC_OP_READ, FDC_OP_WRITE, FDC_OP_FORMAT };
struct fdc_plan {
    enum fdc_op op;
    uint8_t ds, hd;   /* drive and physical head */
    uint8_t c, h, r;  /* the first sector's ID */
    uint8_t last;     /* last sector number read on a head (min(EOT, sectors per track)) */
    bool is_mt;       /* continues on head 1 */
    bool is_past_eot; /* EOT names a sector the track does not have */
    unsigned nsect;   /* sectors planned */
    uint64_t offset;  /* of the first one on the disk */
    uint8_t fill;     /* FORMAT TRACK's filler byte */
};

struct fdc {
    pthread_mutex_t lock;
    struct platform plat;
    struct i8237 *dma;
    fdc_kick_fn kick;
    void *kick_opaque;
    struct fdc_drive drv; /* drive 0; drives 1-3 are not connected */
    uint8_t dor, tdr;
    uint8_t rate; /* data rate bits of the DSR and CCR */
    enum fdc_phase phase;
    uint8_t cmd[FDC_CMD_MAX];
    unsigned cmd_len, cmd_pos;
    uint8_t res[FDC_RES_MAX];
    unsigned res_len, res_pos;
    bool is_irq_pending;
    bool irq_level;
    /* what SENSE INTERRUPT STATUS reports after a seek or recalibrate */
    bool has_seek_status;
    uint8_t seek_st0, seek_pcn;
    unsigned reset_senses; /* polling results still owed after a reset */
    uint8_t specify[2];
    uint8_t config, pretrk, perp;
    bool is_locked;
    struct fdc_plan plan;
    bool is_queued;     /* the plan waits for fdc_service */
    bool is_kicked;     /* a kick's fdc_service has not run yet (a reset keeps it) */
    uint64_t gen;       /* bumped by a reset: older completions are dropped */
    unsigned in_flight; /* blk requests */
};

/* fdc.c, lock held */
void fdc_update_irq(struct fdc *f);
/* Enters the result phase with (n) bytes of (res); raises the interrupt if (is_irq). */
void fdc_set_result(struct fdc *f, const uint8_t *res, unsigned n, bool is_irq);
/* Drive (ds), or NULL when it is not connected. */
struct fdc_drive *fdc_drive(struct fdc *f, unsigned ds);
/* Moves the head of (d) to (cyl); a step with a disk in clears the disk change line. */
void fdc_seek_to(struct fdc_drive *d, uint8_t cyl);

/* fdc_io.c, lock held: the data commands, from the command phase. */
void fdc_cmd_rw(struct fdc *f);
void fdc_cmd_format(struct fdc *f);
void fdc_cmd_read_id(struct fdc *f);

#endif

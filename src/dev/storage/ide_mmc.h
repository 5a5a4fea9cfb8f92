/* SPDX-License-Identifier: MIT */
/*
 * Private to dev/storage/ide_atapi.c and its tests: the reply builders of ide_mmc.c. Each writes
 * the reply of the command (cdb) for drive (d) into (buf) (IDE_BUF_BYTES long) and returns its
 * full length (the caller cuts it to the allocation length), or -ASC with ILLEGAL REQUEST
 * meant. mmc_event_status consumes the pending media event.
 */
#ifndef BAREIRON_DEV_STORAGE_IDE_MMC_H
#define BAREIRON_DEV_STORAGE_IDE_MMC_H

#include "dev/storage/ide_internal.h"

#define ASC_INVALID_OPCODE 0x20
#define ASC_LBA_OUT_OF_RANGE 0x21
#define ASC_INVALID_FIELD 0x24
#define ASC_MEDIUM_CHANGED 0x28
#define ASC_SAVING_NOT_SUPPORTED 0x39
#define ASC_NO_MEDIUM 0x3a
#define ASC_REMOVAL_PREVENTED 0x53

int mmc_inquiry(const struct ide_drive *d, const uint8_t *cdb, uint8_t *buf);
int mmc_request_sense(const struct ide_drive *d, uint8_t *buf);
int mmc_read_capacity(const struct ide_drive *d, uint8_t *buf);
int mmc_read_toc(const struct ide_drive *d, const uint8_t *cdb, uint8_t *buf);
int mmc_mode_sense10(const struct ide_drive *d, const uint8_t *cdb, uint8_t *buf);
int mmc_get_configuration(const struct ide_drive *d, const uint8_t *cdb, uint8_t *buf);
int mmc_event_status(struct ide_drive *d, const uint8_t *cdb, uint8_t *buf);
int mmc_disc_information(const struct ide_drive *d, const uint8_t *cdb, uint8_t *buf);
int mmc_mechanism_status(const struct ide_drive *d, uint8_t *buf);

#endif

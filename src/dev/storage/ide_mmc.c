/* SPDX-License-Identifier: MIT */
/*
 * The replies of the ATAPI CD-ROM's data-in commands that need no disk I/O (MMC-3): INQUIRY
 * (SPC-3 §6.4), REQUEST SENSE (fixed format), READ CAPACITY, READ TOC/PMA/ATIP (§6.26: formats
 * 0 TOC, 1 session information, 2 full TOC; LBA or MSF), MODE SENSE(10) (pages 01h, 2Ah, 3Fh),
 * GET CONFIGURATION (§5.2: profile list, core, removable medium), GET EVENT STATUS NOTIFICATION
 * (§6.6, polled, media class), READ DISC INFORMATION (§6.22) and MECHANISM STATUS (§6.12). The
 * disc is one data track in one complete session. Each builder writes into (buf), at most
 * IDE_BUF_BYTES, and returns the reply's length, or -ASC for an ILLEGAL REQUEST.
 */
#include "dev/storage/ide_mmc.h"

#include <string.h>

#define CD_MAX_SECTORS 404850u /* 90 minutes: bigger media report the DVD-ROM profile */

static void put_be16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put_be32(uint8_t *p, uint32_t v)
{
    put_be16(p, v >> 16);
    put_be16(p + 2, v);
}

/* An image without one whole 2048-byte sector (0 bytes, say) is no medium, as QEMU has it. */
static bool has_medium(const struct ide_drive *d)
{
    return d->blk != NULL && !d->is_tray_open && d->nsectors > 0;
}

int mmc_inquiry(const struct ide_drive *d, const uint8_t *cdb, uint8_t *buf)
{
    (void)d;
    if (cdb[1] & 1) /* EVPD: no vital product data pages */
        return -ASC_INVALID_FIELD;
    memset(buf, 0, 36);
    buf[0] = 0x05; /* CD/DVD device */
    buf[1] = 0x80; /* removable */
    buf[3] = 0x21; /* ATAPI, response format 1 */
    buf[4] = 31;
    memcpy(buf + 8, "BAREIRON", 8);
    memcpy(buf + 16, "DVD-ROM         ", 16);
    memcpy(buf + 32, "1.0 ", 4);
    return 36;
}

int mmc_request_sense(const struct ide_drive *d, uint8_t *buf)
{
    memset(buf, 0, 18);
    buf[0] = 0x70; /* current error, fixed format */
    buf[2] = d->sense_key;
    buf[7] = 10;
    buf[12] = d->asc;
    buf[13] = d->ascq;
    return 18;
}

int mmc_read_capacity(const struct ide_drive *d, uint8_t *buf)
{
    uint64_t last = d->nsectors ? d->nsectors - 1 : 0;
    put_be32(buf, (uint32_t)(last > UINT32_MAX ? UINT32_MAX : last));
    put_be32(buf + 4, ATAPI_SECTOR_BYTES);
    return 8;
}

/* A logical block address as MSF (M, S, F after a 0 byte) or as LBA. */
static void put_addr(uint8_t *p, uint64_t lba, bool is_msf)
{
    if (!is_msf) {
        put_be32(p, (uint32_t)lba);
        return;
    }
    lba += 150;
    p[0] = 0;
    p[1] = (uint8_t)(lba / (75 * 60) > 255 ? 255 : lba / (75 * 60));
    p[2] = (uint8_t)(lba / 75 % 60);
    p[3] = (uint8_t)(lba % 75);
}

static int toc_format0(const struct ide_drive *d, bool is_msf, unsigned start, uint8_t *buf)
{
    uint8_t *p = buf + 4;
    if (start > 1 && start != 0xaa)
        return -ASC_INVALID_FIELD;
    if (start <= 1) {
        memset(p, 0, 8);
        p[1] = 0x14; /* ADR 1, data track */
        p[2] = 1;
        put_addr(p + 4, 0, is_msf);
        p += 8;
    }
    memset(p, 0, 8);
    p[1] = 0x14;
    p[2] = 0xaa; /* lead-out */
    put_addr(p + 4, d->nsectors, is_msf);
    p += 8;
    put_be16(buf, (uint32_t)(p - buf - 2));
    buf[2] = buf[3] = 1;
    return (int)(p - buf);
}

static void raw_desc(uint8_t *p, uint8_t point, const uint8_t pmsf[3])
{
    memset(p, 0, 11);
    p[0] = 1;    /* session */
    p[1] = 0x14; /* ADR 1, data */
    p[3] = point;
    memcpy(p + 8, pmsf, 3);
}

static int toc_format2(const struct ide_drive *d, uint8_t *buf)
{
    uint8_t msf[4];
    uint8_t first[3] = {1, 0, 0}; /* A0: first track 1, disc type CD-ROM */
    uint8_t *p = buf + 4;
    raw_desc(p, 0xa0, first);
    raw_desc(p + 11, 0xa1, first); /* A1: last track 1 */
    put_addr(msf, d->nsectors, true);
    raw_desc(p + 22, 0xa2, msf + 1); /* A2: lead-out */
    put_addr(msf, 0, true);
    raw_desc(p + 33, 1, msf + 1);
    put_be16(buf, 4 * 11 + 2);
    buf[2] = buf[3] = 1;
    return 4 + 4 * 11;
}

int mmc_read_toc(const struct ide_drive *d, const uint8_t *cdb, uint8_t *buf)
{
    bool is_msf = cdb[1] & 2;
    unsigned format = cdb[2] & 0x0f;
    if (format == 0)
        format = cdb[9] >> 6; /* the older (SFF-8020i) place of the format */
    switch (format) {
    case 0:
        return toc_format0(d, is_msf, cdb[6], buf);
    case 1: /* session information: session 1 starts at track 1, LBA 0 */
        memset(buf, 0, 12);
        put_be16(buf, 10);
        buf[2] = buf[3] = 1;
        buf[5] = 0x14;
        buf[6] = 1;
        put_addr(buf + 8, 0, is_msf);
        return 12;
    case 2:
        return toc_format2(d, buf);
    default:
        return -ASC_INVALID_FIELD;
    }
}

static unsigned mode_page_01(uint8_t *p, bool is_changeable)
{
    memset(p, 0, 8);
    p[0] = 0x01;
    p[1] = 0x06;
    if (!is_changeable)
        p[3] = 5; /* read retry count */
    return 8;
}

static unsigned mode_page_2a(const struct ide_drive *d, uint8_t *p, bool is_changeable)
{
    memset(p, 0, 22);
    p[0] = 0x2a;
    p[1] = 0x14;
    if (is_changeable)
        return 22;
    p[2] = 0x3b; /* reads CD-R, CD-RW, method 2, DVD-ROM, DVD-R, DVD-RAM */
    p[4] = 0x71; /* audio play, mode 2 form 1 and 2, multi-session */
    p[5] = 0x60;
    p[6] = (uint8_t)(0x29 | (d->is_locked ? 0x02 : 0)); /* tray, eject, lock, lock state */
    put_be16(p + 8, 706 * 8);                           /* max speed, kB/s */
    put_be16(p + 10, 2);                                /* volume levels */
    put_be16(p + 12, 512);                              /* buffer, KiB */
    put_be16(p + 14, 706 * 8);                          /* current speed */
    return 22;
}

int mmc_mode_sense10(const struct ide_drive *d, const uint8_t *cdb, uint8_t *buf)
{
    unsigned pc = cdb[2] >> 6;
    unsigned page = cdb[2] & 0x3f;
    unsigned len = 8;
    if (pc == 3)
        return -ASC_SAVING_NOT_SUPPORTED;
    if (page != 0x01 && page != 0x2a && page != 0x3f)
        return -ASC_INVALID_FIELD;
    memset(buf, 0, 8);
    if (page == 0x01 || page == 0x3f)
        len += mode_page_01(buf + len, pc == 1);
    if (page == 0x2a || page == 0x3f)
        len += mode_page_2a(d, buf + len, pc == 1);
    put_be16(buf, len - 2);
    buf[2] = has_medium(d) ? 0x01 : 0x70; /* 120 mm data disc / door closed, no disc */
    return (int)len;
}

static uint16_t current_profile(const struct ide_drive *d)
{
    if (!has_medium(d))
        return 0;
    return d->nsectors > CD_MAX_SECTORS ? 0x0010 : 0x0008; /* DVD-ROM / CD-ROM */
}

static unsigned feature(const struct ide_drive *d, uint16_t code, uint8_t *p)
{
    uint16_t cur = current_profile(d);
    memset(p, 0, 12);
    put_be16(p, code);
    switch (code) {
    case 0x0000: /* profile list */
        p[2] = 0x03;
        p[3] = 8;
        put_be16(p + 4, 0x0010);
        p[6] = cur == 0x0010;
        put_be16(p + 8, 0x0008);
        p[10] = cur == 0x0008;
        return 12;
    case 0x0001: /* core: ATAPI */
        p[2] = 0x0b;
        p[3] = 8;
        put_be32(p + 4, 2);
        return 12;
    default: /* 0x0003 removable medium: tray, eject, lock */
        p[2] = 0x03;
        p[3] = 4;
        p[4] = (uint8_t)(0x29 | (d->is_locked ? 0x04 : 0));
        return 8;
    }
}

int mmc_get_configuration(const struct ide_drive *d, const uint8_t *cdb, uint8_t *buf)
{
    static const uint16_t codes[] = {0x0000, 0x0001, 0x0003};
    unsigned rt = cdb[1] & 3;
    unsigned start = (unsigned)(cdb[2] << 8 | cdb[3]);
    unsigned len = 8;
    if (rt == 3)
        return -ASC_INVALID_FIELD;
    memset(buf, 0, 8);
    for (unsigned i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
        if (rt == 2 ? codes[i] == start : codes[i] >= start)
            len += feature(d, codes[i], buf + len);
    put_be32(buf, len - 4);
    put_be16(buf + 6, current_profile(d));
    return (int)len;
}

int mmc_event_status(struct ide_drive *d, const uint8_t *cdb, uint8_t *buf)
{
    if (!(cdb[1] & 1)) /* only polled operation */
        return -ASC_INVALID_FIELD;
    memset(buf, 0, 8);
    buf[3] = 0x10; /* supported: media class */
    if (!(cdb[4] & 0x10)) {
        put_be16(buf, 2);
        buf[2] = 0x80; /* no event available */
        return 4;
    }
    put_be16(buf, 6);
    buf[2] = 0x04;
    buf[4] = (uint8_t)d->event;
    buf[5] = (uint8_t)((has_medium(d) ? 0x02 : 0) | (d->is_tray_open ? 0x01 : 0));
    d->event = GESN_NONE; /* reported once */
    return 8;
}

int mmc_disc_information(const struct ide_drive *d, const uint8_t *cdb, uint8_t *buf)
{
    (void)d;
    if (cdb[1] & 7) /* only the standard disc information */
        return -ASC_INVALID_FIELD;
    memset(buf, 0, 34);
    put_be16(buf, 32);
    buf[2] = 0x0e; /* complete disc, last session complete */
    buf[3] = 1;    /* first track */
    buf[4] = 1;    /* sessions */
    buf[5] = 1;    /* first and last track of the last session */
    buf[6] = 1;
    buf[7] = 0x20; /* unrestricted use */
    return 34;
}

int mmc_mechanism_status(const struct ide_drive *d, uint8_t *buf)
{
    memset(buf, 0, 8);
    buf[1] = d->is_tray_open ? 0x10 : 0;
    return 8;
}

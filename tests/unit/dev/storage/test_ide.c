/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the IDE controller (dev/storage/ide*.c) driven through its port handlers as a
 * guest driver would: ATA IDENTIFY, PIO single and multiple, DMA over PRD tables, ATAPI PACKET
 * commands and media change, and a hostile guest: ranges past the disk, overflowing LBA48
 * addresses, CHS outside the geometry, PRD tables outside RAM, without end of table or too
 * short, commands to an absent unit, commands and resets in the middle of a transfer. The disks
 * are in-memory (tests/unit/fakes/blk_mem.c); block work runs on a real event loop.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/evloop.h"
#include "blk_mem.h"
#include "core/gmem.h"
#include "dev/storage/ide_internal.h"
#include "fake_platform.h"

#define RAM_BYTES (1u << 20)
#define DISK_SECTORS 2048u
#define CD_SECTORS 40u

struct fx {
    struct gmem *gm;
    struct fake_platform fp;
    struct evloop *loop;
    struct blk *disk, *cd, *cd2;
    struct blk *disk2; /* the primary slave (setup_slave only) */
    struct ide *ide;
};

static int setup_with(void **state, bool has_slave)
{
    struct fx *f = calloc(1, sizeof(*f));
    struct ide_config cfg = {0};
    assert_non_null(f);
    assert_int_equal(gmem_create(&f->gm), 0);
    assert_int_equal(gmem_add_region(f->gm, 0, RAM_BYTES, "ram", false, NULL), 0);
    fake_platform_init(&f->fp);
    assert_int_equal(evloop_create(&f->loop), 0);
    f->disk = blk_mem_create((uint64_t)DISK_SECTORS * 512, false);
    f->cd = blk_mem_create((uint64_t)CD_SECTORS * 2048, true);
    f->cd2 = blk_mem_create((uint64_t)CD_SECTORS * 2 * 2048, true);
    for (unsigned i = 0; i < CD_SECTORS * 2048; i++)
        blk_mem_data(f->cd)[i] = (uint8_t)(i / 2048 + 1);
    memset(blk_mem_data(f->cd2), 0xc2, CD_SECTORS * 2 * 2048);
    cfg.drives[0] = (struct ide_drive_config){.kind = IDE_KIND_ATA, .blk = f->disk};
    cfg.drives[2] = (struct ide_drive_config){.kind = IDE_KIND_ATAPI, .blk = f->cd};
    if (has_slave) {
        f->disk2 = blk_mem_create((uint64_t)DISK_SECTORS * 512, false);
        cfg.drives[1] = (struct ide_drive_config){.kind = IDE_KIND_ATA, .blk = f->disk2};
    }
    assert_int_equal(ide_create(&cfg, &f->fp.plat, f->gm, f->loop, &f->ide), 0);
    *state = f;
    return 0;
}

static int setup(void **state)
{
    return setup_with(state, false);
}

/* A second ATA disk as the primary slave. */
static int setup_slave(void **state)
{
    return setup_with(state, true);
}

static void run(struct fx *f);

static int teardown(void **state)
{
    struct fx *f = *state;
    ide_stop(f->ide);
    run(f); /* what is in flight completes, as blk_close does */
    blk_close(f->disk);
    blk_close(f->cd);
    blk_close(f->cd2);
    blk_close(f->disk2);
    ide_destroy(f->ide);
    evloop_destroy(f->loop);
    fake_platform_fini(&f->fp);
    gmem_destroy(f->gm);
    free(f);
    return 0;
}

static void outb(struct fx *f, unsigned c, unsigned reg, uint8_t v)
{
    ide_cmd_ops.write(&f->ide->ch[c], reg, v, 1);
}

static uint8_t inb(struct fx *f, unsigned c, unsigned reg)
{
    return (uint8_t)ide_cmd_ops.read(&f->ide->ch[c], reg, 1);
}

static uint16_t inw(struct fx *f, unsigned c)
{
    return (uint16_t)ide_cmd_ops.read(&f->ide->ch[c], 0, 2);
}

static void outw(struct fx *f, unsigned c, uint16_t v)
{
    ide_cmd_ops.write(&f->ide->ch[c], 0, v, 2);
}

/* Runs the queued block work until nothing is left. */
static void run(struct fx *f)
{
    for (int i = 0; i < 100; i++) {
        unsigned n = 0;
        while (evloop_run_once(f->loop, 0) > 0)
            n++;
        n += blk_mem_complete(f->disk, 100) + blk_mem_complete(f->cd, 100) +
             blk_mem_complete(f->cd2, 100);
        if (f->disk2 != NULL)
            n += blk_mem_complete(f->disk2, 100);
        if (n == 0)
            return;
    }
}

static void lba28(struct fx *f, unsigned c, uint32_t lba, uint8_t count, uint8_t cmd)
{
    outb(f, c, 2, count);
    outb(f, c, 3, (uint8_t)lba);
    outb(f, c, 4, (uint8_t)(lba >> 8));
    outb(f, c, 5, (uint8_t)(lba >> 16));
    outb(f, c, 6, (uint8_t)(0xe0 | ((lba >> 24) & 0xf)));
    outb(f, c, 7, cmd);
    run(f);
}

static void test_identify(void **state)
{
    struct fx *f = *state;
    uint16_t id[256];
    outb(f, 0, 6, 0xa0);
    outb(f, 0, 7, 0xec);
    run(f);
    assert_true(inb(f, 0, 7) & ATA_DRQ);
    for (unsigned i = 0; i < 256; i++)
        id[i] = inw(f, 0);
    assert_int_equal(id[0], 0x0040);
    assert_int_equal(id[60] | id[61] << 16, DISK_SECTORS);
    assert_int_equal(id[100], DISK_SECTORS);
    assert_int_equal(inb(f, 0, 7), ATA_DRDY | ATA_DSC);
    assert_int_equal(inw(f, 0), 0xffff); /* nothing more to read */
    /* the secondary master is ATAPI: IDENTIFY DEVICE aborts with the signature */
    outb(f, 1, 6, 0xa0);
    outb(f, 1, 7, 0xec);
    assert_true(inb(f, 1, 7) & ATA_ERR);
    assert_int_equal(inb(f, 1, 4), 0x14);
    assert_int_equal(inb(f, 1, 5), 0xeb);
}

static void test_pio_roundtrip(void **state)
{
    struct fx *f = *state;
    lba28(f, 0, 5, 2, 0x30);
    for (unsigned s = 0; s < 2; s++) {
        assert_true(inb(f, 0, 7) & ATA_DRQ);
        for (unsigned i = 0; i < 256; i++)
            outw(f, 0, (uint16_t)(s * 1000 + i));
        run(f);
    }
    assert_int_equal(inb(f, 0, 7), ATA_DRDY | ATA_DSC);
    assert_int_equal(blk_mem_data(f->disk)[5 * 512 + 2], 1);
    /* READ MULTIPLE after SET MULTIPLE MODE 4 */
    outb(f, 0, 2, 4);
    outb(f, 0, 7, 0xc6);
    assert_false(inb(f, 0, 7) & ATA_ERR);
    lba28(f, 0, 5, 2, 0xc4);
    for (unsigned s = 0; s < 2; s++)
        for (unsigned i = 0; i < 256; i++)
            assert_int_equal(inw(f, 0), s * 1000 + i);
    assert_int_equal(inb(f, 0, 7), ATA_DRDY | ATA_DSC);
    /* a multiple count that is not a power of two is refused */
    outb(f, 0, 2, 3);
    outb(f, 0, 7, 0xc6);
    assert_true(inb(f, 0, 7) & ATA_ERR);
}

static void test_out_of_range(void **state)
{
    struct fx *f = *state;
    lba28(f, 0, DISK_SECTORS - 1, 2, 0x20);
    assert_true(inb(f, 0, 7) & ATA_ERR);
    assert_true(inb(f, 0, 1) & ATA_IDNF);
    assert_int_equal(blk_mem_count(f->disk, BLK_OP_READ), 0);
    /* LBA48 at 2^48 - 1 with 65536 sectors: no wrap-around */
    for (unsigned i = 0; i < 2; i++) {
        outb(f, 0, 2, 0);
        outb(f, 0, 3, 0xff);
        outb(f, 0, 4, 0xff);
        outb(f, 0, 5, 0xff);
    }
    outb(f, 0, 6, 0xe0);
    outb(f, 0, 7, 0x25);
    run(f);
    assert_true(inb(f, 0, 7) & ATA_ERR);
    /* CHS: sector 0 and a head past the geometry */
    outb(f, 0, 2, 1);
    outb(f, 0, 3, 0);
    outb(f, 0, 6, 0xa0);
    outb(f, 0, 7, 0x20);
    assert_true(inb(f, 0, 7) & ATA_ERR);
    outb(f, 0, 3, 1);
    outb(f, 0, 2, 63);
    outb(f, 0, 6, 0xa1);
    outb(f, 0, 7, 0x91); /* 2 heads */
    outb(f, 0, 6, 0xa5);
    outb(f, 0, 2, 1);
    outb(f, 0, 7, 0x20);
    assert_true(inb(f, 0, 7) & ATA_ERR);
    assert_int_equal(blk_mem_count(f->disk, BLK_OP_READ), 0);
}

static void prd(struct fx *f, uint32_t at, unsigned i, uint32_t base, uint16_t count, bool eot)
{
    uint8_t e[8] = {(uint8_t)base,
                    (uint8_t)(base >> 8),
                    (uint8_t)(base >> 16),
                    (uint8_t)(base >> 24),
                    (uint8_t)count,
                    (uint8_t)(count >> 8),
                    0,
                    eot ? 0x80 : 0};
    assert_int_equal(gmem_write(f->gm, at + i * 8, e, 8), 0);
}

static void bm_start(struct fx *f, unsigned c, uint32_t table, bool to_memory)
{
    ide_bm_ops.write(f->ide, c * 8 + 4, table, 4);
    ide_bm_ops.write(f->ide, c * 8, BM_CMD_START | (to_memory ? BM_CMD_TO_MEMORY : 0), 1);
}

static uint8_t bm_status(struct fx *f, unsigned c)
{
    return (uint8_t)ide_bm_ops.read(f->ide, c * 8 + 2, 1);
}

static void test_dma(void **state)
{
    struct fx *f = *state;
    uint8_t buf[1024];
    memset(blk_mem_data(f->disk) + 100 * 512, 0x5a, 1024);
    prd(f, 0x1000, 0, 0x8000, 512, false);
    prd(f, 0x1000, 1, 0x9000, 512, true);
    lba28(f, 0, 100, 2, 0xc8);
    assert_true(inb(f, 0, 7) & ATA_BSY); /* waits for the bus master */
    bm_start(f, 0, 0x1000, true);
    run(f);
    assert_int_equal(bm_status(f, 0) & (BM_ST_ACTIVE | BM_ST_INTR), BM_ST_INTR);
    assert_true(fake_platform_irq(&f->fp, IDE_PRIMARY_IRQ));
    assert_int_equal(inb(f, 0, 7), ATA_DRDY | ATA_DSC);
    assert_false(fake_platform_irq(&f->fp, IDE_PRIMARY_IRQ));
    assert_int_equal(gmem_read(f->gm, 0x9000, buf, 512), 0);
    assert_int_equal(buf[511], 0x5a);
    ide_bm_ops.write(f->ide, 0, 0, 1);
    ide_bm_ops.write(f->ide, 2, BM_ST_INTR, 1);
    /* a PRD region outside RAM */
    prd(f, 0x1000, 0, RAM_BYTES - 256, 512, true);
    bm_start(f, 0, 0x1000, true);
    lba28(f, 0, 100, 1, 0xc8);
    assert_true(inb(f, 0, 7) & ATA_ERR);
    assert_true(bm_status(f, 0) & BM_ST_ERROR);
    ide_bm_ops.write(f->ide, 0, 0, 1);
    ide_bm_ops.write(f->ide, 2, BM_ST_INTR | BM_ST_ERROR, 1);
    /* the table itself outside RAM */
    bm_start(f, 0, 0xfffffff0, true);
    lba28(f, 0, 100, 1, 0xc8);
    assert_true(inb(f, 0, 7) & ATA_ERR);
    ide_bm_ops.write(f->ide, 0, 0, 1);
    /* a table too short for the transfer */
    prd(f, 0x1000, 0, 0x8000, 512, true);
    bm_start(f, 0, 0x1000, true);
    lba28(f, 0, 100, 2, 0xc8);
    assert_true(inb(f, 0, 7) & ATA_ERR);
    assert_int_equal(blk_mem_count(f->disk, BLK_OP_READ), 1);
}

static void test_dma_unterminated(void **state)
{
    struct fx *f = *state;
    /* 64 KiB of 2-byte entries without end of table cannot cover 256 sectors */
    for (unsigned i = 0; i < IDE_PRD_MAX_ENTRIES; i++)
        prd(f, 0x10000, i, 0x8000, 2, false);
    ide_bm_ops.write(f->ide, 4, 0x10000, 4);
    ide_bm_ops.write(f->ide, 0, BM_CMD_START | BM_CMD_TO_MEMORY, 1);
    lba28(f, 0, 0, 0, 0xc8);
    assert_true(inb(f, 0, 7) & ATA_ERR);
    assert_true(bm_status(f, 0) & BM_ST_ERROR);
    assert_int_equal(blk_mem_count(f->disk, BLK_OP_READ), 0);
}

static void test_absent_and_midway(void **state)
{
    struct fx *f = *state;
    outb(f, 0, 6, 0xb0); /* the primary slave does not exist */
    assert_int_equal(inb(f, 0, 7), 0);
    outb(f, 0, 7, 0xec);
    assert_int_equal(inb(f, 0, 7), 0);
    outb(f, 0, 6, 0xa0);
    /* a new command while DRQ is ignored, the data port keeps its transfer */
    lba28(f, 0, 0, 2, 0x30);
    outw(f, 0, 0x1234);
    outb(f, 0, 7, 0x20);
    assert_true(inb(f, 0, 7) & ATA_DRQ);
    assert_int_equal(inw(f, 0), 0xffff); /* reading a write transfer gives nothing */
    /* SRST in the middle ends it */
    ide_ctl_ops.write(&f->ide->ch[0], 0, ATA_SRST, 1);
    ide_ctl_ops.write(&f->ide->ch[0], 0, 0, 1);
    run(f);
    assert_int_equal(inb(f, 0, 7), ATA_DRDY | ATA_DSC);
    outw(f, 0, 0x1234);
    assert_int_equal(blk_mem_count(f->disk, BLK_OP_WRITE), 0);
    /* a read reset while its disk request is in flight completes into nothing */
    lba28(f, 0, 0, 1, 0xc8);
    bm_start(f, 0, 0x1000, true);
    prd(f, 0x1000, 0, 0x8000, 512, true);
    evloop_run_once(f->loop, 0);
    assert_int_equal(blk_mem_pending(f->disk), 1);
    ide_ctl_ops.write(&f->ide->ch[0], 0, ATA_SRST, 1);
    ide_ctl_ops.write(&f->ide->ch[0], 0, 0, 1);
    /* the next command's request waits for the stale one, then runs */
    blk_mem_data(f->disk)[7 * 512] = 0x77;
    outb(f, 0, 2, 1);
    outb(f, 0, 3, 7);
    outb(f, 0, 6, 0xe0);
    outb(f, 0, 7, 0x20);
    evloop_run_once(f->loop, 0);
    assert_int_equal(blk_mem_pending(f->disk), 1); /* still the stale one */
    run(f);
    assert_true(inb(f, 0, 7) & ATA_DRQ);
    assert_int_equal(inw(f, 0) & 0xff, 0x77);
}

/* Sends the 12-byte (cdb) to the secondary master; (bcl) is the byte count limit. */
static void packet(struct fx *f, const uint8_t *cdb, uint16_t bcl)
{
    outb(f, 1, 6, 0xa0);
    outb(f, 1, 1, 0);
    outb(f, 1, 4, (uint8_t)bcl);
    outb(f, 1, 5, (uint8_t)(bcl >> 8));
    outb(f, 1, 7, 0xa0);
    assert_int_equal(inb(f, 1, 2), ATAPI_COD);
    for (unsigned i = 0; i < 12; i += 2)
        outw(f, 1, (uint16_t)(cdb[i] | cdb[i + 1] << 8));
    run(f);
}

/* Reads the data-in of the current command into (out) (at most (max) bytes). */
static unsigned data_in(struct fx *f, uint8_t *out, unsigned max)
{
    unsigned n = 0;
    while (inb(f, 1, 7) & ATA_DRQ) {
        unsigned piece = inb(f, 1, 4) | inb(f, 1, 5) << 8;
        assert_int_equal(inb(f, 1, 2), ATAPI_IO);
        for (unsigned i = 0; i < piece; i += 2) {
            uint16_t w = inw(f, 1);
            if (n + 2 <= max) {
                out[n] = (uint8_t)w;
                out[n + 1] = (uint8_t)(w >> 8);
            }
            n += 2;
        }
        run(f);
    }
    return n;
}

static uint8_t sense_key(struct fx *f)
{
    uint8_t cdb[12] = {0x03, 0, 0, 0, 18};
    uint8_t s[18];
    packet(f, cdb, 18);
    assert_int_equal(data_in(f, s, sizeof(s)), 18);
    return s[2];
}

static void test_atapi(void **state)
{
    struct fx *f = *state;
    uint8_t inq[12] = {0x12, 0, 0, 0, 36};
    uint8_t cap[12] = {0x25};
    uint8_t rd[12] = {0x28, 0, 0, 0, 0, 3, 0, 0, 2};
    static uint8_t buf[8192];
    packet(f, inq, 0xfffe);
    assert_int_equal(data_in(f, buf, sizeof(buf)), 36);
    assert_int_equal(buf[0], 5);
    assert_int_equal(inb(f, 1, 2), ATAPI_IO | ATAPI_COD);
    packet(f, cap, 0xfffe);
    assert_int_equal(data_in(f, buf, sizeof(buf)), 8);
    assert_int_equal(buf[3], CD_SECTORS - 1);
    /* READ(10) of sectors 3 and 4 in 1000-byte pieces */
    packet(f, rd, 1000);
    assert_int_equal(data_in(f, buf, sizeof(buf)), 4096);
    assert_int_equal(buf[0], 4);
    assert_int_equal(buf[4095], 5);
    assert_false(inb(f, 1, 7) & ATA_ERR);
    /* past the end, and overflowing READ(12) */
    rd[5] = CD_SECTORS - 1;
    packet(f, rd, 0xfffe);
    assert_true(inb(f, 1, 7) & ATA_ERR);
    assert_int_equal(inb(f, 1, 1) >> 4, 5);
    {
        uint8_t rd12[12] = {0xa8, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
        packet(f, rd12, 0xfffe);
        assert_true(inb(f, 1, 7) & ATA_ERR);
    }
    /* an unknown command */
    {
        uint8_t bad[12] = {0xff};
        packet(f, bad, 0xfffe);
        assert_true(inb(f, 1, 7) & ATA_ERR);
        assert_int_equal(sense_key(f), 5);
    }
}

static void test_media_change(void **state)
{
    struct fx *f = *state;
    uint8_t tur[12] = {0};
    uint8_t gesn[12] = {0x4a, 1, 0, 0, 0x10, 0, 0, 0, 8};
    uint8_t lock[12] = {0x1e, 0, 0, 0, 1};
    uint8_t ev[8];
    struct blk *old = NULL;
    assert_int_equal(ide_change_media(f->ide, 2, NULL, false, &old), 0);
    assert_ptr_equal(old, f->cd);
    packet(f, gesn, 8);
    assert_int_equal(data_in(f, ev, sizeof(ev)), 8);
    assert_int_equal(ev[4], GESN_MEDIA_REMOVAL);
    packet(f, tur, 0);
    assert_true(inb(f, 1, 7) & ATA_ERR);
    assert_int_equal(sense_key(f), 6); /* unit attention */
    packet(f, tur, 0);
    assert_int_equal(sense_key(f), 2); /* not ready: no medium */
    assert_int_equal(ide_change_media(f->ide, 2, f->cd2, false, &old), 0);
    packet(f, gesn, 8);
    assert_int_equal(data_in(f, ev, sizeof(ev)), 8);
    assert_int_equal(ev[4], GESN_NEW_MEDIA);
    assert_int_equal(ev[5], 0x02);
    packet(f, tur, 0);
    assert_int_equal(sense_key(f), 6);
    packet(f, tur, 0);
    assert_false(inb(f, 1, 7) & ATA_ERR);
    /* a locked medium stays unless forced; a disk is no CD-ROM */
    packet(f, lock, 0);
    assert_int_equal(ide_change_media(f->ide, 2, NULL, false, &old), -EBUSY);
    assert_int_equal(ide_change_media(f->ide, 2, NULL, true, &old), 0);
    assert_ptr_equal(old, f->cd2);
    assert_int_equal(ide_change_media(f->ide, 0, NULL, true, &old), -ENODEV);
    assert_int_equal(ide_change_media(f->ide, 9, NULL, true, &old), -ENODEV);
}

/* Images that are not a whole number of CD sectors: the partial sector at the end is not on
 * the disc, and an image without one whole sector (0 bytes) is no medium at all. */
static void test_atapi_odd_images(void **state)
{
    struct fx *f = *state;
    uint8_t tur[12] = {0};
    uint8_t cap[12] = {0x25};
    uint8_t rd[12] = {0x28, 0, 0, 0, 0, 2, 0, 0, 1};
    uint8_t gesn[12] = {0x4a, 1, 0, 0, 0x10, 0, 0, 0, 8};
    uint8_t cfg[12] = {0x46, 0, 0, 0, 0, 0, 0, 0, 8};
    uint8_t buf[64];
    struct blk *odd = blk_mem_create(5000, true), *empty = blk_mem_create(0, true), *old = NULL;
    assert_int_equal(ide_change_media(f->ide, 2, odd, true, &old), 0);
    packet(f, tur, 0);
    assert_int_equal(sense_key(f), 6);
    packet(f, cap, 0xfffe);
    assert_int_equal(data_in(f, buf, sizeof(buf)), 8);
    assert_int_equal(buf[3], 1); /* two whole sectors: the last LBA is 1 */
    packet(f, rd, 0xfffe);       /* LBA 2 holds only 904 bytes */
    assert_true(inb(f, 1, 7) & ATA_ERR);
    assert_int_equal(sense_key(f), 5);
    assert_int_equal(ide_change_media(f->ide, 2, empty, true, &old), 0);
    assert_ptr_equal(old, odd);
    packet(f, gesn, 8);
    assert_int_equal(data_in(f, buf, sizeof(buf)), 8);
    assert_int_equal(buf[5] & 0x02, 0); /* no medium present */
    packet(f, tur, 0);
    assert_int_equal(sense_key(f), 6);
    packet(f, tur, 0);
    assert_true(inb(f, 1, 7) & ATA_ERR);
    assert_int_equal(sense_key(f), 2); /* not ready */
    packet(f, cap, 0xfffe);
    assert_true(inb(f, 1, 7) & ATA_ERR);
    assert_int_equal(sense_key(f), 2);
    rd[5] = 0;
    packet(f, rd, 0xfffe);
    assert_int_equal(sense_key(f), 2);
    packet(f, cfg, 8);
    assert_int_equal(data_in(f, buf, sizeof(buf)), 8);
    assert_int_equal(buf[6] << 8 | buf[7], 0); /* no current profile */
    assert_int_equal(ide_change_media(f->ide, 2, NULL, true, &old), 0);
    blk_close(odd);
    blk_close(empty);
}

static void test_atapi_dma(void **state)
{
    struct fx *f = *state;
    uint8_t rd[12] = {0x28, 0, 0, 0, 0, 1, 0, 0, 1};
    uint8_t buf[2048];
    prd(f, 0x1000, 0, 0x8000, 2048, true);
    bm_start(f, 1, 0x1000, true);
    outb(f, 1, 6, 0xa0);
    outb(f, 1, 1, 1); /* DMA */
    outb(f, 1, 7, 0xa0);
    for (unsigned i = 0; i < 12; i += 2)
        outw(f, 1, (uint16_t)(rd[i] | rd[i + 1] << 8));
    run(f);
    assert_int_equal(inb(f, 1, 7), ATA_DRDY);
    assert_int_equal(gmem_read(f->gm, 0x8000, buf, sizeof(buf)), 0);
    assert_int_equal(buf[0], 2);
    assert_int_equal(buf[2047], 2);
}

/* While the master's DMA read of 512 KiB is with the disk, the guest selects the slave and
 * starts a PIO read there. Task file writes while the running unit is BSY are ignored, so the
 * slave never sees the command, and the master's completion ends the master's command: it is
 * never taken for the slave's 1-sector PIO block (which would have made a 512 KiB data-port
 * window over the 128 KiB channel buffer). */
static void test_other_unit_while_busy(void **state)
{
    struct fx *f = *state;
    unsigned n = 0;
    for (unsigned i = 0; i < 8; i++)
        prd(f, 0x1000, i, 0x20000 + i * 0x10000, 0, i == 7);
    bm_start(f, 0, 0x1000, true);
    outb(f, 0, 2, 0x04); /* LBA48: 0x400 sectors at 0 */
    outb(f, 0, 2, 0x00);
    for (unsigned r = 3; r <= 5; r++) {
        outb(f, 0, r, 0);
        outb(f, 0, r, 0);
    }
    outb(f, 0, 6, 0xe0);
    outb(f, 0, 7, 0x25);
    evloop_run_once(f->loop, 0);
    assert_int_equal(blk_mem_pending(f->disk), 1);
    assert_true(inb(f, 0, 7) & ATA_BSY);
    /* select the slave and read one sector from it */
    outb(f, 0, 2, 1);
    outb(f, 0, 3, 0);
    outb(f, 0, 6, 0xf0);
    outb(f, 0, 7, 0x20);
    evloop_run_once(f->loop, 0);
    assert_int_equal(f->ide->ch[0].cur, 0);
    run(f);
    assert_int_equal(blk_mem_count(f->disk2, BLK_OP_READ), 0);
    /* the master's DMA ended well, and the data port has nothing to give */
    assert_int_equal(inb(f, 0, 7), ATA_DRDY | ATA_DSC);
    assert_int_equal(bm_status(f, 0) & (BM_ST_ACTIVE | BM_ST_ERROR), 0);
    while (n < 1024 && inw(f, 0) != 0xffff)
        n++;
    assert_int_equal(n, 0);
    /* once idle the slave is selected and runs its command */
    ide_bm_ops.write(f->ide, 0, 0, 1);
    outb(f, 0, 2, 1);
    outb(f, 0, 6, 0xf0);
    assert_int_equal(f->ide->ch[0].cur, 1);
    outb(f, 0, 7, 0x20);
    run(f);
    assert_true(inb(f, 0, 7) & ATA_DRQ);
    assert_int_equal(blk_mem_count(f->disk2, BLK_OP_READ), 1);
}

/* A PIO piece that would not fit the channel buffer ends the command instead of opening the
 * data port past the buffer. */
static void test_pio_piece_bounds(void **state)
{
    struct fx *f = *state;
    struct ide_channel *ch = &f->ide->ch[0];
    ide_pio_start(ch, IDE_BUF_BYTES - 2, 4, false, ide_pio_done);
    assert_int_equal(inb(f, 0, 7), ATA_DRDY | ATA_DSC | ATA_ERR);
    assert_int_equal(inw(f, 0), 0xffff);
    ide_pio_start(ch, UINT32_MAX, 2, true, ide_pio_done);
    assert_int_equal(inb(f, 0, 7), ATA_DRDY | ATA_DSC | ATA_ERR);
    ide_pio_start(ch, IDE_BUF_BYTES - 2, 2, false, ide_pio_done);
    assert_int_equal(inb(f, 0, 7), ATA_DRDY | ATA_DSC | ATA_DRQ);
    (void)inw(f, 0);
    assert_int_equal(inb(f, 0, 7), ATA_DRDY | ATA_DSC);
}

/* A DMA read (disk to memory) cannot write into ROM; a DMA write may read from it. */
static void test_dma_rom(void **state)
{
    struct fx *f = *state;
    struct gmem_region *rom;
    assert_int_equal(gmem_add_region(f->gm, 0x200000, 0x1000, "rom", true, &rom), 0);
    memset(rom->hva, 0xee, 0x1000);
    memset(blk_mem_data(f->disk), 0x11, 512);
    prd(f, 0x1000, 0, 0x200000, 512, true);
    bm_start(f, 0, 0x1000, true);
    lba28(f, 0, 0, 1, 0xc8);
    assert_true(inb(f, 0, 7) & ATA_ERR);
    assert_true(bm_status(f, 0) & BM_ST_ERROR);
    assert_int_equal(rom->hva[0], 0xee);
    assert_int_equal(blk_mem_count(f->disk, BLK_OP_READ), 0);
    ide_bm_ops.write(f->ide, 0, 0, 1);
    ide_bm_ops.write(f->ide, 2, BM_ST_INTR | BM_ST_ERROR, 1);
    bm_start(f, 0, 0x1000, false);
    lba28(f, 0, 0, 1, 0xca);
    assert_int_equal(inb(f, 0, 7), ATA_DRDY | ATA_DSC);
    assert_int_equal(blk_mem_data(f->disk)[0], 0xee);
}

/* A channel without drives (here the primary: only the CD-ROM, on the secondary master) reads
 * 0, "no device, not busy", on its registers and its alternate status, whatever is written,
 * EXECUTE DEVICE DIAGNOSTIC included (OVMF's probe then waits for BSY to clear); the data
 * port has nothing to give. */
static void test_empty_channel(void **state)
{
    struct fx *f = *state;
    struct ide_config cfg = {0};
    struct ide *only_cd;
    cfg.drives[2] = (struct ide_drive_config){.kind = IDE_KIND_ATAPI, .blk = f->cd};
    assert_int_equal(ide_create(&cfg, &f->fp.plat, f->gm, f->loop, &only_cd), 0);
    for (unsigned unit = 0; unit < 2; unit++) {
        ide_cmd_ops.write(&only_cd->ch[0], 6, unit ? 0xf0 : 0xe0, 1);
        ide_cmd_ops.write(&only_cd->ch[0], 2, 0x55, 1);
        ide_cmd_ops.write(&only_cd->ch[0], 7, 0x90, 1); /* EXECUTE DEVICE DIAGNOSTIC */
        for (unsigned reg = 1; reg < 8; reg++)
            assert_int_equal(ide_cmd_ops.read(&only_cd->ch[0], reg, 1), 0);
        assert_int_equal(ide_ctl_ops.read(&only_cd->ch[0], 0, 1), 0);
        assert_int_equal(ide_cmd_ops.read(&only_cd->ch[0], 0, 2) & 0xffff, 0xffff);
    }
    assert_false(only_cd->ch[0].irq_pending);
    /* the populated secondary channel answers as before: the CD-ROM's signature */
    assert_int_equal(ide_cmd_ops.read(&only_cd->ch[1], 4, 1), 0x14);
    assert_int_equal(ide_cmd_ops.read(&only_cd->ch[1], 5, 1), 0xeb);
    ide_stop(only_cd);
    ide_destroy(only_cd);
}

static void test_pci_modes(void **state)
{
    struct fx *f = *state;
    struct ide_config cfg = {0};
    struct ide *native;
    struct pci_dev *dev = ide_pci_dev(f->ide);
    /* compatibility mode: the bus master in BAR4, the ports fixed */
    assert_int_equal(pci_cfg_get8(dev, PCI_CLASS_PROG), 0x80);
    assert_int_equal(dev->bars[4].type, PCI_BAR_IO);
    assert_int_equal(dev->bars[4].size, BM_BAR_BYTES);
    assert_int_equal(dev->bars[0].type, PCI_BAR_NONE);
    assert_int_equal(pci_cfg_get8(dev, 0x41) & 0x80, 0x80); /* IDETIM decode enable */
    /* native mode: command and control blocks in BARs 0-3, INTA */
    cfg.drives[0] = (struct ide_drive_config){.kind = IDE_KIND_ATA, .blk = f->disk};
    cfg.is_native = true;
    assert_int_equal(ide_create(&cfg, &f->fp.plat, f->gm, f->loop, &native), 0);
    dev = ide_pci_dev(native);
    assert_int_equal(pci_cfg_get8(dev, PCI_CLASS_PROG), 0x8f);
    assert_int_equal(pci_cfg_get8(dev, PCI_INTERRUPT_PIN), 1);
    assert_int_equal(dev->bars[0].size, 8);
    assert_int_equal(dev->bars[1].size, 4);
    assert_int_equal(dev->bars[2].size, 8);
    assert_int_equal(dev->bars[3].size, 4);
    /* the device control register sits at offset 2 of the control block BAR */
    dev->bars[1].ops->write(dev->bars[1].opaque, 2, ATA_NIEN, 1);
    assert_int_equal(native->ch[0].devctl, ATA_NIEN);
    assert_int_equal(dev->bars[1].ops->read(dev->bars[1].opaque, 2, 1), ATA_DRDY | ATA_DSC);
    assert_int_equal(dev->bars[1].ops->read(dev->bars[1].opaque, 0, 1) & 0xff, 0xff);
    /* no ISA IRQ is driven (the function, with no host here, drives nothing either) */
    dev->bars[1].ops->write(dev->bars[1].opaque, 2, 0, 1);
    ide_cmd_ops.write(&native->ch[0], 6, 0xa0, 1);
    ide_cmd_ops.write(&native->ch[0], 7, 0xec, 1);
    assert_true(native->ch[0].irq_pending);
    assert_false(fake_platform_irq(&f->fp, IDE_PRIMARY_IRQ));
    ide_stop(native);
    ide_destroy(native);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_identify, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pio_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_out_of_range, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dma, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dma_unterminated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_absent_and_midway, setup, teardown),
        cmocka_unit_test_setup_teardown(test_atapi, setup, teardown),
        cmocka_unit_test_setup_teardown(test_media_change, setup, teardown),
        cmocka_unit_test_setup_teardown(test_atapi_dma, setup, teardown),
        cmocka_unit_test_setup_teardown(test_atapi_odd_images, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_channel, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pci_modes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_unit_while_busy, setup_slave, teardown),
        cmocka_unit_test_setup_teardown(test_pio_piece_bounds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dma_rom, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

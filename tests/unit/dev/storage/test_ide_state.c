/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the IDE controller's saved state (dev/storage/ide_state.c): a state saved in
 * the middle of an ATA PIO read and write, an ATAPI PIO reply and a DMA command waiting for the
 * bus master is loaded into a second controller over the same disks, which finishes the command
 * as the first would have; a save with block I/O queued is refused; a medium that differs at
 * the restore is a media change, and a CD read waiting for START after an eject still loads
 * (and ends NOT READY); and hostile files (indices, positions and lengths out of
 * range, a range past the disk, another drive, truncated or longer data) are refused with
 * nothing changed.
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
#include "base/statefile.h"
#include "blk_mem.h"
#include "core/gmem.h"
#include "dev/storage/ide_internal.h"
#include "fake_platform.h"

#define RAM_BYTES (1u << 20)
#define DISK_SECTORS 2048u
#define CD_SECTORS 40u

/* Offsets in a saved channel (ide_state.c's layout) and of its first drive after the buffer. */
#define OFF_XFER_UNIT 1
#define OFF_END_KIND 15
#define OFF_POS 17
#define OFF_END 21
#define OFF_LBA 26
#define OFF_LEFT 34
#define OFF_PER_DRQ 42
#define OFF_DMA_PENDING 63
#define OFF_DMA_LEN 74
#define OFF_BM_CMD 82
#define OFF_NEED 88
#define OFF_BUF 92
#define OFF_DRIVE_NSECTORS 2
#define OFF_DRIVE_MULTIPLE 16

struct fx {
    struct gmem *gm;
    struct fake_platform fp;
    struct evloop *loop;
    struct blk *disk, *cd, *cd2;
    struct ide *ide, *ide2;
    struct sf_buf saved;
};

static struct ide *make(struct fx *f, struct blk *cd)
{
    struct ide_config cfg = {0};
    struct ide *ide;
    cfg.drives[0] = (struct ide_drive_config){.kind = IDE_KIND_ATA, .blk = f->disk};
    cfg.drives[2] = (struct ide_drive_config){.kind = IDE_KIND_ATAPI, .blk = cd};
    assert_int_equal(ide_create(&cfg, &f->fp.plat, f->gm, f->loop, &ide), 0);
    return ide;
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    assert_int_equal(gmem_create(&f->gm), 0);
    assert_int_equal(gmem_add_region(f->gm, 0, RAM_BYTES, "ram", false, NULL), 0);
    fake_platform_init(&f->fp);
    assert_int_equal(evloop_create(&f->loop), 0);
    f->disk = blk_mem_create((uint64_t)DISK_SECTORS * 512, false);
    f->cd = blk_mem_create((uint64_t)CD_SECTORS * 2048, true);
    f->cd2 = blk_mem_create((uint64_t)CD_SECTORS * 2 * 2048, true);
    for (unsigned i = 0; i < DISK_SECTORS * 512; i++)
        blk_mem_data(f->disk)[i] = (uint8_t)(i * 7 + i / 512);
    for (unsigned i = 0; i < CD_SECTORS * 2048; i++)
        blk_mem_data(f->cd)[i] = (uint8_t)(i / 2048 + i);
    f->ide = make(f, f->cd);
    *state = f;
    return 0;
}

static void run(struct fx *f)
{
    for (int i = 0; i < 100; i++) {
        unsigned n = 0;
        while (evloop_run_once(f->loop, 0) > 0)
            n++;
        n += blk_mem_complete(f->disk, 100) + blk_mem_complete(f->cd, 100) +
             blk_mem_complete(f->cd2, 100);
        if (n == 0)
            return;
    }
}

static int teardown(void **state)
{
    struct fx *f = *state;
    ide_stop(f->ide);
    ide_stop(f->ide2);
    run(f);
    blk_close(f->disk);
    blk_close(f->cd);
    blk_close(f->cd2);
    ide_destroy(f->ide);
    ide_destroy(f->ide2);
    sf_buf_free(&f->saved);
    evloop_destroy(f->loop);
    fake_platform_fini(&f->fp);
    gmem_destroy(f->gm);
    free(f);
    return 0;
}

static void outb(struct ide *ide, unsigned c, unsigned reg, uint8_t v)
{
    ide_cmd_ops.write(&ide->ch[c], reg, v, 1);
}

static uint8_t inb(struct ide *ide, unsigned c, unsigned reg)
{
    return (uint8_t)ide_cmd_ops.read(&ide->ch[c], reg, 1);
}

static uint16_t inw(struct ide *ide, unsigned c)
{
    return (uint16_t)ide_cmd_ops.read(&ide->ch[c], 0, 2);
}

static void outw(struct ide *ide, unsigned c, uint16_t v)
{
    ide_cmd_ops.write(&ide->ch[c], 0, v, 2);
}

static void lba28(struct fx *f, uint32_t lba, uint8_t count, uint8_t cmd)
{
    outb(f->ide, 0, 2, count);
    outb(f->ide, 0, 3, (uint8_t)lba);
    outb(f->ide, 0, 4, (uint8_t)(lba >> 8));
    outb(f->ide, 0, 5, (uint8_t)(lba >> 16));
    outb(f->ide, 0, 6, (uint8_t)(0xe0 | ((lba >> 24) & 0xf)));
    outb(f->ide, 0, 7, cmd);
    run(f);
}

/* Saves f->ide into f->saved and loads it into a new controller f->ide2 (medium (cd)). */
static void move(struct fx *f, struct blk *cd)
{
    struct sf_in in;
    sf_buf_free(&f->saved);
    memset(&f->saved, 0, sizeof(f->saved));
    assert_int_equal(ide_busy(f->ide), 0);
    assert_int_equal(ide_save(f->ide, &f->saved), 0);
    assert_false(f->saved.failed);
    f->ide2 = make(f, cd);
    sf_in_init(&in, f->saved.data, f->saved.len);
    assert_int_equal(ide_load(f->ide2, &in), 0);
}

static uint16_t disk_word(struct fx *f, uint32_t byte)
{
    const uint8_t *d = blk_mem_data(f->disk);
    return (uint16_t)(d[byte] | d[byte + 1] << 8);
}

static void test_pio_read_midway(void **state)
{
    struct fx *f = *state;
    outb(f->ide, 0, 2, 4);
    outb(f->ide, 0, 7, 0xc6); /* SET MULTIPLE MODE 4 */
    lba28(f, 10, 8, 0xc4);    /* READ MULTIPLE: two DRQ blocks of 4 sectors */
    for (unsigned i = 0; i < 300; i++)
        assert_int_equal(inw(f->ide, 0), disk_word(f, 10 * 512 + i * 2));
    move(f, f->cd);
    assert_true(inb(f->ide2, 0, 7) & ATA_DRQ);
    for (unsigned i = 300; i < 8 * 256; i++) {
        assert_int_equal(inw(f->ide2, 0), disk_word(f, 10 * 512 + i * 2));
        if (i == 4 * 256 - 1)
            run(f); /* the second block's disk read */
    }
    assert_int_equal(inb(f->ide2, 0, 7), ATA_DRDY | ATA_DSC);
    assert_int_equal(inw(f->ide2, 0), 0xffff);
}

static void test_pio_write_midway(void **state)
{
    struct fx *f = *state;
    lba28(f, 20, 2, 0x30);
    for (unsigned i = 0; i < 100; i++)
        outw(f->ide, 0, (uint16_t)(0xa000 + i));
    move(f, f->cd);
    for (unsigned i = 100; i < 512; i++) {
        outw(f->ide2, 0, (uint16_t)(0xa000 + i));
        if (i == 255)
            run(f);
    }
    run(f);
    assert_int_equal(inb(f->ide2, 0, 7), ATA_DRDY | ATA_DSC);
    for (unsigned i = 0; i < 512; i++)
        assert_int_equal(disk_word(f, 20 * 512 + i * 2), 0xa000 + i);
}

static void packet(struct ide *ide, const uint8_t *cdb, uint16_t bcl, uint8_t feature)
{
    outb(ide, 1, 6, 0xa0);
    outb(ide, 1, 1, feature);
    outb(ide, 1, 4, (uint8_t)bcl);
    outb(ide, 1, 5, (uint8_t)(bcl >> 8));
    outb(ide, 1, 7, 0xa0);
    for (unsigned i = 0; i < 12; i += 2)
        outw(ide, 1, (uint16_t)(cdb[i] | cdb[i + 1] << 8));
}

static void test_atapi_pio_midway(void **state)
{
    struct fx *f = *state;
    const uint8_t read10[12] = {0x28, 0, 0, 0, 0, 3, 0, 0, 2}; /* LBA 3, 2 sectors */
    const uint8_t *cd = blk_mem_data(f->cd);
    packet(f->ide, read10, 1000, 0);
    run(f);
    for (unsigned i = 0; i < 700; i += 2)
        assert_int_equal(inw(f->ide, 1), cd[3 * 2048 + i] | cd[3 * 2048 + i + 1] << 8);
    move(f, f->cd);
    for (unsigned i = 700; i < 4096; i += 2) {
        assert_true(inb(f->ide2, 1, 7) & ATA_DRQ);
        assert_int_equal(inw(f->ide2, 1), cd[3 * 2048 + i] | cd[3 * 2048 + i + 1] << 8);
    }
    assert_int_equal(inb(f->ide2, 1, 7) & (ATA_DRQ | ATA_ERR | ATA_BSY), 0);
}

static void test_dma_waiting_for_start(void **state)
{
    struct fx *f = *state;
    uint8_t e[8] = {0x00, 0x80, 0, 0, 0x00, 0x04, 0, 0x80}; /* 1024 bytes at 0x8000, end */
    uint8_t buf[1024];
    lba28(f, 100, 2, 0xc8); /* READ DMA, the bus master not started */
    assert_true(inb(f->ide, 0, 7) & ATA_BSY);
    move(f, f->cd);
    assert_true(inb(f->ide2, 0, 7) & ATA_BSY);
    assert_int_equal(gmem_write(f->gm, 0x1000, e, sizeof(e)), 0);
    ide_bm_ops.write(f->ide2, 4, 0x1000, 4);
    ide_bm_ops.write(f->ide2, 0, BM_CMD_START | BM_CMD_TO_MEMORY, 1);
    run(f);
    assert_int_equal(inb(f->ide2, 0, 7), ATA_DRDY | ATA_DSC);
    assert_int_equal(gmem_read(f->gm, 0x8000, buf, sizeof(buf)), 0);
    assert_memory_equal(buf, blk_mem_data(f->disk) + 100 * 512, sizeof(buf));
}

static void test_busy_and_media_change(void **state)
{
    struct fx *f = *state;
    struct sf_buf b = {0};
    const uint8_t tur[12] = {0};
    /* a read queued on the loop: not saved */
    outb(f->ide, 0, 2, 1);
    outb(f->ide, 0, 6, 0xe0);
    outb(f->ide, 0, 7, 0x20);
    assert_int_equal(ide_busy(f->ide), 1);
    assert_int_equal(ide_save(f->ide, &b), -EBUSY);
    sf_buf_free(&b);
    run(f);
    for (unsigned i = 0; i < 256; i++)
        (void)inw(f->ide, 0);
    /* another disc at the restore: the guest sees a media change */
    move(f, f->cd2);
    packet(f->ide2, tur, 0, 0);
    assert_true(inb(f->ide2, 1, 7) & ATA_ERR);
    assert_int_equal(inb(f->ide2, 1, 1) >> 4, 6); /* UNIT ATTENTION */
}

/* A CD read by DMA waits for START while the disc is ejected (allowed: no I/O in flight): the
 * state saves and loads, and START then ends the command with NOT READY. */
static void test_atapi_dma_after_eject(void **state)
{
    struct fx *f = *state;
    const uint8_t read10[12] = {0x28, 0, 0, 0, 0, 30, 0, 0, 8}; /* LBA 30, 8 sectors */
    uint8_t e[8] = {0x00, 0x80, 0, 0, 0x00, 0x00, 0, 0x80};     /* 64 KiB at 0x8000, end */
    struct blk *old = NULL;
    packet(f->ide, read10, 0, 1);
    assert_true(inb(f->ide, 1, 7) & ATA_BSY);
    assert_int_equal(ide_change_media(f->ide, IDE_CDROM_DEFAULT_DRIVE, NULL, true, &old), 0);
    assert_ptr_equal(old, f->cd);
    move(f, NULL);
    assert_int_equal(gmem_write(f->gm, 0x1000, e, sizeof(e)), 0);
    ide_bm_ops.write(f->ide2, 8 + 4, 0x1000, 4);
    ide_bm_ops.write(f->ide2, 8, BM_CMD_START | BM_CMD_TO_MEMORY, 1);
    run(f);
    assert_true(inb(f->ide2, 1, 7) & ATA_ERR);
    assert_int_equal(inb(f->ide2, 1, 1) >> 4, 2); /* NOT READY */
}

static int load_mutated(struct fx *f, size_t off, const void *val, size_t n)
{
    struct sf_buf copy = {0};
    struct sf_in in;
    int ret;
    sf_put_bytes(&copy, f->saved.data, f->saved.len);
    if (n > 0 && off + n <= copy.len)
        memcpy(copy.data + off, val, n);
    sf_in_init(&in, copy.data, off == SIZE_MAX ? copy.len - 1 : copy.len);
    ret = ide_load(f->ide2, &in);
    sf_buf_free(&copy);
    return ret;
}

static void test_hostile(void **state)
{
    struct fx *f = *state;
    const uint8_t two = 2, nine = 9, three = 3, start = BM_CMD_START;
    const uint32_t big = IDE_BUF_BYTES + 2, one = 1;
    const uint64_t past = DISK_SECTORS + 1, huge = UINT64_MAX - 1, dma_huge = 1ull << 40;
    size_t drive0;
    struct sf_buf extra = {0};
    struct sf_in in;
    lba28(f, 10, 1, 0x20); /* PIO read, DRQ: a saved buffer of 512 bytes */
    (void)inw(f->ide, 0);
    move(f, f->cd);
    drive0 = OFF_BUF + 512;
    assert_int_equal(load_mutated(f, OFF_XFER_UNIT, &two, 1), -EINVAL);
    assert_int_equal(load_mutated(f, OFF_END_KIND, &nine, 1), -EINVAL);
    assert_int_equal(load_mutated(f, OFF_POS, &big, 4), -EINVAL);
    assert_int_equal(load_mutated(f, OFF_END, &big, 4), -EINVAL);
    assert_int_equal(load_mutated(f, OFF_NEED, &big, 4), -EINVAL);
    assert_int_equal(load_mutated(f, OFF_NEED, &one, 4), -EINVAL);
    assert_int_equal(load_mutated(f, OFF_LBA, &past, 8), -EINVAL);
    assert_int_equal(load_mutated(f, OFF_LBA, &huge, 8), -EINVAL);
    assert_int_equal(load_mutated(f, OFF_PER_DRQ, &big, 4), -EINVAL);
    assert_int_equal(load_mutated(f, OFF_DMA_PENDING, &two, 1), -EINVAL);
    assert_int_equal(load_mutated(f, OFF_BM_CMD, &two, 1), -EINVAL);
    assert_int_equal(load_mutated(f, drive0, &two, 1), -EINVAL); /* ATAPI where ATA is */
    assert_int_equal(load_mutated(f, drive0 + OFF_DRIVE_NSECTORS, &huge, 8), -EINVAL);
    assert_int_equal(load_mutated(f, drive0 + OFF_DRIVE_MULTIPLE, &three, 1), -EINVAL);
    assert_int_equal(load_mutated(f, SIZE_MAX, NULL, 0), -EINVAL); /* one byte short */
    /* a DMA waiting for START, made pending while a PIO piece runs, or started */
    assert_int_equal(load_mutated(f, OFF_DMA_PENDING, &one, 1), -EINVAL);
    sf_put_bytes(&extra, f->saved.data, f->saved.len);
    sf_put_u8(&extra, 0);
    sf_in_init(&in, extra.data, extra.len);
    assert_int_equal(ide_load(f->ide2, &in), -EINVAL); /* a byte too many */
    sf_buf_free(&extra);
    /* a DMA that waits, then hostile variants of it */
    for (unsigned i = 1; i < 256; i++)
        (void)inw(f->ide, 0);
    lba28(f, 100, 2, 0xc8);
    ide_destroy(f->ide2);
    f->ide2 = NULL;
    move(f, f->cd);
    assert_int_equal(load_mutated(f, OFF_DMA_LEN, &dma_huge, 8), -EINVAL);
    assert_int_equal(load_mutated(f, OFF_BM_CMD, &start, 1), -EINVAL);
    assert_int_equal(load_mutated(f, OFF_END_KIND, &one, 1), -EINVAL);
    /* nothing changed by the refused loads: the DMA still waits and runs */
    assert_true(inb(f->ide2, 0, 7) & ATA_BSY);
    assert_int_equal(load_mutated(f, 0, NULL, 0), 0); /* the file as it is loads */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_pio_read_midway, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pio_write_midway, setup, teardown),
        cmocka_unit_test_setup_teardown(test_atapi_pio_midway, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dma_waiting_for_start, setup, teardown),
        cmocka_unit_test_setup_teardown(test_busy_and_media_change, setup, teardown),
        cmocka_unit_test_setup_teardown(test_atapi_dma_after_eject, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostile, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the IDE controller (dev/storage/ide*.c): an ATA disk as primary master,
 * an ATAPI CD-ROM whose image is not a multiple of 2048 bytes as primary slave (two units that
 * share a channel) and an ATAPI CD-ROM as secondary master over blk_mem, guest RAM of 1 MiB,
 * block work on a real event loop. The input is a sequence of 8-byte guest operations:
 *
 *   op u8 | arg u8 | off u16 | val u32
 *   op % 8: 0 command block read (channel arg & 1, register off & 7, size 1/2/4; off & 8 on
 *             the data port: up to 64 Ki reads of that size while DRQ is set and data moves,
 *             at most 1 Mi of these bulk accesses in an input),
 *           1 command block write (off & 8 on the data port: the same with writes of val),
 *           2 control register read, 3 control register write,
 *           4 bus master read (off & 15), 5 bus master write, 6 RAM write of val at 4 * off,
 *           7 run the loop and complete pending disk requests (arg & 0x20: media change on
 *             the CD-ROM first, eject or insert; arg & 0x40: only run the loop, so the disk
 *             requests stay in flight while the guest goes on; arg & 0x10: then, with no
 *             request in flight, save the controller's state and go on in a new controller
 *             loaded from it, as a save and restore do)
 *
 * so it reaches every command, PIO and DMA transfer, PRD walk, PACKET command and reset in any
 * order and mid-transfer, and a saved state of each (ide_state.c), which must load back.
 * Nothing may crash, hang or trip a sanitizer, and the data port's window never leaves the
 * channel buffer.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/evloop.h"
#include "base/log.h"
#include "base/statefile.h"
#include "blk_mem.h"
#include "core/gmem.h"
#include "dev/storage/ide_internal.h"
#include "fake_platform.h"

#define RAM_BYTES (1ULL << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct gmem *gm;

struct rig {
    struct fake_platform fp;
    struct evloop *loop;
    struct blk *disk, *cd, *cd2, *odd;
    struct blk *in_drive; /* the CD-ROM's medium now */
    struct ide *ide;
    /* bulk data-port steps: accesses left for this input, and the port's last position */
    long bulk_budget;
    uint32_t last_pos;
    ide_end_fn last_fn;
};

static void rig_up(struct rig *r)
{
    struct ide_config cfg = {0};
    fake_platform_init(&r->fp);
    if (evloop_create(&r->loop) != 0)
        abort();
    r->disk = blk_mem_create(256 << 10, false);
    r->cd = blk_mem_create(64 << 10, true);
    r->cd2 = blk_mem_create(32 << 10, true);
    r->odd = blk_mem_create(5000, true);
    r->in_drive = r->cd;
    cfg.drives[0] = (struct ide_drive_config){.kind = IDE_KIND_ATA, .blk = r->disk};
    cfg.drives[1] = (struct ide_drive_config){.kind = IDE_KIND_ATAPI, .blk = r->odd};
    cfg.drives[2] = (struct ide_drive_config){.kind = IDE_KIND_ATAPI, .blk = r->cd};
    if (ide_create(&cfg, &r->fp.plat, gm, r->loop, &r->ide) != 0)
        abort();
}

static void run(struct rig *r, bool is_submit_only)
{
    for (int i = 0; i < 8; i++) {
        unsigned n = 0;
        while (evloop_run_once(r->loop, 0) > 0)
            n++;
        if (is_submit_only)
            return;
        n += blk_mem_complete(r->disk, 64) + blk_mem_complete(r->cd, 64) +
             blk_mem_complete(r->cd2, 64) + blk_mem_complete(r->odd, 64);
        if (n == 0)
            return;
    }
}

static void rig_down(struct rig *r)
{
    ide_stop(r->ide);
    run(r, false); /* what is in flight completes, as blk_close does */
    blk_close(r->disk);
    blk_close(r->cd);
    blk_close(r->cd2);
    blk_close(r->odd);
    ide_destroy(r->ide);
    evloop_destroy(r->loop);
    fake_platform_fini(&r->fp);
}

static void media(struct rig *r)
{
    struct blk *next = r->in_drive == NULL ? r->cd2 : NULL, *old = NULL;
    if (ide_change_media(r->ide, IDE_CDROM_DEFAULT_DRIVE, next, true, &old) == 0)
        r->in_drive = next;
}

/* Whether a bulk data-port step goes on: DRQ set, the last access moved data (a read of a
 * write transfer moves nothing) and the input's budget of bulk accesses is not spent. */
static bool moves(struct rig *r, struct ide_channel *ch)
{
    bool is_moving = r->bulk_budget > 0 && (ide_ctl_ops.read(ch, 0, 1) & ATA_DRQ) &&
                     (ch->pos != r->last_pos || ch->end_fn != r->last_fn);
    r->last_pos = ch->pos;
    r->last_fn = ch->end_fn;
    r->bulk_budget--;
    return is_moving;
}

/* A save and restore: every state the guest can reach with no I/O in flight loads back. */
static void save_restore(struct rig *r)
{
    struct ide_config cfg = {0};
    struct sf_buf b = {0};
    struct sf_in in;
    struct ide *next;
    if (ide_busy(r->ide) > 0)
        return;
    if (ide_save(r->ide, &b) != 0 || b.failed)
        abort();
    cfg.drives[0] = (struct ide_drive_config){.kind = IDE_KIND_ATA, .blk = r->disk};
    cfg.drives[1] = (struct ide_drive_config){.kind = IDE_KIND_ATAPI, .blk = r->odd};
    cfg.drives[2] = (struct ide_drive_config){.kind = IDE_KIND_ATAPI, .blk = r->in_drive};
    if (ide_create(&cfg, &r->fp.plat, gm, r->loop, &next) != 0)
        abort();
    sf_in_init(&in, b.data, b.len);
    if (ide_load(next, &in) != 0)
        abort();
    sf_buf_free(&b);
    ide_stop(r->ide);
    ide_destroy(r->ide);
    r->ide = next;
}

static void step(struct rig *r, const uint8_t *p)
{
    static const unsigned sizes[4] = {1, 2, 4, 1};
    unsigned sz = sizes[p[1] >> 6];
    struct ide_channel *ch = &r->ide->ch[p[1] & 1];
    uint16_t off = (uint16_t)(p[2] | p[3] << 8);
    uint32_t val;
    memcpy(&val, p + 4, 4);
    switch (p[0] % 8) {
    case 0:
        (void)ide_cmd_ops.read(ch, off & 7, (off & 7) == 0 ? sz : 1);
        r->last_pos = UINT32_MAX; /* the first bulk access always goes */
        for (unsigned i = 0; (off & 0xf) == 8 && i < 0xffff && moves(r, ch); i++)
            (void)ide_cmd_ops.read(ch, 0, sz);
        break;
    case 1:
        ide_cmd_ops.write(ch, off & 7, val, (off & 7) == 0 ? sz : 1);
        r->last_pos = UINT32_MAX; /* the first bulk access always goes */
        for (unsigned i = 0; (off & 0xf) == 8 && i < 0xffff && moves(r, ch); i++)
            ide_cmd_ops.write(ch, 0, val, sz);
        break;
    case 2:
        (void)ide_ctl_ops.read(ch, 0, 1);
        break;
    case 3:
        ide_ctl_ops.write(ch, 0, val & 0xff, 1);
        break;
    case 4:
        (void)ide_bm_ops.read(r->ide, off & 15, (off & 15) + sz <= 16 ? sz : 1);
        break;
    case 5:
        ide_bm_ops.write(r->ide, off & 15, val, (off & 15) + sz <= 16 ? sz : 1);
        break;
    case 6:
        (void)gmem_write(gm, 4ULL * off, &val, sizeof(val));
        break;
    default:
        if (p[1] & 0x20)
            media(r);
        run(r, p[1] & 0x40);
        if (p[1] & 0x10)
            save_restore(r);
        break;
    }
}

/* The data port's window stays inside the channel buffer. AddressSanitizer alone does not
 * see a read far past it: the 128 KiB buffer has no redzone of its own behind it. */
static void check(const struct rig *r)
{
    for (unsigned c = 0; c < IDE_CHANNELS; c++) {
        const struct ide_channel *ch = &r->ide->ch[c];
        if (ch->pos > ch->end || ch->end > IDE_BUF_BYTES)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct rig r;

    if (gm == NULL) {
        log_set_level(LOG_ERROR); /* guest-triggered warnings are expected here */
        if (gmem_create(&gm) != 0 || gmem_add_region(gm, 0, RAM_BYTES, "ram", false, NULL) != 0)
            abort();
    }
    memset(gmem_ptr(gm, 0, 4ULL * 65536), 0, 4ULL * 65536);
    memset(&r, 0, sizeof(r));
    r.bulk_budget = 1L << 20;
    rig_up(&r);
    for (size_t pos = 0; pos + 8 <= size && pos < 8 * 8192; pos += 8) {
        step(&r, data + pos);
        check(&r);
    }
    rig_down(&r);
    return 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for base/statefile.c's parser: any byte string is parsed as a saved-state file;
 * every section it accepts must lie inside the input (ASan catches reads outside), and each
 * accepted section's data is read back through struct sf_in to the end. The section decoders
 * that take no device run too: "cpuid" through core/x86/cpuid_state.c, and "<region>.zstd"
 * (compressed guest memory) through vmm/machine_state_zstd.c into a 64 KiB region; and the
 * pc machine's device sections are loaded into fresh devices: "ide" into an IDE controller
 * with a 1 MiB ATA disk (firmware_util.py's counter disk, whose saves seed the corpus) and a CD-ROM
 * (then its ports are read and the loop run, so a state that loads is also driven), "fw-cfg" into
 * fw_cfg with one file, "pflash" into a 64 KiB bank.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/evloop.h"
#include "base/log.h"
#include "base/statefile.h"
#include "blk_mem.h"
#include "core/gmem.h"
#include "core/x86/cpuid_state.h"
#include "dev/legacy/fw_cfg.h"
#include "dev/legacy/pflash.h"
#include "dev/storage/ide_internal.h"
#include "fake_platform.h"
#include "vmm/machine_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct gmem *gm;

static void load_ide(struct sf_in *in)
{
    struct fake_platform fp;
    struct evloop *loop;
    struct ide_config cfg = {0};
    struct blk *disk = blk_mem_create(1 << 20, false), *cd = blk_mem_create(32 << 10, true);
    struct ide *ide;
    fake_platform_init(&fp);
    if (evloop_create(&loop) != 0)
        abort();
    cfg.drives[0] = (struct ide_drive_config){.kind = IDE_KIND_ATA, .blk = disk};
    cfg.drives[2] = (struct ide_drive_config){.kind = IDE_KIND_ATAPI, .blk = cd};
    if (ide_create(&cfg, &fp.plat, gm, loop, &ide) != 0)
        abort();
    if (ide_load(ide, in) == 0) {
        for (unsigned c = 0; c < IDE_CHANNELS; c++) {
            for (unsigned i = 0; i < 4096; i++) /* drain what the loaded piece offers */
                (void)ide_cmd_ops.read(&ide->ch[c], 0, 2);
            ide_cmd_ops.write(&ide->ch[c], 0, 0, 2);
            ide_bm_ops.write(ide, c * 8, BM_CMD_START, 1);
        }
        for (int i = 0; i < 8; i++) {
            while (evloop_run_once(loop, 0) > 0)
                ;
            if (blk_mem_complete(disk, 64) + blk_mem_complete(cd, 64) == 0)
                break;
        }
    }
    ide_stop(ide);
    blk_close(disk);
    blk_close(cd);
    ide_destroy(ide);
    evloop_destroy(loop);
    fake_platform_fini(&fp);
}

static void load_fw_cfg(struct sf_in *in)
{
    struct fw_cfg *c;
    if (fw_cfg_create(gm, &c) != 0 || fw_cfg_add_file(c, "etc/e820", "abcdef", 6) != 0)
        abort();
    (void)fw_cfg_load(c, in);
    fw_cfg_destroy(c);
}

static void load_pflash(struct sf_in *in)
{
    static uint8_t array[64 << 10];
    struct pflash f;
    if (pflash_init(&f, array, sizeof(array), 4096, NULL, NULL) != 0)
        abort();
    if (pflash_load(&f, in) == 0)
        (void)pflash_read(&f, 0, 8);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct sf_file f;
    struct error err = {0};
    if (gm == NULL) {
        log_set_level(LOG_ERROR);
        if (gmem_create(&gm) != 0 || gmem_add_region(gm, 0, 1 << 20, "ram", false, NULL) != 0)
            abort();
    }
    if (sf_parse(data, size, &f, &err) < 0)
        return 0;
    for (unsigned i = 0; i < f.nsections; i++) {
        const struct sf_section *s = &f.sections[i];
        struct sf_in in;
        if (s->offset > size || s->length > size - s->offset)
            abort();
        sf_in_init(&in, data + s->offset, (size_t)s->length);
        if (strcmp(s->name, "cpuid") == 0) {
            struct kvm_cpuid_entry2 *e = NULL;
            size_t n;
            if (cpuid_state_get(&in, &e, &n) == 0)
                free(e);
        } else if (strstr(s->name, ".zstd") != NULL) {
            static uint8_t ram[64 << 10];
            struct gmem_region r = {
                .size_bytes = sizeof(ram), .hva = ram, .memfd = -1, .name = "ram"};
            (void)machine_load_region_zstd(&r, data + s->offset, (size_t)s->length, &err);
        } else if (strcmp(s->name, "ide") == 0) {
            load_ide(&in);
            sf_in_init(&in, data + s->offset, (size_t)s->length);
        } else if (strcmp(s->name, "fw-cfg") == 0) {
            load_fw_cfg(&in);
            sf_in_init(&in, data + s->offset, (size_t)s->length);
        } else if (strcmp(s->name, "pflash") == 0) {
            load_pflash(&in);
            sf_in_init(&in, data + s->offset, (size_t)s->length);
        }
        while (sf_in_end(&in) != 0 && !in.bad)
            (void)sf_get_u8(&in);
    }
    return 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the qcow2 parser and metadata walkers (qcow2.txt): the input is a whole
 * image file. The header parser runs on it directly; then the image (with any backing file
 * reference removed, so the fuzzer never opens host files) is put in a memfd and opened
 * read-only through blk_open, a few bounded reads go through L1/L2/compressed paths, and the
 * refcount check walks all metadata; then it is opened writable for a few writes, discards and
 * write-zeroes. Nothing may crash, hang, leak or allocate without bound.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"
#include "block/blk.h"
#include "block/qcow2/qcow2.h"

#define FUZZ_MAX_INPUT (4u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void exercise(struct blk *b, const uint8_t *data, size_t size)
{
    static uint8_t buf[65536];
    uint64_t vsize = blk_size_bytes(b);
    struct qcow2_check_result res;
    struct error err = {0};

    for (size_t i = 0; i < 8 && vsize >= 512; i++) {
        uint64_t seed = 0;
        memcpy(&seed, data + (i * 8) % (size - 8), 8);
        uint64_t off = (seed % (vsize / 512)) * 512;
        uint64_t len = MIN((uint64_t)sizeof(buf), vsize - off);
        (void)!blk_pread(b, buf, len, off);
    }
    (void)!qcow2_check(qcow2_of(b), false, &res, &err);
}

/* Opens the image writable (a dirty one gets repaired) and runs a few writes, discards and
 * write-zeroes chosen by the input: the allocation, refcount and free paths over hostile
 * metadata. */
static void exercise_write(const char *path, const uint8_t *data, size_t size)
{
    struct blk_open_opts o = {.path = path, .format = BLK_FORMAT_QCOW2, .needs_sync_engine = true};
    static uint8_t buf[16384];
    struct error err = {0};
    struct blk *b;
    uint64_t vsize;

    if (blk_open(&o, NULL, &b, &err) != 0)
        return;
    vsize = blk_size_bytes(b);
    memset(buf, 0x5a, sizeof(buf));
    for (size_t i = 0; i < 4 && vsize >= 512; i++) {
        uint64_t seed = 0;
        memcpy(&seed, data + (i * 8 + 64) % (size - 8), 8);
        uint64_t off = (seed % (vsize / 512)) * 512;
        uint64_t len = MIN((uint64_t)sizeof(buf) >> ((seed >> 56) & 3), vsize - off);
        switch (seed >> 62) {
        case 0:
        case 1:
            (void)!blk_pwrite(b, buf, len, off);
            break;
        default:
            (void)!blk_discard(b, len, off, (seed >> 62) == 3);
            break;
        }
    }
    (void)!blk_flush(b);
    blk_close(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct blk_open_opts o = {
        .format = BLK_FORMAT_QCOW2, .is_readonly = true, .needs_sync_engine = true};
    struct qcow2_meta m;
    struct error err = {0};
    struct blk *b;
    uint8_t *copy;
    char path[64];
    int fd;

    if (size < 72 || size > FUZZ_MAX_INPUT)
        return 0;
    log_set_level(LOG_ERROR);
    (void)!qcow2_parse_header(data, size, size, "fuzz", &m, &err);
    copy = malloc(size);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    memset(copy + 8, 0, 12); /* no backing file: never open host files */
    fd = memfd_create("fuzz-qcow2", MFD_CLOEXEC);
    if (fd >= 0 && write_full(fd, copy, size) == 0) {
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
        o.path = path;
        error_clear(&err);
        if (blk_open(&o, NULL, &b, &err) == 0) {
            exercise(b, data, size);
            blk_close(b);
        }
        exercise_write(path, data, size);
    }
    if (fd >= 0)
        close(fd);
    free(copy);
    return 0;
}

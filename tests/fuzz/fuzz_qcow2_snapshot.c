/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for qcow2 internal snapshots (qcow2.txt "Snapshots"). Input byte 0 picks the
 * mode:
 *   bit 7 clear: bytes 1-2 are nb_snapshots, byte 3 the cluster bits (9 + n % 13), bytes 4-7
 *                the file size in sectors, the rest the snapshot table given to the parser;
 *   bit 7 set:   the rest is a whole image (backing file reference removed), put in a memfd
 *                and given to `disk snapshot` list, create, apply and delete (names chosen by
 *                byte 0), then to the refcount check: the refcount walker and the
 *                copy-on-write bookkeeping over hostile L1/L2 tables and snapshot tables.
 * Nothing may crash, hang, leak or allocate without bound.
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
#include "block/image.h"
#include "block/qcow2/qcow2.h"

#define FUZZ_MAX_INPUT (4u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_table(const uint8_t *data, size_t size)
{
    struct qcow2_snaptab t;
    struct error err = {0};
    uint32_t nb = (uint32_t)data[1] << 8 | data[2];
    uint64_t cs = 1ull << (9 + data[3] % 13), file_size = (uint64_t)be32_load(data + 4) << 9;
    size_t used;

    if (qcow2_snaptab_parse(data + 8, size - 8, nb, cs, file_size, 1ull << 30, "fuzz", &t, &used,
                            &err) == 0) {
        if (used > size - 8 || t.bytes != used)
            abort();
        for (uint32_t i = 0; i < t.n; i++)
            (void)qcow2_snaptab_find(&t, t.v[i].name);
        qcow2_snaptab_free(&t);
    }
}

static void fuzz_image(const uint8_t *data, size_t size)
{
    static const char *const names[] = {"1", "2", "a", "b"};
    const char *name = names[data[0] & 3];
    struct disk_snapshot_list l;
    struct disk_check_result r;
    struct error err = {0};
    uint8_t *copy = malloc(size - 1);
    char path[64];
    int fd = memfd_create("fuzz-qcow2-snap", MFD_CLOEXEC);

    if (copy && fd >= 0 && size - 1 >= 72) {
        memcpy(copy, data + 1, size - 1);
        memset(copy + 8, 0, 12); /* no backing file: never open host files */
        if (write_full(fd, copy, size - 1) == 0) {
            snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
            if (disk_snapshot_list_get(path, &l, &err) == 0)
                disk_snapshot_list_free(&l);
            (void)!disk_snapshot(path, (enum disk_snapshot_op)((data[0] >> 2) % 3), name,
                                 &(struct error){0});
            (void)!disk_snapshot(path, DISK_SNAPSHOT_CREATE, "new", &(struct error){0});
            (void)!disk_snapshot(path, DISK_SNAPSHOT_APPLY, name, &(struct error){0});
            (void)!disk_snapshot(path, DISK_SNAPSHOT_DELETE, "new", &(struct error){0});
            (void)!disk_check(path, false, &r, &(struct error){0});
        }
    }
    if (fd >= 0)
        close(fd);
    free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 8 || size > FUZZ_MAX_INPUT)
        return 0;
    log_set_level(LOG_ERROR);
    if (data[0] & 0x80)
        fuzz_image(data, size);
    else
        fuzz_table(data, size);
    return 0;
}

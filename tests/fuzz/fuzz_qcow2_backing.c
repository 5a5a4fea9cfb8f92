/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for qcow2 backing-file names and the backing policy (block/blk.h enum
 * blk_backing, docs/disks.md): the input is the name a hostile image records (any bytes up to
 * the 1023 the format allows: "..", absolute paths, slashes, NUL, non-UTF-8, very long) and
 * the policy to open it under (same-dir or none; `any` follows names as given and is for
 * trusted images, so it is not fuzzed: the fuzzer must never open host files). The image sits
 * in a temporary directory beside a regular backing file, a symlink to it, a FIFO, a
 * subdirectory and a qcow2 image that names the fuzzed one (a loop when named back). Oracle:
 *   none      an image with a backing name never opens
 *   same-dir  it opens only for a plain file name (blk_backing_needed() == same-dir) of a
 *             regular file in the directory, never through the symlink, FIFO or directory;
 *             "base.raw" always opens and reads the base file's data
 * and nothing may crash, hang (a FIFO must not be opened for reading) or leak.
 *
 *   input: u8 flags (bit 0: policy none), then the name bytes
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "block/blk.h"
#include "block/image.h"
#include "fuzz_scratch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define NAME_MAX_BYTES 1023u
#define NAME_OFF 0x1000u /* where the name goes in the image's first cluster */
#define IMG_BYTES (1u << 20)

static char img[128];

static void write_base(const char *path)
{
    uint8_t sector[512];
    memset(sector, 0, sizeof(sector));
    memcpy(sector, "BASEDATA", 8);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || pwrite(fd, sector, sizeof(sector), 0) != 512 || ftruncate(fd, IMG_BYTES) != 0)
        abort();
    close(fd);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    char p[128], q[128];
    struct error err = {0};
    fuzz_scratch_init("qcow2_backing");
    fuzz_scratch_path(p, sizeof(p), "base.raw");
    write_base(p);
    fuzz_scratch_path(q, sizeof(q), "link.raw");
    fuzz_scratch_path(p, sizeof(p), "fifo");
    if (symlink("base.raw", q) != 0 || mkfifo(p, 0600) != 0)
        abort();
    fuzz_scratch_path(p, sizeof(p), "sub");
    if (mkdir(p, 0700) != 0)
        abort();
    fuzz_scratch_path(p, sizeof(p), "sub/base.raw");
    write_base(p);
    fuzz_scratch_path(img, sizeof(img), "img.qcow2");
    if (qcow2_create(img, IMG_BYTES, 0, NULL, NULL, true, &err) != 0)
        abort();
    fuzz_scratch_path(p, sizeof(p), "chain.qcow2");
    if (qcow2_create(p, IMG_BYTES, 0, "img.qcow2", "qcow2", true, &err) != 0)
        abort();
    return 0;
}

static void put_be(uint8_t *p, uint64_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

/* Records (name, len) as img.qcow2's backing file (header fields 8 and 16, qcow2 spec). */
static void set_name(const uint8_t *name, size_t len)
{
    uint8_t hdr[12];
    put_be(hdr, len ? NAME_OFF : 0, 8);
    put_be(hdr + 8, len, 4);
    int fd = open(img, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || pwrite(fd, hdr, sizeof(hdr), 8) != (ssize_t)sizeof(hdr) ||
        (len && pwrite(fd, name, len, NAME_OFF) != (ssize_t)len))
        abort();
    close(fd);
}

/* True when (name, len) is a plain name of a regular file in the directory. */
static bool names_regular_file(const uint8_t *name, size_t len)
{
    static const char *const regular[] = {"base.raw", "chain.qcow2", "img.qcow2"};
    for (size_t i = 0; i < sizeof(regular) / sizeof(regular[0]); i++) {
        if (len == strlen(regular[i]) && !memcmp(name, regular[i], len))
            return true;
    }
    return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct error err = {0};
    struct blk *b = NULL;
    if (size < 1)
        return 0;
    bool is_none = data[0] & 1;
    const uint8_t *name = data + 1;
    size_t len = size - 1 > NAME_MAX_BYTES ? NAME_MAX_BYTES : size - 1;
    set_name(name, len);
    struct blk_open_opts o = {.path = img,
                              .format = BLK_FORMAT_QCOW2,
                              .backing = is_none ? BLK_BACKING_NONE : BLK_BACKING_SAME_DIR,
                              .is_readonly = true,
                              .needs_sync_engine = true};
    int ret = blk_open(&o, NULL, &b, &err);
    if (ret == 0) {
        char cname[NAME_MAX_BYTES + 1];
        memcpy(cname, name, len);
        cname[len] = 0;
        if (len && is_none)
            abort(); /* backing=none opened an image with a backing file */
        if (len &&
            (blk_backing_needed(cname) != BLK_BACKING_SAME_DIR || !names_regular_file(name, len)))
            abort(); /* backing=same-dir followed a name it must refuse */
        uint8_t sector[512];
        (void)!blk_pread(b, sector, sizeof(sector), 0);
        blk_close(b);
    } else if (!is_none && len == 8 && !memcmp(name, "base.raw", 8)) {
        abort(); /* the one plain name of a regular file must open */
    }
    return 0;
}

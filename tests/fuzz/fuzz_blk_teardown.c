/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for multi-disk lifetimes (block/blk.c, the engines, qcow2): up to three
 * disks (raw or qcow2, cache=none or writeback, io_uring or thread-pool engine) share one event
 * loop, as a machine's disks do; the input opens them, submits requests without waiting,
 * closes disks with requests in flight, runs the loop and reopens, in any order. A completion
 * may submit a follow-up request to another open disk (as a device answering one disk's
 * completion while the machine tears another down). Every submitted request must complete
 * exactly once, before blk_close of its disk returns, and never after; nothing may crash or
 * leak. The images live in a temporary directory and are recreated for every input.
 *
 *   script: repeated { u8 op, u8 arg }
 *     op % 4: 0 open disk (op >> 2) % 3 with flags (arg: bit 0 qcow2, 1 cache=none, 2 sync
 *             engine), 1 submit to disk (op >> 2) % 3 (arg: bits 0-1 read/write/flush/zeroes,
 *             2-7 offset in 64 KiB steps, bit 7 of op: chain a follow-up from the completion),
 *             2 close disk (op >> 2) % 3, 3 run the loop (arg % 4 rounds)
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/evloop.h"
#include "base/log.h"
#include "block/blk.h"
#include "block/image.h"
#include "fuzz_scratch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define NDISKS 3
#define DISK_BYTES (4u << 20)
#define REQ_BYTES 65536u

struct disk {
    struct blk *b;
    unsigned gen;     /* bumped at every close */
    size_t in_flight; /* submitted, not yet completed */
    bool is_closing;  /* inside blk_close: nothing more is submitted to it */
};

struct req {
    struct blk_req r;
    struct iovec iov;
    unsigned disk, gen;
    bool is_chained;
};

static char paths[2 * NDISKS][128];
static struct disk disks[NDISKS];
static struct evloop *loop;
static uint8_t *buf;
static uint8_t *qcow2_template; /* an empty qcow2 image of DISK_BYTES, made once */
static size_t qcow2_template_len;
static size_t submitted, completed;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_scratch_init("blk_teardown");
    for (unsigned i = 0; i < NDISKS; i++) {
        char name[16];
        snprintf(name, sizeof(name), "d%u.raw", i);
        fuzz_scratch_path(paths[2 * i], sizeof(paths[0]), name);
        snprintf(name, sizeof(name), "d%u.qcow2", i);
        fuzz_scratch_path(paths[2 * i + 1], sizeof(paths[0]), name);
    }
    if (posix_memalign((void **)&buf, 4096, REQ_BYTES))
        abort();
    memset(buf, 0x5a, REQ_BYTES);
    struct error err = {0};
    if (qcow2_create(paths[1], DISK_BYTES, 0, NULL, NULL, true, &err) != 0)
        abort();
    FILE *f = fopen(paths[1], "rb");
    qcow2_template = malloc(1u << 20);
    if (!f || !qcow2_template)
        abort();
    qcow2_template_len = fread(qcow2_template, 1, 1u << 20, f);
    fclose(f);
    return 0;
}

/* Writes (len) bytes of (data) as the whole of (path). */
static void put_file(const char *path, const uint8_t *data, size_t len, off_t size)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || (len && pwrite(fd, data, len, 0) != (ssize_t)len) || ftruncate(fd, size) != 0)
        abort();
    close(fd);
}

static void submit(unsigned d, uint8_t arg, bool is_chained);

static void on_done(struct blk_req *r, int ret)
{
    struct req *q = r->opaque;
    (void)ret;
    if (q->gen != disks[q->disk].gen || disks[q->disk].in_flight == 0)
        abort(); /* a completion after its disk was closed, or one too many */
    disks[q->disk].in_flight--;
    completed++;
    unsigned next = (q->disk + 1) % NDISKS;
    bool chain = q->is_chained;
    uint64_t off = r->offset_bytes;
    free(q);
    if (chain && disks[next].b != NULL)
        submit(next, (uint8_t)((off / REQ_BYTES) << 2 | 0), false);
}

static void submit(unsigned d, uint8_t arg, bool is_chained)
{
    static const enum blk_op ops[] = {BLK_OP_READ, BLK_OP_WRITE, BLK_OP_FLUSH, BLK_OP_WRITE_ZEROES};
    struct disk *k = &disks[d];
    if (!k->b || k->is_closing)
        return;
    struct req *q = calloc(1, sizeof(*q));
    if (!q)
        abort();
    enum blk_op op = ops[arg & 3];
    if (op == BLK_OP_WRITE && blk_is_readonly(k->b))
        op = BLK_OP_READ;
    q->disk = d;
    q->gen = k->gen;
    q->is_chained = is_chained;
    q->iov = (struct iovec){buf, REQ_BYTES};
    q->r = (struct blk_req){.op = op,
                            .offset_bytes = (uint64_t)(arg >> 2) * REQ_BYTES,
                            .len_bytes = op == BLK_OP_FLUSH ? 0 : REQ_BYTES,
                            .done = on_done,
                            .opaque = q};
    if (op == BLK_OP_READ || op == BLK_OP_WRITE) {
        q->r.iov = &q->iov;
        q->r.iovcnt = 1;
    }
    if (blk_submit(k->b, &q->r) != 0) {
        free(q);
        return;
    }
    k->in_flight++;
    submitted++;
}

static void close_disk(unsigned d)
{
    struct disk *k = &disks[d];
    if (!k->b)
        return;
    k->is_closing = true;
    blk_close(k->b); /* completes what is in flight first */
    k->is_closing = false;
    k->b = NULL;
    if (k->in_flight)
        abort(); /* blk_close returned with requests not completed */
    k->gen++;
}

static void open_disk(unsigned d, uint8_t arg)
{
    struct error err = {0};
    if (disks[d].b)
        return;
    bool is_qcow2 = arg & 1;
    struct blk_open_opts o = {.path = paths[2 * d + is_qcow2],
                              .format = is_qcow2 ? BLK_FORMAT_QCOW2 : BLK_FORMAT_RAW,
                              .cache = (arg & 2) ? BLK_CACHE_NONE : BLK_CACHE_WRITEBACK,
                              .needs_sync_engine = (arg & 4) != 0};
    if (blk_open(&o, loop, &disks[d].b, &err) != 0)
        abort(); /* the images are valid and unlocked */
}

static void make_images(void)
{
    for (unsigned i = 0; i < NDISKS; i++) {
        put_file(paths[2 * i], NULL, 0, DISK_BYTES);
        put_file(paths[2 * i + 1], qcow2_template, qcow2_template_len, (off_t)qcow2_template_len);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    make_images();
    if (evloop_create(&loop) != 0)
        abort();
    submitted = completed = 0;
    for (size_t i = 0; i + 2 <= size && i < 256; i += 2) {
        uint8_t op = data[i], arg = data[i + 1];
        unsigned d = (op >> 2) % NDISKS;
        switch (op % 4) {
        case 0:
            open_disk(d, arg);
            break;
        case 1:
            submit(d, arg, (op & 0x80) != 0);
            break;
        case 2:
            close_disk(d);
            break;
        default:
            for (unsigned r = 0; r < arg % 4u; r++)
                (void)evloop_run_once(loop, 0);
        }
    }
    /* Teardown in the input's last order: disk (size % 3) first. */
    for (unsigned i = 0; i < NDISKS; i++)
        close_disk((unsigned)(size + i) % NDISKS);
    if (submitted != completed)
        abort();
    evloop_destroy(loop);
    return 0;
}

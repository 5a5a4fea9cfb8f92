/* SPDX-License-Identifier: MIT */
/*
 * blk_tool: drives the block layer (block/blk.h) from tests and benchmarks.
 *   blk_tool pattern IMG REF SEED N [sync]  N random writes/write-zeroes/discards through
 *                                           blk.h on IMG, mirrored with plain pwrite on the
 *                                           raw file REF (the reference qemu-img compares)
 *   blk_tool crash IMG SEED                 random allocating writes forever (SIGKILL test)
 *   blk_tool bench IMG ENGINE MODE BS TOTAL [DEPTH]
 *                                           ENGINE uring|sync, MODE read|write|randread|
 *                                           randwrite; prints "MiB/s IOPS"
 * Exit status 0 on success, 1 on failure (message on stderr).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/evloop.h"
#include "base/util.h"
#include "block/blk.h"

static uint64_t rng_state;

static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static int open_img(const char *path, bool is_sync, bool is_ro, struct blk **b)
{
    struct blk_open_opts o = {.path = path, .needs_sync_engine = is_sync, .is_readonly = is_ro};
    struct error err = {0};

    if (blk_open(&o, NULL, b, &err) < 0) {
        fprintf(stderr, "blk_tool: %s\n", err.message);
        return -1;
    }
    return 0;
}

static int one_op(struct blk *b, int ref, uint8_t *buf, uint64_t size)
{
    uint64_t len = (rnd() % 256 + 1) * 512, off = (rnd() % (size / 512)) * 512, kind = rnd() % 10;
    int ret;

    if (off + len > size)
        len = size - off;
    if (kind < 7) {
        uint8_t v = (uint8_t)rnd();
        for (uint64_t i = 0; i < len; i++)
            buf[i] = (uint8_t)(v + i / 512);
        ret = blk_pwrite(b, buf, len, off);
    } else if (kind < 9) {
        memset(buf, 0, len);
        ret = blk_discard(b, len, off, true);
    } else { /* discarded data is unspecified: the reference takes what reads back */
        off = off / 65536 * 65536;
        len = MIN(65536 * (1 + rnd() % 4), size - off) / 65536 * 65536;
        if (len == 0)
            return 0;
        ret = blk_discard(b, len, off, false);
        if (ret == 0)
            ret = blk_pread(b, buf, len, off);
    }
    if (ret < 0) {
        fprintf(stderr, "blk_tool: op at %llu+%llu: %s\n", (unsigned long long)off,
                (unsigned long long)len, strerror(-ret));
        return -1;
    }
    if (ref >= 0 && pwrite_full(ref, buf, len, off) < 0)
        return -1;
    return 0;
}

static int cmd_pattern(int argc, char **argv)
{
    struct blk *b;
    int ref, ret = 0;
    uint8_t *buf = malloc(256 * 512 + 65536 * 4);

    if (argc < 5)
        return 2;
    rng_state = strtoull(argv[3], NULL, 0) | 1;
    if (open_img(argv[1], argc > 5 && strcmp(argv[5], "sync") == 0, false, &b) < 0)
        return 1;
    ref = open(argv[2], O_RDWR);
    if (ref < 0 || ftruncate(ref, (off_t)blk_size_bytes(b)) < 0) {
        perror("blk_tool: reference");
        return 1;
    }
    for (long i = 0; i < atol(argv[4]) && ret == 0; i++)
        ret = one_op(b, ref, buf, blk_size_bytes(b));
    if (ret == 0 && blk_flush(b) < 0)
        ret = -1;
    blk_close(b);
    close(ref);
    free(buf);
    return ret < 0 ? 1 : 0;
}

static int cmd_crash(int argc, char **argv)
{
    uint8_t *buf = malloc(256 * 512 + 65536 * 4);
    struct blk *b;

    if (argc < 3)
        return 2;
    rng_state = strtoull(argv[2], NULL, 0) | 1;
    if (open_img(argv[1], false, false, &b) < 0)
        return 1;
    printf("started\n");
    fflush(stdout);
    for (unsigned long i = 0;; i++) {
        if (one_op(b, -1, buf, blk_size_bytes(b)) < 0)
            return 1;
        if (i % 16 == 0 && blk_flush(b) < 0)
            return 1;
    }
}

struct bench {
    struct blk *b;
    bool is_write, is_rand;
    uint64_t bs, total, issued, done, cursor, size;
    int err;
};

struct slot {
    struct blk_req req;
    struct iovec iov;
    struct bench *bn;
};

static void bench_next(struct slot *s);

static void bench_done(struct blk_req *req, int ret)
{
    struct slot *s = req->opaque;

    if (ret < 0)
        s->bn->err = ret;
    s->bn->done += s->bn->bs;
    bench_next(s);
}

static void bench_next(struct slot *s)
{
    struct bench *bn = s->bn;
    uint64_t off;

    if (bn->issued >= bn->total || bn->err)
        return;
    if (bn->is_rand) {
        off = rnd() % (bn->size / bn->bs) * bn->bs;
    } else {
        off = bn->cursor;
        bn->cursor = (bn->cursor + bn->bs) % (bn->size / bn->bs * bn->bs);
    }
    bn->issued += bn->bs;
    s->req = (struct blk_req){.op = bn->is_write ? BLK_OP_WRITE : BLK_OP_READ,
                              .offset_bytes = off,
                              .iov = &s->iov,
                              .iovcnt = 1,
                              .done = bench_done,
                              .opaque = s};
    if (blk_submit(bn->b, &s->req) < 0)
        bn->err = -EIO;
}

static int cmd_bench(int argc, char **argv)
{
    struct blk_open_opts o = {.path = argv[1]};
    struct bench bn = {0};
    struct error err = {0};
    struct evloop *loop;
    unsigned depth = argc > 6 ? (unsigned)atoi(argv[6]) : 32;
    struct slot *slots;
    uint64_t t0;

    if (argc < 6 || depth == 0 || depth > 256 || evloop_create(&loop) < 0)
        return 2;
    o.needs_sync_engine = strcmp(argv[2], "sync") == 0;
    o.cache = getenv("BENCH_DIRECT") ? BLK_CACHE_NONE : BLK_CACHE_WRITEBACK;
    bn.is_write = strstr(argv[3], "write") != NULL;
    bn.is_rand = strncmp(argv[3], "rand", 4) == 0;
    if (parse_size(argv[4], 0, &bn.bs) < 0 || parse_size(argv[5], 0, &bn.total) < 0)
        return 2;
    if (blk_open(&o, loop, &bn.b, &err) < 0) {
        fprintf(stderr, "blk_tool: %s\n", err.message);
        return 1;
    }
    bn.size = blk_size_bytes(bn.b);
    rng_state = 0x9e3779b97f4a7c15ull;
    slots = calloc(depth, sizeof(*slots));
    t0 = time_now_ns();
    for (unsigned i = 0; i < depth; i++) {
        if (posix_memalign(&slots[i].iov.iov_base, 4096, bn.bs))
            return 1;
        memset(slots[i].iov.iov_base, 0x5a, bn.bs);
        slots[i].iov.iov_len = bn.bs;
        slots[i].bn = &bn;
        bench_next(&slots[i]);
    }
    while (bn.done < bn.issued && !bn.err)
        evloop_run_once(loop, -1);
    if (bn.is_write && blk_flush(bn.b) < 0)
        bn.err = -EIO;
    double s = (double)(time_now_ns() - t0) / 1e9;
    printf("%.1f MiB/s %.0f IOPS (%s, %s)\n", (double)bn.done / s / 1048576.0,
           (double)bn.done / (double)bn.bs / s, blk_format(bn.b), blk_engine(bn.b));
    blk_close(bn.b);
    evloop_destroy(loop);
    return bn.err ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "pattern") == 0)
        return cmd_pattern(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "crash") == 0)
        return cmd_crash(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "bench") == 0)
        return cmd_bench(argc - 1, argv + 1);
    fprintf(stderr, "usage: blk_tool pattern|crash|bench ... (see the source header)\n");
    return 2;
}

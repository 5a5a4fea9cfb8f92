/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the block layer's O_DIRECT path (block/blk.c, cache=none): requests
 * whose buffers are misaligned in address and length, as a guest makes them, go through the
 * bounce path and must read back what was written. A 4 MiB raw image in a temporary directory
 * (a real file system: tmpfs has no O_DIRECT) is opened with cache=none on a real event loop,
 * with the io_uring or the thread-pool engine; a shadow copy in memory is the oracle. Requests
 * run one at a time, so the result is deterministic. Nothing may crash, leak, differ from the
 * shadow, or fail a request that fits the disk.
 *
 *   input: u8 flags (bit 0 sync engine), then requests { u8 op, u16 sector, u8 nseg,
 *          nseg x { u16 skew, u16 len } }
 *     op % 4: 0 read, 1 write, 2 write-zeroes, 3 flush; op & 0x80: start past the end
 *     segments of a read never overlap (skew = gap before the segment); a write's may alias
 *     (skew = start in the pool); lengths are trimmed so the total is a multiple of 512
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/evloop.h"
#include "base/log.h"
#include "block/blk.h"
#include "fuzz_scratch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define DISK_BYTES (4u << 20)
#define MAX_SEGS 8
#define MAX_REQ_BYTES (256u << 10)
#define POOL_BYTES (MAX_REQ_BYTES + MAX_SEGS * 65536u + 4096u)

static char path[128];
static uint8_t *shadow;
static uint8_t *pool;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_scratch_init("blk_bounce");
    fuzz_scratch_path(path, sizeof(path), "disk.raw");
    shadow = calloc(1, DISK_BYTES);
    pool = malloc(POOL_BYTES);
    if (!shadow || !pool)
        abort();
    return 0;
}

struct done {
    bool is_done;
    int ret;
};

static void on_done(struct blk_req *req, int ret)
{
    struct done *d = req->opaque;
    d->is_done = true;
    d->ret = ret;
}

/* Submits (req) and runs the loop until it completes; returns its result. */
static int run(struct evloop *loop, struct blk *b, struct blk_req *req)
{
    struct done d = {0};
    req->done = on_done;
    req->opaque = &d;
    int ret = blk_submit(b, req);
    if (ret < 0)
        return ret;
    for (int i = 0; i < 10000 && !d.is_done; i++)
        (void)evloop_run_once(loop, 100);
    if (!d.is_done)
        abort(); /* a request that never completes */
    return d.ret;
}

struct cursor {
    const uint8_t *p;
    size_t left;
};

static uint32_t take(struct cursor *c, unsigned n)
{
    uint32_t v = 0;
    for (unsigned i = 0; i < n && c->left; i++, c->left--)
        v |= (uint32_t)*c->p++ << (8 * i);
    return v;
}

/* Builds the segments of one request into (iov); returns the total length. */
static size_t build_iov(struct cursor *c, bool is_read, struct iovec *iov, int *cnt)
{
    unsigned nseg = take(c, 1) % MAX_SEGS + 1;
    size_t total = 0, at = 0;
    for (unsigned i = 0; i < nseg; i++) {
        uint32_t skew = take(c, 2), len = take(c, 2) % 65536u + 1;
        if (total + len > MAX_REQ_BYTES)
            len = (uint32_t)(MAX_REQ_BYTES - total);
        size_t start = is_read ? at + skew % 4096u : skew % (POOL_BYTES - 65536u);
        if (start + len > POOL_BYTES)
            break;
        iov[i] = (struct iovec){pool + start, len};
        at = start + len;
        total += len;
        *cnt = (int)i + 1;
        if (total == MAX_REQ_BYTES)
            break;
    }
    /* A whole number of sectors: trim the last segment (or drop it). */
    while (*cnt > 0 && total % 512) {
        size_t cut = total % 512;
        struct iovec *last = &iov[*cnt - 1];
        if (last->iov_len > cut) {
            last->iov_len -= cut;
            total -= cut;
        } else {
            total -= last->iov_len;
            (*cnt)--;
        }
    }
    return total;
}

static void check_read(const struct iovec *iov, int cnt, uint64_t off)
{
    for (int i = 0; i < cnt; i++) {
        if (memcmp(iov[i].iov_base, shadow + off, iov[i].iov_len))
            abort(); /* read back differs from what was written */
        off += iov[i].iov_len;
    }
}

static void apply_write(const struct iovec *iov, int cnt, uint64_t off)
{
    for (int i = 0; i < cnt; i++) {
        memcpy(shadow + off, iov[i].iov_base, iov[i].iov_len);
        off += iov[i].iov_len;
    }
}

static void one_request(struct evloop *loop, struct blk *b, struct cursor *c)
{
    uint8_t op = (uint8_t)take(c, 1);
    uint64_t off = (uint64_t)(take(c, 2) % (DISK_BYTES / 512)) * 512;
    struct iovec iov[MAX_SEGS];
    struct blk_req req = {0};
    int cnt = 0;
    bool is_past = op & 0x80;
    if (is_past)
        off += DISK_BYTES - 512;
    switch (op % 4) {
    case 0:
    case 1: {
        bool is_read = op % 4 == 0;
        size_t len = build_iov(c, is_read, iov, &cnt);
        if (!cnt)
            return;
        if (!is_read) /* fresh data for every write */
            for (int i = 0; i < cnt; i++)
                memset(iov[i].iov_base, (int)(op ^ (unsigned)i ^ (unsigned)off), iov[i].iov_len);
        req = (struct blk_req){.op = is_read ? BLK_OP_READ : BLK_OP_WRITE,
                               .offset_bytes = off,
                               .len_bytes = len,
                               .iov = iov,
                               .iovcnt = cnt};
        int ret = run(loop, b, &req);
        bool fits = off + len <= DISK_BYTES;
        if (fits != (ret == 0))
            abort(); /* a fitting request failed, or one past the end succeeded */
        if (ret == 0 && is_read)
            check_read(iov, cnt, off);
        else if (ret == 0)
            apply_write(iov, cnt, off);
        return;
    }
    case 2: {
        uint64_t len = (uint64_t)(take(c, 2) % 512 + 1) * 512;
        req = (struct blk_req){.op = BLK_OP_WRITE_ZEROES, .offset_bytes = off, .len_bytes = len};
        int ret = run(loop, b, &req);
        if (ret == 0 && off + len <= DISK_BYTES)
            memset(shadow + off, 0, len);
        else if (ret == 0 || off + len <= DISK_BYTES)
            abort();
        return;
    }
    default:
        req = (struct blk_req){.op = BLK_OP_FLUSH};
        if (run(loop, b, &req) != 0)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cursor c = {data, size};
    struct evloop *loop;
    struct error err = {0};
    struct blk *b;
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || ftruncate(fd, DISK_BYTES) != 0)
        abort();
    close(fd);
    memset(shadow, 0, DISK_BYTES);
    if (evloop_create(&loop) != 0)
        abort();
    struct blk_open_opts o = {.path = path,
                              .format = BLK_FORMAT_RAW,
                              .cache = BLK_CACHE_NONE,
                              .needs_sync_engine = take(&c, 1) & 1};
    if (blk_open(&o, loop, &b, &err) != 0)
        abort(); /* O_DIRECT works on the file system of /var/tmp */
    for (int i = 0; i < 32 && c.left > 0; i++)
        one_request(loop, b, &c);
    blk_close(b);
    evloop_destroy(loop);
    return 0;
}

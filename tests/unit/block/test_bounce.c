/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the O_DIRECT bounce buffers of block/bounce.c (cache=none with guest buffers that
 * are not aligned): a guest that builds two requests from one 1 MiB buffer aliased 1022 times
 * must not make the monitor allocate the whole 2 GiB (the bounce pool is capped per disk and
 * requests wait for it), and bounced reads and writes still move the right bytes, also through
 * qcow2 where a request is split into runs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/evloop.h"
#include "block/blk.h"
#include "block/blk_internal.h"
#include "block/image.h"
#include "scratch.h"

#if defined(__SANITIZE_ADDRESS__)
#define HAS_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HAS_ASAN 1
#endif
#endif
#ifndef HAS_ASAN
#define HAS_ASAN 0
#endif

#define MIB (1ull << 20)
#define ALIASES 1022u
#define DISK_BYTES (1100 * MIB)

/* VmHWM (peak resident set) in KiB, after resetting it with (is_reset). */
static uint64_t peak_rss_kib(bool is_reset)
{
    char line[256];
    uint64_t kib = 0;
    FILE *f;

    if (is_reset) {
        f = fopen("/proc/self/clear_refs", "w");
        if (f) {
            fputs("5", f);
            fclose(f);
        }
    }
    f = fopen("/proc/self/status", "r");
    assert_non_null(f);
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "VmHWM: %lu kB", &kib) == 1)
            break;
    fclose(f);
    return kib;
}

struct done_count {
    int calls;
    int ret;
};

static void count_done(struct blk_req *req, int ret)
{
    struct done_count *d = req->opaque;

    d->calls++;
    if (ret < 0)
        d->ret = ret;
}

static struct blk_req make_req(enum blk_op op, uint64_t offset, struct iovec *iov, int iovcnt)
{
    return (struct blk_req){.op = op, .offset_bytes = offset, .iov = iov, .iovcnt = iovcnt};
}

/* Submits the (n) requests (req) together and runs (loop) until all complete; returns the
 * first error. */
static int run_batch(struct blk *b, struct evloop *loop, struct blk_req *req, unsigned n)
{
    struct done_count d = {0};

    for (unsigned i = 0; i < n; i++) {
        req[i].done = count_done;
        req[i].opaque = &d;
        assert_int_equal(blk_submit(b, &req[i]), 0);
    }
    while (d.calls < (int)n)
        evloop_run_once(loop, 1000);
    return d.ret;
}

/*
 * The attack of the review: two READ requests, each 1022 segments of the same misaligned 1 MiB
 * buffer, on a cache=none disk. Before the pool, each bounced through posix_memalign(1022 MiB)
 * and the peak RSS grew by 2 GiB; the pool keeps it to a few MiB.
 */
static void test_aliased_requests_bounded(void **state)
{
    char *path = scratch_file(DISK_BYTES);
    struct blk_open_opts o = {.path = path, .cache = BLK_CACHE_NONE};
    struct iovec *iov = calloc(ALIASES, sizeof(*iov));
    uint8_t *raw = malloc(MIB + 4096);
    struct blk_req req[2];
    struct error err = {0};
    struct evloop *loop;
    uint64_t before, after;
    struct blk *b;
    int ret;
    (void)state;

    assert_non_null(iov);
    assert_non_null(raw);
    memset(raw, 0x5a, MIB + 4096);
    for (unsigned i = 0; i < ALIASES; i++)
        iov[i] = (struct iovec){raw + 1, MIB}; /* misaligned: every byte bounces */
    assert_int_equal(evloop_create(&loop), 0);
    assert_int_equal(blk_open(&o, loop, &b, &err), 0);
    before = peak_rss_kib(true);
    for (unsigned i = 0; i < 2; i++)
        req[i] = make_req(BLK_OP_READ, i * 64 * MIB, iov, (int)ALIASES);
    ret = run_batch(b, loop, req, 2);
    after = peak_rss_kib(false);
    print_message("bounce attack: peak RSS %lu KiB before the requests, %lu KiB after "
                  "(+%lu MiB)\n",
                  (unsigned long)before, (unsigned long)after,
                  (unsigned long)((after - before) / 1024));
    assert_int_equal(ret, 0);
    assert_int_equal(raw[1], 0); /* the sparse file reads as zeros */
    if (!HAS_ASAN)               /* ASan's quarantine keeps freed chunks resident */
        assert_true(after - before < 64 * 1024);
    assert_true(blk_bounce_peak_bytes(b) <= BLK_BOUNCE_POOL_BYTES);
    blk_close(b);
    evloop_destroy(loop);
    unlink(path);
    free(path);
    free(raw);
    free(iov);
}

/* Misaligned writes then reads (larger than the pool, many in flight) keep their bytes. */
static void run_roundtrip(const char *path, bool is_qcow2)
{
    enum { NREQ = 24 };
    struct blk_open_opts o = {.path = path,
                              .cache = BLK_CACHE_NONE,
                              .format = is_qcow2 ? BLK_FORMAT_QCOW2 : BLK_FORMAT_RAW};
    uint64_t len = 3 * MIB + 512;
    uint8_t *src = malloc(len + 1), *dst = malloc(len * NREQ + 1);
    struct iovec wiov[NREQ], riov[NREQ];
    struct blk_req req[NREQ];
    struct error err = {0};
    struct evloop *loop;
    struct blk *b;

    assert_non_null(src);
    assert_non_null(dst);
    for (uint64_t i = 0; i < len; i++)
        src[i + 1] = (uint8_t)(i * 13 + i / 512);
    assert_int_equal(evloop_create(&loop), 0);
    assert_int_equal(blk_open(&o, loop, &b, &err), 0);
    /* writes: in place for raw, allocating for qcow2 */
    for (unsigned i = 0; i < NREQ; i++) {
        wiov[i] = (struct iovec){src + 1, len};
        req[i] = make_req(BLK_OP_WRITE, i * 4 * MIB, &wiov[i], 1);
    }
    assert_int_equal(run_batch(b, loop, req, NREQ), 0);
    /* rewrite in place (qcow2 clusters allocated now), then read everything back */
    assert_int_equal(run_batch(b, loop, req, NREQ), 0);
    for (unsigned i = 0; i < NREQ; i++) {
        riov[i] = (struct iovec){dst + 1 + i * len, len};
        req[i] = make_req(BLK_OP_READ, i * 4 * MIB, &riov[i], 1);
    }
    assert_int_equal(run_batch(b, loop, req, NREQ), 0);
    assert_true(blk_bounce_peak_bytes(b) <= BLK_BOUNCE_POOL_BYTES);
    for (unsigned i = 0; i < NREQ; i++)
        assert_memory_equal(dst + 1 + i * len, src + 1, len);
    blk_close(b);
    evloop_destroy(loop);
    free(src);
    free(dst);
}

static void test_roundtrip_raw(void **state)
{
    char *path = scratch_file(128 * MIB);
    (void)state;

    run_roundtrip(path, false);
    unlink(path);
    free(path);
}

static void test_roundtrip_qcow2(void **state)
{
    char *path = scratch_file(0);
    struct error err = {0};
    (void)state;

    assert_int_equal(qcow2_create(path, 128 * MIB, 0, NULL, NULL, true, &err), 0);
    run_roundtrip(path, true);
    unlink(path);
    free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_aliased_requests_bounded),
        cmocka_unit_test(test_roundtrip_raw),
        cmocka_unit_test(test_roundtrip_qcow2),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

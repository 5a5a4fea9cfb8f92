/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the generic block layer and the raw format (block/blk.h):
 * round trips through both engines (io_uring and the thread pool give the same bytes), async
 * completion never inside submit, bounds and read-only errors, OFD locking, O_DIRECT with
 * unaligned guest buffers (bounce buffers), discard and write-zeroes.
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
#include "scratch.h"

#define DISK_SIZE (4u << 20)

static struct blk *open_disk(const char *path, bool is_sync, bool is_ro, enum blk_cache cache,
                             int *ret_out)
{
    struct blk_open_opts o = {
        .path = path, .needs_sync_engine = is_sync, .is_readonly = is_ro, .cache = cache};
    struct error err = {0};
    struct blk *b = NULL;
    int ret = blk_open(&o, NULL, &b, &err);

    if (ret_out)
        *ret_out = ret;
    else
        assert_int_equal(ret, 0);
    return b;
}

/* The same writes through one engine; returns the disk contents. */
static uint8_t *run_pattern(bool is_sync)
{
    char *path = scratch_file(DISK_SIZE);
    struct blk *b = open_disk(path, is_sync, false, BLK_CACHE_WRITEBACK, NULL);
    uint8_t *buf = malloc(DISK_SIZE), *out = malloc(DISK_SIZE);

    for (unsigned i = 0; i < DISK_SIZE; i++)
        buf[i] = (uint8_t)(i * 7 + i / 4096);
    for (unsigned i = 0; i < 64; i++) {
        uint64_t off = (i * 40961ull * 512) % (DISK_SIZE - 65536), len = 512 * (1 + i % 64);
        off -= off % 512;
        assert_int_equal(blk_pwrite(b, buf + off, len, off), 0);
    }
    assert_int_equal(blk_discard(b, 8192, 65536, true), 0);
    assert_int_equal(blk_flush(b), 0);
    assert_int_equal(blk_pread(b, out, DISK_SIZE, 0), 0);
    assert_string_equal(blk_engine(b), is_sync ? "sync" : "io_uring");
    blk_close(b);
    unlink(path);
    free(path);
    free(buf);
    return out;
}

static void test_engines_agree(void **state)
{
    uint8_t *a = run_pattern(true), *b = run_pattern(false);
    (void)state;

    assert_memory_equal(a, b, DISK_SIZE);
    for (unsigned i = 65536; i < 65536 + 8192; i++)
        assert_int_equal(a[i], 0);
    free(a);
    free(b);
}

struct cb_state {
    int calls;
    int ret;
    bool is_in_submit;
};

static void count_done(struct blk_req *req, int ret)
{
    struct cb_state *s = req->opaque;

    assert_false(s->is_in_submit);
    s->calls++;
    s->ret = ret;
}

static void test_async_and_errors(void **state)
{
    char *path = scratch_file(DISK_SIZE);
    struct evloop *loop;
    struct blk_open_opts o = {.path = path};
    struct error err = {0};
    struct cb_state cs = {0};
    struct blk_stats st;
    struct blk *b;
    char buf[1024];
    struct iovec iov = {buf, sizeof(buf)};
    struct blk_req req = {.op = BLK_OP_READ,
                          .offset_bytes = DISK_SIZE - 512,
                          .iov = &iov,
                          .iovcnt = 1,
                          .done = count_done,
                          .opaque = &cs};
    (void)state;

    assert_int_equal(evloop_create(&loop), 0);
    assert_int_equal(blk_open(&o, loop, &b, &err), 0);
    cs.is_in_submit = true;
    assert_int_equal(blk_submit(b, &req), 0); /* past the end: completes with -EINVAL */
    cs.is_in_submit = false;
    assert_int_equal(cs.calls, 0);
    while (cs.calls == 0)
        evloop_run_once(loop, 1000);
    assert_int_equal(cs.ret, -EINVAL);
    blk_get_stats(b, &st); /* the stats of IDE and floppy drives: an error counts as one */
    assert_int_equal(st.errors, 1);
    assert_int_equal(st.read_ops, 0);
    assert_int_equal(st.in_flight, 0);
    req.offset_bytes = 0;
    cs.is_in_submit = true;
    assert_int_equal(blk_submit(b, &req), 0);
    cs.is_in_submit = false;
    blk_get_stats(b, &st);
    assert_int_equal(st.in_flight, 1);
    while (cs.calls == 1)
        evloop_run_once(loop, 1000);
    assert_int_equal(cs.ret, 0);
    blk_get_stats(b, &st);
    assert_int_equal(st.read_ops, 1);
    assert_int_equal(st.read_bytes, sizeof(buf));
    assert_int_equal(st.errors, 1);
    assert_int_equal(st.write_ops + st.flush_ops + st.discard_ops + st.in_flight, 0);
    blk_close(b);
    evloop_destroy(loop);

    b = open_disk(path, true, true, BLK_CACHE_WRITEBACK, NULL);
    assert_true(blk_is_readonly(b));
    assert_int_equal(blk_pwrite(b, buf, 512, 0), -EROFS);
    blk_close(b);
    unlink(path);
    free(path);
}

/* Plugged submissions reach the kernel at unplug and complete normally. */
static void test_plug(void **state)
{
    char *path = scratch_file(DISK_SIZE);
    struct evloop *loop;
    struct blk_open_opts o = {.path = path};
    struct error err = {0};
    struct cb_state cs = {0};
    static char bufs[16][4096];
    struct iovec iov[16];
    struct blk_req req[16];
    struct blk *b;
    (void)state;

    assert_int_equal(evloop_create(&loop), 0);
    assert_int_equal(blk_open(&o, loop, &b, &err), 0);
    blk_plug(b);
    for (int i = 0; i < 16; i++) {
        iov[i] = (struct iovec){bufs[i], sizeof(bufs[i])};
        req[i] = (struct blk_req){.op = BLK_OP_WRITE,
                                  .offset_bytes = (uint64_t)i * 8192,
                                  .iov = &iov[i],
                                  .iovcnt = 1,
                                  .done = count_done,
                                  .opaque = &cs};
        memset(bufs[i], i + 1, sizeof(bufs[i]));
        assert_int_equal(blk_submit(b, &req[i]), 0);
    }
    blk_unplug(b);
    while (cs.calls < 16)
        evloop_run_once(loop, 1000);
    assert_int_equal(cs.ret, 0);
    assert_int_equal(blk_pread(b, bufs[0], 4096, 15 * 8192), 0);
    assert_int_equal(bufs[0][100], 16);
    blk_close(b);
    evloop_destroy(loop);
    unlink(path);
    free(path);
}

static void test_locking(void **state)
{
    char *path = scratch_file(DISK_SIZE);
    struct blk *w = open_disk(path, true, false, BLK_CACHE_WRITEBACK, NULL), *x;
    int ret;
    (void)state;

    x = open_disk(path, true, false, BLK_CACHE_WRITEBACK, &ret);
    assert_int_equal(ret, -EBUSY);
    x = open_disk(path, true, true, BLK_CACHE_WRITEBACK, &ret);
    assert_int_equal(ret, -EBUSY);
    blk_close(w);
    w = open_disk(path, true, true, BLK_CACHE_WRITEBACK, NULL);
    x = open_disk(path, true, true, BLK_CACHE_WRITEBACK, NULL); /* readers share */
    blk_close(x);
    blk_close(w);
    unlink(path);
    free(path);
}

static void test_direct_bounce(void **state)
{
    char *path = scratch_file(DISK_SIZE);
    uint8_t *raw = malloc(8192 + 1), *back = malloc(8192 + 1);
    int ret;
    struct blk *b = open_disk(path, false, false, BLK_CACHE_NONE, &ret);
    (void)state;

    if (ret == -EINVAL) { /* filesystem without O_DIRECT (tmpfs) */
        unlink(path);
        free(path);
        free(raw);
        free(back);
        skip();
    }
    assert_int_equal(ret, 0);
    for (int i = 0; i < 8192; i++)
        raw[i + 1] = (uint8_t)(i ^ 0x55);
    assert_int_equal(blk_pwrite(b, raw + 1, 8192, 4096), 0); /* unaligned buffer */
    assert_int_equal(blk_pread(b, back + 1, 8192, 4096), 0);
    assert_memory_equal(raw + 1, back + 1, 8192);
    assert_int_equal(blk_pread(b, back + 1, 512, 4096 + 512), 0); /* sector granular */
    assert_memory_equal(raw + 1 + 512, back + 1, 512);
    blk_close(b);
    unlink(path);
    free(path);
    free(raw);
    free(back);
}

int main(void)
{
    const struct CMUnitTest tests[] = {

        cmocka_unit_test(test_engines_agree), cmocka_unit_test(test_async_and_errors),
        cmocka_unit_test(test_locking),       cmocka_unit_test(test_plug),
        cmocka_unit_test(test_direct_bounce),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

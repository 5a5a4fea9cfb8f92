/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the qcow2 jobs (block/qcow2/jobs.c): metadata changes run on an engine worker
 * thread, and requests submitted to the chain while a job runs wait for its end and then see
 * what it did; a disk closed with a job queued waits for it; the raw write-zeroes fallback and
 * the function calls run off the loop thread. The worker is held on purpose (a blocking call
 * queued first on the io_uring engine's one helper thread) so the interleavings are fixed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/evloop.h"
#include "block/blk.h"
#include "block/image.h"
#include "block/qcow2/qcow2.h"

#define CS 65536u

static char dir[] = "/tmp/bareiron-test-qcow2-jobs-XXXXXX";

static char *tpath(const char *name)
{
    static char p[2][512];
    static int i;
    char *r = p[i++ % 2];
    snprintf(r, 512, "%s/%s", dir, name);
    return r;
}

/* A call that blocks its worker until (gate) opens. */
struct gate {
    int is_open;
    int is_entered;
    int is_done;
    pthread_t thread;
};

static int gate_call(void *arg)
{
    struct gate *g = arg;

    g->thread = pthread_self();
    __atomic_store_n(&g->is_entered, 1, __ATOMIC_RELEASE);
    while (!__atomic_load_n(&g->is_open, __ATOMIC_ACQUIRE))
        usleep(1000);
    return 0;
}

static void gate_done(void *opaque, int ret)
{
    struct gate *g = opaque;

    assert_int_equal(ret, 0);
    g->is_done = 1;
}

struct waiter {
    int done;
    int ret;
};

static void req_done(struct blk_req *req, int ret)
{
    struct waiter *w = req->opaque;

    w->done++;
    w->ret = ret;
}

static struct blk *open_uring(const char *path, struct evloop *loop)
{
    struct blk_open_opts o = {.path = path};
    struct error err = {0};
    struct blk *b = NULL;

    if (blk_open(&o, loop, &b, &err) < 0)
        fail_msg("open %s: %s", path, err.message);
    return b;
}

static void run_until(struct evloop *loop, const int *flag)
{
    for (int i = 0; i < 10000 && !*flag; i++)
        evloop_run_once(loop, 10);
    assert_true(*flag);
}

/* A read of a cluster an allocating write is allocating, submitted while the write's job runs,
 * waits for the job and reads the new data; the loop thread stays free meanwhile. */
static void test_read_waits_for_job(void **state)
{
    const char *path = tpath("wait.qcow2");
    static uint8_t wbuf[CS], rbuf[CS];
    struct iovec wiov = {wbuf, CS}, riov = {rbuf, CS};
    struct waiter ww = {0}, rw = {0};
    struct blk_req wr = {
        .op = BLK_OP_WRITE, .iov = &wiov, .iovcnt = 1, .done = req_done, .opaque = &ww};
    struct blk_req rd = {
        .op = BLK_OP_READ, .iov = &riov, .iovcnt = 1, .done = req_done, .opaque = &rw};
    struct gate g = {0};
    struct error err = {0};
    struct evloop *loop;
    struct blk *b;
    (void)state;

    assert_int_equal(qcow2_create(path, 4u << 20, CS, NULL, NULL, true, &err), 0);
    assert_int_equal(evloop_create(&loop), 0);
    b = open_uring(path, loop);
    if (strcmp(blk_engine(b), "io_uring") != 0) {
        blk_close(b);
        evloop_destroy(loop);
        skip(); /* the thread-pool engine has several workers: no fixed interleaving */
    }
    assert_int_equal(blk_call_submit(b, gate_call, &g, gate_done, &g), 0);
    while (!__atomic_load_n(&g.is_entered, __ATOMIC_ACQUIRE))
        usleep(1000);
    memset(wbuf, 0xab, CS);
    memset(rbuf, 0x11, CS);
    assert_int_equal(blk_submit(b, &wr), 0);
    for (int i = 0; i < 100 && !qcow2_jobs_busy(qcow2_of(b)); i++)
        evloop_run_once(loop, 10);
    assert_true(qcow2_jobs_busy(qcow2_of(b))); /* queued behind the gate on the worker */
    assert_int_equal(blk_submit(b, &rd), 0);
    for (int i = 0; i < 5; i++)
        evloop_run_once(loop, 10);
    assert_int_equal(ww.done, 0);
    assert_int_equal(rw.done, 0); /* kept until the job ends */
    __atomic_store_n(&g.is_open, 1, __ATOMIC_RELEASE);
    run_until(loop, &rw.done);
    assert_int_equal(ww.done, 1);
    assert_int_equal(ww.ret, 0);
    assert_int_equal(rw.ret, 0);
    assert_memory_equal(rbuf, wbuf, CS);
    assert_true(g.is_done);
    assert_false(pthread_equal(g.thread, pthread_self()));
    blk_close(b);
    evloop_destroy(loop);
}

/* Closing a disk with allocating writes and a discard queued (jobs not started) completes each
 * request once, before the close returns, and leaves a clean image. */
static void test_close_with_jobs_queued(void **state)
{
    const char *path = tpath("close.qcow2");
    enum { N = 8 };
    static uint8_t data[N][CS];
    struct iovec iov[N];
    struct blk_req reqs[N + 1];
    struct waiter w[N + 1];
    struct disk_check_result r;
    struct error err = {0};
    struct evloop *loop;
    struct blk *b;
    uint8_t *out = malloc(CS);
    (void)state;

    assert_int_equal(qcow2_create(path, 4u << 20, CS, NULL, NULL, true, &err), 0);
    assert_int_equal(evloop_create(&loop), 0);
    b = open_uring(path, loop);
    memset(w, 0, sizeof(w));
    for (unsigned i = 0; i < N; i++) {
        memset(data[i], (int)(i + 1), CS);
        iov[i] = (struct iovec){data[i], CS};
        reqs[i] = (struct blk_req){.op = BLK_OP_WRITE,
                                   .offset_bytes = (uint64_t)i * CS,
                                   .iov = &iov[i],
                                   .iovcnt = 1,
                                   .done = req_done,
                                   .opaque = &w[i]};
    }
    reqs[N] = (struct blk_req){.op = BLK_OP_DISCARD,
                               .offset_bytes = CS,
                               .len_bytes = CS,
                               .done = req_done,
                               .opaque = &w[N]};
    for (unsigned i = 0; i <= N; i++)
        assert_int_equal(blk_submit(b, &reqs[i]), 0);
    blk_close(b);
    for (unsigned i = 0; i <= N; i++) {
        assert_int_equal(w[i].done, 1);
        assert_int_equal(w[i].ret, 0);
    }
    evloop_destroy(loop);
    assert_int_equal(disk_check(path, false, &r, &err), 0);
    assert_int_equal(r.corruptions, 0);
    b = open_uring(path, NULL);
    assert_int_equal(blk_pread(b, out, CS, 0), 0);
    assert_int_equal(out[0], 1);
    assert_int_equal(blk_pread(b, out, CS, CS), 0);
    assert_int_equal(out[0], 0); /* discarded after the write */
    assert_int_equal(blk_pread(b, out, CS, 7 * CS), 0);
    assert_int_equal(out[CS - 1], 8);
    blk_close(b);
    free(out);
}

static int setup(void **state)
{
    (void)state;
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[600];
    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read_waits_for_job),
        cmocka_unit_test(test_close_with_jobs_queued),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

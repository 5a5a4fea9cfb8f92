/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the qcow2 format (block/qcow2/): round trips compared with an in-memory raw
 * reference on both engines and several cluster sizes (including refcount table growth with
 * 512-byte clusters), reopen, refcount check after writes/discards, copy-on-write over a
 * backing file, growing, backing chain depth limit, and header validation on crafted headers.
 * qemu-img is the oracle in tests/integration/test_disk_qcow2.py; these run without it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/evloop.h"
#include "base/util.h"
#include "block/blk.h"
#include "block/image.h"
#include "block/qcow2/qcow2.h"
#include "scratch.h"

static uint64_t rng = 88172645463325252ull;
static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static struct blk *open_img(const char *path, bool is_sync, bool is_ro, int *ret_out,
                            struct error *err)
{
    struct blk_open_opts o = {.path = path, .needs_sync_engine = is_sync, .is_readonly = is_ro};
    struct error e = {0};
    struct blk *b = NULL;
    int ret = blk_open(&o, NULL, &b, err ? err : &e);

    if (ret_out)
        *ret_out = ret;
    else if (ret < 0)
        fail_msg("open %s: %s", path, e.message);
    return b;
}

static void check_clean(const char *path, bool allow_leaks)
{
    struct disk_check_result r;
    struct error err = {0};

    assert_int_equal(disk_check(path, false, &r, &err), 0);
    assert_int_equal(r.corruptions, 0);
    if (!allow_leaks)
        assert_int_equal(r.leaks, 0);
}

static void roundtrip(uint64_t cs, uint64_t size, bool is_sync)
{
    const char *path = scratch_path("rt.qcow2");
    uint8_t *ref = calloc(1, size), *out = malloc(size), *buf = malloc(1 << 20);
    struct error err = {0};
    struct blk *b;

    assert_int_equal(qcow2_create(path, size, cs, NULL, NULL, true, &err), 0);
    b = open_img(path, is_sync, false, NULL, NULL);
    assert_int_equal(blk_size_bytes(b), size);
    for (int i = 0; i < 300; i++) {
        uint64_t len = (rnd() % 512 + 1) * 512, off = rnd() % (size / 512) * 512;
        len = MIN(len, size - off);
        if (i % 10 == 9) {
            off -= off % cs;
            len = MIN(ALIGN_UP(len, cs), size - off);
            assert_int_equal(blk_discard(b, len, off, i % 20 == 9), 0);
            memset(ref + off, 0, len);
            continue;
        }
        for (uint64_t k = 0; k < len; k++)
            buf[k] = (uint8_t)rnd();
        assert_int_equal(blk_pwrite(b, buf, len, off), 0);
        memcpy(ref + off, buf, len);
    }
    assert_int_equal(blk_pread(b, out, size, 0), 0);
    assert_memory_equal(out, ref, size);
    blk_close(b);
    b = open_img(path, !is_sync, true, NULL, NULL);
    memset(out, 0xee, size);
    assert_int_equal(blk_pread(b, out, size, 0), 0);
    assert_memory_equal(out, ref, size);
    blk_close(b);
    check_clean(path, false);
    free(ref);
    free(out);
    free(buf);
}

static void test_roundtrip_64k_uring(void **state)
{
    (void)state;
    roundtrip(65536, 32u << 20, false);
}

static void test_roundtrip_4k_sync(void **state)
{
    (void)state;
    roundtrip(4096, 16u << 20, true);
}

static void test_roundtrip_512_reftable_growth(void **state)
{
    (void)state;
    roundtrip(512, 24u << 20, false);
}

static void test_backing_cow(void **state)
{
    const char *base = scratch_path("base.raw"), *ov = scratch_path("ov.qcow2");
    uint8_t *pat = malloc(1 << 20), *out = malloc(1 << 20), w[1024];
    struct error err = {0};
    struct blk *b;
    (void)state;

    for (int i = 0; i < (1 << 20); i++)
        pat[i] = (uint8_t)(i * 31 + 7);
    assert_int_equal(write_file_atomic(base, pat, 1 << 20, 0644), 0);
    assert_int_equal(qcow2_create(ov, 0, 65536, "base.raw", NULL, true, &err), 0);
    b = open_img(ov, false, false, NULL, NULL);
    assert_int_equal(blk_size_bytes(b), 1 << 20);
    memset(w, 0xab, sizeof(w));
    assert_int_equal(blk_pwrite(b, w, sizeof(w), 70000 - 70000 % 512), 0); /* mid-cluster */
    memcpy(pat + 70000 - 70000 % 512, w, sizeof(w));
    assert_int_equal(blk_discard(b, 65536, 196608, false), 0); /* v3 + backing: zero cluster */
    memset(pat + 196608, 0, 65536);
    assert_int_equal(blk_pread(b, out, 1 << 20, 0), 0);
    assert_memory_equal(out, pat, 1 << 20);
    blk_close(b);
    check_clean(ov, false);
    /* the base is read-only (shared lock) while the overlay is open */
    b = open_img(ov, true, true, NULL, NULL);
    struct blk *wb = open_img(base, true, false, &(int){0}, NULL);
    assert_null(wb);
    blk_close(b);
    free(pat);
    free(out);
}

static void test_grow(void **state)
{
    const char *path = scratch_path("grow.qcow2");
    struct error err = {0};
    uint8_t buf[4096], out[4096];
    struct blk *b;
    (void)state;

    assert_int_equal(qcow2_create(path, 1 << 20, 512, NULL, NULL, true, &err), 0);
    assert_int_equal(disk_resize(path, BLK_FORMAT_AUTO, 64u << 20, false, &err), 0);
    assert_int_equal(disk_resize(path, BLK_FORMAT_AUTO, 1u << 20, false, &err), -ENOTSUP);
    b = open_img(path, false, false, NULL, NULL);
    assert_int_equal(blk_size_bytes(b), 64u << 20);
    memset(buf, 0x42, sizeof(buf));
    assert_int_equal(blk_pwrite(b, buf, sizeof(buf), (64u << 20) - 4096), 0);
    assert_int_equal(blk_pread(b, out, sizeof(out), (64u << 20) - 4096), 0);
    assert_memory_equal(buf, out, sizeof(buf));
    blk_close(b);
    check_clean(path, false);
}

static void test_chain_depth(void **state)
{
    struct error err = {0};
    char name[64], prev[64];
    int ret;
    (void)state;

    assert_int_equal(disk_create_raw(scratch_path("c0"), 1 << 20, true, &err), 0);
    for (int i = 1; i <= BLK_MAX_CHAIN_DEPTH + 1; i++) {
        snprintf(prev, sizeof(prev), "c%d", i - 1);
        snprintf(name, sizeof(name), "c%d", i);
        assert_int_equal(qcow2_create(scratch_path(name), 0, 65536, prev, NULL, true, &err), 0);
    }
    assert_null(open_img(scratch_path(name), true, true, &ret, &err));
    assert_int_equal(ret, -ELOOP);
    assert_non_null(strstr(err.message, "backing chain"));
}

/* Builds a valid header in (buf) from a fresh image; returns the file size. */
static uint64_t fresh_header(uint8_t *buf, size_t len)
{
    const char *path = scratch_path("hdr.qcow2");
    struct error err = {0};
    int fd;

    assert_int_equal(qcow2_create(path, 1 << 30, 65536, NULL, NULL, true, &err), 0);
    fd = open(path, O_RDONLY);
    assert_int_equal(pread_full(fd, buf, len, 0), 0);
    close(fd);
    return 4 * 65536;
}

static void expect_refused(const uint8_t *buf, size_t len, uint64_t fsize, const char *what)
{
    struct qcow2_meta m;
    struct error err = {0};

    assert_true(qcow2_parse_header(buf, len, fsize, "x", &m, &err) < 0);
    if (!strstr(err.message, what))
        fail_msg("expected '%s' in '%s'", what, err.message);
}

static void test_header_validation(void **state)
{
    static uint8_t good[65536], buf[65536];
    struct qcow2_meta m;
    struct error err = {0};
    uint64_t fs = fresh_header(good, sizeof(good));
    (void)state;

#define MUTATE(stmt, what)                                                                         \
    do {                                                                                           \
        memcpy(buf, good, sizeof(buf));                                                            \
        stmt;                                                                                      \
        expect_refused(buf, sizeof(buf), fs, what);                                                \
    } while (0)
    assert_int_equal(qcow2_parse_header(good, sizeof(good), fs, "x", &m, &err), 0);
    MUTATE(buf[0] = 'X', "bad magic");
    MUTATE(be32_store(buf + 4, 4), "version 4");
    MUTATE(be32_store(buf + 20, 30), "cluster_bits 30");
    MUTATE(be32_store(buf + 36, 0x10000000), "L1 table too large");
    MUTATE(be32_store(buf + 36, 1), "L1 table too small");
    MUTATE(be64_store(buf + 40, 1ull << 40), "L1 table offset");
    MUTATE(be64_store(buf + 48, 0), "refcount table offset");
    MUTATE(be32_store(buf + 56, 0x40000000), "refcount table size");
    MUTATE(be32_store(buf + 32, 1), "encrypted");
    MUTATE(be64_store(buf + 72, 1ull << 2), "external data");
    MUTATE(be64_store(buf + 72, 1ull << 4), "extended L2");
    MUTATE((be64_store(buf + 72, 1ull << 3), buf[104] = 1), "zstd");
    MUTATE(be64_store(buf + 72, 1ull << 10), "bit 10");
    MUTATE(be32_store(buf + 100, 7), "header length");
    MUTATE(be32_store(buf + 96, 7), "refcount_order");
    MUTATE((be64_store(buf + 8, 60000), be32_store(buf + 16, 9000)), "backing file name");
    MUTATE((be32_store(buf + 112, QCOW2_EXT_BACKING_FORMAT), be32_store(buf + 116, 100000)),
           "extension");
    expect_refused(good, 50, fs, "too small");
#undef MUTATE
}

static void test_l1_past_eof(void **state)
{
    const char *path = scratch_path("l1.qcow2");
    struct error err = {0};
    uint8_t e[8], buf[512] = {1};
    struct blk *b;
    int fd, ret;
    (void)state;

    assert_int_equal(qcow2_create(path, 1 << 20, 65536, NULL, NULL, true, &err), 0);
    b = open_img(path, true, false, NULL, NULL);
    assert_int_equal(blk_pwrite(b, buf, sizeof(buf), 0), 0);
    blk_close(b);
    fd = open(path, O_RDWR);
    be64_store(e, (1ull << 40) | QCOW2_OFLAG_COPIED);
    assert_int_equal(pwrite_full(fd, e, 8, 3 * 65536), 0); /* L1 entry 0 */
    close(fd);
    assert_null(open_img(path, true, true, &ret, &err));
    assert_int_equal(ret, -EINVAL);
    assert_non_null(strstr(err.message, "L1 entry 0"));
}

struct async_state {
    int pending;
    int errors;
};

static void async_done(struct blk_req *req, int ret)
{
    struct async_state *st = req->opaque;

    st->pending--;
    st->errors += ret != 0;
}

/* Many allocating writes (several per cluster, over a backing file) and a discard submitted
 * in one round: they run as one batch; every byte must land. */
static void test_batched_async_writes(void **state)
{
    const char *base = scratch_path("bbase.raw"), *path = scratch_path("batch.qcow2");
    enum { N = 96, SZ = 4u << 20 };
    static struct blk_req reqs[N + 1];
    static struct iovec iov[N];
    static uint8_t data[N][4096];
    uint8_t *ref = malloc(SZ), *out = malloc(SZ);
    struct blk_open_opts o = {.path = path};
    struct async_state st = {0};
    struct error err = {0};
    struct evloop *loop;
    struct blk *b;
    (void)state;

    for (unsigned i = 0; i < SZ; i++)
        ref[i] = (uint8_t)(i / 512 + 3);
    assert_int_equal(write_file_atomic(base, ref, SZ, 0644), 0);
    assert_int_equal(qcow2_create(path, 0, 65536, "bbase.raw", "raw", true, &err), 0);
    assert_int_equal(evloop_create(&loop), 0);
    assert_int_equal(blk_open(&o, loop, &b, &err), 0);
    for (unsigned i = 0; i < N; i++) { /* 6 clusters x 16 slots, in a scrambled order */
        unsigned slot = (i * 37) % N, cl = slot / 16, k = slot % 16;
        uint64_t off = (uint64_t)cl * 3 * 65536 + k * 4096;
        memset(data[i], (int)(i + 1), sizeof(data[i]));
        iov[i] = (struct iovec){data[i], sizeof(data[i])};
        reqs[i] = (struct blk_req){.op = BLK_OP_WRITE,
                                   .offset_bytes = off,
                                   .iov = &iov[i],
                                   .iovcnt = 1,
                                   .done = async_done,
                                   .opaque = &st};
        memcpy(ref + off, data[i], sizeof(data[i]));
    }
    reqs[N] = (struct blk_req){.op = BLK_OP_DISCARD,
                               .offset_bytes = 65536,
                               .len_bytes = 65536,
                               .done = async_done,
                               .opaque = &st};
    memset(ref + 65536, 0, 65536); /* v3 over a backing file: a zero cluster */
    for (unsigned i = 0; i <= N; i++) {
        assert_int_equal(blk_submit(b, &reqs[i]), 0);
        st.pending++;
    }
    while (st.pending > 0)
        evloop_run_once(loop, 1000);
    assert_int_equal(st.errors, 0);
    assert_int_equal(blk_pread(b, out, SZ, 0), 0);
    assert_memory_equal(out, ref, SZ);
    blk_close(b);
    evloop_destroy(loop);
    check_clean(path, false);
    free(ref);
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_64k_uring),
        cmocka_unit_test(test_roundtrip_4k_sync),
        cmocka_unit_test(test_roundtrip_512_reftable_growth),
        cmocka_unit_test(test_backing_cow),
        cmocka_unit_test(test_grow),
        cmocka_unit_test(test_chain_depth),
        cmocka_unit_test(test_header_validation),
        cmocka_unit_test(test_l1_past_eof),
        cmocka_unit_test(test_batched_async_writes),
    };
    return cmocka_run_group_tests(tests, scratch_setup, scratch_teardown);
}

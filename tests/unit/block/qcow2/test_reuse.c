/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of qcow2 cluster reuse while the image stays open (qcow2/reuse.c): write/discard
 * churn keeps the file size bounded (it grew by every cluster ever freed until EFBIG) and
 * leaves a clean image (our check and qemu-img check), and a freed cluster is not handed out
 * again while a data transfer that was in flight when it was freed has not completed.
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
#include <sys/stat.h>
#include <unistd.h>

#include "block/blk.h"
#include "block/image.h"
#include "block/qcow2/qcow2.h"

#define MIB (1ull << 20)

static char *make_qcow2(uint64_t size)
{
    char *path = strdup("/tmp/bareiron-test-reuse-XXXXXX");
    struct error err = {0};
    int fd = mkstemp(path);

    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(qcow2_create(path, size, 0, NULL, NULL, true, &err), 0);
    return path;
}

static struct blk *open_rw(const char *path)
{
    struct blk_open_opts o = {.path = path, .format = BLK_FORMAT_QCOW2, .needs_sync_engine = true};
    struct error err = {0};
    struct blk *b = NULL;

    assert_int_equal(blk_open(&o, NULL, &b, &err), 0);
    return b;
}

static uint64_t file_bytes(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return (uint64_t)st.st_size;
}

static void test_churn_bounded(void **state)
{
    char *path = make_qcow2(64 * MIB);
    struct blk *b = open_rw(path);
    uint8_t *buf = malloc(MIB);
    struct disk_check_result r;
    struct error err = {0};
    uint64_t size;
    char cmd[256];
    (void)state;

    assert_non_null(buf);
    for (unsigned i = 0; i < 300; i++) {
        uint64_t off = (i % 8) * MIB;
        memset(buf, (int)i, MIB);
        assert_int_equal(blk_pwrite(b, buf, MIB, off), 0);
        if (i % 3 == 2)
            assert_int_equal(blk_discard(b, MIB, off, true), 0); /* write-zeroes */
        else
            assert_int_equal(blk_discard(b, MIB, off, false), 0);
    }
    assert_int_equal(blk_pwrite(b, buf, MIB, 0), 0);
    size = file_bytes(path);
    print_message("file after 300 x (1 MiB write + discard): %llu KiB\n",
                  (unsigned long long)(size >> 10));
    /* 8 MiB of guest data at most, plus metadata: without reuse this was 300 MiB */
    assert_true(size < 12 * MIB);
    blk_close(b);
    assert_int_equal(disk_check(path, false, &r, &err), 0);
    assert_int_equal(r.corruptions, 0);
    assert_int_equal(r.leaks, 0);
    if (access("/usr/bin/qemu-img", X_OK) == 0) {
        snprintf(cmd, sizeof(cmd), "/usr/bin/qemu-img check -q '%s'", path);
        assert_int_equal(system(cmd), 0);
    }
    unlink(path);
    free(path);
    free(buf);
}

/* A cluster freed while a transfer is in flight keeps its refcount until that transfer ends
 * (then a job frees it). */
static void test_free_waits_for_inflight(void **state)
{
    char *path = make_qcow2(16 * MIB);
    struct blk *b = open_rw(path);
    struct qcow2 *s = qcow2_of(b);
    uint8_t buf[4096] = {1};
    uint64_t entry, host, v;
    unsigned tag, tag2;
    (void)state;

    assert_int_equal(blk_pwrite(b, buf, sizeof(buf), 0), 0);
    assert_int_equal(qcow2_l2_lookup(s, 0, &entry), 0);
    assert_int_equal(qcow2_entry_type(s, entry, &host), QCOW2_NORMAL);
    tag = qcow2_io_begin(s); /* a guest read of cluster 0, in flight */
    assert_int_equal(qcow2_free_range(s, host, s->cluster_size), 0);
    qcow2_reuse_poll(s);
    assert_int_equal(qcow2_refcount_get(s, host / s->cluster_size, &v), 0);
    assert_int_equal(v, 1);   /* still held */
    tag2 = qcow2_io_begin(s); /* started after the free: need not be waited for */
    qcow2_io_end(s, tag);
    qcow2_jobs_wait(s); /* the free runs in a job on a worker thread */
    assert_int_equal(qcow2_refcount_get(s, host / s->cluster_size, &v), 0);
    assert_int_equal(v, 0);
    qcow2_io_end(s, tag2);
    blk_close(b);
    unlink(path);
    free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_churn_bounded),
        cmocka_unit_test(test_free_waits_for_inflight),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: MIT */
/* Unit tests for dev/legacy/pflash.c: the CFI command state machine (OVMF's flash probe,
 * program, block erase, status, identifier, CFI query), sequence errors, hostile offsets and the
 * saved state (mode and bytes back in a fresh bank, the changed blocks persisted; hostile
 * geometry, mode and offsets refused). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "base/statefile.h"
#include "dev/legacy/pflash.h"

#define SIZE 0x84000u /* OVMF_VARS_4M.fd */
#define BLOCK 0x1000u

struct ctx {
    struct pflash f;
    uint8_t array[SIZE];
    unsigned persists, syncs, mode_changes;
    uint64_t last_off;
    size_t last_len;
    bool is_array;
};

static void on_persist(void *opaque, uint64_t off, size_t len)
{
    struct ctx *c = opaque;
    c->persists++;
    c->last_off = off;
    c->last_len = len;
}

static void on_sync(void *opaque)
{
    ((struct ctx *)opaque)->syncs++;
}

static void on_mode(void *opaque, bool is_array)
{
    struct ctx *c = opaque;
    c->mode_changes++;
    c->is_array = is_array;
}

static const struct pflash_hooks hooks = {on_persist, on_sync, on_mode};

static struct ctx *new_ctx(void)
{
    static struct ctx c;
    memset(&c, 0, sizeof(c));
    for (unsigned i = 0; i < SIZE; i++)
        c.array[i] = (uint8_t)i;
    c.is_array = true;
    assert_int_equal(pflash_init(&c.f, c.array, SIZE, BLOCK, &hooks, &c), 0);
    return &c;
}

static void test_init_checks(void **state)
{
    struct pflash f;
    uint8_t a[4096];
    (void)state;
    assert_int_equal(pflash_init(&f, a, sizeof(a), 1000, NULL, NULL), -EINVAL);
    assert_int_equal(pflash_init(&f, a, 4000, 4096, NULL, NULL), -EINVAL);
    assert_int_equal(pflash_init(&f, NULL, 4096, 4096, NULL, NULL), -EINVAL);
    assert_int_equal(pflash_init(&f, a, sizeof(a), 4096, NULL, NULL), 0);
    pflash_write(&f, 0, 0x10, 1); /* no hooks: fine */
    pflash_write(&f, 0, 0xaa, 1);
    assert_int_equal(a[0], 0xaa);
}

/* OVMF's QemuFlashDetected: 0x50 then a read, 0x70 then a read (0 means flash), 0xff. */
static void test_ovmf_probe(void **state)
{
    struct ctx *c = new_ctx();
    (void)state;
    pflash_write(&c->f, 0x10, 0x50, 1);
    assert_int_equal(pflash_read(&c->f, 0x10, 1), 0x10); /* array mode: the original byte */
    pflash_write(&c->f, 0x10, 0x70, 1);
    assert_false(c->is_array);
    assert_int_equal(pflash_read(&c->f, 0x10, 1), 0x00);
    pflash_write(&c->f, 0x10, 0xff, 1);
    assert_true(c->is_array);
    assert_int_equal(pflash_read(&c->f, 0x10, 1), 0x10);
    assert_int_equal(c->persists, 0);
    assert_int_equal(c->syncs, 0);
}

static void test_program(void **state)
{
    struct ctx *c = new_ctx();
    (void)state;
    pflash_write(&c->f, 0x1234, 0x10, 1);
    assert_false(c->is_array);
    pflash_write(&c->f, 0x1234, 0x5a, 1);
    assert_int_equal(c->array[0x1234], 0x5a);
    assert_int_equal(c->persists, 1);
    assert_int_equal(c->last_off, 0x1234);
    assert_int_equal(c->last_len, 1);
    assert_int_equal(pflash_read(&c->f, 0, 1), PFLASH_STATUS_READY); /* status after program */
    pflash_write(&c->f, 0x2000, 0x40, 1);
    pflash_write(&c->f, 0x2000, 0x11223344, 4);
    assert_int_equal(pflash_read(&c->f, 0x2000, 4), PFLASH_STATUS_READY * 0x01010101u);
    assert_int_equal(c->syncs, 0);
    pflash_write(&c->f, 0, 0xff, 1);
    assert_int_equal(c->syncs, 1);
    assert_int_equal(pflash_read(&c->f, 0x2000, 4), 0x11223344);
    pflash_write(&c->f, 0, 0xff, 1); /* nothing changed since: no sync */
    assert_int_equal(c->syncs, 1);
}

static void test_erase(void **state)
{
    struct ctx *c = new_ctx();
    (void)state;
    pflash_write(&c->f, 0x3456, 0x20, 1);
    pflash_write(&c->f, 0x0, 0xd0, 1);
    for (unsigned i = 0x3000; i < 0x4000; i++)
        assert_int_equal(c->array[i], 0xff);
    assert_int_equal(c->array[0x2fff], 0xff & 0x2fff);
    assert_int_equal(c->array[0x4000], 0x00);
    assert_int_equal(c->last_off, 0x3000);
    assert_int_equal(c->last_len, BLOCK);
    assert_int_equal(pflash_read(&c->f, 0x3456, 1), PFLASH_STATUS_READY);
    pflash_write(&c->f, 0, 0xff, 1);
    assert_int_equal(c->syncs, 1);
    /* the last block */
    pflash_write(&c->f, SIZE - 1, 0x20, 1);
    pflash_write(&c->f, SIZE - 1, 0xd0, 1);
    assert_int_equal(c->array[SIZE - BLOCK], 0xff);
    assert_int_equal(c->array[SIZE - 1], 0xff);
}

static void test_sequence_errors(void **state)
{
    struct ctx *c = new_ctx();
    (void)state;
    /* an erase not confirmed: nothing erased, error bits, back to array mode */
    pflash_write(&c->f, 0x1000, 0x20, 1);
    pflash_write(&c->f, 0x1000, 0x10, 1);
    assert_true(c->is_array);
    assert_int_equal(c->array[0x1001], 0x01);
    assert_int_equal(c->persists, 0);
    pflash_write(&c->f, 0, 0x70, 1);
    assert_int_equal(pflash_read(&c->f, 0, 1), PFLASH_STATUS_READY | PFLASH_STATUS_SEQ_ERROR);
    pflash_write(&c->f, 0, 0x50, 1);
    pflash_write(&c->f, 0, 0x70, 1);
    assert_int_equal(pflash_read(&c->f, 0, 1), 0);
    /* a confirm on its own, an unknown command */
    pflash_write(&c->f, 0, 0xd0, 1);
    assert_true(c->is_array);
    assert_int_equal(c->persists, 0);
    pflash_write(&c->f, 0, 0xe8, 1);
    assert_true(c->is_array);
    assert_int_equal(pflash_read(&c->f, 5, 1), 5);
    pflash_reset(&c->f);
    pflash_write(&c->f, 0, 0x70, 1);
    assert_int_equal(pflash_read(&c->f, 0, 1), PFLASH_STATUS_READY);
}

static void test_id_and_cfi(void **state)
{
    struct ctx *c = new_ctx();
    (void)state;
    pflash_write(&c->f, 0, 0x90, 1);
    assert_int_equal(pflash_read(&c->f, 0, 1), PFLASH_MANUFACTURER);
    assert_int_equal(pflash_read(&c->f, 1, 1), PFLASH_DEVICE);
    pflash_write(&c->f, 0, 0x98, 1);
    assert_int_equal(pflash_read(&c->f, 0x10, 1), 'Q');
    assert_int_equal(pflash_read(&c->f, 0x11, 1), 'R');
    assert_int_equal(pflash_read(&c->f, 0x12, 1), 'Y');
    assert_int_equal(pflash_read(&c->f, 0x13, 2), 1);
    assert_int_equal(pflash_read(&c->f, 0x2c, 1), 1);
    assert_int_equal(pflash_read(&c->f, 0x2d, 2), SIZE / BLOCK - 1);
    assert_int_equal(pflash_read(&c->f, 0x2f, 2), BLOCK >> 8);
    assert_int_equal(pflash_read(&c->f, 0x1000, 1), 0);
    pflash_write(&c->f, 0, 0xff, 1);
    assert_int_equal(pflash_read(&c->f, 0x10, 1), 0x10);
}

static void test_hostile_offsets(void **state)
{
    struct ctx *c = new_ctx();
    (void)state;
    assert_int_equal(pflash_read(&c->f, SIZE, 1), UINT64_MAX);
    assert_int_equal(pflash_read(&c->f, SIZE - 2, 4), 0xffffffffffffffffULL);
    assert_int_equal(pflash_read(&c->f, UINT64_MAX, 8), 0xffffffffffffffffULL);
    assert_int_equal(pflash_read(&c->f, 0, 3), 0xffffffffffffffffULL);
    pflash_write(&c->f, 0, 0x10, 1);
    pflash_write(&c->f, SIZE - 4, 0x1122334455667788ULL, 8); /* past the end: dropped */
    pflash_write(&c->f, UINT64_MAX - 3, 0, 8);
    assert_int_equal(c->persists, 0);
    pflash_write(&c->f, SIZE - 8, 0x1122334455667788ULL, 8);
    assert_int_equal(c->array[SIZE - 1], 0x11);
    assert_int_equal(c->last_off, SIZE - 8);
    pflash_write(&c->f, UINT64_MAX, 0x20, 1);
    pflash_write(&c->f, 0, 0xff, 1);
    assert_true(c->is_array);
}

static void test_state(void **state)
{
    static struct ctx saved;
    struct ctx *c = new_ctx();
    struct sf_buf b = {0};
    struct sf_in in;
    (void)state;
    pflash_write(&c->f, 0x2000, 0x10, 1); /* program 0x5a at 0x2000, left in read status */
    pflash_write(&c->f, 0x2000, 0x5a, 1);
    pflash_save(&c->f, &b);
    assert_false(b.failed);
    saved = *c;
    c = new_ctx(); /* a fresh bank: the template's bytes, read array mode */
    c->persists = c->syncs = c->mode_changes = 0;
    sf_in_init(&in, b.data, b.len);
    assert_int_equal(pflash_load(&c->f, &in), 0);
    assert_int_equal(c->array[0x2000], 0x5a);
    assert_int_equal(c->persists, 1); /* the one block that differs */
    assert_int_equal(c->last_off, 0x2000);
    assert_int_equal(c->last_len, BLOCK);
    assert_int_equal(c->syncs, 1);
    assert_false(c->is_array); /* read status: reads come through pflash_read */
    assert_int_equal(pflash_read(&c->f, 0, 1), PFLASH_STATUS_READY);
    pflash_write(&c->f, 0, 0xff, 1);
    assert_true(c->is_array);
    assert_memory_equal(c->array, saved.array, SIZE);
    /* hostile: another size, an unknown mode, an erase offset outside, a flag of 2, short */
    static const struct {
        size_t off;
        uint8_t val;
    } bad[] = {{0, 0x01}, {8, 0x01}, {12, 9}, {21, 0x10}, {22, 2}};
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint8_t keep = b.data[bad[i].off];
        c = new_ctx();
        b.data[bad[i].off] = bad[i].val;
        sf_in_init(&in, b.data, b.len);
        assert_int_equal(pflash_load(&c->f, &in), -EINVAL);
        assert_int_equal(c->persists, 0);
        assert_true(c->is_array);
        b.data[bad[i].off] = keep;
    }
    sf_in_init(&in, b.data, b.len - 1);
    assert_int_equal(pflash_load(&c->f, &in), -EINVAL);
    sf_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_checks),     cmocka_unit_test(test_ovmf_probe),
        cmocka_unit_test(test_program),         cmocka_unit_test(test_erase),
        cmocka_unit_test(test_sequence_errors), cmocka_unit_test(test_id_and_cfi),
        cmocka_unit_test(test_hostile_offsets), cmocka_unit_test(test_state),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

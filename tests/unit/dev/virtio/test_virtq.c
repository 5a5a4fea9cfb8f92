/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for dev/virtio/virtq.c over a real gmem: chains, indirect tables, loops, lengths
 * that wrap or leave RAM, bad queue sizes and ring addresses, avail.idx far ahead, wrong
 * descriptor directions and notification suppression (virtio 1.2 §2.7).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/gmem.h"
#include "dev/virtio/virtq.h"
#include "guest_ring.h"

#define RAM_BYTES (16ULL << 20)
#define RING_GPA 0x10000ULL
#define TABLE_GPA 0x80000ULL
#define BUF_GPA 0x100000ULL
#define QSIZE 16

struct fixture {
    struct gmem *gm;
    struct guest_ring r;
    struct virtq vq;
    struct iovec iov[VIRTQ_CHAIN_MAX];
    struct virtq_elem elem;
};

static int setup_opts(void **state, bool has_event_idx, bool has_indirect)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    assert_int_equal(gmem_create(&f->gm), 0);
    assert_int_equal(gmem_add_region(f->gm, 0, RAM_BYTES, "ram", false, NULL), 0);
    guest_ring_init(&f->r, f->gm, RING_GPA, QSIZE);
    assert_int_equal(virtq_init(&f->vq, f->gm, QSIZE, f->r.desc_gpa, f->r.avail_gpa, f->r.used_gpa,
                                has_event_idx, has_indirect),
                     0);
    f->elem.iov = f->iov;
    f->elem.iov_cap = VIRTQ_CHAIN_MAX;
    *state = f;
    return 0;
}

static int setup(void **state)
{
    return setup_opts(state, false, true);
}

static int setup_event_idx(void **state)
{
    return setup_opts(state, true, true);
}

static int setup_no_indirect(void **state)
{
    return setup_opts(state, false, false);
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    gmem_destroy(f->gm);
    free(f);
    return 0;
}

static void expect_broken(struct fixture *f)
{
    assert_int_equal(virtq_pop(&f->vq, &f->elem), -EIO);
    assert_true(f->vq.is_broken);
    /* and it stays broken */
    assert_int_equal(virtq_pop(&f->vq, &f->elem), -EIO);
    assert_int_equal(virtq_push(&f->vq, 0, 0), -EIO);
}

static void test_chain(void **state)
{
    struct fixture *f = *state;
    uint32_t id, len;

    assert_int_equal(virtq_pop(&f->vq, &f->elem), 0);
    guest_ring_desc(&f->r, 0, 3, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 7);
    guest_ring_desc(&f->r, 0, 7, BUF_GPA + 0x1000, 100, VIRTQ_DESC_F_NEXT, 1);
    guest_ring_desc(&f->r, 0, 1, BUF_GPA + 0x2000, 1, VIRTQ_DESC_F_WRITE, 0);
    guest_ring_publish(&f->r, 3);
    assert_true(virtq_has_avail(&f->vq));
    assert_int_equal(virtq_pop(&f->vq, &f->elem), 1);
    assert_int_equal(f->elem.head, 3);
    assert_int_equal(f->elem.n_readable, 2);
    assert_int_equal(f->elem.n_writable, 1);
    assert_int_equal(f->elem.readable_bytes, 116);
    assert_int_equal(f->elem.writable_bytes, 1);
    assert_ptr_equal(f->iov[0].iov_base, gmem_ptr(f->gm, BUF_GPA, 16));
    assert_int_equal(f->iov[1].iov_len, 100);
    assert_ptr_equal(f->iov[2].iov_base, gmem_ptr(f->gm, BUF_GPA + 0x2000, 1));
    assert_int_equal(virtq_pop(&f->vq, &f->elem), 0);
    assert_false(virtq_has_avail(&f->vq));

    assert_int_equal(virtq_push(&f->vq, 3, 1), 0);
    assert_true(guest_ring_used(&f->r, &id, &len));
    assert_int_equal(id, 3);
    assert_int_equal(len, 1);
    assert_false(guest_ring_used(&f->r, &id, &len));
}

static bool is_marked(const uint64_t *bm, uint64_t gpa)
{
    uint64_t p = gpa / 4096;
    return (bm[p / 64] >> (p % 64)) & 1;
}

/* A live save's marks (core/gmem.h): virtq_mark_writable marks what the table offers for
 * writing (directly or through a valid indirect table), a pop marks its writable buffers, a
 * push the used ring; readable buffers are never marked. */
static void test_live_marks(void **state)
{
    struct fixture *f = *state;
    uint64_t bm[RAM_BYTES / 4096 / 64] = {0};
    const struct gmem_region *r = gmem_find(f->gm, 0);
    assert_int_equal(gmem_track_start(f->gm), 0);
    guest_ring_desc(&f->r, 0, 0, BUF_GPA + 0x3000, 16, VIRTQ_DESC_F_WRITE, 0);
    guest_ring_desc(&f->r, 0, 1, BUF_GPA + 0x7000, 16, 0, 0);
    guest_ring_desc(&f->r, TABLE_GPA, 0, BUF_GPA + 0x5000, 8, VIRTQ_DESC_F_WRITE, 0);
    guest_ring_desc(&f->r, 0, 2, TABLE_GPA, 16, VIRTQ_DESC_F_INDIRECT, 0);
    guest_ring_desc(&f->r, 0, 3, TABLE_GPA + 0x1000, 10, VIRTQ_DESC_F_INDIRECT, 0); /* bad */
    virtq_mark_writable(&f->vq);
    gmem_take_dirty(r, bm, true);
    assert_true(is_marked(bm, BUF_GPA + 0x3000) && is_marked(bm, BUF_GPA + 0x5000));
    assert_true(is_marked(bm, f->r.used_gpa));
    assert_false(is_marked(bm, BUF_GPA + 0x7000) || is_marked(bm, TABLE_GPA + 0x1000));
    assert_false(f->vq.is_broken);

    memset(bm, 0, sizeof(bm));
    guest_ring_desc(&f->r, 0, 4, BUF_GPA + 0x7000, 16, VIRTQ_DESC_F_NEXT, 5);
    guest_ring_desc(&f->r, 0, 5, BUF_GPA + 0x9000, 0x2000, VIRTQ_DESC_F_WRITE, 0);
    guest_ring_publish(&f->r, 4);
    assert_int_equal(virtq_pop(&f->vq, &f->elem), 1);
    gmem_take_dirty(r, bm, true);
    assert_true(is_marked(bm, BUF_GPA + 0x9000) && is_marked(bm, BUF_GPA + 0xa000));
    assert_false(is_marked(bm, BUF_GPA + 0x7000) || is_marked(bm, BUF_GPA + 0xb000));
    memset(bm, 0, sizeof(bm));
    assert_int_equal(virtq_push(&f->vq, 4, 0x2000), 0);
    gmem_take_dirty(r, bm, true);
    assert_true(is_marked(bm, f->r.used_gpa));
    gmem_track_stop(f->gm);
}

static void test_zero_length_skipped(void **state)
{
    struct fixture *f = *state;
    /* a zero-length descriptor may point anywhere: it is never touched */
    guest_ring_desc(&f->r, 0, 0, UINT64_MAX, 0, VIRTQ_DESC_F_NEXT, 1);
    guest_ring_desc(&f->r, 0, 1, BUF_GPA, 8, VIRTQ_DESC_F_WRITE, 0);
    guest_ring_publish(&f->r, 0);
    assert_int_equal(virtq_pop(&f->vq, &f->elem), 1);
    assert_int_equal(f->elem.n_readable, 0);
    assert_int_equal(f->elem.n_writable, 1);
}

static void test_indirect(void **state)
{
    struct fixture *f = *state;
    guest_ring_desc(&f->r, TABLE_GPA, 0, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 2);
    guest_ring_desc(&f->r, TABLE_GPA, 2, BUF_GPA + 0x100, 512, VIRTQ_DESC_F_NEXT, 1);
    guest_ring_desc(&f->r, TABLE_GPA, 1, BUF_GPA + 0x400, 1, VIRTQ_DESC_F_WRITE, 0);
    /* the WRITE flag on the indirect descriptor itself is ignored (§2.7.5.3.2) */
    guest_ring_desc(&f->r, 0, 5, TABLE_GPA, 3 * 16, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_WRITE, 0);
    guest_ring_publish(&f->r, 5);
    assert_int_equal(virtq_pop(&f->vq, &f->elem), 1);
    assert_int_equal(f->elem.head, 5);
    assert_int_equal(f->elem.n_readable, 2);
    assert_int_equal(f->elem.n_writable, 1);
    assert_int_equal(f->elem.readable_bytes, 528);
}

static void test_indirect_after_direct(void **state)
{
    struct fixture *f = *state;
    guest_ring_desc(&f->r, TABLE_GPA, 0, BUF_GPA + 0x400, 1, VIRTQ_DESC_F_WRITE, 0);
    guest_ring_desc(&f->r, 0, 0, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 1);
    guest_ring_desc(&f->r, 0, 1, TABLE_GPA, 16, VIRTQ_DESC_F_INDIRECT, 0);
    guest_ring_publish(&f->r, 0);
    assert_int_equal(virtq_pop(&f->vq, &f->elem), 1);
    assert_int_equal(f->elem.n_readable, 1);
    assert_int_equal(f->elem.n_writable, 1);
}

static void test_indirect_not_negotiated(void **state)
{
    struct fixture *f = *state;
    guest_ring_desc(&f->r, TABLE_GPA, 0, BUF_GPA, 16, 0, 0);
    guest_ring_desc(&f->r, 0, 0, TABLE_GPA, 16, VIRTQ_DESC_F_INDIRECT, 0);
    guest_ring_publish(&f->r, 0);
    expect_broken(f);
}

static void test_indirect_nested(void **state)
{
    struct fixture *f = *state;
    guest_ring_desc(&f->r, TABLE_GPA, 0, TABLE_GPA, 16, VIRTQ_DESC_F_INDIRECT, 0);
    guest_ring_desc(&f->r, 0, 0, TABLE_GPA, 16, VIRTQ_DESC_F_INDIRECT, 0);
    guest_ring_publish(&f->r, 0);
    expect_broken(f);
}

static void test_indirect_with_next(void **state)
{
    struct fixture *f = *state;
    guest_ring_desc(&f->r, TABLE_GPA, 0, BUF_GPA, 16, 0, 0);
    guest_ring_desc(&f->r, 0, 0, TABLE_GPA, 16, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, 1);
    guest_ring_desc(&f->r, 0, 1, BUF_GPA, 16, 0, 0);
    guest_ring_publish(&f->r, 0);
    expect_broken(f);
}

static void test_indirect_bad_len(void **state)
{
    struct fixture *f = *state;
    guest_ring_desc(&f->r, 0, 0, TABLE_GPA, 24, VIRTQ_DESC_F_INDIRECT, 0);
    guest_ring_publish(&f->r, 0);
    expect_broken(f);
}

static void test_indirect_zero_len(void **state)
{
    struct fixture *f = *state;
    guest_ring_desc(&f->r, 0, 0, TABLE_GPA, 0, VIRTQ_DESC_F_INDIRECT, 0);
    guest_ring_publish(&f->r, 0);
    expect_broken(f);
}

static void test_indirect_huge(void **state)
{
    struct fixture *f = *state;
    guest_ring_desc(&f->r, 0, 0, TABLE_GPA, 16 * (VIRTQ_CHAIN_MAX + 1), VIRTQ_DESC_F_INDIRECT, 0);
    guest_ring_publish(&f->r, 0);
    expect_broken(f);
}

static void test_indirect_full_size(void **state)
{
    struct fixture *f = *state;
    /* Linux virtio-blk: seg_max data segments + header + status in one table */
    for (unsigned i = 0; i < VIRTQ_CHAIN_MAX; i++)
        guest_ring_desc(&f->r, TABLE_GPA, i, BUF_GPA + i, 1,
                        (uint16_t)(i + 1 < VIRTQ_CHAIN_MAX ? VIRTQ_DESC_F_NEXT : 0),
                        (uint16_t)(i + 1));
    guest_ring_desc(&f->r, 0, 0, TABLE_GPA, 16 * VIRTQ_CHAIN_MAX, VIRTQ_DESC_F_INDIRECT, 0);
    guest_ring_publish(&f->r, 0);
    assert_int_equal(virtq_pop(&f->vq, &f->elem), 1);
    assert_int_equal(f->elem.n_readable, VIRTQ_CHAIN_MAX);
}

static void test_indirect_table_outside_ram(void **state)
{
    struct fixture *f = *state;
    guest_ring_desc(&f->r, 0, 0, RAM_BYTES - 16, 32, VIRTQ_DESC_F_INDIRECT, 0);
    guest_ring_publish(&f->r, 0);
    expect_broken(f);
}

static void test_indirect_loop(void **state)
{
    struct fixture *f = *state;
    guest_ring_desc(&f->r, TABLE_GPA, 0, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 1);
    guest_ring_desc(&f->r, TABLE_GPA, 1, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 0);
    guest_ring_desc(&f->r, 0, 0, TABLE_GPA, 32, VIRTQ_DESC_F_INDIRECT, 0);
    guest_ring_publish(&f->r, 0);
    expect_broken(f);
}

static void test_indirect_next_outside(void **state)
{
    struct fixture *f = *state;
    guest_ring_desc(&f->r, TABLE_GPA, 0, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 2);
    guest_ring_desc(&f->r, 0, 0, TABLE_GPA, 32, VIRTQ_DESC_F_INDIRECT, 0);
    guest_ring_publish(&f->r, 0);
    expect_broken(f);
}

static void test_loop(void **state)
{
    struct fixture *f = *state;
    guest_ring_desc(&f->r, 0, 0, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 1);
    guest_ring_desc(&f->r, 0, 1, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 0);
    guest_ring_publish(&f->r, 0);
    expect_broken(f);
}

static void test_self_loop(void **state)
{
    struct fixture *f = *state;
    guest_ring_desc(&f->r, 0, 4, BUF_GPA, 16, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 4);
    guest_ring_publish(&f->r, 4);
    expect_broken(f);
}

static void test_len_wraps(void **state)
{
    struct fixture *f = *state;
    guest_ring_desc(&f->r, 0, 0, UINT64_MAX - 10, 100, 0, 0);
    guest_ring_publish(&f->r, 0);
    expect_broken(f);
}

static void test_outside_ram(void **state)
{
    struct fixture *f = *state;
    guest_ring_desc(&f->r, 0, 0, RAM_BYTES - 8, 16, 0, 0);
    guest_ring_publish(&f->r, 0);
    expect_broken(f);
}

static void test_writable_in_rom(void **state)
{
    struct fixture *f = *state;
    struct virtq vq;
    const struct guest_ring *r = &f->r;
    assert_int_equal(gmem_add_region(f->gm, RAM_BYTES, 0x10000, "rom", true, NULL), 0);
    /* the used ring is written by the device: not in ROM */
    assert_int_equal(virtq_init(&vq, f->gm, 16, r->desc_gpa, r->avail_gpa, RAM_BYTES, 0, 0),
                     -EINVAL);
    /* reading from ROM is fine, writing into it is not */
    guest_ring_desc(&f->r, 0, 0, RAM_BYTES, 16, VIRTQ_DESC_F_NEXT, 1);
    guest_ring_desc(&f->r, 0, 1, BUF_GPA, 16, VIRTQ_DESC_F_WRITE, 0);
    guest_ring_publish(&f->r, 0);
    assert_int_equal(virtq_pop(&f->vq, &f->elem), 1);
    guest_ring_desc(&f->r, 0, 2, RAM_BYTES, 16, VIRTQ_DESC_F_WRITE, 0);
    guest_ring_publish(&f->r, 2);
    expect_broken(f);
}

static void test_readable_after_writable(void **state)
{
    struct fixture *f = *state;
    guest_ring_desc(&f->r, 0, 0, BUF_GPA, 16, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
    guest_ring_desc(&f->r, 0, 1, BUF_GPA, 16, 0, 0);
    guest_ring_publish(&f->r, 0);
    expect_broken(f);
}

static void test_head_outside(void **state)
{
    struct fixture *f = *state;
    guest_ring_publish(&f->r, QSIZE);
    expect_broken(f);
}

static void test_next_outside(void **state)
{
    struct fixture *f = *state;
    guest_ring_desc(&f->r, 0, 0, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, QSIZE);
    guest_ring_publish(&f->r, 0);
    expect_broken(f);
}

static void test_avail_far_ahead(void **state)
{
    struct fixture *f = *state;
    guest_ring_desc(&f->r, 0, 0, BUF_GPA, 16, 0, 0);
    guest_ring_set_avail_idx(&f->r, QSIZE + 1);
    expect_broken(f);
}

static void test_avail_full_ring_ok(void **state)
{
    struct fixture *f = *state;
    for (unsigned i = 0; i < QSIZE; i++) {
        guest_ring_desc(&f->r, 0, i, BUF_GPA + i * 16, 16, 0, 0);
        guest_ring_publish(&f->r, (uint16_t)i);
    }
    for (unsigned i = 0; i < QSIZE; i++) {
        assert_int_equal(virtq_pop(&f->vq, &f->elem), 1);
        assert_int_equal(f->elem.head, i);
    }
    assert_int_equal(virtq_pop(&f->vq, &f->elem), 0);
}

static void test_chain_longer_than_iov(void **state)
{
    struct fixture *f = *state;
    guest_ring_desc(&f->r, 0, 0, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 1);
    guest_ring_desc(&f->r, 0, 1, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 2);
    guest_ring_desc(&f->r, 0, 2, BUF_GPA, 16, 0, 0);
    guest_ring_publish(&f->r, 0);
    f->elem.iov_cap = 2;
    expect_broken(f);
}

static void test_bad_sizes_and_rings(void **state)
{
    struct fixture *f = *state;
    struct virtq vq;
    const struct guest_ring *r = &f->r;

    assert_int_equal(virtq_init(&vq, f->gm, 0, r->desc_gpa, r->avail_gpa, r->used_gpa, 0, 0),
                     -EINVAL);
    assert_true(vq.is_broken);
    assert_int_equal(virtq_pop(&vq, &f->elem), -EIO);
    assert_int_equal(virtq_init(&vq, f->gm, 3, r->desc_gpa, r->avail_gpa, r->used_gpa, 0, 0),
                     -EINVAL);
    assert_int_equal(virtq_init(&vq, f->gm, 24, r->desc_gpa, r->avail_gpa, r->used_gpa, 0, 0),
                     -EINVAL);
    assert_false(virtq_size_is_valid(65536));
    assert_true(virtq_size_is_valid(32768));
    assert_int_equal(virtq_init(&vq, f->gm, 32768, 0, 0x80000, 0x90000, 0, 0), 0);
    /* misaligned rings */
    assert_int_equal(virtq_init(&vq, f->gm, 16, 0x1008, 0x2000, 0x3000, 0, 0), -EINVAL);
    assert_int_equal(virtq_init(&vq, f->gm, 16, 0x1000, 0x2001, 0x3000, 0, 0), -EINVAL);
    assert_int_equal(virtq_init(&vq, f->gm, 16, 0x1000, 0x2000, 0x3002, 0, 0), -EINVAL);
    /* outside RAM, straddling the end, wrapping */
    assert_int_equal(virtq_init(&vq, f->gm, 16, RAM_BYTES, 0x2000, 0x3000, 0, 0), -EINVAL);
    assert_int_equal(virtq_init(&vq, f->gm, 16, 0x1000, 0x2000, RAM_BYTES - 64, 0, 0), -EINVAL);
    assert_int_equal(virtq_init(&vq, f->gm, 16, 0x1000, UINT64_MAX - 1, 0x3000, 0, 0), -EINVAL);
    assert_int_equal(virtq_init(&vq, f->gm, 16, 0x1000, 0x2000, 0x3000, 0, 0), 0);
}

static void test_notify_flags(void **state)
{
    struct fixture *f = *state;
    guest_ring_desc(&f->r, 0, 0, BUF_GPA, 16, 0, 0);
    guest_ring_publish(&f->r, 0);
    assert_int_equal(virtq_pop(&f->vq, &f->elem), 1);
    assert_int_equal(virtq_push(&f->vq, 0, 0), 0);
    assert_true(virtq_needs_notify(&f->vq));
    guest_ring_set_avail_flags(&f->r, VIRTQ_AVAIL_F_NO_INTERRUPT);
    assert_false(virtq_needs_notify(&f->vq));

    virtq_disable_notify(&f->vq);
    assert_int_equal(guest_ring_used_flags(&f->r), VIRTQ_USED_F_NO_NOTIFY);
    assert_false(virtq_enable_notify(&f->vq));
    assert_int_equal(guest_ring_used_flags(&f->r), 0);
    guest_ring_publish(&f->r, 0);
    assert_true(virtq_enable_notify(&f->vq));
}

static void test_event_idx(void **state)
{
    struct fixture *f = *state;
    for (unsigned i = 0; i < 4; i++) {
        guest_ring_desc(&f->r, 0, i, BUF_GPA, 16, 0, 0);
        guest_ring_publish(&f->r, (uint16_t)i);
    }
    /* the driver wants an interrupt once used.idx passes 2 (used_event = 2) */
    guest_ring_set_used_event(&f->r, 2);
    assert_int_equal(virtq_pop(&f->vq, &f->elem), 1);
    assert_int_equal(guest_ring_avail_event(&f->r), 1);
    assert_int_equal(virtq_push(&f->vq, 0, 0), 0);
    assert_true(virtq_needs_notify(&f->vq)); /* first decision always notifies */
    assert_int_equal(virtq_pop(&f->vq, &f->elem), 1);
    assert_int_equal(virtq_push(&f->vq, 1, 0), 0);
    assert_false(virtq_needs_notify(&f->vq)); /* used.idx 2: event 2 not crossed */
    assert_int_equal(virtq_pop(&f->vq, &f->elem), 1);
    assert_int_equal(virtq_push(&f->vq, 2, 0), 0);
    assert_true(virtq_needs_notify(&f->vq)); /* used.idx 3: crossed */
    assert_int_equal(virtq_pop(&f->vq, &f->elem), 1);
    assert_int_equal(virtq_push(&f->vq, 3, 0), 0);
    assert_false(virtq_needs_notify(&f->vq));
    /* avail_event follows the consumer */
    assert_false(virtq_enable_notify(&f->vq));
    assert_int_equal(guest_ring_avail_event(&f->r), 4);
    virtq_disable_notify(&f->vq);
    assert_int_equal(guest_ring_used_flags(&f->r), 0);
}

static void test_reset_forgets(void **state)
{
    struct fixture *f = *state;
    virtq_reset(&f->vq);
    assert_int_equal(virtq_pop(&f->vq, &f->elem), -EIO);
    assert_false(f->vq.is_broken);
    assert_false(virtq_needs_notify(&f->vq));
    assert_false(virtq_has_avail(&f->vq));
}

/* Malicious-guest cases a payload cannot reach on bareiron's RAM-only direct-boot map
 * (docs/security.md): wrapping and ROM buffers inside indirect tables, a table that wraps, and
 * avail.idx moved backwards. */
static void test_indirect_entry_wraps(void **state)
{
    struct fixture *f = *state;
    guest_ring_desc(&f->r, TABLE_GPA, 0, UINT64_MAX - 10, 100, 0, 0);
    guest_ring_desc(&f->r, 0, 0, TABLE_GPA, 16, VIRTQ_DESC_F_INDIRECT, 0);
    guest_ring_publish(&f->r, 0);
    expect_broken(f);
}

static void test_indirect_table_wraps(void **state)
{
    struct fixture *f = *state;
    guest_ring_desc(&f->r, 0, 0, UINT64_MAX - 15, 32, VIRTQ_DESC_F_INDIRECT, 0);
    guest_ring_publish(&f->r, 0);
    expect_broken(f);
}

static void test_indirect_writable_in_rom(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(gmem_add_region(f->gm, RAM_BYTES, 0x10000, "rom", true, NULL), 0);
    guest_ring_desc(&f->r, TABLE_GPA, 0, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 1);
    guest_ring_desc(&f->r, TABLE_GPA, 1, RAM_BYTES + 0x100, 16, VIRTQ_DESC_F_WRITE, 0);
    guest_ring_desc(&f->r, 0, 0, TABLE_GPA, 32, VIRTQ_DESC_F_INDIRECT, 0);
    guest_ring_publish(&f->r, 0);
    expect_broken(f);
}

static void test_avail_idx_backwards(void **state)
{
    struct fixture *f = *state;
    guest_ring_desc(&f->r, 0, 0, BUF_GPA, 16, 0, 0);
    guest_ring_publish(&f->r, 0);
    assert_int_equal(virtq_pop(&f->vq, &f->elem), 1);
    guest_ring_set_avail_idx(&f->r, 0); /* one behind what the device has already taken */
    expect_broken(f);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_chain),
        T(test_live_marks),
        T(test_zero_length_skipped),
        T(test_indirect),
        T(test_indirect_after_direct),
        cmocka_unit_test_setup_teardown(test_indirect_not_negotiated, setup_no_indirect, teardown),
        T(test_indirect_nested),
        T(test_indirect_with_next),
        T(test_indirect_bad_len),
        T(test_indirect_zero_len),
        T(test_indirect_huge),
        T(test_indirect_full_size),
        T(test_indirect_table_outside_ram),
        T(test_indirect_loop),
        T(test_indirect_next_outside),
        T(test_loop),
        T(test_self_loop),
        T(test_len_wraps),
        T(test_outside_ram),
        T(test_writable_in_rom),
        T(test_readable_after_writable),
        T(test_head_outside),
        T(test_next_outside),
        T(test_avail_far_ahead),
        T(test_avail_full_ring_ok),
        T(test_chain_longer_than_iov),
        T(test_bad_sizes_and_rings),
        T(test_notify_flags),
        cmocka_unit_test_setup_teardown(test_event_idx, setup_event_idx, teardown),
        T(test_reset_forgets),
        T(test_indirect_entry_wraps),
        T(test_indirect_table_wraps),
        T(test_indirect_writable_in_rom),
        T(test_avail_idx_backwards),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

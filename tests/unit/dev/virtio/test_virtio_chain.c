/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the chain reader and writer (dev/virtio/virtio_chain.h) and
 * virtio_queue_drain() (virtio.c), over a real gmem and rings written by guest_ring: a header
 * split over descriptors, short chains, readable/writable mixups, a missing status byte, used
 * lengths, KEPT chains, a handler that breaks the device, and one interrupt per batch with and
 * without EVENT_IDX (virtio 1.2 §2.7.4, §2.7.7, §2.7.10).
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
#include "dev/virtio/virtio.h"
#include "guest_ring.h"

#define RAM_BYTES (16ULL << 20)
#define BUF_GPA 0x100000ULL
#define ALL_OK                                                                                     \
    (VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |                \
     VIRTIO_STATUS_DRIVER_OK)

/* What the handler does with each chain. */
enum mode { READ_HDR_ANSWER, KEEP, BREAK };

struct fixture {
    struct gmem *gm;
    struct virtio_dev vd;
    struct guest_ring ring;
    enum mode mode;
    unsigned calls, nirqs;
    uint8_t hdr[16];
    size_t hdr_got;
    uint64_t data_left; /* readable bytes after the header */
    uint64_t writable;  /* writable bytes before the status */
    bool has_status;
};

static struct fixture *the_fixture;

/* Reads a 16-byte header, writes "ok" and a status byte of 0x5a when there is room. */
static enum virtio_chain_ret handler(struct virtio_dev *vd, unsigned qidx, struct virtio_chain *c)
{
    struct fixture *f = the_fixture;
    uint8_t *status;
    (void)qidx;

    f->calls++;
    if (f->mode == BREAK) {
        virtio_set_needs_reset(vd, "test handler");
        return VIRTIO_CHAIN_BROKEN;
    }
    status = virtio_chain_take_status(c);
    f->has_status = status != NULL;
    f->hdr_got = iov_iter_to_buf(&c->reader, f->hdr, sizeof(f->hdr));
    f->data_left = iov_iter_left(&c->reader);
    f->writable = iov_iter_left(&c->writer);
    if (f->mode == KEEP)
        return VIRTIO_CHAIN_KEPT;
    (void)iov_iter_from_buf(&c->writer, "ok", 2);
    if (status != NULL)
        *status = 0x5a;
    return VIRTIO_CHAIN_DONE;
}

static void drain_notify(struct virtio_dev *vd, unsigned qidx)
{
    virtio_queue_drain(vd, qidx, handler);
}

static const struct virtio_dev_ops chain_ops = {.queue_notify = drain_notify};

static void fake_interrupt(struct virtio_dev *vd, uint16_t vector)
{
    (void)vd;
    (void)vector;
    the_fixture->nirqs++;
}

static const struct virtio_transport_ops fake_transport = {.interrupt = fake_interrupt};

static int setup_features(void **state, uint64_t extra)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    the_fixture = f;
    assert_int_equal(gmem_create(&f->gm), 0);
    assert_int_equal(gmem_add_region(f->gm, 0, RAM_BYTES, "ram", false, NULL), 0);
    guest_ring_init(&f->ring, f->gm, 0x10000, 16);
    assert_int_equal(virtio_dev_init(&f->vd, "chain", 99, &chain_ops, f->gm, 1, 16), 0);
    virtio_dev_set_transport(&f->vd, &fake_transport, f);
    assert_int_equal(guest_dev_bringup(&f->vd, &f->ring, 1, VIRTIO_BIT(VIRTIO_F_VERSION_1) | extra),
                     ALL_OK);
    *state = f;
    return 0;
}

static int setup(void **state)
{
    return setup_features(state, 0);
}

static int setup_event_idx(void **state)
{
    return setup_features(state, VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX));
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    virtio_dev_fini(&f->vd);
    gmem_destroy(f->gm);
    free(f);
    return 0;
}

/* Descriptor (i) -> (i + 1) unless last; (gpa_off) is relative to BUF_GPA. */
static void desc(struct fixture *f, unsigned i, uint64_t gpa_off, uint32_t len, bool is_write,
                 bool is_last)
{
    uint16_t flags =
        (uint16_t)((is_write ? VIRTQ_DESC_F_WRITE : 0) | (is_last ? 0 : VIRTQ_DESC_F_NEXT));
    guest_ring_desc(&f->ring, 0, i, BUF_GPA + gpa_off, len, flags, (uint16_t)(i + 1));
}

static void kick(struct fixture *f, uint16_t head)
{
    guest_ring_publish(&f->ring, head);
    virtio_queue_kick(&f->vd, 0);
}

static void test_header_split(void **state)
{
    struct fixture *f = *state;
    uint8_t buf[32], st = 0;
    char out[3] = {0};
    uint32_t id, len;

    for (unsigned i = 0; i < sizeof(buf); i++)
        buf[i] = (uint8_t)i;
    assert_int_equal(gmem_write(f->gm, BUF_GPA, buf, sizeof(buf)), 0);
    /* 5 + 7 + 10 readable bytes: the header ends inside the third descriptor */
    desc(f, 0, 0, 5, false, false);
    desc(f, 1, 5, 7, false, false);
    desc(f, 2, 12, 10, false, false);
    desc(f, 3, 0x1000, 4, true, true); /* "ok", one spare byte, status */
    kick(f, 0);
    assert_int_equal(f->calls, 1);
    assert_int_equal(f->hdr_got, 16);
    assert_memory_equal(f->hdr, buf, 16);
    assert_int_equal(f->data_left, 6);
    assert_true(f->has_status);
    assert_int_equal(f->writable, 3);
    assert_true(guest_ring_used(&f->ring, &id, &len));
    assert_int_equal(id, 0);
    assert_int_equal(len, 3); /* "ok" and the status byte */
    assert_int_equal(gmem_read(f->gm, BUF_GPA + 0x1000, out, 2), 0);
    assert_string_equal(out, "ok");
    assert_int_equal(gmem_read(f->gm, BUF_GPA + 0x1003, &st, 1), 0);
    assert_int_equal(st, 0x5a);
    assert_int_equal(f->nirqs, 1);
}

static void test_short_chain(void **state)
{
    struct fixture *f = *state;
    uint32_t id, len;

    desc(f, 0, 0, 10, false, false); /* 10 bytes: a short header */
    desc(f, 1, 0x1000, 1, true, true);
    kick(f, 0);
    assert_int_equal(f->hdr_got, 10);
    assert_int_equal(f->data_left, 0);
    assert_int_equal(f->writable, 0); /* the only writable byte is the status */
    assert_true(guest_ring_used(&f->ring, &id, &len));
    assert_int_equal(len, 1);
}

static void test_status_missing(void **state)
{
    struct fixture *f = *state;
    uint32_t id, len;

    /* a zero-length writable descriptor is skipped: no writable byte at all */
    desc(f, 0, 0, 16, false, false);
    desc(f, 1, 0x1000, 0, true, true);
    kick(f, 0);
    assert_int_equal(f->calls, 1);
    assert_false(f->has_status);
    assert_true(guest_ring_used(&f->ring, &id, &len));
    assert_int_equal(len, 0);
    /* only writable buffers: nothing to read, the status still found */
    desc(f, 2, 0x1000, 8, true, true);
    kick(f, 2);
    assert_int_equal(f->hdr_got, 0);
    assert_true(f->has_status);
    assert_int_equal(f->writable, 7);
    assert_true(guest_ring_used(&f->ring, &id, &len));
    assert_int_equal(id, 2);
    assert_int_equal(len, 3);
}

static void test_readable_after_writable(void **state)
{
    struct fixture *f = *state;
    uint32_t id, len;

    desc(f, 0, 0x1000, 1, true, false);
    desc(f, 1, 0, 16, false, true);
    kick(f, 0);
    assert_int_equal(f->calls, 0); /* the core refused the chain */
    assert_true(virtio_read_status(&f->vd) & VIRTIO_STATUS_NEEDS_RESET);
    assert_false(guest_ring_used(&f->ring, &id, &len));
}

static void test_writer_stops_before_status(void **state)
{
    struct fixture *f = *state;
    uint8_t st = 0;
    uint32_t id, len;

    assert_int_equal(gmem_write(f->gm, BUF_GPA + 0x1000, "\xee\xee", 2), 0);
    desc(f, 0, 0, 16, false, false);
    desc(f, 1, 0x1000, 2, true, true); /* room for one byte of "ok" and the status */
    kick(f, 0);
    assert_true(guest_ring_used(&f->ring, &id, &len));
    assert_int_equal(len, 2);
    assert_int_equal(gmem_read(f->gm, BUF_GPA + 0x1001, &st, 1), 0);
    assert_int_equal(st, 0x5a); /* "k" did not overwrite it */
}

static void test_kept_and_broken(void **state)
{
    struct fixture *f = *state;
    uint32_t id, len;

    f->mode = KEEP;
    desc(f, 0, 0, 16, false, false);
    desc(f, 1, 0x1000, 1, true, true);
    kick(f, 0);
    assert_int_equal(f->calls, 1);
    assert_false(guest_ring_used(&f->ring, &id, &len)); /* the device pushes it later */
    assert_int_equal(f->nirqs, 0);
    pthread_mutex_lock(&f->vd.lock);
    virtio_queue_push(&f->vd, 0, 0, 1);
    virtio_queue_notify(&f->vd, 0);
    pthread_mutex_unlock(&f->vd.lock);
    assert_true(guest_ring_used(&f->ring, &id, &len));
    assert_int_equal(f->nirqs, 1);

    f->mode = BREAK;
    guest_ring_publish(&f->ring, 0);
    kick(f, 0);
    assert_int_equal(f->calls, 2); /* the second chain is not handled */
    assert_true(virtio_read_status(&f->vd) & VIRTIO_STATUS_NEEDS_RESET);
    assert_false(guest_ring_used(&f->ring, &id, &len));
}

/* Several chains in one kick: every one pushed, one interrupt. */
static void test_one_irq_per_batch(void **state)
{
    struct fixture *f = *state;
    uint32_t id, len;

    for (unsigned i = 0; i < 8; i += 2) {
        desc(f, i, 0, 16, false, false);
        desc(f, i + 1, 0x1000 + i, 1, true, true);
        guest_ring_publish(&f->ring, (uint16_t)i);
    }
    virtio_queue_kick(&f->vd, 0);
    assert_int_equal(f->calls, 4);
    assert_int_equal(f->nirqs, 1);
    for (unsigned i = 0; i < 4; i++)
        assert_true(guest_ring_used(&f->ring, &id, &len));
    /* EVENT_IDX: the driver asked for an interrupt only past used index 5, i.e. after two
     * more chains of the next batch: the batch of one gets none. */
    if (!virtio_has_feature(&f->vd, VIRTIO_F_RING_EVENT_IDX))
        return;
    guest_ring_set_used_event(&f->ring, 5);
    kick(f, 0);
    assert_int_equal(f->nirqs, 1);
    assert_int_equal(guest_ring_avail_event(&f->ring), 5); /* next kick wanted at avail 5 */
    kick(f, 2);
    assert_int_equal(f->nirqs, 2);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_header_split),
        T(test_short_chain),
        T(test_status_missing),
        T(test_readable_after_writable),
        T(test_writer_stops_before_status),
        T(test_kept_and_broken),
        T(test_one_irq_per_batch),
        cmocka_unit_test_setup_teardown(test_one_irq_per_batch, setup_event_idx, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the small virtio devices over a real gmem: virtio-rng fills writable buffers
 * (virtio 1.2 §5.4), virtio-console sends transmitq data to the sink, feeds input into
 * receiveq buffers (buffering it while there are none) and prints emerg_wr (§5.3).
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
#include "dev/virtio/console.h"
#include "dev/virtio/rng.h"
#include "guest_ring.h"

#define RAM_BYTES (16ULL << 20)
#define BUF_GPA 0x100000ULL
#define OK_STATUS                                                                                  \
    (VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |                \
     VIRTIO_STATUS_DRIVER_OK)

static struct gmem *new_gmem(void)
{
    struct gmem *gm;
    assert_int_equal(gmem_create(&gm), 0);
    assert_int_equal(gmem_add_region(gm, 0, RAM_BYTES, "ram", false, NULL), 0);
    return gm;
}

static void test_rng(void **state)
{
    struct gmem *gm = new_gmem();
    struct virtio_rng *rng;
    struct guest_ring r;
    uint8_t buf[64] = {0}, zero[64] = {0};
    uint32_t id, len;

    (void)state;
    assert_int_equal(virtio_rng_create(gm, &rng), 0);
    guest_ring_init(&r, gm, 0x10000, 16);
    assert_int_equal(guest_dev_bringup(&rng->vd, &r, 1, VIRTIO_BIT(VIRTIO_F_VERSION_1)), OK_STATUS);
    assert_int_equal(rng->vd.ops->config_size, 0);
    guest_ring_desc(&r, 0, 0, BUF_GPA, 32, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
    guest_ring_desc(&r, 0, 1, BUF_GPA + 32, 32, VIRTQ_DESC_F_WRITE, 0);
    guest_ring_publish(&r, 0);
    virtio_queue_kick(&rng->vd, 0);
    assert_true(guest_ring_used(&r, &id, &len));
    assert_int_equal(id, 0);
    assert_int_equal(len, 64);
    assert_int_equal(gmem_read(gm, BUF_GPA, buf, sizeof(buf)), 0);
    assert_memory_not_equal(buf, zero, sizeof(buf));
    assert_int_equal(rng->vd.isr, VIRTIO_ISR_QUEUE);
    /* a readable-only chain gets 0 bytes */
    guest_ring_desc(&r, 0, 2, BUF_GPA, 32, 0, 0);
    guest_ring_publish(&r, 2);
    virtio_queue_kick(&rng->vd, 0);
    assert_true(guest_ring_used(&r, &id, &len));
    assert_int_equal(len, 0);
    virtio_rng_destroy(rng);
    gmem_destroy(gm);
}

struct sink {
    char buf[256];
    size_t len;
};

static void sink_fn(void *opaque, const void *buf, size_t len)
{
    struct sink *s = opaque;
    size_t take = MIN(len, sizeof(s->buf) - s->len);
    memcpy(s->buf + s->len, buf, take);
    s->len += take;
}

/* A receive buffer without device-writable space cannot take input: before this was refused,
 * the device consumed such chains as fast as a guest posted them without moving a byte. */
static void test_console_rx_readonly_chain(void **state)
{
    struct gmem *gm = new_gmem();
    struct virtio_console *vc;
    struct guest_ring r[2];
    struct sink s = {0};
    uint32_t id, len;

    (void)state;
    assert_int_equal(virtio_console_create(gm, sink_fn, &s, &vc), 0);
    guest_ring_init(&r[0], gm, 0x10000, 16);
    guest_ring_init(&r[1], gm, 0x20000, 16);
    assert_int_equal(virtio_console_input(vc, "abc", 3), 3);
    assert_int_equal(guest_dev_bringup(&vc->vd, r, 2, VIRTIO_BIT(VIRTIO_F_VERSION_1)), OK_STATUS);
    for (unsigned i = 0; i < 8; i++) {
        guest_ring_desc(&r[0], 0, i, BUF_GPA + 0x1000, 4, 0, 0); /* device-readable only */
        guest_ring_publish(&r[0], (uint16_t)i);
    }
    virtio_queue_kick(&vc->vd, VIRTIO_CONSOLE_RX);
    assert_true(vc->vd.status & VIRTIO_STATUS_NEEDS_RESET);
    assert_false(guest_ring_used(&r[0], &id, &len));
    assert_int_equal(vc->inbuf_len, 3);
    virtio_console_destroy(vc);
    gmem_destroy(gm);
}

static void test_console(void **state)
{
    struct gmem *gm = new_gmem();
    struct virtio_console *vc;
    struct guest_ring r[2];
    struct sink s = {0};
    uint32_t id, len;
    char in[16] = {0};

    (void)state;
    assert_int_equal(virtio_console_create(gm, sink_fn, &s, &vc), 0);
    guest_ring_init(&r[0], gm, 0x10000, 16);
    guest_ring_init(&r[1], gm, 0x20000, 16);
    /* input before the driver is there is buffered */
    assert_int_equal(virtio_console_input(vc, "hel", 3), 3);
    assert_int_equal(guest_dev_bringup(&vc->vd, r, 2,
                                       VIRTIO_BIT(VIRTIO_F_VERSION_1) |
                                           VIRTIO_BIT(VIRTIO_CONSOLE_F_EMERG_WRITE)),
                     OK_STATUS);
    assert_int_equal(virtio_read_config(&vc->vd, 4, 4), 1); /* max_nr_ports */

    /* transmit */
    assert_int_equal(gmem_write(gm, BUF_GPA, "hello, world", 12), 0);
    guest_ring_desc(&r[1], 0, 0, BUF_GPA, 5, VIRTQ_DESC_F_NEXT, 1);
    guest_ring_desc(&r[1], 0, 1, BUF_GPA + 5, 7, 0, 0);
    guest_ring_publish(&r[1], 0);
    virtio_queue_kick(&vc->vd, VIRTIO_CONSOLE_TX);
    assert_int_equal(s.len, 12);
    assert_memory_equal(s.buf, "hello, world", 12);
    assert_true(guest_ring_used(&r[1], &id, &len));
    assert_int_equal(len, 0);

    /* receive: buffered bytes go out once a buffer is posted */
    guest_ring_desc(&r[0], 0, 0, BUF_GPA + 0x1000, 4, VIRTQ_DESC_F_WRITE, 0);
    guest_ring_publish(&r[0], 0);
    virtio_queue_kick(&vc->vd, VIRTIO_CONSOLE_RX);
    assert_true(guest_ring_used(&r[0], &id, &len));
    assert_int_equal(len, 3);
    assert_int_equal(gmem_read(gm, BUF_GPA + 0x1000, in, 3), 0);
    assert_memory_equal(in, "hel", 3);
    /* input larger than the posted buffer: the rest waits */
    guest_ring_desc(&r[0], 0, 1, BUF_GPA + 0x2000, 4, VIRTQ_DESC_F_WRITE, 0);
    guest_ring_publish(&r[0], 1);
    assert_int_equal(virtio_console_input(vc, "lo world", 8), 8);
    assert_true(guest_ring_used(&r[0], &id, &len));
    assert_int_equal(len, 4);
    assert_int_equal(vc->inbuf_len, 4);

    /* emergency write */
    s.len = 0;
    pthread_mutex_lock(&vc->vd.lock);
    virtio_write_config(&vc->vd, 8, 'Z', 4);
    virtio_write_config(&vc->vd, 0, 'Q', 2); /* cols: read-only, ignored */
    pthread_mutex_unlock(&vc->vd.lock);
    assert_int_equal(s.len, 1);
    assert_int_equal(s.buf[0], 'Z');

    /* input buffer bounded */
    {
        static char big[VIRTIO_CONSOLE_INBUF * 2];
        assert_true(virtio_console_input(vc, big, sizeof(big)) <= VIRTIO_CONSOLE_INBUF);
    }
    virtio_console_destroy(vc);
    gmem_destroy(gm);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rng),
        cmocka_unit_test(test_console),
        cmocka_unit_test(test_console_rx_readonly_chain),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

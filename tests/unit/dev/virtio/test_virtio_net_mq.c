/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for virtio-net's multiqueue (virtio 1.2 §5.1.6.5.5) over a real gmem and a fake
 * backend of 4 queue pairs: the queue layout (receive 2k, transmit 2k + 1, control 8), MQ and
 * max_virtqueue_pairs offered, VQ_PAIRS_SET good and bogus (0, over the maximum, short, MQ not
 * negotiated), frames for a pair delivered on its receive queue or folded onto the pairs in
 * use, transmit on another pair's queue, reset back to one pair, and vhost-net started and
 * stopped for every pair.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/gmem.h"
#include "dev/virtio/virtio_net.h"
#include "guest_ring.h"
#include "net/net.h"

#define RAM_BYTES (16ULL << 20)
#define RING_SIZE 16
#define PAIRS 4
#define NQ (2 * PAIRS + 1)
#define CTRLQ (2 * PAIRS)
#define BUF_GPA 0x200000ULL
#define F(b) VIRTIO_BIT(VIRTIO_NET_F_##b)

static const uint8_t our_mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};

struct fake {
    struct net_backend be;
    unsigned sent, set_queues_n, starts, stops;
    bool is_vhost_on[PAIRS];
    int kick[NQ], call[NQ];
};

static int fake_send(struct net_backend *be, const struct net_hdr *hdr, const struct iovec *iov,
                     unsigned cnt)
{
    (void)hdr;
    (void)iov;
    (void)cnt;
    ((struct fake *)be)->sent++;
    return 0;
}

static int fake_set_queues(struct net_backend *be, unsigned n)
{
    ((struct fake *)be)->set_queues_n = n;
    return 0;
}

static int fake_start(struct net_backend *be, unsigned pair, const struct net_vhost_setup *s)
{
    struct fake *fk = (struct fake *)be;
    assert_true(pair < PAIRS);
    assert_int_equal(s->rings[0].kick_fd, fk->kick[2 * pair]);
    assert_int_equal(s->rings[1].kick_fd, fk->kick[2 * pair + 1]);
    fk->is_vhost_on[pair] = true;
    fk->starts++;
    return 0;
}

static void fake_stop(struct net_backend *be, unsigned pair, uint16_t last_avail[2])
{
    struct fake *fk = (struct fake *)be;
    (void)last_avail;
    assert_true(pair < PAIRS);
    if (fk->is_vhost_on[pair])
        fk->stops++;
    fk->is_vhost_on[pair] = false;
}

static void fake_close(struct net_backend *be)
{
    (void)be;
}

static const struct net_backend_ops fake_ops = {
    .send = fake_send,
    .set_queues = fake_set_queues,
    .vhost_start = fake_start,
    .vhost_stop = fake_stop,
    .close = fake_close,
};

static void t_interrupt(struct virtio_dev *vd, uint16_t vector)
{
    (void)vd;
    (void)vector;
}

static int t_host(struct virtio_dev *vd, unsigned q, bool is_on)
{
    (void)is_on;
    return ((struct fake *)vd->transport_opaque)->kick[q];
}

static int t_guest(struct virtio_dev *vd, unsigned q)
{
    return ((struct fake *)vd->transport_opaque)->call[q];
}

static const struct virtio_transport_ops t_ops = {
    .interrupt = t_interrupt,
    .host_notifier = t_host,
    .guest_notifier = t_guest,
};

struct fixture {
    struct gmem *gm;
    struct fake fk;
    struct virtio_net *vn;
    struct guest_ring r[NQ];
    uint16_t next_desc[NQ];
};

static struct fixture *make(uint64_t vhost_features)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    assert_int_equal(gmem_create(&f->gm), 0);
    assert_int_equal(gmem_add_region(f->gm, 0, RAM_BYTES, "ram", false, NULL), 0);
    f->fk.be.ops = &fake_ops;
    f->fk.be.type = "fake";
    f->fk.be.has_carrier = true;
    f->fk.be.is_admin_up = true;
    f->fk.be.nqueues = PAIRS;
    f->fk.be.vhost_features = vhost_features;
    for (unsigned i = 0; i < NQ; i++) {
        f->fk.kick[i] = eventfd(0, EFD_NONBLOCK);
        f->fk.call[i] = eventfd(0, EFD_NONBLOCK);
        guest_ring_init(&f->r[i], f->gm, 0x10000 * (i + 1), RING_SIZE);
    }
    assert_int_equal(virtio_net_create(our_mac, &f->fk.be, f->gm, &f->vn), 0);
    virtio_dev_set_transport(&f->vn->vd, &t_ops, &f->fk);
    return f;
}

static int setup(void **state)
{
    struct fixture *f = make(0);
    guest_dev_bringup(&f->vn->vd, f->r, NQ,
                      F(MAC) | F(CTRL_VQ) | F(MQ) | VIRTIO_BIT(VIRTIO_F_VERSION_1));
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    virtio_net_destroy(f->vn);
    for (unsigned i = 0; i < NQ; i++) {
        close(f->fk.kick[i]);
        close(f->fk.call[i]);
    }
    gmem_destroy(f->gm);
    free(f);
    return 0;
}

/* Posts one chain of (n) segments on queue (q); (is_write) for every segment. */
static uint16_t post(struct fixture *f, unsigned q, uint64_t gpa, uint32_t len, bool is_write)
{
    uint16_t d = f->next_desc[q]++ % RING_SIZE;
    guest_ring_desc(&f->r[q], 0, d, gpa, len, is_write ? VIRTQ_DESC_F_WRITE : 0, 0);
    guest_ring_publish(&f->r[q], d);
    return d;
}

/* A control command MQ VQ_PAIRS_SET with (len) bytes of (pairs); returns the ack. */
static uint8_t pairs_set(struct fixture *f, uint16_t pairs, uint32_t len)
{
    uint8_t cmd[2] = {VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET}, ack = 0xee;
    uint64_t g = BUF_GPA + 0x10000;
    uint16_t d = f->next_desc[CTRLQ];

    assert_int_equal(gmem_write(f->gm, g, cmd, 2), 0);
    assert_int_equal(gmem_write(f->gm, g + 2, &pairs, 2), 0);
    assert_int_equal(gmem_write(f->gm, g + 8, &ack, 1), 0);
    guest_ring_desc(&f->r[CTRLQ], 0, d % RING_SIZE, g, 2 + len, VIRTQ_DESC_F_NEXT,
                    (uint16_t)((d + 1) % RING_SIZE));
    guest_ring_desc(&f->r[CTRLQ], 0, (d + 1) % RING_SIZE, g + 8, 1, VIRTQ_DESC_F_WRITE, 0);
    f->next_desc[CTRLQ] += 2;
    guest_ring_publish(&f->r[CTRLQ], d % RING_SIZE);
    virtio_queue_kick(&f->vn->vd, CTRLQ);
    assert_int_equal(gmem_read(f->gm, g + 8, &ack, 1), 0);
    return ack;
}

static void test_layout(void **state)
{
    struct fixture *f = *state;
    uint64_t pairs = virtio_read_config(&f->vn->vd, 8, 2);

    assert_int_equal(f->vn->vd.num_queues, NQ);
    assert_int_equal(virtio_net_ctrl_queue(f->vn), CTRLQ);
    assert_true(f->vn->vd.host_features & F(MQ));
    assert_int_equal(pairs, PAIRS);
    assert_int_equal(f->vn->cur_pairs, 1);
}

static void test_pairs_set(void **state)
{
    struct fixture *f = *state;

    assert_int_equal(pairs_set(f, 3, 2), VIRTIO_NET_OK);
    assert_int_equal(f->vn->cur_pairs, 3);
    assert_int_equal(f->fk.set_queues_n, 3);
    assert_int_equal(pairs_set(f, 0, 2), VIRTIO_NET_ERR);
    assert_int_equal(pairs_set(f, PAIRS + 1, 2), VIRTIO_NET_ERR);
    assert_int_equal(pairs_set(f, 0xffff, 2), VIRTIO_NET_ERR);
    assert_int_equal(pairs_set(f, 2, 1), VIRTIO_NET_ERR); /* short */
    assert_int_equal(pairs_set(f, 2, 4), VIRTIO_NET_ERR); /* trailing bytes */
    assert_int_equal(f->vn->cur_pairs, 3);
    pthread_mutex_lock(&f->vn->vd.lock);
    virtio_write_status(&f->vn->vd, 0);
    pthread_mutex_unlock(&f->vn->vd.lock);
    assert_int_equal(f->vn->cur_pairs, 1);
    assert_int_equal(f->fk.set_queues_n, 1);
}

/* Without MQ negotiated the command is refused. */
static void test_pairs_set_without_mq(void **state)
{
    struct fixture *f = make(0);
    *state = f;
    guest_dev_bringup(&f->vn->vd, f->r, NQ, F(MAC) | F(CTRL_VQ) | VIRTIO_BIT(VIRTIO_F_VERSION_1));
    assert_int_equal(pairs_set(f, 2, 2), VIRTIO_NET_ERR);
    assert_int_equal(f->vn->cur_pairs, 1);
}

/* A frame for pair k lands on receive queue 2k, folded onto the pairs in use. */
static void test_rx_per_pair(void **state)
{
    struct fixture *f = *state;
    struct net_hdr h = {0};
    uint8_t frame[60] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    uint32_t id, len;

    for (unsigned p = 0; p < PAIRS; p++)
        post(f, 2 * p, BUF_GPA + p * 0x1000, 2048, true);
    assert_int_equal(virtio_net_receive(f->vn, 3, &h, frame, sizeof(frame)), 0);
    assert_true(guest_ring_used(&f->r[0], &id, &len)); /* one pair in use: pair 0 */
    assert_int_equal(pairs_set(f, 4, 2), VIRTIO_NET_OK);
    assert_int_equal(virtio_net_receive(f->vn, 3, &h, frame, sizeof(frame)), 0);
    assert_true(guest_ring_used(&f->r[6], &id, &len));
    assert_int_equal(len, sizeof(h) + sizeof(frame));
    assert_int_equal(pairs_set(f, 2, 2), VIRTIO_NET_OK);
    assert_int_equal(virtio_net_receive(f->vn, 3, &h, frame, sizeof(frame)), 0);
    assert_true(guest_ring_used(&f->r[2], &id, &len)); /* 3 % 2 = pair 1 */
}

/* Transmit on the transmit queue of pair 2. */
static void test_tx_other_pair(void **state)
{
    struct fixture *f = *state;
    struct net_hdr h = {0};
    uint32_t id, len;

    assert_int_equal(gmem_write(f->gm, BUF_GPA, &h, sizeof(h)), 0);
    assert_int_equal(gmem_write(f->gm, BUF_GPA + sizeof(h), our_mac, 6), 0);
    post(f, 5, BUF_GPA, sizeof(h) + 60, false);
    virtio_queue_kick(&f->vn->vd, 5);
    assert_int_equal(f->fk.sent, 1);
    assert_true(guest_ring_used(&f->r[5], &id, &len));
}

/* vhost-net runs every pair or none. */
static void test_vhost_every_pair(void **state)
{
    struct fixture *f = make(VIRTIO_BIT(VIRTIO_F_VERSION_1));
    *state = f;
    guest_dev_bringup(&f->vn->vd, f->r, NQ,
                      F(MAC) | F(CTRL_VQ) | F(MQ) | VIRTIO_BIT(VIRTIO_F_VERSION_1));
    assert_true(f->vn->is_vhost);
    assert_int_equal(f->fk.starts, PAIRS);
    pthread_mutex_lock(&f->vn->vd.lock);
    virtio_write_status(&f->vn->vd, 0);
    pthread_mutex_unlock(&f->vn->vd.lock);
    assert_int_equal(f->fk.stops, PAIRS);
    assert_false(f->vn->is_vhost);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_layout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pairs_set, setup, teardown),
        cmocka_unit_test_teardown(test_pairs_set_without_mq, teardown),
        cmocka_unit_test_setup_teardown(test_rx_per_pair, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tx_other_pair, setup, teardown),
        cmocka_unit_test_teardown(test_vhost_every_pair, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

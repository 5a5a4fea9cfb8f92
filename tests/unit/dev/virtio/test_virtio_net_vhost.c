/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for dev/virtio/virtio_net_vhost.c over a real gmem, a fake backend with an
 * in-kernel data path that records what it is handed, and a fake transport with eventfds:
 * what vhost gets at DRIVER_OK (RAM regions only, ring addresses, kick and call descriptors,
 * the ring features), that the monitor's path stands aside meanwhile, that reset and link down
 * give the rings back at the index the kernel stopped at, the fallback with vhost=auto and
 * NEEDS_RESET with vhost=on, a ring placed in a ROM refused, and a ring error the kernel reports
 * (net_backend_fault) putting the device in NEEDS_RESET with the rings taken back.
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
#define ROM_GPA (32ULL << 20)
#define RING_SIZE 64
#define F(b) VIRTIO_BIT(VIRTIO_NET_F_##b)
#define RING_BITS                                                                                  \
    (VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX) |                        \
     VIRTIO_BIT(VIRTIO_F_RING_INDIRECT_DESC) | F(MRG_RXBUF))

static const uint8_t our_mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};

struct fake {
    struct net_backend be;
    int start_ret;
    unsigned starts, stops, sent;
    struct net_vhost_setup last;
    uint16_t stop_at[2]; /* what the "kernel" reports at stop */
    /* transport */
    int kick[3], call[3];
    bool is_external[3];
    unsigned interrupts;
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

static int fake_start(struct net_backend *be, unsigned pair, const struct net_vhost_setup *s)
{
    assert_int_equal(pair, 0);
    struct fake *fk = (struct fake *)be;
    fk->last = *s;
    if (fk->start_ret == 0)
        fk->starts++;
    return fk->start_ret;
}

static void fake_stop(struct net_backend *be, unsigned pair, uint16_t last_avail[2])
{
    assert_int_equal(pair, 0);
    struct fake *fk = (struct fake *)be;
    fk->stops++;
    last_avail[0] = fk->stop_at[0];
    last_avail[1] = fk->stop_at[1];
}

static void fake_close(struct net_backend *be)
{
    (void)be;
}

static const struct net_backend_ops fake_ops = {
    .send = fake_send,
    .vhost_start = fake_start,
    .vhost_stop = fake_stop,
    .close = fake_close,
};

static void t_interrupt(struct virtio_dev *vd, uint16_t vector)
{
    (void)vector;
    ((struct fake *)vd->transport_opaque)->interrupts++;
}

static int t_host(struct virtio_dev *vd, unsigned q, bool is_on)
{
    struct fake *fk = vd->transport_opaque;
    fk->is_external[q] = is_on;
    return fk->kick[q];
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
    struct guest_ring r[3];
};

static struct fixture *make(bool is_required)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    assert_int_equal(gmem_create(&f->gm), 0);
    assert_int_equal(gmem_add_region(f->gm, 0, RAM_BYTES, "ram", false, NULL), 0);
    assert_int_equal(gmem_add_region(f->gm, ROM_GPA, 1 << 20, "rom", true, NULL), 0);
    f->fk.be.ops = &fake_ops;
    f->fk.be.type = "fake";
    f->fk.be.has_carrier = true;
    f->fk.be.is_admin_up = true;
    f->fk.be.vhost_features = RING_BITS;
    f->fk.be.is_vhost_required = is_required;
    for (unsigned i = 0; i < 3; i++) {
        f->fk.kick[i] = eventfd(0, EFD_NONBLOCK);
        f->fk.call[i] = eventfd(0, EFD_NONBLOCK);
        guest_ring_init(&f->r[i], f->gm, 0x10000 * (i + 1), RING_SIZE);
    }
    assert_int_equal(virtio_net_create(our_mac, &f->fk.be, f->gm, &f->vn), 0);
    virtio_dev_set_transport(&f->vn->vd, &t_ops, &f->fk);
    return f;
}

static uint8_t bringup(struct fixture *f, uint64_t features)
{
    return guest_dev_bringup(&f->vn->vd, f->r, 3, features | VIRTIO_BIT(VIRTIO_F_VERSION_1));
}

static int setup(void **state)
{
    *state = make(false);
    return 0;
}

static int setup_required(void **state)
{
    *state = make(true);
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    virtio_net_destroy(f->vn);
    for (unsigned i = 0; i < 3; i++) {
        close(f->fk.kick[i]);
        close(f->fk.call[i]);
    }
    gmem_destroy(f->gm);
    free(f);
    return 0;
}

static bool needs_reset(struct fixture *f)
{
    return (f->vn->vd.status & VIRTIO_STATUS_NEEDS_RESET) != 0;
}

static void set_status(struct fixture *f, uint8_t st)
{
    pthread_mutex_lock(&f->vn->vd.lock);
    virtio_write_status(&f->vn->vd, st);
    pthread_mutex_unlock(&f->vn->vd.lock);
}

/* DRIVER_OK hands over RAM only, the rings where the guest put them and the transport's fds. */
static void test_start_handover(void **state)
{
    struct fixture *f = *state;
    const struct net_vhost_setup *s = &f->fk.last;
    struct net_hdr h = {0};
    uint8_t frame[64] = {0};

    bringup(f, F(MAC) | F(MRG_RXBUF) | VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX) | F(CTRL_VQ));
    assert_false(needs_reset(f));
    assert_int_equal(f->fk.starts, 1);
    assert_true(f->vn->is_vhost);
    assert_int_equal(s->features, VIRTIO_BIT(VIRTIO_F_VERSION_1) | F(MRG_RXBUF) |
                                      VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX));
    assert_int_equal(s->nregions, 1); /* the ROM is not in the table */
    assert_int_equal(s->regions[0].gpa, 0);
    assert_int_equal(s->regions[0].size_bytes, RAM_BYTES);
    assert_int_equal(s->regions[0].hva, (uintptr_t)gmem_ptr(f->gm, 0, 1));
    for (unsigned q = 0; q < 2; q++) {
        assert_int_equal(s->rings[q].size, RING_SIZE);
        assert_int_equal(s->rings[q].last_avail_idx, 0);
        assert_int_equal(s->rings[q].desc_hva, (uintptr_t)gmem_ptr(f->gm, f->r[q].desc_gpa, 1));
        assert_int_equal(s->rings[q].avail_hva, (uintptr_t)gmem_ptr(f->gm, f->r[q].avail_gpa, 1));
        assert_int_equal(s->rings[q].used_hva, (uintptr_t)gmem_ptr(f->gm, f->r[q].used_gpa, 1));
        assert_int_equal(s->rings[q].kick_fd, f->fk.kick[q]);
        assert_int_equal(s->rings[q].call_fd, f->fk.call[q]);
        assert_true(f->fk.is_external[q]);
    }
    assert_false(f->fk.is_external[2]); /* the control queue stays here */
    /* the monitor's paths stand aside: a kick of the transmit queue is the kernel's, a frame
     * from the backend's own path is dropped */
    guest_ring_desc(&f->r[1], 0, 0, 0x200000, 80, 0, 0);
    guest_ring_publish(&f->r[1], 0);
    virtio_queue_kick(&f->vn->vd, VIRTIO_NET_Q_TX);
    assert_int_equal(f->fk.sent, 0);
    assert_int_equal(virtio_net_receive(f->vn, 0, &h, frame, sizeof(frame)), 0);
    assert_int_equal(f->vn->stats.rx_packets, 0);
    assert_int_equal(f->vn->stats.rx_dropped, 1);
}

/* Reset stops the kernel and gives the kicks back; a restart hands over again. */
static void test_reset_stops(void **state)
{
    struct fixture *f = *state;

    bringup(f, F(MAC));
    assert_true(f->vn->is_vhost);
    set_status(f, 0);
    assert_int_equal(f->fk.stops, 1);
    assert_false(f->vn->is_vhost);
    assert_false(f->fk.is_external[0]);
    assert_false(f->fk.is_external[1]);
    for (unsigned i = 0; i < 3; i++)
        guest_ring_init(&f->r[i], f->gm, 0x10000 * (i + 1), RING_SIZE);
    bringup(f, F(MAC));
    assert_int_equal(f->fk.starts, 2);
}

/* Link down takes the rings back at the index the kernel reached; link up hands them over. */
static void test_link_down_resyncs(void **state)
{
    struct fixture *f = *state;

    bringup(f, F(MAC));
    f->fk.stop_at[0] = 5;
    f->fk.stop_at[1] = 7;
    net_backend_set_link(&f->fk.be, false);
    assert_int_equal(f->fk.stops, 1);
    assert_false(f->vn->is_vhost);
    assert_int_equal(f->vn->vd.queues[0].vq.last_avail_idx, 5);
    assert_int_equal(f->vn->vd.queues[1].vq.last_avail_idx, 7);
    net_backend_set_link(&f->fk.be, true);
    assert_true(f->vn->is_vhost);
    assert_int_equal(f->fk.last.rings[0].last_avail_idx, 5);
    assert_int_equal(f->fk.last.rings[1].last_avail_idx, 7);
}

/* vhost's error eventfd fired: NEEDS_RESET, the rings taken back; the driver's reset and a new
 * start hand them over again. A fault while nothing runs, or once detached, changes nothing. */
static void test_ring_error(void **state)
{
    struct fixture *f = *state;

    net_backend_fault(&f->fk.be, "test: a broken ring"); /* not started: ignored */
    assert_false(needs_reset(f));
    bringup(f, F(MAC));
    assert_true(f->vn->is_vhost);
    f->fk.stop_at[0] = 3;
    f->fk.stop_at[1] = 4;
    net_backend_fault(&f->fk.be, "test: a broken ring");
    assert_true(needs_reset(f));
    assert_false(f->vn->is_vhost);
    assert_int_equal(f->fk.stops, 1);
    assert_false(f->fk.is_external[0]);
    assert_false(f->fk.is_external[1]);
    assert_int_equal(f->vn->vd.queues[1].vq.last_avail_idx, 4);
    net_backend_fault(&f->fk.be, "test: again"); /* stopped already */
    assert_int_equal(f->fk.stops, 1);
    set_status(f, 0);
    assert_false(needs_reset(f));
    for (unsigned i = 0; i < 3; i++)
        guest_ring_init(&f->r[i], f->gm, 0x10000 * (i + 1), RING_SIZE);
    bringup(f, F(MAC));
    assert_true(f->vn->is_vhost);
    assert_int_equal(f->fk.starts, 2);
    assert_non_null(f->fk.be.fault);
}

/* vhost=auto: the kernel refusing leaves the monitor's path running. */
static void test_auto_falls_back(void **state)
{
    struct fixture *f = *state;

    f->fk.start_ret = -EINVAL;
    bringup(f, F(MAC));
    assert_false(needs_reset(f));
    assert_false(f->vn->is_vhost);
    assert_false(f->fk.is_external[0]);
    assert_false(f->fk.is_external[1]);
    guest_ring_desc(&f->r[1], 0, 0, 0x200000, 80, 0, 0);
    assert_int_equal(gmem_write(f->gm, 0x200000 + sizeof(struct net_hdr), our_mac, 6), 0);
    guest_ring_publish(&f->r[1], 0);
    virtio_queue_kick(&f->vn->vd, VIRTIO_NET_Q_TX);
    assert_int_equal(f->fk.sent, 1);
}

/* vhost=on: the kernel refusing puts the device in NEEDS_RESET. */
static void test_required_fails(void **state)
{
    struct fixture *f = *state;

    f->fk.start_ret = -EINVAL;
    bringup(f, F(MAC));
    assert_true(needs_reset(f));
    assert_false(f->vn->is_vhost);
}

/* A ring the guest placed in a ROM is never handed over (the core already refuses it). */
static void test_ring_in_rom(void **state)
{
    struct fixture *f = *state;

    guest_ring_init(&f->r[1], f->gm, ROM_GPA, RING_SIZE);
    bringup(f, F(MAC));
    assert_int_equal(f->fk.starts, 0);
    assert_false(f->vn->is_vhost);
}

/* A ring feature the kernel does not handle keeps the monitor's path. */
static void test_feature_unknown_to_kernel(void **state)
{
    struct fixture *f = *state;

    f->fk.be.vhost_features = VIRTIO_BIT(VIRTIO_F_VERSION_1);
    bringup(f, F(MAC) | F(MRG_RXBUF));
    assert_int_equal(f->fk.starts, 0);
    assert_false(f->vn->is_vhost);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_start_handover, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reset_stops, setup, teardown),
        cmocka_unit_test_setup_teardown(test_link_down_resyncs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ring_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_auto_falls_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_required_fails, setup_required, teardown),
        cmocka_unit_test_setup_teardown(test_ring_in_rom, setup, teardown),
        cmocka_unit_test_setup_teardown(test_feature_unknown_to_kernel, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

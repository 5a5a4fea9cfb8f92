/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for dev/virtio/virtio_net_state.c: a running adapter (core and its own state: MAC
 * set by the driver, filter tables, offloads, counters) saved, loaded into a fresh device and
 * saved again gives the same bytes; hostile sections (a table over 64 entries, unknown flag or
 * status bits, offloads not negotiated, another queue-pair count, a truncated section) are
 * refused; quiesce takes the rings back from vhost.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/statefile.h"
#include "core/gmem.h"
#include "dev/virtio/virtio_net.h"
#include "guest_ring.h"
#include "net/net.h"

#define RAM_BYTES (16ULL << 20)
#define RING_SIZE 64
#define NVEC 4
#define F(b) VIRTIO_BIT(VIRTIO_NET_F_##b)
#define OFFLOADS (NET_OFFLOAD_CSUM | NET_OFFLOAD_TSO4)
#define FEATURES (F(MAC) | F(STATUS) | F(CTRL_VQ) | F(CTRL_RX) | F(GUEST_CSUM) | F(GUEST_TSO4))

static const uint8_t our_mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};

static int fake_send(struct net_backend *be, const struct net_hdr *hdr, const struct iovec *iov,
                     unsigned cnt)
{
    (void)be;
    (void)hdr;
    (void)iov;
    (void)cnt;
    return 0;
}

static void fake_close(struct net_backend *be)
{
    (void)be;
}

static const struct net_backend_ops fake_ops = {.send = fake_send, .close = fake_close};

struct dev {
    struct net_backend be;
    struct virtio_net *vn;
};

struct fixture {
    struct gmem *gm;
    struct guest_ring r[3];
    struct dev a, b;
};

static void dev_make(struct fixture *f, struct dev *d)
{
    d->be.ops = &fake_ops;
    d->be.type = "fake";
    d->be.offloads = OFFLOADS;
    d->be.has_carrier = true;
    d->be.is_admin_up = true;
    assert_int_equal(virtio_net_create(our_mac, &d->be, f->gm, &d->vn), 0);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    assert_int_equal(gmem_create(&f->gm), 0);
    assert_int_equal(gmem_add_region(f->gm, 0, RAM_BYTES, "ram", false, NULL), 0);
    for (unsigned i = 0; i < 3; i++)
        guest_ring_init(&f->r[i], f->gm, 0x10000 * (i + 1), RING_SIZE);
    dev_make(f, &f->a);
    dev_make(f, &f->b);
    guest_dev_bringup(&f->a.vn->vd, f->r, 3, FEATURES | VIRTIO_BIT(VIRTIO_F_VERSION_1));
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    virtio_net_destroy(f->a.vn);
    virtio_net_destroy(f->b.vn);
    gmem_destroy(f->gm);
    free(f);
    return 0;
}

/* The adapter's section as machine_net.c writes it (core, then the adapter's own). */
static void save(struct virtio_net *vn, struct sf_buf *b)
{
    memset(b, 0, sizeof(*b));
    assert_int_equal(virtio_net_quiesce(vn), 0);
    pthread_mutex_lock(&vn->vd.lock);
    assert_int_equal(virtio_dev_save(&vn->vd, b), 0);
    pthread_mutex_unlock(&vn->vd.lock);
    virtio_net_save(vn, b);
    assert_false(b->failed);
}

static int load(struct virtio_net *vn, const struct sf_buf *b)
{
    struct sf_in in;
    int ret;

    sf_in_init(&in, b->data, b->len);
    pthread_mutex_lock(&vn->vd.lock);
    ret = virtio_dev_load(&vn->vd, &in, NVEC);
    pthread_mutex_unlock(&vn->vd.lock);
    if (ret == 0)
        ret = virtio_net_load(vn, &in);
    if (ret == 0)
        ret = sf_in_end(&in);
    return ret;
}

/* A driver's state: its own MAC, a filter, offloads narrowed by the control queue, counters. */
static void dirty(struct virtio_net *vn)
{
    static const uint8_t mac[6] = {0x02, 0x11, 0x22, 0x33, 0x44, 0x55};
    memcpy(vn->cfg.mac, mac, 6);
    vn->cfg.status = VIRTIO_NET_S_ANNOUNCE;
    vn->filter.is_promisc = false;
    vn->filter.is_allmulti = true;
    vn->filter.nuni = 2;
    memcpy(vn->filter.uni[1], mac, 6);
    vn->filter.nmulti = 1;
    vn->filter.multi[0][0] = 0x01;
    vn->filter.is_multi_overflow = true;
    vn->guest_offloads = NET_OFFLOAD_CSUM;
    vn->stats = (struct virtio_net_stats){1, 2, 3, 4, 5, 6, 7};
}

static void test_round_trip(void **state)
{
    struct fixture *f = *state;
    struct sf_buf b1, b2;

    dirty(f->a.vn);
    save(f->a.vn, &b1);
    assert_int_equal(load(f->b.vn, &b1), 0);
    assert_int_equal(f->b.vn->stats.errors, 7);
    assert_int_equal(f->b.vn->cfg.mac[0], 0x02);
    assert_int_equal(f->b.vn->guest_offloads, NET_OFFLOAD_CSUM);
    save(f->b.vn, &b2);
    assert_int_equal(b1.len, b2.len);
    assert_memory_equal(b1.data, b2.data, b1.len);
    sf_buf_free(&b1);
    sf_buf_free(&b2);
}

/* Offset of the adapter's own part: after the core's. */
static size_t own_off(struct virtio_net *vn)
{
    struct sf_buf b = {0};
    size_t n;
    pthread_mutex_lock(&vn->vd.lock);
    assert_int_equal(virtio_dev_save(&vn->vd, &b), 0);
    pthread_mutex_unlock(&vn->vd.lock);
    n = b.len;
    sf_buf_free(&b);
    return n;
}

static void expect_refused(struct fixture *f, size_t at, uint8_t val, size_t len)
{
    struct sf_buf b;
    save(f->a.vn, &b);
    if (at < b.len)
        b.data[at] = val;
    if (len < b.len)
        b.len = len;
    assert_int_equal(load(f->b.vn, &b), -EINVAL);
    sf_buf_free(&b);
}

static void test_hostile_sections(void **state)
{
    struct fixture *f = *state;
    size_t o = own_off(f->a.vn);

    expect_refused(f, o + 6, 0x80, SIZE_MAX);     /* unknown status bit */
    expect_refused(f, o + 8, 2, SIZE_MAX);        /* max_virtqueue_pairs 2 */
    expect_refused(f, o + 10, 3, SIZE_MAX);       /* 3 pairs in use */
    expect_refused(f, o + 12, 1u << 4, SIZE_MAX); /* offloads (USO) never negotiated */
    expect_refused(f, o + 16, 0x10, SIZE_MAX);    /* unknown filter flag */
    expect_refused(f, o + 17, 65, SIZE_MAX);      /* 65 unicast entries */
    expect_refused(f, o + 18, 200, SIZE_MAX);     /* 200 multicast entries */
    expect_refused(f, SIZE_MAX, 0, o + 30);       /* truncated */
}

/* Quiesce with vhost running takes the rings back (a backend without vhost: nothing to do). */
static void test_quiesce_without_vhost(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(virtio_net_quiesce(f->a.vn), 0);
    assert_false(f->a.vn->is_vhost);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostile_sections, setup, teardown),
        cmocka_unit_test_setup_teardown(test_quiesce_without_vhost, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

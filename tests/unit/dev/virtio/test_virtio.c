/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for dev/virtio/virtio.c: the status state machine, feature negotiation and
 * select windows, config space bounds and generation, queue enabling with bad sizes and ring
 * addresses, kicks for bad queues or before DRIVER_OK, NEEDS_RESET on a bad chain, and reset
 * with requests in flight (virtio 1.2 §2.1, §2.2, §2.4, §3.1).
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
#define DUMMY_FEATURE 3

struct fixture {
    struct gmem *gm;
    struct virtio_dev vd;
    struct guest_ring rings[2];
    unsigned notifies[2];
    unsigned resets, activates;
    int activate_ret;
    uint16_t irq_vectors[16];
    unsigned nirqs;
    uint8_t config[8];
};

static struct fixture *the_fixture;

static void dummy_read_config(struct virtio_dev *vd, size_t off, void *buf, size_t len)
{
    (void)vd;
    memcpy(buf, the_fixture->config + off, len);
}

static int dummy_activate(struct virtio_dev *vd)
{
    (void)vd;
    the_fixture->activates++;
    return the_fixture->activate_ret;
}

static void dummy_reset(struct virtio_dev *vd)
{
    (void)vd;
    the_fixture->resets++;
}

static void dummy_notify(struct virtio_dev *vd, unsigned qidx)
{
    struct iovec iov[4];
    struct virtq_elem e = {.iov = iov, .iov_cap = 4};
    the_fixture->notifies[qidx]++;
    while (virtio_queue_pop(vd, qidx, &e) > 0)
        virtio_queue_push(vd, qidx, e.head, 0);
}

static const struct virtio_dev_ops dummy_ops = {
    .features = VIRTIO_BIT(DUMMY_FEATURE),
    .config_size = 8,
    .read_config = dummy_read_config,
    .activate = dummy_activate,
    .reset = dummy_reset,
    .queue_notify = dummy_notify,
};

static void fake_interrupt(struct virtio_dev *vd, uint16_t vector)
{
    (void)vd;
    if (the_fixture->nirqs < 16)
        the_fixture->irq_vectors[the_fixture->nirqs] = vector;
    the_fixture->nirqs++;
}

static const struct virtio_transport_ops fake_transport = {.interrupt = fake_interrupt};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    the_fixture = f;
    assert_int_equal(gmem_create(&f->gm), 0);
    assert_int_equal(gmem_add_region(f->gm, 0, RAM_BYTES, "ram", false, NULL), 0);
    guest_ring_init(&f->rings[0], f->gm, 0x10000, 16);
    guest_ring_init(&f->rings[1], f->gm, 0x20000, 16);
    assert_int_equal(virtio_dev_init(&f->vd, "dummy", 99, &dummy_ops, f->gm, 2, 64), 0);
    virtio_dev_set_transport(&f->vd, &fake_transport, f);
    memcpy(f->config, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    virtio_dev_fini(&f->vd);
    gmem_destroy(f->gm);
    free(f);
    return 0;
}

static const uint64_t good_features = VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(DUMMY_FEATURE);

static void test_init_args(void **state)
{
    struct fixture *f = *state;
    struct virtio_dev vd;
    assert_int_equal(virtio_dev_init(&vd, "x", 1, &dummy_ops, f->gm, 0, 64), -EINVAL);
    assert_int_equal(virtio_dev_init(&vd, "x", 1, &dummy_ops, f->gm, 1, 100), -EINVAL);
    assert_int_equal(virtio_dev_init(&vd, "x", 1, &dummy_ops, f->gm, VIRTIO_MAX_QUEUES + 1, 64),
                     -EINVAL);
}

static void test_bringup(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(guest_dev_bringup(&f->vd, f->rings, 2, good_features), ALL_OK);
    assert_int_equal(f->activates, 1);
    assert_true(f->vd.queues[0].is_enabled);
    assert_true(virtio_has_feature(&f->vd, DUMMY_FEATURE));
    assert_false(virtio_has_feature(&f->vd, VIRTIO_F_RING_EVENT_IDX));
}

static void test_feature_windows(void **state)
{
    struct fixture *f = *state;
    struct virtio_dev *vd = &f->vd;
    vd->device_feature_select = 0;
    assert_int_equal(virtio_read_device_features(vd),
                     (uint32_t)(VIRTIO_BIT(DUMMY_FEATURE) | VIRTIO_BIT(28) | VIRTIO_BIT(29)));
    vd->device_feature_select = 1;
    assert_int_equal(virtio_read_device_features(vd), 1); /* VERSION_1 */
    vd->device_feature_select = 2;
    assert_int_equal(virtio_read_device_features(vd), 0);
    /* driver features only writable between DRIVER and FEATURES_OK */
    virtio_write_driver_features(vd, 0xffffffff);
    assert_int_equal(vd->driver_features, 0);
    virtio_write_status(vd, VIRTIO_STATUS_ACKNOWLEDGE);
    virtio_write_status(vd, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    vd->driver_feature_select = 1;
    virtio_write_driver_features(vd, 1);
    vd->driver_feature_select = 7;
    virtio_write_driver_features(vd, 0xffffffff); /* ignored window */
    vd->driver_feature_select = 1;
    assert_int_equal(virtio_read_driver_features(vd), 1);
    vd->driver_feature_select = 0;
    virtio_write_driver_features(vd, (uint32_t)VIRTIO_BIT(DUMMY_FEATURE));
    assert_int_equal(vd->driver_features, good_features);
    virtio_write_status(vd, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
                                VIRTIO_STATUS_FEATURES_OK);
    assert_true(virtio_read_status(vd) & VIRTIO_STATUS_FEATURES_OK);
    virtio_write_driver_features(vd, 0);
    assert_int_equal(vd->driver_features, good_features);
}

static void test_features_refused(void **state)
{
    struct fixture *f = *state;
    /* without VERSION_1 */
    assert_int_equal(guest_dev_bringup(&f->vd, f->rings, 2, VIRTIO_BIT(DUMMY_FEATURE)),
                     VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    assert_int_equal(f->activates, 0);
    assert_false(f->vd.queues[0].is_enabled);
    virtio_write_status(&f->vd, 0);
    /* a feature the device did not offer */
    assert_int_equal(guest_dev_bringup(&f->vd, f->rings, 2, good_features | VIRTIO_BIT(40)),
                     VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
}

static void test_status_order(void **state)
{
    struct fixture *f = *state;
    struct virtio_dev *vd = &f->vd;
    virtio_write_status(vd, VIRTIO_STATUS_DRIVER); /* DRIVER without ACKNOWLEDGE */
    assert_int_equal(virtio_read_status(vd), 0);
    virtio_write_status(vd, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER_OK);
    assert_int_equal(virtio_read_status(vd), VIRTIO_STATUS_ACKNOWLEDGE);
    assert_int_equal(f->activates, 0);
    /* the driver cannot clear bits, nor set NEEDS_RESET */
    virtio_write_status(vd, VIRTIO_STATUS_NEEDS_RESET);
    assert_int_equal(virtio_read_status(vd), VIRTIO_STATUS_ACKNOWLEDGE);
    virtio_write_status(vd, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_FAILED);
    assert_int_equal(virtio_read_status(vd), VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_FAILED);
    virtio_write_status(vd, 0);
    assert_int_equal(virtio_read_status(vd), 0);
    assert_int_equal(f->resets, 1);
}

static void test_activate_fails(void **state)
{
    struct fixture *f = *state;
    f->activate_ret = -EIO;
    assert_int_equal(guest_dev_bringup(&f->vd, f->rings, 2, good_features),
                     ALL_OK | VIRTIO_STATUS_NEEDS_RESET);
    assert_int_equal(f->nirqs, 1); /* config change interrupt */
    assert_int_equal(f->vd.isr, VIRTIO_ISR_CONFIG);
}

static void test_config_space(void **state)
{
    struct fixture *f = *state;
    struct virtio_dev *vd = &f->vd;
    uint8_t gen = vd->config_generation;
    assert_int_equal(virtio_read_config(vd, 0, 4), 0x04030201);
    assert_int_equal(virtio_read_config(vd, 4, 4), 0x08070605);
    assert_int_equal(virtio_read_config(vd, 0, 8), 0x0807060504030201ULL);
    assert_int_equal(virtio_read_config(vd, 6, 4), 0); /* straddles the end */
    assert_int_equal(virtio_read_config(vd, 8, 1), 0);
    assert_int_equal(virtio_read_config(vd, 0, 3), 0); /* bad size */
    assert_int_equal(virtio_read_config(vd, SIZE_MAX, 4), 0);
    virtio_write_config(vd, 0, 0xff, 1); /* no write_config: ignored */
    assert_int_equal(virtio_read_config(vd, 0, 1), 1);
    virtio_notify_config(vd);
    assert_int_equal(vd->config_generation, (uint8_t)(gen + 1));
    assert_int_equal(virtio_read_isr(vd), VIRTIO_ISR_CONFIG);
    assert_int_equal(virtio_read_isr(vd), 0);
}

static void enable_with(struct fixture *f, uint16_t size, uint64_t desc_gpa)
{
    struct virtio_dev *vd = &f->vd;
    virtio_write_status(vd, VIRTIO_STATUS_ACKNOWLEDGE);
    virtio_write_status(vd, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    vd->driver_feature_select = 1;
    virtio_write_driver_features(vd, 1);
    virtio_write_status(vd, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
                                VIRTIO_STATUS_FEATURES_OK);
    vd->queues[0].size = size;
    vd->queues[0].desc_gpa = desc_gpa;
    vd->queues[0].driver_gpa = f->rings[0].avail_gpa;
    vd->queues[0].device_gpa = f->rings[0].used_gpa;
    virtio_queue_enable(vd, 0);
}

static void test_queue_size_zero(void **state)
{
    struct fixture *f = *state;
    enable_with(f, 0, f->rings[0].desc_gpa);
    assert_false(f->vd.queues[0].is_enabled);
    assert_true(virtio_read_status(&f->vd) & VIRTIO_STATUS_NEEDS_RESET);
    assert_int_equal(f->nirqs, 0); /* not DRIVER_OK yet: no interrupt */
    /* DRIVER_OK is refused while NEEDS_RESET is set */
    virtio_write_status(&f->vd, ALL_OK);
    assert_false(virtio_read_status(&f->vd) & VIRTIO_STATUS_DRIVER_OK);
    /* reset clears it */
    virtio_write_status(&f->vd, 0);
    assert_int_equal(virtio_read_status(&f->vd), 0);
}

static void test_queue_size_not_pow2(void **state)
{
    struct fixture *f = *state;
    enable_with(f, 12, f->rings[0].desc_gpa);
    assert_true(virtio_read_status(&f->vd) & VIRTIO_STATUS_NEEDS_RESET);
}

static void test_queue_size_too_big(void **state)
{
    struct fixture *f = *state;
    enable_with(f, 128, f->rings[0].desc_gpa); /* max is 64 */
    assert_true(virtio_read_status(&f->vd) & VIRTIO_STATUS_NEEDS_RESET);
}

static void test_queue_outside_ram(void **state)
{
    struct fixture *f = *state;
    enable_with(f, 16, RAM_BYTES - 16);
    assert_true(virtio_read_status(&f->vd) & VIRTIO_STATUS_NEEDS_RESET);
}

static void test_queue_regs_locked(void **state)
{
    struct fixture *f = *state;
    assert_false(virtio_queue_is_writable(&f->vd));
    virtio_queue_enable(&f->vd, 0); /* before FEATURES_OK: ignored */
    assert_false(f->vd.queues[0].is_enabled);
    assert_int_equal(virtio_read_status(&f->vd), 0);
    guest_dev_bringup(&f->vd, f->rings, 2, good_features);
    assert_false(virtio_queue_is_writable(&f->vd));
    virtio_queue_enable(&f->vd, 7); /* bad index: ignored */
}

static void test_kicks(void **state)
{
    struct fixture *f = *state;
    /* before DRIVER_OK */
    virtio_queue_kick(&f->vd, 0);
    assert_int_equal(f->notifies[0], 0);
    guest_dev_bringup(&f->vd, f->rings, 1, good_features); /* queue 1 left disabled */
    virtio_queue_kick(&f->vd, 0);
    assert_int_equal(f->notifies[0], 1);
    virtio_queue_kick(&f->vd, 1);
    assert_int_equal(f->notifies[1], 0);
    virtio_queue_kick(&f->vd, 2);
    virtio_queue_kick(&f->vd, 0xffff);
    virtio_queue_kick(&f->vd, UINT32_MAX);
    assert_int_equal(virtio_read_status(&f->vd), ALL_OK);
}

static void test_bad_chain_needs_reset2(void **state)
{
    struct fixture *f = *state;
    uint8_t gen;

    guest_dev_bringup(&f->vd, f->rings, 2, good_features);
    f->vd.config_msix_vector = 0;
    gen = f->vd.config_generation;
    guest_ring_desc(&f->rings[0], 0, 1, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 1);
    guest_ring_publish(&f->rings[0], 1);
    virtio_queue_kick(&f->vd, 0);
    assert_true(virtio_read_status(&f->vd) & VIRTIO_STATUS_NEEDS_RESET);
    assert_int_equal(f->nirqs, 1);
    assert_int_equal(f->irq_vectors[0], 0);
    assert_int_equal(f->vd.config_generation, (uint8_t)(gen + 1));
    /* further kicks are ignored, also on the other queue */
    virtio_queue_kick(&f->vd, 0);
    virtio_queue_kick(&f->vd, 1);
    assert_int_equal(f->notifies[0], 1);
    assert_int_equal(f->notifies[1], 0);
    /* the driver's status writes keep NEEDS_RESET */
    virtio_write_status(&f->vd, ALL_OK);
    assert_true(virtio_read_status(&f->vd) & VIRTIO_STATUS_NEEDS_RESET);
    /* and a reset brings the device back */
    virtio_write_status(&f->vd, 0);
    assert_int_equal(guest_dev_bringup(&f->vd, f->rings, 2, good_features), ALL_OK);
}

static void test_reset_inflight(void **state)
{
    struct fixture *f = *state;
    struct virtio_dev *vd = &f->vd;
    uint32_t e1, e2, e3;

    guest_dev_bringup(vd, f->rings, 2, good_features);
    e1 = virtio_req_begin(vd);
    e2 = virtio_req_begin(vd);
    virtio_write_status(vd, 0);
    assert_int_equal(f->resets, 1);
    assert_true(vd->is_reset_pending);
    assert_int_not_equal(virtio_read_status(vd), 0); /* the driver keeps waiting */
    assert_false(vd->queues[0].is_enabled);
    virtio_write_status(vd, VIRTIO_STATUS_ACKNOWLEDGE); /* ignored while pending */
    virtio_write_status(vd, 0);                         /* no second reset */
    assert_int_equal(f->resets, 1);
    virtio_queue_kick(vd, 0);
    assert_int_equal(f->notifies[0], 0);
    assert_false(virtio_req_end(vd, e1)); /* stale: must not be pushed */
    assert_int_not_equal(virtio_read_status(vd), 0);
    assert_false(virtio_req_end(vd, e2));
    assert_int_equal(virtio_read_status(vd), 0);
    assert_false(vd->is_reset_pending);
    /* and the device works again */
    assert_int_equal(guest_dev_bringup(vd, f->rings, 2, good_features), ALL_OK);
    e3 = virtio_req_begin(vd);
    assert_true(virtio_req_end(vd, e3));
}

static void test_notify_vectors(void **state)
{
    struct fixture *f = *state;
    struct virtio_dev *vd = &f->vd;
    guest_dev_bringup(vd, f->rings, 2, good_features);
    vd->queues[1].msix_vector = 5;
    guest_ring_desc(&f->rings[1], 0, 0, BUF_GPA, 16, 0, 0);
    guest_ring_publish(&f->rings[1], 0);
    virtio_queue_kick(vd, 1);
    pthread_mutex_lock(&vd->lock);
    virtio_queue_notify(vd, 1);
    pthread_mutex_unlock(&vd->lock);
    assert_int_equal(f->nirqs, 1);
    assert_int_equal(f->irq_vectors[0], 5);
    assert_int_equal(virtio_read_isr(vd), VIRTIO_ISR_QUEUE);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_init_args),
        T(test_bringup),
        T(test_feature_windows),
        T(test_features_refused),
        T(test_status_order),
        T(test_activate_fails),
        T(test_config_space),
        T(test_queue_size_zero),
        T(test_queue_size_not_pow2),
        T(test_queue_size_too_big),
        T(test_queue_outside_ram),
        T(test_queue_regs_locked),
        T(test_kicks),
        T(test_bad_chain_needs_reset2),
        T(test_reset_inflight),
        T(test_notify_vectors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

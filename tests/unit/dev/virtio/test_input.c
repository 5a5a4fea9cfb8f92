/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for dev/virtio/input.c over a real gmem: the configuration space selected by
 * select/subsel (virtio 1.2 §5.8.4), host events delivered to eventq buffers in order, the
 * bounded pending queue, statusq LED events, a hostile driver's short or read-only buffers
 * (NEEDS_RESET), reset and the saved state.
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
#include "dev/virtio/input.h"
#include "guest_ring.h"

#define RAM_BYTES (16ULL << 20)
#define BUF_GPA 0x100000ULL
#define OK_STATUS                                                                                  \
    (VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |                \
     VIRTIO_STATUS_DRIVER_OK)

struct ctx {
    struct gmem *gm;
    struct virtio_input *vi;
    struct guest_ring r[2];
};

static void open_dev(struct ctx *c, enum virtio_input_kind kind, bool is_up)
{
    assert_int_equal(gmem_create(&c->gm), 0);
    assert_int_equal(gmem_add_region(c->gm, 0, RAM_BYTES, "ram", false, NULL), 0);
    assert_int_equal(virtio_input_create(c->gm, kind, &c->vi), 0);
    guest_ring_init(&c->r[0], c->gm, 0x10000, 16);
    guest_ring_init(&c->r[1], c->gm, 0x20000, 16);
    if (is_up)
        assert_int_equal(guest_dev_bringup(&c->vi->vd, c->r, 2, VIRTIO_BIT(VIRTIO_F_VERSION_1)),
                         OK_STATUS);
}

static void close_dev(struct ctx *c)
{
    virtio_input_destroy(c->vi);
    gmem_destroy(c->gm);
}

/* Selects (select, subsel) and returns size; the union goes to (u). */
static uint8_t cfg_select(struct ctx *c, uint8_t select, uint8_t subsel, uint8_t *u)
{
    struct virtio_dev *vd = &c->vi->vd;
    uint8_t size;
    pthread_mutex_lock(&vd->lock);
    virtio_write_config(vd, 0, select, 1);
    virtio_write_config(vd, 1, subsel, 1);
    size = (uint8_t)virtio_read_config(vd, 2, 1);
    for (unsigned i = 0; i < 128; i++)
        u[i] = (uint8_t)virtio_read_config(vd, 8 + i, 1);
    pthread_mutex_unlock(&vd->lock);
    return size;
}

static void test_config_keyboard(void **state)
{
    struct ctx c;
    uint8_t u[128];
    (void)state;
    open_dev(&c, VIRTIO_INPUT_KEYBOARD, false);
    assert_int_equal(cfg_select(&c, VIRTIO_INPUT_CFG_UNSET, 0, u), 0);
    uint8_t n = cfg_select(&c, VIRTIO_INPUT_CFG_ID_NAME, 0, u);
    assert_int_equal(n, strlen("bareiron virtio keyboard"));
    assert_memory_equal(u, "bareiron virtio keyboard", n);
    assert_int_equal(cfg_select(&c, VIRTIO_INPUT_CFG_ID_NAME, 1, u), 0);
    assert_true(cfg_select(&c, VIRTIO_INPUT_CFG_ID_SERIAL, 0, u) > 0);
    assert_int_equal(cfg_select(&c, VIRTIO_INPUT_CFG_ID_DEVIDS, 0, u), 8);
    assert_int_equal(u[0], 0x06); /* BUS_VIRTUAL */
    assert_int_equal(cfg_select(&c, VIRTIO_INPUT_CFG_PROP_BITS, 0, u), 0);
    n = cfg_select(&c, VIRTIO_INPUT_CFG_EV_BITS, EVDEV_KEY, u);
    assert_true(n >= 16 && n <= 32);
    assert_true(u[30 / 8] & (1u << (30 % 8)));   /* KEY_A */
    assert_true(u[111 / 8] & (1u << (111 % 8))); /* KEY_DELETE */
    assert_false(u[0] & 1);                      /* KEY_RESERVED */
    assert_int_equal(cfg_select(&c, VIRTIO_INPUT_CFG_EV_BITS, EVDEV_LED, u), 1);
    assert_int_equal(u[0], 7);
    assert_int_equal(cfg_select(&c, VIRTIO_INPUT_CFG_EV_BITS, EVDEV_ABS, u), 0);
    assert_int_equal(cfg_select(&c, VIRTIO_INPUT_CFG_ABS_INFO, 0, u), 0);
    assert_int_equal(cfg_select(&c, 0xff, 0xff, u), 0);
    /* one 16-bit write sets select and subsel; writes elsewhere are ignored */
    pthread_mutex_lock(&c.vi->vd.lock);
    virtio_write_config(&c.vi->vd, 0, VIRTIO_INPUT_CFG_EV_BITS | (EVDEV_LED << 8), 2);
    assert_int_equal(virtio_read_config(&c.vi->vd, 2, 1), 1);
    virtio_write_config(&c.vi->vd, 2, 0x99, 1);
    virtio_write_config(&c.vi->vd, 8, 0xffffffff, 4);
    assert_int_equal(virtio_read_config(&c.vi->vd, 0, 4), 0x010000 | (EVDEV_LED << 8) | 0x11);
    assert_int_equal(virtio_read_config(&c.vi->vd, 8, 1), 7);
    assert_int_equal(virtio_read_config(&c.vi->vd, 136, 1), 0); /* past the end */
    pthread_mutex_unlock(&c.vi->vd.lock);
    close_dev(&c);
}

static void test_config_tablet(void **state)
{
    struct ctx c;
    uint8_t u[128];
    uint32_t v;
    (void)state;
    open_dev(&c, VIRTIO_INPUT_TABLET, false);
    assert_int_equal(cfg_select(&c, VIRTIO_INPUT_CFG_EV_BITS, EVDEV_ABS, u), 1);
    assert_int_equal(u[0], 3);
    assert_int_equal(cfg_select(&c, VIRTIO_INPUT_CFG_EV_BITS, EVDEV_KEY, u), 0x112 / 8 + 1);
    assert_int_equal(u[0x110 / 8], 7);
    assert_int_equal(cfg_select(&c, VIRTIO_INPUT_CFG_EV_BITS, EVDEV_REL, u), 2);
    assert_int_equal(u[1], 1); /* REL_WHEEL */
    assert_int_equal(cfg_select(&c, VIRTIO_INPUT_CFG_ABS_INFO, EVDEV_ABS_Y, u), 20);
    memcpy(&v, u, 4);
    assert_int_equal(v, 0);
    memcpy(&v, u + 4, 4);
    assert_int_equal(v, VIRTIO_INPUT_ABS_MAX);
    assert_int_equal(cfg_select(&c, VIRTIO_INPUT_CFG_ABS_INFO, 2, u), 0);
    assert_int_equal(cfg_select(&c, VIRTIO_INPUT_CFG_EV_BITS, EVDEV_LED, u), 0);
    close_dev(&c);
}

/* Posts (n) 8-byte writable buffers, from descriptor (first). */
static void post(struct ctx *c, unsigned q, unsigned first, unsigned n, uint32_t len, uint16_t fl)
{
    for (unsigned i = first; i < first + n; i++) {
        guest_ring_desc(&c->r[q], 0, i, BUF_GPA + 0x1000 * q + 8 * i, len, fl, 0);
        guest_ring_publish(&c->r[q], (uint16_t)i);
    }
    virtio_queue_kick(&c->vi->vd, q);
}

static void expect_event(struct ctx *c, uint16_t type, uint16_t code, uint32_t value)
{
    uint32_t id, len;
    struct virtio_input_event e;
    assert_true(guest_ring_used(&c->r[0], &id, &len));
    assert_int_equal(len, 8);
    assert_int_equal(gmem_read(c->gm, BUF_GPA + 8 * id, &e, sizeof(e)), 0);
    assert_int_equal(e.type, type);
    assert_int_equal(e.code, code);
    assert_int_equal(e.value, value);
}

static void test_events(void **state)
{
    struct ctx c;
    const struct virtio_input_event key[] = {{EVDEV_KEY, 30, 1}, {EVDEV_SYN, 0, 0}};
    uint32_t id, len;
    (void)state;
    open_dev(&c, VIRTIO_INPUT_KEYBOARD, false);
    assert_false(virtio_input_is_ready(c.vi));
    assert_false(virtio_input_send(c.vi, key, 2)); /* no driver yet */
    close_dev(&c);
    open_dev(&c, VIRTIO_INPUT_KEYBOARD, true);
    assert_true(virtio_input_is_ready(c.vi));
    assert_true(virtio_input_send(c.vi, key, 2)); /* waits for buffers */
    assert_int_equal(c.vi->count, 2);
    post(&c, 0, 0, 3, 8, VIRTQ_DESC_F_WRITE);
    expect_event(&c, EVDEV_KEY, 30, 1);
    expect_event(&c, EVDEV_SYN, 0, 0);
    assert_false(guest_ring_used(&c.r[0], &id, &len));
    assert_true(virtio_input_send(c.vi, key, 1)); /* the third buffer takes it at once */
    expect_event(&c, EVDEV_KEY, 30, 1);
    /* a flood: whole batches up to the bound, then dropped */
    unsigned sent = 0;
    for (unsigned i = 0; i < 10000; i++)
        sent += virtio_input_send(c.vi, key, 2);
    assert_int_equal(sent, VIRTIO_INPUT_PENDING / 2);
    assert_int_equal(c.vi->count, VIRTIO_INPUT_PENDING);
    assert_false(virtio_input_send(c.vi, key, VIRTIO_INPUT_PENDING + 1));
    /* reset drops them */
    pthread_mutex_lock(&c.vi->vd.lock);
    virtio_write_status(&c.vi->vd, 0);
    pthread_mutex_unlock(&c.vi->vd.lock);
    assert_int_equal(c.vi->count, 0);
    assert_false(virtio_input_is_ready(c.vi));
    close_dev(&c);
}

static void test_status_leds(void **state)
{
    struct ctx c;
    struct virtio_input_event led = {EVDEV_LED, 1, 1};
    (void)state;
    open_dev(&c, VIRTIO_INPUT_KEYBOARD, true);
    assert_int_equal(gmem_write(c.gm, BUF_GPA + 0x1000, &led, sizeof(led)), 0);
    post(&c, 1, 0, 1, 8, 0);
    assert_int_equal(c.vi->leds, 2);
    assert_false(c.vi->vd.status & VIRTIO_STATUS_NEEDS_RESET);
    post(&c, 1, 1, 1, 4, 0); /* shorter than an event */
    assert_true(c.vi->vd.status & VIRTIO_STATUS_NEEDS_RESET);
    close_dev(&c);
}

/* A driver posting event buffers too small or not writable breaks the device, never the host. */
static void test_hostile_eventq(void **state)
{
    static const struct {
        uint32_t len;
        uint16_t flags;
    } bad[] = {{4, VIRTQ_DESC_F_WRITE}, {8, 0}, {0, VIRTQ_DESC_F_WRITE}};
    const struct virtio_input_event key[] = {{EVDEV_KEY, 30, 1}, {EVDEV_SYN, 0, 0}};
    uint32_t id, len;
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct ctx c;
        open_dev(&c, VIRTIO_INPUT_KEYBOARD, true);
        assert_true(virtio_input_send(c.vi, key, 2));
        post(&c, 0, 0, 2, bad[i].len, bad[i].flags);
        assert_true(c.vi->vd.status & VIRTIO_STATUS_NEEDS_RESET);
        assert_false(guest_ring_used(&c.r[0], &id, &len));
        assert_false(virtio_input_is_ready(c.vi));
        close_dev(&c);
    }
    /* a buffer outside guest memory */
    struct ctx c;
    open_dev(&c, VIRTIO_INPUT_TABLET, true);
    assert_true(virtio_input_send(c.vi, key, 2));
    guest_ring_desc(&c.r[0], 0, 0, RAM_BYTES - 4, 8, VIRTQ_DESC_F_WRITE, 0);
    guest_ring_publish(&c.r[0], 0);
    virtio_queue_kick(&c.vi->vd, 0);
    assert_true(c.vi->vd.status & VIRTIO_STATUS_NEEDS_RESET);
    close_dev(&c);
}

static void test_save_load(void **state)
{
    struct ctx a, b;
    const struct virtio_input_event ev[] = {{EVDEV_ABS, 0, 123}, {EVDEV_SYN, 0, 0}};
    struct sf_buf s1 = {0}, s2 = {0};
    struct sf_in in;
    (void)state;
    open_dev(&a, VIRTIO_INPUT_TABLET, true);
    open_dev(&b, VIRTIO_INPUT_TABLET, false);
    assert_true(virtio_input_send(a.vi, ev, 2));
    virtio_input_save(a.vi, &s1);
    sf_in_init(&in, s1.data, s1.len);
    assert_int_equal(virtio_input_load(b.vi, &in), 0);
    assert_int_equal(b.vi->count, 2);
    assert_int_equal(b.vi->pending[0].value, 123);
    virtio_input_save(b.vi, &s2);
    assert_int_equal(s1.len, s2.len);
    assert_memory_equal(s1.data, s2.data, s1.len);
    /* a count larger than the queue, and a truncated section */
    s1.data[9] = 0xff;
    sf_in_init(&in, s1.data, s1.len);
    assert_int_equal(virtio_input_load(b.vi, &in), -EINVAL);
    s1.data[9] = 0;
    sf_in_init(&in, s1.data, s1.len - 1);
    assert_int_equal(virtio_input_load(b.vi, &in), -EINVAL);
    assert_int_equal(b.vi->count, 0);
    sf_buf_free(&s1);
    sf_buf_free(&s2);
    close_dev(&a);
    close_dev(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_keyboard), cmocka_unit_test(test_config_tablet),
        cmocka_unit_test(test_events),          cmocka_unit_test(test_status_leds),
        cmocka_unit_test(test_hostile_eventq),  cmocka_unit_test(test_save_load),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

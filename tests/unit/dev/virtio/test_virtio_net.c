/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for dev/virtio/virtio_net*.c over a real gmem and a fake backend that records what
 * it is sent: transmit chains (header and frame split or together, 0-byte, over-64 KiB and
 * header-less frames, offload headers negotiated or not), receive into one buffer and merged
 * buffers, too few and too small receive buffers, the receive filter, control commands good and
 * bogus, feature dependencies, and the link state (virtio 1.2 §5.1).
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
#include "dev/virtio/virtio_net.h"
#include "guest_ring.h"
#include "net/net.h"

#define RAM_BYTES (16ULL << 20)
#define RING_SIZE 64
#define BUF_GPA 0x100000ULL /* receive buffers and transmit frames */
#define CTRL_GPA 0x800000ULL
#define BIG (70 * 1024)

static const uint8_t our_mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};

/* ---- the fake backend ---- */

struct fake_be {
    struct net_backend be;
    unsigned sent;
    struct net_hdr last_hdr;
    uint8_t last[BIG];
    size_t last_len;
    uint32_t offloads_set;
    unsigned rx_ready_calls;
};

static int fake_send(struct net_backend *be, const struct net_hdr *hdr, const struct iovec *iov,
                     unsigned cnt)
{
    struct fake_be *fb = (struct fake_be *)be;
    fb->sent++;
    fb->last_hdr = *hdr;
    fb->last_len = iov_size(iov, cnt);
    assert_true(fb->last_len <= sizeof(fb->last));
    iov_to_buf(iov, (int)cnt, 0, fb->last, fb->last_len);
    return 0;
}

static int fake_set_offloads(struct net_backend *be, uint32_t o)
{
    ((struct fake_be *)be)->offloads_set = o;
    return 0;
}

static void fake_rx_ready(struct net_backend *be)
{
    ((struct fake_be *)be)->rx_ready_calls++;
}

static void fake_close(struct net_backend *be)
{
    (void)be;
}

static const struct net_backend_ops fake_ops = {
    .send = fake_send,
    .set_offloads = fake_set_offloads,
    .rx_ready = fake_rx_ready,
    .close = fake_close,
};

/* ---- fixture ---- */

struct fixture {
    struct gmem *gm;
    struct fake_be fb;
    struct virtio_net *vn;
    struct guest_ring r[3];
    uint16_t next_desc[3];
    uint64_t next_gpa;
};

#define F(b) VIRTIO_BIT(VIRTIO_NET_F_##b)
#define OFFLOADS_ALL                                                                               \
    (NET_OFFLOAD_CSUM | NET_OFFLOAD_TSO4 | NET_OFFLOAD_TSO6 | NET_OFFLOAD_ECN | NET_OFFLOAD_USO)

static struct fixture *make(uint32_t offloads)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    assert_int_equal(gmem_create(&f->gm), 0);
    assert_int_equal(gmem_add_region(f->gm, 0, RAM_BYTES, "ram", false, NULL), 0);
    f->fb.be.ops = &fake_ops;
    f->fb.be.type = "fake";
    f->fb.be.offloads = offloads;
    f->fb.be.has_carrier = true;
    f->fb.be.is_admin_up = true;
    assert_int_equal(virtio_net_create(our_mac, &f->fb.be, f->gm, &f->vn), 0);
    for (unsigned i = 0; i < 3; i++)
        guest_ring_init(&f->r[i], f->gm, 0x10000 * (i + 1), RING_SIZE);
    f->next_gpa = BUF_GPA;
    return f;
}

static uint8_t bringup(struct fixture *f, uint64_t features)
{
    return guest_dev_bringup(&f->vn->vd, f->r, 3, features | VIRTIO_BIT(VIRTIO_F_VERSION_1));
}

#define OK_STATUS                                                                                  \
    (VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |                \
     VIRTIO_STATUS_DRIVER_OK)

static int setup_features(void **state, uint32_t offloads, uint64_t features)
{
    struct fixture *f = make(offloads);
    assert_int_equal(bringup(f, features), OK_STATUS);
    *state = f;
    return 0;
}

/* A driver without mergeable buffers or offloads, with the control queue. */
static int setup(void **state)
{
    return setup_features(state, 0, F(MAC) | F(STATUS) | F(CTRL_VQ) | F(CTRL_RX));
}

static int setup_mrg(void **state)
{
    return setup_features(state, 0, F(MAC) | F(STATUS) | F(MRG_RXBUF));
}

static int setup_offloads(void **state)
{
    return setup_features(state, OFFLOADS_ALL,
                          F(CSUM) | F(GUEST_CSUM) | F(HOST_TSO4) | F(GUEST_TSO4) | F(CTRL_VQ) |
                              F(CTRL_GUEST_OFFLOADS) | F(GUEST_ANNOUNCE) | F(CTRL_MAC_ADDR));
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    virtio_net_destroy(f->vn);
    assert_null(f->fb.be.rx);
    gmem_destroy(f->gm);
    free(f);
    return 0;
}

/* ---- driver helpers ---- */

struct seg {
    uint64_t gpa;
    uint32_t len;
    bool is_write;
};

static uint16_t post(struct fixture *f, unsigned q, const struct seg *s, unsigned n)
{
    uint16_t head = 0;
    for (unsigned i = 0; i < n; i++) {
        uint16_t d = f->next_desc[q]++ % RING_SIZE;
        if (i == 0)
            head = d;
        guest_ring_desc(&f->r[q], 0, d, s[i].gpa, s[i].len,
                        (uint16_t)((s[i].is_write ? VIRTQ_DESC_F_WRITE : 0) |
                                   (i + 1 < n ? VIRTQ_DESC_F_NEXT : 0)),
                        (uint16_t)((d + 1) % RING_SIZE));
    }
    guest_ring_publish(&f->r[q], head);
    return head;
}

static uint64_t alloc(struct fixture *f, uint64_t len)
{
    uint64_t gpa = f->next_gpa;
    f->next_gpa += (len + 4095) & ~4095ULL;
    return gpa;
}

/* Transmits header (h) and a frame of (len) bytes of pattern, header and frame apart. */
static uint16_t send_frame(struct fixture *f, const struct net_hdr *h, uint32_t len)
{
    uint64_t hg = alloc(f, sizeof(*h)), dg = alloc(f, len ? len : 1);
    uint8_t *buf = malloc(len ? len : 1);
    struct seg s[2] = {{hg, sizeof(*h), false}, {dg, len, false}};
    uint16_t head;

    for (uint32_t i = 0; i < len; i++)
        buf[i] = (uint8_t)(i * 3 + 1);
    memcpy(buf, our_mac, len < 6 ? len : 6);
    assert_int_equal(gmem_write(f->gm, hg, h, sizeof(*h)), 0);
    if (len)
        assert_int_equal(gmem_write(f->gm, dg, buf, len), 0);
    free(buf);
    head = post(f, VIRTIO_NET_Q_TX, s, len ? 2 : 1);
    virtio_queue_kick(&f->vn->vd, VIRTIO_NET_Q_TX);
    return head;
}

static void expect_used(struct fixture *f, unsigned q, uint16_t head, uint32_t len)
{
    uint32_t id, l;
    assert_true(guest_ring_used(&f->r[q], &id, &l));
    assert_int_equal(id, head);
    assert_int_equal(l, len);
}

static bool needs_reset(struct fixture *f)
{
    return (f->vn->vd.status & VIRTIO_STATUS_NEEDS_RESET) != 0;
}

/* A frame to (dst) of (len) bytes. */
static uint8_t *frame_to(const uint8_t *dst, size_t len)
{
    uint8_t *fr = malloc(len);
    for (size_t i = 0; i < len; i++)
        fr[i] = (uint8_t)(i ^ 0x5a);
    memcpy(fr, dst, 6);
    return fr;
}

static int deliver(struct fixture *f, const struct net_hdr *h, size_t len, const uint8_t *dst)
{
    uint8_t *fr = frame_to(dst, len);
    int ret = f->fb.be.rx(f->fb.be.opaque, 0, h, fr, len);
    free(fr);
    return ret;
}

/* ---- config and features ---- */

static void test_config(void **state)
{
    struct fixture *f = *state;
    struct virtio_dev *vd = &f->vn->vd;

    for (unsigned i = 0; i < 6; i++)
        assert_int_equal(virtio_read_config(vd, i, 1), our_mac[i]);
    assert_int_equal(virtio_read_config(vd, 6, 2), VIRTIO_NET_S_LINK_UP);
    assert_int_equal(virtio_read_config(vd, 8, 2), 1);
    assert_false(vd->host_features & F(CSUM)); /* the backend has no offloads */
    assert_false(vd->host_features & F(HOST_TSO4));
    assert_true(vd->host_features & F(MRG_RXBUF));
    assert_false(vd->host_features & F(MQ));
}

static void test_offload_features(void **state)
{
    struct fixture *f = *state;
    uint64_t hf = f->vn->vd.host_features;
    assert_true(hf & F(CSUM));
    assert_true(hf & F(GUEST_TSO6));
    assert_true(hf & F(HOST_USO));
    assert_int_equal(f->fb.offloads_set, NET_OFFLOAD_CSUM | NET_OFFLOAD_TSO4);
}

static void test_feature_dependency(void **state)
{
    struct fixture *f = make(OFFLOADS_ALL);
    (void)state;
    /* GUEST_TSO4 needs GUEST_CSUM (§5.1.3.1) */
    assert_true(bringup(f, F(GUEST_TSO4)) & VIRTIO_STATUS_NEEDS_RESET);
    *state = f;
}

/* ---- transmit ---- */

static void test_tx(void **state)
{
    struct fixture *f = *state;
    struct net_hdr h = {0};
    uint16_t head = send_frame(f, &h, 60);
    expect_used(f, VIRTIO_NET_Q_TX, head, 0);
    assert_int_equal(f->fb.sent, 1);
    assert_int_equal(f->fb.last_len, 60);
    assert_memory_equal(f->fb.last, our_mac, 6);
    assert_int_equal(f->fb.last[10], (uint8_t)(10 * 3 + 1));
    assert_int_equal(f->vn->stats.tx_packets, 1);
    assert_int_equal(f->vn->stats.tx_bytes, 60);
}

static void test_tx_one_buffer(void **state)
{
    struct fixture *f = *state;
    uint8_t buf[12 + 100] = {0};
    uint64_t g = alloc(f, sizeof(buf));
    struct seg s = {g, sizeof(buf), false};
    memset(buf + 12, 0xab, 100);
    assert_int_equal(gmem_write(f->gm, g, buf, sizeof(buf)), 0);
    uint16_t head = post(f, VIRTIO_NET_Q_TX, &s, 1);
    virtio_queue_kick(&f->vn->vd, VIRTIO_NET_Q_TX);
    expect_used(f, VIRTIO_NET_Q_TX, head, 0);
    assert_int_equal(f->fb.sent, 1);
    assert_int_equal(f->fb.last_len, 100);
    assert_int_equal(f->fb.last[99], 0xab);
}

static void test_tx_bad_lengths(void **state)
{
    struct fixture *f = *state;
    struct net_hdr h = {0};
    uint16_t head;

    head = send_frame(f, &h, 0); /* header only: a 0-byte frame */
    expect_used(f, VIRTIO_NET_Q_TX, head, 0);
    head = send_frame(f, &h, 13); /* shorter than an Ethernet header */
    expect_used(f, VIRTIO_NET_Q_TX, head, 0);
    head = send_frame(f, &h, BIG); /* over 64 KiB */
    expect_used(f, VIRTIO_NET_Q_TX, head, 0);
    assert_int_equal(f->fb.sent, 0);
    assert_int_equal(f->vn->stats.tx_dropped, 3);
    assert_int_equal(f->vn->stats.errors, 3);
    head = send_frame(f, &h, NET_FRAME_MAX_BYTES); /* the largest allowed */
    expect_used(f, VIRTIO_NET_Q_TX, head, 0);
    assert_int_equal(f->fb.sent, 1);
    assert_false(needs_reset(f));
}

static void test_tx_short_header(void **state)
{
    struct fixture *f = *state;
    uint64_t g = alloc(f, 8);
    struct seg s = {g, 8, false};
    post(f, VIRTIO_NET_Q_TX, &s, 1);
    virtio_queue_kick(&f->vn->vd, VIRTIO_NET_Q_TX);
    assert_true(needs_reset(f));
    assert_int_equal(f->fb.sent, 0);
}

static void test_tx_offload_not_negotiated(void **state)
{
    struct fixture *f = *state;
    struct net_hdr h = {.flags = NET_HDR_F_NEEDS_CSUM, .csum_start = 34, .csum_offset = 16};
    send_frame(f, &h, 100);
    h = (struct net_hdr){.gso_type = NET_HDR_GSO_TCPV4, .gso_size = 1448};
    send_frame(f, &h, 100);
    h = (struct net_hdr){.flags = 0x80};
    send_frame(f, &h, 100);
    assert_int_equal(f->fb.sent, 0);
    assert_int_equal(f->vn->stats.errors, 3);
}

static void test_tx_offloads(void **state)
{
    struct fixture *f = *state;
    struct net_hdr h = {.flags = NET_HDR_F_NEEDS_CSUM,
                        .gso_type = NET_HDR_GSO_TCPV4,
                        .gso_size = 1448,
                        .hdr_len = 54,
                        .csum_start = 34,
                        .csum_offset = 16};
    send_frame(f, &h, 9000);
    assert_int_equal(f->fb.sent, 1);
    assert_int_equal(f->fb.last_hdr.gso_size, 1448);
    /* checksum field past the frame's end */
    h.csum_start = 8990;
    send_frame(f, &h, 9000);
    /* TSO6 was offered but not accepted by this driver */
    h.csum_start = 54;
    h.gso_type = NET_HDR_GSO_TCPV6;
    send_frame(f, &h, 9000);
    /* GSO without NEEDS_CSUM */
    h = (struct net_hdr){.gso_type = NET_HDR_GSO_TCPV4, .gso_size = 1448};
    send_frame(f, &h, 9000);
    assert_int_equal(f->fb.sent, 1);
    assert_int_equal(f->vn->stats.errors, 3);
}

static void test_tx_link_down(void **state)
{
    struct fixture *f = *state;
    struct net_hdr h = {0};
    uint8_t gen = f->vn->vd.config_generation;

    net_backend_set_link(&f->fb.be, false);
    assert_int_equal(virtio_read_config(&f->vn->vd, 6, 2), 0);
    assert_int_not_equal(f->vn->vd.config_generation, gen);
    send_frame(f, &h, 60);
    assert_int_equal(f->fb.sent, 0);
    assert_int_equal(f->vn->stats.tx_dropped, 1);
    assert_int_equal(deliver(f, &h, 60, our_mac), 0);
    assert_int_equal(f->vn->stats.rx_dropped, 1);
    net_backend_set_link(&f->fb.be, true);
    assert_int_equal(virtio_read_config(&f->vn->vd, 6, 2), VIRTIO_NET_S_LINK_UP);
}

/* ---- receive ---- */

static uint16_t rx_buffer(struct fixture *f, uint64_t *gpa, uint32_t len)
{
    struct seg s;
    *gpa = alloc(f, len);
    s = (struct seg){*gpa, len, true};
    return post(f, VIRTIO_NET_Q_RX, &s, 1);
}

static void test_rx(void **state)
{
    struct fixture *f = *state;
    struct net_hdr h = {0}, got;
    uint64_t g;
    uint8_t data[100];
    uint16_t head = rx_buffer(f, &g, 2048);

    assert_int_equal(deliver(f, &h, 100, our_mac), 0);
    expect_used(f, VIRTIO_NET_Q_RX, head, 112);
    assert_int_equal(gmem_read(f->gm, g, &got, sizeof(got)), 0);
    assert_int_equal(got.num_buffers, 1);
    assert_int_equal(gmem_read(f->gm, g + 12, data, sizeof(data)), 0);
    /* DATA_VALID (a tap sets it) is cleared for a guest without GUEST_CSUM, not dropped */
    head = rx_buffer(f, &g, 2048);
    h.flags = NET_HDR_F_DATA_VALID;
    assert_int_equal(deliver(f, &h, 100, our_mac), 0);
    expect_used(f, VIRTIO_NET_Q_RX, head, 112);
    assert_int_equal(gmem_read(f->gm, g, &got, sizeof(got)), 0);
    assert_int_equal(got.flags, 0);
    assert_int_equal(gmem_read(f->gm, g + 12, data, sizeof(data)), 0);
    assert_memory_equal(data, our_mac, 6);
    assert_int_equal(data[50], (uint8_t)(50 ^ 0x5a));
    assert_int_equal(f->vn->stats.rx_packets, 2);
    assert_int_equal(f->vn->stats.rx_bytes, 200);
}

static void test_rx_mergeable(void **state)
{
    struct fixture *f = *state;
    struct net_hdr h = {0}, got;
    uint64_t g[3];
    uint16_t head[3];
    uint8_t b;

    for (int i = 0; i < 3; i++)
        head[i] = rx_buffer(f, &g[i], 1000);
    assert_int_equal(deliver(f, &h, 2500, our_mac), 0);
    expect_used(f, VIRTIO_NET_Q_RX, head[0], 1000);
    expect_used(f, VIRTIO_NET_Q_RX, head[1], 1000);
    expect_used(f, VIRTIO_NET_Q_RX, head[2], 512);
    assert_int_equal(gmem_read(f->gm, g[0], &got, sizeof(got)), 0);
    assert_int_equal(got.num_buffers, 3);
    assert_int_equal(gmem_read(f->gm, g[2] + 511, &b, 1), 0);
    assert_int_equal(b, (uint8_t)(2499 ^ 0x5a));
}

static void test_rx_no_buffers(void **state)
{
    struct fixture *f = *state;
    struct net_hdr h = {0};
    uint64_t g;
    unsigned calls = f->fb.rx_ready_calls;

    assert_int_equal(deliver(f, &h, 100, our_mac), -EAGAIN);
    assert_true(f->vn->is_rx_waiting);
    rx_buffer(f, &g, 2048);
    virtio_queue_kick(&f->vn->vd, VIRTIO_NET_Q_RX);
    assert_int_equal(f->fb.rx_ready_calls, calls + 1);
    assert_int_equal(deliver(f, &h, 100, our_mac), 0);
    assert_int_equal(f->vn->stats.rx_dropped, 0);
}

/* Too few merged buffers: the one taken is given back, then used once more come. */
static void test_rx_mergeable_too_few(void **state)
{
    struct fixture *f = *state;
    struct net_hdr h = {0};
    uint64_t g;
    uint16_t first = rx_buffer(f, &g, 1000), second;
    uint32_t id, len;

    assert_int_equal(deliver(f, &h, 2500, our_mac), -EAGAIN);
    assert_false(guest_ring_used(&f->r[VIRTIO_NET_Q_RX], &id, &len));
    /* the device asked for a kick at the very next buffer */
    assert_int_equal(guest_ring_used_flags(&f->r[VIRTIO_NET_Q_RX]), 0);
    second = rx_buffer(f, &g, 1000);
    rx_buffer(f, &g, 1000);
    assert_int_equal(deliver(f, &h, 2500, our_mac), 0);
    expect_used(f, VIRTIO_NET_Q_RX, first, 1000);
    expect_used(f, VIRTIO_NET_Q_RX, second, 1000);
}

static void test_rx_buffer_too_small(void **state)
{
    struct fixture *f = *state;
    struct net_hdr h = {0};
    uint64_t g;
    uint16_t head = rx_buffer(f, &g, 100), next;

    /* without MRG_RXBUF one buffer must hold header and frame: returned empty */
    assert_int_equal(deliver(f, &h, 1500, our_mac), 0);
    expect_used(f, VIRTIO_NET_Q_RX, head, 0);
    assert_int_equal(f->vn->stats.rx_dropped, 1);
    assert_int_equal(f->vn->stats.errors, 1);
    /* smaller than the header itself */
    head = rx_buffer(f, &g, 4);
    assert_int_equal(deliver(f, &h, 60, our_mac), 0);
    expect_used(f, VIRTIO_NET_Q_RX, head, 0);
    next = rx_buffer(f, &g, 2048);
    assert_int_equal(deliver(f, &h, 60, our_mac), 0);
    expect_used(f, VIRTIO_NET_Q_RX, next, 72);
    assert_false(needs_reset(f));
}

static void test_rx_bad_frames(void **state)
{
    struct fixture *f = *state;
    struct net_hdr h = {0};
    uint64_t g;
    uint32_t id, len;
    uint8_t *big = frame_to(our_mac, BIG);

    rx_buffer(f, &g, 2048);
    assert_int_equal(f->fb.be.rx(f->fb.be.opaque, 0, &h, big, 0), 0);
    assert_int_equal(f->fb.be.rx(f->fb.be.opaque, 0, &h, big, BIG), 0);
    /* an offload the guest did not accept */
    h.flags = NET_HDR_F_NEEDS_CSUM;
    assert_int_equal(f->fb.be.rx(f->fb.be.opaque, 0, &h, big, 100), 0);
    free(big);
    assert_false(guest_ring_used(&f->r[VIRTIO_NET_Q_RX], &id, &len));
    assert_int_equal(f->vn->stats.rx_dropped, 3);
}

/* ---- control queue ---- */

/* Sends command (cls, cmd) with (data); returns the ack byte (0xee: none written). */
static uint8_t ctrl(struct fixture *f, uint8_t cls, uint8_t cmd, const void *data, uint32_t len)
{
    uint8_t hdr[2] = {cls, cmd}, ack = 0xee;
    struct seg s[3];
    unsigned n = 0;
    uint16_t head;

    assert_int_equal(gmem_write(f->gm, CTRL_GPA, hdr, 2), 0);
    s[n++] = (struct seg){CTRL_GPA, 2, false};
    if (len) {
        assert_int_equal(gmem_write(f->gm, CTRL_GPA + 0x100, data, len), 0);
        s[n++] = (struct seg){CTRL_GPA + 0x100, len, false};
    }
    assert_int_equal(gmem_write(f->gm, CTRL_GPA + 0x10000, &ack, 1), 0);
    s[n++] = (struct seg){CTRL_GPA + 0x10000, 1, true};
    head = post(f, VIRTIO_NET_Q_CTRL, s, n);
    virtio_queue_kick(&f->vn->vd, VIRTIO_NET_Q_CTRL);
    expect_used(f, VIRTIO_NET_Q_CTRL, head, 1);
    assert_int_equal(gmem_read(f->gm, CTRL_GPA + 0x10000, &ack, 1), 0);
    return ack;
}

static void test_ctrl_rx_mode_and_filter(void **state)
{
    struct fixture *f = *state;
    static const uint8_t other[6] = {0x52, 0x54, 0, 0, 0, 1};
    static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    static const uint8_t mcast[6] = {0x01, 0x00, 0x5e, 0, 0, 1};
    struct net_hdr h = {0};
    uint8_t off = 0, on = 1, two = 2;
    uint8_t table[4 + 4 + 6];
    uint32_t zero = 0, one = 1, id, len;
    uint64_t g;

    assert_int_equal(ctrl(f, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, &off, 1),
                     VIRTIO_NET_OK);
    assert_int_equal(ctrl(f, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, &two, 1),
                     VIRTIO_NET_ERR);
    rx_buffer(f, &g, 2048);
    assert_int_equal(deliver(f, &h, 60, other), 0); /* filtered */
    assert_int_equal(deliver(f, &h, 60, mcast), 0); /* filtered */
    assert_false(guest_ring_used(&f->r[VIRTIO_NET_Q_RX], &id, &len));
    assert_int_equal(deliver(f, &h, 60, bcast), 0);
    assert_true(guest_ring_used(&f->r[VIRTIO_NET_Q_RX], &id, &len));
    rx_buffer(f, &g, 2048);
    assert_int_equal(deliver(f, &h, 60, our_mac), 0); /* our own address */
    assert_true(guest_ring_used(&f->r[VIRTIO_NET_Q_RX], &id, &len));
    /* the multicast address in the table */
    memcpy(table, &zero, 4);
    memcpy(table + 4, &one, 4);
    memcpy(table + 8, mcast, 6);
    assert_int_equal(
        ctrl(f, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET, table, sizeof(table)),
        VIRTIO_NET_OK);
    rx_buffer(f, &g, 2048);
    assert_int_equal(deliver(f, &h, 60, mcast), 0);
    assert_true(guest_ring_used(&f->r[VIRTIO_NET_Q_RX], &id, &len));
    /* a table that claims more entries than it carries: ERR, the old one stays */
    memcpy(table + 4, &(uint32_t){1000}, 4);
    assert_int_equal(
        ctrl(f, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET, table, sizeof(table)),
        VIRTIO_NET_ERR);
    assert_int_equal(f->vn->filter.nmulti, 1);
    assert_int_equal(ctrl(f, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_ALLMULTI, &on, 1),
                     VIRTIO_NET_OK);
}

static void test_ctrl_bogus(void **state)
{
    struct fixture *f = *state;
    uint8_t one = 1, mac[6] = {2, 0, 0, 0, 0, 1};
    uint64_t x = 0;
    uint64_t errors = f->vn->stats.errors;

    assert_int_equal(ctrl(f, 99, 0, NULL, 0), VIRTIO_NET_ERR);                  /* class */
    assert_int_equal(ctrl(f, VIRTIO_NET_CTRL_RX, 77, &one, 1), VIRTIO_NET_ERR); /* command */
    assert_int_equal(ctrl(f, VIRTIO_NET_CTRL_RX, 0, NULL, 0), VIRTIO_NET_ERR);  /* no data */
    assert_int_equal(ctrl(f, VIRTIO_NET_CTRL_RX, 0, &x, 8), VIRTIO_NET_ERR);    /* too much */
    /* features this driver did not accept */
    assert_int_equal(ctrl(f, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_ADDR_SET, mac, 6),
                     VIRTIO_NET_ERR);
    assert_int_equal(ctrl(f, VIRTIO_NET_CTRL_ANNOUNCE, 0, NULL, 0), VIRTIO_NET_ERR);
    assert_int_equal(ctrl(f, VIRTIO_NET_CTRL_GUEST_OFFLOADS, 0, &x, 8), VIRTIO_NET_ERR);
    assert_int_equal(ctrl(f, 2 /* VLAN */, 0, &x, 2), VIRTIO_NET_ERR);
    assert_int_equal(f->vn->stats.errors, errors + 8);
    assert_false(needs_reset(f));
}

static void test_ctrl_no_ack(void **state)
{
    struct fixture *f = *state;
    uint8_t hdr[2] = {VIRTIO_NET_CTRL_RX, 0};
    struct seg s = {CTRL_GPA, 2, false};
    assert_int_equal(gmem_write(f->gm, CTRL_GPA, hdr, 2), 0);
    post(f, VIRTIO_NET_Q_CTRL, &s, 1);
    virtio_queue_kick(&f->vn->vd, VIRTIO_NET_Q_CTRL);
    assert_true(needs_reset(f));
}

static void test_ctrl_short_header(void **state)
{
    struct fixture *f = *state;
    struct seg s[2] = {{CTRL_GPA, 1, false}, {CTRL_GPA + 0x10000, 1, true}};
    uint8_t ack = 0xee;
    assert_int_equal(gmem_write(f->gm, CTRL_GPA + 0x10000, &ack, 1), 0);
    post(f, VIRTIO_NET_Q_CTRL, s, 2);
    virtio_queue_kick(&f->vn->vd, VIRTIO_NET_Q_CTRL);
    assert_int_equal(gmem_read(f->gm, CTRL_GPA + 0x10000, &ack, 1), 0);
    assert_int_equal(ack, VIRTIO_NET_ERR);
}

static void test_ctrl_offloads_mac_announce(void **state)
{
    struct fixture *f = *state;
    uint8_t mac[6] = {2, 0, 0, 0, 0, 9};
    uint64_t csum = F(GUEST_CSUM), tso6 = F(GUEST_CSUM) | F(GUEST_TSO6), bogus = F(MAC);

    assert_int_equal(ctrl(f, VIRTIO_NET_CTRL_GUEST_OFFLOADS, 0, &csum, 8), VIRTIO_NET_OK);
    assert_int_equal(f->fb.offloads_set, NET_OFFLOAD_CSUM);
    assert_int_equal(ctrl(f, VIRTIO_NET_CTRL_GUEST_OFFLOADS, 0, &tso6, 8), VIRTIO_NET_ERR);
    assert_int_equal(ctrl(f, VIRTIO_NET_CTRL_GUEST_OFFLOADS, 0, &bogus, 8), VIRTIO_NET_ERR);
    assert_int_equal(f->fb.offloads_set, NET_OFFLOAD_CSUM);
    assert_int_equal(ctrl(f, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_ADDR_SET, mac, 6),
                     VIRTIO_NET_OK);
    assert_int_equal(virtio_read_config(&f->vn->vd, 5, 1), 9);
    /* link down and up: the guest is asked to announce itself, and acknowledges */
    net_backend_set_link(&f->fb.be, false);
    net_backend_set_link(&f->fb.be, true);
    assert_int_equal(virtio_read_config(&f->vn->vd, 6, 2),
                     VIRTIO_NET_S_LINK_UP | VIRTIO_NET_S_ANNOUNCE);
    assert_int_equal(ctrl(f, VIRTIO_NET_CTRL_ANNOUNCE, 0, NULL, 0), VIRTIO_NET_OK);
    assert_int_equal(virtio_read_config(&f->vn->vd, 6, 2), VIRTIO_NET_S_LINK_UP);
}

static void test_reset_clears(void **state)
{
    struct fixture *f = *state;
    uint8_t off = 0;
    assert_int_equal(ctrl(f, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, &off, 1),
                     VIRTIO_NET_OK);
    pthread_mutex_lock(&f->vn->vd.lock);
    virtio_write_status(&f->vn->vd, 0);
    pthread_mutex_unlock(&f->vn->vd.lock);
    assert_true(f->vn->filter.is_promisc);
}

/* A new machine's device (guest reboot) goes on counting from the last one's totals. */
static void test_counters_survive_new_device(void **state)
{
    struct fixture *f = *state;
    struct net_hdr h = {0};
    struct virtio_net_stats st;

    send_frame(f, &h, 60);
    virtio_net_get_stats(f->vn, &st);
    assert_int_equal(st.tx_packets, 1);
    virtio_net_destroy(f->vn);
    assert_int_equal(f->fb.be.dev_counters.tx_packets, 1);
    assert_int_equal(f->fb.be.dev_counters.tx_bytes, 60);
    assert_int_equal(virtio_net_create(our_mac, &f->fb.be, f->gm, &f->vn), 0);
    virtio_net_get_stats(f->vn, &st);
    assert_int_equal(st.tx_packets, 1);
    assert_int_equal(st.tx_bytes, 60);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_config, setup, teardown),
        cmocka_unit_test_setup_teardown(test_offload_features, setup_offloads, teardown),
        cmocka_unit_test_teardown(test_feature_dependency, teardown),
        cmocka_unit_test_setup_teardown(test_tx, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tx_one_buffer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tx_bad_lengths, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tx_short_header, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tx_offload_not_negotiated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tx_offloads, setup_offloads, teardown),
        cmocka_unit_test_setup_teardown(test_tx_link_down, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rx, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rx_mergeable, setup_mrg, teardown),
        cmocka_unit_test_setup_teardown(test_rx_no_buffers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rx_mergeable_too_few, setup_mrg, teardown),
        cmocka_unit_test_setup_teardown(test_rx_buffer_too_small, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rx_bad_frames, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ctrl_rx_mode_and_filter, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ctrl_bogus, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ctrl_no_ack, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ctrl_short_header, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ctrl_offloads_mac_announce, setup_offloads, teardown),
        cmocka_unit_test_setup_teardown(test_reset_clears, setup, teardown),
        cmocka_unit_test_setup_teardown(test_counters_survive_new_device, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: MIT */
/*
 * The NAT backend (net/slirp.c) on a real event loop, with a fake device in place of
 * virtio-net: an ARP request for the gateway is answered; a UDP datagram from the guest to
 * 10.0.2.2:PORT reaches a socket of this test on 127.0.0.1:PORT, and its answer comes back to
 * the guest as a frame; a TCP connection to a forward on 127.0.0.1 reaches the guest as a SYN;
 * a device with no room gets the frames later, in order. Traffic stays on the loopback.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/evloop.h"
#include "base/util.h"
#include "net/slirp.h"

static const uint8_t guest_mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};

struct fake_dev {
    uint8_t frames[16][2048];
    size_t lens[16];
    unsigned n;
    bool is_full; /* answer -EAGAIN */
};

static int fake_rx(void *opaque, unsigned queue, const struct net_hdr *hdr, const void *frame,
                   size_t len)
{
    struct fake_dev *d = opaque;
    assert_int_equal(queue, 0);
    (void)hdr;
    if (d->is_full)
        return -EAGAIN;
    if (d->n < 16 && len <= sizeof(d->frames[0])) {
        memcpy(d->frames[d->n], frame, len);
        d->lens[d->n++] = len;
    }
    return 0;
}

struct fixture {
    struct evloop *loop;
    struct net_backend *be;
    struct fake_dev dev;
};

static int setup_opts(void **state, const char *fwd)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct net_slirp_opts o = {.nhostfwd = fwd ? 1 : 0, .hostfwd = {fwd}};
    struct error err = {0};
    assert_non_null(f);
    assert_int_equal(evloop_create(&f->loop), 0);
    if (net_slirp_create(f->loop, &o, &f->be, &err) != 0)
        fail_msg("net_slirp_create: %s", err.message);
    net_backend_attach(f->be, fake_rx, NULL, &f->dev);
    *state = f;
    return 0;
}

static int setup(void **state)
{
    return setup_opts(state, NULL);
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    net_backend_close(f->be);
    evloop_destroy(f->loop);
    free(f);
    return 0;
}

/* Runs the loop until (cond) holds or 5 s pass. */
#define RUN_UNTIL(f, cond)                                                                         \
    do {                                                                                           \
        uint64_t end_ = time_now_ns() + 5000000000ull;                                             \
        while (!(cond) && time_now_ns() < end_)                                                    \
            (void)evloop_run_once((f)->loop, 50);                                                  \
    } while (0)

static void send_frame(struct fixture *f, uint8_t *frame, size_t len)
{
    struct net_hdr h = {0};
    struct iovec iov = {frame, len};
    assert_int_equal(net_backend_send(f->be, &h, &iov, 1), 0);
}

static size_t arp_request(uint8_t *b)
{
    static const uint8_t hdr[] = {0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x01};
    memset(b, 0xff, 6);
    memcpy(b + 6, guest_mac, 6);
    b[12] = 0x08;
    b[13] = 0x06;
    memcpy(b + 14, hdr, sizeof(hdr));
    memcpy(b + 22, guest_mac, 6);
    inet_pton(AF_INET, "10.0.2.15", b + 28);
    memset(b + 32, 0, 6);
    inet_pton(AF_INET, "10.0.2.2", b + 38);
    memset(b + 42, 0, 18);
    return 60;
}

static uint16_t csum(const uint8_t *p, size_t len, uint32_t s)
{
    for (size_t i = 0; i + 1 < len; i += 2)
        s += (uint32_t)(p[i] << 8 | p[i + 1]);
    if (len & 1)
        s += (uint32_t)p[len - 1] << 8;
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return (uint16_t)~s;
}

/* A UDP datagram from the guest (10.0.2.15:40000) to (dst):(port) carrying (msg). */
static size_t udp_frame_len(uint8_t *b, const uint8_t *dst_mac, const char *dst, uint16_t port,
                            const void *msg, size_t mlen)
{
    size_t ulen = 8 + mlen;
    uint8_t *ip = b + 14, *udp = ip + 20;
    uint16_t s;

    memcpy(b, dst_mac, 6);
    memcpy(b + 6, guest_mac, 6);
    b[12] = 0x08;
    b[13] = 0x00;
    memset(ip, 0, 20);
    ip[0] = 0x45;
    ip[2] = (uint8_t)((20 + ulen) >> 8);
    ip[3] = (uint8_t)(20 + ulen);
    ip[8] = 64;
    ip[9] = 17;
    inet_pton(AF_INET, "10.0.2.15", ip + 12);
    inet_pton(AF_INET, dst, ip + 16);
    s = csum(ip, 20, 0);
    ip[10] = (uint8_t)(s >> 8);
    ip[11] = (uint8_t)s;
    udp[0] = 40000 >> 8;
    udp[1] = 40000 & 0xff;
    udp[2] = (uint8_t)(port >> 8);
    udp[3] = (uint8_t)port;
    udp[4] = 0;
    udp[5] = (uint8_t)ulen;
    udp[6] = udp[7] = 0; /* no checksum (RFC 768) */
    memcpy(udp + 8, msg, mlen);
    return 14 + 20 + ulen;
}

static size_t udp_frame(uint8_t *b, const uint8_t *dst_mac, const char *dst, uint16_t port,
                        const char *msg)
{
    return udp_frame_len(b, dst_mac, dst, port, msg, strlen(msg));
}

/* A TCP SYN from the guest (10.0.2.15:40001) to 10.0.2.2:(port). */
static size_t syn_frame(uint8_t *b, const uint8_t *dst_mac, uint16_t port)
{
    uint8_t *ip = b + 14, *tcp = ip + 20, pseudo[12];
    uint16_t s;

    memcpy(b, dst_mac, 6);
    memcpy(b + 6, guest_mac, 6);
    b[12] = 0x08;
    b[13] = 0x00;
    memset(ip, 0, 40);
    ip[0] = 0x45;
    ip[3] = 40;
    ip[8] = 64;
    ip[9] = 6;
    inet_pton(AF_INET, "10.0.2.15", ip + 12);
    inet_pton(AF_INET, "10.0.2.2", ip + 16);
    s = csum(ip, 20, 0);
    ip[10] = (uint8_t)(s >> 8);
    ip[11] = (uint8_t)s;
    tcp[0] = 40001 >> 8;
    tcp[1] = 40001 & 0xff;
    tcp[2] = (uint8_t)(port >> 8);
    tcp[3] = (uint8_t)port;
    tcp[7] = 1;       /* sequence number 1 */
    tcp[12] = 5 << 4; /* 20-byte header */
    tcp[13] = 0x02;   /* SYN */
    tcp[14] = 0xff;   /* window */
    memcpy(pseudo, ip + 12, 8);
    pseudo[8] = 0;
    pseudo[9] = 6;
    pseudo[10] = 0;
    pseudo[11] = 20;
    s = csum(tcp, 20, (uint16_t)~csum(pseudo, 12, 0));
    tcp[16] = (uint8_t)(s >> 8);
    tcp[17] = (uint8_t)s;
    return 54;
}

static int udp_socket(uint16_t *port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    *port = ntohs(sa.sin_port);
    return fd;
}

/* The gateway's MAC, from slirp's ARP reply. */
static void arp(struct fixture *f, uint8_t gw_mac[6])
{
    uint8_t b[64], want[4];
    send_frame(f, b, arp_request(b));
    RUN_UNTIL(f, f->dev.n >= 1);
    assert_int_equal(f->dev.n, 1);
    assert_true(f->dev.lens[0] >= 42);
    assert_int_equal(f->dev.frames[0][13], 0x06); /* ARP */
    assert_int_equal(f->dev.frames[0][21], 2);    /* reply */
    assert_memory_equal(f->dev.frames[0], guest_mac, 6);
    inet_pton(AF_INET, "10.0.2.2", want);
    assert_memory_equal(f->dev.frames[0] + 28, want, 4);
    memcpy(gw_mac, f->dev.frames[0] + 22, 6);
    f->dev.n = 0;
}

static void test_arp(void **state)
{
    uint8_t gw[6];
    arp(*state, gw);
}

static void test_udp_to_host(void **state)
{
    struct fixture *f = *state;
    uint8_t gw[6], b[128], buf[64];
    struct sockaddr_in from;
    socklen_t flen = sizeof(from);
    uint16_t port;
    int fd = udp_socket(&port);
    ssize_t n = -1;

    arp(f, gw);
    send_frame(f, b, udp_frame(b, gw, "10.0.2.2", port, "ping"));
    RUN_UNTIL(f, (n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &flen)) > 0);
    assert_int_equal(n, 4);
    assert_memory_equal(buf, "ping", 4);
    assert_int_equal(sendto(fd, "pong", 4, 0, (struct sockaddr *)&from, flen), 4);
    RUN_UNTIL(f, f->dev.n >= 1);
    assert_int_equal(f->dev.n, 1);
    /* from 10.0.2.2:port to the guest's port 40000, "pong" at the end */
    assert_int_equal(f->dev.frames[0][23], 17);
    assert_int_equal(f->dev.frames[0][14 + 20 + 0] << 8 | f->dev.frames[0][14 + 20 + 1], port);
    assert_int_equal(f->dev.frames[0][14 + 20 + 2] << 8 | f->dev.frames[0][14 + 20 + 3], 40000);
    assert_memory_equal(f->dev.frames[0] + f->dev.lens[0] - 4, "pong", 4);
    close(fd);
}

/* A guest's TCP connection to 10.0.2.2:PORT is this host's 127.0.0.1:PORT: slirp connects
 * (non-blocking, so the socket is watched for writing) and answers the guest with SYN+ACK. */
static void test_tcp_to_host(void **state)
{
    struct fixture *f = *state;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sa);
    uint8_t gw[6], b[128];
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), c = -1;

    assert_true(lfd >= 0);
    assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(lfd, 1), 0);
    assert_int_equal(getsockname(lfd, (struct sockaddr *)&sa, &len), 0);
    arp(f, gw);
    send_frame(f, b, syn_frame(b, gw, ntohs(sa.sin_port)));
    RUN_UNTIL(f, f->dev.n >= 1 && (c >= 0 || (c = accept(lfd, NULL, NULL)) >= 0));
    assert_true(c >= 0);
    assert_true(f->dev.n >= 1);
    assert_int_equal(f->dev.frames[0][23], 6);
    assert_int_equal(f->dev.frames[0][14 + 20 + 13] & 0x12, 0x12); /* SYN+ACK */
    close(c);
    close(lfd);
}

/* A query to 10.0.2.3:53 through the relay, answered from 10.0.2.3:53. Needs a DNS server where
 * the host's resolver is: run with BAREIRON_TEST_DNS=1 in a namespace with an empty
 * /etc/resolv.conf and tests/nested/dns.c on 127.0.0.1:53 (docs/testing.md). */
static void test_dns(void **state)
{
    struct fixture *f = *state;
    uint8_t gw[6], b[128];

    if (getenv("BAREIRON_TEST_DNS") == NULL)
        skip();
    arp(f, gw);
    static const uint8_t query[] = {0x12, 0x34, 1, 0,   0, 1, 0, 0, 0, 0,
                                    0,    0,    1, 'x', 0, 0, 1, 0, 1}; /* x. IN A */
    send_frame(f, b, udp_frame_len(b, gw, "10.0.2.3", 53, query, sizeof(query)));
    RUN_UNTIL(f, f->dev.n >= 1);
    assert_true(f->dev.n >= 1);
    /* the answer, from 10.0.2.3:53, with nested-dns's address at the end */
    assert_int_equal(f->dev.frames[0][23], 17);
    assert_int_equal(f->dev.frames[0][14 + 12], 10);
    assert_int_equal(f->dev.frames[0][14 + 15], 3);
    assert_int_equal(f->dev.frames[0][14 + 20 + 1], 53);
    assert_int_equal(f->dev.frames[0][f->dev.lens[0] - 1], 53);
}

/* Frames the device cannot take wait in the backend, then come in order. */
static void test_held_frames(void **state)
{
    struct fixture *f = *state;
    uint8_t gw[6], b[128];
    struct sockaddr_in from;
    socklen_t flen = sizeof(from);
    uint16_t port;
    int fd = udp_socket(&port);

    arp(f, gw);
    send_frame(f, b, udp_frame(b, gw, "10.0.2.2", port, "x"));
    RUN_UNTIL(f, recvfrom(fd, b, sizeof(b), 0, (struct sockaddr *)&from, &flen) > 0);
    f->dev.is_full = true;
    assert_int_equal(sendto(fd, "one", 3, 0, (struct sockaddr *)&from, flen), 3);
    assert_int_equal(sendto(fd, "two", 3, 0, (struct sockaddr *)&from, flen), 3);
    for (int i = 0; i < 10; i++)
        (void)evloop_run_once(f->loop, 50);
    assert_int_equal(f->dev.n, 0);
    f->dev.is_full = false;
    net_backend_rx_ready(f->be);
    RUN_UNTIL(f, f->dev.n >= 2);
    assert_int_equal(f->dev.n, 2);
    assert_memory_equal(f->dev.frames[0] + f->dev.lens[0] - 3, "one", 3);
    assert_memory_equal(f->dev.frames[1] + f->dev.lens[1] - 3, "two", 3);
    close(fd);
}

static int setup_fwd(void **state)
{
    static char rule[64];
    uint16_t port;
    int fd = udp_socket(&port); /* a free port number (TCP and UDP ports are apart, but fine) */
    close(fd);
    snprintf(rule, sizeof(rule), "tcp::%u-:80", port);
    return setup_opts(state, rule);
}

static void test_forward_reaches_guest(void **state)
{
    struct fixture *f = *state;
    uint8_t gw[6];
    const char *rules[2];
    struct net_hostfwd fwd;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int c;

    arp(f, gw); /* slirp knows the guest's MAC now */
    assert_int_equal(net_slirp_hostfwds(f->be, rules, 2), 1);
    assert_int_equal(net_hostfwd_parse(rules[0], &fwd, NULL), 0);
    sa.sin_port = htons(fwd.host_port);
    c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    assert_true(c >= 0);
    (void)connect(c, (struct sockaddr *)&sa, sizeof(sa));
    RUN_UNTIL(f, f->dev.n >= 1);
    assert_true(f->dev.n >= 1);
    /* a TCP SYN from 10.0.2.2 to the guest's port 80 */
    assert_int_equal(f->dev.frames[0][23], 6);
    assert_int_equal(f->dev.frames[0][14 + 20 + 2] << 8 | f->dev.frames[0][14 + 20 + 3], 80);
    assert_true(f->dev.frames[0][14 + 20 + 13] & 0x02);
    close(c);
}

static void test_hostfwd_changes(void **state)
{
    struct fixture *f = *state;
    struct error err = {0};
    const char *rules[4];
    uint16_t port;
    char rule[64];
    int fd = udp_socket(&port);

    snprintf(rule, sizeof(rule), "udp::%u-:53", port); /* the test holds that UDP port */
    assert_int_equal(net_slirp_hostfwd_add(f->be, rule, &err), -EADDRINUSE);
    assert_non_null(strstr(err.message, "is in use"));
    close(fd);
    error_clear(&err);
    assert_int_equal(net_slirp_hostfwd_add(f->be, rule, &err), 0);
    assert_int_equal(net_slirp_hostfwd_add(f->be, rule, &err), -EADDRINUSE);
    assert_int_equal(net_slirp_hostfwds(f->be, rules, 4), 1);
    error_clear(&err);
    assert_int_equal(net_slirp_hostfwd_remove(f->be, "tcp::1-:1", &err), -ENOENT);
    assert_int_equal(net_slirp_hostfwd_remove(f->be, rule, &err), 0);
    assert_int_equal(net_slirp_hostfwds(f->be, rules, 4), 0);
    assert_true(net_backend_is_nat(f->be));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_arp, setup, teardown),
        cmocka_unit_test_setup_teardown(test_udp_to_host, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tcp_to_host, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dns, setup, teardown),
        cmocka_unit_test_setup_teardown(test_held_frames, setup, teardown),
        cmocka_unit_test_setup_teardown(test_forward_reaches_guest, setup_fwd, teardown),
        cmocka_unit_test_setup_teardown(test_hostfwd_changes, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

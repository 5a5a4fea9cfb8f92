/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for src/net/ without sockets: the forward rule syntax (net/hostfwd.c), the DNS
 * relay's frame rewriting with checksums checked from scratch (net/dns_relay.c), and the
 * "none" backend with the link state (net/net.c).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "net/dns_relay.h"
#include "net/hostfwd.h"
#include "net/net.h"

static void test_hostfwd_parse(void **state)
{
    struct net_hostfwd f, g;
    char buf[NET_HOSTFWD_STR_BYTES];
    (void)state;

    assert_int_equal(net_hostfwd_parse("tcp::2222-:22", &f, NULL), 0);
    assert_false(f.is_udp);
    assert_int_equal(f.host_addr.s_addr, htonl(INADDR_LOOPBACK));
    assert_int_equal(f.host_port, 2222);
    assert_int_equal(f.guest_port, 22);
    net_hostfwd_format(&f, buf, sizeof(buf));
    assert_string_equal(buf, "tcp:127.0.0.1:2222-:22");
    assert_int_equal(net_hostfwd_parse("udp:0.0.0.0:65535-10.0.2.20:1", &g, NULL), 0);
    net_hostfwd_format(&g, buf, sizeof(buf));
    assert_string_equal(buf, "udp:0.0.0.0:65535-10.0.2.20:1");
    assert_false(net_hostfwd_same_host(&f, &g));
    assert_int_equal(net_hostfwd_parse("tcp:127.0.0.1:2222-10.0.2.15:80", &g, NULL), 0);
    assert_true(net_hostfwd_same_host(&f, &g));
    net_hostfwd_format(&g, buf, sizeof(buf));
    assert_string_equal(buf, "tcp:127.0.0.1:2222-:80");
}

static void test_hostfwd_bad(void **state)
{
    static const char *const bad[] = {
        "",           "tcp",        "tcp:",          "icmp::1-:2",       "tcp::1",
        "tcp::0-:22", "tcp::22-:0", "tcp::70000-:1", "tcp::-1-:2",       "tcp:1.2.3.4.5:1-:2",
        "tcp::1-:2x", "tcp::+1-:2", "tcp:::1-:2",    "tcp::1-10.0.2.15", "tcp:localhost:1-:2",
    };
    struct net_hostfwd f;
    struct error err = {0};
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        error_clear(&err);
        if (net_hostfwd_parse(bad[i], &f, &err) != -EINVAL)
            fail_msg("'%s' was accepted", bad[i]);
        assert_non_null(strstr(err.message, "hostfwd"));
    }
}

/* ---- DNS relay ---- */

static uint16_t sum16(const uint8_t *p, size_t len, uint32_t s)
{
    for (size_t i = 0; i + 1 < len; i += 2)
        s += (uint32_t)(p[i] << 8 | p[i + 1]);
    if (len & 1)
        s += (uint32_t)p[len - 1] << 8;
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return (uint16_t)s;
}

/* An Ethernet + IPv4 + UDP frame (src:sport -> dst:dport) with a payload, checksums right. */
static size_t make_udp(uint8_t *f, const char *src, uint16_t sport, const char *dst, uint16_t dport,
                       bool has_udp_sum)
{
    static const char payload[] = "\x12\x34\x01\x00\x00\x01query";
    size_t plen = sizeof(payload) - 1, ulen = 8 + plen, len = 14 + 20 + ulen;
    uint8_t *ip = f + 14, *udp = ip + 20, pseudo[12];
    uint16_t s;

    memset(f, 0, len);
    f[12] = 0x08;
    ip[0] = 0x45;
    ip[2] = (uint8_t)((20 + ulen) >> 8);
    ip[3] = (uint8_t)(20 + ulen);
    ip[8] = 64;
    ip[9] = 17;
    inet_pton(AF_INET, src, ip + 12);
    inet_pton(AF_INET, dst, ip + 16);
    s = (uint16_t)~sum16(ip, 20, 0);
    ip[10] = (uint8_t)(s >> 8);
    ip[11] = (uint8_t)s;
    udp[0] = (uint8_t)(sport >> 8);
    udp[1] = (uint8_t)sport;
    udp[2] = (uint8_t)(dport >> 8);
    udp[3] = (uint8_t)dport;
    udp[5] = (uint8_t)ulen;
    memcpy(udp + 8, payload, plen);
    if (has_udp_sum) {
        memcpy(pseudo, ip + 12, 8);
        pseudo[8] = 0;
        pseudo[9] = 17;
        pseudo[10] = 0;
        pseudo[11] = (uint8_t)ulen;
        s = (uint16_t)~sum16(udp, ulen, sum16(pseudo, 12, 0));
        udp[6] = (uint8_t)(s >> 8);
        udp[7] = (uint8_t)s;
    }
    return len;
}

/* Both checksums verify (the sum over the header / pseudo-header + datagram is all ones). */
static void check_sums(const uint8_t *f)
{
    const uint8_t *ip = f + 14, *udp = ip + 20;
    uint8_t pseudo[12];
    size_t ulen = (size_t)(udp[4] << 8 | udp[5]);
    assert_int_equal(sum16(ip, 20, 0), 0xffff);
    if (udp[6] == 0 && udp[7] == 0)
        return;
    memcpy(pseudo, ip + 12, 8);
    pseudo[8] = 0;
    pseudo[9] = 17;
    pseudo[10] = 0;
    pseudo[11] = (uint8_t)ulen;
    assert_int_equal(sum16(udp, ulen, sum16(pseudo, 12, 0)), 0xffff);
}

static void relay(struct net_dns_relay *r, const char *conf_text)
{
    char path[] = "/tmp/bareiron-resolv-XXXXXX";
    int fd = mkstemp(path);
    struct in_addr g, gw;
    assert_true(fd >= 0);
    assert_int_equal(write(fd, conf_text, strlen(conf_text)), (ssize_t)strlen(conf_text));
    close(fd);
    inet_pton(AF_INET, "10.0.2.3", &g);
    inet_pton(AF_INET, "10.0.2.2", &gw);
    (void)net_dns_relay_init(r, path, g, gw);
    unlink(path);
}

static void test_dns_relay(void **state)
{
    static struct net_dns_relay r;
    uint8_t f[256], want[4];
    size_t len;
    (void)state;

    relay(&r, "# comment\nsearch example\nnameserver fe80::1\nnameserver 192.0.2.9\n");
    inet_pton(AF_INET, "192.0.2.9", want);
    assert_memory_equal(&r.resolver.s_addr, want, 4);
    for (int with_sum = 0; with_sum < 2; with_sum++) {
        len = make_udp(f, "10.0.2.15", 40000, "10.0.2.3", 53, with_sum);
        assert_true(net_dns_relay_out(&r, f, len));
        assert_memory_equal(f + 14 + 16, want, 4);
        check_sums(f);
        /* the answer comes back from the resolver to port 40000 */
        len = make_udp(f, "192.0.2.9", 53, "10.0.2.15", 40000, with_sum);
        assert_true(net_dns_relay_is_answer(&r, f, len));
        net_dns_relay_in(&r, f, len);
        inet_pton(AF_INET, "10.0.2.3", want);
        assert_memory_equal(f + 14 + 12, want, 4);
        check_sums(f);
        inet_pton(AF_INET, "192.0.2.9", want);
    }
    /* not for it: another port, another address, a port no query used, a fragment, short */
    len = make_udp(f, "10.0.2.15", 40000, "10.0.2.3", 5353, true);
    assert_false(net_dns_relay_out(&r, f, len));
    len = make_udp(f, "10.0.2.15", 40000, "10.0.2.4", 53, true);
    assert_false(net_dns_relay_out(&r, f, len));
    len = make_udp(f, "192.0.2.9", 53, "10.0.2.15", 40001, true);
    assert_false(net_dns_relay_is_answer(&r, f, len));
    len = make_udp(f, "10.0.2.15", 40000, "10.0.2.3", 53, true);
    f[14 + 6] = 0x20; /* more fragments */
    assert_false(net_dns_relay_out(&r, f, len));
    len = make_udp(f, "10.0.2.15", 40000, "10.0.2.3", 53, true);
    assert_false(net_dns_relay_out(&r, f, 14 + 20 + 4));
    f[12] = 0x86; /* not IPv4 */
    assert_false(net_dns_relay_out(&r, f, len));
}

static void test_dns_relay_loopback(void **state)
{
    static struct net_dns_relay r;
    uint8_t f[256], gw[4];
    size_t len;
    struct in_addr g = {0}, alias;
    (void)state;

    inet_pton(AF_INET, "10.0.2.2", gw);
    /* 127.0.0.1, no nameserver line, no file: the host's loopback through 10.0.2.2 */
    relay(&r, "nameserver 127.0.0.1\n");
    len = make_udp(f, "10.0.2.15", 40000, "10.0.2.3", 53, true);
    assert_true(net_dns_relay_out(&r, f, len));
    assert_memory_equal(f + 14 + 16, gw, 4);
    check_sums(f);
    relay(&r, "search only\n");
    assert_memory_equal(&r.resolver.s_addr, gw, 4);
    memcpy(&alias.s_addr, gw, 4);
    assert_true(net_dns_relay_init(&r, "/nonexistent/resolv.conf", g, alias));
    /* a resolver inside 10.0.2.0/24 (the host is a NAT guest itself): off */
    relay(&r, "nameserver 10.0.2.3\n");
    len = make_udp(f, "10.0.2.15", 40000, "10.0.2.3", 53, true);
    assert_false(net_dns_relay_out(&r, f, len));
}

static unsigned link_calls;
static void on_link(void *opaque)
{
    (void)opaque;
    link_calls++;
}

static void test_none(void **state)
{
    struct net_backend *be;
    struct net_hdr h = {0};
    uint8_t frame[60] = {0};
    struct iovec iov = {frame, sizeof(frame)};
    (void)state;

    assert_int_equal(net_none_create(&be), 0);
    assert_string_equal(be->type, "none");
    assert_false(net_backend_link_is_up(be));
    assert_int_equal(net_backend_send(be, &h, &iov, 1), 0);
    assert_int_equal(be->stats.tx_dropped, 1);
    assert_int_equal(net_backend_set_offloads(be, NET_OFFLOAD_CSUM), 0);
    net_backend_attach(be, NULL, on_link, NULL);
    net_backend_set_link(be, false);
    assert_int_equal(link_calls, 1);
    net_backend_set_link(be, false); /* no change, no call */
    assert_int_equal(link_calls, 1);
    net_backend_detach(be);
    net_backend_close(be);
    net_backend_close(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hostfwd_parse), cmocka_unit_test(test_hostfwd_bad),
        cmocka_unit_test(test_dns_relay),     cmocka_unit_test(test_dns_relay_loopback),
        cmocka_unit_test(test_none),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: MIT */
/*
 * Implementation of net/dns_relay.h: Ethernet II + IPv4 (RFC 791) + UDP (RFC 768) parsing of
 * unfragmented datagrams only, and the incremental checksum update of RFC 1624 (eqn. 3).
 */
#include "net/dns_relay.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#define ETH_HDR 14u
#define IP_PROTO_UDP 17u
#define DNS_PORT 53u

/* Where the IPv4 header and the UDP header of (frame) are; false when it is not an
 * unfragmented IPv4 UDP datagram with both headers inside (len). */
static bool udp_frame(const uint8_t *f, size_t len, size_t *ip, size_t *udp)
{
    size_t ihl;

    if (len < ETH_HDR + 20 + 8 || f[12] != 0x08 || f[13] != 0x00)
        return false;
    *ip = ETH_HDR;
    ihl = (size_t)(f[*ip] & 0x0f) * 4;
    if ((f[*ip] >> 4) != 4 || ihl < 20 || f[*ip + 9] != IP_PROTO_UDP)
        return false;
    /* fragment offset 0 and no more fragments: the UDP header and all of it are here */
    if ((f[*ip + 6] & 0x3f) != 0 || f[*ip + 7] != 0)
        return false;
    *udp = *ip + ihl;
    return *udp + 8 <= len;
}

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

/* RFC 1624: checksum field (sum) after 4 bytes changed from (old) to (new). */
static void csum_replace(uint8_t *sum, const uint8_t *old, const uint8_t *new_bytes)
{
    uint32_t s = (uint16_t)~get16(sum);
    for (int i = 0; i < 4; i += 2) {
        s += (uint16_t)~get16(old + i);
        s += get16(new_bytes + i);
    }
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    s = (uint16_t)~s;
    sum[0] = (uint8_t)(s >> 8);
    sum[1] = (uint8_t)s;
}

/* Replaces the address at (addr) (in the IPv4 header) by (to), fixing both checksums. */
static void set_addr(uint8_t *f, size_t ip, size_t udp, size_t addr, struct in_addr to)
{
    uint8_t old[4];
    bool has_udp_sum = get16(f + udp + 6) != 0; /* 0: the sender sent none */

    memcpy(old, f + addr, 4);
    memcpy(f + addr, &to.s_addr, 4);
    csum_replace(f + ip + 10, old, f + addr);
    if (has_udp_sum) {
        csum_replace(f + udp + 6, old, f + addr);
        if (get16(f + udp + 6) == 0) /* a computed 0 is sent as all ones (RFC 768) */
            f[udp + 6] = f[udp + 7] = 0xff;
    }
}

bool net_dns_relay_init(struct net_dns_relay *r, const char *resolv_conf, struct in_addr guest_dns,
                        struct in_addr loopback_alias)
{
    char line[256], addr[64];
    FILE *f = fopen(resolv_conf, "re");

    memset(r, 0, sizeof(*r));
    r->guest_dns = guest_dns;
    while (f != NULL && fgets(line, sizeof(line), f) != NULL)
        if (sscanf(line, " nameserver %63s", addr) == 1 &&
            inet_pton(AF_INET, addr, &r->resolver) == 1)
            break;
        else
            r->resolver.s_addr = 0;
    if (f != NULL)
        fclose(f);
    /* none (or no file): the host's 127.0.0.1:53, reached through the address libslirp maps
     * to the host's loopback */
    if (r->resolver.s_addr == 0 || r->resolver.s_addr == htonl(INADDR_LOOPBACK))
        r->resolver = loopback_alias;
    /* one inside the guest's network (a host that is itself a NAT guest) would be taken for an
     * address of the NAT network: there is no way to it */
    else if ((ntohl(r->resolver.s_addr) & 0xffffff00u) == (ntohl(guest_dns.s_addr) & 0xffffff00u))
        r->resolver.s_addr = 0;
    return r->resolver.s_addr != 0;
}

bool net_dns_relay_out(struct net_dns_relay *r, uint8_t *f, size_t len)
{
    size_t ip, udp;
    uint16_t sport;

    if (r->resolver.s_addr == 0 || !udp_frame(f, len, &ip, &udp) ||
        memcmp(f + ip + 16, &r->guest_dns.s_addr, 4) != 0 || get16(f + udp + 2) != DNS_PORT)
        return false;
    sport = get16(f + udp);
    r->ports[sport / 8] |= (uint8_t)(1u << (sport % 8));
    set_addr(f, ip, udp, ip + 16, r->resolver);
    return true;
}

bool net_dns_relay_is_answer(const struct net_dns_relay *r, const uint8_t *f, size_t len)
{
    size_t ip, udp;
    uint16_t dport;

    if (r->resolver.s_addr == 0 || !udp_frame(f, len, &ip, &udp) ||
        memcmp(f + ip + 12, &r->resolver.s_addr, 4) != 0 || get16(f + udp) != DNS_PORT)
        return false;
    dport = get16(f + udp + 2);
    return (r->ports[dport / 8] & (1u << (dport % 8))) != 0;
}

void net_dns_relay_in(const struct net_dns_relay *r, uint8_t *f, size_t len)
{
    size_t ip, udp;
    if (udp_frame(f, len, &ip, &udp))
        set_addr(f, ip, udp, ip + 12, r->guest_dns);
}

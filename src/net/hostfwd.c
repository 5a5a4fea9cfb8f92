/* SPDX-License-Identifier: MIT */
/*
 * Implementation of net/hostfwd.h: the forward rule syntax of --nic nat,hostfwd= and of the
 * control API's net-hostfwd-add/remove.
 */
#include "net/hostfwd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Parses "[ADDR]:PORT" of (len) bytes at (s); an empty ADDR gives (def). */
static int parse_end(const char *s, size_t len, const char *def, struct in_addr *addr,
                     uint16_t *port)
{
    char buf[40], *colon, *end;
    unsigned long p;

    if (len >= sizeof(buf))
        return -1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    colon = strchr(buf, ':');
    if (colon == NULL)
        return -1;
    *colon = '\0';
    if (inet_pton(AF_INET, buf[0] != '\0' ? buf : def, addr) != 1)
        return -1;
    if (colon[1] < '0' || colon[1] > '9')
        return -1;
    errno = 0;
    p = strtoul(colon + 1, &end, 10);
    if (errno != 0 || *end != '\0' || p == 0 || p > 65535)
        return -1;
    *port = (uint16_t)p;
    return 0;
}

int net_hostfwd_parse(const char *rule, struct net_hostfwd *out, struct error *err)
{
    const char *rest, *dash;

    memset(out, 0, sizeof(*out));
    if (strncmp(rule, "tcp:", 4) == 0) {
        rest = rule + 4;
    } else if (strncmp(rule, "udp:", 4) == 0) {
        out->is_udp = true;
        rest = rule + 4;
    } else {
        return error_set(err, -EINVAL, "hostfwd %s: the protocol must be tcp or udp", rule);
    }
    dash = strchr(rest, '-');
    if (dash == NULL)
        return error_set(err, -EINVAL,
                         "hostfwd %s: expected PROTO:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT",
                         rule);
    if (parse_end(rest, (size_t)(dash - rest), "127.0.0.1", &out->host_addr, &out->host_port) < 0)
        return error_set(err, -EINVAL,
                         "hostfwd %s: bad host side (an IPv4 address and a port 1-65535)", rule);
    if (parse_end(dash + 1, strlen(dash + 1), NET_NAT_GUEST, &out->guest_addr, &out->guest_port) <
        0)
        return error_set(err, -EINVAL,
                         "hostfwd %s: bad guest side (an IPv4 address and a port 1-65535)", rule);
    return 0;
}

void net_hostfwd_format(const struct net_hostfwd *f, char *buf, size_t len)
{
    char host[INET_ADDRSTRLEN], guest[INET_ADDRSTRLEN] = "";
    struct in_addr def;

    inet_ntop(AF_INET, &f->host_addr, host, sizeof(host));
    if (inet_pton(AF_INET, NET_NAT_GUEST, &def) != 1 || def.s_addr != f->guest_addr.s_addr)
        inet_ntop(AF_INET, &f->guest_addr, guest, sizeof(guest));
    snprintf(buf, len, "%s:%s:%u-%s:%u", f->is_udp ? "udp" : "tcp", host, f->host_port, guest,
             f->guest_port);
}

bool net_hostfwd_same_host(const struct net_hostfwd *a, const struct net_hostfwd *b)
{
    return a->is_udp == b->is_udp && a->host_addr.s_addr == b->host_addr.s_addr &&
           a->host_port == b->host_port;
}

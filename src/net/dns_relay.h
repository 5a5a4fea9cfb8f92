/* SPDX-License-Identifier: MIT */
/*
 * The NAT backend's DNS relay (net/slirp.c). libslirp relays the guest's queries to 10.0.2.3
 * to the first nameserver of /etc/resolv.conf, which it opens at every query after a second;
 * the monitor's seccomp filters and the --sandbox jail refuse that open, and libslirp 4.7 then
 * answers the guest "network unreachable". So the backend reads the resolver once, before the
 * filters, and rewrites the
 * guest's UDP queries to 10.0.2.3:53 into queries to that resolver (which libslirp forwards as
 * any other datagram) and the answers back, with the IPv4 and UDP checksums updated
 * incrementally (RFC 1624). Only for ports a rewritten query used, so a guest that asks the
 * resolver directly still gets answers from it. Pure frame handling; no sockets.
 */
#ifndef BAREIRON_NET_DNS_RELAY_H
#define BAREIRON_NET_DNS_RELAY_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct net_dns_relay {
    struct in_addr guest_dns; /* 10.0.2.3 */
    struct in_addr resolver;  /* the host's; 0: relay off */
    uint8_t ports[65536 / 8]; /* guest UDP source ports of rewritten queries */
};

/*
 * Sets (r) up: the first IPv4 nameserver of (resolv_conf) (a resolv.conf(5) file); with none,
 * no file or 127.0.0.1, (loopback_alias) (the NAT network's address of the host's loopback,
 * 10.0.2.2), so queries reach the host's 127.0.0.1:53. The relay stays off when the resolver is
 * inside the /24 of (guest_dns), where libslirp would take it for an address of its own (then
 * DNS fails: libslirp has no way to it either). Returns whether it is on.
 */
bool net_dns_relay_init(struct net_dns_relay *r, const char *resolv_conf, struct in_addr guest_dns,
                        struct in_addr loopback_alias);

/* A frame from the guest (len bytes at frame, writable): a UDP query to guest_dns:53 goes to the
 * resolver instead. Returns whether it was rewritten. */
bool net_dns_relay_out(struct net_dns_relay *r, uint8_t *frame, size_t len);

/* True when the frame for the guest is an answer to a rewritten query (it must be rewritten:
 * copy it, then net_dns_relay_in). */
bool net_dns_relay_is_answer(const struct net_dns_relay *r, const uint8_t *frame, size_t len);
/* Rewrites such an answer to come from guest_dns:53. */
void net_dns_relay_in(const struct net_dns_relay *r, uint8_t *frame, size_t len);

#endif

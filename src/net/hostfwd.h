/* SPDX-License-Identifier: MIT */
/*
 * Host-to-guest forward rules of the NAT backend, in QEMU's syntax (docs/vmm.md, --nic nat):
 *
 *   PROTO:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT      PROTO = tcp | udp
 *
 * HOSTADDR defaults to 127.0.0.1 (a forward is reachable from this host only unless asked
 * otherwise), GUESTADDR to the address the NAT network's DHCP server gives the guest,
 * NET_NAT_GUEST (10.0.2.15). Ports are 1..65535. Pure parsing and printing; no sockets.
 */
#ifndef BAREIRON_NET_HOSTFWD_H
#define BAREIRON_NET_HOSTFWD_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/compiler.h"
#include "base/error.h"

/* The NAT network (QEMU's and VirtualBox's defaults). */
#define NET_NAT_NETWORK "10.0.2.0"
#define NET_NAT_NETMASK "255.255.255.0"
#define NET_NAT_GATEWAY "10.0.2.2"
#define NET_NAT_DNS "10.0.2.3"
#define NET_NAT_GUEST "10.0.2.15"

/* Forwards per NAT adapter. */
#define NET_MAX_HOSTFWD 32
/* "udp:255.255.255.255:65535-255.255.255.255:65535" and a NUL */
#define NET_HOSTFWD_STR_BYTES 48

struct net_hostfwd {
    bool is_udp;
    struct in_addr host_addr;
    uint16_t host_port;
    struct in_addr guest_addr;
    uint16_t guest_port;
};

/*
 * Parses (rule) into (out). Returns 0, or -EINVAL with (err) set to one line naming what is
 * wrong ("hostfwd tcp:x: ...").
 */
MUST_CHECK int net_hostfwd_parse(const char *rule, struct net_hostfwd *out, struct error *err);

/* Writes the canonical form of (f) into (buf) (NET_HOSTFWD_STR_BYTES): the guest address is
 * left out when it is the default, as in "tcp:127.0.0.1:2222-:22". */
void net_hostfwd_format(const struct net_hostfwd *f, char *buf, size_t len);

/* True when (a) and (b) listen on the same host socket (protocol, address and port). */
bool net_hostfwd_same_host(const struct net_hostfwd *a, const struct net_hostfwd *b);

#endif

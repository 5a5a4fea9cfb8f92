/* SPDX-License-Identifier: MIT */
/*
 * The NAT backend (--nic nat): libslirp's user-mode TCP/IP stack on the monitor's event loop.
 * The guest sees the network of net/hostfwd.h (gateway 10.0.2.2, which is this host's
 * loopback; DNS 10.0.2.3, relayed to the host's resolver; DHCP handing out 10.0.2.15); its TCP
 * and UDP connections and ICMP echo requests leave as this process's own sockets, and the
 * forwards of net/hostfwd.h bring host connections in. With (is_restricted) the guest reaches
 * nothing outside but the forwards (libslirp's restricted mode). With a TFTP directory, the
 * gateway answers TFTP read requests from it (libslirp opens the file by its path at each
 * request) and DHCP offers the boot file, for network boot.
 *
 * libslirp's sockets are watched through one epoll descriptor of their own, registered with the
 * event loop; its timers through one timerfd. After each event, frame or deferred call the
 * backend asks libslirp again which sockets to watch (slirp_pollfds_fill) and updates that set.
 * Event loop thread only.
 */
#ifndef BAREIRON_NET_SLIRP_H
#define BAREIRON_NET_SLIRP_H

#include <stdbool.h>

#include "base/compiler.h"
#include "base/error.h"
#include "net/hostfwd.h"
#include "net/net.h"

struct evloop;

struct net_slirp_opts {
    bool is_restricted;
    unsigned nhostfwd;
    const char *hostfwd[NET_MAX_HOSTFWD]; /* rules of net/hostfwd.h */
    const char *tftp;     /* a directory libslirp's TFTP server serves read-only, or NULL */
    const char *bootfile; /* the file in it that DHCP offers (network boot), or NULL */
};

/*
 * Creates a NAT backend on (loop) with the forwards of (o). Returns 0 and (*out), -EINVAL (a
 * malformed rule), -EADDRINUSE (a host port in use) or another -errno, with (err) set.
 */
MUST_CHECK int net_slirp_create(struct evloop *loop, const struct net_slirp_opts *o,
                                struct net_backend **out, struct error *err);

/* True when (be) is a NAT backend. */
bool net_backend_is_nat(const struct net_backend *be);

/*
 * Adds / removes forward (rule) on NAT backend (be). Returns 0; -EINVAL (malformed),
 * -EADDRINUSE (the host port is in use, or already forwarded), -ENOSPC (NET_MAX_HOSTFWD
 * reached), -ENOENT (remove: no such forward), with (err) set.
 */
MUST_CHECK int net_slirp_hostfwd_add(struct net_backend *be, const char *rule, struct error *err);
MUST_CHECK int net_slirp_hostfwd_remove(struct net_backend *be, const char *rule,
                                        struct error *err);
/* The canonical forms of (be)'s forwards (net_hostfwd_format), valid until the next change.
 * Returns how many; (out) receives at most (max). */
unsigned net_slirp_hostfwds(const struct net_backend *be, const char **out, unsigned max);

#endif

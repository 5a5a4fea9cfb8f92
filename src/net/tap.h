/* SPDX-License-Identifier: MIT */
/*
 * The tap backend (--nic tap): an existing tap interface opened through /dev/net/tun
 * (ifname=) or a tap descriptor handed over by the manager (fd=), with IFF_VNET_HDR and a
 * 12-byte header (so offloaded frames pass between the guest and the host kernel untouched)
 * and, on the receive side, the offloads TUNSETOFFLOAD accepts (checksum, TSO4/6, ECN, USO).
 * Frames are read on the event loop, at most a budget per wakeup; when the device has no room
 * the descriptor is not watched until it has. With vhost-net (vhost=auto where /dev/vhost-net
 * opens, vhost=on) the kernel moves the frames while the device runs (net_backend_vhost_start);
 * the read path stands aside until it stops. Event loop thread, except the vhost calls (device
 * lock held, any thread).
 */
#ifndef BAREIRON_NET_TAP_H
#define BAREIRON_NET_TAP_H

#include "base/compiler.h"
#include "base/error.h"
#include "net/net.h"

struct evloop;

enum net_vhost {
    NET_VHOST_AUTO, /* vhost-net where /dev/vhost-net opens; the monitor's path otherwise and
                       whenever vhost cannot start */
    NET_VHOST_OFF,
    NET_VHOST_ON, /* vhost-net or nothing: no /dev/vhost-net fails the start, a device that
                     cannot start it is put in NEEDS_RESET */
};

struct net_tap_opts {
    const char *ifname; /* open this interface, or */
    int fd;             /* use this tap descriptor (-1: none); taken over */
    enum net_vhost vhost;
    unsigned queues; /* queue pairs, 1..NET_MAX_QUEUES (0: 1); more than one needs ifname= and
                        a tap made with multi_queue (IFF_MULTI_QUEUE) */
};

/*
 * Opens the tap of (o) on (loop), and /dev/vhost-net unless vhost=off. Returns 0 and (*out);
 * -ENODEV (no such interface), -EINVAL (fd= is not a tap with IFF_VNET_HDR), -EPERM or another
 * -errno (vhost=on without a usable /dev/vhost-net) with (err) set to one line naming the
 * interface.
 */
MUST_CHECK int net_tap_create(struct evloop *loop, const struct net_tap_opts *o,
                              struct net_backend **out, struct error *err);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * The network backend interface: what a network adapter (dev/virtio/virtio_net.c) sends its
 * guest's frames to and receives frames from. A backend is NAT through libslirp (net/slirp.c),
 * a tap device (net/tap.c) or none (link down, net/net.c). Every frame travels with a virtio-net
 * header (struct net_hdr, the layout the Linux tap driver reads and writes with IFF_VNET_HDR and
 * a 12-byte header size, virtio 1.2 §5.1.6), so a tap backend passes offloaded frames through
 * untouched and the others see flags 0 / GSO_NONE only, because they offer no offloads.
 *
 *   device --net_backend_send(hdr, iov)--> backend --> host (slirp, tap fd)
 *   host --> backend --rx(opaque, hdr, frame)--> device: 0 taken or dropped, -EAGAIN no room
 *   device --net_backend_rx_ready()--> backend: the guest has buffers again, deliver held frames
 *
 * Threading: everything runs on the event loop thread. The device calls send and rx_ready with
 * its own lock held, so a backend never calls rx from inside send or rx_ready: frames produced
 * meanwhile (slirp answering an ARP request synchronously) are held and delivered from a
 * deferred call (evloop_call). The device's rx callback takes the device lock.
 *
 * In-kernel data path (vhost-net, tap only): a backend with vhost_features != 0 can move the
 * frames of the receive and transmit queues itself. The device hands it the rings' host
 * addresses, guest memory's RAM regions, the queue kick eventfds and an interrupt eventfd per
 * queue (net_backend_vhost_start); from then on the frames bypass send/rx until
 * net_backend_vhost_stop gives the rings back with the index each stopped at. A ring error the
 * kernel reports (vhost's error eventfd) reaches the device through net_backend_fault.
 *
 * A backend lives across guest reboots (the monitor owns it, the machine of the moment attaches
 * its device with net_backend_attach and detaches it before it goes away), so forwards added at
 * run time, a tap descriptor opened before the jail and the link state survive a reset.
 */
#ifndef BAREIRON_NET_NET_H
#define BAREIRON_NET_NET_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "base/compiler.h"

/* The largest frame accepted either way: an IP packet of 64 KiB - 1 (a TSO frame) plus the
 * Ethernet and VLAN headers. */
#define NET_FRAME_MAX_BYTES (65535u + 14u + 4u)
/* The smallest: an Ethernet header. */
#define NET_FRAME_MIN_BYTES 14u
#define NET_MAC_BYTES 6u

/* The virtio-net header (virtio_net_hdr_v1), little endian. */
struct net_hdr {
    uint8_t flags; /* NET_HDR_F_* */
    uint8_t gso_type;
    uint16_t hdr_len;
    uint16_t gso_size;
    uint16_t csum_start;
    uint16_t csum_offset;
    uint16_t num_buffers; /* RX with mergeable buffers only */
};
_Static_assert(sizeof(struct net_hdr) == 12, "net_hdr is 12 bytes");

#define NET_HDR_F_NEEDS_CSUM 1u
#define NET_HDR_F_DATA_VALID 2u
#define NET_HDR_GSO_NONE 0u
#define NET_HDR_GSO_TCPV4 1u
#define NET_HDR_GSO_UDP 3u
#define NET_HDR_GSO_TCPV6 4u
#define NET_HDR_GSO_UDP_L4 5u
#define NET_HDR_GSO_ECN 0x80u

/* Offloads (what a backend can take from the guest and give to it). */
#define NET_OFFLOAD_CSUM (1u << 0) /* partial checksums (NEEDS_CSUM) */
#define NET_OFFLOAD_TSO4 (1u << 1)
#define NET_OFFLOAD_TSO6 (1u << 2)
#define NET_OFFLOAD_ECN (1u << 3)
#define NET_OFFLOAD_USO (1u << 4)

/* Counters of a backend: frames it dropped itself (queue full, host refused them). */
struct net_backend_stats {
    uint64_t rx_dropped; /* frames from the host the guest never got */
    uint64_t tx_dropped; /* frames from the guest the host refused */
    uint64_t errors;
};

/* An adapter's counters, kept by the backend while no device is attached, so that they survive
 * the guest's reboots: a device starts from them and gives its own back when it goes away. */
struct net_dev_counters {
    uint64_t rx_packets, rx_bytes, tx_packets, tx_bytes, rx_dropped, tx_dropped, errors;
};

/* A frame for the device's receive queue of pair (queue) (0 .. nqueues-1; the device may
 * deliver it to another pair it uses): (hdr), then (len) bytes at (frame). Returns 0 when the
 * frame was taken or dropped for good, -EAGAIN when the guest has no buffer now (hold it and
 * retry after rx_ready). Event loop thread; the device takes its lock. */
typedef int (*net_rx_fn)(void *opaque, unsigned queue, const struct net_hdr *hdr, const void *frame,
                         size_t len);
/* The backend's carrier changed (tap gone, link set down). */
typedef void (*net_link_fn)(void *opaque);
/* The in-kernel data path found the guest's rings broken (vhost's error eventfd: a bad
 * descriptor, an address outside the memory table) and stopped them; (why) for the log. Event
 * loop thread, no device lock held. */
typedef void (*net_fault_fn)(void *opaque, const char *why);

struct net_backend;

/* One region of guest RAM as an in-kernel data path sees it. */
struct net_vhost_region {
    uint64_t gpa;
    uint64_t size_bytes;
    uint64_t hva;
};

#define NET_VHOST_MAX_REGIONS 16u
/* Queue pairs of one adapter at most (tap queues=N). */
#define NET_MAX_QUEUES 8u

/* One ring (receive: 0, transmit: 1) handed to the in-kernel data path. */
struct net_vhost_ring {
    uint16_t size;
    uint16_t last_avail_idx; /* the next available entry the device would have taken */
    uint64_t desc_hva, avail_hva, used_hva;
    int kick_fd; /* signalled by the guest's notifications */
    int call_fd; /* signalled by the backend: raise the queue's interrupt */
};

struct net_vhost_setup {
    uint64_t features; /* negotiated virtio feature bits the data path must honour */
    unsigned nregions;
    struct net_vhost_region regions[NET_VHOST_MAX_REGIONS];
    struct net_vhost_ring rings[2];
};

struct net_backend_ops {
    /* Sends one frame: header (hdr), data (iov)[0..cnt). Returns 0 (sent or dropped and
     * counted by the backend) or -errno. */
    int (*send)(struct net_backend *be, const struct net_hdr *hdr, const struct iovec *iov,
                unsigned cnt);
    /* Optional: the guest accepts the offloads (NET_OFFLOAD_*) in frames it receives. */
    int (*set_offloads)(struct net_backend *be, uint32_t offloads);
    /* Optional: the device can take frames again. Must not call rx synchronously. */
    void (*rx_ready)(struct net_backend *be);
    /* Optional (nqueues > 1): the guest uses the first (n) queue pairs; frames from the host
     * go to those only. Returns 0 or -errno. */
    int (*set_queues)(struct net_backend *be, unsigned n);
    /* Optional (vhost_features != 0): starts the in-kernel data path of queue pair (pair) over
     * (s). Returns 0 or -errno (then nothing runs there and send/rx carry on). Device lock. */
    int (*vhost_start)(struct net_backend *be, unsigned pair, const struct net_vhost_setup *s);
    /* Optional: stops pair (pair); (last_avail)[i] gets ring i's next available index. */
    void (*vhost_stop)(struct net_backend *be, unsigned pair, uint16_t last_avail[2]);
    /* Frees the backend. */
    void (*close)(struct net_backend *be);
};

struct net_backend {
    const struct net_backend_ops *ops;
    const char *type;  /* "nat", "tap", "none" */
    uint32_t offloads; /* NET_OFFLOAD_* the backend can handle */
    bool has_carrier;  /* false for "none" */
    bool is_admin_up;  /* net-link; true at start */
    unsigned nqueues;  /* queue pairs (tap queues=N); 0 or 1: one */
    /* The virtio ring feature bits the in-kernel data path handles (VIRTIO_F_VERSION_1...); 0
     * when there is none (vhost=off, no /dev/vhost-net, not a tap). */
    uint64_t vhost_features;
    bool is_vhost_required; /* vhost=on: a device that cannot start it fails (NEEDS_RESET) */
    net_rx_fn rx;           /* NULL while no device is attached */
    net_link_fn link_changed;
    net_fault_fn fault; /* optional (set after attach), NULL while detached */
    void *opaque;
    struct net_backend_stats stats;
    struct net_dev_counters dev_counters; /* the last detached device's */
};

/* Connects a device: frames go to (rx), carrier changes to (link) (may be NULL). Event loop. */
static inline void net_backend_attach(struct net_backend *be, net_rx_fn rx, net_link_fn link,
                                      void *opaque)
{
    be->rx = rx;
    be->link_changed = link;
    be->opaque = opaque;
}

/* Disconnects the device (before it is destroyed); frames arriving meanwhile are dropped. */
static inline void net_backend_detach(struct net_backend *be)
{
    be->rx = NULL;
    be->link_changed = NULL;
    be->fault = NULL;
    be->opaque = NULL;
}

/* Tells the attached device its in-kernel data path failed (see net_fault_fn). */
static inline void net_backend_fault(struct net_backend *be, const char *why)
{
    if (be->fault != NULL)
        be->fault(be->opaque, why);
}

/* True when frames can flow: the backend has a carrier and the link is administratively up. */
static inline bool net_backend_link_is_up(const struct net_backend *be)
{
    return be->has_carrier && be->is_admin_up;
}

/* Sends a frame (see struct net_backend_ops). Device lock held, event loop thread. */
static inline int net_backend_send(struct net_backend *be, const struct net_hdr *hdr,
                                   const struct iovec *iov, unsigned cnt)
{
    return be->ops->send(be, hdr, iov, cnt);
}

/* Tells the backend which offloads the guest takes in received frames. Returns 0 or -errno. */
static inline int net_backend_set_offloads(struct net_backend *be, uint32_t offloads)
{
    return be->ops->set_offloads != NULL ? be->ops->set_offloads(be, offloads & be->offloads) : 0;
}

/* The device has room for frames again. */
static inline void net_backend_rx_ready(struct net_backend *be)
{
    if (be->ops->rx_ready != NULL)
        be->ops->rx_ready(be);
}

/* Starts the in-kernel data path of pair (pair) (see struct net_backend_ops). -ENOTSUP
 * without one. */
static inline int net_backend_vhost_start(struct net_backend *be, unsigned pair,
                                          const struct net_vhost_setup *s)
{
    return be->ops->vhost_start != NULL ? be->ops->vhost_start(be, pair, s) : -ENOTSUP;
}

/* Stops it; (last_avail) gets where each ring stopped (left alone when nothing ran). */
static inline void net_backend_vhost_stop(struct net_backend *be, unsigned pair,
                                          uint16_t last_avail[2])
{
    if (be->ops->vhost_stop != NULL)
        be->ops->vhost_stop(be, pair, last_avail);
}

/* The queue pairs the backend has (1 at least). */
static inline unsigned net_backend_queues(const struct net_backend *be)
{
    return be->nqueues > 1 ? be->nqueues : 1;
}

/* The guest uses the first (n) pairs. Returns 0 or -errno. */
static inline int net_backend_set_queues(struct net_backend *be, unsigned n)
{
    return be->ops->set_queues != NULL ? be->ops->set_queues(be, n) : 0;
}

/* Sets the administrative link state (net-link) and tells the device. Event loop thread, no
 * device lock held. */
void net_backend_set_link(struct net_backend *be, bool up);

/* Closes (be). NULL allowed. */
void net_backend_close(struct net_backend *be);

/* The "none" backend: an adapter without a cable. Returns 0 or -ENOMEM. */
MUST_CHECK int net_none_create(struct net_backend **out);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * virtio-net (virtio 1.2 §5.1): one receive queue, one transmit queue and a control queue over a
 * network backend (net/net.h). Offers MAC, STATUS (link), mergeable receive buffers, the control
 * queue with RX mode (promiscuous, all-multicast), the MAC filter table, MAC address set,
 * GUEST_ANNOUNCE and CTRL_GUEST_OFFLOADS, and the checksum and segmentation offloads both ways
 * that the backend supports (CSUM/GUEST_CSUM, TSO4/6, ECN, USO); with a backend of N > 1 queue
 * pairs (tap queues=N), MQ with max_virtqueue_pairs N and the control queue's VQ_PAIRS_SET
 * (the first pair only until the driver sets more, §5.1.6.5.5).
 *
 *   queue 0 receiveq1 (device-writable buffers: header + frame, merged over several buffers
 *           with MRG_RXBUF)                                           virtio_net_rx.c
 *   queue 1 transmitq1 (device-readable: 12-byte header + frame)     virtio_net_tx.c
 *   queue 2 controlq (class u8, command u8, data..., ack u8)         virtio_net_ctrl.c
 *
 * Device configuration layout (§5.1.4), little endian:
 *
 *   0 mac[6]   6 status u16 (LINK_UP, ANNOUNCE)   8 max_virtqueue_pairs u16 (1)
 *
 * Every value from the guest is checked: a transmit chain shorter than the header or a control
 * command without an ack byte is a protocol violation (NEEDS_RESET, as virtio-blk does for a
 * request it cannot answer); frames of 0 bytes, under an Ethernet header or over
 * NET_FRAME_MAX_BYTES, headers asking for offloads not negotiated, and receive buffers too small
 * for the header or the frame (returned empty) are dropped and counted; a bad control command
 * is answered VIRTIO_NET_ERR.
 *
 * With a tap backend that has vhost-net, the kernel moves the receive and transmit queues' frames
 * while the device is DRIVER_OK with its link up (virtio_net_vhost.c); the control queue, the
 * configuration and the offloads stay here, and the receive filter is not applied (the guest's
 * own stack filters, as with QEMU's vhost-net).
 *
 * Threading: queue kicks and frames from the backend run on the event loop, register accesses on
 * vCPU threads; all with the device lock (vn->vd.lock) held. The backend is called with the lock
 * held and never calls back into the device from inside those calls (net/net.h).
 */
#ifndef BAREIRON_DEV_VIRTIO_VIRTIO_NET_H
#define BAREIRON_DEV_VIRTIO_VIRTIO_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/compiler.h"
#include "dev/virtio/virtio.h"

struct net_backend;
struct net_hdr;
struct gmem;

#define VIRTIO_NET_QUEUE_SIZE 256u
/* Queues with one pair (receive 0, transmit 1, control 2); with N pairs (MQ) receive 2k,
 * transmit 2k + 1 for pair k, and control 2N. */
#define VIRTIO_NET_NUM_QUEUES 3u
#define VIRTIO_NET_MAX_PAIRS 8u
/* MAC filter entries kept per table (unicast, multicast); more means "accept all of them". */
#define VIRTIO_NET_MAC_TABLE_ENTRIES 64u

struct virtio_net_config {
    uint8_t mac[6];
    uint16_t status;
    uint16_t max_virtqueue_pairs;
};
#define VIRTIO_NET_CONFIG_SIZE 10u
_Static_assert(sizeof(struct virtio_net_config) == VIRTIO_NET_CONFIG_SIZE, "virtio_net_config");
_Static_assert(offsetof(struct virtio_net_config, status) == VIRTIO_NET_CFG_STATUS, "status");

/* What the adapter moved (query-net), since the monitor started: a new machine's device (guest
 * reboot) goes on from the backend's net_dev_counters. Dropped frames are also counted in errors
 * when the guest broke a rule (bad header, bad length, buffer too small). */
struct virtio_net_stats {
    uint64_t rx_packets, rx_bytes; /* frames given to the guest */
    uint64_t tx_packets, tx_bytes; /* frames from the guest handed to the backend */
    uint64_t rx_dropped;           /* for the guest, not delivered */
    uint64_t tx_dropped;           /* from the guest, not sent */
    uint64_t errors;               /* guest mistakes, and control commands answered ERR */
};

struct virtio_net_filter {
    bool is_promisc;
    bool is_allmulti;
    unsigned nuni, nmulti;
    bool is_uni_overflow, is_multi_overflow;
    uint8_t uni[VIRTIO_NET_MAC_TABLE_ENTRIES][6];
    uint8_t multi[VIRTIO_NET_MAC_TABLE_ENTRIES][6];
};

struct virtio_net {
    struct virtio_dev vd;   /* first: container_of */
    struct net_backend *be; /* not owned */
    struct virtio_net_config cfg;
    struct virtio_net_stats stats;
    struct virtio_net_filter filter;
    uint32_t guest_offloads; /* NET_OFFLOAD_* the guest takes in received frames now */
    bool is_rx_waiting;      /* a frame found no buffer: tell the backend at the next RX kick */
    bool is_vhost;           /* the backend's in-kernel data path has the RX and TX rings */
    unsigned npairs;         /* queue pairs offered (the backend's queues); MQ when > 1 */
    unsigned cur_pairs;      /* pairs the driver uses (VQ_PAIRS_SET); 1 until it says */
    /* receive: the chains one frame is spread over (MRG_RXBUF), pushed together */
    uint16_t rx_heads[VIRTIO_NET_QUEUE_SIZE];
    uint32_t rx_lens[VIRTIO_NET_QUEUE_SIZE];
    struct iovec tx_iov[VIRTQ_CHAIN_MAX]; /* transmit: the frame's pieces */
};

/*
 * Creates a virtio-net device with MAC (mac) over backend (be) (not owned) and guest memory
 * (gm), and attaches itself to the backend (net_backend_attach). Returns 0 and (*out), or
 * -ENOMEM. Its counters start from the backend's dev_counters. Put it on the PCI bus with
 * virtio_pci_plug().
 */
MUST_CHECK int virtio_net_create(const uint8_t mac[6], struct net_backend *be,
                                 const struct gmem *gm, struct virtio_net **out);
/* Stops vhost, leaves its counters with the backend, detaches from it and frees (vn). NULL allowed.
 * Event loop thread. */
void virtio_net_destroy(struct virtio_net *vn);

/* Copies the counters of (vn) into (out). Any thread; takes vd->lock. */
void virtio_net_get_stats(struct virtio_net *vn, struct virtio_net_stats *out);
/* The backend's link state changed: updates the status field and interrupts the guest. Takes
 * vd->lock. */
void virtio_net_link_changed(struct virtio_net *vn);

/* The device's parts (vd->lock held). */
/* net_rx_fn: a frame for the guest (virtio_net_rx.c). Takes vd->lock. */
int virtio_net_receive(void *opaque, unsigned queue, const struct net_hdr *hdr, const void *frame,
                       size_t len);
/* The control queue's index (2 * npairs). */
static inline unsigned virtio_net_ctrl_queue(const struct virtio_net *vn)
{
    return 2 * vn->npairs;
}
/* Transmit queue (qidx) kick (virtio_net_tx.c). */
void virtio_net_process_tx(struct virtio_net *vn, unsigned qidx);
/* Control queue kick (virtio_net_ctrl.c). */
void virtio_net_process_ctrl(struct virtio_net *vn);
/* Hands the receive and transmit rings to the backend's in-kernel data path when it has one,
 * the link is up and the queues are live (virtio_net_vhost.c). Returns 0 (started, or not
 * wanted, or fell back to the monitor's path) or -errno when the backend requires it (vhost=on)
 * and it could not start. */
int virtio_net_vhost_start(struct virtio_net *vn);
/* Takes the rings back (no-op when vhost is not running). */
void virtio_net_vhost_stop(struct virtio_net *vn);
struct sf_buf;
struct sf_in;
/*
 * Saved state (virtio_net_state.c), after virtio_pci_save/load in the adapter's section.
 * quiesce stops vhost so the rings' indices are the device's again (-EBUSY when the kernel
 * kept chains; the adapter then stays on the monitor's path until the next reset or link
 * change). save writes the configuration, the control queue's state and the counters; load
 * checks and applies them (0 or -EINVAL / -ENOMEM). Each takes vd->lock.
 */
MUST_CHECK int virtio_net_quiesce(struct virtio_net *vn);
void virtio_net_save(struct virtio_net *vn, struct sf_buf *b);
MUST_CHECK int virtio_net_load(struct virtio_net *vn, struct sf_in *in);
/* After a load, once the machine runs: raises the receive and transmit queues' interrupts once
 * (one vhost raised before the save may be missing from it). */
void virtio_net_resume(struct virtio_net *vn);
/* Resets the receive filter to accept everything (device reset). */
void virtio_net_filter_reset(struct virtio_net_filter *f);
/* The NET_OFFLOAD_* set of virtio-net guest feature bits (GUEST_CSUM, GUEST_TSO4...). */
uint32_t virtio_net_guest_offloads(uint64_t features);

#endif

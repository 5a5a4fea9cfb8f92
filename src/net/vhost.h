/* SPDX-License-Identifier: MIT */
/*
 * vhost-net (the ioctls of linux/vhost.h, served by the kernel's drivers/vhost/net.c): the kernel
 * moves a tap's frames to and from a virtio-net device's receive and transmit rings itself, woken
 * by the queues' kick eventfds and signalling their call eventfds. One vhost-net descriptor serves
 * one queue pair. Internal to net/ (tap.c).
 *
 *   net_vhost_open    open /dev/vhost-net, VHOST_SET_OWNER, VHOST_GET_FEATURES
 *   net_vhost_start   VHOST_SET_FEATURES, VHOST_SET_MEM_TABLE, per ring VHOST_SET_VRING_NUM,
 *                     _BASE, _ADDR, _KICK, _CALL, _ERR, then VHOST_NET_SET_BACKEND (the tap)
 *   net_vhost_stop    VHOST_NET_SET_BACKEND -1, VHOST_GET_VRING_BASE per ring
 */
#ifndef BAREIRON_NET_VHOST_H
#define BAREIRON_NET_VHOST_H

#include <stdint.h>

#include "base/compiler.h"
#include "base/error.h"
#include "net/net.h"

/* The virtio ring features a device may use with vhost-net (the rest are the tap's offloads). */
#define NET_VHOST_RING_FEATURES                                                                    \
    ((1ULL << 15) /* MRG_RXBUF */ | (1ULL << 28) /* INDIRECT_DESC */ |                             \
     (1ULL << 29) /* EVENT_IDX */ | (1ULL << 32) /* VERSION_1 */)

/* Opens /dev/vhost-net and becomes its owner. Returns the descriptor and the ring features it
 * handles in (*features), or -errno with (err) set (naming /dev/vhost-net). */
MUST_CHECK int net_vhost_open(uint64_t *features, struct error *err);
/* Starts (fd) on (s) with tap descriptor (tap_fd); the kernel signals eventfd (err_fd) (-1:
 * none) when it finds a ring broken. Returns 0 or -errno (logged); on failure nothing is left
 * running. */
MUST_CHECK int net_vhost_start(int fd, int tap_fd, int err_fd, const struct net_vhost_setup *s);
/* Detaches the tap and reads back where each ring stopped. */
void net_vhost_stop(int fd, uint16_t last_avail[2]);

#endif

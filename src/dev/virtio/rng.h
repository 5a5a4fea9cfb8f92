/* SPDX-License-Identifier: MIT */
/*
 * virtio-rng, the entropy device (virtio 1.2 §5.4): one request queue whose device-writable
 * buffers are filled from getrandom(2). No feature bits, no configuration.
 */
#ifndef BAREIRON_DEV_VIRTIO_RNG_H
#define BAREIRON_DEV_VIRTIO_RNG_H

#include "base/compiler.h"
#include "dev/virtio/virtio.h"

struct gmem;

/* At most this many bytes per request, so one request never stalls the event loop. */
#define VIRTIO_RNG_MAX_BYTES 65536u

struct virtio_rng {
    struct virtio_dev vd; /* first: container_of */
};

/* Creates the device over guest memory (gm). Returns 0 and (*out), or -ENOMEM. Put it on the
 * PCI bus with virtio_pci_plug(host, &rng->vd, loop, slot, &vp). */
MUST_CHECK int virtio_rng_create(const struct gmem *gm, struct virtio_rng **out);
/* Frees (rng). NULL allowed. */
void virtio_rng_destroy(struct virtio_rng *rng);

#endif

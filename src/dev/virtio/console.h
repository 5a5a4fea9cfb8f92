/* SPDX-License-Identifier: MIT */
/*
 * virtio-console with a single port (virtio 1.2 §5.3, no MULTIPORT): receiveq (queue 0)
 * carries input to the guest, transmitq (queue 1) carries the guest's output to a sink
 * callback. VIRTIO_CONSOLE_F_EMERG_WRITE is offered: a write to emerg_wr prints one character.
 *
 * Configuration layout (§5.3.4): cols u16 | rows u16 | max_nr_ports u32 | emerg_wr u32.
 *
 * Input that arrives while the guest has posted no receive buffers waits in a small buffer
 * (VIRTIO_CONSOLE_INBUF bytes) and is delivered when buffers appear.
 */
#ifndef BAREIRON_DEV_VIRTIO_CONSOLE_H
#define BAREIRON_DEV_VIRTIO_CONSOLE_H

#include <stddef.h>
#include <stdint.h>

#include "base/compiler.h"
#include "dev/virtio/virtio.h"

struct gmem;

#define VIRTIO_CONSOLE_RX 0
#define VIRTIO_CONSOLE_TX 1
#define VIRTIO_CONSOLE_INBUF 4096u

struct virtio_console_config {
    uint16_t cols;
    uint16_t rows;
    uint32_t max_nr_ports;
    uint32_t emerg_wr;
};
_Static_assert(sizeof(struct virtio_console_config) == 12, "virtio_console_config is 12 bytes");

/* Receives guest output. Called with the device lock held: must not call back into the
 * console; should not block for long (copy or write to a non-blocking fd). */
typedef void (*virtio_console_sink_fn)(void *opaque, const void *buf, size_t len);

struct virtio_console {
    struct virtio_dev vd; /* first: container_of */
    virtio_console_sink_fn sink;
    void *sink_opaque;
    struct virtio_console_config cfg;
    uint8_t inbuf[VIRTIO_CONSOLE_INBUF];
    size_t inbuf_len;
};

/* Creates the console over guest memory (gm), output to (sink)(opaque) (NULL: discarded).
 * Returns 0 and (*out), or -ENOMEM. Plug it with virtio_pci_plug(host, &vc->vd, ...). */
MUST_CHECK int virtio_console_create(const struct gmem *gm, virtio_console_sink_fn sink,
                                     void *opaque, struct virtio_console **out);
/* Frees (vc). NULL allowed. */
void virtio_console_destroy(struct virtio_console *vc);
/*
 * Feeds (len) input bytes to the guest. Takes the device lock; any thread (typically the event
 * loop reading stdin). Returns the number of bytes accepted (delivered or buffered); the rest
 * did not fit and the caller may retry later.
 */
size_t virtio_console_input(struct virtio_console *vc, const void *buf, size_t len);

struct sf_buf;
struct sf_in;
/* Saved state of the port (after virtio_pci_save's): the input buffered but not yet taken by
 * the guest. Load returns 0 or -EINVAL (longer than the buffer). */
void virtio_console_save(struct virtio_console *vc, struct sf_buf *b);
MUST_CHECK int virtio_console_load(struct virtio_console *vc, struct sf_in *in);

#endif

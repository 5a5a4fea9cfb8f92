/* SPDX-License-Identifier: MIT */
/*
 * The virtio device core (virtio 1.2 §2.1 status, §2.2 feature bits, §2.5 config space,
 * §3.1 initialization, §2.4 reset), independent of the transport. A device (blk, rng,
 * console) embeds struct virtio_dev, implements struct virtio_dev_ops, and on a kick calls
 * virtio_queue_drain() with a handler that gets one chain at a time (virtio_chain.h: a reader
 * and a writer over checked guest memory). The core pops, pushes and notifies; devices never
 * see ring indices. Any ring violation becomes DEVICE_NEEDS_RESET plus a configuration-change
 * interrupt instead of failing the monitor. The transport (virtio_pci.c)
 * decodes registers into the virtio_* calls below and delivers interrupts.
 *
 * Device status state machine (§2.1, §3.1.1); the driver only ever adds bits:
 *
 *   0 --ACK--> ACKNOWLEDGE --DRIVER--> DRIVER --FEATURES_OK (accepted)--> FEATURES_OK
 *     --queues set up, DRIVER_OK (activate ok)--> DRIVER_OK
 *   any --device error--> |NEEDS_RESET (+ config interrupt)     any --driver--> |FAILED
 *   any --write 0--> reset pending --last in-flight request completed--> 0
 *
 * Reset with requests in flight: writing 0 calls ops->reset and starts a new epoch; status
 * keeps reading non-zero until every request begun under the old epoch has ended (the driver
 * must wait for 0, §4.1.4.3.2), and completions of old requests are dropped, not pushed.
 *
 * Locking: one mutex per device (vd->lock) taken by the transport's register handlers (vCPU
 * threads), by queue kicks and by device completions (event loop). Every function below must
 * be called with vd->lock held, except virtio_dev_init/fini/set_transport (before the guest
 * runs) and virtio_queue_kick, which takes the lock itself.
 */
#ifndef BAREIRON_DEV_VIRTIO_VIRTIO_H
#define BAREIRON_DEV_VIRTIO_VIRTIO_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/compiler.h"
#include "dev/virtio/virtio_chain.h"
#include "dev/virtio/virtio_spec.h"
#include "dev/virtio/virtq.h"

struct gmem;

/* What the core offers on top of a device's own features. */
#define VIRTIO_CORE_FEATURES                                                                       \
    (VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_RING_INDIRECT_DESC) |                    \
     VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX))

#define VIRTIO_MAX_QUEUES 64u
/* Chains a device processes per kick before it yields the event loop (virtio_queue_defer). */
#define VIRTIO_QUEUE_BUDGET 256u

struct virtio_dev;

/* What a device implements. All callbacks run with vd->lock held. */
struct virtio_dev_ops {
    uint64_t features; /* device-specific feature bits offered (core bits are added) */
    size_t config_size;
    /* Copies config bytes [off, off+len) into (buf); the core has checked the range. */
    void (*read_config)(struct virtio_dev *vd, size_t off, void *buf, size_t len);
    /* Optional: the driver wrote config bytes [off, off+len). */
    void (*write_config)(struct virtio_dev *vd, size_t off, const void *buf, size_t len);
    /* DRIVER_OK was set; vd->driver_features are final. Returns 0 or -errno (NEEDS_RESET). */
    int (*activate)(struct virtio_dev *vd);
    /* The driver wrote 0 to status: drop device state; requests in flight finish later. */
    void (*reset)(struct virtio_dev *vd);
    /* Queue (qidx) was kicked; it is enabled and the device is DRIVER_OK and not broken. */
    void (*queue_notify)(struct virtio_dev *vd, unsigned qidx);
};

/* How the core reaches its transport. Called with vd->lock held. */
struct virtio_transport_ops {
    /* Signal (vector) (VIRTIO_MSI_NO_VECTOR when none); vd->isr has the reason bits set. */
    void (*interrupt)(struct virtio_dev *vd, uint16_t vector);
    /* Optional: run queue (qidx)'s kick again later (from the event loop), because the device
     * stopped processing it after VIRTIO_QUEUE_BUDGET chains. */
    void (*defer)(struct virtio_dev *vd, unsigned qidx);
    /* Optional: the device was reset (lower INTx, forget vectors state). */
    void (*reset)(struct virtio_dev *vd);
    /*
     * Optional, for a device whose queues an in-kernel backend serves (vhost-net): hands queue
     * (qidx)'s kick eventfd over (is_on: the transport stops reading it; a notification
     * written through the register handler still signals it) or takes it back. Returns the
     * eventfd or -errno.
     */
    int (*host_notifier)(struct virtio_dev *vd, unsigned qidx, bool is_on);
    /* Optional: an eventfd that raises queue (qidx)'s interrupt when signalled (the transport
     * owns it). Returns it or -errno. */
    int (*guest_notifier)(struct virtio_dev *vd, unsigned qidx);
};

struct virtio_queue {
    struct virtq vq;
    uint16_t max_size;
    uint16_t size; /* as written by the driver; checked when enabled */
    uint16_t msix_vector;
    bool is_enabled;
    uint64_t desc_gpa;
    uint64_t driver_gpa; /* avail ring */
    uint64_t device_gpa; /* used ring */
};

struct virtio_dev {
    pthread_mutex_t lock;
    const char *name; /* for logs, static */
    uint32_t device_id;
    const struct virtio_dev_ops *ops;
    const struct gmem *gm;
    const struct virtio_transport_ops *transport;
    void *transport_opaque;
    uint64_t host_features; /* offered: ops->features | VIRTIO_CORE_FEATURES (device may edit
                               before the transport is attached) */
    uint64_t driver_features;
    uint32_t device_feature_select;
    uint32_t driver_feature_select;
    uint8_t status;
    uint8_t isr;
    uint8_t config_generation;
    uint16_t config_msix_vector;
    bool is_reset_pending;
    uint32_t epoch;    /* incremented at every reset */
    unsigned inflight; /* requests begun and not yet ended (all epochs) */
    unsigned num_queues;
    struct virtio_queue *queues;
    struct iovec *chain_iov; /* VIRTQ_CHAIN_MAX entries: the chain being handled */
};

/*
 * Initialises (vd) (caller-owned, usually embedded in the device) with (num_queues) queues
 * of at most (queue_max_size) entries each, device type (device_id) and (ops) (kept by
 * pointer). Returns 0, -EINVAL or -ENOMEM.
 */
MUST_CHECK int virtio_dev_init(struct virtio_dev *vd, const char *name, uint32_t device_id,
                               const struct virtio_dev_ops *ops, const struct gmem *gm,
                               unsigned num_queues, uint16_t queue_max_size);
/* Frees what virtio_dev_init allocated. */
void virtio_dev_fini(struct virtio_dev *vd);
/* Attaches the transport (before the guest runs). */
void virtio_dev_set_transport(struct virtio_dev *vd, const struct virtio_transport_ops *ops,
                              void *opaque);

/* Register-level entry points used by the transport (vd->lock held). */
uint8_t virtio_read_status(struct virtio_dev *vd);
void virtio_write_status(struct virtio_dev *vd, uint8_t val);
/* 32-bit window (sel) of the offered / accepted features. */
uint32_t virtio_read_device_features(struct virtio_dev *vd);
uint32_t virtio_read_driver_features(struct virtio_dev *vd);
void virtio_write_driver_features(struct virtio_dev *vd, uint32_t val);
/* Config space access of (len) 1, 2, 4 or 8 bytes at (off); out of range reads give 0. */
uint64_t virtio_read_config(struct virtio_dev *vd, size_t off, unsigned len);
void virtio_write_config(struct virtio_dev *vd, size_t off, uint64_t val, unsigned len);
/* Enables queue (qidx) with its programmed size/addresses (queue_enable = 1). Bad values put
 * the device in NEEDS_RESET. */
void virtio_queue_enable(struct virtio_dev *vd, unsigned qidx);
/* True when queue registers may be written now (FEATURES_OK set, DRIVER_OK not yet). */
bool virtio_queue_is_writable(const struct virtio_dev *vd);
/* Reads and clears the ISR (§4.1.4.5). */
uint8_t virtio_read_isr(struct virtio_dev *vd);

/* True when queue (qidx) may be used now: it exists and is enabled, the device is DRIVER_OK,
 * not broken (NEEDS_RESET, FAILED) and not resetting. */
bool virtio_queue_is_live(const struct virtio_dev *vd, unsigned qidx);

/*
 * A kick of queue (qidx) arrived (ioeventfd or notify register). Takes vd->lock. Ignored
 * (rate-limited log) for a bad index, a disabled queue, before DRIVER_OK, while broken or
 * resetting; otherwise calls ops->queue_notify.
 */
void virtio_queue_kick(struct virtio_dev *vd, unsigned qidx);

/* What a chain handler did with (c) (see virtio_queue_drain). */
enum virtio_chain_ret {
    VIRTIO_CHAIN_DONE,   /* answered: push it now with virtio_chain_used_len(c) */
    VIRTIO_CHAIN_KEPT,   /* a backend has it: the device pushes it later (virtio_queue_push) */
    VIRTIO_CHAIN_BROKEN, /* the handler called virtio_set_needs_reset: stop draining */
};
/* Handles one chain popped from queue (qidx). vd->lock held. */
typedef enum virtio_chain_ret (*virtio_chain_fn)(struct virtio_dev *vd, unsigned qidx,
                                                 struct virtio_chain *c);

/*
 * Handles the chains available on queue (qidx) with (fn) (a device's queue_notify calls it).
 * Kicks are suppressed meanwhile; when the ring is empty they are enabled again and the ring
 * looked at once more, so no buffer added in between is missed (Firecracker's
 * pop_or_enable_notification). After VIRTIO_QUEUE_BUDGET chains the rest is deferred
 * (virtio_queue_defer). One queue interrupt at the end covers every chain pushed, and only if
 * the driver asked for it (EVENT_IDX, NO_INTERRUPT). A ring violation puts the device in
 * NEEDS_RESET and ends the drain. vd->lock held.
 */
void virtio_queue_drain(struct virtio_dev *vd, unsigned qidx, virtio_chain_fn fn);
/*
 * Pops the next chain of queue (qidx) into (c), for a device that fills buffers when it has
 * data rather than on a kick (console input). (c) points into the device's chain storage until
 * the next pop. Returns 1, 0 (empty) or -EIO (the device is now in NEEDS_RESET). vd->lock held.
 */
MUST_CHECK int virtio_queue_pop_chain(struct virtio_dev *vd, unsigned qidx, struct virtio_chain *c);
/* Lower level pop into (elem): 1, 0 (empty) or -EIO (device now broken). vd->lock held. */
MUST_CHECK int virtio_queue_pop(struct virtio_dev *vd, unsigned qidx, struct virtq_elem *elem);
/* Returns chain (head) to the driver with (len) bytes written. A push to a queue stopped by a
 * reset is dropped. */
void virtio_queue_push(struct virtio_dev *vd, unsigned qidx, uint16_t head, uint32_t len);
/* Marks the buffers every live queue offers for writing (virtq_mark_writable), for a live
 * save. Takes vd->lock. */
void virtio_mark_writable(struct virtio_dev *vd);
/* Gives the last (n) chains popped from queue (qidx) and not pushed back to the ring
 * (virtq_unpop). vd->lock held. */
void virtio_queue_unpop(struct virtio_dev *vd, unsigned qidx, unsigned n);
/* Asks for a kick when the driver adds one more chain to queue (qidx); returns true when some
 * were added meanwhile (virtq_enable_notify_more). vd->lock held. */
bool virtio_queue_enable_notify_more(struct virtio_dev *vd, unsigned qidx);
/* Sends the queue interrupt if the driver wants one (after one or more pushes). */
void virtio_queue_notify(struct virtio_dev *vd, unsigned qidx);
/* Raises queue (qidx)'s interrupt whatever the ring's suppression says (an in-kernel backend
 * already asked the ring). */
void virtio_queue_interrupt(struct virtio_dev *vd, unsigned qidx);
/* The device used up its budget on queue (qidx): the transport kicks it again later, so a
 * driver that keeps adding buffers cannot hold the event loop. */
void virtio_queue_defer(struct virtio_dev *vd, unsigned qidx);
/* Puts the device in DEVICE_NEEDS_RESET (§2.1.2) and raises a config interrupt if live. */
void virtio_set_needs_reset(struct virtio_dev *vd, const char *why);
/* Device config changed: bumps config_generation and raises the config interrupt. */
void virtio_notify_config(struct virtio_dev *vd);
/* True when feature (bit) was negotiated. */
static inline bool virtio_has_feature(const struct virtio_dev *vd, unsigned bit)
{
    return (vd->driver_features & VIRTIO_BIT(bit)) != 0;
}

/*
 * Request accounting across resets. begin returns the current epoch; end returns true when
 * the request is still current (the device may push it), false when a reset happened since
 * (drop it). When a pending reset's last request ends, the reset completes.
 */
uint32_t virtio_req_begin(struct virtio_dev *vd);
bool virtio_req_end(struct virtio_dev *vd, uint32_t epoch);

struct sf_buf;
struct sf_in;
/*
 * Saved state of the core (virtio_state.c, docs/virtio.md "Saved state"): registers, features
 * and every queue with its indices. Save returns -EBUSY while a request is in flight or a
 * reset is pending (quiesce first). Load checks everything as guest writes are checked (queue
 * vectors and the config vector against (nvec), the transport's vector count), re-validates
 * the rings against guest memory, refuses a live queue with chains popped but not used, and
 * calls ops->activate when the state is DRIVER_OK. Returns 0 or -EINVAL. vd->lock held.
 */
MUST_CHECK int virtio_dev_save(struct virtio_dev *vd, struct sf_buf *b);
MUST_CHECK int virtio_dev_load(struct virtio_dev *vd, struct sf_in *in, uint16_t nvec);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * virtio-console, single port (virtio 1.2 §5.3): transmitq chains go to the sink, input is
 * copied into receiveq buffers (§5.3.6), and emerg_wr (§5.3.4, VIRTIO_CONSOLE_F_EMERG_WRITE)
 * prints one character without any queue.
 */
#include "dev/virtio/console.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define LOG_TAG "virtio-console"
#include "base/log.h"

static void emit(struct virtio_console *vc, const void *buf, size_t len)
{
    if (vc->sink != NULL && len > 0)
        vc->sink(vc->sink_opaque, buf, len);
}

static bool is_live(struct virtio_console *vc, unsigned qidx)
{
    const struct virtio_dev *vd = &vc->vd;
    return (vd->status & VIRTIO_STATUS_DRIVER_OK) &&
           !(vd->status & (VIRTIO_STATUS_NEEDS_RESET | VIRTIO_STATUS_FAILED)) &&
           !vd->is_reset_pending && vd->queues[qidx].is_enabled;
}

/* Moves buffered input into receive buffers. vd->lock held. */
static void deliver(struct virtio_console *vc)
{
    struct virtio_dev *vd = &vc->vd;
    struct virtq_elem e = {.iov = vc->iov, .iov_cap = VIRTQ_CHAIN_MAX};
    bool has_pushed = false;

    if (!is_live(vc, VIRTIO_CONSOLE_RX))
        return;
    while (vc->inbuf_len > 0 && virtio_queue_pop(vd, VIRTIO_CONSOLE_RX, &e) > 0) {
        size_t done = 0;
        /* Every chain must take at least a byte, so this loop ends with the input (§5.3.6.1:
         * receive buffers are device-writable); a guest could otherwise keep it spinning. */
        if (e.n_writable == 0) {
            virtio_set_needs_reset(vd, "receive buffer without device-writable space");
            break;
        }
        for (unsigned i = e.n_readable; i < e.n_readable + e.n_writable; i++) {
            size_t take = MIN(e.iov[i].iov_len, vc->inbuf_len - done);
            memcpy(e.iov[i].iov_base, vc->inbuf + done, take);
            done += take;
        }
        memmove(vc->inbuf, vc->inbuf + done, vc->inbuf_len - done);
        vc->inbuf_len -= done;
        virtio_queue_push(vd, VIRTIO_CONSOLE_RX, e.head, (uint32_t)done);
        has_pushed = true;
    }
    if (has_pushed)
        virtio_queue_notify(vd, VIRTIO_CONSOLE_RX);
}

static void transmit(struct virtio_console *vc)
{
    struct virtio_dev *vd = &vc->vd;
    struct virtq *vq = &vd->queues[VIRTIO_CONSOLE_TX].vq;
    struct virtq_elem e = {.iov = vc->iov, .iov_cap = VIRTQ_CHAIN_MAX};
    uint16_t used_before = vq->used_idx;
    int ret;

    unsigned budget = VIRTIO_QUEUE_BUDGET;

    do {
        virtq_disable_notify(vq);
        while ((ret = virtio_queue_pop(vd, VIRTIO_CONSOLE_TX, &e)) > 0) {
            for (unsigned i = 0; i < e.n_readable; i++)
                emit(vc, e.iov[i].iov_base, e.iov[i].iov_len);
            virtio_queue_push(vd, VIRTIO_CONSOLE_TX, e.head, 0);
            if (--budget == 0) {
                virtio_queue_defer(vd, VIRTIO_CONSOLE_TX);
                break;
            }
        }
        if (ret < 0)
            return;
    } while (budget > 0 && virtq_enable_notify(vq));
    if (vq->used_idx != used_before)
        virtio_queue_notify(vd, VIRTIO_CONSOLE_TX);
}

static void console_queue_notify(struct virtio_dev *vd, unsigned qidx)
{
    struct virtio_console *vc = container_of(vd, struct virtio_console, vd);
    if (qidx == VIRTIO_CONSOLE_TX)
        transmit(vc);
    else
        deliver(vc);
}

static void console_read_config(struct virtio_dev *vd, size_t off, void *buf, size_t len)
{
    struct virtio_console *vc = container_of(vd, struct virtio_console, vd);
    memcpy(buf, (const uint8_t *)&vc->cfg + off, len);
}

static void console_write_config(struct virtio_dev *vd, size_t off, const void *buf, size_t len)
{
    struct virtio_console *vc = container_of(vd, struct virtio_console, vd);
    uint8_t ch;

    if (off != offsetof(struct virtio_console_config, emerg_wr))
        return;
    (void)len;
    memcpy(&ch, buf, 1); /* the character is the low byte (little endian) */
    emit(vc, &ch, 1);
}

static const struct virtio_dev_ops console_ops = {
    .features = VIRTIO_BIT(VIRTIO_CONSOLE_F_EMERG_WRITE),
    .config_size = sizeof(struct virtio_console_config),
    .read_config = console_read_config,
    .write_config = console_write_config,
    .queue_notify = console_queue_notify,
};

int virtio_console_create(const struct gmem *gm, virtio_console_sink_fn sink, void *opaque,
                          struct virtio_console **out)
{
    struct virtio_console *vc = calloc(1, sizeof(*vc));
    int ret;

    if (vc == NULL)
        return -ENOMEM;
    ret = virtio_dev_init(&vc->vd, "virtio-console", VIRTIO_ID_CONSOLE, &console_ops, gm, 2, 256);
    if (ret < 0) {
        free(vc);
        return ret;
    }
    vc->sink = sink;
    vc->sink_opaque = opaque;
    vc->cfg.max_nr_ports = 1;
    *out = vc;
    return 0;
}

void virtio_console_destroy(struct virtio_console *vc)
{
    if (vc == NULL)
        return;
    virtio_dev_fini(&vc->vd);
    free(vc);
}

size_t virtio_console_input(struct virtio_console *vc, const void *buf, size_t len)
{
    size_t take;

    pthread_mutex_lock(&vc->vd.lock);
    take = MIN(len, sizeof(vc->inbuf) - vc->inbuf_len);
    memcpy(vc->inbuf + vc->inbuf_len, buf, take);
    vc->inbuf_len += take;
    deliver(vc);
    pthread_mutex_unlock(&vc->vd.lock);
    return take;
}

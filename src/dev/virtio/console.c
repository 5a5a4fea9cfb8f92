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
#include "base/statefile.h"

static void emit(struct virtio_console *vc, const void *buf, size_t len)
{
    if (vc->sink != NULL && len > 0)
        vc->sink(vc->sink_opaque, buf, len);
}

/* Moves buffered input into receive buffers. vd->lock held. */
static void deliver(struct virtio_console *vc)
{
    struct virtio_dev *vd = &vc->vd;
    struct virtio_chain c;
    bool has_pushed = false;

    if (!virtio_queue_is_live(vd, VIRTIO_CONSOLE_RX))
        return;
    while (vc->inbuf_len > 0 && virtio_queue_pop_chain(vd, VIRTIO_CONSOLE_RX, &c) > 0) {
        size_t done;
        /* Every chain must take at least a byte, so this loop ends with the input (§5.3.6.1:
         * receive buffers are device-writable); a guest could otherwise keep it spinning. */
        if (iov_iter_left(&c.writer) == 0) {
            virtio_set_needs_reset(vd, "receive buffer without device-writable space");
            break;
        }
        done = iov_iter_from_buf(&c.writer, vc->inbuf, vc->inbuf_len);
        memmove(vc->inbuf, vc->inbuf + done, vc->inbuf_len - done);
        vc->inbuf_len -= done;
        virtio_queue_push(vd, VIRTIO_CONSOLE_RX, c.head, virtio_chain_used_len(&c));
        has_pushed = true;
    }
    if (has_pushed)
        virtio_queue_notify(vd, VIRTIO_CONSOLE_RX);
}

/* Sends one transmitq chain's readable bytes to the sink. */
static enum virtio_chain_ret transmit(struct virtio_dev *vd, unsigned qidx, struct virtio_chain *c)
{
    struct virtio_console *vc = container_of(vd, struct virtio_console, vd);
    struct iovec piece;
    (void)qidx;

    while (iov_iter_peek(&c->reader, UINT64_MAX, &piece)) {
        emit(vc, piece.iov_base, piece.iov_len);
        iov_iter_advance(&c->reader, piece.iov_len);
    }
    return VIRTIO_CHAIN_DONE; /* used length 0: nothing written */
}

static void console_queue_notify(struct virtio_dev *vd, unsigned qidx)
{
    struct virtio_console *vc = container_of(vd, struct virtio_console, vd);
    if (qidx == VIRTIO_CONSOLE_TX)
        virtio_queue_drain(vd, qidx, transmit);
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

void virtio_console_save(struct virtio_console *vc, struct sf_buf *b)
{
    pthread_mutex_lock(&vc->vd.lock);
    sf_put_u32(b, (uint32_t)vc->inbuf_len);
    sf_put_bytes(b, vc->inbuf, vc->inbuf_len);
    pthread_mutex_unlock(&vc->vd.lock);
}

int virtio_console_load(struct virtio_console *vc, struct sf_in *in)
{
    uint32_t len = sf_get_u32(in);

    if (in->bad || len > sizeof(vc->inbuf))
        return -EINVAL;
    pthread_mutex_lock(&vc->vd.lock);
    sf_get_bytes(in, vc->inbuf, len);
    vc->inbuf_len = in->bad ? 0 : len;
    pthread_mutex_unlock(&vc->vd.lock);
    return in->bad ? -EINVAL : 0;
}

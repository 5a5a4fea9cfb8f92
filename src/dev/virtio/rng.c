/* SPDX-License-Identifier: MIT */
/*
 * virtio-rng (virtio 1.2 §5.4): fills each chain's device-writable buffers with getrandom(2)
 * bytes (non-blocking; a short read returns fewer bytes, which the spec allows, §5.4.6).
 */
#include "dev/virtio/rng.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/random.h>

#define LOG_TAG "virtio-rng"
#include "base/log.h"

/* Fills the writable part of (c) with at most VIRTIO_RNG_MAX_BYTES random bytes. */
static enum virtio_chain_ret rng_fill(struct virtio_dev *vd, unsigned qidx, struct virtio_chain *c)
{
    struct iovec piece;
    (void)vd;
    (void)qidx;

    while (c->writer.done < VIRTIO_RNG_MAX_BYTES &&
           iov_iter_peek(&c->writer, VIRTIO_RNG_MAX_BYTES - c->writer.done, &piece)) {
        ssize_t got = getrandom(piece.iov_base, piece.iov_len, GRND_NONBLOCK);
        if (got <= 0) {
            log_ratelimited(LOG_WARN, "getrandom failed: %d", got < 0 ? -errno : 0);
            break;
        }
        iov_iter_advance(&c->writer, (uint64_t)got);
        if ((size_t)got < piece.iov_len)
            break;
    }
    return VIRTIO_CHAIN_DONE;
}

static void rng_queue_notify(struct virtio_dev *vd, unsigned qidx)
{
    virtio_queue_drain(vd, qidx, rng_fill);
}

static const struct virtio_dev_ops rng_ops = {
    .features = 0,
    .config_size = 0,
    .queue_notify = rng_queue_notify,
};

int virtio_rng_create(const struct gmem *gm, struct virtio_rng **out)
{
    struct virtio_rng *rng = calloc(1, sizeof(*rng));
    int ret;

    if (rng == NULL)
        return -ENOMEM;
    ret = virtio_dev_init(&rng->vd, "virtio-rng", VIRTIO_ID_RNG, &rng_ops, gm, 1, 256);
    if (ret < 0) {
        free(rng);
        return ret;
    }
    *out = rng;
    return 0;
}

void virtio_rng_destroy(struct virtio_rng *rng)
{
    if (rng == NULL)
        return;
    virtio_dev_fini(&rng->vd);
    free(rng);
}

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

/* Fills the writable part of (e); returns the bytes written. */
static uint32_t fill(const struct virtq_elem *e)
{
    uint32_t total = 0;
    for (unsigned i = e->n_readable; i < e->n_readable + e->n_writable; i++) {
        size_t want = MIN(e->iov[i].iov_len, (size_t)(VIRTIO_RNG_MAX_BYTES - total));
        ssize_t got;
        if (want == 0)
            break;
        got = getrandom(e->iov[i].iov_base, want, GRND_NONBLOCK);
        if (got <= 0) {
            log_ratelimited(LOG_WARN, "getrandom failed: %d", got < 0 ? -errno : 0);
            break;
        }
        total += (uint32_t)got;
        if ((size_t)got < want)
            break;
    }
    return total;
}

static void rng_queue_notify(struct virtio_dev *vd, unsigned qidx)
{
    struct virtio_rng *rng = container_of(vd, struct virtio_rng, vd);
    struct virtq_elem e = {.iov = rng->iov, .iov_cap = VIRTQ_CHAIN_MAX};
    struct virtq *vq = &vd->queues[qidx].vq;
    uint16_t used_before = vq->used_idx;
    int ret;

    unsigned budget = VIRTIO_QUEUE_BUDGET;

    do {
        virtq_disable_notify(vq);
        while ((ret = virtio_queue_pop(vd, qidx, &e)) > 0) {
            virtio_queue_push(vd, qidx, e.head, fill(&e));
            if (--budget == 0) {
                virtio_queue_defer(vd, qidx);
                break;
            }
        }
        if (ret < 0)
            return;
    } while (budget > 0 && virtq_enable_notify(vq));
    if (vq->used_idx != used_before)
        virtio_queue_notify(vd, qidx);
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

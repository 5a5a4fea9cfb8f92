/* SPDX-License-Identifier: MIT */
/*
 * virtio-blk device setup (virtio 1.2 §5.2): feature selection from the backend (§5.2.3),
 * the configuration layout (§5.2.4) and the device ops. Request handling is in virtio_blk_req.c.
 */
#include "dev/virtio/virtio_blk.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define LOG_TAG "virtio-blk"
#include "base/log.h"
#include "base/statefile.h"
#include "block/blk.h"

static void virtio_blk_read_config(struct virtio_dev *vd, size_t off, void *buf, size_t len)
{
    struct virtio_blk *vb = container_of(vd, struct virtio_blk, vd);
    /* the core checked [off, off+len) against config_size */
    memcpy(buf, (const uint8_t *)&vb->cfg + off, len);
}

static void virtio_blk_queue_notify(struct virtio_dev *vd, unsigned qidx)
{
    virtio_blk_process_queue(container_of(vd, struct virtio_blk, vd), qidx);
}

static void virtio_blk_reset(struct virtio_dev *vd)
{
    /* Nothing to drop: requests in flight complete under the old epoch and are discarded. */
    log_debug("%s: reset", vd->name);
}

static const struct virtio_dev_ops virtio_blk_ops = {
    .features = VIRTIO_BIT(VIRTIO_BLK_F_SIZE_MAX) | VIRTIO_BIT(VIRTIO_BLK_F_SEG_MAX) |
                VIRTIO_BIT(VIRTIO_BLK_F_BLK_SIZE) | VIRTIO_BIT(VIRTIO_BLK_F_FLUSH),
    .config_size = VIRTIO_BLK_CONFIG_SIZE,
    .read_config = virtio_blk_read_config,
    .reset = virtio_blk_reset,
    .queue_notify = virtio_blk_queue_notify,
};

static void fill_config(struct virtio_blk *vb, uint64_t size_bytes, unsigned num_queues)
{
    struct virtio_blk_config *c = &vb->cfg;

    memset(c, 0, sizeof(*c));
    c->capacity = size_bytes / VIRTIO_BLK_SECTOR_SIZE;
    c->size_max = VIRTIO_BLK_SIZE_MAX;
    c->seg_max = VIRTIO_BLK_SEG_MAX;
    c->blk_size = VIRTIO_BLK_SECTOR_SIZE;
    c->num_queues = (uint16_t)num_queues;
    if (vb->is_readonly)
        return;
    c->max_discard_sectors = VIRTIO_BLK_MAX_DISCARD_SECTORS;
    c->max_discard_seg = VIRTIO_BLK_MAX_DISCARD_SEG;
    c->discard_sector_alignment = 1;
    c->max_write_zeroes_sectors = VIRTIO_BLK_MAX_DISCARD_SECTORS;
    c->max_write_zeroes_seg = VIRTIO_BLK_MAX_DISCARD_SEG;
    c->write_zeroes_may_unmap = 1;
}

int virtio_blk_create(const struct virtio_blk_opts *opts, struct blk *disk, const struct gmem *gm,
                      struct virtio_blk **out)
{
    unsigned nq = opts->num_queues ? opts->num_queues : 1;
    struct virtio_blk *vb;
    int ret;

    if (nq > VIRTIO_BLK_MAX_QUEUES)
        return -EINVAL;
    vb = calloc(1, sizeof(*vb));
    if (vb == NULL)
        return -ENOMEM;
    ret = virtio_dev_init(&vb->vd, "virtio-blk", VIRTIO_ID_BLOCK, &virtio_blk_ops, gm, nq,
                          VIRTIO_BLK_QUEUE_SIZE);
    if (ret < 0)
        goto err_free;
    ret = -ENOMEM;
    vb->queue_inflight = calloc(nq, sizeof(*vb->queue_inflight));
    if (vb->queue_inflight == NULL)
        goto err_fini;
    vb->disk = disk;
    vb->is_readonly = opts->is_readonly || blk_is_readonly(disk);
    if (opts->serial != NULL)
        /* not NUL-terminated when 20 bytes long (§5.2.6) */
        memcpy(vb->serial, opts->serial, strnlen(opts->serial, sizeof(vb->serial)));
    fill_config(vb, blk_size_bytes(disk), nq);
    if (vb->is_readonly)
        vb->vd.host_features |= VIRTIO_BIT(VIRTIO_BLK_F_RO);
    else
        vb->vd.host_features |=
            VIRTIO_BIT(VIRTIO_BLK_F_DISCARD) | VIRTIO_BIT(VIRTIO_BLK_F_WRITE_ZEROES);
    if (nq > 1)
        vb->vd.host_features |= VIRTIO_BIT(VIRTIO_BLK_F_MQ);
    *out = vb;
    return 0;

err_fini:
    free(vb->queue_inflight);
    virtio_dev_fini(&vb->vd);
err_free:
    free(vb);
    return ret;
}

void virtio_blk_destroy(struct virtio_blk *vb)
{
    if (vb == NULL)
        return;
    if (vb->vd.inflight > 0)
        log_error("%s: destroyed with %u requests in flight", vb->vd.name, vb->vd.inflight);
    free(vb->queue_inflight);
    virtio_dev_fini(&vb->vd);
    free(vb);
}

/* The configuration comes from the disk and the options: a restore must find the same. */
void virtio_blk_save(struct virtio_blk *vb, struct sf_buf *b)
{
    pthread_mutex_lock(&vb->vd.lock);
    sf_put_bytes(b, &vb->cfg, VIRTIO_BLK_CONFIG_SIZE);
    pthread_mutex_unlock(&vb->vd.lock);
}

int virtio_blk_load(struct virtio_blk *vb, struct sf_in *in)
{
    uint8_t cfg[VIRTIO_BLK_CONFIG_SIZE];

    sf_get_bytes(in, cfg, sizeof(cfg));
    if (in->bad || memcmp(cfg, &vb->cfg, sizeof(cfg)) != 0) {
        log_error("%s: the saved configuration (disk size, queues, read-only) differs",
                  vb->vd.name);
        return -EINVAL;
    }
    return 0;
}

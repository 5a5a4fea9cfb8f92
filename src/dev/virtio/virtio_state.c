/* SPDX-License-Identifier: MIT */
/*
 * Saved state of the virtio device core (docs/virtio.md "Saved state"): registers, feature
 * negotiation and every queue with its ring addresses and indices. A device is saved only
 * when quiescent: no request in flight and no reset pending, so every chain popped has been
 * pushed (used_idx == last_avail_idx on every live queue) and the used rings in guest memory
 * are complete. The file is hostile: load checks every value the way a guest write would be
 * checked (status reachable, features offered, vectors mappable, ring addresses inside RAM
 * and aligned through virtq_init) before anything is applied.
 *
 *   u64 host_features (must match)  u64 driver_features  u32 device/driver feature select
 *   u8 status  u8 isr  u8 config_generation  u16 config vector  u16 queues (must match)
 *   per queue: u16 size  u16 vector  u8 flags  u64 desc, avail, used
 *              u16 last_avail_idx  u16 used_idx  u16 signalled_used
 */
#include "dev/virtio/virtio.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define LOG_TAG "virtio"
#include "base/log.h"
#include "base/statefile.h"

#define QF_ENABLED 1u
#define QF_BROKEN 2u
#define QF_SIGNALLED_VALID 4u
#define QF_KNOWN (QF_ENABLED | QF_BROKEN | QF_SIGNALLED_VALID)

#define STATUS_KNOWN                                                                               \
    (VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |                \
     VIRTIO_STATUS_DRIVER_OK | VIRTIO_STATUS_FAILED | VIRTIO_STATUS_NEEDS_RESET)
#define ISR_KNOWN 3u /* queue interrupt, configuration change */

int virtio_dev_save(struct virtio_dev *vd, struct sf_buf *b)
{
    if (vd->inflight > 0 || vd->is_reset_pending)
        return -EBUSY;
    sf_put_u64(b, vd->host_features);
    sf_put_u64(b, vd->driver_features);
    sf_put_u32(b, vd->device_feature_select);
    sf_put_u32(b, vd->driver_feature_select);
    sf_put_u8(b, vd->status);
    sf_put_u8(b, vd->isr);
    sf_put_u8(b, vd->config_generation);
    sf_put_u16(b, vd->config_msix_vector);
    sf_put_u16(b, (uint16_t)vd->num_queues);
    for (unsigned i = 0; i < vd->num_queues; i++) {
        const struct virtio_queue *q = &vd->queues[i];
        unsigned flags = (q->is_enabled ? QF_ENABLED : 0) | (q->vq.is_broken ? QF_BROKEN : 0) |
                         (q->vq.is_signalled_valid ? QF_SIGNALLED_VALID : 0);
        sf_put_u16(b, q->size);
        sf_put_u16(b, q->msix_vector);
        sf_put_u8(b, (uint8_t)flags);
        sf_put_u64(b, q->desc_gpa);
        sf_put_u64(b, q->driver_gpa);
        sf_put_u64(b, q->device_gpa);
        sf_put_u16(b, q->vq.last_avail_idx);
        sf_put_u16(b, q->vq.used_idx);
        sf_put_u16(b, q->vq.signalled_used);
    }
    return 0;
}

/* A status the driver could have reached (§3.1.1): each step needs the one before. */
static bool status_is_reachable(const struct virtio_dev *vd, uint8_t s, uint64_t drv)
{
    if (s & ~STATUS_KNOWN)
        return false;
    if ((s & VIRTIO_STATUS_DRIVER) && !(s & VIRTIO_STATUS_ACKNOWLEDGE))
        return false;
    if ((s & VIRTIO_STATUS_FEATURES_OK) &&
        (!(s & VIRTIO_STATUS_DRIVER) || (drv & ~vd->host_features) ||
         !(drv & VIRTIO_BIT(VIRTIO_F_VERSION_1))))
        return false;
    return !(s & VIRTIO_STATUS_DRIVER_OK) || (s & VIRTIO_STATUS_FEATURES_OK);
}

static bool vector_ok(uint16_t v, uint16_t nvec)
{
    return v < nvec || v == VIRTIO_MSI_NO_VECTOR;
}

/* One queue's registers, read into (q) (a scratch copy) and checked. */
static int load_queue(struct virtio_dev *vd, struct sf_in *in, struct virtio_queue *q,
                      uint16_t nvec, uint16_t idx[3], unsigned *flags)
{
    q->size = sf_get_u16(in);
    q->msix_vector = sf_get_u16(in);
    *flags = sf_get_u8(in);
    q->desc_gpa = sf_get_u64(in);
    q->driver_gpa = sf_get_u64(in);
    q->device_gpa = sf_get_u64(in);
    for (unsigned k = 0; k < 3; k++)
        idx[k] = sf_get_u16(in);
    if (in->bad || (*flags & ~QF_KNOWN) || !vector_ok(q->msix_vector, nvec))
        return -EINVAL;
    if (!(*flags & QF_ENABLED))
        return *flags == 0 ? 0 : -EINVAL;
    /* enabled: only after FEATURES_OK, with a size the device accepts */
    if (!(vd->status & VIRTIO_STATUS_FEATURES_OK) || q->size > q->max_size ||
        !virtq_size_is_valid(q->size))
        return -EINVAL;
    /* quiescent at save: every chain popped was returned */
    if (!(*flags & QF_BROKEN) && idx[0] != idx[1])
        return -EINVAL;
    return 0;
}

/* Sets queue (q) up from its checked registers, as virtio_queue_enable does. */
static int enable_queue(struct virtio_dev *vd, struct virtio_queue *q, const uint16_t idx[3],
                        unsigned flags)
{
    int ret;
    virtq_reset(&q->vq);
    if (!(flags & QF_ENABLED))
        return 0;
    ret = virtq_init(&q->vq, vd->gm, q->size, q->desc_gpa, q->driver_gpa, q->device_gpa,
                     virtio_has_feature(vd, VIRTIO_F_RING_EVENT_IDX),
                     virtio_has_feature(vd, VIRTIO_F_RING_INDIRECT_DESC));
    if (ret < 0 && !(flags & QF_BROKEN))
        return ret; /* rings outside guest RAM or misaligned */
    q->vq.last_avail_idx = idx[0];
    q->vq.used_idx = idx[1];
    q->vq.signalled_used = idx[2];
    q->vq.is_signalled_valid = (flags & QF_SIGNALLED_VALID) != 0;
    q->vq.is_broken = (flags & QF_BROKEN) != 0;
    q->is_enabled = true;
    return 0;
}

static int load_queues(struct virtio_dev *vd, struct sf_in *in, uint16_t nvec)
{
    struct virtio_queue *qs = calloc(vd->num_queues, sizeof(*qs));
    uint16_t(*idx)[3] = calloc(vd->num_queues, sizeof(*idx));
    unsigned *flags = calloc(vd->num_queues, sizeof(*flags));
    int ret = qs == NULL || idx == NULL || flags == NULL ? -ENOMEM : 0;

    for (unsigned i = 0; ret == 0 && i < vd->num_queues; i++) {
        qs[i].max_size = vd->queues[i].max_size;
        ret = load_queue(vd, in, &qs[i], nvec, idx[i], &flags[i]);
    }
    if (ret == 0 && in->bad)
        ret = -EINVAL;
    for (unsigned i = 0; ret == 0 && i < vd->num_queues; i++) {
        struct virtio_queue *q = &vd->queues[i];
        q->size = qs[i].size;
        q->msix_vector = qs[i].msix_vector;
        q->desc_gpa = qs[i].desc_gpa;
        q->driver_gpa = qs[i].driver_gpa;
        q->device_gpa = qs[i].device_gpa;
        q->is_enabled = false;
        ret = enable_queue(vd, q, idx[i], flags[i]);
    }
    free(qs);
    free(idx);
    free(flags);
    return ret;
}

int virtio_dev_load(struct virtio_dev *vd, struct sf_in *in, uint16_t nvec)
{
    uint64_t host = sf_get_u64(in), drv = sf_get_u64(in);
    uint32_t dsel = sf_get_u32(in), gsel = sf_get_u32(in);
    uint8_t status = sf_get_u8(in), isr = sf_get_u8(in), gen = sf_get_u8(in);
    uint16_t cvec = sf_get_u16(in), nq = sf_get_u16(in);
    int ret;

    if (in->bad || host != vd->host_features || nq != vd->num_queues || (isr & ~ISR_KNOWN) ||
        !vector_ok(cvec, nvec) || vd->inflight > 0 || vd->is_reset_pending)
        return -EINVAL;
    if (!status_is_reachable(vd, status, drv))
        return -EINVAL;
    vd->driver_features = drv;
    vd->device_feature_select = dsel;
    vd->driver_feature_select = gsel;
    vd->status = status;
    vd->isr = isr;
    vd->config_generation = gen;
    vd->config_msix_vector = cvec;
    ret = load_queues(vd, in, nvec);
    if (ret < 0)
        return ret;
    /* what the guest's DRIVER_OK did on the device */
    if ((status & VIRTIO_STATUS_DRIVER_OK) &&
        !(status & (VIRTIO_STATUS_FAILED | VIRTIO_STATUS_NEEDS_RESET)) && vd->ops->activate != NULL)
        return vd->ops->activate(vd) < 0 ? -EINVAL : 0;
    return 0;
}

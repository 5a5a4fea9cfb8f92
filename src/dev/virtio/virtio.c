/* SPDX-License-Identifier: MIT */
/*
 * The virtio device core: device status state machine (virtio 1.2 §2.1, §3.1.1), feature
 * negotiation (§2.2, §6), device configuration space with its generation counter (§2.5),
 * queue enabling and the reset protocol (§2.4, §4.1.4.3.2) with requests still in flight,
 * and the drain loop every device runs on a kick (pop, handle, push, one notification, §2.7.7,
 * §2.7.10).
 */
#include "dev/virtio/virtio.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define LOG_TAG "virtio"
#include "base/ckd.h"
#include "base/log.h"

int virtio_dev_init(struct virtio_dev *vd, const char *name, uint32_t device_id,
                    const struct virtio_dev_ops *ops, const struct gmem *gm, unsigned num_queues,
                    uint16_t queue_max_size)
{
    int ret;

    if (num_queues == 0 || num_queues > VIRTIO_MAX_QUEUES || !virtq_size_is_valid(queue_max_size))
        return -EINVAL;
    memset(vd, 0, sizeof(*vd));
    vd->queues = calloc(num_queues, sizeof(*vd->queues));
    vd->chain_iov = calloc(VIRTQ_CHAIN_MAX, sizeof(*vd->chain_iov));
    ret = -ENOMEM;
    if (vd->queues == NULL || vd->chain_iov == NULL)
        goto err_free_queues;
    ret = -pthread_mutex_init(&vd->lock, NULL);
    if (ret < 0)
        goto err_free_queues;
    vd->name = name;
    vd->device_id = device_id;
    vd->ops = ops;
    vd->gm = gm;
    vd->num_queues = num_queues;
    vd->host_features = ops->features | VIRTIO_CORE_FEATURES;
    vd->config_msix_vector = VIRTIO_MSI_NO_VECTOR;
    for (unsigned i = 0; i < num_queues; i++) {
        vd->queues[i].max_size = queue_max_size;
        vd->queues[i].size = queue_max_size;
        vd->queues[i].msix_vector = VIRTIO_MSI_NO_VECTOR;
    }
    return 0;

err_free_queues:
    free(vd->chain_iov);
    free(vd->queues);
    vd->chain_iov = NULL;
    vd->queues = NULL;
    return ret;
}

void virtio_dev_fini(struct virtio_dev *vd)
{
    if (vd->queues == NULL)
        return;
    pthread_mutex_destroy(&vd->lock);
    free(vd->chain_iov);
    free(vd->queues);
    vd->chain_iov = NULL;
    vd->queues = NULL;
}

void virtio_dev_set_transport(struct virtio_dev *vd, const struct virtio_transport_ops *ops,
                              void *opaque)
{
    vd->transport = ops;
    vd->transport_opaque = opaque;
}

static void raise_vector(struct virtio_dev *vd, uint16_t vector)
{
    if (vd->transport != NULL && vd->transport->interrupt != NULL)
        vd->transport->interrupt(vd, vector);
}

/* Called with vd->lock held. Brings registers back to their power-on values. */
static void finish_reset(struct virtio_dev *vd)
{
    vd->is_reset_pending = false;
    vd->status = 0;
    vd->isr = 0;
    vd->driver_features = 0;
    vd->device_feature_select = 0;
    vd->driver_feature_select = 0;
    vd->config_msix_vector = VIRTIO_MSI_NO_VECTOR;
    for (unsigned i = 0; i < vd->num_queues; i++) {
        struct virtio_queue *q = &vd->queues[i];
        virtq_reset(&q->vq);
        q->size = q->max_size;
        q->msix_vector = VIRTIO_MSI_NO_VECTOR;
        q->is_enabled = false;
        q->desc_gpa = q->driver_gpa = q->device_gpa = 0;
    }
    if (vd->transport != NULL && vd->transport->reset != NULL)
        vd->transport->reset(vd);
}

/* 0 written to status: §2.4. */
static void start_reset(struct virtio_dev *vd)
{
    vd->epoch++;
    if (vd->ops->reset != NULL)
        vd->ops->reset(vd);
    /* Stop the queues at once: nothing more is popped or pushed for the old driver. */
    for (unsigned i = 0; i < vd->num_queues; i++) {
        virtq_reset(&vd->queues[i].vq);
        vd->queues[i].is_enabled = false;
    }
    if (vd->inflight > 0) {
        log_debug("%s: reset waits for %u requests in flight", vd->name, vd->inflight);
        vd->is_reset_pending = true;
        return;
    }
    finish_reset(vd);
}

uint8_t virtio_read_status(struct virtio_dev *vd)
{
    return vd->status;
}

/* FEATURES_OK requested: accept only offered features, and VERSION_1 is mandatory (§6.1). */
static bool features_acceptable(struct virtio_dev *vd)
{
    if (vd->driver_features & ~vd->host_features) {
        log_ratelimited(LOG_WARN, "%s: driver accepted features not offered (%#llx)", vd->name,
                        (unsigned long long)(vd->driver_features & ~vd->host_features));
        return false;
    }
    if (!(vd->driver_features & VIRTIO_BIT(VIRTIO_F_VERSION_1))) {
        log_ratelimited(LOG_WARN, "%s: driver did not accept VIRTIO_F_VERSION_1", vd->name);
        return false;
    }
    return true;
}

static void set_driver_ok(struct virtio_dev *vd)
{
    int ret;

    vd->status |= VIRTIO_STATUS_DRIVER_OK;
    ret = vd->ops->activate != NULL ? vd->ops->activate(vd) : 0;
    if (ret < 0)
        virtio_set_needs_reset(vd, "device activation failed");
}

void virtio_write_status(struct virtio_dev *vd, uint8_t val)
{
    uint8_t old = vd->status, added;

    if (val == 0) {
        if (!vd->is_reset_pending)
            start_reset(vd);
        return;
    }
    if (vd->is_reset_pending) {
        log_ratelimited(LOG_WARN, "%s: status write while a reset is pending", vd->name);
        return;
    }
    /* NEEDS_RESET belongs to the device; the driver never clears bits except by reset. */
    val = (uint8_t)((val & ~VIRTIO_STATUS_NEEDS_RESET) | (old & VIRTIO_STATUS_NEEDS_RESET));
    if ((val & old) != old) {
        log_ratelimited(LOG_WARN, "%s: driver cleared status bits (%#x -> %#x)", vd->name, old,
                        val);
        val |= old;
    }
    added = val & (uint8_t)~old;
    if (added & VIRTIO_STATUS_FAILED)
        vd->status |= VIRTIO_STATUS_FAILED;
    if (added & VIRTIO_STATUS_ACKNOWLEDGE)
        vd->status |= VIRTIO_STATUS_ACKNOWLEDGE;
    if ((added & VIRTIO_STATUS_DRIVER) && (vd->status & VIRTIO_STATUS_ACKNOWLEDGE))
        vd->status |= VIRTIO_STATUS_DRIVER;
    if ((added & VIRTIO_STATUS_FEATURES_OK) && (vd->status & VIRTIO_STATUS_DRIVER) &&
        features_acceptable(vd))
        vd->status |= VIRTIO_STATUS_FEATURES_OK;
    if ((added & VIRTIO_STATUS_DRIVER_OK) && (vd->status & VIRTIO_STATUS_FEATURES_OK) &&
        !(vd->status & (VIRTIO_STATUS_FAILED | VIRTIO_STATUS_NEEDS_RESET)))
        set_driver_ok(vd);
    if ((vd->status | VIRTIO_STATUS_NEEDS_RESET) != (val | VIRTIO_STATUS_NEEDS_RESET))
        log_ratelimited(LOG_WARN, "%s: status %#x refused, now %#x", vd->name, val, vd->status);
}

uint32_t virtio_read_device_features(struct virtio_dev *vd)
{
    if (vd->device_feature_select > 1)
        return 0;
    return (uint32_t)(vd->host_features >> (32 * vd->device_feature_select));
}

uint32_t virtio_read_driver_features(struct virtio_dev *vd)
{
    if (vd->driver_feature_select > 1)
        return 0;
    return (uint32_t)(vd->driver_features >> (32 * vd->driver_feature_select));
}

void virtio_write_driver_features(struct virtio_dev *vd, uint32_t val)
{
    unsigned shift;

    /* Only between DRIVER and FEATURES_OK (§3.1.1 steps 4-5). */
    if (!(vd->status & VIRTIO_STATUS_DRIVER) || (vd->status & VIRTIO_STATUS_FEATURES_OK)) {
        log_ratelimited(LOG_WARN, "%s: driver_feature write in status %#x ignored", vd->name,
                        vd->status);
        return;
    }
    if (vd->driver_feature_select > 1)
        return;
    shift = 32 * vd->driver_feature_select;
    vd->driver_features &= ~(0xffffffffULL << shift);
    vd->driver_features |= (uint64_t)val << shift;
}

static bool config_range_ok(struct virtio_dev *vd, size_t off, unsigned len)
{
    if ((len != 1 && len != 2 && len != 4 && len != 8) ||
        range_outside(off, len, vd->ops->config_size)) {
        log_ratelimited(LOG_DEBUG, "%s: config access %u@%zu outside %zu bytes", vd->name, len, off,
                        vd->ops->config_size);
        return false;
    }
    return true;
}

uint64_t virtio_read_config(struct virtio_dev *vd, size_t off, unsigned len)
{
    uint64_t val = 0;

    if (!config_range_ok(vd, off, len) || vd->ops->read_config == NULL)
        return 0;
    vd->ops->read_config(vd, off, &val, len);
    return val;
}

void virtio_write_config(struct virtio_dev *vd, size_t off, uint64_t val, unsigned len)
{
    if (!config_range_ok(vd, off, len))
        return;
    if (vd->ops->write_config == NULL) {
        log_ratelimited(LOG_DEBUG, "%s: write to read-only config at %zu", vd->name, off);
        return;
    }
    vd->ops->write_config(vd, off, &val, len);
}

bool virtio_queue_is_writable(const struct virtio_dev *vd)
{
    return (vd->status & VIRTIO_STATUS_FEATURES_OK) && !(vd->status & VIRTIO_STATUS_DRIVER_OK) &&
           !vd->is_reset_pending;
}

void virtio_queue_enable(struct virtio_dev *vd, unsigned qidx)
{
    struct virtio_queue *q;
    int ret;

    if (qidx >= vd->num_queues || !virtio_queue_is_writable(vd))
        return;
    q = &vd->queues[qidx];
    if (q->size > q->max_size || !virtq_size_is_valid(q->size)) {
        virtio_set_needs_reset(vd, "queue size 0, not a power of two or too large");
        return;
    }
    ret = virtq_init(&q->vq, vd->gm, q->size, q->desc_gpa, q->driver_gpa, q->device_gpa,
                     virtio_has_feature(vd, VIRTIO_F_RING_EVENT_IDX),
                     virtio_has_feature(vd, VIRTIO_F_RING_INDIRECT_DESC));
    if (ret < 0) {
        virtio_set_needs_reset(vd, "queue rings outside guest RAM or misaligned");
        return;
    }
    q->is_enabled = true;
}

uint8_t virtio_read_isr(struct virtio_dev *vd)
{
    uint8_t isr = vd->isr;
    vd->isr = 0;
    return isr;
}

bool virtio_queue_is_live(const struct virtio_dev *vd, unsigned qidx)
{
    return qidx < vd->num_queues && (vd->status & VIRTIO_STATUS_DRIVER_OK) &&
           !(vd->status & (VIRTIO_STATUS_NEEDS_RESET | VIRTIO_STATUS_FAILED)) &&
           !vd->is_reset_pending && vd->queues[qidx].is_enabled;
}

void virtio_queue_kick(struct virtio_dev *vd, unsigned qidx)
{
    pthread_mutex_lock(&vd->lock);
    if (qidx >= vd->num_queues) {
        log_ratelimited(LOG_WARN, "%s: notify for queue %u of %u", vd->name, qidx, vd->num_queues);
    } else if (!virtio_queue_is_live(vd, qidx)) {
        log_ratelimited(LOG_DEBUG, "%s: notify for queue %u ignored (status %#x)", vd->name, qidx,
                        vd->status);
    } else if (vd->ops->queue_notify != NULL) {
        vd->ops->queue_notify(vd, qidx);
    }
    pthread_mutex_unlock(&vd->lock);
}

int virtio_queue_pop(struct virtio_dev *vd, unsigned qidx, struct virtq_elem *elem)
{
    int ret;

    if (qidx >= vd->num_queues || (vd->status & VIRTIO_STATUS_NEEDS_RESET))
        return -EIO;
    ret = virtq_pop(&vd->queues[qidx].vq, elem);
    if (ret < 0)
        virtio_set_needs_reset(vd, "bad descriptor chain");
    return ret;
}

int virtio_queue_pop_chain(struct virtio_dev *vd, unsigned qidx, struct virtio_chain *c)
{
    struct virtq_elem e = {.iov = vd->chain_iov, .iov_cap = VIRTQ_CHAIN_MAX};
    int ret = virtio_queue_pop(vd, qidx, &e);

    if (ret > 0)
        virtio_chain_init(c, &e);
    return ret;
}

void virtio_queue_drain(struct virtio_dev *vd, unsigned qidx, virtio_chain_fn fn)
{
    struct virtq *vq;
    struct virtio_chain c;
    unsigned budget = VIRTIO_QUEUE_BUDGET;
    uint16_t used_before;
    int ret;

    if (qidx >= vd->num_queues)
        return;
    vq = &vd->queues[qidx].vq;
    used_before = vq->used_idx;
    do {
        virtq_disable_notify(vq);
        while ((ret = virtio_queue_pop_chain(vd, qidx, &c)) > 0) {
            enum virtio_chain_ret r = fn(vd, qidx, &c);
            if (r == VIRTIO_CHAIN_BROKEN)
                return;
            if (r == VIRTIO_CHAIN_DONE)
                virtio_queue_push(vd, qidx, c.head, virtio_chain_used_len(&c));
            if (--budget == 0) {
                virtio_queue_defer(vd, qidx); /* notifications stay off meanwhile */
                break;
            }
        }
        if (ret < 0)
            return;
    } while (budget > 0 && virtq_enable_notify(vq));
    /* Pushes made by the handler itself count too: one interrupt for the whole batch. */
    if (vq->used_idx != used_before)
        virtio_queue_notify(vd, qidx);
}

void virtio_mark_writable(struct virtio_dev *vd)
{
    pthread_mutex_lock(&vd->lock);
    for (unsigned q = 0; q < vd->num_queues; q++)
        virtq_mark_writable(&vd->queues[q].vq);
    pthread_mutex_unlock(&vd->lock);
}

void virtio_queue_unpop(struct virtio_dev *vd, unsigned qidx, unsigned n)
{
    if (qidx < vd->num_queues && n <= vd->queues[qidx].vq.size)
        virtq_unpop(&vd->queues[qidx].vq, (uint16_t)n);
}

bool virtio_queue_enable_notify_more(struct virtio_dev *vd, unsigned qidx)
{
    return qidx < vd->num_queues && virtq_enable_notify_more(&vd->queues[qidx].vq);
}

void virtio_queue_push(struct virtio_dev *vd, unsigned qidx, uint16_t head, uint32_t len)
{
    if (qidx >= vd->num_queues)
        return;
    if (virtq_push(&vd->queues[qidx].vq, head, len) < 0)
        log_ratelimited(LOG_DEBUG, "%s: push to stopped queue %u dropped", vd->name, qidx);
}

void virtio_queue_notify(struct virtio_dev *vd, unsigned qidx)
{
    if (qidx >= vd->num_queues || !virtq_needs_notify(&vd->queues[qidx].vq))
        return;
    vd->isr |= VIRTIO_ISR_QUEUE;
    raise_vector(vd, vd->queues[qidx].msix_vector);
}

void virtio_queue_interrupt(struct virtio_dev *vd, unsigned qidx)
{
    if (qidx >= vd->num_queues || !virtio_queue_is_live(vd, qidx))
        return;
    vd->isr |= VIRTIO_ISR_QUEUE;
    raise_vector(vd, vd->queues[qidx].msix_vector);
}

void virtio_queue_defer(struct virtio_dev *vd, unsigned qidx)
{
    if (vd->transport != NULL && vd->transport->defer != NULL)
        vd->transport->defer(vd, qidx);
}

void virtio_set_needs_reset(struct virtio_dev *vd, const char *why)
{
    if (vd->status & VIRTIO_STATUS_NEEDS_RESET)
        return;
    log_ratelimited(LOG_WARN, "%s: device needs reset: %s", vd->name, why);
    vd->status |= VIRTIO_STATUS_NEEDS_RESET;
    if (vd->status & VIRTIO_STATUS_DRIVER_OK)
        virtio_notify_config(vd);
}

void virtio_notify_config(struct virtio_dev *vd)
{
    vd->config_generation++;
    vd->isr |= VIRTIO_ISR_CONFIG;
    raise_vector(vd, vd->config_msix_vector);
}

uint32_t virtio_req_begin(struct virtio_dev *vd)
{
    vd->inflight++;
    return vd->epoch;
}

bool virtio_req_end(struct virtio_dev *vd, uint32_t epoch)
{
    if (vd->inflight == 0)
        PANIC("%s: request ended twice", vd->name);
    vd->inflight--;
    if (vd->is_reset_pending && vd->inflight == 0)
        finish_reset(vd);
    return epoch == vd->epoch;
}

/* SPDX-License-Identifier: MIT */
/* Driver-side split virtqueue for tests (see guest_ring.h), over gmem_read/gmem_write. */
#include "guest_ring.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/gmem.h"
#include "dev/virtio/virtio.h"

static void wr(struct guest_ring *r, uint64_t gpa, const void *buf, size_t len)
{
    if (gmem_write(r->gm, gpa, buf, len) != 0)
        abort();
}

static void rd(struct guest_ring *r, uint64_t gpa, void *buf, size_t len)
{
    if (gmem_read(r->gm, gpa, buf, len) != 0)
        abort();
}

void guest_ring_init(struct guest_ring *r, struct gmem *gm, uint64_t base_gpa, uint16_t size)
{
    uint64_t avail_bytes = 6 + 2ULL * size, used_bytes = 6 + 8ULL * size;
    void *zero;

    memset(r, 0, sizeof(*r));
    r->gm = gm;
    r->size = size;
    r->desc_gpa = base_gpa;
    r->avail_gpa = base_gpa + 16ULL * size;
    r->used_gpa = (r->avail_gpa + avail_bytes + 3) & ~3ULL;
    zero = calloc(1, r->used_gpa + used_bytes - base_gpa);
    if (zero == NULL)
        abort();
    wr(r, base_gpa, zero, r->used_gpa + used_bytes - base_gpa);
    free(zero);
}

void guest_ring_desc(struct guest_ring *r, uint64_t table_gpa, unsigned i, uint64_t addr,
                     uint32_t len, uint16_t flags, uint16_t next)
{
    uint8_t d[16];
    memcpy(d, &addr, 8);
    memcpy(d + 8, &len, 4);
    memcpy(d + 12, &flags, 2);
    memcpy(d + 14, &next, 2);
    wr(r, (table_gpa ? table_gpa : r->desc_gpa) + 16ULL * i, d, sizeof(d));
}

void guest_ring_publish(struct guest_ring *r, uint16_t head)
{
    wr(r, r->avail_gpa + 4 + 2ULL * (r->avail_idx % r->size), &head, 2);
    r->avail_idx++;
    wr(r, r->avail_gpa + 2, &r->avail_idx, 2);
}

void guest_ring_set_avail_idx(struct guest_ring *r, uint16_t idx)
{
    r->avail_idx = idx;
    wr(r, r->avail_gpa + 2, &idx, 2);
}

void guest_ring_set_avail_flags(struct guest_ring *r, uint16_t flags)
{
    wr(r, r->avail_gpa, &flags, 2);
}

void guest_ring_set_used_event(struct guest_ring *r, uint16_t val)
{
    wr(r, r->avail_gpa + 4 + 2ULL * r->size, &val, 2);
}

uint16_t guest_ring_used_idx(struct guest_ring *r)
{
    uint16_t v;
    rd(r, r->used_gpa + 2, &v, 2);
    return v;
}

uint16_t guest_ring_used_flags(struct guest_ring *r)
{
    uint16_t v;
    rd(r, r->used_gpa, &v, 2);
    return v;
}

uint16_t guest_ring_avail_event(struct guest_ring *r)
{
    uint16_t v;
    rd(r, r->used_gpa + 4 + 8ULL * r->size, &v, 2);
    return v;
}

bool guest_ring_used(struct guest_ring *r, uint32_t *id, uint32_t *len)
{
    uint64_t gpa;
    if (guest_ring_used_idx(r) == r->used_seen)
        return false;
    gpa = r->used_gpa + 4 + 8ULL * (r->used_seen % r->size);
    rd(r, gpa, id, 4);
    rd(r, gpa + 4, len, 4);
    r->used_seen++;
    return true;
}

uint8_t guest_dev_bringup(struct virtio_dev *vd, struct guest_ring *rings, unsigned n,
                          uint64_t features)
{
    uint8_t st;

    pthread_mutex_lock(&vd->lock);
    virtio_write_status(vd, VIRTIO_STATUS_ACKNOWLEDGE);
    virtio_write_status(vd, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    vd->driver_feature_select = 0;
    virtio_write_driver_features(vd, (uint32_t)features);
    vd->driver_feature_select = 1;
    virtio_write_driver_features(vd, (uint32_t)(features >> 32));
    virtio_write_status(vd, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
                                VIRTIO_STATUS_FEATURES_OK);
    for (unsigned i = 0; i < n && i < vd->num_queues; i++) {
        struct virtio_queue *q = &vd->queues[i];
        q->size = rings[i].size;
        q->desc_gpa = rings[i].desc_gpa;
        q->driver_gpa = rings[i].avail_gpa;
        q->device_gpa = rings[i].used_gpa;
        virtio_queue_enable(vd, i);
    }
    virtio_write_status(vd, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
                                VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
    st = virtio_read_status(vd);
    pthread_mutex_unlock(&vd->lock);
    return st;
}

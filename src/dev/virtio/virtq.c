/* SPDX-License-Identifier: MIT */
/*
 * Split virtqueue walker (virtio 1.2 §2.7): ring validation at setup, descriptor chains
 * (§2.7.5), indirect tables (§2.7.5.3), used ring updates (§2.7.8) and notification
 * suppression with and without VIRTIO_F_EVENT_IDX (§2.7.7, §2.7.10). Guest memory is reached
 * only through gmem_ptr(); every index, address and length read from the rings is checked.
 */
#include "dev/virtio/virtq.h"

#include <errno.h>
#include <string.h>

#define LOG_TAG "virtq"
#include "base/ckd.h"
#include "base/log.h"
#include "core/gmem.h"

static int broken(struct virtq *vq, const char *why)
{
    log_ratelimited(LOG_WARN, "queue broken: %s", why);
    vq->is_broken = true;
    return -EIO;
}

/* Ring memory must be one piece of RAM, aligned as §2.7 demands. */
static void *ring_ptr(const struct gmem *gm, uint64_t gpa, uint64_t len, uint64_t align)
{
    if (gpa & (align - 1))
        return NULL;
    return gmem_ptr(gm, gpa, len);
}

int virtq_init(struct virtq *vq, const struct gmem *gm, uint16_t size, uint64_t desc_gpa,
               uint64_t avail_gpa, uint64_t used_gpa, bool has_event_idx, bool has_indirect)
{
    virtq_reset(vq);
    vq->gm = gm;
    if (!virtq_size_is_valid(size))
        return vq->is_broken = true, -EINVAL;
    vq->size = size;
    vq->has_event_idx = has_event_idx;
    vq->has_indirect = has_indirect;
    vq->desc = ring_ptr(gm, desc_gpa, 16ULL * size, 16);
    vq->avail = ring_ptr(gm, avail_gpa, 6ULL + 2ULL * size, 2);
    vq->used_hdr = ring_ptr(gm, used_gpa, 6ULL + 8ULL * size, 4);
    if (vq->desc == NULL || vq->avail == NULL || vq->used_hdr == NULL ||
        gmem_find(gm, used_gpa)->is_readonly) {
        vq->is_broken = true;
        return -EINVAL;
    }
    vq->used_ring = (struct virtq_used_elem *)(void *)(vq->used_hdr + 2);
    vq->used_gpa = used_gpa;
    /* Both indices start at 0 after a reset (§2.7.6, §2.7.8). */
    vq->used_idx = 0;
    vq->last_avail_idx = 0;
    vq->is_ready = true;
    return 0;
}

void virtq_reset(struct virtq *vq)
{
    memset(vq, 0, sizeof(*vq));
}

static uint16_t avail_idx(const struct virtq *vq)
{
    /* Acquire: ring entries written before idx must be visible once idx is (§2.7.13). */
    return __atomic_load_n(&vq->avail[1], __ATOMIC_ACQUIRE);
}

static uint16_t *avail_event_ptr(struct virtq *vq)
{
    return (uint16_t *)(void *)&vq->used_ring[vq->size];
}

/* Walk state for one chain. */
struct walk {
    struct virtq *vq;
    struct virtq_elem *elem;
};

/* Marks the used ring (flags, idx, ring, avail_event) as written, for a live save (gmem.h). */
static void used_written(const struct virtq *vq)
{
    gmem_mark_dirty(vq->gm, vq->used_gpa, 6ULL + 8ULL * vq->size);
}

/* Marks the writable entries of the indirect table (ind) names, if it is a valid one. */
static void mark_indirect(const struct virtq *vq, const struct virtq_desc *ind)
{
    const struct virtq_desc *table;
    unsigned n = ind->len / sizeof(struct virtq_desc);
    if (ind->len % sizeof(struct virtq_desc) != 0 || n == 0 || n > VIRTQ_CHAIN_MAX ||
        (table = gmem_ptr(vq->gm, ind->addr, ind->len)) == NULL)
        return;
    for (unsigned i = 0; i < n; i++) {
        struct virtq_desc d;
        memcpy(&d, &table[i], sizeof(d));
        if (d.flags & VIRTQ_DESC_F_WRITE)
            gmem_mark_dirty(vq->gm, d.addr, d.len);
    }
}

void virtq_mark_writable(const struct virtq *vq)
{
    if (!vq->is_ready)
        return;
    used_written(vq);
    for (unsigned i = 0; i < vq->size; i++) {
        struct virtq_desc d;
        memcpy(&d, &vq->desc[i], sizeof(d));
        if (d.flags & VIRTQ_DESC_F_INDIRECT)
            mark_indirect(vq, &d);
        else if (d.flags & VIRTQ_DESC_F_WRITE)
            gmem_mark_dirty(vq->gm, d.addr, d.len);
    }
}

/* Adds one (already copied) descriptor's buffer to the element. */
static int add_buffer(struct walk *w, const struct virtq_desc *d)
{
    struct virtq_elem *e = w->elem;
    bool is_writable = (d->flags & VIRTQ_DESC_F_WRITE) != 0;
    unsigned n = e->n_readable + e->n_writable;
    void *hva;

    if (!is_writable && e->n_writable > 0)
        return broken(w->vq, "device-readable descriptor after a writable one");
    if (d->len == 0)
        return 0;
    if (n >= e->iov_cap || n >= VIRTQ_CHAIN_MAX)
        return broken(w->vq, "chain has more buffers than the device accepts");
    hva = gmem_ptr(w->vq->gm, d->addr, d->len);
    if (hva == NULL)
        return broken(w->vq, "descriptor buffer outside guest RAM");
    if (is_writable && gmem_find(w->vq->gm, d->addr)->is_readonly)
        return broken(w->vq, "device-writable buffer in ROM");
    e->iov[n].iov_base = hva;
    e->iov[n].iov_len = d->len;
    if (is_writable) {
        gmem_mark_dirty(w->vq->gm, d->addr, d->len); /* before the device writes it */
        e->n_writable++;
        /* cannot overflow: at most VIRTQ_CHAIN_MAX * UINT32_MAX */
        e->writable_bytes += d->len;
    } else {
        e->n_readable++;
        e->readable_bytes += d->len;
    }
    return 0;
}

/* Walks an indirect table (§2.7.5.3.1): no nested INDIRECT, links stay inside the table. */
static int walk_indirect(struct walk *w, const struct virtq_desc *ind)
{
    const struct virtq_desc *table;
    struct virtq_desc d;
    unsigned n, i = 0;
    int ret;

    if (!w->vq->has_indirect)
        return broken(w->vq, "indirect descriptor without VIRTIO_F_RING_INDIRECT_DESC");
    if (ind->flags & VIRTQ_DESC_F_NEXT)
        return broken(w->vq, "descriptor has both INDIRECT and NEXT");
    if (ind->len == 0 || ind->len % sizeof(struct virtq_desc) != 0)
        return broken(w->vq, "indirect table length not a non-zero multiple of 16");
    n = ind->len / sizeof(struct virtq_desc);
    if (n > VIRTQ_CHAIN_MAX)
        return broken(w->vq, "indirect table longer than the chain limit");
    table = gmem_ptr(w->vq->gm, ind->addr, ind->len);
    if (table == NULL)
        return broken(w->vq, "indirect table outside guest RAM");
    /* A chain through a table of (n) entries that visits more than (n) of them loops. */
    for (unsigned visited = 0;; visited++) {
        if (visited >= n)
            return broken(w->vq, "indirect chain loops");
        memcpy(&d, &table[i], sizeof(d)); /* one snapshot: the guest may change it */
        if (d.flags & VIRTQ_DESC_F_INDIRECT)
            return broken(w->vq, "nested indirect descriptor");
        ret = add_buffer(w, &d);
        if (ret < 0)
            return ret;
        if (!(d.flags & VIRTQ_DESC_F_NEXT))
            return 0;
        if (d.next >= n)
            return broken(w->vq, "indirect next index outside the table");
        i = d.next;
    }
}

/* Walks the chain that starts at (head) in the descriptor table. */
static int walk_chain(struct walk *w, uint16_t head)
{
    struct virtq *vq = w->vq;
    struct virtq_desc d;
    unsigned i = head;
    int ret;

    /* Same for the queue's own table: more than (size) descriptors means a loop. */
    for (unsigned visited = 0;; visited++) {
        if (visited >= vq->size)
            return broken(vq, "descriptor chain loops");
        memcpy(&d, &vq->desc[i], sizeof(d));
        if (d.flags & VIRTQ_DESC_F_INDIRECT)
            return walk_indirect(w, &d);
        ret = add_buffer(w, &d);
        if (ret < 0)
            return ret;
        if (!(d.flags & VIRTQ_DESC_F_NEXT))
            return 0;
        if (d.next >= vq->size)
            return broken(vq, "next index outside the queue");
        i = d.next;
    }
}

int virtq_pop(struct virtq *vq, struct virtq_elem *elem)
{
    struct walk w = {.vq = vq, .elem = elem};
    uint16_t idx, head;
    int ret;

    if (!vq->is_ready || vq->is_broken)
        return -EIO;
    idx = avail_idx(vq);
    if ((uint16_t)(idx - vq->last_avail_idx) > vq->size)
        return broken(vq, "avail.idx more than the queue size ahead");
    if (idx == vq->last_avail_idx)
        return 0;
    head = __atomic_load_n(&vq->avail[2 + (vq->last_avail_idx & (vq->size - 1))], __ATOMIC_RELAXED);
    if (head >= vq->size)
        return broken(vq, "avail ring entry outside the queue");
    elem->head = head;
    elem->n_readable = elem->n_writable = 0;
    elem->readable_bytes = elem->writable_bytes = 0;
    /* Buffers per chain are bounded by elem->iov_cap (at most VIRTQ_CHAIN_MAX used). */
    ret = walk_chain(&w, head);
    if (ret < 0)
        return ret;
    vq->last_avail_idx++;
    if (vq->has_event_idx)
        __atomic_store_n(avail_event_ptr(vq), vq->last_avail_idx, __ATOMIC_RELAXED);
    used_written(vq);
    return 1;
}

int virtq_push(struct virtq *vq, uint16_t head, uint32_t len_bytes)
{
    struct virtq_used_elem *u;

    if (!vq->is_ready || vq->is_broken)
        return -EIO;
    if (head >= vq->size)
        return -EINVAL; /* a device bug, not the guest's */
    u = &vq->used_ring[vq->used_idx & (vq->size - 1)];
    __atomic_store_n(&u->id, head, __ATOMIC_RELAXED);
    __atomic_store_n(&u->len, len_bytes, __ATOMIC_RELAXED);
    vq->used_idx++;
    /* Release: the entry (and the data written into the buffers) before the index. */
    __atomic_store_n(&vq->used_hdr[1], vq->used_idx, __ATOMIC_RELEASE);
    used_written(vq);
    return 0;
}

/* §2.7.10: true when (event) lies in (old, new]. */
static bool need_event(uint16_t event, uint16_t new_idx, uint16_t old_idx)
{
    return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old_idx);
}

bool virtq_needs_notify(struct virtq *vq)
{
    uint16_t old_idx, used_event;
    bool was_valid;

    if (!vq->is_ready || vq->is_broken)
        return false;
    /* Full barrier: our used.idx store must be visible before we read the driver's flags. */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (!vq->has_event_idx)
        return !(__atomic_load_n(&vq->avail[0], __ATOMIC_RELAXED) & VIRTQ_AVAIL_F_NO_INTERRUPT);
    old_idx = vq->signalled_used;
    was_valid = vq->is_signalled_valid;
    vq->signalled_used = vq->used_idx;
    vq->is_signalled_valid = true;
    if (!was_valid)
        return true;
    used_event = __atomic_load_n(&vq->avail[2 + vq->size], __ATOMIC_RELAXED);
    return need_event(used_event, vq->used_idx, old_idx);
}

void virtq_disable_notify(struct virtq *vq)
{
    if (!vq->is_ready || vq->is_broken || vq->has_event_idx)
        return;
    __atomic_store_n(&vq->used_hdr[0], (uint16_t)VIRTQ_USED_F_NO_NOTIFY, __ATOMIC_RELAXED);
    used_written(vq);
}

bool virtq_enable_notify(struct virtq *vq)
{
    if (!vq->is_ready || vq->is_broken)
        return false;
    if (vq->has_event_idx)
        __atomic_store_n(avail_event_ptr(vq), vq->last_avail_idx, __ATOMIC_RELAXED);
    else
        __atomic_store_n(&vq->used_hdr[0], (uint16_t)0, __ATOMIC_RELAXED);
    used_written(vq);
    /* Full barrier: the driver must see the flag before we look at avail.idx again. */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    return avail_idx(vq) != vq->last_avail_idx;
}

bool virtq_has_avail(struct virtq *vq)
{
    if (!vq->is_ready || vq->is_broken)
        return false;
    return avail_idx(vq) != vq->last_avail_idx;
}

void virtq_unpop(struct virtq *vq, uint16_t n)
{
    if (!vq->is_ready || vq->is_broken)
        return;
    vq->last_avail_idx = (uint16_t)(vq->last_avail_idx - n);
    if (vq->has_event_idx)
        __atomic_store_n(avail_event_ptr(vq), vq->last_avail_idx, __ATOMIC_RELAXED);
    used_written(vq);
}

void virtq_resync(struct virtq *vq, uint16_t last_avail_idx)
{
    if (!vq->is_ready || vq->is_broken)
        return;
    vq->last_avail_idx = last_avail_idx;
    vq->used_idx = __atomic_load_n(&vq->used_hdr[1], __ATOMIC_ACQUIRE);
    vq->is_signalled_valid = false;
}

bool virtq_enable_notify_more(struct virtq *vq)
{
    uint16_t idx;

    if (!vq->is_ready || vq->is_broken)
        return false;
    idx = avail_idx(vq);
    if (vq->has_event_idx)
        __atomic_store_n(avail_event_ptr(vq), idx, __ATOMIC_RELAXED);
    else
        __atomic_store_n(&vq->used_hdr[0], (uint16_t)0, __ATOMIC_RELAXED);
    used_written(vq);
    /* Full barrier: the driver must see avail_event before we look at avail.idx again. */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    return avail_idx(vq) != idx;
}

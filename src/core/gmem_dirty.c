/* SPDX-License-Identifier: MIT */
/*
 * Implementation of the dirty tracking of core/gmem.h: a bitmap per writable region, a bit per
 * page, set atomically (the event loop and the block workers may mark at once) and taken by
 * the live save (vmm/machine_state_live.c).
 */
#include "core/gmem.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

static uint64_t page_bytes(void)
{
    return (uint64_t)sysconf(_SC_PAGESIZE);
}

size_t gmem_bitmap_words(const struct gmem_region *r)
{
    uint64_t pages = r->size_bytes / page_bytes();
    return (size_t)((pages + 63) / 64);
}

int gmem_track_start(struct gmem *gm)
{
    for (unsigned i = 0; i < gm->nregions; i++) {
        struct gmem_region *r = &gm->regions[i];
        if (r->is_readonly || r->dirty != NULL)
            continue;
        r->dirty = calloc(gmem_bitmap_words(r), sizeof(uint64_t));
        if (r->dirty == NULL) {
            gmem_track_stop(gm);
            return -ENOMEM;
        }
    }
    __atomic_store_n(&gm->is_tracking, true, __ATOMIC_RELEASE);
    return 0;
}

void gmem_track_stop(struct gmem *gm)
{
    __atomic_store_n(&gm->is_tracking, false, __ATOMIC_RELEASE);
    for (unsigned i = 0; i < gm->nregions; i++) {
        uint64_t *d = __atomic_exchange_n(&gm->regions[i].dirty, NULL, __ATOMIC_ACQ_REL);
        free(d);
    }
}

void gmem_mark_dirty(const struct gmem *gm, uint64_t gpa, uint64_t len)
{
    const struct gmem_region *r;
    uint64_t *d, first, last, off;
    if (!__atomic_load_n(&gm->is_tracking, __ATOMIC_ACQUIRE))
        return; /* the usual case: one load */
    r = gmem_find(gm, gpa);
    if (r == NULL || len == 0 || (d = __atomic_load_n(&r->dirty, __ATOMIC_ACQUIRE)) == NULL)
        return;
    off = gpa - r->gpa;
    first = off / page_bytes();
    /* a range past the region is cut at its end (the caller checked it with gmem_ptr) */
    last = (len > r->size_bytes - off ? r->size_bytes - 1 : off + len - 1) / page_bytes();
    for (uint64_t p = first; p <= last; p++)
        __atomic_fetch_or(&d[p / 64], 1ULL << (p % 64), __ATOMIC_RELAXED);
}

void gmem_mark_dirty_hva(const struct gmem *gm, const void *hva, size_t len)
{
    const uint8_t *p = hva;
    if (!__atomic_load_n(&gm->is_tracking, __ATOMIC_ACQUIRE))
        return;
    for (unsigned i = 0; i < gm->nregions; i++) {
        const struct gmem_region *r = &gm->regions[i];
        if (p >= r->hva && (uint64_t)(p - r->hva) < r->size_bytes) {
            gmem_mark_dirty(gm, r->gpa + (uint64_t)(p - r->hva), len);
            return;
        }
    }
}

void gmem_take_dirty(const struct gmem_region *r, uint64_t *bitmap, bool is_clearing)
{
    uint64_t *d = __atomic_load_n(&r->dirty, __ATOMIC_ACQUIRE);
    if (d == NULL)
        return;
    for (size_t i = 0; i < gmem_bitmap_words(r); i++)
        bitmap[i] |= is_clearing ? __atomic_exchange_n(&d[i], 0, __ATOMIC_ACQ_REL)
                                 : __atomic_load_n(&d[i], __ATOMIC_ACQUIRE);
}

/* SPDX-License-Identifier: MIT */
/*
 * PIO/MMIO bus: a sorted array of non-overlapping ranges, binary search on dispatch, handlers
 * called with the offset inside their range (the Firecracker model, docs/architecture.md §3.3).
 * The rwlock protects the array only; handlers run after it is dropped (see bus.h).
 */
#include "dev/bus.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/ckd.h"

#define LOG_TAG "bus"
#include "base/log.h"

struct bus_range {
    uint64_t base;
    uint64_t last; /* inclusive end, so that a range may end at UINT64_MAX */
    const struct io_ops *ops;
    void *opaque;
    const char *name;
};

struct bus {
    const char *name;
    pthread_rwlock_t lock;
    struct bus_range *ranges;
    size_t n, cap;
};

int bus_create(const char *name, struct bus **out)
{
    struct bus *bus = calloc(1, sizeof(*bus));
    if (!bus)
        return -ENOMEM;
    bus->name = name;
    if (pthread_rwlock_init(&bus->lock, NULL) != 0) {
        free(bus);
        return -ENOMEM;
    }
    *out = bus;
    return 0;
}

void bus_destroy(struct bus *bus)
{
    if (!bus)
        return;
    pthread_rwlock_destroy(&bus->lock);
    free(bus->ranges);
    free(bus);
}

/* Index of the first range whose base is > (addr). Called with the lock held. */
static size_t upper_bound(const struct bus *bus, uint64_t addr)
{
    size_t lo = 0, hi = bus->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (bus->ranges[mid].base <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* True when [base, last] intersects a range. Called with the lock held. */
static bool overlaps(const struct bus *bus, uint64_t base, uint64_t last, size_t *pos)
{
    size_t i = upper_bound(bus, base);
    *pos = i;
    if (i > 0 && bus->ranges[i - 1].last >= base)
        return true;
    return i < bus->n && bus->ranges[i].base <= last;
}

static int grow(struct bus *bus)
{
    size_t cap = bus->cap ? bus->cap * 2 : 16;
    struct bus_range *r = reallocarray(bus->ranges, cap, sizeof(*r));
    if (!r)
        return -ENOMEM;
    bus->ranges = r;
    bus->cap = cap;
    return 0;
}

int bus_register(struct bus *bus, uint64_t base, uint64_t len, const struct io_ops *ops,
                 void *opaque, const char *name)
{
    uint64_t last;
    size_t pos;
    int ret = 0;

    if (len == 0 || ckd_add(&last, base, len - 1) || !ops)
        return -EINVAL;
    pthread_rwlock_wrlock(&bus->lock);
    if (overlaps(bus, base, last, &pos)) {
        ret = -EEXIST;
        goto out_unlock;
    }
    if (bus->n == bus->cap) {
        ret = grow(bus);
        if (ret < 0)
            goto out_unlock;
    }
    memmove(&bus->ranges[pos + 1], &bus->ranges[pos], (bus->n - pos) * sizeof(bus->ranges[0]));
    bus->ranges[pos] = (struct bus_range){base, last, ops, opaque, name};
    bus->n++;
out_unlock:
    pthread_rwlock_unlock(&bus->lock);
    if (ret == -EEXIST)
        log_debug("%s: %s at 0x%" PRIx64 "+0x%" PRIx64 " overlaps an existing range", bus->name,
                  name ? name : "?", base, len);
    return ret;
}

int bus_unregister(struct bus *bus, uint64_t base, void *opaque)
{
    int ret = -ENOENT;

    pthread_rwlock_wrlock(&bus->lock);
    size_t i = upper_bound(bus, base);
    if (i > 0 && bus->ranges[i - 1].base == base && bus->ranges[i - 1].opaque == opaque) {
        i--;
        memmove(&bus->ranges[i], &bus->ranges[i + 1], (bus->n - i - 1) * sizeof(bus->ranges[0]));
        bus->n--;
        ret = 0;
    }
    pthread_rwlock_unlock(&bus->lock);
    return ret;
}

bool bus_is_claimed(struct bus *bus, uint64_t base, uint64_t len)
{
    uint64_t last;
    size_t pos;
    bool ret;

    if (len == 0)
        return false;
    if (ckd_add(&last, base, len - 1))
        last = UINT64_MAX;
    pthread_rwlock_rdlock(&bus->lock);
    ret = overlaps(bus, base, last, &pos);
    pthread_rwlock_unlock(&bus->lock);
    return ret;
}

/* Finds the range holding all of [addr, addr+size) and copies it to (out). */
static bool lookup(struct bus *bus, uint64_t addr, unsigned size, struct bus_range *out,
                   uint64_t *off)
{
    bool found = false;

    if (size != 1 && size != 2 && size != 4 && size != 8)
        return false;
    pthread_rwlock_rdlock(&bus->lock);
    size_t i = upper_bound(bus, addr);
    if (i > 0) {
        const struct bus_range *r = &bus->ranges[i - 1];
        /* addr >= r->base here; the access must also end at or before r->last. */
        if (addr <= r->last && r->last - addr >= size - 1) {
            *out = *r;
            *off = addr - r->base;
            found = true;
        }
    }
    pthread_rwlock_unlock(&bus->lock);
    return found;
}

bool bus_read(struct bus *bus, uint64_t addr, unsigned size, uint64_t *val)
{
    struct bus_range r;
    uint64_t off;

    if (!lookup(bus, addr, size, &r, &off)) {
        *val = size >= 8 ? UINT64_MAX : (1ULL << (size * 8)) - 1;
        log_ratelimited(LOG_DEBUG, "%s: unclaimed read of %u bytes at 0x%" PRIx64, bus->name, size,
                        addr);
        return false;
    }
    uint64_t v = r.ops->read ? r.ops->read(r.opaque, off, size) : UINT64_MAX;
    if (size < 8)
        v &= (1ULL << (size * 8)) - 1;
    *val = v;
    return true;
}

bool bus_write(struct bus *bus, uint64_t addr, unsigned size, uint64_t val)
{
    struct bus_range r;
    uint64_t off;

    if (!lookup(bus, addr, size, &r, &off)) {
        log_ratelimited(LOG_DEBUG, "%s: unclaimed write of %u bytes at 0x%" PRIx64, bus->name, size,
                        addr);
        return false;
    }
    if (size < 8)
        val &= (1ULL << (size * 8)) - 1;
    if (r.ops->write)
        r.ops->write(r.opaque, off, val, size);
    return true;
}

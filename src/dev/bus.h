/* SPDX-License-Identifier: MIT */
/*
 * PIO and MMIO range registry and dispatch. A bus is a sorted array of non-overlapping ranges
 * searched by binary search; handlers get the offset inside their range, never the absolute
 * address. Sizes are 1, 2, 4 or 8. Reads of unclaimed addresses return all-ones (logged at
 * debug level with a rate limit); writes to them are dropped.
 *
 * Threading: bus_register/bus_unregister take the bus rwlock for writing (at machine build
 * time and for PCI BAR moves); bus_read/bus_write take it for reading only while they look the
 * range up, and call the handler after dropping it. A handler may therefore register or
 * unregister ranges (a config-space write that moves a BAR) without deadlocking, and a handler
 * may still run once right after its range was unregistered: (opaque) must stay alive until
 * the vCPUs are stopped (devices are destroyed only after that).
 */
#ifndef BAREIRON_DEV_BUS_H
#define BAREIRON_DEV_BUS_H

#include <stdbool.h>
#include <stdint.h>

#include "base/compiler.h"

struct io_ops {
    /* (off) is the offset inside the registered range, (size) 1, 2, 4 or 8, and the access
     * lies fully inside the range. Unused high bits of the result are ignored. */
    uint64_t (*read)(void *opaque, uint64_t off, unsigned size);
    void (*write)(void *opaque, uint64_t off, uint64_t val, unsigned size);
};

struct bus;

/* Creates an empty bus named (name) ("pio" or "mmio"; kept by pointer). Returns 0 or -ENOMEM. */
MUST_CHECK int bus_create(const char *name, struct bus **out);
/* Frees (bus); NULL is a no-op. The registered devices are not touched. */
void bus_destroy(struct bus *bus);

/* Claims [base, base+len) for (ops, opaque). (name) is kept by pointer for logs. Returns 0,
 * -EINVAL for len 0 or wrap-around, -EEXIST for an overlap, -ENOMEM. Thread-safe. */
MUST_CHECK int bus_register(struct bus *bus, uint64_t base, uint64_t len, const struct io_ops *ops,
                            void *opaque, const char *name);
/* Releases the range that starts at (base) and belongs to (opaque). Returns 0 or -ENOENT.
 * Thread-safe. */
int bus_unregister(struct bus *bus, uint64_t base, void *opaque);

/* True when some registered range intersects [base, base+len). Thread-safe. */
bool bus_is_claimed(struct bus *bus, uint64_t base, uint64_t len);

/* Dispatches an access of (size) bytes at (addr). An access that straddles the end of a range
 * or has a size other than 1, 2, 4, 8 is treated as unclaimed (reads give all-ones). Returns
 * true when a device claimed it. (*val) is always written by bus_read. Thread-safe. */
bool bus_read(struct bus *bus, uint64_t addr, unsigned size, uint64_t *val);
bool bus_write(struct bus *bus, uint64_t addr, unsigned size, uint64_t val);

#endif
